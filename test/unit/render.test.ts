import { test } from "node:test";
import assert from "node:assert/strict";
import { nocActor, ticketActivity } from "../../src/model/activity.js";
import {
  DEFAULT_TEMPLATE,
  capText,
  FIELD_LABELS,
  changedFields,
  describeChanges,
  fillTemplate,
  formatTime,
  historyForRoom,
  historyInTimeOrder,
  renderActivity,
  renderCompactUpdate,
  verbFor,
  type RenderOptions,
} from "../../src/render/ticket-message.js";
import { neutraliseStyling, oneLineOf, outsideLine, outsideLines, stripControls } from "../../src/render/outside.js";
import { escapeMarkdown, markdownToStyled, unstyle } from "../../src/render/xep0393.js";
import type { Ticket } from "../../src/model/ticket.js";
import { spansOf } from "../helpers/xep0393-spans.js";
import { sampleClosedTicket, sampleTicket } from "../fixtures/tickets.js";

const markdownCases: { name: string; input: string; expected: string }[] = [
  { name: "strong", input: "a **bold** b", expected: "a *bold* b" },
  { name: "strong with underscores", input: "__bold__", expected: "*bold*" },
  { name: "em with *", input: "*em*", expected: "_em_" },
  { name: "em with _", input: "_em_", expected: "_em_" },
  { name: "strong inside em", input: "***both***", expected: "_*both*_" },
  { name: "strike", input: "~~gone~~", expected: "~gone~" },
  { name: "inline code", input: "run `show bgp` now", expected: "run `show bgp` now" },
  { name: "inline code keeps markup literal", input: "`*x*`", expected: "`*x*`" },
  { name: "fenced code block", input: "```\nping 192.0.2.1\n*not bold*\n```", expected: "```\nping 192.0.2.1\n*not bold*\n```" },
  { name: "link with text: text then URL", input: "[RT #1234](https://rt.example.net/1234)", expected: "RT #1234 <https://rt.example.net/1234>" },
  { name: "link whose text is the URL: URL once", input: "[https://x.example/a](https://x.example/a)", expected: "https://x.example/a" },
  { name: "autolink: the bare URL", input: "<https://x.example/a>", expected: "https://x.example/a" },
  { name: "styled link text", input: "[**down**](https://x.example/a)", expected: "*down* <https://x.example/a>" },
  { name: "quote, two lines", input: "> line 1\n> line 2", expected: "> line 1\n> line 2" },
  { name: "nested quote", input: "> > deep", expected: "> > deep" },
  { name: "bullet list", input: "- a\n- b", expected: "• a\n• b" },
  { name: "ordered list keeps its numbers", input: "1. a\n2. b", expected: "1. a\n2. b" },
  { name: "nested list is indented", input: "- a\n  - b", expected: "• a\n  • b" },
  { name: "list inside a quote", input: "> - a\n> - b", expected: "> • a\n> • b" },
  { name: "heading becomes its text", input: "# Outage", expected: "Outage" },
  { name: "rule", input: "---", expected: "―――" },
  { name: "soft line break kept", input: "a\nb", expected: "a\nb" },
  { name: "entity decoded", input: "AT&amp;T", expected: "AT&T" },
  { name: "raw HTML shown as text", input: "<b>x</b>", expected: "<b>x</b>" },
  { name: "image becomes its alt text", input: "![map](m.png)", expected: "map" },
];

for (const { name, input, expected } of markdownCases) {
  void test(`markdownToStyled: ${name}`, () => {
    assert.equal(markdownToStyled(input), expected);
  });
}

/** Text from a feed, escaped, must come out of the renderer exactly as it went in. */
const literalCases: { name: string; input: string }[] = [
  { name: "asterisks", input: "*not bold* **nor this**" },
  { name: "underscores in ids", input: "EXN_1043 and core_router_1" },
  { name: "tildes", input: "~~not struck~~ ~x~" },
  { name: "backticks", input: "`not code`" },
  { name: "link syntax", input: "[not a link](https://x.example)" },
  { name: "autolink syntax", input: "<https://x.example>" },
  { name: "HTML-ish", input: "<b>x</b> & &amp; &lt;" },
  { name: "backslash", input: "C:\\temp\\x and a\\*b" },
  { name: "numbered line", input: "1. not a list" },
  { name: "number with parenthesis", input: "1) not a list" },
  { name: "dash line", input: "- not a list" },
  { name: "plus line", input: "+ not a list" },
  { name: "hash line", input: "# not a heading" },
  { name: "quote line", input: "> not a quote" },
  { name: "rule-like line", input: "***" },
  { name: "setext underline with =", input: "Maintenance\n===========" },
  { name: "setext underline with -", input: "Maintenance\n-----------" },
  { name: "pipes and braces", input: "a | b {c} (d) !e" },
  { name: "dots and percent", input: "2-3 % loss at 10.0.0.1." },
  { name: "several lines", input: "line 1\nline 2\nline 3" },
  { name: "non-ASCII", input: "GÉANT – Malmö → Köln ✓" },
  { name: "RFC status with slash", input: "Opened/Closed" },
];

for (const { name, input } of literalCases) {
  void test(`escapeMarkdown round trip renders literally: ${name}`, () => {
    assert.equal(markdownToStyled(escapeMarkdown(input)), input);
  });
}

const fillCases: { name: string; input: { template: string; values: Record<string, string> }; expected: string }[] = [
  { name: "all values present", input: { template: "A: {{a}} · B: {{b}}", values: { a: "1", b: "2" } }, expected: "A: 1 · B: 2" },
  { name: "empty segment dropped", input: { template: "A: {{a}} · B: {{b}} · C: {{c}}", values: { a: "1", b: "", c: "3" } }, expected: "A: 1 · C: 3" },
  { name: "missing value counts as empty", input: { template: "A: {{a}} · B: {{b}}", values: { a: "1" } }, expected: "A: 1" },
  { name: "segment kept when one of its placeholders has a value", input: { template: "W: {{s}} – {{e}}", values: { s: "", e: "2" } }, expected: "W:  – 2" },
  { name: "literal segment kept", input: { template: "A: {{a}} · fixed", values: { a: "" } }, expected: "fixed" },
  { name: "dangling ' / ' dropped", input: { template: "Type: {{t}} / {{p}} · X: {{x}}", values: { t: "Operational", p: "", x: "1" } }, expected: "Type: Operational · X: 1" },
  { name: "line with all values empty dropped", input: { template: "{{a}}\nB: {{b}}\n{{c}}", values: { a: "1", b: "", c: "3" } }, expected: "1\n3" },
  { name: "template blank line kept between parts", input: { template: "{{a}}\n\n{{b}}", values: { a: "1", b: "2" } }, expected: "1\n\n2" },
  { name: "no trailing blank line when the last part is empty", input: { template: "{{a}}\n\n{{b}}", values: { a: "1", b: "" } }, expected: "1" },
  { name: "no leading blank line when the first part is empty", input: { template: "{{a}}\n\n{{b}}", values: { a: "", b: "2" } }, expected: "2" },
  { name: "blank lines collapse to one", input: { template: "{{a}}\n\n{{x}}\n\n{{b}}", values: { a: "1", x: "", b: "2" } }, expected: "1\n\n2" },
  { name: "an emptied line does not become a blank line", input: { template: "{{a}}\n{{x}}\n{{b}}", values: { a: "1", x: "", b: "2" } }, expected: "1\n2" },
  { name: "everything empty", input: { template: "{{a}}\n\n{{b}}", values: {} }, expected: "" },
  { name: "values with markup are inserted as given", input: { template: "**{{id}}**", values: { id: "01\\_5985" } }, expected: "**01\\_5985**" },
];

for (const { name, input, expected } of fillCases) {
  void test(`fillTemplate: ${name}`, () => {
    assert.equal(fillTemplate(input.template, input.values), expected);
  });
}

void test("capText: short text kept, long text cut at a word with ' […]'", () => {
  const cases: { name: string; input: [string, number]; expected: string }[] = [
    { name: "shorter than max", input: ["Core line fault", 100], expected: "Core line fault" },
    { name: "exactly max", input: ["abcde", 5], expected: "abcde" },
    { name: "cut at the last space", input: ["aaaa bbbb cccc dddd", 12], expected: "aaaa bbbb […]" },
    { name: "no space late enough: hard cut", input: ["abcdefghijklmnop", 10], expected: "abcdefghij […]" },
    { name: "CRLF and long blank runs tidied", input: ["a\r\n\r\n\r\n\r\nb", 100], expected: "a\n\nb" },
    { name: "max 0", input: ["abc", 0], expected: " […]" },
  ];
  for (const { name, input, expected } of cases) assert.equal(capText(...input), expected, name);
});

void test("formatTime: the instant in the configured time zone, with the zone named", () => {
  const cases: { name: string; input: [string | undefined, string]; expected: string }[] = [
    { name: "UTC", input: ["2008-12-16T10:01:15+02:00", "UTC"], expected: "2008-12-16 08:01 UTC" },
    { name: "Athens winter", input: ["2008-12-16T10:01:15+02:00", "Europe/Athens"], expected: "2008-12-16 10:01 EET" },
    { name: "Athens summer", input: ["2008-07-16T10:01:15+03:00", "Europe/Athens"], expected: "2008-07-16 10:01 EEST" },
    { name: "New York", input: ["2008-12-16T10:01:15+02:00", "America/New_York"], expected: "2008-12-16 03:01 GMT-5" },
    { name: "half-hour zone", input: ["2008-12-16T10:01:15+02:00", "Asia/Kolkata"], expected: "2008-12-16 13:31 GMT+5:30" },
    { name: "crosses midnight", input: ["2008-12-16T23:30:00Z", "Europe/Athens"], expected: "2008-12-17 01:30 EET" },
    { name: "absent", input: [undefined, "UTC"], expected: "" },
    { name: "not a date: shown as given", input: ["soon", "UTC"], expected: "soon" },
  ];
  for (const { name, input, expected } of cases) assert.equal(formatTime(...input), expected, name);
});

const actor = nocActor({ id: "GRNET", name: "GRNET NOC" });
const published = new Date("2008-12-16T08:05:00Z");
const athens: RenderOptions = { maxLongDescription: 600, timeZone: "Europe/Athens" };

void test("verbFor: Create is new, Update is update", () => {
  assert.equal(verbFor(ticketActivity("Create", sampleTicket(), actor, published)), "new");
  assert.equal(verbFor(ticketActivity("Update", sampleTicket(), actor, published)), "update");
});

void test("renderActivity: the full message for the RFC example (Create, Athens time, link)", () => {
  const activity = ticketActivity("Create", sampleTicket({ Affected_Service: "IP" }), actor, published, "https://noc.grnet.example/tt/5985");
  assert.equal(
    renderActivity(activity, athens),
    [
      "*01_5985* new · Opened · No connectivity",
      "Forth Link Failure",
      "Service: IP · Location: HERAKLION · Type: Operational (Unscheduled) / Core Line Fault",
      "Nodes: FORTH · Circuits: FORTH-2",
      "Start: 2008-12-16 09:55 EET",
      "Priority: High",
      "History: Link down, detected by monitoring",
      "https://noc.grnet.example/tt/5985",
      "> Forth Link Failure",
    ].join("\n"),
  );
});

void test("renderActivity: the ticket id comes first, for every kind of ticket", () => {
  const cases: { name: string; input: ReturnType<typeof ticketActivity>; expected: string }[] = [
    { name: "open", input: ticketActivity("Create", sampleTicket(), actor, published), expected: "*01_5985* new · Opened · No connectivity\n" },
    { name: "closed update: the verb says the status once", input: ticketActivity("Update", sampleClosedTicket(), actor, published), expected: "*01_5985* closed · No connectivity\n" },
    {
      name: "id with markdown characters",
      input: ticketActivity("Create", sampleTicket({ Partner_ID: "A*B", Original_ID: "[1]" }), actor, published),
      // A "*" in the id would close a bold span early: such an id is shown plain.
      expected: "A*B_[1] new · Opened · No connectivity\n",
    },
  ];
  for (const { name, input, expected } of cases) {
    const body = renderActivity(input, athens);
    assert.ok(body.startsWith(expected), `${name}: ${JSON.stringify(body.slice(0, 80))}`);
  }
});

void test("renderActivity: long descriptions are capped with ' […]' and quoted line by line", () => {
  const long = "Fibre cut near Malmö. " + "Carrier crew on site. ".repeat(40);
  const body = renderActivity(ticketActivity("Create", sampleTicket({ TT_Long_Description: long }), actor, published), { maxLongDescription: 60, timeZone: "UTC" });
  const quoted = body.split("\n").filter((l) => l.startsWith("> "));
  assert.deepEqual(quoted, ["> Fibre cut near Malmö. Carrier crew on site. Carrier crew on […]"]);

  const multi = renderActivity(ticketActivity("Create", sampleTicket({ TT_Long_Description: "First *line*\n\n- second\n# third" }), actor, published), athens);
  assert.deepEqual(
    multi.split("\n").filter((l) => l.startsWith(">")),
    ["> First \u2060*line*", ">", "> - second", "> # third"],
    "free text is quoted and shown literally, blank lines kept",
  );
});

void test("renderActivity: times in the configured zone (start, end, window)", () => {
  const t = sampleClosedTicket({
    Type: "Scheduled",
    Time_Window_Start: "2008-12-16T08:00:00+02:00",
    Time_Window_End: "2008-12-16T18:00:00+02:00",
  });
  const cases: { name: string; input: RenderOptions; expected: string }[] = [
    { name: "UTC", input: { maxLongDescription: 600, timeZone: "UTC" }, expected: "Start: 2008-12-16 07:55 UTC · End: 2008-12-16 13:01 UTC" },
    { name: "Athens", input: athens, expected: "Start: 2008-12-16 09:55 EET · End: 2008-12-16 15:01 EET" },
  ];
  for (const { name, input, expected } of cases) {
    const body = renderActivity(ticketActivity("Update", t, actor, published), input);
    assert.ok(body.split("\n").includes(expected), `${name}:\n${body}`);
  }
});

void test("renderActivity: unknown location and undefined problem are left out", () => {
  const body = renderActivity(
    ticketActivity("Create", sampleTicket({ Location: "Unknown", TT_Short_Description: "Undefined Problem", Affected_Service: undefined }), actor, published),
    athens,
  );
  assert.equal(body.split("\n")[2], "Type: Operational (Unscheduled)");
});

void test("renderActivity: an Update names what changed", () => {
  const before = sampleTicket();
  const after = sampleTicket({ TT_Status: "Updated", TT_Impact_Assessment: "On backup", History: "Link down\nTraffic on backup path" });
  const body = renderActivity(ticketActivity("Update", after, actor, published), athens, [
    { field: "TT_Status", before: before.TT_Status, after: after.TT_Status },
    { field: "TT_Impact_Assessment", before: before.TT_Impact_Assessment, after: after.TT_Impact_Assessment },
    { field: "History", before: before.History, after: after.History },
  ]);
  const lines = body.split("\n");
  assert.equal(lines[0], "*01_5985* update · On backup");
  // History's news is the "History:" line; it is not named again among the changes.
  assert.ok(lines.includes("Changed: status Opened → Updated, impact No connectivity → On backup"), body);
  assert.ok(lines.includes("History: Traffic on backup path"), body);
});

void test("DEFAULT_TEMPLATE starts with the ticket id", () => {
  assert.ok(DEFAULT_TEMPLATE.startsWith("{{heading}}"));
});

// ---------------------------------------------------------------------------------------------
// Outside text cannot fake lines or styling (issues 9.5, 11.8)
// ---------------------------------------------------------------------------------------------

void test("outside text: one line, no bidi overrides, capped, directives neutralised", () => {
  const cases: { name: string; input: string; expected: string }[] = [
    { name: "newline and CRLF", input: "Link down\r\n*EXN_999* closed", expected: "Link down \u2060*EXN_999* closed" },
    { name: "U+2028 and U+2029", input: "a\u2028b\u2029c", expected: "a b c" },
    { name: "bidi overrides and isolates", input: "Fibre \u202Eedoc\u202C cut \u2066x\u2069", expected: "Fibre edoc cut x" },
    { name: "control characters", input: "a\u0007b\u001bc\td", expected: "abc d" },
    { name: "a star that cannot open stays", input: "Buy Now, Bitches*", expected: "Buy Now, Bitches*" },
    { name: "a star that could open is joined", input: "Outage *core* router", expected: "Outage \u2060*core* router" },
    { name: "at the start", input: "_urgent_ ~cut~ `x`", expected: "\u2060_urgent_ \u2060~cut~ \u2060`x`" },
    { name: "runs of directives", input: "***x***", expected: "\u2060*\u2060*\u2060*x*\u2060*\u2060*" },
    { name: "a quote at the start", input: "> not a quote", expected: "\u2060> not a quote" },
    { name: "ids keep their underscores", input: "EXN_1043 core_router_1", expected: "EXN_1043 core_router_1" },
  ];
  for (const { name, input, expected } of cases) assert.equal(outsideLine(input), expected, name);
  assert.equal(oneLineOf("x".repeat(500), 200).length, 200);
  assert.ok(oneLineOf("x".repeat(500), 200).endsWith("…"));
});

void test("outside text: the quick answers for plain text are those of the replacements", () => {
  // The replacements alone, as the functions were before they tested for plain text first.
  const reference = {
    // eslint-disable-next-line no-control-regex
    stripControls: (t: string): string => t.replace(/[\u202A-\u202E\u2066-\u2069]/g, "").replace(/\t/g, " ").replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u0084\u0086-\u009F]/g, ""),
    oneLine: (t: string): string => reference.stripControls(t.replace(/\r\n|[\r\n\u0085\u2028\u2029]/g, " ")).replace(/\s+/g, " ").trim(),
    neutralise: (t: string): string => t.replace(/(^|[\s*_~`])(?=[*_~`])|^(?=>)/gu, "$1\u2060").replace(/([*_~`])(?=[*_~`])/g, "$1\u2060"),
    escape: (t: string): string => t.replace(/[\\`*_{}[\]()#+\-.!|<>~&=]/g, (c) => "\\" + c),
  };
  // Mostly plain text, with every character the replacements look at now and then.
  const special = [..."\t\n\r\u0085\u2028\u2029\u0000\u0007\u001b\u007f\u0090\u009f\u00a0\u2003\u3000\u202e\u2066\u2069*_~`>\\{}[]()#+-.!|<&=  "];
  let seed = 11;
  const next = (n: number): number => (seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648) % n;
  for (let i = 0; i < 20_000; i++) {
    let t = "";
    const len = next(40);
    for (let k = 0; k < len; k++) t += next(6) === 0 ? (special[next(special.length)] ?? "") : "aZ09 é,:;/"[next(10)];
    assert.equal(stripControls(t), reference.stripControls(t), JSON.stringify(t));
    assert.equal(oneLineOf(t, 1_000), reference.oneLine(t), JSON.stringify(t));
    assert.equal(neutraliseStyling(t), reference.neutralise(t), JSON.stringify(t));
    assert.equal(escapeMarkdown(t), reference.escape(t), JSON.stringify(t));
    assert.deepEqual(outsideLines(t), reference.stripControls(t.replace(/\r\n?/g, "\n").replace(/[\u0085\u2028\u2029]/g, "\n")).split("\n").map((l) => reference.neutralise(l.trimEnd())), JSON.stringify(t));
  }
});

const corpus = [
  "Buy Now, Bitches*",
  "Outage *core* router",
  "Link down\n*EXN_999* closed · Closed · No impact",
  "_urgent_ fibre ~cut~ at `sto-1`",
  "> quoted? ```pre``` *a*b*c*",
  "**bold** and ***more*** ~~struck~~",
  "Fibre \u202Eedoc\u202C cut",
  "Wartung *Frankfurt* _morgen_ – 10% packet loss *",
  "x".repeat(1000),
];

void test("corpus of real-world titles: the title line carries no styling and cannot fake a header", () => {
  for (const title of corpus) {
    const body = renderActivity(ticketActivity("Create", sampleTicket({ TT_Title: title, TT_Long_Description: `${title}\n*01_5986* closed · Closed · No impact` }), actor, published), athens);
    const lines = body.split("\n");
    assert.equal(lines[0], "*01_5985* new · Opened · No connectivity", title);
    assert.deepEqual(spansOf(lines[0] ?? ""), [{ directive: "*", start: 0, end: 8 }], `${title}: only the id is bold`);
    const titleLine = lines[1] ?? "";
    assert.deepEqual(spansOf(titleLine), [], `${JSON.stringify(title)}: no span in the title line: ${JSON.stringify(titleLine)}`);
    assert.equal(titleLine.replace(/\u2060/g, ""), oneLineOf(title), `${title}: shown as written, on one line`);
    assert.ok(titleLine.length <= 201 + 40, "capped");
    assert.equal(/[\u202A-\u202E\u2066-\u2069]/.test(body), false, "no bidi overrides");
    for (const line of lines.slice(1)) assert.doesNotMatch(line, /^\*[^*\s]+\* /, `${title}: no line looks like a header: ${line}`);
    for (const line of lines.filter((l) => l.startsWith("> "))) assert.deepEqual(spansOf(line.slice(2)), [], `quoted outside text has no spans: ${line}`);
  }
});

void test("renderActivity: History times are shown like every other time; Type and TT_Type both shown", () => {
  const t = sampleTicket({ History: "Link down\n2008-12-16T08:30:00Z alice@noc.example: acknowledged", Type: "Unscheduled", TT_Type: "Informational" });
  const body = renderActivity(ticketActivity("Create", t, actor, published), athens);
  assert.ok(body.split("\n").includes("History: 2008-12-16 10:30 EET alice@noc.example: acknowledged"), body);
  assert.ok(body.includes("Type: Informational (Unscheduled) / Core Line Fault"), body);
});

void test("renderActivity: Scheduled maintenance shows as planned maintenance, its window first", () => {
  const t = sampleTicket({ Type: "Scheduled", Time_Window_Start: "2008-12-20T01:00:00+02:00", Time_Window_End: "2008-12-20T05:00:00+02:00", TT_Impact_Assessment: "At risk" });
  const lines = renderActivity(ticketActivity("Create", t, actor, published), athens).split("\n");
  assert.equal(lines[0], "*01_5985* new · Planned maintenance 2008-12-20 01:00 – 05:00 EET · Opened · At risk");
  assert.ok(lines.includes("Service: Location: HERAKLION · Type: Operational (Scheduled) / Core Line Fault".replace("Service: ", "")), lines.join("\n"));
});

void test("acking a Solved ticket does not say 'solved · Solved'", () => {
  const before = sampleTicket({ TT_Status: "Solved", History: "fixed", End_Datetime: "2008-12-16T12:00:00Z" });
  const after = { ...before, Contact_Engineers: ["alice"], History: "fixed\n2008-12-16T12:30:00Z alice: acknowledged" };
  const activity = ticketActivity("Update", after, actor, published);
  const card = renderActivity(activity, athens, changedFields(before, after));
  assert.equal(card.split("\n")[0], "*01_5985* update · Solved · No connectivity");
  assert.equal(verbFor(activity, changedFields(before, after)), "update");
});

void test("renderCompactUpdate: id, status, what changed, the new History line; a final status in one line", () => {
  const opened = sampleTicket({ History: "Link down" });
  const cases: { name: string; input: { before: Ticket; after: Ticket }; expected: string }[] = [
    {
      name: "status and impact changed, new History line",
      input: { before: opened, after: { ...opened, TT_Status: "Updated", TT_Impact_Assessment: "On backup", History: "Link down\n2008-12-16T09:00:00Z alice: traffic on backup" } },
      expected: "*01_5985* Updated · status Opened → Updated · impact No connectivity → On backup\nHistory: 2008-12-16 11:00 EET alice: traffic on backup",
    },
    {
      name: "only History",
      input: { before: opened, after: { ...opened, History: "Link down\ncarrier on site" } },
      expected: "*01_5985* Opened\nHistory: carrier on site",
    },
    {
      name: "solved (not final): short, with the end time",
      input: { before: opened, after: { ...opened, TT_Status: "Solved", End_Datetime: "2008-12-16T13:00:00Z", History: "Link down\nspliced" } },
      expected: "*01_5985* Solved · status Opened → Solved · end: 2008-12-16 15:00 EET\nHistory: spliced",
    },
    {
      name: "closed: one line",
      input: { before: { ...opened, TT_Status: "Updated" }, after: { ...opened, TT_Status: "Closed", TT_Close_Datetime: "2008-12-16T13:05:00Z", End_Datetime: "2008-12-16T13:00:00Z", History: "Link down\n2008-12-16T13:05:00Z alice: closed" } },
      expected: "*01_5985* closed (was Updated) · Forth Link Failure · 2008-12-16 15:05 EET alice: closed",
    },
    {
      name: "planned maintenance, window moved",
      input: {
        before: sampleTicket({ Type: "Scheduled", Time_Window_Start: "2008-12-20T01:00:00+02:00", Time_Window_End: "2008-12-20T05:00:00+02:00" }),
        after: sampleTicket({ Type: "Scheduled", Time_Window_Start: "2008-12-21T01:00:00+02:00", Time_Window_End: "2008-12-21T05:00:00+02:00" }),
      },
      expected: "*01_5985* Planned maintenance 2008-12-21 01:00 – 05:00 EET · Opened · window start 2008-12-20 01:00 EET → 2008-12-21 01:00 EET · window end 2008-12-20 05:00 EET → 2008-12-21 05:00 EET",
    },
    {
      name: "outside text in a change stays one line and unstyled",
      input: { before: opened, after: { ...opened, TT_Title: "New *title*\n*01_5986* closed" } },
      expected: "*01_5985* Opened · title → New \u2060*title* \u2060*01\\_5986* closed".replace("\\_", "_"),
    },
  ];
  for (const { name, input, expected } of cases) {
    const body = renderCompactUpdate(ticketActivity("Update", input.after, actor, published), input.before, athens);
    assert.equal(body, expected, name);
    for (const line of body.split("\n")) for (const span of spansOf(line)) assert.equal(span.start, 0, `${name}: only the id is styled: ${line}`);
  }
});

void test("describeChanges: every field has a label; first values, removed values, lists and long texts read as an engineer says them", () => {
  const cases: { name: string; input: { field: string; before?: string; after?: string }[]; expected: string }[] = [
    { name: "a changed value", input: [{ field: "TT_Impact_Assessment", before: "No connectivity", after: "On backup" }], expected: "impact No connectivity → On backup" },
    { name: "a first value", input: [{ field: "Contact_Engineers", after: "engineer@demo.localhost" }], expected: "engineers: engineer@demo.localhost" },
    { name: "a first time", input: [{ field: "End_Datetime", after: "2008-12-16T13:00:00Z" }], expected: "end: 2008-12-16 15:00 EET" },
    { name: "a value taken away (reopen)", input: [{ field: "Close_Engineer", before: "engineer@demo.localhost" }], expected: "closed by: none (was engineer@demo.localhost)" },
    { name: "a time taken away", input: [{ field: "TT_Close_Datetime", before: "2008-12-16T13:05:00Z" }], expected: "close time: none (was 2008-12-16 15:05 EET)" },
    { name: "added to a list", input: [{ field: "Contact_Engineers", before: "alice", after: "alice, bob" }], expected: "engineers: added bob" },
    { name: "removed from a list", input: [{ field: "Related_Activity", before: "EXN_1, EXN_2", after: "EXN_2" }], expected: "related: removed EXN_1" },
    { name: "a list reordered (assign)", input: [{ field: "Contact_Engineers", before: "alice, bob", after: "bob, alice" }], expected: "engineers alice, bob → bob, alice" },
    { name: "a long text: named, with what happened", input: [{ field: "TT_Long_Description", before: "a", after: "b" }], expected: "description changed" },
    { name: "History with a new last line: left to the History line", input: [{ field: "History", before: "a", after: "a\nb" }], expected: "" },
    { name: "History changed elsewhere", input: [{ field: "History", before: "a\nb", after: "a2\nb" }], expected: "history changed" },
    { name: "RFC names never shown", input: [{ field: "Open_Engineer", after: "noc@x" }, { field: "TT_Source", before: "Automatic", after: "Manual" }], expected: "opened by: noc@x, source Automatic → Manual" },
  ];
  for (const { name, input, expected } of cases) assert.equal(describeChanges(input.map((c) => ({ field: c.field, before: c.before, after: c.after })), "Europe/Athens"), expected, name);
  for (const [field, label] of Object.entries(FIELD_LABELS)) assert.match(label, /^[a-z][a-z AB]*$/, `${field} has a plain label`);
});

void test("historyForRoom and historyInTimeOrder: times as everywhere else, lines in time order (shown, not stored)", () => {
  const lines: { input: string; expected: string }[] = [
    { input: "2026-12-01T09:41:00Z engineer@demo.localhost: reopened (was Closed since 2026-12-01T09:40:57Z)", expected: "2026-12-01 11:41 EET engineer@demo.localhost: reopened (was Closed since 2026-12-01 11:40 EET)" },
    { input: "Link down, detected by monitoring", expected: "Link down, detected by monitoring" },
    { input: "2026-12-01T09:41:00+01:00 carrier: on site", expected: "2026-12-01 10:41 EET carrier: on site" },
    { input: "not a time 2026-02-30T09:41:00Z", expected: "not a time 2026-02-30T09:41:00Z" },
  ];
  for (const { input, expected } of lines) assert.equal(historyForRoom(input, "Europe/Athens"), expected, input);

  const orders: { name: string; input: string; expected: string[] }[] = [
    {
      name: "a feed line dated before the bot's lines",
      input: "2026-12-01T09:40:57Z alice: closed\n2026-12-01T09:41:00Z alice: reopened\n2026-11-28T10:00:00Z noc: fibre cut reported",
      expected: ["2026-11-28T10:00:00Z noc: fibre cut reported", "2026-12-01T09:40:57Z alice: closed", "2026-12-01T09:41:00Z alice: reopened"],
    },
    { name: "untimed text first stays first; a continuation stays with its line", input: "Link down\n2026-12-02T00:00:00Z b: two\n  more of two\n2026-12-01T00:00:00Z a: one", expected: ["Link down", "2026-12-01T00:00:00Z a: one", "2026-12-02T00:00:00Z b: two", "  more of two"] },
    { name: "equal times in the order written", input: "2026-12-01T00:00:00Z b\n2026-12-01T00:00:00Z a", expected: ["2026-12-01T00:00:00Z b", "2026-12-01T00:00:00Z a"] },
    { name: "empty", input: "", expected: [] },
  ];
  for (const { name, input, expected } of orders) assert.deepEqual(historyInTimeOrder(input), expected, name);
});

void test("unstyle: styled text as plain text for ad-hoc notes", () => {
  const cases: { input: string; expected: string }[] = [
    { input: "*EXN_1* acknowledged by alice@x.", expected: "EXN_1 acknowledged by alice@x." },
    { input: "*Commands*\n• !ack <ticket>: _acknowledge_ ~it~", expected: "Commands\n• !ack <ticket>: acknowledge it" },
    { input: "_*both*_", expected: "both" },
    { input: "2 * 3 * 4 and snake_case_name", expected: "2 * 3 * 4 and snake_case_name" },
    { input: "run `*not bold*` now", expected: "run `*not bold*` now" },
    { input: "```\n*kept*\n```\n*gone*", expected: "```\n*kept*\n```\ngone" },
    { input: `title \u2060*outside* text`, expected: "title *outside* text" },
    { input: "> quoted *bold*", expected: "> quoted bold" },
  ];
  for (const { input, expected } of cases) assert.equal(unstyle(input), expected, input);
});
