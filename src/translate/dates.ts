/**
 * Dates from outside → RFC 3339 (RFC 6137 §2.2.3), read with luxon (pure; `now` is passed in).
 * A date that cannot be read without guessing is an error, never a value: "01/11/2011" is the 1st
 * of November in London and the 11th of January in New York, so it needs `dayFirst`; "Jun 12,
 * 22:49 UTC" has no year. Accepted without options: RFC 3339 / ISO 8601 date-times, RFC 822/1123
 * (RSS pubDate, also with 2-digit years and "1500" times), "2026-11-28 10:00 UTC", numeric dates
 * whose day and month cannot be confused (28/11/2026), and zones given as an offset, UTC/GMT/UT/Z,
 * the RFC 822 North American names, CET/EET/WET with their summer names, or an IANA name.
 * Zone-less times are read in the rule's (or feed's) `zone`, UTC when none is set.
 */
import { DateTime, FixedOffsetZone, IANAZone, type Zone } from "luxon";
import { datetimeToMillis, isCalendarDay } from "../model/ticket.js";
import { ok, err, type Result } from "../util/result.js";

export type DateOptions = {
  /** luxon format strings tried first (https://moment.github.io/luxon/#/parsing?id=table-of-tokens). */
  format?: readonly string[] | undefined;
  /** For numeric dates: true = day/month/year, false = month/day/year; unset = only when unambiguous. */
  dayFirst?: boolean | undefined;
  /** IANA zone (or "UTC", "+01:00") for times without one. */
  zone?: string | undefined;
};

export type ReadDate = { value: string; warning?: string | undefined };

const EARLIEST = Date.UTC(2000, 0, 1);
const YEAR_MS = 366 * 24 * 3600 * 1000;

/**
 * Zone names with one meaning: RFC 822 §5.1 (UT, GMT, Z, EST … PDT) and the European names whose
 * IANA zones exist (CET, EET, WET, MET) plus their summer forms as fixed offsets. "IST", "BST",
 * "CST" outside RFC 822 and the like are ambiguous across the world and are refused.
 */
const FIXED_ZONES: Readonly<Record<string, number>> = {
  UT: 0,
  UTC: 0,
  GMT: 0,
  Z: 0,
  EST: -5 * 60,
  EDT: -4 * 60,
  CST: -6 * 60,
  CDT: -5 * 60,
  MST: -7 * 60,
  MDT: -6 * 60,
  PST: -8 * 60,
  PDT: -7 * 60,
  CEST: 2 * 60,
  EEST: 3 * 60,
  WEST: 1 * 60,
  MEST: 2 * 60,
};
const IANA_ABBREVIATIONS = new Set(["CET", "EET", "WET", "MET"]);

/** A zone named in a date or in config: a fixed abbreviation, an offset, or an IANA zone. */
export function zoneFor(name: string): Zone | undefined {
  const upper = name.toUpperCase();
  const fixed = FIXED_ZONES[upper];
  if (fixed !== undefined) return FixedOffsetZone.instance(fixed);
  if (IANA_ABBREVIATIONS.has(upper)) return IANAZone.create(upper);
  const offset = /^(?:UTC|GMT)?([+-])(\d{1,2})(?::?(\d{2}))?$/i.exec(name);
  if (offset) {
    const minutes = Number(offset[2]) * 60 + Number(offset[3] ?? "0");
    return minutes <= 18 * 60 ? FixedOffsetZone.instance(offset[1] === "-" ? -minutes : minutes) : undefined;
  }
  // Only names with a slash (Europe/Oslo): bare letters like "IST" are abbreviations, not zones.
  if (name.includes("/") && IANAZone.isValidZone(name)) return IANAZone.create(name);
  return undefined;
}

export function isKnownZone(name: string): boolean {
  return zoneFor(name) !== undefined;
}

const MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];

type Parts = { year: number; month: number; day: number; hour: number; minute: number; second: number; millisecond: number };

/** An instant read from a date: its time and its RFC 3339 text in UTC, or why it is no date. */
type Built = { valid: true; millis: number; iso: string } | { valid: false; why: string };

const pad = (n: number, width = 2): string => String(n).padStart(width, "0");

/**
 * Parts in a zone → the instant. A fixed offset (UTC, GMT, "+01:00", the RFC 822 names: most feed
 * dates) is plain arithmetic, the same instant and text luxon gives (a unit test holds them
 * together) at a fraction of its cost (a tenth of a big first poll went to luxon); IANA zones,
 * and parts luxon would refuse (so that its explanation is the one given), go through luxon.
 */
function build(parts: Parts, zone: Zone): Built {
  const { year, month, day, hour, minute, second, millisecond } = parts;
  if (zone.isUniversal && year >= 1000 && year <= 9999 && isCalendarDay(year, month, day) && hour <= 23 && minute <= 59 && second <= 59 && millisecond <= 999) {
    const millis = Date.UTC(year, month - 1, day, hour, minute, second, millisecond) - zone.offset(0) * 60_000;
    const d = new Date(millis);
    const y = d.getUTCFullYear();
    if (y >= 1000 && y <= 9999) {
      const ms = d.getUTCMilliseconds();
      const iso = `${y}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}T${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}${ms === 0 ? "" : `.${pad(ms, 3)}`}Z`;
      return { valid: true, millis, iso };
    }
  }
  return fromLuxon(DateTime.fromObject(parts, { zone }));
}

function fromLuxon(dt: DateTime): Built {
  if (!dt.isValid) return { valid: false, why: dt.invalidExplanation ?? "out of range" };
  return { valid: true, millis: dt.toMillis(), iso: toRfc3339(dt) };
}

/** "(comment)" after an RFC 822 date, weekday names, commas and "at" say nothing about the instant. */
function tidy(s: string): string {
  return s
    .replace(/\s*\([^)]*\)\s*$/, "")
    .replace(/^(?:mon|tue|wed|thu|fri|sat|sun)[a-z]*\.?,?\s+/i, "")
    .replace(/\s+at\s+/i, " ")
    .replace(/\s+/g, " ")
    .trim();
}

function twoDigitYear(y: number): number {
  // RFC 2822 §4.3: 00-49 are 2000-2049, 50-99 are 1950-1999.
  return y < 50 ? 2000 + y : 1900 + y;
}

/** Splits "… 15:00 GMT" into the zone part (if any) and the rest. */
function splitZone(s: string): { rest: string; zone?: string } {
  const m = /^(.*?)(?:\s*(Z|[+-]\d{2}:?\d{2}|(?:UTC|GMT)[+-]\d{1,2}(?::?\d{2})?|[A-Za-z]{1,5}|[A-Za-z]+\/[A-Za-z_]+(?:\/[A-Za-z_]+)?))$/.exec(s);
  if (!m || m[2] === undefined) return { rest: s };
  // "10:00 pm": the meridiem is part of the time, not a zone.
  if (/^[ap]m$/i.test(m[2])) return { rest: s };
  if (m[1] === undefined || !/(?:\d|\b[ap]m)$/i.test(m[1].trim())) return { rest: s };
  return { rest: m[1].trim(), zone: m[2] };
}

function parseTime(s: string | undefined): { hour: number; minute: number; second: number; millisecond: number } | undefined {
  if (s === undefined || s === "") return { hour: 0, minute: 0, second: 0, millisecond: 0 };
  const m = /^(\d{1,2})(?::?(\d{2}))(?::(\d{2})(?:[.,](\d{1,9}))?)?\s*(am|pm)?$/i.exec(s);
  if (!m) return undefined;
  let hour = Number(m[1]);
  if (m[5]) {
    if (hour < 1 || hour > 12) return undefined;
    hour = (hour % 12) + (m[5].toLowerCase() === "pm" ? 12 : 0);
  }
  return { hour, minute: Number(m[2]), second: Number(m[3] ?? "0"), millisecond: Number((m[4] ?? "").padEnd(3, "0").slice(0, 3)) };
}

type Attempt = { kind: "parsed"; at: Built } | { kind: "refused"; why: string } | { kind: "no" };

function withZone(zoneText: string | undefined, fallback: Zone): { zone: Zone } | { why: string } {
  if (zoneText === undefined) return { zone: fallback };
  const z = zoneFor(zoneText);
  return z ? { zone: z } : { why: `the zone "${zoneText}" is ambiguous or unknown: use an offset (+01:00), UTC, or an IANA name like Europe/Oslo` };
}

/** ISO-like: 2026-11-28[T ]10:00[:00[.5]] [zone]. */
function isoLike(s: string, fallback: Zone): Attempt {
  const { rest, zone } = splitZone(s);
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](.+))?$/i.exec(rest);
  if (!m) return { kind: "no" };
  const time = parseTime(m[4]);
  if (!time) return { kind: "no" };
  const z = withZone(zone, fallback);
  if ("why" in z) return { kind: "refused", why: z.why };
  return { kind: "parsed", at: build({ year: Number(m[1]), month: Number(m[2]), day: Number(m[3]), ...time }, z.zone) };
}

/** RFC 822 / 1123 and friends: "28 Nov 2026 10:00:00 GMT", "Nov 28, 2026 10:00 UTC", "03 Apr 02 1500 GMT". */
function wordMonth(s: string, fallback: Zone): Attempt {
  const { rest, zone } = splitZone(s);
  const dayFirst = /^(\d{1,2})[ -]([A-Za-z]{3,9})\.?[ -](\d{2,4})(?:[ T,]+(.+))?$/.exec(rest);
  const monthFirst = /^([A-Za-z]{3,9})\.? (\d{1,2})(?:st|nd|rd|th)?,? (\d{4})(?:[ T,]+(.+))?$/.exec(rest);
  const noYear = /^(?:\d{1,2} [A-Za-z]{3,9}|[A-Za-z]{3,9}\.? \d{1,2}(?:st|nd|rd|th)?),? \d{1,2}:\d{2}/.test(rest);
  const m = dayFirst ? { day: dayFirst[1], month: dayFirst[2], year: dayFirst[3], time: dayFirst[4] } : monthFirst ? { day: monthFirst[2], month: monthFirst[1], year: monthFirst[3], time: monthFirst[4] } : undefined;
  if (!m) return noYear ? { kind: "refused", why: "it has no year (give the rule a \"date\" \"format\" with one, or map another field)" } : { kind: "no" };
  const month = MONTHS.indexOf((m.month ?? "").slice(0, 3).toLowerCase()) + 1;
  if (month === 0) return { kind: "no" };
  const time = parseTime(m.time);
  if (!time) return { kind: "no" };
  const z = withZone(zone, fallback);
  if ("why" in z) return { kind: "refused", why: z.why };
  const yearText = m.year ?? "";
  const year = yearText.length === 2 ? twoDigitYear(Number(yearText)) : Number(yearText);
  return { kind: "parsed", at: build({ year, month, day: Number(m.day), ...time }, z.zone) };
}

/** 28/11/2026, 11/28/2026, 02.12.2026, 2026/11/28 with an optional time. */
function numeric(s: string, fallback: Zone, dayFirst: boolean | undefined): Attempt {
  const { rest, zone } = splitZone(s);
  const ymd = /^(\d{4})[/.](\d{1,2})[/.](\d{1,2})(?:[ T,]+(.+))?$/.exec(rest);
  const dmy = /^(\d{1,2})([/.-])(\d{1,2})\2(\d{4}|\d{2})(?:[ T,]+(.+))?$/.exec(rest);
  let parts: { year: number; month: number; day: number; time: string | undefined } | undefined;
  if (ymd) parts = { year: Number(ymd[1]), month: Number(ymd[2]), day: Number(ymd[3]), time: ymd[4] };
  else if (dmy) {
    const a = Number(dmy[1]);
    const b = Number(dmy[3]);
    const yearText = dmy[4] ?? "";
    const year = yearText.length === 2 ? twoDigitYear(Number(yearText)) : Number(yearText);
    let first: boolean | undefined = dayFirst;
    if (first === undefined) {
      if (a > 12 && b <= 12) first = true;
      else if (b > 12 && a <= 12) first = false;
      else if (a === b) first = true;
      else return { kind: "refused", why: `day and month cannot be told apart (${a} and ${b}): set "dayFirst" on the rule or the feed` };
    }
    parts = first ? { year, month: b, day: a, time: dmy[5] } : { year, month: a, day: b, time: dmy[5] };
  }
  if (!parts) return { kind: "no" };
  const time = parseTime(parts.time);
  if (!time) return { kind: "no" };
  const z = withZone(zone, fallback);
  if ("why" in z) return { kind: "refused", why: z.why };
  return { kind: "parsed", at: build({ year: parts.year, month: parts.month, day: parts.day, ...time }, z.zone) };
}

function byFormats(s: string, formats: readonly string[], fallback: Zone): Attempt {
  for (const format of formats) {
    // A format without a year would let luxon fill in the current one: a guess.
    if (!/y/.test(format.replace(/'[^']*'/g, ""))) return { kind: "refused", why: `the format "${format}" has no year (y, yy or yyyy)` };
    const dt = DateTime.fromFormat(s, format, { zone: fallback, setZone: true });
    if (dt.isValid) return { kind: "parsed", at: fromLuxon(dt) };
  }
  return { kind: "no" };
}

/**
 * "2026-11-28 10:00 UTC" (seconds, a T, GMT for UTC): the commonest date of NOC feeds that is not
 * RFC 3339, read straight into its parts. `isoLike` reads it the same way (the same parts, the same
 * `build`; a test holds them together) after `tidy` and three patterns, ≈5 µs a date.
 */
const PLAIN_UTC = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2}))? ?(?:UTC|GMT)$/;

function plainUtc(s: string): Built | undefined {
  const m = PLAIN_UTC.exec(s);
  if (!m) return undefined;
  const [, year, month, day, hour, minute, second] = m;
  return build({ year: Number(year), month: Number(month), day: Number(day), hour: Number(hour), minute: Number(minute), second: Number(second ?? "0"), millisecond: 0 }, FixedOffsetZone.utcInstance);
}

const toRfc3339 = (dt: DateTime): string => dt.toUTC().toISO({ suppressMilliseconds: true }) ?? "";

/**
 * Reads one date. RFC 3339 input is kept as given; anything else becomes UTC RFC 3339. Dates
 * before 2000 or more than a year after `now` are kept with a warning: more often a misread or a
 * placeholder ("1970-01-01", "2099-12-31") than a real ticket time.
 */
export function readDate(value: string, options: DateOptions, now: Date): Result<ReadDate, string> {
  const trimmed = value.trim();
  if (trimmed === "") return err("is empty");
  const fallback = options.zone === undefined ? FixedOffsetZone.utcInstance : zoneFor(options.zone);
  if (fallback === undefined) return err(`the configured zone "${options.zone ?? ""}" is not known`);

  let millis: number | undefined;
  let out: string | undefined;
  const attempts: Attempt[] = [];
  if (options.format && options.format.length > 0) attempts.push(byFormats(trimmed, options.format, fallback));
  const strict = datetimeToMillis(trimmed);
  const plain = strict === undefined && attempts.length === 0 ? plainUtc(trimmed) : undefined;
  if (strict !== undefined && attempts.every((a) => a.kind === "no")) {
    millis = strict;
    out = trimmed;
  } else if (plain) {
    if (!plain.valid) return err(`is not a valid date (${plain.why})`);
    millis = plain.millis;
    out = plain.iso;
  } else {
    const tidied = tidy(trimmed);
    for (const attempt of [() => isoLike(tidied, fallback), () => wordMonth(tidied, fallback), () => numeric(tidied, fallback, options.dayFirst)]) {
      if (attempts.some((a) => a.kind !== "no")) break;
      attempts.push(attempt());
    }
    const found = attempts.find((a) => a.kind !== "no");
    if (found === undefined) return err("is not a date and time this bot can read without guessing (give the rule a \"date\" \"format\")");
    if (found.kind === "refused") return err(found.why);
    if (found.kind !== "parsed" || !found.at.valid) return err(`is not a valid date (${found.kind === "parsed" && !found.at.valid ? found.at.why : ""})`);
    millis = found.at.millis;
    out = found.at.iso;
  }
  if (out === "" || millis === undefined) return err("is not a valid date");
  const warning =
    millis < EARLIEST
      ? `${out} is before 2000: check the feed or the rule`
      : millis > now.getTime() + YEAR_MS
        ? `${out} is more than a year ahead: check the feed or the rule`
        : undefined;
  return ok(warning ? { value: out, warning } : { value: out });
}
