/**
 * Checks of a feed's mapping rules for `check-config` and `replay` (pure): rules that look wrong
 * before any item is seen, and rules that matched no item of a sample.
 */
import type { FeedConfig, MappingRule } from "../../config/schema.js";
import type { ItemTranslation } from "./item-to-ticket.js";
import { describeRule } from "./rules.js";
import { count } from "../render/plural.js";

export type RuleWarning = { path: string; message: string };

/** Fields that usually hold several lines: `^`/`$` without the m flag anchor the whole text there. */
const MULTI_LINE_FIELDS: ReadonlySet<string> = new Set(["description", "content", "content:encoded", "contentSnippet", "summary"]);

function ruleEntries(feed: FeedConfig, feedIndex: number): { field: string; index: number; path: string; rule: MappingRule }[] {
  const out: { field: string; index: number; path: string; rule: MappingRule }[] = [];
  for (const [field, rules] of Object.entries(feed.mapping)) {
    if (rules === undefined) continue;
    const list = Array.isArray(rules) ? rules : [rules];
    list.forEach((rule, index) => out.push({ field, index, rule, path: `$.feeds[${feedIndex}].mapping.${field}${Array.isArray(rules) ? `[${index}]` : ""}` }));
  }
  return out;
}

/** Rules that cannot be right whatever the feed says. */
export function staticRuleWarnings(feed: FeedConfig, feedIndex: number): RuleWarning[] {
  const warnings: RuleWarning[] = [];
  for (const { path, rule } of ruleEntries(feed, feedIndex)) {
    if (rule.regex === undefined || rule.from === undefined || rule.flags.includes("m") || !MULTI_LINE_FIELDS.has(rule.from)) continue;
    // A leading ^ is meant for a line ("^Status: …"); a lone trailing $ may well mean the end of the text.
    if (rule.regex.startsWith("^"))
      warnings.push({ path: `${path}.regex`, message: `${rule.from} usually has several lines, and without the "m" flag ^ and $ anchor the whole text: add "flags": "im"?` });
  }
  return warnings;
}

/**
 * Rules of the feed's own mapping that were tried on items of a sample and never gave a value
 * (a static `value` fallback does not count as a match). Rules never reached — an earlier rule
 * always gave the value — are not reported.
 */
export function unusedRuleWarnings(feed: FeedConfig, feedIndex: number, items: readonly ItemTranslation[]): RuleWarning[] {
  const warnings: RuleWarning[] = [];
  for (const { field, index, path, rule } of ruleEntries(feed, feedIndex)) {
    if (rule.from === undefined && rule.template === undefined) continue;
    let tried = 0;
    let matched = 0;
    let hint: string | undefined;
    let conditionOnly = true;
    for (const { translation } of items) {
      const trace = translation.trace.find((t) => t.field === field);
      const step = trace?.steps.find((s) => s.origin === "config" && s.index === index);
      if (!step) continue;
      tried++;
      conditionOnly &&= step.outcome === "condition";
      if (step.outcome === "value" && !(step.detail ?? "").startsWith("static value after")) matched++;
      if (step.detail?.includes('add the "m" flag')) hint = step.detail;
      else if (step.detail?.startsWith("static value after")) hint ??= step.detail.replace(/^static value after: /, "");
    }
    if (tried > 0 && matched === 0)
      warnings.push({
        path,
        message: conditionOnly
          ? `${describeRule(rule)}: its "when" held for none of the ${count(tried, "item")} of the sample`
          : `${describeRule(rule)} matched none of the ${count(tried, "item")} of the sample${hint ? ` (${hint})` : ""}`,
      });
  }
  return warnings;
}
