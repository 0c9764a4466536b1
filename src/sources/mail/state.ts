/**
 * What a mail source remembers between runs, written in the same commit as the tickets a mail made
 * (SourceBatch.state): the IMAP position (UIDVALIDITY + last UID, RFC 3501 §2.3.1.1), the threads
 * (Message-ID → ticket) and the keys of recently processed messages (a Maildir crash or a new
 * UIDVALIDITY must not make a mail count twice).
 */
import { z } from "zod";

export const MAX_THREADS = 5000;
export const MAX_RECENT = 2000;

export const MailStateSchema = z.object({
  imap: z.object({ uidValidity: z.string().regex(/^\d+$/), lastUid: z.number().int().min(0) }).optional(),
  threads: z.record(z.string(), z.string()).default({}),
  recent: z.array(z.string()).default([]),
});
export type MailState = z.infer<typeof MailStateSchema>;

export const emptyMailState = (): MailState => ({ threads: {}, recent: [] });

/** The stored state, or an empty one with why (a damaged state is not trusted). */
export function readMailState(raw: unknown): { state: MailState; problem?: string } {
  if (raw === undefined || raw === null) return { state: emptyMailState() };
  const r = MailStateSchema.safeParse(raw);
  if (r.success) return { state: r.data };
  return { state: emptyMailState(), problem: `stored mail state is not valid (${r.error.issues[0]?.message ?? "invalid"}); starting afresh` };
}

/** Remembers a processed message and its thread links; the oldest entries go first past the bounds. */
export function rememberMail(state: MailState, key: string, threads: Readonly<Record<string, string>>): MailState {
  const recent = [...state.recent.filter((k) => k !== key), key].slice(-MAX_RECENT);
  const merged = { ...state.threads };
  for (const [id, tt] of Object.entries(threads)) {
    delete merged[id]; // re-inserted last: insertion order is age
    merged[id] = tt;
  }
  const ids = Object.keys(merged);
  for (const id of ids.slice(0, Math.max(0, ids.length - MAX_THREADS))) delete merged[id];
  return { ...state, threads: merged, recent };
}
