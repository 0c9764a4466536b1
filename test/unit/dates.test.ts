import { test } from "node:test";
import assert from "node:assert/strict";
import { DateTime } from "luxon";
import { readDate, type DateOptions } from "../../src/translate/dates.js";

const NOW = new Date("2026-11-28T12:00:00Z");

/** Runs `fn` with the process in another time zone: results must not depend on where the bot runs. */
function inTimeZone(tz: string, fn: () => void): void {
  const saved = process.env.TZ;
  process.env.TZ = tz;
  try {
    fn();
  } finally {
    if (saved === undefined) delete process.env.TZ;
    else process.env.TZ = saved;
  }
}

type Case = { name: string; input: [string, DateOptions?]; expected: string | { error: RegExp } };

const cases: Case[] = [
  { name: "RFC 3339 kept as given", input: ["2026-11-28T10:00:00+01:00"], expected: "2026-11-28T10:00:00+01:00" },
  { name: "RFC 3339 with millis kept", input: ["2026-11-28T10:00:00.000Z"], expected: "2026-11-28T10:00:00.000Z" },
  { name: "RFC 822 GMT", input: ["Sat, 28 Nov 2026 10:00:00 GMT"], expected: "2026-11-28T10:00:00Z" },
  { name: "RFC 822 numeric offset", input: ["Sat, 28 Nov 2026 10:00:00 +0100"], expected: "2026-11-28T09:00:00Z" },
  { name: "RFC 822 EST", input: ["Sat, 28 Nov 2026 10:00:00 EST"], expected: "2026-11-28T15:00:00Z" },
  { name: "RFC 822 with a comment", input: ["Sat, 28 Nov 2026 10:00:00 +0000 (UTC)"], expected: "2026-11-28T10:00:00Z" },
  { name: "RFC 822 2-digit year, time without colon keeps the time", input: ["03 Apr 02 1500 GMT"], expected: "2002-04-03T15:00:00Z" },
  { name: "RFC 822 without zone: UTC", input: ["Sat, 28 Nov 2026 10:00:00"], expected: "2026-11-28T10:00:00Z" },
  { name: "RFC 822 without zone, feed zone", input: ["Sat, 28 Nov 2026 10:00:00", { zone: "Europe/Oslo" }], expected: "2026-11-28T09:00:00Z" },
  { name: "CET is a zone", input: ["2026-11-28 10:00 CET"], expected: "2026-11-28T09:00:00Z" },
  { name: "CET in summer follows its IANA rules", input: ["2026-07-01 10:00 CET"], expected: "2026-07-01T08:00:00Z" },
  { name: "CEST fixed +02:00", input: ["2026-07-01 10:00 CEST"], expected: "2026-07-01T08:00:00Z" },
  { name: "IANA zone name in the value", input: ["2026-11-28 10:00 Europe/Athens"], expected: "2026-11-28T08:00:00Z" },
  { name: "NOC style UTC", input: ["2026-11-28 10:00 UTC"], expected: "2026-11-28T10:00:00Z" },
  { name: "ISO without zone, rule zone", input: ["2026-11-28T10:00:00", { zone: "America/New_York" }], expected: "2026-11-28T15:00:00Z" },
  { name: "ISO with fraction", input: ["2026-11-28T10:00:00.5"], expected: "2026-11-28T10:00:00.500Z" },
  { name: "date only", input: ["2026-11-28"], expected: "2026-11-28T00:00:00Z" },
  { name: "month name first", input: ["Nov 28, 2026 10:00 PM UTC"], expected: "2026-11-28T22:00:00Z" },
  { name: "unambiguous day first", input: ["28/11/2026 10:00"], expected: "2026-11-28T10:00:00Z" },
  { name: "unambiguous month first", input: ["11/28/2026 10:00"], expected: "2026-11-28T10:00:00Z" },
  { name: "UK date with dayFirst", input: ["01/11/2011", { dayFirst: true }], expected: "2011-11-01T00:00:00Z" },
  { name: "US date with dayFirst false", input: ["01/11/2011", { dayFirst: false }], expected: "2011-01-11T00:00:00Z" },
  { name: "dotted date with dayFirst", input: ["02.12.2026 14:30", { dayFirst: true }], expected: "2026-12-02T14:30:00Z" },
  { name: "per-rule format", input: ["28-11-2026 @ 10h00", { format: ["dd-MM-yyyy '@' HH'h'mm"], zone: "Europe/Oslo" }], expected: "2026-11-28T09:00:00Z" },
  { name: "per-rule format with a zone token", input: ["2026.11.28 10:00 Europe/Oslo", { format: ["yyyy.MM.dd HH:mm z"] }], expected: "2026-11-28T09:00:00Z" },
  { name: "ISO with an offset without colon", input: ["2026-11-28T10:00:00+0100"], expected: "2026-11-28T09:00:00Z" },
  { name: "day month-name year", input: ["28 November 2026 10:00"], expected: "2026-11-28T10:00:00Z" },
  { name: "ambiguous numeric date", input: ["01/11/2011"], expected: { error: /day and month cannot be told apart/ } },
  { name: "ambiguous dotted date", input: ["02.12.2026"], expected: { error: /dayFirst/ } },
  { name: "Statuspage style without a year", input: ["Jun 12, 22:49 UTC"], expected: { error: /no year/ } },
  { name: "ambiguous zone abbreviation", input: ["2026-11-28 10:00 IST"], expected: { error: /zone "IST" is ambiguous/ } },
  { name: "format without year refused", input: ["Jun 12, 22:49", { format: ["LLL d, HH:mm"] }], expected: { error: /no year/ } },
  { name: "words", input: ["tomorrow morning"], expected: { error: /not a date/ } },
  { name: "empty", input: [""], expected: { error: /empty/ } },
  { name: "impossible day", input: ["2026-02-30 10:00 UTC"], expected: { error: /not a valid date/ } },
  { name: "unknown configured zone", input: ["2026-11-28 10:00", { zone: "Mars/Olympus" }], expected: { error: /configured zone/ } },
];

void test("readDate: each form, wherever the bot runs", () => {
  for (const tz of ["UTC", "Europe/Athens", "America/Los_Angeles", "Pacific/Chatham"]) {
    inTimeZone(tz, () => {
      for (const { name, input, expected } of cases) {
        const r = readDate(input[0], input[1] ?? {}, NOW);
        if (typeof expected === "string") assert.deepEqual(r, { ok: true, value: { value: expected } }, `${name} (TZ=${tz})`);
        else {
          assert.equal(r.ok, false, `${name} (TZ=${tz}): ${JSON.stringify(r)}`);
          if (!r.ok) assert.match(r.error, expected.error, name);
        }
      }
    });
  }
});

void test("readDate: dates before 2000 or more than a year ahead are kept, with a warning", () => {
  const cases: { input: string; expected: RegExp | undefined }[] = [
    { input: "1970-01-01T00:00:00Z", expected: /before 2000/ },
    { input: "Mon, 01 Jan 1990 00:00:00 GMT", expected: /before 2000/ },
    { input: "2099-12-31T00:00:00Z", expected: /more than a year ahead/ },
    { input: "2027-11-01T00:00:00Z", expected: undefined },
    { input: "2000-01-01T00:00:00Z", expected: undefined },
  ];
  for (const { input, expected } of cases) {
    const r = readDate(input, {}, NOW);
    assert.ok(r.ok, input);
    if (expected) assert.match(r.value.warning ?? "", expected, input);
    else assert.equal(r.value.warning, undefined, input);
  }
});

void test("readDate: fixed-offset dates (worked out by hand) give exactly luxon's instant and text; impossible ones luxon's reason", () => {
  // Deterministic spread of parts over the calendar, fixed zones and edge values.
  let s = 7;
  const next = (n: number): number => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s % n;
  };
  const zones = ["UTC", "GMT", "Z", "+01:00", "-05:30", "+14:00", "-12:00", "EST", "PDT", "CEST", "+0545"];
  for (let i = 0; i < 3000; i++) {
    const year = [1999, 2000, 2024, 2026, 2100, 9999, 1000][next(7)] ?? 2026;
    const month = 1 + next(12);
    const day = 1 + next(31);
    const [hour, minute, second] = [next(24), next(60), next(60)];
    const ms = [0, 5, 500, 999][next(4)] ?? 0;
    const zone = zones[next(zones.length)] ?? "UTC";
    const text = `${year}-${String(month).padStart(2, "0")}-${String(day).padStart(2, "0")} ${String(hour).padStart(2, "0")}:${String(minute).padStart(2, "0")}:${String(second).padStart(2, "0")}.${String(ms).padStart(3, "0")} ${zone}`;
    const offset = /^[+-]/.test(zone) ? zone : undefined;
    const luxonZone = offset ? `UTC${offset.length === 5 ? `${offset.slice(0, 3)}:${offset.slice(3)}` : offset}` : { EST: "UTC-5", PDT: "UTC-7", CEST: "UTC+2" }[zone] ?? "UTC";
    const dt = DateTime.fromObject({ year, month, day, hour, minute, second, millisecond: ms }, { zone: luxonZone });
    const got = readDate(text, {}, NOW);
    if (!dt.isValid) {
      assert.ok(!got.ok && got.error.includes(dt.invalidExplanation ?? "?"), `${text}: ${JSON.stringify(got)}`);
      continue;
    }
    assert.ok(got.ok, `${text}: ${JSON.stringify(got)}`);
    const iso = dt.toUTC().toISO({ suppressMilliseconds: true });
    if (dt.toUTC().year < 1000 || dt.toUTC().year > 9999) continue; // luxon writes those with a sign; not a feed's date
    assert.equal(got.value.value, iso, text);
  }
});

void test("readDate: the direct reading of \"2026-11-28 10:00 UTC\" gives what the general one does", () => {
  // A trailing "(comment)" is tidied away before the general reading, and keeps the direct one out.
  let s = 11;
  const next = (n: number): number => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s % n;
  };
  const two = (n: number): string => String(n).padStart(2, "0");
  let direct = 0;
  for (let i = 0; i < 3000; i++) {
    const year = [1999, 2000, 2026, 2030, 9999, 1000, 999][next(7)] ?? 2026;
    const [month, day, hour, minute, second] = [next(14), next(33), next(26), next(61), next(61)];
    const sep = ["T", " "][next(2)] ?? " ";
    const zone = ["UTC", " UTC", " GMT", "GMT", " utc", " Z", " CET", ""][next(8)] ?? " UTC";
    const time = next(2) === 0 ? `${two(hour)}:${two(minute)}` : `${two(hour)}:${two(minute)}:${two(second)}`;
    const text = `${String(year).padStart(4, "0")}-${two(month)}-${two(day)}${sep}${time}${zone}`;
    const general = readDate(`${text} (as written)`, {}, NOW);
    assert.deepEqual(readDate(text, {}, NOW), general, text);
    if (/^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2})? ?(UTC|GMT)$/.test(text)) direct++;
  }
  assert.ok(direct > 1000, `only ${direct} read directly`);
});
