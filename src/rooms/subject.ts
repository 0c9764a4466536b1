/**
 * A service room's subject: that service's state across every NOC (pure), so a customer joining a
 * read-only room sees the whole picture at once — open tickets and incidents, the worst impact, the
 * NOCs involved, maintenance under way and the next one (the 2012 talk's "complete overview of
 * their service"). Only what changes the state changes the text: no clock in it.
 */
import { windowOf } from "../maintenance/windows.js";
import { isFinalStatus, type Ticket, type TicketImpactAssessment } from "../model/ticket.js";
import { oneLineOf } from "../render/outside.js";
import { formatTime } from "../render/ticket-message.js";

/** Worst first: what a customer most needs to know. */
const IMPACT_ORDER: readonly TicketImpactAssessment[] = [
  "No connectivity",
  "Severe performance impact",
  "On backup",
  "Minor performance impact",
  "Reduced redundancy",
  "At risk",
  "No impact",
  "Unknown",
];

/** XEP-0045 does not bound a subject; clients show one line, and this keeps it to one. */
export const MAX_SUBJECT = 250;

export type SubjectInput = {
  /** The room's name (config `name`), else its local part. */
  label: string;
  /** Live tickets that concern the room (ours posted there, and peers' in the same incidents). */
  tickets: readonly { ticket: Ticket; incident?: string | undefined }[];
  now: number;
  timeZone: string;
};

export function roomSubject(input: SubjectInput): string {
  const open = input.tickets.filter((t) => !isFinalStatus(t.ticket.TT_Status));
  const faults = open.filter((t) => t.ticket.Type !== "Scheduled");
  const when = (ms: number): string => formatTime(new Date(ms).toISOString(), input.timeZone);
  const parts: string[] = [];
  if (faults.length === 0) parts.push("no open faults");
  else {
    const incidents = new Set(faults.map((t) => t.incident ?? t.ticket.TT_ID)).size;
    const worst = IMPACT_ORDER.find((i) => faults.some((t) => t.ticket.TT_Impact_Assessment === i)) ?? "Unknown";
    const nocs = [...new Set(faults.map((t) => t.ticket.Partner_ID))].sort();
    parts.push(`${faults.length} open fault ticket${faults.length === 1 ? "" : "s"} in ${incidents} incident${incidents === 1 ? "" : "s"}`);
    parts.push(`worst: ${worst}`);
    parts.push(`NOCs: ${nocs.join(", ")}`);
  }
  const windows = open
    .map((t) => ({ t, w: windowOf(t.ticket) }))
    .filter((x): x is { t: (typeof open)[number]; w: NonNullable<ReturnType<typeof windowOf>> } => x.w !== undefined)
    .sort((a, b) => a.w.start - b.w.start || a.t.ticket.TT_ID.localeCompare(b.t.ticket.TT_ID));
  const now = windows.filter((x) => x.w.start <= input.now && input.now < x.w.end);
  const next = windows.find((x) => x.w.start > input.now);
  if (now.length > 0) parts.push(`maintenance now: ${now.map((x) => `${x.t.ticket.TT_ID} until ${when(x.w.end)}`).join(", ")}`);
  if (next) parts.push(`next maintenance: ${next.t.ticket.TT_ID} ${when(next.w.start)}`);
  return oneLineOf(`${input.label}: ${parts.join(" · ")}`, MAX_SUBJECT);
}
