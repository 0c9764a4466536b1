/**
 * /health and /ready (pure): whether the process answers, and whether it does its job now — XMPP
 * online, every room joined and delivering (none holding its messages while its archive does not
 * answer: src/xmpp/mam.ts), the store writable, every source's last poll fine.
 */
import type { SourceHealth } from "../sources/types.js";

export type ReadinessInput = {
  xmppOnline: boolean;
  rooms: { jid: string; joined: boolean; held?: boolean | undefined }[];
  storeWritable: boolean;
  storeError?: string | undefined;
  sources: { id: string; health: SourceHealth | undefined }[];
};

export type Readiness = {
  ready: boolean;
  checks: {
    xmpp: { ok: boolean };
    rooms: { ok: boolean; notJoined: string[]; held: string[] };
    store: { ok: boolean; error?: string | undefined };
    sources: Record<string, SourceHealth & { ok: boolean }>;
  };
};

export function readiness(input: ReadinessInput): Readiness {
  const notJoined = input.rooms.filter((r) => !r.joined).map((r) => r.jid);
  const held = input.rooms.filter((r) => r.joined && r.held === true).map((r) => r.jid);
  const sources: Record<string, SourceHealth & { ok: boolean }> = Object.create(null) as Record<string, SourceHealth & { ok: boolean }>;
  for (const s of input.sources) sources[s.id] = s.health ?? { ok: true };
  const checks: Readiness["checks"] = {
    xmpp: { ok: input.xmppOnline },
    rooms: { ok: notJoined.length === 0 && held.length === 0, notJoined, held },
    store: { ok: input.storeWritable, ...(input.storeError ? { error: input.storeError } : {}) },
    sources,
  };
  const ready = checks.xmpp.ok && checks.rooms.ok && checks.store.ok && Object.values(sources).every((s) => s.ok);
  return { ready, checks };
}
