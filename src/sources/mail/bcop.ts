/**
 * iCalendar (RFC 5545) text → maintenance events of the "Maintenance Notification BCOP" (pure).
 *
 * The BCOP (draft-gunter-calext-maintenance-notifications) adds x-name properties to an ordinary
 * VEVENT: X-MAINTNOTE-PROVIDER, -ACCOUNT, -MAINTENANCE-ID, -OBJECT-ID (repeated, each with an
 * X-MAINTNOTE-OBJECT-IMPACT parameter), -IMPACT and -STATUS; the standard SEQUENCE and DTSTAMP say
 * which notice of the same maintenance is newer (RFC 5545 §3.8.7.4, §3.8.7.2). Parsed with ical.js;
 * times are converted to UTC here with the calendar's own VTIMEZONEs (RFC 5545 §3.6.5).
 */
import ICAL from "ical.js";
import { isCalendarDay } from "../../model/ticket.js";
import { ok, err, type Result } from "../../util/result.js";

export const BcopStatuses = ["TENTATIVE", "CONFIRMED", "CANCELLED", "IN-PROCESS", "COMPLETED"] as const;
export type BcopStatus = (typeof BcopStatuses)[number];

export const BcopImpacts = ["NO-IMPACT", "REDUCED-REDUNDANCY", "DEGRADED", "OUTAGE"] as const;
export type BcopImpact = (typeof BcopImpacts)[number];

export type BcopObject = { id: string; impact: BcopImpact };

export type BcopEvent = {
  uid: string;
  provider: string;
  account?: string | undefined;
  maintenanceId: string;
  status: BcopStatus;
  /** The overall impact (X-MAINTNOTE-IMPACT). */
  impact: BcopImpact;
  objects: BcopObject[];
  sequence: number;
  /** RFC 3339, UTC. */
  stamp: string;
  start: string;
  end: string;
  summary?: string | undefined;
  description?: string | undefined;
  location?: string | undefined;
  organizer?: { name?: string | undefined; address?: string | undefined } | undefined;
};

/** A problem with one VEVENT (or the whole calendar, index undefined), named for the log. */
export type BcopProblem = { code: "bad-icalendar" | "missing-field" | "bad-value"; event?: number | undefined; message: string };

export type ParsedCalendar = { events: BcopEvent[]; problems: BcopProblem[]; /** VEVENTs without X-MAINTNOTE properties. */ plainEvents: number };

/** Does this text look like a BCOP calendar (cheap test before a parse)? */
export const looksLikeBcop = (text: string): boolean => /^X-MAINTNOTE-/im.test(text);

/** Unknown impacts are to be treated as OUTAGE, the worst (BCOP). */
const asImpact = (v: string | undefined): BcopImpact | undefined => {
  if (v === undefined) return undefined;
  const up = v.trim().toUpperCase();
  return (BcopImpacts as readonly string[]).includes(up) ? (up as BcopImpact) : "OUTAGE";
};

export function parseBcopCalendar(text: string): Result<ParsedCalendar, BcopProblem> {
  let root: ICAL.Component;
  try {
    const jcal: unknown = ICAL.parse(text);
    // Several top-level components come back as a list of jCal arrays (RFC 7265 §3): take the first.
    const first: unknown = Array.isArray(jcal) && Array.isArray(jcal[0]) ? jcal[0] : jcal;
    if (!Array.isArray(first)) return err({ code: "bad-icalendar", message: "no iCalendar object" });
    root = new ICAL.Component(first);
  } catch (e) {
    return err({ code: "bad-icalendar", message: `not valid iCalendar: ${(e as Error).message}` });
  }
  const calendar = root.name === "vcalendar" ? root : root.getFirstSubcomponent("vcalendar");
  if (!calendar) return err({ code: "bad-icalendar", message: "no VCALENDAR object" });
  const zones = new Map<string, ICAL.Timezone>();
  for (const vtz of calendar.getAllSubcomponents("vtimezone")) {
    try {
      const tz = new ICAL.Timezone(vtz);
      zones.set(tz.tzid, tz);
    } catch {
      // A broken VTIMEZONE only matters if an event uses it: reported there as an unknown zone.
    }
  }
  const events: BcopEvent[] = [];
  const problems: BcopProblem[] = [];
  let plainEvents = 0;
  calendar.getAllSubcomponents("vevent").forEach((vevent, index) => {
    const hasBcop = vevent.getAllProperties().some((p) => p.name.startsWith("x-maintnote-"));
    if (!hasBcop) {
      plainEvents++;
      return;
    }
    const r = readEvent(vevent, zones);
    if (r.ok) events.push(r.value);
    else problems.push(...r.error.map((p) => ({ ...p, event: index })));
  });
  return ok({ events, problems, plainEvents });
}

function text(c: ICAL.Component, name: string): string | undefined {
  const v: unknown = c.getFirstPropertyValue(name);
  if (typeof v === "string") return v.trim() === "" ? undefined : v.trim();
  if (typeof v === "number") return String(v);
  return undefined;
}

function readEvent(vevent: ICAL.Component, zones: ReadonlyMap<string, ICAL.Timezone>): Result<BcopEvent, BcopProblem[]> {
  const problems: BcopProblem[] = [];
  const missing = (name: string): undefined => {
    problems.push({ code: "missing-field", message: `${name.toUpperCase()} is missing` });
    return undefined;
  };
  const provider = text(vevent, "x-maintnote-provider") ?? missing("x-maintnote-provider");
  const maintenanceId = text(vevent, "x-maintnote-maintenance-id") ?? missing("x-maintnote-maintenance-id");
  const uid = text(vevent, "uid") ?? missing("uid");
  const rawStatus = text(vevent, "x-maintnote-status")?.toUpperCase() ?? missing("x-maintnote-status");
  let status: BcopStatus | undefined;
  if (rawStatus !== undefined) {
    if ((BcopStatuses as readonly string[]).includes(rawStatus)) status = rawStatus as BcopStatus;
    else problems.push({ code: "bad-value", message: `X-MAINTNOTE-STATUS "${rawStatus}" is not one of ${BcopStatuses.join(", ")}` });
  }
  const overall = asImpact(text(vevent, "x-maintnote-impact"));
  const objects: BcopObject[] = [];
  for (const prop of vevent.getAllProperties("x-maintnote-object-id")) {
    const id: unknown = prop.getFirstValue();
    if (typeof id !== "string" || id.trim() === "") continue;
    const param: unknown = prop.getParameter("x-maintnote-object-impact");
    const impact = asImpact(typeof param === "string" ? param : undefined) ?? overall ?? "OUTAGE";
    if (!objects.some((o) => o.id === id.trim())) objects.push({ id: id.trim(), impact });
  }
  // BCOP: the overall impact is required; if a sender left it out, the worst object's impact stands in.
  const impact = overall ?? worstImpact(objects.map((o) => o.impact)) ?? missing("x-maintnote-impact");
  const seqValue: unknown = vevent.getFirstPropertyValue("sequence");
  const sequence = typeof seqValue === "number" && Number.isInteger(seqValue) && seqValue >= 0 ? seqValue : seqValue === null ? 0 : undefined;
  if (sequence === undefined) problems.push({ code: "bad-value", message: "SEQUENCE is not a whole number" });
  const stamp = time(vevent, "dtstamp", zones, problems) ?? missing("dtstamp");
  const start = time(vevent, "dtstart", zones, problems) ?? missing("dtstart");
  const end = time(vevent, "dtend", zones, problems) ?? durationEnd(vevent, start) ?? missing("dtend");
  if (start !== undefined && end !== undefined && Date.parse(end) < Date.parse(start))
    problems.push({ code: "bad-value", message: "DTEND is before DTSTART" });
  const organizerProp = vevent.getFirstProperty("organizer");
  const organizerValue: unknown = organizerProp?.getFirstValue();
  const organizerName: unknown = organizerProp?.getParameter("cn");
  const organizer = organizerProp
    ? {
        name: typeof organizerName === "string" ? organizerName : undefined,
        address: typeof organizerValue === "string" ? organizerValue.replace(/^mailto:/i, "") : undefined,
      }
    : undefined;
  if (problems.length > 0 || !provider || !maintenanceId || !uid || !status || !impact || sequence === undefined || !stamp || !start || !end)
    return err(problems);
  return ok({
    uid,
    provider,
    account: text(vevent, "x-maintnote-account"),
    maintenanceId,
    status,
    impact,
    objects,
    sequence,
    stamp,
    start,
    end,
    summary: text(vevent, "summary"),
    description: text(vevent, "description"),
    location: text(vevent, "location"),
    organizer,
  });
}

export function worstImpact(impacts: readonly BcopImpact[]): BcopImpact | undefined {
  let worst = -1;
  for (const i of impacts) worst = Math.max(worst, BcopImpacts.indexOf(i));
  return worst < 0 ? undefined : BcopImpacts[worst];
}

function durationEnd(vevent: ICAL.Component, start: string | undefined): string | undefined {
  const d: unknown = vevent.getFirstPropertyValue("duration");
  if (!(d instanceof ICAL.Duration) || start === undefined) return undefined;
  return new Date(Date.parse(start) + d.toSeconds() * 1000).toISOString().replace(/\.\d{3}Z$/, "Z");
}

/**
 * A DATE-TIME property as UTC RFC 3339. UTC ("Z") as is; a TZID by the calendar's VTIMEZONE, else by
 * the IANA zone of that name; floating times and all-day DATEs are read as UTC (the NOC convention).
 */
function time(vevent: ICAL.Component, name: string, zones: ReadonlyMap<string, ICAL.Timezone>, problems: BcopProblem[]): string | undefined {
  const prop = vevent.getFirstProperty(name);
  if (!prop) return undefined;
  const v: unknown = prop.getFirstValue();
  if (!(v instanceof ICAL.Time)) {
    problems.push({ code: "bad-value", message: `${name.toUpperCase()} is not a date-time` });
    return undefined;
  }
  // ical.js rolls an impossible day over (20260230 → 2 March): the text as written is checked.
  const written = /:(\d{4})(\d{2})(\d{2})/.exec(prop.toICALString());
  if (written && !isCalendarDay(Number(written[1]), Number(written[2]), Number(written[3]))) {
    problems.push({ code: "bad-value", message: `${name.toUpperCase()} ${written[1]}-${written[2]}-${written[3]} is not a day of the calendar` });
    return undefined;
  }
  const wall = Date.UTC(v.year, v.month - 1, v.day, v.isDate ? 0 : v.hour, v.isDate ? 0 : v.minute, v.isDate ? 0 : v.second);
  const tzid: unknown = prop.getParameter("tzid");
  let ms = wall;
  if (typeof tzid === "string" && !v.isDate && v.zone?.tzid !== "UTC") {
    const zone = zones.get(tzid);
    if (zone) ms = wall - zone.utcOffset(v) * 1000;
    else {
      const viaIntl = ianaWallToUtc(tzid, wall);
      if (viaIntl === undefined) {
        problems.push({ code: "bad-value", message: `${name.toUpperCase()} uses time zone "${tzid}", which the calendar does not define` });
        return undefined;
      }
      ms = viaIntl;
    }
  }
  if (!Number.isFinite(ms)) {
    problems.push({ code: "bad-value", message: `${name.toUpperCase()} is not a valid date-time` });
    return undefined;
  }
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** The UTC instant of a wall-clock time (given as if UTC) in an IANA zone, via Intl; undefined for an unknown zone. */
function ianaWallToUtc(zone: string, wallAsUtc: number): number | undefined {
  let fmt: Intl.DateTimeFormat;
  try {
    fmt = new Intl.DateTimeFormat("en-US", { timeZone: zone, hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit" });
  } catch {
    return undefined;
  }
  const offsetAt = (utc: number): number => {
    const parts = Object.fromEntries(fmt.formatToParts(new Date(utc)).map((p) => [p.type, p.value]));
    const asUtc = Date.UTC(Number(parts.year), Number(parts.month) - 1, Number(parts.day), Number(parts.hour), Number(parts.minute), Number(parts.second));
    return asUtc - utc;
  };
  const first = wallAsUtc - offsetAt(wallAsUtc);
  return wallAsUtc - offsetAt(first);
}
