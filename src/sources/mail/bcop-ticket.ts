/**
 * A BCOP maintenance event → a Scheduled NTTDM ticket version (pure). The README's "E-mail" section
 * documents the mapping; the tables below are its source.
 */
import type { MailSenderConfig } from "../../../config/schema.js";
import { isFinalStatus, makeTicketId, validateTicket, type Ticket, type TicketImpactAssessment, type TicketStatus } from "../../model/ticket.js";
import { sanitiseIdPart } from "../../translate/item-to-ticket.js";
import { ok, err, type Result } from "../../util/result.js";
import type { TicketVersion } from "../types.js";
import type { BcopEvent, BcopImpact, BcopStatus } from "./bcop.js";

/**
 * X-MAINTNOTE-IMPACT → TT_Impact_Assessment (RFC 6137 §3.2.5.4). DEGRADED says nothing of how much:
 * a NOC plans for the worse of the two performance values.
 */
export const BcopImpactAssessment: Readonly<Record<BcopImpact, TicketImpactAssessment>> = {
  "NO-IMPACT": "No impact",
  "REDUCED-REDUNDANCY": "Reduced redundancy",
  DEGRADED: "Severe performance impact",
  OUTAGE: "No connectivity",
};

/**
 * X-MAINTNOTE-STATUS → TT_Status (RFC 6137 §2.2.1.1 Figure 2). A notice that is not final opens the
 * ticket the first time and updates it afterwards; after a final state it reopens it (a maintenance
 * re-announced with a higher SEQUENCE after it was cancelled).
 */
export function bcopTicketStatus(status: BcopStatus, known: Ticket | undefined): TicketStatus {
  if (status === "CANCELLED") return "Cancelled";
  if (status === "COMPLETED") return "Closed";
  if (known === undefined) return "Opened";
  return isFinalStatus(known.TT_Status) ? "Reopened" : "Updated";
}

export type BcopTicketProblem = { code: "provider-not-allowed" | "bad-ticket"; message: string };

export type BcopContext = {
  sourceId: string;
  sender: MailSenderConfig;
  known: (ttId: string) => Ticket | undefined;
  /** The mail's Message-ID (for the version's provenance). */
  messageId?: string | undefined;
};

export function bcopEventToVersion(event: BcopEvent, ctx: BcopContext): Result<TicketVersion, BcopTicketProblem> {
  const bcop = ctx.sender.bcop;
  const provider = event.provider.toLowerCase();
  if (!bcop || !bcop.providers.some((p) => p.toLowerCase() === provider))
    return err({
      code: "provider-not-allowed",
      message: `sender ${ctx.sender.name} may not send maintenance notices for provider "${event.provider}" (bcop.providers)`,
    });
  const originalId = sanitiseIdPart(event.maintenanceId);
  const ttId = makeTicketId(ctx.sender.partnerId, originalId);
  const known = ctx.known(ttId);
  const status = bcopTicketStatus(event.status, known);
  const final = event.status === "CANCELLED" || event.status === "COMPLETED";
  // A completion notice sent during the window says when the work ended; otherwise the planned end.
  const stampMs = Date.parse(event.stamp);
  const ended = event.status === "CANCELLED" ? event.stamp : stampMs >= Date.parse(event.start) && stampMs <= Date.parse(event.end) ? event.stamp : event.end;
  const objects = event.objects.map((o) => `${o.id}: ${o.impact}`).join(", ");
  const additional = [
    `Provider: ${event.provider}`,
    event.account ? `Account: ${event.account}` : "",
    `Maintenance: ${event.maintenanceId} (BCOP status ${event.status}, sequence ${event.sequence})`,
    `Impact: ${event.impact}`,
    objects ? `Objects: ${objects}` : "",
    event.organizer?.name || event.organizer?.address
      ? `Organizer: ${[event.organizer.name, event.organizer.address ? `<${event.organizer.address}>` : ""].filter(Boolean).join(" ")}`
      : "",
  ].filter((l) => l !== "");
  const candidate: Record<string, unknown> = {
    Partner_ID: ctx.sender.partnerId,
    Original_ID: originalId,
    TT_ID: ttId,
    TT_Title: event.summary ?? `Maintenance ${event.maintenanceId}`,
    TT_Type: bcop.ticketType,
    TT_Status: status,
    TT_Source: "Other NOC",
    TT_Open_Datetime: known?.TT_Open_Datetime ?? event.stamp,
    TT_Short_Description: bcop.shortDescription,
    TT_Long_Description: event.description,
    Type: "Scheduled",
    TT_Impact_Assessment: BcopImpactAssessment[event.impact],
    Start_Datetime: event.start,
    TT_Last_Update_Time: event.stamp,
    Time_Window_Start: event.start,
    Time_Window_End: event.end,
    ...(final ? { TT_Close_Datetime: event.stamp, End_Datetime: ended } : {}),
    Additional_Data: additional.join("\n"),
    History: `${event.stamp} ${event.provider}: ${event.status} (sequence ${event.sequence})`,
    Affected_Service: bcop.service,
    Location: event.location ?? bcop.location,
    ...(event.objects.length > 0 ? { Network_Link_Circuit: event.objects.map((o) => o.id) } : {}),
  };
  for (const [k, v] of Object.entries(candidate)) if (v === undefined) delete candidate[k];
  const validated = validateTicket(candidate, "open");
  if (!validated.ok)
    return err({ code: "bad-ticket", message: validated.error.map((i) => `${i.path || "ticket"}: ${i.message}`).join("; ") });
  return ok({
    ticket: validated.value,
    provenance: { source: ctx.sourceId, item: ctx.messageId ?? event.uid, published: event.stamp, sequence: event.sequence },
    // Notices can arrive out of order (retries, several mailboxes): only a higher SEQUENCE, then a
    // later DTSTAMP, changes the ticket (RFC 5546 §2.1.5).
    ordered: true,
    keepFirst: ["TT_Open_Datetime"],
    fed: new Set(Object.keys(candidate)),
  });
}
