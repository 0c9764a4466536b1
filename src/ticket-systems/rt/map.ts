/**
 * Pure mapping between Request Tracker 5 tickets and NTTDM tickets (RFC 6137), plus the TicketSQL
 * value formatting the REST2 client needs. No I/O, no clock.
 *
 * RT → NTTDM (`rtTicketFields`, `rtToTicket`):
 * - Partner_ID = the configured NOC id (`partnerId`), Original_ID = the RT ticket id, TT_ID from both
 *   (§3.2.3.1, §3.2.3.2, §3.2.4.1).
 * - TT_Title = Subject (§3.2.4.2); TT_Open_Datetime = Created (§3.2.4.7); TT_Last_Update_Time =
 *   LastUpdated (§3.2.5.9); TT_Close_Datetime = Resolved (§3.2.4.8) when the mapped status is final.
 * - TT_Status from RT's status through `DefaultRtStatusMap` overlaid with `statusMap` (§3.2.4.5).
 *   RT's stalled ("waiting") has no NTTDM counterpart; it maps to Updated because NTTDM's Inactive
 *   is a final state of Figure 2 (§2.2.1.1) and would demand close times RT does not have.
 *   A ticket RT shows active again after a final (or Solved) status we knew is "Reopened".
 * - Custom fields → any NTTDM field but the identity ones, by name (`customFields`); list fields
 *   (TYPE "List") take every value, other fields exactly one. A custom field mapping wins over the
 *   built-in one for the same NTTDM field.
 *
 * NTTDM → RT (`ticketChangesToRt`): TT_Title → Subject, TT_Status → Status (`DefaultTtStatusToRt`
 * overlaid with `reverseStatusMap`), mapped NTTDM fields → their custom fields.
 */
import { z } from "zod";
import { err, ok, type Result } from "../../util/result.js";
import {
  TicketFields,
  TicketListFields,
  TicketStatuses,
  datetimeToMillis,
  isFinalStatus,
  makeTicketId,
  validateTicket,
  type Ticket,
  type TicketField,
  type TicketIssue,
  type TicketStatus,
} from "../../model/ticket.js";

// ---------------------------------------------------------------------------------------------
// The RT side (as the REST2 client hands it over, already validated)
// ---------------------------------------------------------------------------------------------

/** The statuses of RT 5's default ("default") lifecycle. Other lifecycles may add their own. */
export const RtStatuses = ["new", "open", "stalled", "resolved", "rejected", "deleted"] as const;
export type RtStatus = (typeof RtStatuses)[number];

/** An RT ticket, normalised by the client: dates RFC 3339 UTC, unset dates absent. */
export interface RtTicket {
  id: number;
  queueId: number;
  subject: string;
  /** RT status name; a custom lifecycle may use names outside `RtStatuses`. */
  status: string;
  /** Owner's user name; "Nobody" when unowned. */
  owner: string;
  /** Creator's user name. */
  creator: string;
  created: string;
  lastUpdated: string;
  /** Absent while RT shows the epoch (never resolved). */
  resolved?: string;
  /** Custom field name → values (a field applied to the queue but empty has `[]`). */
  customFields: Record<string, string[]>;
}

/** The fields the client's `update` can change (a typed subset of RT's PUT /ticket/N body). */
export interface RtUpdate {
  Subject?: string;
  Status?: string;
  /** User name (or "Nobody"). */
  Owner?: string;
  Priority?: number;
  CustomFields?: Record<string, string | string[]>;
}

// ---------------------------------------------------------------------------------------------
// Configuration
// ---------------------------------------------------------------------------------------------

/** RT status → TT_Status, for RT's default lifecycle. */
export const DefaultRtStatusMap: Readonly<Record<RtStatus, TicketStatus>> = {
  new: "Opened",
  open: "Updated",
  stalled: "Updated",
  resolved: "Closed",
  rejected: "Cancelled",
  deleted: "Cancelled",
};

/** TT_Status → RT status, for RT's default lifecycle. */
export const DefaultTtStatusToRt: Readonly<Record<TicketStatus, string>> = {
  Opened: "new",
  Updated: "open",
  Reopened: "open",
  Solved: "resolved",
  Closed: "resolved",
  "Opened/Closed": "resolved",
  Inactive: "resolved",
  Superseded: "resolved",
  Cancelled: "rejected",
};

/** Fields computed from RT's own identity; no custom field may feed them. */
const IdentityFields = ["Partner_ID", "Original_ID", "TT_ID"] as const satisfies readonly TicketField[];
const identitySet: ReadonlySet<string> = new Set(IdentityFields);

/** NTTDM fields a custom field (or a default) may feed. */
export const RtMappableFields = TicketFields.filter((f) => !identitySet.has(f)) as [TicketField, ...TicketField[]];

const listFieldSet: ReadonlySet<string> = new Set(TicketListFields);
const isListField = (f: TicketField): boolean => listFieldSet.has(f);

export const RtMappingSchema = z
  .strictObject({
    partnerId: z
      .string()
      .min(1)
      .refine((s) => !s.includes("_"), "must not contain an underscore: TT_ID is PARTNER_ID_ORIGINAL_ID (RFC 6137 §3.2.4.1)")
      .describe("this NOC's Partner_ID; Original_ID is the RT ticket id"),
    customFields: z
      .record(z.string().min(1), z.enum(RtMappableFields))
      .default({})
      .describe("RT custom field name → NTTDM field"),
    statusMap: z
      .record(z.string().min(1), z.enum(TicketStatuses))
      .default({})
      .describe("RT status → TT_Status, over the default map (add custom lifecycle statuses here)"),
    reverseStatusMap: z
      .partialRecord(z.enum(TicketStatuses), z.string().min(1))
      .default({})
      .describe("TT_Status → RT status, over the default map"),
    defaults: z
      .partialRecord(z.enum(RtMappableFields), z.union([z.string(), z.array(z.string())]))
      .default({})
      .describe("values for NTTDM fields RT has no data for (e.g. TT_Type, Type, Location); RT data wins"),
  })
  .superRefine((m, ctx) => {
    // Two custom fields feeding one NTTDM field would make the reverse mapping ambiguous.
    const seen = new Map<string, string>();
    for (const [cf, field] of Object.entries(m.customFields)) {
      const other = seen.get(field);
      if (other !== undefined) {
        ctx.addIssue({ code: "custom", path: ["customFields", cf], message: `${field} is already fed by custom field "${other}"` });
      }
      seen.set(field, cf);
    }
  });
export type RtMapping = z.output<typeof RtMappingSchema>;

// ---------------------------------------------------------------------------------------------
// RT → NTTDM
// ---------------------------------------------------------------------------------------------

/** Something that could not be mapped; `field` is the NTTDM field (or custom field name). */
export type RtMapIssue = { field: string; message: string };

/** The TT_Status an RT status stands for, or `undefined` if neither map knows it. */
export function rtStatusToTtStatus(status: string, mapping: Pick<RtMapping, "statusMap">): TicketStatus | undefined {
  const own = Object.hasOwn(mapping.statusMap, status) ? mapping.statusMap[status] : undefined;
  if (own !== undefined) return own;
  return Object.hasOwn(DefaultRtStatusMap, status) ? DefaultRtStatusMap[status as RtStatus] : undefined;
}

/**
 * The status to report given the one we reported before: RT reopening a ticket (resolved → open)
 * is NTTDM's "Reopened" (Figure 2 allows Reopened after every final status; Solved → Reopened is
 * not an arrow, but RT's reopen of a Solved ticket is still a reopen, not an update).
 */
function withPrevious(mapped: TicketStatus, previous: TicketStatus | undefined): TicketStatus {
  if (previous === undefined) return mapped;
  const wasOver = isFinalStatus(previous) || previous === "Solved";
  const isActive = mapped === "Opened" || mapped === "Updated";
  return wasOver && isActive ? "Reopened" : mapped;
}

/** Whatever the NTTDM fields hold: strings, or string[] for list fields. */
type FieldValues = Partial<Record<TicketField, string | string[]>>;

/**
 * The NTTDM fields an RT ticket provides. `previous` is the TT_Status last reported for it (if
 * any), used to recognise a reopen. Issues list what could not be mapped; the rest is returned.
 */
export function rtTicketFields(
  t: RtTicket,
  mapping: RtMapping,
  previous?: TicketStatus,
): { fields: Partial<Ticket>; issues: RtMapIssue[] } {
  const issues: RtMapIssue[] = [];
  const originalId = String(t.id);
  const fields: FieldValues = {
    Partner_ID: mapping.partnerId,
    Original_ID: originalId,
    TT_ID: makeTicketId(mapping.partnerId, originalId),
    TT_Title: t.subject,
    TT_Open_Datetime: t.created,
    TT_Last_Update_Time: t.lastUpdated,
  };

  const mapped = rtStatusToTtStatus(t.status, mapping);
  if (mapped === undefined) {
    issues.push({ field: "TT_Status", message: `RT status "${t.status}" is not in the status map` });
  } else {
    const status = withPrevious(mapped, previous);
    fields.TT_Status = status;
    // §3.2.4.8: the close time belongs to tickets in a final state; RT may keep Resolved after a reopen.
    if (isFinalStatus(status)) fields.TT_Close_Datetime = t.resolved ?? t.lastUpdated;
  }

  for (const [cf, field] of Object.entries(mapping.customFields)) {
    const values = (t.customFields[cf] ?? []).filter((v) => v.trim() !== "");
    if (values.length === 0) continue;
    if (isListField(field)) {
      fields[field] = values;
    } else {
      if (values.length > 1) {
        issues.push({ field, message: `custom field "${cf}" has ${String(values.length)} values; ${field} holds one, the first is used` });
      }
      fields[field] = values[0];
    }
  }
  // The record is built from typed sources; its values are checked as a whole by validateTicket.
  return { fields: fields as Partial<Ticket>, issues };
}

/**
 * A whole NTTDM ticket: `defaults` under the RT data, validated as an open ticket. A final status
 * gets End_Datetime = TT_Close_Datetime unless a custom field or default says otherwise (RT only
 * knows when the ticket was resolved, not when the trouble ended). History (§3.2.6.4) is not in RT's
 * ticket record: pass it (e.g. built from the transactions) or it comes from `defaults`.
 */
export function rtToTicket(
  t: RtTicket,
  mapping: RtMapping,
  context: { previous?: TicketStatus; history?: string } = {},
): Result<Ticket, TicketIssue[]> {
  const { fields, issues } = rtTicketFields(t, mapping, context.previous);
  // The trouble started, as far as RT knows, when the ticket was opened (unless a field says when).
  const ticket: Record<string, unknown> = { History: "", Start_Datetime: fields.TT_Open_Datetime, ...mapping.defaults, ...fields };
  if (context.history !== undefined) ticket.History = context.history;
  const status = fields.TT_Status;
  if (status !== undefined && isFinalStatus(status) && ticket.End_Datetime === undefined) {
    ticket.End_Datetime = fields.TT_Close_Datetime;
  }
  const validated = validateTicket(ticket, "open");
  const mapIssues = issues.map((i) => ({ path: i.field, message: i.message }));
  if (!validated.ok) return err([...mapIssues, ...validated.error]);
  // Lossy but valid (e.g. a multi-valued custom field cut to one) is still an error: say so.
  return mapIssues.length > 0 ? err(mapIssues) : validated;
}

// ---------------------------------------------------------------------------------------------
// NTTDM → RT
// ---------------------------------------------------------------------------------------------

/** The RT status for a TT_Status. */
export function ttStatusToRtStatus(status: TicketStatus, mapping: Pick<RtMapping, "reverseStatusMap">): string {
  return mapping.reverseStatusMap[status] ?? DefaultTtStatusToRt[status];
}

/**
 * The RT update for a set of changed NTTDM fields: TT_Title, TT_Status and the fields fed by custom
 * fields. Anything else has no place in RT and is returned in `unmapped`.
 */
export function ticketChangesToRt(changes: Partial<Ticket>, mapping: RtMapping): { update: RtUpdate; unmapped: TicketField[] } {
  const update: RtUpdate = {};
  const unmapped: TicketField[] = [];
  const cfFor = new Map<string, string>(Object.entries(mapping.customFields).map(([cf, field]) => [field, cf]));
  const customFields: Record<string, string | string[]> = {};
  for (const [key, value] of Object.entries(changes)) {
    const field = key as TicketField;
    if (value === undefined) continue;
    const cf = cfFor.get(field);
    if (cf !== undefined) customFields[cf] = Array.isArray(value) ? [...value] : value;
    if (field === "TT_Title" && typeof value === "string") update.Subject = value;
    else if (field === "TT_Status" && typeof value === "string") update.Status = ttStatusToRtStatus(value as TicketStatus, mapping);
    else if (cf === undefined && !identitySet.has(field)) unmapped.push(field);
  }
  if (Object.keys(customFields).length > 0) update.CustomFields = customFields;
  return { update, unmapped };
}

// ---------------------------------------------------------------------------------------------
// TicketSQL values
// ---------------------------------------------------------------------------------------------

/** A TicketSQL string literal: single quotes, backslash escapes (RT::SQL unescapes `\x` to `x`). */
export function ticketSqlString(value: string): string {
  return `'${value.replace(/[\\']/g, (c) => `\\${c}`)}'`;
}

/**
 * An instant as a TicketSQL date, "YYYY-MM-DD HH:MM:SS" in `timeZone`. RT reads TicketSQL dates in
 * the searching user's time zone (their preference, else the server's $Timezone) and IGNORES an
 * explicit offset: "…+00:00" is still shifted by the user's zone, and "…Z" is misread as midnight.
 * So the only safe form is a bare local time in the zone RT will assume. Seconds are truncated
 * (RT stores whole seconds). A string must be an RFC 3339 date-time with offset (§2.2.3).
 * `undefined` for an unparseable instant or an unknown zone.
 */
export function ticketSqlDatetime(instant: string | Date, timeZone: string): string | undefined {
  const date = typeof instant === "string" ? new Date(datetimeToMillis(instant) ?? Number.NaN) : instant;
  if (Number.isNaN(date.getTime())) return undefined;
  let parts: Intl.DateTimeFormatPart[];
  try {
    parts = new Intl.DateTimeFormat("en-US", {
      timeZone,
      hourCycle: "h23",
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      second: "2-digit",
    }).formatToParts(date);
  } catch {
    return undefined;
  }
  const part = (type: Intl.DateTimeFormatPartTypes): string => parts.find((p) => p.type === type)?.value ?? "";
  return `${part("year").padStart(4, "0")}-${part("month")}-${part("day")} ${part("hour")}:${part("minute")}:${part("second")}`;
}

/** `Queue = '…' AND LastUpdated > '…'`, or why it cannot be built. */
export function updatedSinceQuery(queue: string, since: string, timeZone: string): Result<string, string> {
  if (datetimeToMillis(since) === undefined) return err(`not an RFC 3339 date-time with offset: ${JSON.stringify(since)}`);
  const when = ticketSqlDatetime(since, timeZone);
  if (when === undefined) return err(`unknown time zone: ${JSON.stringify(timeZone)}`);
  return ok(`Queue = ${ticketSqlString(queue)} AND LastUpdated > ${ticketSqlString(when)}`);
}
