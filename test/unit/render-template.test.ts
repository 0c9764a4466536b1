import { test } from "node:test";
import assert from "node:assert/strict";
import { DEFAULT_TEMPLATE, fillTemplate, renderActivity, renderTemplate } from "../../src/render/ticket-message.js";
import { escapeOutside } from "../../src/render/outside.js";
import { escapeMarkdown, inlineAlone, markdownToStyled } from "../../src/render/xep0393.js";
import { ticketActivity } from "../../src/model/activity.js";
import { sampleTicket } from "../fixtures/tickets.js";

const whole = (template: string, values: Record<string, string>): string => markdownToStyled(fillTemplate(template, values));

void test("inlineAlone: escaped text shows as itself, bold escaped text as *text*, anything whose look depends on its place is undefined", () => {
  const cases: [string, string | undefined][] = [
    [escapeMarkdown("Fibre cut (A-B) #3 <x> & y = z"), "Fibre cut (A-B) #3 <x> & y = z"],
    [`**${escapeMarkdown("EXN_1")}**`, "*EXN_1*"],
    ["<https://noc.example.net/tt/1>", "https://noc.example.net/tt/1"],
    [" leading space", undefined],
    ["trailing space ", undefined],
    ["a / b", undefined],
    ["two\nlines", undefined],
    ["# heading", undefined],
    ["", undefined],
  ];
  for (const [input, expected] of cases) assert.equal(inlineAlone(input), expected, JSON.stringify(input));
});

/** Deterministic pseudo-random pick. */
function picker(seed: number): <T>(xs: readonly T[]) => T {
  let s = seed >>> 0;
  return <T>(xs: readonly T[]): T => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return xs[Math.floor((s / 4294967296) * xs.length)] as T;
  };
}

void test("renderTemplate shows exactly what rendering the filled template whole shows, for outside text of every kind and templates with markup", () => {
  const outside = [
    "Fibre cut Stockholm-Copenhagen",
    "*bold?* _it_ ~s~ `code`",
    "a / b",
    "  padded  ",
    "> quote",
    "1. list",
    "# not a heading",
    "x\u2028y",
    "<https://evil.example/>",
    "[link](https://evil.example/)",
    "&amp; &lt;",
    "tab\there",
    "\\ back\\slash",
    "ends with /",
    "===",
    "---",
    "emoji 😀 and ünïcödé",
    "\u202Ebidi",
    "**",
    "",
  ];
  const templates = [
    DEFAULT_TEMPLATE,
    "{{heading}} {{a}} · {{b}}\n{{c}}",
    "**{{a}}** and _{{b}}_",
    "{{a}}{{b}}",
    "> {{a}}\n> {{b}}",
    "- {{a}}\n- {{b}}",
    "[{{a}}]({{c}})",
    "{{a}} / {{b}} · {{c}}",
    "# {{a}}\n\n{{b}}",
    "`{{a}}` {{b}}",
  ];
  const pick = picker(42);
  let fast = 0;
  for (let i = 0; i < 3000; i++) {
    const template = pick(templates);
    const values: Record<string, string> = {
      heading: pick([`**${escapeOutside("EXN_" + String(i))}**`, escapeOutside("EXN*1"), ""]),
      a: escapeOutside(pick(outside)),
      b: escapeOutside(pick(outside)),
      c: pick([escapeOutside(pick(outside)), "<https://noc.example.net/tt/1>", ""]),
      link: pick(["<https://noc.example.net/tt/9>", "<HTTP://NOC.Example.NET:8443/Ticket/Display.html?id=9&x=(1)#top>", "<https://noc.example.net/a%20b>", "<https://noc.example.net/[x]>", "<https://xn--nc-xla.example/ö>", "<https://noc.example.net/a*b_c~>", ""]),
    };
    // Every other case: outside text of the common kind only (the quick way applies).
    const pool = i % 2 === 0 ? outside : ["Fibre cut Stockholm-Copenhagen", "emoji 😀 and ünïcödé", "*bold?* _it_ ~s~ `code`", "&amp; &lt;", "ends with /"];
    if (i % 2 === 1) {
      values.a = escapeOutside(pick(pool));
      values.b = escapeOutside(pick(pool));
    }
    for (const f of ["verb", "planned", "status", "impact", "title", "service", "location", "type", "trouble", "problem", "nodes", "circuits", "start", "end", "window", "priority", "related", "changes", "history"])
      values[f] = escapeOutside(pick(pool));
    const got = renderTemplate(template, values);
    assert.equal(got, whole(template, values), `${JSON.stringify(template)} with ${JSON.stringify(values)}`);
    if (template === DEFAULT_TEMPLATE && Object.values(values).every((v) => v === "" || inlineAlone(v) !== undefined)) fast++;
  }
  assert.ok(fast > 100, `the quick way was taken (${fast} times)`);
});

void test("a ticket card is the same as before, rendered the quick way", () => {
  const t = sampleTicket({ TT_Title: "Fibre cut (A-B)", Network_Link_Circuit: ["EXN-C-1", "EXN-C-2"] });
  const a = ticketActivity("Create", t, { type: "Organization", id: "https://noc.example.net/", name: "ExampleNet NOC" }, new Date("2026-11-28T10:00:00Z"), "https://noc.example.net/tt/5985");
  const card = renderActivity(a, { maxLongDescription: 600, timeZone: "UTC" });
  assert.match(card, /^\*01_5985\* new · Opened · No connectivity\nFibre cut \(A-B\)\n/);
  assert.match(card, /Circuits: EXN-C-1, EXN-C-2/);
  assert.match(card, /\nhttps:\/\/noc\.example\.net\/tt\/5985\n/);
});

/** fillTemplate as it was written first (regexes over each line): the reference for the one that takes the template apart once. */
function fillTemplateByRegex(template: string, values: Record<string, string>): string {
  const lines: string[] = [];
  for (const line of template.split("\n")) {
    if (!line.includes("{{")) {
      lines.push(line.trim() === "" ? "" : line);
      continue;
    }
    const segments = line.split(" · ").filter((seg) => {
      const names = [...seg.matchAll(/\{\{(\w+)\}\}/g)].map((m) => m[1] ?? "");
      return names.length === 0 || names.some((n) => (values[n] ?? "") !== "");
    });
    const text = segments
      .join(" · ")
      .replace(/\{\{(\w+)\}\}/g, (_, n: string) => values[n] ?? "")
      .replace(/ \/ (?=$| ·)/g, "")
      .trim();
    if (text !== "") lines.push(text);
  }
  const kept = lines.filter((line, i) => line !== "" || (i > 0 && lines[i - 1] !== ""));
  while (kept.at(-1) === "") kept.pop();
  return kept.join("\n");
}

void test("fillTemplate fills every template as the regexes over each line did, values that look like placeholders or separators included", () => {
  const pick = picker(23);
  const pieces = ["{{a}}", "{{b}}", "{{c}}", "{{ a }}", "{{{a}}}", "{{", "}}", " · ", " / ", "Status: ", "*", "x", " ", "", "\n", "\n\n", "{{a}}{{b}}", "{{unknown}}"];
  const values = ["", "v", " padded ", "{{b}}", " · ", "a / ", " / ", "*bold*", "two\nlines"];
  const templates = [DEFAULT_TEMPLATE];
  for (let n = 0; n < 400; n++) {
    let t = "";
    for (let k = 0; k < 12; k++) t += pick(pieces);
    templates.push(t);
  }
  for (const template of templates)
    for (let n = 0; n < 10; n++) {
      const v = { a: pick(values), b: pick(values), c: pick(values) };
      assert.equal(fillTemplate(template, v), fillTemplateByRegex(template, v), JSON.stringify({ template, v }));
    }
});
