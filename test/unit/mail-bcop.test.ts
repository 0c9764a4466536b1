import { test } from "node:test";
import assert from "node:assert/strict";
import { MailSourceConfig } from "../../config/schema.js";
import { parseBcopCalendar, worstImpact } from "../../src/sources/mail/bcop.js";
import { bcopEventToVersion, bcopTicketStatus } from "../../src/sources/mail/bcop-ticket.js";
import type { Ticket } from "../../src/model/ticket.js";
import { bcopCalendar, bcopEvent } from "../fixtures/mail.js";

const source = MailSourceConfig.parse({
  id: "nordlink-mail",
  maildir: "/tmp/unused",
  senders: [{ name: "Nordlink", match: { from: ["*@nordlink.example"] }, partnerId: "NORDLINK", bcop: { providers: ["nordlink.example"], service: "Lambda Stockholm" } }],
});
const sender = source.senders[0]!;

function parseOne(lines: string[]) {
  const r = parseBcopCalendar(bcopCalendar(lines));
  assert.ok(r.ok, JSON.stringify(r));
  return r.value;
}

void test("a BCOP VEVENT is read with its objects, impacts, window, sequence and stamp (UTC)", () => {
  const cal = parseOne(bcopEvent({ sequence: 3 }));
  assert.deepEqual(cal.problems, []);
  const [e] = cal.events;
  assert.ok(e);
  assert.equal(e.provider, "nordlink.example");
  assert.equal(e.maintenanceId, "NL-MW-4711");
  assert.equal(e.status, "CONFIRMED");
  assert.equal(e.sequence, 3);
  assert.equal(e.stamp, "2026-11-20T09:00:00Z");
  assert.equal(e.start, "2026-12-01T01:00:00Z");
  assert.equal(e.end, "2026-12-01T05:00:00Z");
  assert.deepEqual(e.objects, [
    { id: "NL-CIR-1001", impact: "OUTAGE" },
    { id: "NL-CIR-1002", impact: "REDUCED-REDUNDANCY" },
  ]);
  assert.deepEqual(e.organizer, { name: "Nordlink NOC", address: "maint@nordlink.example" });
});

void test("times in a VTIMEZONE of the calendar, in a bare IANA TZID, floating and all-day are converted to UTC", () => {
  const vtimezone = [
    "BEGIN:VTIMEZONE",
    "TZID:Nordic Standard",
    "BEGIN:STANDARD",
    "DTSTART:19701025T030000",
    "RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU",
    "TZOFFSETFROM:+0200",
    "TZOFFSETTO:+0100",
    "END:STANDARD",
    "BEGIN:DAYLIGHT",
    "DTSTART:19700329T020000",
    "RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU",
    "TZOFFSETFROM:+0100",
    "TZOFFSETTO:+0200",
    "END:DAYLIGHT",
    "END:VTIMEZONE",
  ];
  const rows: [string, string, string][] = [
    ["DTSTART;TZID=Nordic Standard:20260701T060000", "DTEND;TZID=Nordic Standard:20261201T020000", "summer +02, winter +01 from the VTIMEZONE"],
    ["DTSTART;TZID=Europe/Helsinki:20260701T060000", "DTEND;TZID=Europe/Helsinki:20261201T020000", "IANA zone not defined in the calendar"],
  ];
  const expected: [string, string][] = [
    ["2026-07-01T04:00:00Z", "2026-12-01T01:00:00Z"],
    ["2026-07-01T03:00:00Z", "2026-12-01T00:00:00Z"],
  ];
  rows.forEach(([start, end, label], i) => {
    const r = parseBcopCalendar(["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//t//EN", ...vtimezone, ...bcopEvent({ omit: ["DTSTART", "DTEND"], extra: [start, end] }), "END:VCALENDAR"].join("\r\n"));
    assert.ok(r.ok);
    assert.deepEqual([r.value.events[0]?.start, r.value.events[0]?.end], expected[i], label);
  });
  const floating = parseOne(bcopEvent({ omit: ["DTSTART", "DTEND"], extra: ["DTSTART:20261201T020000", "DTEND;VALUE=DATE:20261202"] }));
  assert.deepEqual([floating.events[0]?.start, floating.events[0]?.end], ["2026-12-01T02:00:00Z", "2026-12-02T00:00:00Z"]);
});

void test("missing and wrong BCOP fields are named per VEVENT; a VEVENT without X-MAINTNOTE is not a maintenance", () => {
  const r = parseBcopCalendar(
    bcopCalendar(
      bcopEvent({ omit: ["X-MAINTNOTE-MAINTENANCE-ID", "DTSTART"] }),
      bcopEvent({ maintenanceId: "B", status: "POSTPONED" }),
      bcopEvent({ maintenanceId: "C", omit: ["DTEND"], extra: ["TZTEST:1", "DTEND;TZID=Mars/Olympus:20261201T050000"] }),
      ["BEGIN:VEVENT", "UID:party@x", "DTSTAMP:20261120T090000Z", "DTSTART:20261201T010000Z", "SUMMARY:Christmas party", "END:VEVENT"],
      bcopEvent({ maintenanceId: "D", start: "2026-12-01T05:00:00Z", end: "2026-12-01T01:00:00Z" }),
      bcopEvent({ maintenanceId: "E", omit: ["DTSTART"], extra: ["DTSTART;TZID=Europe/Oslo:20260230T010000"] }),
    ),
  );
  assert.ok(r.ok);
  assert.equal(r.value.events.length, 0);
  assert.equal(r.value.plainEvents, 1);
  const messages = r.value.problems.map((p) => `${p.event}: ${p.message}`);
  assert.deepEqual(messages, [
    "0: X-MAINTNOTE-MAINTENANCE-ID is missing",
    "0: DTSTART is missing",
    '1: X-MAINTNOTE-STATUS "POSTPONED" is not one of TENTATIVE, CONFIRMED, CANCELLED, IN-PROCESS, COMPLETED',
    '2: DTEND uses time zone "Mars/Olympus", which the calendar does not define',
    "2: DTEND is missing",
    "4: DTEND is before DTSTART",
    "5: DTSTART 2026-02-30 is not a day of the calendar",
    "5: DTSTART is missing",
  ]);
});

void test("text that is not iCalendar is a bad-icalendar problem, not a crash", () => {
  for (const text of ["hello", "BEGIN:VCALENDAR\r\nnot a line\r\nEND:VCALENDAR", "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\n"]) {
    const r = parseBcopCalendar(text);
    assert.equal(r.ok, false, text);
    if (!r.ok) assert.equal(r.error.code, "bad-icalendar");
  }
});

void test("unknown impact values count as OUTAGE; the overall impact falls back to the worst object", () => {
  const e = parseOne(bcopEvent({ impact: "SOMETHING", objects: [{ id: "x", impact: "WEIRD" }, { id: "y" }] })).events[0];
  assert.equal(e?.impact, "OUTAGE");
  assert.deepEqual(e?.objects, [
    { id: "x", impact: "OUTAGE" },
    { id: "y", impact: "OUTAGE" },
  ]);
  const fallback = parseOne(bcopEvent({ omit: ["X-MAINTNOTE-IMPACT"], objects: [{ id: "a", impact: "NO-IMPACT" }, { id: "b", impact: "DEGRADED" }] })).events[0];
  assert.equal(fallback?.impact, "DEGRADED");
  assert.equal(worstImpact([]), undefined);
});

void test("BCOP status → RFC 6137 TT_Status", () => {
  const open = { TT_Status: "Updated" } as Ticket;
  const cancelled = { TT_Status: "Cancelled" } as Ticket;
  const rows: [Parameters<typeof bcopTicketStatus>[0], Ticket | undefined, string][] = [
    ["TENTATIVE", undefined, "Opened"],
    ["CONFIRMED", undefined, "Opened"],
    ["IN-PROCESS", undefined, "Opened"],
    ["CONFIRMED", open, "Updated"],
    ["IN-PROCESS", open, "Updated"],
    ["CONFIRMED", cancelled, "Reopened"],
    ["COMPLETED", open, "Closed"],
    ["CANCELLED", open, "Cancelled"],
    ["CANCELLED", undefined, "Cancelled"],
  ];
  for (const [status, known, expected] of rows) assert.equal(bcopTicketStatus(status, known), expected, `${status} known=${known?.TT_Status}`);
});

void test("a BCOP event becomes a Scheduled ticket: maintenance id, partner, circuits, window, impact; ordered by SEQUENCE then DTSTAMP", () => {
  const e = parseOne(bcopEvent({ sequence: 2 })).events[0]!;
  const v = bcopEventToVersion(e, { sourceId: "nordlink-mail", sender, known: () => undefined, messageId: "m1@x" });
  assert.ok(v.ok, JSON.stringify(v));
  const t = v.value.ticket;
  assert.equal(t.TT_ID, "NORDLINK_NL-MW-4711");
  assert.equal(t.Type, "Scheduled");
  assert.equal(t.TT_Status, "Opened");
  assert.equal(t.TT_Impact_Assessment, "No connectivity");
  assert.equal(t.Time_Window_Start, "2026-12-01T01:00:00Z");
  assert.equal(t.Time_Window_End, "2026-12-01T05:00:00Z");
  assert.equal(t.Start_Datetime, "2026-12-01T01:00:00Z");
  assert.deepEqual(t.Network_Link_Circuit, ["NL-CIR-1001", "NL-CIR-1002"]);
  assert.match(t.Additional_Data ?? "", /Objects: NL-CIR-1001: OUTAGE, NL-CIR-1002: REDUCED-REDUNDANCY/);
  assert.equal(t.Affected_Service, "Lambda Stockholm");
  assert.equal(t.TT_Close_Datetime, undefined);
  assert.deepEqual(v.value.provenance, { source: "nordlink-mail", item: "m1@x", published: "2026-11-20T09:00:00Z", sequence: 2 });
  assert.equal(v.value.ordered, true);
  assert.deepEqual(v.value.keepFirst, ["TT_Open_Datetime"]);
});

void test("CANCELLED and COMPLETED close the ticket with times RFC 6137 requires of a final state", () => {
  const cancelled = parseOne(bcopEvent({ status: "CANCELLED", sequence: 4, stamp: "2026-11-25T12:00:00Z" })).events[0]!;
  const c = bcopEventToVersion(cancelled, { sourceId: "m", sender, known: () => undefined });
  assert.ok(c.ok);
  assert.equal(c.value.ticket.TT_Status, "Cancelled");
  assert.equal(c.value.ticket.TT_Close_Datetime, "2026-11-25T12:00:00Z");
  assert.equal(c.value.ticket.End_Datetime, "2026-11-25T12:00:00Z");
  assert.match(c.value.ticket.History, /CANCELLED \(sequence 4\)/);
  const done = parseOne(bcopEvent({ status: "COMPLETED", sequence: 5, stamp: "2026-12-01T04:10:00Z" })).events[0]!;
  const d = bcopEventToVersion(done, { sourceId: "m", sender, known: () => undefined });
  assert.ok(d.ok);
  assert.equal(d.value.ticket.TT_Status, "Closed");
  assert.equal(d.value.ticket.End_Datetime, "2026-12-01T04:10:00Z", "completed inside the window: that is when the work ended");
});

void test("a provider the sender may not speak for is refused with its name", () => {
  const e = parseOne(bcopEvent({ provider: "othercarrier.example" })).events[0]!;
  const v = bcopEventToVersion(e, { sourceId: "m", sender, known: () => undefined });
  assert.equal(v.ok, false);
  if (!v.ok) assert.match(v.error.message, /may not send maintenance notices for provider "othercarrier.example"/);
});
