/**
 * Reading back the History lines the chat commands write (`historyLine` in
 * src/model/transitions.ts: "<RFC 3339 time> <actor>: <what>"), so that a command repeated by the
 * same engineer can be told apart from a new one (pure).
 */
import { datetimeToMillis, type Ticket } from "../model/ticket.js";
import { oneLine } from "../model/transitions.js";

export type HistoryEntry = { at: string; actor: string; what: string };

/** A line as `historyLine` writes it, or `undefined` (a NOC's own free text). */
export function parseHistoryLine(line: string): HistoryEntry | undefined {
  const m = /^(\S+) (\S+): (.*)$/u.exec(line.trim());
  if (!m || m[1] === undefined || m[2] === undefined || m[3] === undefined || datetimeToMillis(m[1]) === undefined) return undefined;
  return { at: m[1], actor: m[2], what: m[3] };
}

const sameActor = (a: string, b: string): boolean => a.trim().toLowerCase() === b.trim().toLowerCase();
const linesOf = (t: Ticket): string[] => t.History.split(/\r?\n/u).filter((l) => l.trim() !== "");

/**
 * When `actor` acknowledged the ticket, if they did since it was last reopened and are still one
 * of its contact engineers: a second ack by them says nothing new.
 */
export function acknowledgedAt(ticket: Ticket, actor: string): string | undefined {
  if (!(ticket.Contact_Engineers ?? []).some((e) => sameActor(e, actor))) return undefined;
  for (const line of linesOf(ticket).reverse()) {
    const entry = parseHistoryLine(line);
    if (entry === undefined) continue;
    if (/^reopened\b/u.test(entry.what)) return undefined;
    if (sameActor(entry.actor, actor) && /^acknowledged(?::|$)/u.test(entry.what)) return entry.at;
  }
  return undefined;
}

/** How long an identical update by the same engineer counts as a repeat (a resent message). */
export const REPEAT_WINDOW_MS = 10 * 60_000;

/**
 * When `actor` wrote exactly this update as the ticket's latest History line, less than
 * `REPEAT_WINDOW_MS` before `now` (a message sent twice); later, the same words are news again
 * ("still down" an hour on says the NOC is still on it).
 */
export function repeatedUpdateAt(ticket: Ticket, actor: string, text: string, now: Date): string | undefined {
  const entry = parseHistoryLine(linesOf(ticket).at(-1) ?? "");
  if (entry === undefined || !sameActor(entry.actor, actor) || entry.what !== oneLine(text)) return undefined;
  const age = now.getTime() - (datetimeToMillis(entry.at) ?? Number.NEGATIVE_INFINITY);
  return age >= 0 && age < REPEAT_WINDOW_MS ? entry.at : undefined;
}
