/**
 * A source (feed, RT) sends a new version of a ticket that engineers changed from the room: what
 * the source cannot hold must survive (pure). RFC 6137: final states stay final unless reopened.
 */
import { isFinalStatus, type Ticket, type TicketField, type TicketStatus } from "./ticket.js";

/** Fields chat commands set that a source usually has no place for. */
export const CommandFields = ["Contact_Engineers", "Related_Activity", "Related_External_Tickets", "Open_Engineer", "Close_Engineer"] as const satisfies readonly TicketField[];

/** The fault is over: solved (still watched, §2.2.1.1) or final. */
const isOver = (s: TicketStatus): boolean => s === "Solved" || isFinalStatus(s);

/** Times a ticket whose fault is over carries (§3.2.4.8, §3.2.5.8). */
const CloseTimes = ["TT_Close_Datetime", "End_Datetime"] as const satisfies readonly TicketField[];

export function keepLocalChanges(incoming: Ticket, before: Ticket, fedBySource: ReadonlySet<string> = new Set()): Ticket {
  const kept: Partial<Record<(typeof CommandFields)[number], unknown>> = {};
  for (const f of CommandFields) if (!fedBySource.has(f) && incoming[f] === undefined && before[f] !== undefined) kept[f] = before[f];
  // History (§3.2.6.4) keeps every line seen, the room's and the source's, in order.
  const lines = before.History.split("\n").filter((l) => l.trim() !== "");
  for (const l of incoming.History.split("\n")) if (l.trim() !== "" && !lines.includes(l)) lines.push(l);
  // A ticket closed here stays closed until the source reopens it (Figure 2: only Reopened leaves a final state).
  const stayFinal = isFinalStatus(before.TT_Status) && !isFinalStatus(incoming.TT_Status) && incoming.TT_Status !== "Reopened";
  const finalFields = stayFinal
    ? {
        TT_Status: before.TT_Status,
        TT_Close_Datetime: before.TT_Close_Datetime,
        End_Datetime: before.End_Datetime,
        ...(before.Close_Engineer !== undefined ? { Close_Engineer: before.Close_Engineer } : {}),
      }
    : {};
  // A source that confirms the fault is over (Solved or final) without its times (a feed with no
  // "End:" line) leaves those the ticket has, usually set by the engineer who closed it here:
  // silence is not a clear.
  const closeTimes: Partial<Record<(typeof CloseTimes)[number], unknown>> = {};
  if (isOver(before.TT_Status) && isOver(incoming.TT_Status)) {
    for (const f of CloseTimes) if (!fedBySource.has(f) && incoming[f] === undefined && before[f] !== undefined) closeTimes[f] = before[f];
  }
  return { ...incoming, ...kept, ...closeTimes, History: lines.join("\n"), ...finalFields } as Ticket;
}
