/**
 * The trouble-ticket model of RFC 6137, "The Network Trouble Ticket Data Model (NTTDM)".
 *
 * Section references (§) are to RFC 6137. The field list and the MANDATORY column follow the
 * field tables of §3.2.3–§3.2.9 and their summary in §3.3 (Figure 43); which fields are lists
 * follows the TYPE "List" column and the XML Schema of §6 (the `e…` complex types holding a
 * repeated child element). Keys are the element names of Figure 4 / §6 verbatim (note the RFC
 * spells date-time fields `…_Datetime`, e.g. `Start_Datetime`, not `Start_Date_Time`).
 *
 * Two schemas:
 * - `TicketSchema`: a complete ticket, every field the RFC marks MANDATORY "Yes" required,
 *   including `TT_Close_Datetime` and `End_Datetime` (§3.2.4.8, §3.2.5.8, Figure 43).
 * - `OpenTicketSchema`: the working schema for tickets still in flight; the close/end times may be
 *   absent unless `TT_Status` is a final status (Figure 2 of §2.2.1.1).
 * Both reject unknown keys and share the cross-field rules of §3.2.4.1, §3.2.5.10–§3.2.5.13 and
 * §3.2.6.4 (see `checkCrossFieldRules`).
 */
import { hash } from "node:crypto";
import { z } from "zod";
import { ok, err, type Result } from "../util/result.js";

// ---------------------------------------------------------------------------------------------
// Closed value sets: §2.2.1 Figure 1 ("Predefined String") and the eTT_… simple types of §6.
// Values verbatim, in the RFC's order (Figure 1; TT_Status in the §6 enumeration order).
// ---------------------------------------------------------------------------------------------

/** TT_TYPE (§2.2.1, §2.2.1.1, §3.2.4.3). */
export const TicketTypes = ["Operational", "Informational", "Administrative", "Test"] as const;
export type TicketType = (typeof TicketTypes)[number];

/** TYPE, the type of the trouble (§2.2.1, §2.2.1.1, §3.2.5.3). */
export const TroubleTypes = ["Scheduled", "Unscheduled"] as const;
export type TroubleType = (typeof TroubleTypes)[number];

/** TT_PRIORITY (§2.2.1, §2.2.1.1, §3.2.4.4). */
export const TicketPriorities = ["Low", "Medium", "High"] as const;
export type TicketPriority = (typeof TicketPriorities)[number];

/** TT_SHORT_DESCRIPTION (§2.2.1, §2.2.1.1, §3.2.5.1). */
export const TicketShortDescriptions = [
  "Core Line Fault",
  "Access Line Fault",
  "Degraded Service",
  "Router Hardware Fault",
  "Router Software Fault",
  "Routing Problem",
  "Undefined Problem",
  "Network Congestion",
  "Client Upgrade",
  "IPv6",
  "QoS",
  "VoIP",
  "Other",
] as const;
export type TicketShortDescription = (typeof TicketShortDescriptions)[number];

/** TT_IMPACT_ASSESSMENT (§2.2.1, §2.2.1.1, §3.2.5.4). Note the RFC's sentence case ("No impact"). */
export const TicketImpactAssessments = [
  "No impact",
  "Reduced redundancy",
  "Minor performance impact",
  "Severe performance impact",
  "No connectivity",
  "On backup",
  "At risk",
  "Unknown",
] as const;
export type TicketImpactAssessment = (typeof TicketImpactAssessments)[number];

/** TT_STATUS (§2.2.1, §2.2.1.1, §3.2.4.5); order of the eTT_Status enumeration in §6. */
export const TicketStatuses = [
  "Opened",
  "Updated",
  "Closed",
  "Solved",
  "Opened/Closed",
  "Inactive",
  "Cancelled",
  "Reopened",
  "Superseded",
] as const;
export type TicketStatus = (typeof TicketStatuses)[number];

/** TT_SOURCE (§2.2.1, §3.2.4.6). */
export const TicketSources = ["Users", "Monitoring", "Other NOC"] as const;
export type TicketSource = (typeof TicketSources)[number];

/**
 * The final states of the TT_STATUS transition diagram: the boxes marked "(X)" in Figure 2
 * (§2.2.1.1). "Solved" is NOT final: the incident is solved but still monitored, and it moves on
 * to "Closed" (or back to "Reopened"). Final does not mean absorbing: Figure 2 still allows e.g.
 * Closed -> Reopened.
 */
export const FinalStatuses = ["Closed", "Opened/Closed", "Cancelled", "Inactive", "Superseded"] as const;
export type FinalStatus = (typeof FinalStatuses)[number];

const finalStatusSet: ReadonlySet<TicketStatus> = new Set<TicketStatus>(FinalStatuses);

/** True for the "(X)" states of Figure 2 (§2.2.1.1). */
export function isFinalStatus(s: TicketStatus): boolean {
  return finalStatusSet.has(s);
}

/**
 * The statuses for which HISTORY may be empty: §3.2.6.4 says it "MUST NOT be empty when ...
 * TT_STATUS is anything other than "OPENED" or "OPENED/CLOSED"".
 */
export const StatusesAllowingEmptyHistory = ["Opened", "Opened/Closed"] as const;

// ---------------------------------------------------------------------------------------------
// TT_ID (§3.2.4.1)
// ---------------------------------------------------------------------------------------------

/**
 * TT_ID is constructed as "PARTNER_ID"_"ORIGINAL_ID" (§3.2.4.1). Pure concatenation, never throws:
 * the result is a valid (and parseable) TT_ID only if both parts are non-empty and contain no
 * "_" (see `isValidIdPart`); `validateTicket` reports offending parts as issues.
 */
export function makeTicketId(partnerId: string, originalId: string): string {
  return `${partnerId}_${originalId}`;
}

/** PARTNER_ID / ORIGINAL_ID "MUST NOT contain an underscore character" (§3.2.4.1; §6 string_no_underscore). */
export function isValidIdPart(part: string): boolean {
  return part.length > 0 && !part.includes("_");
}

export type TicketIdParts = { partnerId: string; originalId: string };

/**
 * Splits a TT_ID into its PARTNER_ID and ORIGINAL_ID (§3.2.4.1). Since NEITHER part may contain
 * "_" (the RFC forbids it in both, so the split is unambiguous), this succeeds only for ids with
 * exactly one "_" and non-empty text on both sides; anything else (no "_", several "_", an empty
 * side) is not an RFC TT_ID and gives `undefined`.
 */
export function parseTicketId(id: string): TicketIdParts | undefined {
  const parts = id.split("_");
  if (parts.length !== 2) return undefined;
  const [partnerId, originalId] = parts;
  if (partnerId === undefined || originalId === undefined) return undefined;
  if (!isValidIdPart(partnerId) || !isValidIdPart(originalId)) return undefined;
  return { partnerId, originalId };
}

// ---------------------------------------------------------------------------------------------
// Datetime (§2.2.3): "formatted according to a subset of ISO 8601:2000 as documented in RFC 3339",
// implemented as xs:dateTime. We require the full RFC 3339 `date-time` (RFC 3339 §5.6): date, "T",
// time with seconds, optional fraction, and an offset ("Z" or ±hh:mm). Lower-case "t"/"z" are
// allowed as RFC 3339 §5.6 permits; a space instead of "T", a missing time, missing seconds or a
// missing offset are rejected. Calendar validity is checked (no 2008-02-30).
// ---------------------------------------------------------------------------------------------

const RFC3339_DATE_TIME =
  /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(?:[Zz]|([+-])(\d{2}):(\d{2}))$/;

/** Whether year-month-day is a day of the calendar (no 2026-02-30): Date and ical.js roll those over. */
export function isCalendarDay(year: number, month: number, day: number): boolean {
  return month >= 1 && month <= 12 && day >= 1 && day <= daysInMonth(year, month);
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : month >= 1 && month <= 12 ? 31 : 0;
}

/**
 * Days from 1970-01-01 to a day of the proleptic Gregorian calendar (year ≥ 0, month 1–12), as
 * `Date.UTC` counts them, worked out with integers, cheaper than `Date.UTC` (`plainUtcMillis` ≈300 →
 * ≈230 ns, warm; a first poll reads every date of 50k tickets several times). A test holds the two alike.
 */
function daysFromCivil(year: number, month: number, day: number): number {
  // Counted in 400-year eras from March 1st, so that the leap day ends a year.
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yearOfEra = y - era * 400;
  const dayOfYear = Math.floor((153 * (month > 2 ? month - 3 : month + 9) + 2) / 5) + day - 1;
  const dayOfEra = yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) + dayOfYear;
  return era * 146_097 + dayOfEra - 719_468;
}

/**
 * The instant (ms since the epoch) of an RFC 6137 Datetime (§2.2.3, RFC 3339 §5.6), or `undefined`
 * if the string is not a complete, calendar-valid RFC 3339 date-time with offset. A leap second
 * (":60", RFC 3339 §5.7) is accepted and maps to the following second.
 */
/**
 * The same few date strings are read many times per ticket (validation, correlation features,
 * date order): recent answers are kept (a pure function of the text; bounded, cleared when full).
 */
const millisMemo = new Map<string, number | undefined>();
const MILLIS_MEMO_MAX = 4096;

export function datetimeToMillis(s: string): number | undefined {
  if (s.length === 20 || s.length === 24) {
    const plain = plainUtcMillis(s);
    if (plain !== null) return plain;
  }
  if (millisMemo.has(s)) return millisMemo.get(s);
  const v = parseDatetimeMillis(s);
  if (millisMemo.size >= MILLIS_MEMO_MAX) millisMemo.clear();
  millisMemo.set(s, v);
  return v;
}

/** A digit's value at `i`, else -1 (`\d` in the pattern: ASCII digits only). */
const digitAt = (s: string, i: number): number => {
  const d = s.charCodeAt(i) - 48;
  return d >= 0 && d <= 9 ? d : -1;
};

/**
 * `parseDatetimeMillis` for the forms most date-times take, the one ttrelay writes
 * ("2026-11-30T00:05:00Z": whole seconds in UTC) and JavaScript's (`toISOString`, rss-parser's
 * isoDate: "2026-11-30T00:05:00.000Z"), read without the pattern or the memo; null when `s` (20 or
 * 24 characters long) is not of that form, for the general reading to decide. The memo only cost
 * time where every ticket brings new date strings (a first poll reads 50k tickets).
 */
function plainUtcMillis(s: string): number | undefined | null {
  const c = (i: number): number => s.charCodeAt(i);
  const zone = s.length - 1;
  if (c(4) !== 0x2d || c(7) !== 0x2d || (c(10) !== 0x54 && c(10) !== 0x74) || c(13) !== 0x3a || c(16) !== 0x3a || (c(zone) !== 0x5a && c(zone) !== 0x7a)) return null;
  let millis = 0;
  if (zone === 23) {
    const a = digitAt(s, 20);
    const b = digitAt(s, 21);
    const d = digitAt(s, 22);
    if (c(19) !== 0x2e || a < 0 || b < 0 || d < 0) return null;
    millis = a * 100 + b * 10 + d;
  }
  const year = twoDigitsAt(s, 0) * 100 + twoDigitsAt(s, 2);
  const month = twoDigitsAt(s, 5);
  const day = twoDigitsAt(s, 8);
  const hour = twoDigitsAt(s, 11);
  const minute = twoDigitsAt(s, 14);
  const second = twoDigitsAt(s, 17);
  // A negative part is a non-digit; years 0–99 need the setters (see below): the general reading decides both.
  if (year < 100 || month < 0 || day < 0 || hour < 0 || minute < 0 || second < 0) return null;
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return undefined;
  if (hour > 23 || minute > 59 || second > 60) return undefined;
  // A leap second (:60) is the next minute's first, as with Date.UTC.
  return ((daysFromCivil(year, month, day) * 24 + hour) * 60 + minute) * 60_000 + second * 1000 + millis;
}

/** The two digits at `i` as a number, else a negative number. */
function twoDigitsAt(s: string, i: number): number {
  const a = digitAt(s, i);
  const b = digitAt(s, i + 1);
  return a < 0 || b < 0 ? -10_000 : a * 10 + b;
}

function parseDatetimeMillis(s: string): number | undefined {
  const m = RFC3339_DATE_TIME.exec(s);
  if (m === null) return undefined;
  const num = (i: number): number => Number(m[i] ?? "0");
  const [year, month, day, hour, minute, second] = [num(1), num(2), num(3), num(4), num(5), num(6)];
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return undefined;
  if (hour > 23 || minute > 59 || second > 60) return undefined;
  const offsetHours = num(9);
  const offsetMinutes = num(10);
  if (offsetHours > 23 || offsetMinutes > 59) return undefined;
  const millis = Number((m[7] ?? "").padEnd(3, "0").slice(0, 3));
  let utc: number;
  if (year >= 100) utc = Date.UTC(year, month - 1, day, hour, minute, second, millis);
  else {
    // Date.UTC reads years 0–99 as 1900–1999; the setters take the year as given.
    const d = new Date(0);
    d.setUTCFullYear(year, month - 1, day);
    d.setUTCHours(hour, minute, second, millis);
    utc = d.getTime();
  }
  const sign = m[8] === "-" ? -1 : 1;
  return utc - sign * (offsetHours * 60 + offsetMinutes) * 60_000;
}

// ---------------------------------------------------------------------------------------------
// Field schemas
// ---------------------------------------------------------------------------------------------

/** Datetime (§2.2.3). Kept as the string received; compare instants with `datetimeToMillis`. */
const Datetime = z.string().refine((s) => datetimeToMillis(s) !== undefined, {
  message: "must be an RFC 3339 date-time with time and offset, e.g. 2008-12-16T10:01:15+02:00 (RFC 6137 §2.2.3)",
});

/** A String (§2.2.2) carrying information the RFC marks MANDATORY "Yes": blank is no information. */
const RequiredText = z.string().refine((s) => s.trim().length > 0, { message: "must not be empty" });

/** PARTNER_ID / ORIGINAL_ID: non-empty, no "_" (§3.2.4.1; §6 string_no_underscore). */
const IdPart = RequiredText.refine((s) => !s.includes("_"), {
  message: "must not contain an underscore: TT_ID is PARTNER_ID_ORIGINAL_ID (RFC 6137 §3.2.4.1)",
});

/** TYPE "List" (§2.1.4): many values; in §6 a sequence of child elements (minOccurs=0). */
const List = z.array(RequiredText);

/** xs:language (the `lang` attribute of the Ticket class, §3.2.2 and §6), e.g. "el", "en-GB". */
const Language = z
  .string()
  .regex(/^[a-zA-Z]{1,8}(?:-[a-zA-Z0-9]{1,8})*$/, "must be a language tag like en or el-GR (xs:language)");

/**
 * The fields of a ticket still open: every MANDATORY "Yes" field of §3.3 (Figure 43) except the
 * close/end times, which only exist once the ticket/incident is over.
 */
const openTicketShape = {
  // Ticket class attribute (§3.2.2). Figure 4 says "lang Required", but §6 makes it optional on
  // Ticket (it is required on the enclosing NTTDM-Document, §3.2.1); we carry no document, so optional.
  lang: Language.optional(),

  // §3.2.3 Ticket Origin Information
  Partner_ID: IdPart, // §3.2.3.1 Multiple, String, mandatory
  Original_ID: IdPart, // §3.2.3.2 Free, String, mandatory

  // §3.2.4 Ticket Information
  TT_ID: RequiredText, // §3.2.4.1 Defined as Partner_ID + "_" + Original_ID, mandatory (checked below)
  TT_Title: RequiredText, // §3.2.4.2 Defined, String, mandatory
  TT_Type: z.enum(TicketTypes), // §3.2.4.3 mandatory
  TT_Priority: z.enum(TicketPriorities).optional(), // §3.2.4.4 optional
  TT_Status: z.enum(TicketStatuses), // §3.2.4.5 mandatory
  TT_Source: z.enum(TicketSources).optional(), // §3.2.4.6 optional
  TT_Open_Datetime: Datetime, // §3.2.4.7 mandatory
  TT_Close_Datetime: Datetime.optional(), // §3.2.4.8 mandatory in a complete ticket; see FinalStatuses

  // §3.2.5 Trouble Details
  TT_Short_Description: z.enum(TicketShortDescriptions), // §3.2.5.1 mandatory
  // §3.2.5.2 MANDATORY "No" (also Figure 43), although §6 and Figure 4 list it without minOccurs=0;
  // we follow the field table.
  TT_Long_Description: z.string().optional(),
  Type: z.enum(TroubleTypes), // §3.2.5.3 mandatory
  TT_Impact_Assessment: z.enum(TicketImpactAssessments), // §3.2.5.4 mandatory
  Start_Datetime: Datetime, // §3.2.5.5 mandatory
  Detect_Datetime: Datetime.optional(), // §3.2.5.6 optional
  Report_Datetime: Datetime.optional(), // §3.2.5.7 optional
  End_Datetime: Datetime.optional(), // §3.2.5.8 mandatory in a complete ticket; see FinalStatuses
  TT_Last_Update_Time: Datetime, // §3.2.5.9 mandatory
  Time_Window_Start: Datetime.optional(), // §3.2.5.10 optional unless Type is "Scheduled"
  Time_Window_End: Datetime.optional(), // §3.2.5.11 optional unless Type is "Scheduled"
  Work_Plan_Start_Datetime: Datetime.optional(), // §3.2.5.12 optional
  Work_Plan_End_Datetime: Datetime.optional(), // §3.2.5.13 optional

  // §3.2.6 Related Data
  Related_External_Tickets: List.optional(), // §3.2.6.1 List (§6: TTid*), optional
  Additional_Data: z.string().optional(), // §3.2.6.2 Free, optional
  // §3.2.6.3: TYPE "Multiple" in the table, but "The TT IDs of the related incidents" and §6
  // eRelated_Activity is a sequence of <TT> elements: a list.
  Related_Activity: List.optional(),
  // §3.2.6.4 Free, mandatory; may be empty only while TT_Status is Opened or Opened/Closed.
  History: z.string(),

  // §3.2.7 Localization and Impact
  Affected_Community: z.string().optional(), // §3.2.7.1 Free, optional
  Affected_Service: z.string().optional(), // §3.2.7.2 Multiple (one value; §6 xs:string), optional
  Location: RequiredText, // §3.2.7.3 Multiple (one value; §6 xs:string), mandatory
  Network_Node: List.optional(), // §3.2.7.4 List (§6: Node*), optional
  Network_Link_Circuit: List.optional(), // §3.2.7.5 List (§6: Link_Circuit*), optional
  End_Line_Location_A: z.string().optional(), // §3.2.7.6 optional
  End_Line_Location_B: z.string().optional(), // §3.2.7.7 optional

  // §3.2.8 Contact Information: engineer names (the RFC defines no e-mail/phone fields).
  Open_Engineer: z.string().optional(), // §3.2.8.1 optional
  Contact_Engineers: List.optional(), // §3.2.8.2 List (§6: Engineer*), optional
  Close_Engineer: z.string().optional(), // §3.2.8.3 optional

  // §3.2.9 Security
  Hash: z.string().optional(), // §3.2.9.1 Defined, "Encrypted message hash", optional
};

/** A complete ticket: additionally the close/end times, MANDATORY "Yes" in §3.2.4.8, §3.2.5.8, Figure 43. */
const completeTicketShape = {
  ...openTicketShape,
  TT_Close_Datetime: Datetime,
  End_Datetime: Datetime,
};

const OpenTicketObject = z.strictObject(openTicketShape);
const CompleteTicketObject = z.strictObject(completeTicketShape);

/** What the cross-field rules look at: satisfied by both the open and the complete ticket. */
type RuleView = z.output<typeof OpenTicketObject>;
type IssueSink = { addIssue(issue: { code: "custom"; path: string[]; message: string }): void };

/** Rules shared by both modes, each from the RFC section cited. */
function checkCrossFieldRules(t: RuleView, ctx: IssueSink): void {
  const issue = (field: keyof RuleView, message: string): void => {
    ctx.addIssue({ code: "custom", path: [field], message });
  };

  // §3.2.4.1: TT_ID is constructed as "PARTNER_ID"_"ORIGINAL_ID".
  const expectedId = makeTicketId(t.Partner_ID, t.Original_ID);
  if (t.TT_ID !== expectedId) {
    issue("TT_ID", `TT_ID must be Partner_ID + "_" + Original_ID, i.e. "${expectedId}" (RFC 6137 §3.2.4.1)`);
  }

  // §3.2.6.4: HISTORY MUST NOT be empty unless TT_STATUS is "Opened" or "Opened/Closed".
  if (!(StatusesAllowingEmptyHistory as readonly string[]).includes(t.TT_Status) && t.History.trim() === "") {
    issue("History", `History must not be empty when TT_Status is "${t.TT_Status}" (RFC 6137 §3.2.6.4)`);
  }

  // §3.2.5.10 / §3.2.5.11: the time window is mandatory when TYPE is "Scheduled".
  if (t.Type === "Scheduled") {
    for (const field of ["Time_Window_Start", "Time_Window_End"] as const) {
      if (t[field] === undefined) {
        issue(field, `${field} is required when Type is "Scheduled" (RFC 6137 §3.2.5.10-11)`);
      }
    }
  }

  // §3.2.5.13: the work-plan period MUST be included in the time-window period (each period is
  // "delimited by" its start and end, so start <= end). Checked on the bounds that are present.
  const ms = (s: string | undefined): number | undefined => (s === undefined ? undefined : datetimeToMillis(s));
  const windowStart = ms(t.Time_Window_Start);
  const windowEnd = ms(t.Time_Window_End);
  const planStart = ms(t.Work_Plan_Start_Datetime);
  const planEnd = ms(t.Work_Plan_End_Datetime);
  const before = (a: number | undefined, b: number | undefined): boolean =>
    a !== undefined && b !== undefined && a > b;
  if (before(windowStart, windowEnd)) {
    issue("Time_Window_End", "Time_Window_End must not be before Time_Window_Start (RFC 6137 §3.2.5.13)");
  }
  if (before(planStart, planEnd)) {
    issue("Work_Plan_End_Datetime", "Work_Plan_End_Datetime must not be before Work_Plan_Start_Datetime (RFC 6137 §3.2.5.13)");
  }
  if (before(windowStart, planStart)) {
    issue("Work_Plan_Start_Datetime", "Work_Plan_Start_Datetime must not be before Time_Window_Start (RFC 6137 §3.2.5.13)");
  }
  if (before(planEnd, windowEnd)) {
    issue("Work_Plan_End_Datetime", "Work_Plan_End_Datetime must not be after Time_Window_End (RFC 6137 §3.2.5.13)");
  }
}

/** Close/end times are only optional while the ticket is not in a final state (Figure 2, §2.2.1.1). */
function checkFinalStatusTimes(t: RuleView, ctx: IssueSink): void {
  if (!isFinalStatus(t.TT_Status)) return;
  for (const field of ["TT_Close_Datetime", "End_Datetime"] as const) {
    if (t[field] === undefined) {
      ctx.addIssue({
        code: "custom",
        path: [field],
        message: `${field} is required when TT_Status is "${t.TT_Status}" (a final status, RFC 6137 §2.2.1.1 Figure 2; ${
          field === "TT_Close_Datetime" ? "§3.2.4.8" : "§3.2.5.8"
        })`,
      });
    }
  }
}

/** A complete ticket: all MANDATORY fields of §3.3 Figure 43 required, unknown keys rejected. */
export const TicketSchema = CompleteTicketObject.superRefine((t, ctx) => {
  checkCrossFieldRules(t, ctx);
});

/** A ticket possibly still open: close/end times optional unless TT_Status is final. Unknown keys rejected. */
export const OpenTicketSchema = OpenTicketObject.superRefine((t, ctx) => {
  checkCrossFieldRules(t, ctx);
  checkFinalStatusTimes(t, ctx);
});

/** The working ticket type (close/end times optional). */
export type Ticket = z.infer<typeof OpenTicketSchema>;
/** A ticket that passed `TicketSchema`: close/end times present. Assignable to `Ticket`. */
export type CompleteTicket = z.infer<typeof TicketSchema>;
/** Every key a ticket may have. */
export type TicketField = keyof Ticket;
export const TicketFields = Object.keys(openTicketShape) as TicketField[];

/** The fields that are lists (TYPE "List" in §3.3, plus Related_Activity per §6), as string[]. */
export const TicketListFields = [
  "Related_External_Tickets",
  "Related_Activity",
  "Network_Node",
  "Network_Link_Circuit",
  "Contact_Engineers",
] as const satisfies readonly TicketField[];

/** MANDATORY "Yes" in §3.3 Figure 43: required by `TicketSchema`. */
export const MandatoryFields = [
  "Partner_ID",
  "Original_ID",
  "TT_ID",
  "TT_Title",
  "TT_Type",
  "TT_Status",
  "TT_Open_Datetime",
  "TT_Close_Datetime",
  "TT_Short_Description",
  "Type",
  "TT_Impact_Assessment",
  "Start_Datetime",
  "End_Datetime",
  "TT_Last_Update_Time",
  "History",
  "Location",
] as const satisfies readonly TicketField[];

/** Mandatory fields whose absence `OpenTicketSchema` tolerates while TT_Status is not final. */
export const CloseFields = ["TT_Close_Datetime", "End_Datetime"] as const satisfies readonly TicketField[];

// ---------------------------------------------------------------------------------------------
// Validation entry point
// ---------------------------------------------------------------------------------------------

/** One problem found in a ticket; `path` is dotted ("TT_Status", "Network_Node.1"; "" for the whole input). */
export type TicketIssue = { path: string; message: string };
export type ValidationMode = "complete" | "open";

function toTicketIssues(issues: readonly z.core.$ZodIssue[]): TicketIssue[] {
  const out: TicketIssue[] = [];
  for (const issue of issues) {
    const base = issue.path.map((p) => String(p));
    if (issue.code === "unrecognized_keys") {
      // One issue per unknown key, at that key's path.
      for (const key of issue.keys) {
        out.push({ path: [...base, key].join("."), message: `unknown field "${key}": not an RFC 6137 Ticket field (§3.2.2)` });
      }
    } else {
      out.push({ path: base.join("."), message: issue.message });
    }
  }
  return out;
}

/**
 * Validates untrusted input as a ticket: `"complete"` with `TicketSchema`, `"open"` with
 * `OpenTicketSchema`. Field-level problems are reported first; the cross-field rules (TT_ID,
 * History, time window, final-status close times) run once every field has the right type.
 */
export function validateTicket(input: unknown, mode: ValidationMode): Result<Ticket, TicketIssue[]> {
  if (mode === "complete") {
    const r = TicketSchema.safeParse(input);
    return r.success ? ok(r.data) : err(toTicketIssues(r.error.issues));
  }
  const r = OpenTicketSchema.safeParse(input);
  return r.success ? ok(r.data) : err(toTicketIssues(r.error.issues));
}

// ---------------------------------------------------------------------------------------------
// Content hash
// ---------------------------------------------------------------------------------------------

/**
 * Fields left out of `ticketContentHash`: `Hash` (§3.2.9.1) is a Defined value computed from the
 * rest of the ticket by the sender (an "Encrypted message hash"), so it says nothing new and may
 * differ between two sends of the same content.
 */
export const ContentHashExcludedFields = ["Hash"] as const satisfies readonly TicketField[];

/** JSON with object keys sorted (recursively); `undefined` members dropped; array order kept. */
export function canonicalJson(value: unknown): string {
  // Built by appending (no entry arrays, maps and joins): it runs for every ticket of a poll.
  if (Array.isArray(value)) {
    let out = "[";
    for (let i = 0; i < value.length; i++) out += (i > 0 ? "," : "") + canonicalJson(value[i]);
    return out + "]";
  }
  if (value !== null && typeof value === "object") {
    // sort() without a comparator orders by UTF-16 code units, as `<` on strings does.
    const keys = Object.keys(value).sort();
    const record = value as Record<string, unknown>;
    let out = "{";
    for (const k of keys) {
      const v = record[k];
      if (v === undefined) continue;
      out += (out.length > 1 ? "," : "") + JSON.stringify(k) + ":" + canonicalJson(v);
    }
    return out + "}";
  }
  return JSON.stringify(value) ?? "null";
}

/**
 * sha256 (hex) of the ticket's content, to tell whether a known ticket changed. Independent of key
 * order; absent, `""` and `[]` values count as the same (no information); list order is kept;
 * `ContentHashExcludedFields` are ignored. Every other field counts, TT_Last_Update_Time included.
 */
const HASH_EXCLUDED: ReadonlySet<string> = new Set(ContentHashExcludedFields);

/** What counts as a change: everything but the update time, which a feed without dates sets to "now". */
export const changeHash = (ticket: Ticket): string => contentHash(ticket, "TT_Last_Update_Time");

export function ticketContentHash(t: Ticket): string {
  return contentHash(t, undefined);
}

/**
 * `canonicalJson` of the ticket's counted fields, from the ticket without a second sort: it runs
 * for every ticket of every poll. Every field of a ticket is text or a list of texts, for which
 * JSON.stringify of an object with the counted fields put in sorted order writes exactly that, in
 * a third less time than appending field by field (which stays for anything else, should a ticket
 * ever hold another value). `skip`: a field left out as if "".
 */
function contentHash(t: Ticket, skip: string | undefined): string {
  const record = t as Record<string, unknown>;
  const keys = Object.keys(record).sort();
  const counted: Record<string, string | readonly string[]> = {};
  for (const key of keys) {
    const value = record[key];
    if (!counts(key, value, skip)) continue;
    // An object puts keys like "12" first whatever their order (and "__proto__" is no key): no ticket has such keys.
    const plainKey = key !== "__proto__" && !(key.charCodeAt(0) >= 0x30 && key.charCodeAt(0) <= 0x39);
    if (!plainKey || !(typeof value === "string" || (Array.isArray(value) && value.every((v) => typeof v === "string")))) return hash("sha256", countedJson(record, keys, skip));
    counted[key] = value;
  }
  return hash("sha256", JSON.stringify(counted));
}

/** Does the field count for the hash? Not when excluded or skipped, nor when it says nothing (absent, "", []). */
const counts = (key: string, value: unknown, skip: string | undefined): boolean =>
  !HASH_EXCLUDED.has(key) && key !== skip && value !== undefined && value !== "" && !(Array.isArray(value) && value.length === 0);

/** The counted fields' canonical JSON, appended field by field (`contentHash` for any value). */
function countedJson(record: Record<string, unknown>, keys: readonly string[], skip: string | undefined): string {
  let out = "{";
  for (const key of keys) {
    const value = record[key];
    if (!counts(key, value, skip)) continue;
    out += (out.length > 1 ? "," : "") + JSON.stringify(key) + ":" + canonicalJson(value);
  }
  return out + "}";
}
