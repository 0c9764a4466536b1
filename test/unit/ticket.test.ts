import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import {
  CloseFields,
  ContentHashExcludedFields,
  canonicalJson,
  changeHash,
  FinalStatuses,
  MandatoryFields,
  OpenTicketSchema,
  TicketFields,
  TicketImpactAssessments,
  TicketListFields,
  TicketPriorities,
  TicketSchema,
  TicketShortDescriptions,
  TicketSources,
  TicketStatuses,
  TicketTypes,
  TroubleTypes,
  datetimeToMillis,
  isFinalStatus,
  makeTicketId,
  parseTicketId,
  ticketContentHash,
  validateTicket,
  type Ticket,
  type TicketIssue,
  type TicketStatus,
  type ValidationMode,
} from "../../src/model/ticket.js";
import { sampleClosedTicket, sampleTicket } from "../fixtures/tickets.js";

/** A plain record copy of a ticket, to put arbitrary (invalid) values in. */
function raw(t: object, changes: Record<string, unknown> = {}): Record<string, unknown> {
  const out: Record<string, unknown> = { ...t, ...changes };
  for (const [k, v] of Object.entries(changes)) if (v === undefined) delete out[k];
  return out;
}

function issuesOf(input: unknown, mode: ValidationMode): TicketIssue[] {
  const r = validateTicket(input, mode);
  return r.ok ? [] : r.error;
}

function assertValid(input: unknown, mode: ValidationMode): void {
  const r = validateTicket(input, mode);
  assert.ok(r.ok, `expected valid (${mode}), got ${JSON.stringify(r.ok ? null : r.error)}`);
}

function assertIssueAt(input: unknown, mode: ValidationMode, path: string, messageIncludes?: string): void {
  const issues = issuesOf(input, mode);
  const hit = issues.find((i) => i.path === path);
  assert.ok(hit, `expected an issue at "${path}" (${mode}), got ${JSON.stringify(issues)}`);
  if (messageIncludes !== undefined) {
    assert.ok(hit.message.includes(messageIncludes), `message "${hit.message}" should mention "${messageIncludes}"`);
  }
}

/** A complete ticket that also satisfies the "Scheduled" rule, so every closed value can be swapped in. */
const completeBase = sampleClosedTicket({
  Time_Window_Start: "2008-12-16T08:00:00+02:00",
  Time_Window_End: "2008-12-16T18:00:00+02:00",
});

void test("fixtures are valid: sampleTicket (open), sampleClosedTicket (complete)", () => {
  assertValid(sampleTicket(), "open");
  assertValid(sampleClosedTicket(), "complete");
  assertValid(sampleClosedTicket(), "open");
  assertValid(completeBase, "complete");
  assert.ok(OpenTicketSchema.safeParse(sampleTicket()).success);
  assert.ok(TicketSchema.safeParse(sampleClosedTicket()).success);
});

void test("fixture overrides: undefined removes, Partner_ID/Original_ID recompute TT_ID", () => {
  const t = sampleTicket({ TT_Priority: undefined, Partner_ID: "GRNET" });
  assert.equal("TT_Priority" in t, false);
  assert.equal(t.TT_ID, "GRNET_5985");
  assertValid(t, "open");
});

void test("RFC 6137 §5.1 example (as a JS object) is a valid complete ticket", () => {
  const example = {
    Original_ID: "5985",
    Partner_ID: "01",
    TT_ID: "01_5985",
    TT_Title: "Forth Link Failure",
    TT_Type: "Operational",
    TT_Status: "Closed",
    TT_Open_Datetime: "2008-12-16T10:01:15+02:00",
    TT_Short_Description: "Core Line Fault",
    TT_Long_Description: "Forth Link Failure",
    Type: "Unscheduled",
    TT_Impact_Assessment: "No connectivity",
    Start_Datetime: "2008-12-16T09:55:00+02:00",
    TT_Last_Update_Time: "2008-12-16T15:00:34+02:00",
    Location: "HERAKLION",
    History: "Optical transmitter was changed",
    TT_Close_Datetime: "2008-12-16T15:05:00+02:00",
    End_Datetime: "2008-12-16T15:01:21+02:00",
    Network_Node: ["FORTH"],
    Network_Link_Circuit: ["FORTH-2"],
    Open_Engineer: "Dimitris Zisiadis",
    Close_Engineer: "Guillaume Cessieux",
    Contact_Engineers: ["Spyros Kopsidas", "Chrysostomos Tziouvaras"],
    TT_Priority: "High",
  };
  assertValid(example, "complete");
});

const closedSets: { field: string; values: readonly string[]; rfc: readonly string[] }[] = [
  { field: "TT_Type", values: TicketTypes, rfc: ["Operational", "Informational", "Administrative", "Test"] },
  { field: "Type", values: TroubleTypes, rfc: ["Scheduled", "Unscheduled"] },
  { field: "TT_Priority", values: TicketPriorities, rfc: ["Low", "Medium", "High"] },
  {
    field: "TT_Short_Description",
    values: TicketShortDescriptions,
    rfc: [
      "Core Line Fault", "Access Line Fault", "Degraded Service", "Router Hardware Fault",
      "Router Software Fault", "Routing Problem", "Undefined Problem", "Network Congestion",
      "Client Upgrade", "IPv6", "QoS", "VoIP", "Other",
    ],
  },
  {
    field: "TT_Impact_Assessment",
    values: TicketImpactAssessments,
    rfc: [
      "No impact", "Reduced redundancy", "Minor performance impact", "Severe performance impact",
      "No connectivity", "On backup", "At risk", "Unknown",
    ],
  },
  {
    field: "TT_Status",
    values: TicketStatuses,
    rfc: ["Opened", "Updated", "Closed", "Solved", "Opened/Closed", "Inactive", "Cancelled", "Reopened", "Superseded"],
  },
  { field: "TT_Source", values: TicketSources, rfc: ["Users", "Monitoring", "Other NOC"] },
];

for (const { field, values, rfc } of closedSets) {
  void test(`closed set ${field}: exactly the RFC values, each accepted, others rejected`, () => {
    assert.deepEqual([...values].sort(), [...rfc].sort());
    for (const v of values) assertValid(raw(completeBase, { [field]: v }), "complete");
    const first = values[0] ?? "";
    for (const bad of ["Bogus", "", first.toLowerCase(), first.toUpperCase(), ` ${first}`, 3, null]) {
      assertIssueAt(raw(completeBase, { [field]: bad }), "complete", field);
      assertIssueAt(raw(sampleTicket(), { [field]: bad }), "open", field);
    }
  });
}

void test("every mandatory field: missing → issue at that path (complete mode)", () => {
  for (const field of MandatoryFields) {
    assertIssueAt(raw(sampleClosedTicket(), { [field]: undefined }), "complete", field);
  }
});

void test("every mandatory field but the close/end times: missing → issue at that path (open mode)", () => {
  const closeFields: readonly string[] = CloseFields;
  for (const field of MandatoryFields) {
    const input = raw(sampleTicket(), { [field]: undefined });
    if (closeFields.includes(field)) assertValid(input, "open");
    else assertIssueAt(input, "open", field);
  }
});

void test("blank mandatory text is rejected", () => {
  for (const field of ["Partner_ID", "Original_ID", "TT_Title", "Location"]) {
    assertIssueAt(raw(sampleTicket(), { [field]: "  " }), "open", field);
  }
});

void test("optional fields may be absent in both modes", () => {
  const mandatory: readonly string[] = MandatoryFields;
  const minimal = Object.fromEntries(Object.entries(sampleClosedTicket()).filter(([k]) => mandatory.includes(k)));
  assertValid(minimal, "complete");
  assertValid(raw(minimal, { TT_Status: "Opened", TT_Close_Datetime: undefined, End_Datetime: undefined }), "open");
});

void test("open mode: close/end times optional unless the status is final", () => {
  for (const status of TicketStatuses) {
    const t = sampleTicket({ TT_Status: status });
    if (isFinalStatus(status)) {
      assertIssueAt(t, "open", "TT_Close_Datetime", "TT_Close_Datetime");
      assertIssueAt(t, "open", "End_Datetime", "End_Datetime");
      assertValid(
        sampleTicket({ TT_Status: status, TT_Close_Datetime: "2008-12-16T15:05:00+02:00", End_Datetime: "2008-12-16T15:01:21+02:00" }),
        "open",
      );
    } else {
      assertValid(t, "open");
    }
    // complete mode always wants them
    assertIssueAt(t, "complete", "TT_Close_Datetime");
    assertIssueAt(t, "complete", "End_Datetime");
  }
});

void test("open mode: Opened without close time OK, Closed without it rejected with a message naming the field", () => {
  assertValid(sampleTicket({ TT_Status: "Opened" }), "open");
  const issues = issuesOf(sampleTicket({ TT_Status: "Closed", End_Datetime: "2008-12-16T15:01:21+02:00" }), "open");
  assert.deepEqual(issues.map((i) => i.path), ["TT_Close_Datetime"]);
  assert.match(issues[0]?.message ?? "", /TT_Close_Datetime is required when TT_Status is "Closed"/);
});

void test("TT_ID must equal Partner_ID + '_' + Original_ID", () => {
  for (const id of ["01-5985", "02_5985", "01_5986", "5985_01", "01_5985 ", "01__5985"]) {
    for (const mode of ["open", "complete"] as const) {
      const base = mode === "open" ? sampleTicket() : sampleClosedTicket();
      assertIssueAt(raw(base, { TT_ID: id }), mode, "TT_ID", "TT_ID");
    }
  }
});

void test("Partner_ID / Original_ID must not contain an underscore", () => {
  assertIssueAt(sampleTicket({ Partner_ID: "GR_NET" }), "open", "Partner_ID", "underscore");
  assertIssueAt(sampleTicket({ Original_ID: "59_85" }), "open", "Original_ID", "underscore");
});

void test("History may be empty only while Opened or Opened/Closed (§3.2.6.4)", () => {
  const closeTimes = { TT_Close_Datetime: "2008-12-16T15:05:00+02:00", End_Datetime: "2008-12-16T15:01:21+02:00" };
  for (const status of TicketStatuses) {
    const t = sampleTicket({ TT_Status: status, History: " ", ...closeTimes });
    if (status === "Opened" || status === "Opened/Closed") assertValid(t, "open");
    else assertIssueAt(t, "open", "History", "History");
  }
});

void test("Type Scheduled requires the time window; work plan must lie inside it (§3.2.5.10-13)", () => {
  const s = sampleTicket({ Type: "Scheduled" });
  assertIssueAt(s, "open", "Time_Window_Start");
  assertIssueAt(s, "open", "Time_Window_End");
  const window = { Time_Window_Start: "2008-12-20T00:00:00Z", Time_Window_End: "2008-12-20T06:00:00Z" };
  assertValid(sampleTicket({ Type: "Scheduled", ...window }), "open");
  const cases: { plan: { Work_Plan_Start_Datetime?: string; Work_Plan_End_Datetime?: string }; bad?: string }[] = [
    { plan: { Work_Plan_Start_Datetime: "2008-12-20T01:00:00Z", Work_Plan_End_Datetime: "2008-12-20T03:00:00+01:00" } },
    { plan: { Work_Plan_Start_Datetime: "2008-12-19T23:00:00Z" }, bad: "Work_Plan_Start_Datetime" },
    { plan: { Work_Plan_End_Datetime: "2008-12-20T08:00:00+01:00" }, bad: "Work_Plan_End_Datetime" },
    { plan: { Work_Plan_Start_Datetime: "2008-12-20T04:00:00Z", Work_Plan_End_Datetime: "2008-12-20T02:00:00Z" }, bad: "Work_Plan_End_Datetime" },
  ];
  for (const { plan, bad } of cases) {
    const t = sampleTicket({ Type: "Scheduled", ...window, ...plan });
    if (bad === undefined) assertValid(t, "open");
    else assertIssueAt(t, "open", bad);
  }
  assertIssueAt(
    sampleTicket({ Time_Window_Start: "2008-12-20T06:00:00Z", Time_Window_End: "2008-12-20T00:00:00Z" }),
    "open",
    "Time_Window_End",
  );
});

const goodDates = [
  "2008-12-16T10:01:15+02:00",
  "2008-12-16T10:01:15Z",
  "2008-12-16T10:01:15.123-05:30",
  "2008-12-16t10:01:15z",
  "2008-02-29T00:00:00Z",
  "2000-02-29T23:59:59+14:00",
  "2016-12-31T23:59:60Z",
];
const badDates = [
  "",
  "yesterday",
  "2008-12-16",
  "2008-12-16T",
  "2008-12-16T10:01:15",
  "2008-12-16T10:01Z",
  "2008-12-16 10:01:15+02:00",
  "2008-12-16T10:01:15+0200",
  "2008-12-16T10:01:15+02",
  "2008-12-16T24:00:00Z",
  "2008-13-01T00:00:00Z",
  "2008-00-10T00:00:00Z",
  "2007-02-29T00:00:00Z",
  "1900-02-29T00:00:00Z",
  "2008-04-31T00:00:00Z",
  "2008-12-16T10:61:00Z",
  "16/12/2008 10:01",
  "Tue, 16 Dec 2008 10:01:15 +0200",
];
const dateFields = [
  "TT_Open_Datetime", "TT_Close_Datetime", "Start_Datetime", "Detect_Datetime", "Report_Datetime",
  "End_Datetime", "TT_Last_Update_Time", "Time_Window_Start", "Time_Window_End",
  "Work_Plan_Start_Datetime", "Work_Plan_End_Datetime",
];

void test("datetimeToMillis: RFC 3339 date-times with offset only", () => {
  for (const d of goodDates) assert.notEqual(datetimeToMillis(d), undefined, d);
  for (const d of badDates) assert.equal(datetimeToMillis(d), undefined, d);
  assert.equal(datetimeToMillis("2008-12-16T10:01:15+02:00"), Date.UTC(2008, 11, 16, 8, 1, 15));
  // Years below 100 are those years (not 1900 + year); a leap second runs on into the next minute.
  assert.equal(datetimeToMillis("0050-03-01T00:00:00Z"), new Date("0050-03-01T00:00:00Z").getTime());
  assert.equal(datetimeToMillis("2016-12-31T23:59:60Z"), Date.UTC(2017, 0, 1));
  assert.equal(datetimeToMillis("2026-12-01T10:00:00.5-01:30"), Date.UTC(2026, 11, 1, 11, 30, 0, 500));
  assert.equal(datetimeToMillis("2008-12-16T10:01:15.5-01:30"), Date.UTC(2008, 11, 16, 11, 31, 15, 500));
});

void test("bad dates are rejected in every date field, good ones accepted", () => {
  for (const field of dateFields) {
    for (const d of badDates) assertIssueAt(raw(sampleClosedTicket(), { [field]: d }), "complete", field);
  }
  for (const d of goodDates) assertValid(raw(sampleClosedTicket(), { Detect_Datetime: d }), "complete");
});

void test("unknown keys are rejected, one issue per key", () => {
  const issues = issuesOf(raw(sampleTicket(), { Foo: 1, tt_status: "Opened" }), "open");
  assert.deepEqual(issues.map((i) => i.path).sort(), ["Foo", "tt_status"]);
  assertIssueAt(raw(sampleClosedTicket(), { Start_Date_Time: "2008-12-16T09:55:00+02:00" }), "complete", "Start_Date_Time");
});

void test("list fields are arrays of strings; element issues get dotted paths", () => {
  for (const field of TicketListFields) {
    assertValid(raw(sampleTicket(), { [field]: ["a", "b"] }), "open");
    assertValid(raw(sampleTicket(), { [field]: [] }), "open");
    assertIssueAt(raw(sampleTicket(), { [field]: "a" }), "open", field);
    assertIssueAt(raw(sampleTicket(), { [field]: ["a", 5] }), "open", `${field}.1`);
  }
});

void test("non-object input → a single issue at the root path", () => {
  for (const input of [null, 42, "ticket", [], undefined]) {
    const issues = issuesOf(input, "open");
    assert.equal(issues.length, 1);
    assert.equal(issues[0]?.path, "");
  }
});

void test("TicketFields lists every key exactly once", () => {
  assert.equal(new Set(TicketFields).size, TicketFields.length);
  assert.equal(TicketFields.length, 39); // 38 fields of Figure 43 + the lang attribute
  for (const f of MandatoryFields) assert.ok(TicketFields.includes(f), f);
});

void test("makeTicketId / parseTicketId round trip", () => {
  const pairs: [string, string][] = [["01", "5985"], ["GRNET", "TT-2024-001"], ["DFN", "a.b/c d"], ["x", "0"]];
  for (const [p, o] of pairs) {
    const id = makeTicketId(p, o);
    assert.equal(id, `${p}_${o}`);
    assert.deepEqual(parseTicketId(id), { partnerId: p, originalId: o });
  }
});

void test("parseTicketId rejects what is not PARTNER_ID_ORIGINAL_ID", () => {
  for (const id of ["", "015985", "_5985", "01_", "_", "a_b_c", "01__5985"]) {
    assert.equal(parseTicketId(id), undefined, id);
  }
});

void test("isFinalStatus follows the (X) states of RFC 6137 Figure 2", () => {
  const expected: Record<TicketStatus, boolean> = {
    Opened: false,
    Updated: false,
    Closed: true,
    Solved: false,
    "Opened/Closed": true,
    Inactive: true,
    Cancelled: true,
    Reopened: false,
    Superseded: true,
  };
  for (const s of TicketStatuses) assert.equal(isFinalStatus(s), expected[s], s);
  assert.deepEqual([...FinalStatuses].sort(), ["Cancelled", "Closed", "Inactive", "Opened/Closed", "Superseded"]);
});

void test("ticketContentHash: stable under key order, changes with content", () => {
  const t = sampleTicket();
  const h = ticketContentHash(t);
  assert.match(h, /^[0-9a-f]{64}$/);
  assert.equal(ticketContentHash(sampleTicket()), h);

  const reversed = Object.fromEntries(Object.entries(t).reverse()) as typeof t;
  assert.deepEqual(Object.keys(reversed), Object.keys(t).reverse());
  assert.equal(ticketContentHash(reversed), h);

  // Absent, "" and [] are the same "no information"; Hash (a derived field) is ignored.
  assert.equal(ticketContentHash(sampleTicket({ Related_Activity: [] })), h);
  assert.equal(ticketContentHash(sampleTicket({ Additional_Data: "" })), h);
  assert.equal(ticketContentHash(sampleTicket({ TT_Source: undefined, Hash: "abc" })), ticketContentHash(sampleTicket({ TT_Source: undefined })));

  const changes: Partial<typeof t>[] = [
    { TT_Status: "Updated" },
    { TT_Last_Update_Time: "2008-12-16T11:00:00+02:00" },
    { History: "Link down, detected by monitoring; engineer dispatched" },
    { Network_Node: ["FORTH", "HERAKLION-1"] },
    { Contact_Engineers: ["Chrysostomos Tziouvaras", "Spyros Kopsidas"] }, // order counts
    { TT_Priority: undefined },
    { Affected_Service: "IP" },
  ];
  const seen = new Set([h]);
  for (const c of changes) {
    const h2 = ticketContentHash(sampleTicket(c));
    assert.notEqual(h2, h, JSON.stringify(c));
    seen.add(h2);
  }
  assert.equal(seen.size, changes.length + 1);
});

void test("canonicalJson: sorted keys at every depth, undefined left out (null kept), lists in order; the same text as sorting entries", () => {
  // The plain spelling it replaced (entries filtered, sorted with <, joined): the hashes stored by
  // earlier versions must not change.
  const reference = (value: unknown): string => {
    if (Array.isArray(value)) return `[${value.map((v) => reference(v)).join(",")}]`;
    if (value !== null && typeof value === "object") {
      const entries = Object.entries(value)
        .filter(([, v]) => v !== undefined)
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
      return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${reference(v)}`).join(",")}}`;
    }
    return JSON.stringify(value) ?? "null";
  };
  let seed = 7;
  const next = (): number => (seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 4294967296;
  const keys = ["b", "a", "TT_ID", "tt_id", "Ä", "é", "😀", "10", "9", "", "a b", 'q"'];
  const gen = (depth: number): unknown => {
    const r = next();
    if (depth > 3 || r < 0.3) return [undefined, null, "x", "", 0, -1.5, true, "line\nbreak", "\u2028"][Math.floor(next() * 9)];
    if (r < 0.6) return Array.from({ length: Math.floor(next() * 4) }, () => gen(depth + 1));
    const o: Record<string, unknown> = {};
    for (let i = Math.floor(next() * 6); i > 0; i--) o[keys[Math.floor(next() * keys.length)] ?? "k"] = gen(depth + 1);
    return o;
  };
  for (let i = 0; i < 2000; i++) {
    const v = gen(0);
    assert.equal(canonicalJson(v), reference(v), JSON.stringify(v));
  }
  assert.equal(canonicalJson({ b: 1, a: [2, { d: undefined, c: null }] }), '{"a":[2,{"c":null}],"b":1}');
});

void test("datetimeToMillis: the plain UTC form read directly gives what the general reading gives", () => {
  // The general reading with an explicit +00:00 offset takes the other path: the same instant, or both undefined.
  const cases = [
    "2026-11-30T00:05:00Z",
    "2026-11-30t00:05:00z",
    "2024-02-29T23:59:59Z",
    "2025-02-29T00:00:00Z",
    "2016-12-31T23:59:60Z",
    "2026-13-01T00:00:00Z",
    "2026-04-31T00:00:00Z",
    "2026-11-30T24:00:00Z",
    "2026-11-30T00:60:00Z",
    "2026-11-30T00:00:61Z",
    "0099-01-01T00:00:00Z",
    "0100-01-01T00:00:00Z",
    "2026-00-10T00:00:00Z",
  ];
  for (const c of cases) assert.equal(datetimeToMillis(c), datetimeToMillis(c.slice(0, 19) + "+00:00"), c);
  // With milliseconds, as toISOString writes them (rss-parser's isoDate).
  for (const c of cases) for (const ms of [".000", ".5" + "00", ".999", ".042"]) assert.equal(datetimeToMillis(c.slice(0, 19) + ms + c.slice(19)), datetimeToMillis(c.slice(0, 19) + ms + "+00:00"), c + ms);
  assert.equal(datetimeToMillis("2026-11-30T00:05:00.042Z"), Date.UTC(2026, 10, 30, 0, 5, 0, 42));
  // Random date-times over the whole range the direct reading takes (years 0100–9999): Date.UTC's instant, or undefined where the general reading says so.
  const pad = (n: number, w: number): string => String(n).padStart(w, "0");
  let seed = 7;
  const next = (n: number): number => (seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648) % n;
  for (let i = 0; i < 20_000; i++) {
    const [y, mo, d, h, mi, se, ms] = [100 + next(9900), 1 + next(12), 1 + next(31), next(24), next(60), next(61), next(1000)];
    const text = `${pad(y, 4)}-${pad(mo, 2)}-${pad(d, 2)}T${pad(h, 2)}:${pad(mi, 2)}:${pad(se, 2)}`;
    const general = datetimeToMillis(`${text}.${pad(ms, 3)}+00:00`);
    assert.equal(datetimeToMillis(`${text}.${pad(ms, 3)}Z`), general, text);
    assert.equal(datetimeToMillis(`${text}Z`), datetimeToMillis(`${text}+00:00`), text);
    if (general !== undefined) assert.equal(general, Date.UTC(y, mo - 1, d, h, mi, se, ms), text);
    else assert.ok(d > 28, text); // only a day past the month's end is refused here
  }
  for (const bad of ["2026-11-30T00:05:00.0x0Z", "2026-11-30T00:05:00,000Z", "2026-11-30T00:05:00.000+", "2026-11-30 00:05:00Z", "2026-11-30T00:05:0xZ", "2026-11-3OT00:05:00Z", "２026-11-30T00:05:00Z", "2026-11-30T00:05:00+", "2026/11/30T00:05:00Z"]) assert.equal(datetimeToMillis(bad), undefined, bad);
});

void test("ticketContentHash and changeHash: the hash of the counted fields' canonical JSON, as stored by earlier versions", () => {
  const spelled = (t: Record<string, unknown>, skip?: string): string => {
    const content: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(t)) {
      if ((ContentHashExcludedFields as readonly string[]).includes(k) || k === skip || v === undefined || v === "" || (Array.isArray(v) && v.length === 0)) continue;
      content[k] = v;
    }
    return createHash("sha256").update(canonicalJson(content)).digest("hex");
  };
  const base: Ticket = sampleClosedTicket({ Hash: "excluded", Network_Node: ["ATH-R1"] });
  const cases: Ticket[] = [
    base,
    { ...base, Network_Node: [], History: "", TT_Long_Description: undefined },
    { ...base, Network_Link_Circuit: ["b", "a"], TT_Title: 'quotes " and \\ and \n lines' },
    Object.fromEntries(Object.entries(base).reverse()) as Ticket,
    { ...base, Additional_Data: "\u2028 \u0000 \ud800 😀 é </script>", Contact_Engineers: ["ü", "\t"] },
    // Not a ticket's values, but hashed alike all the same (written field by field).
    { ...base, Network_Node: ["x", 5 as unknown as string] },
    { ...base, Additional_Data: { b: 1, a: [2, { d: 3, c: undefined }] } as unknown as string },
    { ...base, ...({ "10": "x", "9": "y", "1a": "z" } as Record<string, string>) },
  ];
  for (const t of cases) {
    assert.equal(ticketContentHash(t), spelled(t), t.TT_Title);
    assert.equal(changeHash(t), spelled(t, "TT_Last_Update_Time"), t.TT_Title);
  }
  assert.equal(changeHash(base), changeHash({ ...base, TT_Last_Update_Time: "2030-01-01T00:00:00Z" }));
  assert.notEqual(ticketContentHash(base), ticketContentHash({ ...base, TT_Last_Update_Time: "2030-01-01T00:00:00Z" }));
});
