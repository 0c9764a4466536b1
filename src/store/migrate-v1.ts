/**
 * Reads a version 1 store (one lowdb JSON document, before the journal) into today's collections,
 * so an upgrade keeps every ticket, queued message and Request Tracker write. Pure.
 */
import { z } from "zod";
import { formatPath } from "../config/load.js";
import { OpenTicketSchema } from "../model/ticket.js";
import { ok, err, type Result } from "../util/result.js";
import { IncidentRecordSchema, OutboxEntrySchema, UpstreamWriteSchema, emptyStore, type StoreState, type StoredTicket, type UpstreamWrite } from "./types.js";

export const V1_VERSION = 1;

const V1Ticket = z.object({
  ticket: OpenTicketSchema,
  hash: z.string(),
  source: z.string(),
  link: z.string().optional(),
  firstSeen: z.string(),
  lastChange: z.string(),
  rooms: z.array(z.string()),
  incident: z.string().optional(),
  correlation: z.string().optional(),
  rt: z.object({ id: z.number().int().positive(), lastUpdated: z.string().optional(), lastTxn: z.number().int().optional() }).optional(),
  peer: z
    .object({ actor: z.string(), name: z.string(), room: z.string(), nick: z.string().optional(), jid: z.string().optional(), published: z.string().optional() })
    .optional(),
});

/** A version 1 RT write: today's write, before the system was named and its id was text. */
const V1RtWrite = UpstreamWriteSchema.omit({ system: true, ref: true }).extend({ rtId: z.number().int().positive().optional() });

const V1Store = z.object({
  version: z.literal(V1_VERSION),
  feeds: z.record(z.string(), z.unknown()),
  tickets: z.record(z.string(), V1Ticket),
  incidents: z.record(z.string(), IncidentRecordSchema).default({}),
  audit: z.array(z.unknown()).default([]),
  outbox: z.array(OutboxEntrySchema),
  rt: z.object({ since: z.string().optional() }).default({}),
  rtLinks: z.record(z.string(), z.number().int().positive()).default({}),
  rtOutbox: z.array(V1RtWrite).default([]),
});

/** The source id Request Tracker's tickets had in version 1 (its poll cursor is kept under it). */
const RT = "rt";

export function migrateV1(raw: unknown): Result<StoreState, { path: string; message: string }> {
  const parsed = V1Store.safeParse(raw);
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    return err({ path: formatPath(first?.path ?? []), message: first?.message ?? "invalid" });
  }
  const v1 = parsed.data;
  const state = emptyStore();
  for (const [id, feed] of Object.entries(v1.feeds)) state.sources.set(id, feed);
  if (v1.rt.since !== undefined) state.sources.set(RT, { since: v1.rt.since });
  for (const [id, t] of Object.entries(v1.tickets)) {
    const { rt, peer, ...rest } = t;
    const stored: StoredTicket = { ...rest };
    if (rt)
      stored.upstream = {
        system: RT,
        id: String(rt.id),
        ...(rt.lastUpdated !== undefined || rt.lastTxn !== undefined
          ? { cursor: { ...(rt.lastUpdated !== undefined ? { lastUpdated: rt.lastUpdated } : {}), ...(rt.lastTxn !== undefined ? { lastTxn: rt.lastTxn } : {}) } }
          : {}),
      };
    if (peer) {
      const { published, ...origin } = peer;
      stored.remote = origin;
      stored.provenance = { source: t.source, ...(published !== undefined ? { published } : {}) };
    }
    state.tickets.set(id, stored);
  }
  for (const [id, rec] of Object.entries(v1.incidents)) state.incidents.set(id, rec);
  for (const e of v1.outbox) state.outbox.set(e.id, e);
  for (const w of v1.rtOutbox) {
    const { rtId, ...rest } = w;
    const write: UpstreamWrite = { ...rest, system: RT, ...(rtId !== undefined ? { ref: String(rtId) } : {}) };
    state.writes.set(w.id, write);
  }
  for (const [ttId, rtId] of Object.entries(v1.rtLinks)) state.links.set(`${RT}\n${ttId}`, { system: RT, id: String(rtId) });
  return ok(state);
}
