/**
 * The write queue's decisions, pure: which tickets have work (one lane per ticket, its writes in
 * queue order), when a ticket counts as stalled, who is told of a delay and when of the landing.
 * The queue (./queue.ts) does the I/O.
 */
import type { UpstreamWrite } from "../store/types.js";

/** A ticket's head write failing this many times in a row (for a reason that passes) is a delay worth telling. */
export const REPORT_AFTER_ATTEMPTS = 3;

export type Notify = NonNullable<UpstreamWrite["notify"]>;

/** One person in one place: a nick in a room, or an account. */
export const notifyKey = (n: Notify): string => `${n.room ?? ""}\n${n.to}`;

/**
 * Per ticket, its writes still to deliver (failed ones are left to a person), in queue order;
 * tickets in the order of their oldest write, so a long-waiting ticket gets the next free slot.
 */
export function ticketLanes(writes: Iterable<UpstreamWrite>): Map<string, UpstreamWrite[]> {
  const lanes = new Map<string, UpstreamWrite[]>();
  for (const w of writes) {
    if (w.failed) continue;
    const lane = lanes.get(w.ticketId);
    if (lane) lane.push(w);
    else lanes.set(w.ticketId, [w]);
  }
  return lanes;
}

export const isDue = (w: UpstreamWrite, nowMs: number): boolean => w.nextAttemptAt === undefined || Date.parse(w.nextAttemptAt) <= nowMs;

/** The head write keeps failing for a reason that passes (not an attempt cut off by a restart). */
export const isStalled = (head: UpstreamWrite): boolean =>
  head.attempts >= REPORT_AFTER_ATTEMPTS && head.lastError !== undefined && !head.lastError.startsWith("in flight");

/** The fault kind of a write's last failure ("timeout: …" → "timeout"). */
export const faultOf = (w: UpstreamWrite): string => /^([a-z-]+):/.exec(w.lastError ?? "")?.[1] ?? "no answer";

/**
 * Whom to tell that a stalled ticket's writes wait, and which writes that covers. Everyone with a
 * write waiting is told once per ticket: a person already told (a write of theirs is marked and
 * still waits) is not told again for the next one, which is marked silently; they hear once more
 * when all of theirs are in.
 */
export function delayNotices(lane: readonly UpstreamWrite[]): { mark: string[]; tell: { notify: Notify; writes: number }[] } {
  const head = lane[0];
  if (!head || !isStalled(head)) return { mark: [], tell: [] };
  const told = new Set(lane.flatMap((w) => (w.notify && w.reported ? [notifyKey(w.notify)] : [])));
  const mark: string[] = [];
  const tell = new Map<string, { notify: Notify; writes: number }>();
  for (const w of lane) {
    if (!w.notify || w.reported) continue;
    mark.push(w.id);
    const key = notifyKey(w.notify);
    if (told.has(key)) continue;
    const entry = tell.get(key);
    if (entry) entry.writes++;
    else tell.set(key, { notify: w.notify, writes: 1 });
  }
  return { mark, tell: [...tell.values()] };
}

/** Has a person told of a delay now got every delayed write of theirs on this ticket in? */
export function landedFor(delivered: UpstreamWrite, rest: readonly UpstreamWrite[]): Notify | undefined {
  const n = delivered.notify;
  if (!n || !delivered.reported) return undefined;
  const key = notifyKey(n);
  return rest.some((w) => w.id !== delivered.id && w.reported && w.notify && notifyKey(w.notify) === key) ? undefined : n;
}

const theirRecord = (label: string, ref: string | undefined): string => (ref ? ` (${label} ticket #${ref})` : "");

export function delayText(label: string, fault: string, ticketId: string, ref: string | undefined, writes: number): string {
  const what = writes === 1 ? "your change" : `your ${writes} changes`;
  return `${label} is not answering (${fault}); ${what} to ${ticketId}${theirRecord(label, ref)} will be written as soon as it is back.`;
}

export function landedText(label: string, ticketId: string, ref: string | undefined): string {
  return `${label} is answering again: your changes to ${ticketId} are in ${label}${ref ? ` ticket #${ref}` : ""} now.`;
}
