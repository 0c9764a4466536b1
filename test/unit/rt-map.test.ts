import { test } from "node:test";
import assert from "node:assert/strict";
import { TicketStatuses, type TicketStatus } from "../../src/model/ticket.js";
import {
  DefaultTtStatusToRt,
  RtMappingSchema,
  RtStatuses,
  rtStatusToTtStatus,
  rtTicketFields,
  rtToTicket,
  ticketChangesToRt,
  ticketSqlDatetime,
  ticketSqlString,
  ttStatusToRtStatus,
  updatedSinceQuery,
  type RtMapping,
  type RtTicket,
} from "../../src/ticket-systems/rt/map.js";

const mapping = (input: Record<string, unknown> = {}): RtMapping => RtMappingSchema.parse({ partnerId: "GRNET", ...input });

const rtTicket = (overrides: Partial<RtTicket> = {}): RtTicket => ({
  id: 5985,
  queueId: 3,
  subject: "Forth Link Failure",
  status: "new",
  owner: "Nobody",
  creator: "ttrelay-bot",
  created: "2026-11-28T10:01:15Z",
  lastUpdated: "2026-11-28T10:05:00Z",
  customFields: {},
  ...overrides,
});

/** Defaults for the NTTDM fields RT knows nothing about. */
const nocDefaults = {
  TT_Type: "Operational",
  TT_Short_Description: "Core Line Fault",
  Type: "Unscheduled",
  TT_Impact_Assessment: "No connectivity",
  Location: "HERAKLION",
  Start_Datetime: "2026-11-28T09:55:00Z",
};

void test("RT statuses map to TT_Status by default, overridable, unknown ones undefined", () => {
  const cases: [status: string, map: Record<string, string>, expected: TicketStatus | undefined][] = [
    ["new", {}, "Opened"],
    ["open", {}, "Updated"],
    ["stalled", {}, "Updated"],
    ["resolved", {}, "Closed"],
    ["rejected", {}, "Cancelled"],
    ["deleted", {}, "Cancelled"],
    ["resolved", { resolved: "Solved" }, "Solved"],
    ["stalled", { stalled: "Inactive" }, "Inactive"],
    ["monitoring", { monitoring: "Solved" }, "Solved"], // a custom lifecycle's status
    ["monitoring", {}, undefined],
    ["constructor", {}, undefined], // not an inherited property
    ["", {}, undefined],
  ];
  for (const [status, statusMap, expected] of cases) {
    assert.equal(rtStatusToTtStatus(status, mapping({ statusMap })), expected, `${status} with ${JSON.stringify(statusMap)}`);
  }
  // Every RT default status is covered.
  for (const s of RtStatuses) assert.ok(rtStatusToTtStatus(s, mapping()) !== undefined, s);
});

void test("the RT ticket's own fields: identity, title, times, status, close time only when final", () => {
  const cases: { name: string; t: Partial<RtTicket>; previous?: TicketStatus; expect: Record<string, unknown> }[] = [
    {
      name: "new ticket",
      t: {},
      expect: { TT_Status: "Opened", TT_Close_Datetime: undefined },
    },
    {
      name: "resolved: close time is Resolved",
      t: { status: "resolved", resolved: "2026-11-28T11:00:00Z" },
      expect: { TT_Status: "Closed", TT_Close_Datetime: "2026-11-28T11:00:00Z" },
    },
    {
      name: "rejected without Resolved: close time falls back to LastUpdated",
      t: { status: "rejected" },
      expect: { TT_Status: "Cancelled", TT_Close_Datetime: "2026-11-28T10:05:00Z" },
    },
    {
      name: "reopened in RT after a reported Closed",
      t: { status: "open", resolved: "2026-11-28T11:00:00Z" },
      previous: "Closed",
      expect: { TT_Status: "Reopened", TT_Close_Datetime: undefined },
    },
    {
      name: "reopened after Solved",
      t: { status: "new" },
      previous: "Solved",
      expect: { TT_Status: "Reopened" },
    },
    {
      name: "an update after Opened is just Updated",
      t: { status: "open" },
      previous: "Opened",
      expect: { TT_Status: "Updated" },
    },
    {
      name: "still closed after Closed",
      t: { status: "resolved", resolved: "2026-11-28T11:00:00Z" },
      previous: "Closed",
      expect: { TT_Status: "Closed" },
    },
  ];
  for (const c of cases) {
    const { fields, issues } = rtTicketFields(rtTicket(c.t), mapping(), c.previous);
    assert.deepEqual(issues, [], c.name);
    assert.equal(fields.Partner_ID, "GRNET", c.name);
    assert.equal(fields.Original_ID, "5985", c.name);
    assert.equal(fields.TT_ID, "GRNET_5985", c.name);
    assert.equal(fields.TT_Title, "Forth Link Failure", c.name);
    assert.equal(fields.TT_Open_Datetime, "2026-11-28T10:01:15Z", c.name);
    assert.equal(fields.TT_Last_Update_Time, "2026-11-28T10:05:00Z", c.name);
    for (const [key, want] of Object.entries(c.expect)) {
      assert.deepEqual((fields as Record<string, unknown>)[key], want, `${c.name}: ${key}`);
    }
  }
});

void test("an unknown RT status is an issue, not a guess", () => {
  const { fields, issues } = rtTicketFields(rtTicket({ status: "monitoring" }), mapping());
  assert.equal(fields.TT_Status, undefined);
  assert.deepEqual(issues, [{ field: "TT_Status", message: 'RT status "monitoring" is not in the status map' }]);
});

void test("custom fields feed NTTDM fields: lists take all values, others one", () => {
  const m = mapping({
    customFields: { "NOC-Ref": "Related_External_Tickets", Node: "Network_Node", Site: "Location", Impact: "TT_Impact_Assessment" },
  });
  const cases: { name: string; cfs: Record<string, string[]>; fields: Record<string, unknown>; issues: number }[] = [
    { name: "none set", cfs: {}, fields: { Related_External_Tickets: undefined, Location: undefined }, issues: 0 },
    { name: "empty values skipped", cfs: { Site: ["", " "], Node: [] }, fields: { Location: undefined, Network_Node: undefined }, issues: 0 },
    { name: "list field", cfs: { "NOC-Ref": ["A-1", "B-2"] }, fields: { Related_External_Tickets: ["A-1", "B-2"] }, issues: 0 },
    { name: "scalar field", cfs: { Site: ["HERAKLION"], Impact: ["At risk"] }, fields: { Location: "HERAKLION", TT_Impact_Assessment: "At risk" }, issues: 0 },
    { name: "scalar with two values: first, and an issue", cfs: { Site: ["ATHENS", "PATRAS"] }, fields: { Location: "ATHENS" }, issues: 1 },
    { name: "unmapped custom field ignored", cfs: { Other: ["x"] }, fields: { Other: undefined }, issues: 0 },
  ];
  for (const c of cases) {
    const { fields, issues } = rtTicketFields(rtTicket({ customFields: c.cfs }), m);
    assert.equal(issues.length, c.issues, c.name);
    for (const [key, want] of Object.entries(c.fields)) {
      assert.deepEqual((fields as Record<string, unknown>)[key], want, `${c.name}: ${key}`);
    }
  }
  // A custom field mapping wins over the built-in source of the same field.
  const title = rtTicketFields(rtTicket({ customFields: { Title: ["From CF"] } }), mapping({ customFields: { Title: "TT_Title" } }));
  assert.equal(title.fields.TT_Title, "From CF");
});

void test("rtToTicket: defaults fill what RT lacks, the result is validated", () => {
  const m = mapping({ defaults: nocDefaults, customFields: { "NOC-Ref": "Related_External_Tickets" } });

  const opened = rtToTicket(rtTicket({ customFields: { "NOC-Ref": ["X-1"] } }), m);
  if (!opened.ok) assert.fail(JSON.stringify(opened.error));
  assert.equal(opened.value.TT_Status, "Opened");
  assert.equal(opened.value.History, "");
  assert.deepEqual(opened.value.Related_External_Tickets, ["X-1"]);
  assert.equal(opened.value.Location, "HERAKLION");

  // Final: End_Datetime defaults to the close time; History is required (§3.2.6.4).
  const closed = rtToTicket(rtTicket({ status: "resolved", resolved: "2026-11-28T12:00:00Z" }), m, { history: "fixed" });
  if (!closed.ok) assert.fail(JSON.stringify(closed.error));
  assert.equal(closed.value.TT_Close_Datetime, "2026-11-28T12:00:00Z");
  assert.equal(closed.value.End_Datetime, "2026-11-28T12:00:00Z");

  const cases: { name: string; t: Partial<RtTicket>; m: RtMapping; paths: string[] }[] = [
    { name: "Updated without History", t: { status: "open" }, m, paths: ["History"] },
    { name: "no defaults", t: {}, m: mapping(), paths: ["TT_Type", "TT_Short_Description", "Type", "TT_Impact_Assessment", "Location"] /* Start_Datetime: the open time stands in */ },
    { name: "unknown status", t: { status: "monitoring" }, m, paths: ["TT_Status"] },
    { name: "empty subject", t: { subject: "" }, m, paths: ["TT_Title"] },
  ];
  for (const c of cases) {
    const r = rtToTicket(rtTicket(c.t), c.m);
    assert.equal(r.ok, false, c.name);
    if (!r.ok) assert.deepEqual([...new Set(r.error.map((i) => i.path))].sort(), [...c.paths].sort(), c.name);
  }

  // Valid but lossy (two values cut to one) is reported.
  const lossy = rtToTicket(rtTicket({ customFields: { Site: ["A", "B"] } }), mapping({ defaults: nocDefaults, customFields: { Site: "Location" } }));
  assert.equal(lossy.ok, false);
});

void test("TT_Status maps back to an RT status, overridable", () => {
  const expected: Record<TicketStatus, string> = {
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
  for (const s of TicketStatuses) assert.equal(ttStatusToRtStatus(s, mapping()), expected[s], s);
  assert.deepEqual(DefaultTtStatusToRt, expected);
  assert.equal(ttStatusToRtStatus("Inactive", mapping({ reverseStatusMap: { Inactive: "stalled" } })), "stalled");
  // Round trip for the statuses RT's default lifecycle can hold.
  for (const s of RtStatuses.filter((x) => x !== "stalled" && x !== "deleted")) {
    const tt = rtStatusToTtStatus(s, mapping());
    assert.ok(tt);
    assert.equal(ttStatusToRtStatus(tt, mapping()), s, s);
  }
});

void test("NTTDM changes become an RT update: Subject, Status, custom fields; the rest is unmapped", () => {
  const m = mapping({ customFields: { "NOC-Ref": "Related_External_Tickets", Site: "Location" } });
  const cases: { name: string; changes: Record<string, unknown>; update: Record<string, unknown>; unmapped: string[] }[] = [
    { name: "nothing", changes: {}, update: {}, unmapped: [] },
    { name: "title", changes: { TT_Title: "New title" }, update: { Subject: "New title" }, unmapped: [] },
    { name: "status", changes: { TT_Status: "Solved" }, update: { Status: "resolved" }, unmapped: [] },
    {
      name: "custom fields",
      changes: { Related_External_Tickets: ["A-1", "B-2"], Location: "ATHENS" },
      update: { CustomFields: { "NOC-Ref": ["A-1", "B-2"], Site: "ATHENS" } },
      unmapped: [],
    },
    {
      name: "unmapped and identity fields",
      changes: { TT_Priority: "High", TT_ID: "GRNET_1", History: "x", TT_Status: "Cancelled" },
      update: { Status: "rejected" },
      unmapped: ["TT_Priority", "History"],
    },
    { name: "undefined values skipped", changes: { TT_Title: undefined }, update: {}, unmapped: [] },
  ];
  for (const c of cases) {
    const r = ticketChangesToRt(c.changes, m);
    assert.deepEqual(r.update, c.update, c.name);
    assert.deepEqual(r.unmapped, c.unmapped, c.name);
  }
});

void test("RtMappingSchema rejects what cannot work", () => {
  const bad: [name: string, input: Record<string, unknown>][] = [
    ["underscore in partnerId", { partnerId: "GR_NET" }],
    ["empty partnerId", { partnerId: "" }],
    ["unknown NTTDM field", { partnerId: "X", customFields: { A: "TT_Whatever" } }],
    ["identity field", { partnerId: "X", customFields: { A: "TT_ID" } }],
    ["two custom fields, one target", { partnerId: "X", customFields: { A: "Location", B: "Location" } }],
    ["unknown TT_Status", { partnerId: "X", statusMap: { open: "Working" } }],
    ["unknown key", { partnerId: "X", queue: "NOC" }],
    ["reverse map key not a TT_Status", { partnerId: "X", reverseStatusMap: { Working: "open" } }],
  ];
  for (const [name, input] of bad) assert.equal(RtMappingSchema.safeParse(input).success, false, name);
  assert.deepEqual(RtMappingSchema.parse({ partnerId: "X" }), { partnerId: "X", customFields: {}, statusMap: {}, reverseStatusMap: {}, defaults: {} });
});

void test("TicketSQL values: quoting, and dates as bare local times in RT's zone", () => {
  const strings: [string, string][] = [
    ["NOC", "'NOC'"],
    ["NOC Test's queue", "'NOC Test\\'s queue'"],
    ["back\\slash", "'back\\\\slash'"],
    ["", "''"],
  ];
  for (const [input, want] of strings) assert.equal(ticketSqlString(input), want, input);

  const dates: [instant: string, zone: string, want: string | undefined][] = [
    ["2026-11-28T10:24:44Z", "UTC", "2026-11-28 10:24:44"],
    ["2026-11-28T10:24:44.999Z", "UTC", "2026-11-28 10:24:44"], // truncated, RT has whole seconds
    ["2026-11-28T12:24:44+02:00", "UTC", "2026-11-28 10:24:44"],
    ["2026-11-28T10:24:44Z", "Europe/Athens", "2026-11-28 12:24:44"],
    ["2026-07-01T00:30:00Z", "America/New_York", "2026-06-30 20:30:00"],
    ["2026-11-28T23:59:59Z", "Asia/Tokyo", "2026-11-29 08:59:59"],
    ["2026-11-28T00:00:00Z", "UTC", "2026-11-28 00:00:00"], // midnight is 00, not 24
    ["2026-11-28T10:24:44", "UTC", undefined], // no offset: ambiguous
    ["yesterday", "UTC", undefined],
    ["2026-11-28T10:24:44Z", "Not/AZone", undefined],
  ];
  for (const [instant, zone, want] of dates) assert.equal(ticketSqlDatetime(instant, zone), want, `${instant} in ${zone}`);
  assert.equal(ticketSqlDatetime(new Date(Date.UTC(2026, 0, 2, 3, 4, 5)), "UTC"), "2026-01-02 03:04:05");

  assert.deepEqual(updatedSinceQuery("NOC's", "2026-11-28T10:24:44Z", "UTC"), {
    ok: true,
    value: "Queue = 'NOC\\'s' AND LastUpdated > '2026-11-28 10:24:44'",
  });
  assert.equal(updatedSinceQuery("NOC", "soon", "UTC").ok, false);
  assert.equal(updatedSinceQuery("NOC", "2026-11-28T10:24:44Z", "Nowhere").ok, false);
});
