/**
 * Maintenance windows (pure): which scheduled tickets (RFC 6137 §3.2.4.4 Type "Scheduled", window
 * §3.2.5.12–13) are under way now or planned soon, and which reminders are due for one.
 *
 * Reminders of a window: `before:<m>` (m minutes before the start, from config), `start`, `end`.
 * Each is said once; its key names the window, so a moved window has new reminders and the old
 * ones never come. After a pause (a restart, an outage) only the latest due reminder is said, and
 * only while it is still true (a "starts in 60 min" after the start is skipped).
 */
import { isFinalStatus, type Ticket } from "../model/ticket.js";

export type Window = { start: number; end: number };

/** A live scheduled ticket's window, if it has one. */
export function windowOf(t: Ticket): Window | undefined {
  if (t.Type !== "Scheduled" || isFinalStatus(t.TT_Status)) return undefined;
  const start = Date.parse(t.Time_Window_Start ?? "");
  const end = Date.parse(t.Time_Window_End ?? "");
  if (Number.isNaN(start) || Number.isNaN(end) || end < start) return undefined;
  return { start, end };
}

export type ReminderKind = "before" | "start" | "end";
export type Reminder = { key: string; kind: ReminderKind; minutes?: number | undefined; at: number; window: Window };

/** How long an "over" reminder stays worth saying after the planned end. */
export const END_GRACE_MS = 6 * 3600_000;

/** Every reminder of the ticket's window, in time order. */
export function remindersOf(t: Ticket, beforeMinutes: readonly number[]): Reminder[] {
  const w = windowOf(t);
  if (!w) return [];
  const tag = `${new Date(w.start).toISOString()}/${new Date(w.end).toISOString()}`;
  const before = [...new Set(beforeMinutes)].filter((m) => m > 0).sort((a, b) => b - a);
  return [
    ...before.map((m): Reminder => ({ key: `before:${m}:${tag}`, kind: "before", minutes: m, at: w.start - m * 60_000, window: w })),
    { key: `start:${tag}`, kind: "start", at: w.start, window: w },
    { key: `end:${tag}`, kind: "end", at: w.end, window: w },
  ];
}

/** Until when a reminder is still true: the next one's time (the end reminder: a grace period). */
function validUntil(all: readonly Reminder[], i: number): number {
  const r = all[i];
  if (!r) return 0;
  return r.kind === "end" ? r.at + END_GRACE_MS : Math.min(all[i + 1]?.at ?? Infinity, r.kind === "start" ? r.window.end : r.window.start);
}

export type DueReminders = {
  /** The reminder to say now, if any. */
  say?: Reminder | undefined;
  /** Keys to remember as done (the one said and the ones skipped). */
  done: string[];
  /** When the next one is due (ms), if any. */
  next?: number | undefined;
};

export function dueReminders(t: Ticket, beforeMinutes: readonly number[], said: ReadonlySet<string>, now: number): DueReminders {
  const all = remindersOf(t, beforeMinutes);
  const due: number[] = [];
  let next: number | undefined;
  all.forEach((r, i) => {
    if (said.has(r.key)) return;
    if (r.at <= now) due.push(i);
    else next ??= r.at;
  });
  if (due.length === 0) return { done: [], next };
  const latest = due[due.length - 1] ?? 0;
  const r = all[latest];
  const say = r && now < validUntil(all, latest) ? r : undefined;
  return { say, done: due.map((i) => all[i]?.key ?? ""), next };
}

/** Scheduled tickets under way now, and starting within `horizonMs` (default 24 h). */
export function maintenanceNowAndNext<T extends { ticket: Ticket }>(views: Iterable<T>, now: number, horizonMs = 24 * 3600_000): { now: T[]; next: T[] } {
  const current: T[] = [];
  const next: T[] = [];
  for (const v of views) {
    const w = windowOf(v.ticket);
    if (!w) continue;
    if (w.start <= now && now < w.end) current.push(v);
    else if (w.start > now && w.start - now <= horizonMs) next.push(v);
  }
  const byStart = (a: T, b: T): number => (windowOf(a.ticket)?.start ?? 0) - (windowOf(b.ticket)?.start ?? 0) || a.ticket.TT_ID.localeCompare(b.ticket.TT_ID);
  return { now: current.sort(byStart), next: next.sort(byStart) };
}
