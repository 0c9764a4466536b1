/**
 * A source's new version of a ticket checked against RFC 6137 (pure): the TT_STATUS state machine
 * of Figure 2 (§2.2.1.1) and the order of the ticket's times. Every source goes through it (feed,
 * RT, mail, webhook, peer): the intake calls it with the stored ticket and the incoming version
 * (after `keepLocalChanges`, src/model/merge.ts).
 *
 * Decision (issue 11.5): an impossible transition KEEPS THE PREVIOUS STATE — never "accept as a
 * reopen". Figure 2 allows leaving a final state only through Reopened, and a feed that still
 * lists a ticket an engineer closed in the room is the common case, not a reopening; a status
 * going backwards (Updated → Opened, Solved → Updated) is a stale or mis-mapped value far more
 * often than news. The ticket keeps its status and, with it, its close fields (TT_Close_Datetime,
 * End_Datetime, Close_Engineer) as they were; every other field of the incoming version is taken.
 * A History line names the source and what was refused, so nobody is left guessing; a source that
 * means to reopen says "Reopened" (which Figure 2 allows from every final state).
 *
 * Date order: TT_Close_Datetime ≥ TT_Open_Datetime (§3.2.4.7-8) and End_Datetime ≥
 * Start_Datetime (§3.2.5.5, §3.2.5.8). A time out of order is replaced by the stored one if that
 * one is in order, else dropped — unless the status is final, where it is mandatory and is set to
 * its lower bound (the open/start time) — and History says which.
 */
import { canTransition } from "./transitions.js";
import { datetimeToMillis, isFinalStatus, validateTicket, type Ticket } from "./ticket.js";

export type Reconciled = {
  /** The ticket to keep: always valid (validateTicket "open"). */
  ticket: Ticket;
  /** The History lines added (also for the log). Empty when the version was fine as it came. */
  notes: string[];
};

const CLOSE_FIELDS = ["TT_Close_Datetime", "End_Datetime", "Close_Engineer"] as const;

const stamp = (now: Date): string => now.toISOString().replace(/\.\d{3}Z$/, "Z");

function line(now: Date, source: string, what: string): string {
  return `${stamp(now)} ttrelay: ${source.replace(/\s+/g, " ").trim()}: ${what}`;
}

function appendLines(history: string, lines: readonly string[]): string {
  const kept = history.replace(/\s+$/, "");
  return [kept, ...lines].filter((l) => l !== "").join("\n");
}

/** Keeps `before`'s status and close fields on `incoming`. */
function keepPreviousState(before: Ticket, incoming: Ticket): Ticket {
  const next: Record<string, unknown> = { ...incoming, TT_Status: before.TT_Status };
  for (const f of CLOSE_FIELDS) {
    if (before[f] !== undefined) next[f] = before[f];
    else Reflect.deleteProperty(next, f);
  }
  return next as Ticket;
}

type Bound = { later: "TT_Close_Datetime" | "End_Datetime"; earlier: "TT_Open_Datetime" | "Start_Datetime" };
const ORDER: readonly Bound[] = [
  { later: "TT_Close_Datetime", earlier: "TT_Open_Datetime" },
  { later: "End_Datetime", earlier: "Start_Datetime" },
];

function fixDateOrder(t: Ticket, before: Ticket | undefined, now: Date, source: string, notes: string[]): Ticket {
  let next: Record<string, unknown> | undefined;
  for (const { later, earlier } of ORDER) {
    const value = t[later];
    // Most tickets have no close or end time yet: nothing to read then.
    if (value === undefined) continue;
    const at = datetimeToMillis(value);
    const lower = at === undefined ? undefined : datetimeToMillis(t[earlier]);
    if (at === undefined || lower === undefined || at >= lower) continue;
    next ??= { ...t };
    const previous = before?.[later];
    const previousAt = previous === undefined ? undefined : datetimeToMillis(previous);
    let what: string;
    if (previous !== undefined && previousAt !== undefined && previousAt >= lower) {
      next[later] = previous;
      what = `kept ${previous}`;
    } else if (isFinalStatus(t.TT_Status)) {
      next[later] = t[earlier];
      what = `set to ${t[earlier]} (${earlier}), as a ${t.TT_Status} ticket needs one`;
    } else {
      Reflect.deleteProperty(next, later);
      what = "left out";
    }
    notes.push(line(now, source, `${later} ${value} is before ${earlier} ${t[earlier]}: ${what}`));
  }
  return next === undefined ? t : (next as Ticket);
}

/**
 * Checks `incoming` (a source's version of a ticket) against `before` (the stored ticket, or
 * undefined for a new one). `source` names the source in History ("feed exn", "rt", "peer NORD").
 * `validated`: `incoming` is exactly what the source validated at its edge, so when nothing here
 * changes it, it is not validated again (a fifth of planning a big first poll).
 */
export function reconcileSourceUpdate(before: Ticket | undefined, incoming: Ticket, source: string, now: Date, validated = false): Reconciled {
  const notes: string[] = [];
  let next = incoming;
  if (before !== undefined && before.TT_Status !== incoming.TT_Status && !canTransition(before.TT_Status, incoming.TT_Status)) {
    next = keepPreviousState(before, incoming);
    notes.push(
      line(
        now,
        source,
        `sent status ${incoming.TT_Status} after ${before.TT_Status}; RFC 6137 Figure 2 has no ${before.TT_Status} → ${incoming.TT_Status}, so the ticket stays ${before.TT_Status}` +
          (isFinalStatus(before.TT_Status) ? " (a source reopens a ticket with the status Reopened)" : ""),
      ),
    );
  }
  next = fixDateOrder(next, before, now, source, notes);
  if (notes.length > 0) next = { ...next, History: appendLines(next.History, notes) };
  if (validated && next === incoming) return { ticket: next, notes };
  const checked = validateTicket(next, "open");
  if (checked.ok) return { ticket: checked.value, notes };
  // Should not happen (both inputs were valid tickets); the stored ticket is the safe answer.
  const why = checked.error.map((i) => `${i.path}: ${i.message}`).join("; ");
  const fallbackNote = line(now, source, `sent a version that would not be a valid ticket (${why}): not taken`);
  if (before === undefined) return { ticket: incoming, notes: [...notes, fallbackNote] };
  return { ticket: { ...before, History: appendLines(before.History, [fallbackNote]) }, notes: [...notes, fallbackNote] };
}
