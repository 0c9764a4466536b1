/**
 * The mapping-rule engine (pure): how what a source received — a record of named values (feed
 * item fields and paths, e-mail subject/from/header:X, webhook JSON paths) — becomes NTTDM field
 * values. The engine knows no source: the names are the source's business (each source's config
 * schema checks them). Rules for a field are tried in order; the first that yields a value wins.
 * Every rule's outcome is recorded, so `ttrelay replay` can say which rule gave a value, or why
 * none did. Regular expressions run on RE2 (linear time, src/util/safe-regex.ts).
 */
import { hash } from "node:crypto";
import { decodeHTML } from "entities";
import { convert } from "html-to-text";
import type { MappingRule, RuleCondition } from "../../config/schema.js";
import { compileSafe, type SafeMatch, type SafeRegex } from "../util/safe-regex.js";
import { PairMemo } from "../util/memo.js";
import type { Result } from "../util/result.js";

/** What a source received: values by field name (or path). A list keeps every occurrence in order. */
export type SourceValues = Readonly<Record<string, string | readonly string[] | undefined>>;

export type RuleValue = string | string[];

/** Values of ticket fields already mapped, for `when: { field }` conditions. */
export type RuleContext = { ticketField?: ((field: string) => string | readonly string[] | undefined) | undefined };

export const RuleOutcomes = ["value", "no-field", "no-match", "empty", "condition", "missing", "invalid"] as const;
export type RuleOutcome = (typeof RuleOutcomes)[number];

/** What one rule did; `origin` says whether it came from the config or the built-in defaults. */
export type RuleStep = { index: number; origin: "config" | "default"; rule: string; outcome: RuleOutcome; detail?: string | undefined };

export type RulesResult = {
  value: RuleValue | undefined;
  /** The rule that gave the value (for its `date` options and for `replay`). */
  rule?: MappingRule | undefined;
  steps: RuleStep[];
};

/** Own properties only: a field named "constructor" or "__proto__" is just an absent field. */
export function fieldValue(values: SourceValues, name: string): string | readonly string[] | undefined {
  return Object.hasOwn(values, name) ? values[name] : undefined;
}

const first = (v: string | readonly string[] | undefined): string | undefined => (typeof v === "string" ? v : v?.[0]);

const nonEmpty = (v: string | readonly string[] | undefined): boolean =>
  v !== undefined && (typeof v === "string" ? v.trim() !== "" : v.some((x) => x.trim() !== ""));

/** "no connectivity", "NO_CONNECTIVITY" and "No-Connectivity" all mean "No connectivity". */
export const squash = (s: string): string => s.toLowerCase().replace(/[\s_-]+/g, "");

/** HTML → plain text: tags dropped, entities decoded, links without their targets, no wrapping. */
export function htmlToText(html: string): string {
  // Plain text (no tag at all) keeps its lines; only its entities are decoded.
  if (!/<[A-Za-z!/][^>]*>/.test(html)) return decodeEntities(html);
  return convert(html, {
    wordwrap: false,
    preserveNewlines: false,
    selectors: [
      { selector: "a", options: { ignoreHref: true } },
      { selector: "img", format: "skip" },
      ...["h1", "h2", "h3", "h4", "h5", "h6"].map((selector) => ({ selector, options: { uppercase: false } })),
      { selector: "table", format: "dataTable" },
    ],
  }).trim();
}

/** Only the entities decoded (`AT&amp;T &#x2013; &lt;core&gt;` → `AT&T – <core>`); a literal "<" stays. */
export function decodeEntities(text: string): string {
  return text.includes("&") ? decodeHTML(text) : text;
}

/** Each rule's (or condition's) regex, compiled once per config object rather than looked up by text per item. */
const compiled = new WeakMap<object, Result<SafeRegex, string>>();
function regexOf(owner: MappingRule | RuleCondition, regex: string, flags: string): Result<SafeRegex, string> {
  let re = compiled.get(owner);
  if (re === undefined) {
    re = compileSafe(regex, flags);
    compiled.set(owner, re);
  }
  return re;
}

type Capture = { groups: readonly (string | undefined)[]; named: Readonly<Record<string, string | undefined>> };

function conditionHolds(c: RuleCondition, values: SourceValues, ctx: RuleContext): { holds: boolean; why: string } {
  const name = c.from ?? c.field ?? "";
  const raw = c.from !== undefined ? fieldValue(values, c.from) : ctx.ticketField?.(c.field ?? "");
  const list = raw === undefined ? [] : typeof raw === "string" ? [raw] : [...raw];
  let holds = true;
  const parts: string[] = [];
  if (c.present !== undefined) {
    holds &&= nonEmpty(raw) === c.present;
    parts.push(c.present ? "present" : "absent");
  }
  if (c.equals !== undefined) {
    const wanted = (Array.isArray(c.equals) ? c.equals : [c.equals]).map(squash);
    holds &&= list.some((v) => wanted.includes(squash(v)));
    parts.push(`one of ${(Array.isArray(c.equals) ? c.equals : [c.equals]).join(", ")}`);
  }
  if (c.regex !== undefined) {
    const re = regexOf(c, c.regex, c.flags);
    holds &&= re.ok && list.some((v) => re.value.test(v));
    parts.push(`=~ /${c.regex}/${c.flags}`);
  }
  if (c.not) holds = !holds;
  const shown = first(raw);
  const now = shown === undefined ? "absent" : JSON.stringify(clip(shown));
  return { holds, why: `${c.field !== undefined ? c.field : name} ${c.not ? "not " : ""}${parts.join(" and ")} (is ${now})` };
}

const PLACEHOLDER = /\{\{|\}\}|\{([^{}]+)\}/g;

/** Fills `{1}`, `{name}`, `{field}`, `{field?}`; undefined when a required placeholder has no value. */
function fillTemplate(template: string, capture: Capture | undefined, values: SourceValues): { text?: string; missing?: string } {
  let missing: string | undefined;
  const text = template.replace(PLACEHOLDER, (whole, inner?: string) => {
    if (inner === undefined) return whole === "{{" ? "{" : "}";
    const optional = inner.endsWith("?");
    const name = optional ? inner.slice(0, -1) : inner;
    let v: string | undefined;
    if (/^\d+$/.test(name)) v = capture?.groups[Number(name)];
    else v = (capture && Object.hasOwn(capture.named, name) ? capture.named[name] : undefined) ?? first(fieldValue(values, name));
    if (v === undefined || v.trim() === "") {
      if (!optional) missing ??= name;
      return "";
    }
    return v.trim();
  });
  return missing !== undefined ? { missing } : { text };
}

function pick(capture: Capture, group: number | string): string | undefined {
  return typeof group === "number" ? capture.groups[group] : Object.hasOwn(capture.named, group) ? capture.named[group] : undefined;
}

/** Case-insensitive lookup; unmapped text passes through unchanged (validation names it if wrong). */
function lookup(map: Readonly<Record<string, string>>, key: string): string {
  const wanted = key.trim().toLowerCase();
  for (const [k, v] of Object.entries(map)) if (k.toLowerCase() === wanted) return v;
  return key;
}

const shortHash = (s: string): string => "h" + hash("sha256", s).slice(0, 16);

/** `detail`: made only when a trace is kept (`runExpanded` with `traced`): most translations keep none. */
type Applied = { value?: RuleValue; outcome: RuleOutcome; detail?: () => string };

const withFallback = (rule: MappingRule, outcome: RuleOutcome, detail?: () => string): Applied =>
  rule.value !== undefined
    ? { value: typeof rule.value === "string" ? rule.value : [...rule.value], outcome: "value", detail: () => `static value after: ${detail?.() ?? outcome}` }
    : detail
      ? { outcome, detail }
      : { outcome };

const htmlAs = (rule: MappingRule, v: string): string => (rule.html === true ? htmlToText(v) : rule.html === "entities" ? decodeEntities(v) : v);

function run(rule: MappingRule, values: SourceValues, ctx: RuleContext): Applied {
  for (const c of rule.when ?? []) {
    const { holds, why } = conditionHolds(c, values, ctx);
    if (!holds) return { outcome: "condition", detail: () => `condition not met: ${why}` };
  }
  if (rule.from === undefined) {
    if (rule.template !== undefined) {
      const filled = fillTemplate(rule.template, undefined, values);
      if (filled.text === undefined) return withFallback(rule, "missing", () => `template needs {${filled.missing ?? "?"}}`);
      return finish(rule, [filled.text], false);
    }
    if (rule.value === undefined) return { outcome: "empty" };
    return { value: typeof rule.value === "string" ? rule.value : [...rule.value], outcome: "value" };
  }
  const source = fieldValue(values, rule.from);
  if (source === undefined) {
    const from = rule.from;
    return withFallback(rule, "no-field", () => `${from} is absent`);
  }
  const listSource = typeof source !== "string";
  const re = rule.regex === undefined ? undefined : regexOf(rule, rule.regex, rule.flags);
  if (re && !re.ok) return { outcome: "invalid", detail: () => re.error };
  // One value (most fields of most sources): no list of inputs, no list of captures.
  if (!listSource && re && !rule.all && rule.template === undefined) {
    const input = htmlAs(rule, source);
    const m = re.value.exec(input);
    if (!m) return withFallback(rule, "no-match", () => noMatchHint(rule, [input]));
    const v = pick(m, rule.group);
    return finish(rule, v === undefined ? [] : [v], false);
  }
  const inputs = (typeof source === "string" ? [source] : [...source]).map((v) => htmlAs(rule, v));

  const captures: Capture[] = [];
  if (!re) {
    for (const input of inputs) captures.push({ groups: [input], named: {} });
  } else {
    for (const input of inputs) {
      if (rule.all) captures.push(...re.value.all(input).map(toCapture));
      else {
        const m = re.value.exec(input);
        if (m) {
          captures.push(toCapture(m));
          break;
        }
      }
    }
    if (captures.length === 0) return withFallback(rule, "no-match", () => noMatchHint(rule, inputs));
  }
  const out: string[] = [];
  let missing: string | undefined;
  for (const capture of captures) {
    if (rule.template !== undefined) {
      const filled = fillTemplate(rule.template, capture, values);
      if (filled.text === undefined) missing ??= filled.missing;
      else out.push(filled.text);
    } else {
      const v = pick(capture, rule.regex === undefined ? 0 : rule.group);
      if (v !== undefined) out.push(v);
    }
  }
  if (out.length === 0 && missing !== undefined) return withFallback(rule, "missing", () => `template needs {${missing ?? "?"}}`);
  return finish(rule, out, rule.all || listSource);
}

function finish(rule: MappingRule, raw: readonly string[], asList: boolean): Applied {
  // One value without a map, reversal or hash (the common case): no lists made.
  if (raw.length === 1 && !rule.map && !rule.hash) {
    const v = (raw[0] ?? "").trim();
    if (v === "") return withFallback(rule, "empty", () => "the value is empty");
    return { value: asList ? [v] : v, outcome: "value" };
  }
  let out = raw.map((v) => (rule.map ? lookup(rule.map, v) : v)).map((v) => v.trim()).filter((v) => v !== "");
  if (rule.reverse) out.reverse();
  if (rule.hash) out = out.map(shortHash);
  if (out.length === 0) return withFallback(rule, "empty", () => "the value is empty");
  // A list field keeps every value; a single field takes the first.
  return { value: asList ? out : (out[0] ?? ""), outcome: "value" };
}

const toCapture = (m: SafeMatch): Capture => ({ groups: m.groups, named: m.named });

/** The commonest mistake: `^…$` without the m flag on text of several lines. */
function noMatchHint(rule: MappingRule, inputs: readonly string[]): string {
  const anchored = /^\^|[^\\]\$$/.test(rule.regex ?? "");
  if (anchored && !rule.flags.includes("m") && inputs.some((i) => i.includes("\n")))
    return `no match (the text has several lines and ^/$ anchor the whole text: add the "m" flag)`;
  return "no match";
}

/** Applies one rule; undefined when it does not yield a value. */
export function applyRule(rule: MappingRule, values: SourceValues, ctx: RuleContext = {}): RuleValue | undefined {
  return run(rule, values, ctx).value;
}

const isRuleList = (r: MappingRule | readonly MappingRule[]): r is readonly MappingRule[] => Array.isArray(r);

export type Expanded = { rule: MappingRule; origin: "config" | "default"; index: number }[];
/** Per rule list (config objects, never changed), per defaults and origin: expanded once. */
const expanded = new PairMemo<object, readonly MappingRule[], Partial<Record<"config" | "default", Expanded>>>();
const NO_DEFAULTS: readonly MappingRule[] = [];

/** Rules as configured, with `then: "default"` replaced by the built-in rules at that place. */
export function expandRules(
  rules: MappingRule | readonly MappingRule[],
  defaults: readonly MappingRule[] = NO_DEFAULTS,
  origin: "config" | "default" = "config",
): Expanded {
  const byOrigin = expanded.get(rules, defaults, () => ({}));
  return (byOrigin[origin] ??= expandRulesOnce(rules, defaults, origin));
}

function expandRulesOnce(rules: MappingRule | readonly MappingRule[], defaults: readonly MappingRule[], origin: "config" | "default"): Expanded {
  const out: Expanded = [];
  const list: readonly MappingRule[] = isRuleList(rules) ? rules : [rules];
  list.forEach((rule, index) => {
    if (rule.from !== undefined || rule.value !== undefined || rule.template !== undefined) out.push({ rule, origin, index });
    if (rule.then === "default") defaults.forEach((d, i) => out.push({ rule: d, origin: "default", index: i }));
  });
  return out;
}

/** Tries rules in order; the first value wins. Every rule tried is in `steps`. */
export function runRules(
  rules: MappingRule | readonly MappingRule[],
  values: SourceValues,
  ctx: RuleContext = {},
  defaults: readonly MappingRule[] = NO_DEFAULTS,
  origin: "config" | "default" = "config",
): RulesResult {
  return runExpanded(expandRules(rules, defaults, origin), values, ctx, true);
}

/**
 * `runRules` on rules expanded already (`expandRules`); `traced`: false leaves `steps` empty, which
 * spares making a step and its words for every rule of every field of every item (a translation
 * for the intake keeps no trace; only `replay` shows it).
 */
export function runExpanded(list: Expanded, values: SourceValues, ctx: RuleContext, traced: boolean): RulesResult {
  const steps: RuleStep[] = [];
  for (const { rule, origin: from, index } of list) {
    const r = run(rule, values, ctx);
    // A static "" is a deliberate value (e.g. an empty History); an empty list is no value.
    const usable = r.value !== undefined && !(Array.isArray(r.value) && r.value.length === 0);
    if (traced) steps.push({ index, origin: from, rule: describeRule(rule), outcome: usable ? "value" : r.outcome === "value" ? "empty" : r.outcome, ...(r.detail ? { detail: r.detail() } : {}) });
    if (usable) return { value: r.value, rule, steps };
  }
  return { value: undefined, steps };
}

export function applyRules(rules: MappingRule | readonly MappingRule[], values: SourceValues, ctx: RuleContext = {}): RuleValue | undefined {
  return runRules(rules, values, ctx).value;
}

const clip = (s: string): string => (s.length > 60 ? s.slice(0, 57) + "…" : s);

/** Rules come from config and never change: their descriptions are made once (one per rule and item was 4 % of a poll). */
const descriptions = new WeakMap<MappingRule, string>();

/** One rule for a log line: `description =~ /Impact: (\w+)/i`, `value "Opened"`, `template "NU_{1}"`. */
export function describeRule(r: MappingRule): string {
  let known = descriptions.get(r);
  if (known === undefined) {
    known = describeRuleOnce(r);
    descriptions.set(r, known);
  }
  return known;
}

function describeRuleOnce(r: MappingRule): string {
  const parts: string[] = [];
  if (r.when) parts.push(`when ${r.when.map((c) => c.from ?? c.field).join(", ")}:`);
  if (r.from !== undefined) parts.push(r.regex ? `${r.from} =~ /${r.regex}/${r.flags}` : r.from);
  if (r.template !== undefined) parts.push(`template ${JSON.stringify(r.template)}`);
  if (r.from === undefined && r.template === undefined && r.value !== undefined) parts.push(`value ${JSON.stringify(r.value)}`);
  else if (r.value !== undefined) parts.push(`else ${JSON.stringify(r.value)}`);
  if (r.from === undefined && r.template === undefined && r.value === undefined && r.then === "default") parts.push("the built-in rules");
  return parts.join(" ");
}

/** Describes rules for a log line, joined by " | ". */
export function describeRules(rules: MappingRule | readonly MappingRule[]): string {
  return (isRuleList(rules) ? rules : [rules]).map(describeRule).join(" | ");
}
