/**
 * Mapping rules (pure): how one NOC's feed wording becomes NTTDM field values. Rules for a field are
 * tried in order; the first that yields a value wins.
 */
import type { MappingRule } from "../../config/schema.js";
import type { ItemValues } from "../sources/feed/parse.js";

export type RuleValue = string | string[];

/** Applies one rule to an item; undefined when the rule does not yield a value. */
export function applyRule(rule: MappingRule, values: ItemValues): RuleValue | undefined {
  if (rule.from === undefined) return rule.value;
  const source = values[rule.from];
  if (source === undefined) return rule.value;
  const inputs = Array.isArray(source) ? source : [source];
  let out: string[] = [];
  if (rule.regex === undefined) {
    out = inputs;
  } else {
    const flags = rule.flags + (rule.all ? "g" : "");
    for (const input of inputs) {
      const re = new RegExp(rule.regex, flags);
      if (rule.all) {
        for (const m of input.matchAll(re)) pushCapture(out, m, rule.group);
      } else {
        const m = re.exec(input);
        if (m) pushCapture(out, m, rule.group);
      }
      if (!rule.all && out.length > 0) break;
    }
  }
  if (rule.map) out = out.map((v) => lookup(rule.map ?? {}, v));
  out = out.map((v) => v.trim()).filter((v) => v !== "");
  if (out.length === 0) return rule.value;
  // A list field keeps every value; a single field takes the first (see toTicketFields).
  return rule.all || Array.isArray(source) ? out : out[0];
}

function pushCapture(out: string[], m: RegExpMatchArray, group: number | string): void {
  const v = typeof group === "number" ? m[group] : m.groups?.[group];
  if (v !== undefined) out.push(v);
}

/** Case-insensitive lookup; unmapped text passes through unchanged (validation names it if wrong). */
function lookup(map: Record<string, string>, key: string): string {
  const wanted = key.trim().toLowerCase();
  for (const [k, v] of Object.entries(map)) if (k.toLowerCase() === wanted) return v;
  return key;
}

export function applyRules(rules: MappingRule | MappingRule[], values: ItemValues): RuleValue | undefined {
  for (const rule of Array.isArray(rules) ? rules : [rules]) {
    const v = applyRule(rule, values);
    // A static "" is a deliberate value (e.g. an empty History); an empty list is no value.
    if (v !== undefined && !(Array.isArray(v) && v.length === 0)) return v;
  }
  return undefined;
}

/** Describes rules for a log line: `description =~ /Impact: (\w+)/` etc. */
export function describeRules(rules: MappingRule | MappingRule[]): string {
  return (Array.isArray(rules) ? rules : [rules])
    .map((r) => (r.from === undefined ? `value ${JSON.stringify(r.value)}` : r.regex ? `${r.from} =~ /${r.regex}/${r.flags}` : r.from))
    .join(" | ");
}
