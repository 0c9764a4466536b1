import { test } from "node:test";
import assert from "node:assert/strict";
import { MappingRule, type FeedConfig } from "../../config/schema.js";
import { fingerprint, type FeedItem, type ItemValues } from "../../src/sources/feed/parse.js";
import {
  TicketImpactAssessments,
  TicketShortDescriptions,
  TicketSources,
  TicketStatuses,
  type Ticket,
} from "../../src/model/ticket.js";
import {
  canonicalClosedValue,
  itemToTicket,
  translateItem,
  sanitiseIdPart,
  type TranslateProblem,
} from "../../src/translate/item-to-ticket.js";
import { applyRule, applyRules, describeRules, type RuleValue } from "../../src/translate/rules.js";
import { feedWith as feedOf } from "../fixtures/feed-config.js";

/** A rule as written in the config (defaults filled in by the real schema). */
const rule = (input: Record<string, unknown>): MappingRule => MappingRule.parse(input);

const NOW = new Date("2026-11-28T10:00:00.123Z");

const item = (values: ItemValues, key = "k"): FeedItem => ({ key, values, fingerprint: fingerprint(values) });

function feedWith(mapping: Record<string, Record<string, unknown> | Record<string, unknown>[]>): FeedConfig {
  const parsed = Object.fromEntries(
    Object.entries(mapping).map(([field, r]) => [field, Array.isArray(r) ? r.map(rule) : rule(r)]),
  ) as FeedConfig["mapping"];
  return feedOf(parsed);
}

const nocDescription = [
  "Status: in progress",
  "Impact: NO_CONNECTIVITY",
  "Priority: p1",
  "Problem: core line fault",
  "Circuits: EXN-STO-CPH-01, EXN-STO-CPH-02 (both down)",
  "Start: 2026-11-28 08:12 UTC",
  "History: carrier dispatched",
  "",
  "Both circuits on the Stockholm-Copenhagen route are down.",
].join("\n");

const nocValues: ItemValues = {
  title: "[EXN-1043] Fibre cut Stockholm-Copenhagen",
  link: "https://noc.example.net/tt/1043",
  guid: "EXN-1043",
  description: nocDescription,
  categories: ["IP transit"],
  pubDate: "Sat, 28 Nov 2026 08:20:00 GMT",
  isoDate: "2026-11-28T08:20:00.000Z",
};

void test("applyRule: each rule form", () => {
  const values: ItemValues = {
    title: "CRITICAL: Fibre cut",
    description: "Impact: Severe performance impact\nTicket: TT-2026-0042\nCircuits: EXN-A-01 and exn-b-02\nSite:   Hamburg  \nEmpty:",
    categories: ["IP transit", "Optical"],
  };
  const cases: { name: string; input: Record<string, unknown>; expected: RuleValue | undefined }[] = [
    { name: "from: the field as is", input: { from: "title" }, expected: "CRITICAL: Fibre cut" },
    { name: "from: an absent field", input: { from: "summary" }, expected: undefined },
    { name: "from: an absent field, value as default", input: { from: "summary", value: "Unknown" }, expected: "Unknown" },
    { name: "from: a list field gives a list", input: { from: "categories" }, expected: ["IP transit", "Optical"] },
    { name: "regex: group 1 by default", input: { from: "description", regex: "Impact:\\s*([^\\n]+)" }, expected: "Severe performance impact" },
    { name: "regex: group 0 is the whole match", input: { from: "description", regex: "TT-\\d+-\\d+", group: 0 }, expected: "TT-2026-0042" },
    { name: "regex: group 2", input: { from: "description", regex: "Ticket: (TT)-(\\d+)-(\\d+)", group: 2 }, expected: "2026" },
    { name: "regex: named group", input: { from: "description", regex: "Ticket: TT-(?<year>\\d+)-(?<seq>\\d+)", group: "seq" }, expected: "0042" },
    { name: "regex: unknown named group yields nothing", input: { from: "description", regex: "Ticket: (?<x>\\S+)", group: "y" }, expected: undefined },
    { name: "regex: case-insensitive by default", input: { from: "description", regex: "IMPACT:\\s*(\\w+)" }, expected: "Severe" },
    { name: "regex: flags '' make it case-sensitive", input: { from: "description", regex: "IMPACT:\\s*(\\w+)", flags: "" }, expected: undefined },
    { name: "regex: m flag anchors lines", input: { from: "description", regex: "^Site:(.*)$", flags: "im" }, expected: "Hamburg" },
    { name: "regex: no match", input: { from: "description", regex: "Location: (\\w+)" }, expected: undefined },
    { name: "regex: no match, value as default", input: { from: "description", regex: "Location: (\\w+)", value: "Unknown" }, expected: "Unknown" },
    { name: "regex: empty capture, value as default", input: { from: "description", regex: "^Empty:(.*)$", flags: "im", value: "n/a" }, expected: "n/a" },
    { name: "regex: first match only", input: { from: "description", regex: "(exn-\\w+-\\d+)" }, expected: "EXN-A-01" },
    { name: "all: every match, as a list", input: { from: "description", regex: "(exn-\\w+-\\d+)", all: true }, expected: ["EXN-A-01", "exn-b-02"] },
    { name: "all: no match", input: { from: "description", regex: "(XYZ-\\d+)", all: true }, expected: undefined },
    { name: "regex over a list field: first element that matches", input: { from: "categories", regex: "^(opt\\w+)" }, expected: ["Optical"] },
    { name: "map: case-insensitive key", input: { from: "title", regex: "^(\\w+):", map: { critical: "High", minor: "Low" } }, expected: "High" },
    { name: "map: unmapped text passes through", input: { from: "title", regex: "^(\\w+):", map: { minor: "Low" } }, expected: "CRITICAL" },
    { name: "map: over a list", input: { from: "categories", map: { "ip transit": "IP", optical: "Lambda" } }, expected: ["IP", "Lambda"] },
    { name: "static value", input: { value: "Opened" }, expected: "Opened" },
    { name: "static list", input: { value: ["a", "b"] }, expected: ["a", "b"] },
    { name: "static empty string", input: { value: "" }, expected: "" },
  ];
  for (const { name, input, expected } of cases) assert.deepEqual(applyRule(rule(input), values), expected, name);
});

void test("applyRules: the first rule that yields a value wins", () => {
  const values: ItemValues = { title: "[EXN-7] Fibre cut", summary: "s", categories: [] };
  const cases: { name: string; input: Record<string, unknown>[]; expected: RuleValue | undefined }[] = [
    { name: "first matches", input: [{ from: "title", regex: "\\] (.+)$" }, { from: "title" }], expected: "Fibre cut" },
    { name: "first fails, second matches", input: [{ from: "title", regex: "^NOPE (.+)" }, { from: "title" }], expected: "[EXN-7] Fibre cut" },
    { name: "absent field, then static", input: [{ from: "description" }, { value: "Unknown" }], expected: "Unknown" },
    { name: "empty list is no value", input: [{ from: "categories" }, { from: "summary" }], expected: "s" },
    { name: "static empty string is a value", input: [{ value: "" }, { value: "x" }], expected: "" },
    { name: "value default of an earlier rule beats a later rule", input: [{ from: "description", value: "d" }, { from: "title" }], expected: "d" },
    { name: "nothing yields", input: [{ from: "description" }, { from: "content", regex: "x" }], expected: undefined },
  ];
  for (const { name, input, expected } of cases) assert.deepEqual(applyRules(input.map(rule), values), expected, name);
  assert.deepEqual(applyRules(rule({ from: "summary" }), values), "s", "a single rule, not in a list");
});

void test("describeRules: readable in a log line", () => {
  assert.equal(
    describeRules([rule({ from: "description", regex: "^Status: (.+)$", flags: "im" }), rule({ from: "title" }), rule({ value: "Opened" })]),
    'description =~ /^Status: (.+)$/im | title | value "Opened"',
  );
});

void test("canonicalClosedValue: case, space, '_' and '-' do not matter", () => {
  const cases: { name: string; input: [readonly string[], string]; expected: string | undefined }[] = [
    { name: "snake case", input: [TicketImpactAssessments, "no_connectivity"], expected: "No connectivity" },
    { name: "upper case", input: [TicketImpactAssessments, "NO CONNECTIVITY"], expected: "No connectivity" },
    { name: "hyphens, padded", input: [TicketImpactAssessments, "  No-Connectivity "], expected: "No connectivity" },
    { name: "exact", input: [TicketImpactAssessments, "At risk"], expected: "At risk" },
    { name: "no space at all", input: [TicketImpactAssessments, "severeperformanceimpact"], expected: "Severe performance impact" },
    { name: "slash kept", input: [TicketStatuses, "opened/closed"], expected: "Opened/Closed" },
    { name: "acronym", input: [TicketSources, "other noc"], expected: "Other NOC" },
    { name: "IPv6", input: [TicketShortDescriptions, "ipv6"], expected: "IPv6" },
    { name: "not in the set", input: [TicketImpactAssessments, "Catastrophic"], expected: undefined },
    { name: "a prefix is not enough", input: [TicketStatuses, "Open"], expected: undefined },
    { name: "empty", input: [TicketStatuses, ""], expected: undefined },
  ];
  for (const { name, input, expected } of cases) assert.equal(canonicalClosedValue(...input), expected, name);
});

void test("sanitiseIdPart: '_' and blanks become '-'", () => {
  const cases: { input: string; expected: string }[] = [
    { input: "TT_1234", expected: "TT-1234" },
    { input: "  1234 ", expected: "1234" },
    { input: "TT 2026 42", expected: "TT-2026-42" },
    { input: "a__b", expected: "a--b" },
    { input: "EXN-1043", expected: "EXN-1043" },
  ];
  for (const { input, expected } of cases) assert.equal(sanitiseIdPart(input), expected, input);
});

void test("itemToTicket: a plain RSS item with the default mapping", () => {
  const values: ItemValues = {
    title: "Fibre cut Stockholm-Copenhagen",
    link: "https://noc.example.net/tt/1043",
    guid: "https://noc.example.net/tt/1043",
    description: "<p>Both circuits down</p>",
    content: "<p>Both circuits down</p>",
    contentSnippet: "Both circuits down",
    pubDate: "Sat, 28 Nov 2026 08:20:00 GMT",
    isoDate: "2026-11-28T08:20:00.000Z",
  };
  const expected: Ticket = {
    Partner_ID: "EXN",
    Original_ID: "1043",
    TT_ID: "EXN_1043",
    TT_Title: "Fibre cut Stockholm-Copenhagen",
    TT_Type: "Operational",
    TT_Status: "Opened",
    TT_Open_Datetime: "2026-11-28T08:20:00.000Z",
    TT_Short_Description: "Undefined Problem",
    TT_Long_Description: "Both circuits down",
    Type: "Unscheduled",
    TT_Impact_Assessment: "Unknown",
    Start_Datetime: "2026-11-28T08:20:00.000Z",
    TT_Last_Update_Time: "2026-11-28T08:20:00.000Z",
    History: "",
    Location: "Unknown",
  };
  assert.deepEqual(itemToTicket(item(values), feedWith({}), NOW), { ok: true, value: expected });
});

void test("itemToTicket: default Original_ID is the last part of the guid, id or link", () => {
  const cases: { name: string; input: ItemValues; expected: string }[] = [
    { name: "RT link query", input: { title: "t", link: "https://rt.example.net/Ticket/Display.html?id=1234" }, expected: "EXN_1234" },
    { name: "path with trailing slash", input: { title: "t", guid: "https://noc.example.net/tt/77/" }, expected: "EXN_77" },
    { name: "Atom tag URI", input: { title: "t", id: "tag:noc.example.net,2026:tt/88" }, expected: "EXN_88" },
    { name: "guid before link", input: { title: "t", guid: "EXN-5", link: "https://noc.example.net/tt/6" }, expected: "EXN_EXN-5" },
    // Issue 11.1: the tail of "…?rss=1" is "1" for every item of such a feed.
    { name: "link with a query: the whole link", input: { title: "t", link: "https://status.example.com/incidents/k3x9?rss=1" }, expected: "EXN_status.example.com/incidents/k3x9?rss=1" },
    { name: "guid with a query: the whole guid", input: { title: "t", guid: "https://noc.example.net/feed?rss&item=41" }, expected: "EXN_noc.example.net/feed?rss&item=41" },
    { name: "only a title and a date: a hash of both", input: { title: "Maintenance Oslo", pubDate: "Sat, 28 Nov 2026 08:20:00 GMT" }, expected: "EXN_h" },
  ];
  for (const { name, input, expected } of cases) {
    const r = itemToTicket(item(input), feedWith({}), NOW);
    const id = r.ok ? r.value.TT_ID : JSON.stringify(r.error);
    if (expected === "EXN_h") assert.match(id, /^EXN_h[0-9a-f]{16}$/, name);
    else assert.equal(id, expected, name);
  }
});

void test("itemToTicket: a NOC-specific mapping (regex + map, lists via all, NOC dates, case-insensitive closed values)", () => {
  const feed = feedWith({
    Original_ID: { from: "guid", regex: "EXN-(\\d+)" },
    TT_Title: [{ from: "title", regex: "^\\[[^\\]]+\\]\\s*(.+)$" }, { from: "title" }],
    TT_Status: { from: "description", regex: "^Status:\\s*(.+)$", flags: "im", map: { "in progress": "Updated", new: "Opened" } },
    TT_Impact_Assessment: { from: "description", regex: "^Impact:\\s*(.+)$", flags: "im" },
    TT_Priority: { from: "description", regex: "^Priority:\\s*(P\\d)", flags: "im", map: { P1: "High", P2: "Medium", P3: "Low" } },
    TT_Short_Description: { from: "description", regex: "^Problem:\\s*(.+)$", flags: "im" },
    Network_Link_Circuit: { from: "description", regex: "\\b(EXN-[A-Z]{3}-[A-Z]{3}-\\d{2})\\b", flags: "", all: true },
    Start_Datetime: { from: "description", regex: "^Start:\\s*(.+)$", flags: "im" },
    Affected_Service: [{ from: "description", regex: "^Service:\\s*(.+)$", flags: "im" }, { from: "categories" }],
    History: { from: "description", regex: "^History:\\s*(.+)$", flags: "im", value: "" },
    TT_Long_Description: { from: "description", regex: "\\n\\s*\\n([\\s\\S]+)$", flags: "" },
    Location: { value: "Stockholm" },
  });
  const expected: Ticket = {
    Partner_ID: "EXN",
    Original_ID: "1043",
    TT_ID: "EXN_1043",
    TT_Title: "Fibre cut Stockholm-Copenhagen",
    TT_Type: "Operational",
    TT_Priority: "High",
    TT_Status: "Updated",
    TT_Open_Datetime: "2026-11-28T08:20:00.000Z",
    TT_Short_Description: "Core Line Fault",
    TT_Long_Description: "Both circuits on the Stockholm-Copenhagen route are down.",
    Type: "Unscheduled",
    TT_Impact_Assessment: "No connectivity",
    Start_Datetime: "2026-11-28T08:12:00Z",
    TT_Last_Update_Time: "2026-11-28T08:20:00.000Z",
    History: "carrier dispatched",
    Affected_Service: "IP transit",
    Location: "Stockholm",
    Network_Link_Circuit: ["EXN-STO-CPH-01", "EXN-STO-CPH-02"],
  };
  assert.deepEqual(itemToTicket(item(nocValues), feed, NOW), { ok: true, value: expected });
});

void test("itemToTicket: list fields from one text are split on ',' and ';', de-duplicated", () => {
  const feed = feedWith({ Network_Node: { from: "description", regex: "^Nodes:(.*)$", flags: "im" } });
  const cases: { input: string; expected: string[] | undefined }[] = [
    { input: "Nodes: sto-core-1, cph-core-2", expected: ["sto-core-1", "cph-core-2"] },
    { input: "Nodes: sto-core-1;cph-core-2 ; sto-core-1", expected: ["sto-core-1", "cph-core-2"] },
    { input: "Nodes: sto-core-1", expected: ["sto-core-1"] },
    { input: "Nodes: , ;", expected: undefined },
  ];
  for (const { input, expected } of cases) {
    const r = itemToTicket(item({ guid: "EXN-1", title: "t", description: input }), feed, NOW);
    assert.ok(r.ok, input);
    assert.deepEqual(r.value.Network_Node, expected, input);
  }
});

void test("itemToTicket: closed values are normalised whatever their case and spacing", () => {
  const feed = feedWith({ TT_Impact_Assessment: { from: "summary" } });
  for (const input of ["no_connectivity", "NO CONNECTIVITY", "No-Connectivity", " no connectivity "]) {
    const r = itemToTicket(item({ guid: "EXN-1", title: "t", summary: input }), feed, NOW);
    assert.equal(r.ok ? r.value.TT_Impact_Assessment : JSON.stringify(r.error), "No connectivity", input);
  }
});

void test("itemToTicket: missing dates fall back to now (whole seconds), and History says so", () => {
  const r = itemToTicket(item({ guid: "EXN-1", title: "t" }), feedWith({}), NOW);
  assert.ok(r.ok);
  assert.equal(r.value.History, "ttrelay: feed exn gave no date for this item; TT_Open_Datetime and Start_Datetime are when ttrelay first saw it");
  assert.equal(r.value.TT_Open_Datetime, "2026-11-28T10:00:00Z");
  assert.equal(r.value.TT_Last_Update_Time, "2026-11-28T10:00:00Z");
  assert.equal(r.value.Start_Datetime, "2026-11-28T10:00:00Z");
});

type ProblemCase = { name: string; input: { values: ItemValues; mapping: Parameters<typeof feedWith>[0] }; expected: TranslateProblem[] };

const problemCases: ProblemCase[] = [
  {
    name: "Original_ID with '_' is sanitised (no problem)",
    input: { values: { guid: "TT_1234", title: "t" }, mapping: { Original_ID: { from: "guid" } } },
    expected: [],
  },
  {
    name: "an explicitly mapped mandatory field with no value",
    input: { values: { guid: "EXN-1", title: "t", description: "no status line" }, mapping: { TT_Status: { from: "description", regex: "^Status:\\s*(.+)$", flags: "im" } } },
    expected: [{ field: "TT_Status", message: "no value (rules: description =~ /^Status:\\s*(.+)$/im)" }],
  },
  {
    name: "an explicitly mapped optional field with no value is simply absent",
    input: { values: { guid: "EXN-1", title: "t", description: "x" }, mapping: { End_Datetime: { from: "description", regex: "^End:\\s*(.+)$", flags: "im" } } },
    expected: [],
  },
  {
    name: "a value outside a closed set",
    input: { values: { guid: "EXN-1", title: "t", summary: "Catastrophic" }, mapping: { TT_Impact_Assessment: { from: "summary" } } },
    expected: [
      {
        field: "TT_Impact_Assessment",
        message:
          '"Catastrophic" is not one of No impact, Reduced redundancy, Minor performance impact, Severe performance impact, No connectivity, On backup, At risk, Unknown (add a "map" to the rule)',
      },
    ],
  },
  {
    name: "a long value outside a closed set is clipped in the message",
    input: { values: { guid: "EXN-1", title: "t", summary: "x".repeat(100) }, mapping: { TT_Priority: { from: "summary" } } },
    expected: [{ field: "TT_Priority", message: `"${"x".repeat(57)}…" is not one of Low, Medium, High (add a "map" to the rule)` }],
  },
  {
    name: "a date that is no date",
    input: { values: { guid: "EXN-1", title: "t", summary: "next Tuesday" }, mapping: { Start_Datetime: { from: "summary" } } },
    expected: [{ field: "Start_Datetime", message: '"next Tuesday" is not a date and time this bot can read without guessing (give the rule a "date" "format")' }],
  },
  {
    name: "mapping a computed field (TT_ID)",
    input: { values: { guid: "EXN-1", title: "t" }, mapping: { TT_ID: { from: "guid" } } },
    expected: [{ field: "TT_ID", message: "is computed, not mapped" }],
  },
  {
    name: "mapping a computed field (Partner_ID)",
    input: { values: { guid: "EXN-1", title: "t" }, mapping: { Partner_ID: { value: "OTHER" } } },
    expected: [{ field: "Partner_ID", message: "is computed, not mapped" }],
  },
  {
    name: "mapping a field the RFC does not have",
    input: { values: { guid: "EXN-1", title: "t" }, mapping: { Severity: { from: "title" } } },
    expected: [{ field: "Severity", message: "is not an RFC 6137 ticket field" }],
  },
  {
    name: "no ticket id anywhere, and the feed's own Original_ID rule finds none",
    input: { values: { title: "only a title" }, mapping: { Original_ID: { from: "guid" } } },
    expected: [
      { field: "Original_ID", message: "no value (rules: guid)" },
      { field: "Original_ID", message: "no ticket id found (map Original_ID)" },
    ],
  },
  {
    name: "several problems are all reported",
    input: {
      values: { guid: "EXN-1", title: "t", summary: "Bogus" },
      mapping: { TT_Status: { from: "summary" }, Type: { from: "summary" } },
    },
    expected: [
      { field: "TT_Status", message: '"Bogus" is not one of Opened, Updated, Closed, Solved, Opened/Closed, Inactive, Cancelled, Reopened, Superseded (add a "map" to the rule)' },
      { field: "Type", message: '"Bogus" is not one of Scheduled, Unscheduled (add a "map" to the rule)' },
    ],
  },
  {
    name: "a ticket that breaks an RFC rule: Closed without close time",
    input: { values: { guid: "EXN-1", title: "t" }, mapping: { TT_Status: { value: "Closed" }, History: { value: "fixed" } } },
    expected: [
      { field: "TT_Close_Datetime", message: 'TT_Close_Datetime is required when TT_Status is "Closed" (a final status, RFC 6137 §2.2.1.1 Figure 2; §3.2.4.8)' },
      { field: "End_Datetime", message: 'End_Datetime is required when TT_Status is "Closed" (a final status, RFC 6137 §2.2.1.1 Figure 2; §3.2.5.8)' },
    ],
  },
];

for (const { name, input, expected } of problemCases) {
  void test(`itemToTicket problems: ${name}`, () => {
    const r = itemToTicket(item(input.values), feedWith(input.mapping), NOW);
    assert.deepEqual(r.ok ? [] : r.error, expected);
  });
}

void test("itemToTicket: Original_ID with '_' becomes '-' in Original_ID and TT_ID", () => {
  const r = itemToTicket(item({ guid: "TT_1234", title: "t" }), feedWith({ Original_ID: { from: "guid" } }), NOW);
  assert.ok(r.ok);
  assert.equal(r.value.Original_ID, "TT-1234");
  assert.equal(r.value.TT_ID, "EXN_TT-1234");
});

void test("translateItem without a trace: the same ticket, warnings and problems as with one, and no trace", () => {
  const cases: { name: string; mapping: Parameters<typeof feedWith>[0]; values: ItemValues }[] = [
    { name: "default mapping", mapping: {}, values: nocValues },
    {
      name: "NOC rules: regex, map, all, dates, static fallbacks",
      mapping: {
        Original_ID: { from: "guid", regex: "EXN-(\\d+)" },
        TT_Title: [{ from: "title", regex: "^\\[[^\\]]+\\]\\s*(.+)$" }, { from: "title" }],
        TT_Status: { from: "description", regex: "^Status:\\s*(.+)$", flags: "im", map: { "in progress": "Updated" } },
        TT_Priority: { from: "description", regex: "^Priority:\\s*(P\\d)", flags: "im", map: { P1: "High" } },
        Network_Link_Circuit: { from: "description", regex: "\\b(EXN-[A-Z]{3}-[A-Z]{3}-\\d{2})\\b", flags: "", all: true },
        Location: { from: "description", regex: "^Location:\\s*(.+)$", flags: "im", value: "Unknown" },
        TT_Long_Description: { from: "description", regex: "\\n\\s*\\n([\\s\\S]+)$", flags: "" },
      },
      values: nocValues,
    },
    { name: "a list source, a template, a hash and a condition", mapping: { Original_ID: { template: "{title}", hash: true }, Affected_Service: { from: "categories", regex: "(.+)", when: [{ from: "guid", present: true }] } }, values: nocValues },
    { name: "a mandatory field with no value", mapping: { TT_Status: { from: "description", regex: "^Nothing:\\s*(.+)$", flags: "im" } }, values: nocValues },
    { name: "a value outside its closed set", mapping: { TT_Status: { from: "description", regex: "^Impact:\\s*(.+)$", flags: "im" } }, values: nocValues },
    { name: "a date that cannot be read", mapping: { Start_Datetime: { from: "title" } }, values: nocValues },
    { name: "no date at all", mapping: {}, values: { guid: "EXN-7", title: "t" } },
    { name: "HTML text", mapping: { TT_Long_Description: { from: "description", html: true } }, values: { ...nocValues, description: "<p>a &amp; b</p>" } },
  ];
  const outcomes: boolean[] = [];
  for (const { name, mapping, values } of cases) {
    const feed = feedWith(mapping);
    const traced = translateItem(item(values), feed, NOW);
    outcomes.push(traced.result.ok);
    const untraced = translateItem(item(values), feed, NOW, false);
    assert.deepEqual(untraced.result, traced.result, name);
    assert.deepEqual(untraced.warnings, traced.warnings, name);
    assert.deepEqual(untraced.trace, [], name);
    // No undefined members: the workers send tickets as JSON, which would drop them.
    if (traced.result.ok) assert.deepEqual(JSON.parse(JSON.stringify(traced.result.value)), traced.result.value, name);
    assert.ok(traced.trace.length > 0, name);
  }
  assert.deepEqual([...new Set(outcomes)].sort(), [false, true], "tickets and refusals both");
});
