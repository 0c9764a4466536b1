/**
 * A source (feed, RT) sends a new version of a ticket that engineers changed from the room: what
 * the source cannot hold must survive (pure). RFC 6137: final states stay final unless reopened.
 */
import { isFinalStatus, type Ticket, type TicketField } from "./ticket.js";

/** Fields chat commands set that a source usually has no place for. */
export const CommandFields = ["Contact_Engineers", "Related_Activity", "Related_External_Tickets", "Open_Engineer", "Close_Engineer"] as const satisfies readonly TicketField[];

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
  return { ...incoming, ...kept, History: lines.join("\n"), ...finalFields } as Ticket;
}
