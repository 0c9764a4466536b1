/**
 * Named values → NTTDM ticket through mapping rules (pure), for sources whose items are not feed
 * items: plain-text mails (subject, from, header:…) and webhook bodies (labels.…, JSON paths). The
 * rules are the feeds' (src/translate/rules.ts); what this adds is how a source's own values meet
 * them: values the source sets whatever the rules say, fields kept from the stored ticket.
 */
import { MappingRule, type Mapping, type ValueMapping, type ValueRule } from "../../config/schema.js";
import type { Ticket, TicketField } from "../model/ticket.js";
import { applyRules, type RuleValue } from "../translate/rules.js";
import { valuesToTicket as translate, type TranslateProblem } from "../translate/values-to-ticket.js";
import type { Result } from "../util/result.js";

/** What a source extracted from one item, by name (`subject`, `header:x-original-sender`, `labels.severity`). */
export type NamedValues = Readonly<Record<string, string | string[] | undefined>>;

/** The first value the rules yield. */
export function ruleValue(rules: ValueRule | ValueRule[], values: NamedValues): RuleValue | undefined {
  return applyRules(rules, values);
}

/** A static value, as a rule (for a source's defaults). */
export const fixedRule = (value: string): ValueRule => MappingRule.parse({ value });
/** The named value as it is (for a source's defaults). */
export const fromRule = (from: string, regex?: string): ValueRule => MappingRule.parse({ from, ...(regex !== undefined ? { regex } : {}) });

const COMPUTED: ReadonlySet<string> = new Set(["Partner_ID", "TT_ID"]);

export type ValuesToTicketInput = {
  values: NamedValues;
  /** The configured rules: tried first. */
  mapping: ValueMapping;
  /** The source's defaults: used for fields the configured rules do not give (and `base` lacks). */
  defaults: Partial<Record<TicketField, ValueRule[]>>;
  /** Set by the source whatever the rules say (e.g. Alertmanager's firing/resolved → status). */
  overrides?: Partial<Record<TicketField, RuleValue>> | undefined;
  /** Fields left out whatever `base` had (a reopened alert's old close times). */
  omit?: readonly TicketField[] | undefined;
  partnerId: string;
  /** The stored ticket this item updates: fields the item does not give are kept from it. */
  base?: Ticket | undefined;
  now: Date;
};

/**
 * The generic translator (src/translate/values-to-ticket.ts) with what these sources add, as rules:
 * an override is a static rule before the configured ones, a field of `base` is the fallback before
 * the source's defaults, an omitted field neither.
 */
export function valuesToTicket(input: ValuesToTicketInput): Result<Ticket, TranslateProblem[]> {
  const omit = new Set<string>(input.omit ?? []);
  const mapping: Mapping = { ...input.mapping };
  for (const [field, value] of Object.entries(input.overrides ?? {}) as [TicketField, RuleValue | undefined][]) {
    if (value !== undefined) mapping[field] = MappingRule.parse({ value });
  }
  const defaults: Partial<Record<TicketField, MappingRule[]>> = {};
  for (const [field, rules] of Object.entries(input.defaults) as [TicketField, ValueRule[] | undefined][]) if (rules && !omit.has(field)) defaults[field] = rules;
  for (const [field, value] of Object.entries(input.base ?? {}) as [TicketField, unknown][]) {
    if (COMPUTED.has(field) || omit.has(field) || value === undefined) continue;
    if (typeof value === "string" || (Array.isArray(value) && value.every((x) => typeof x === "string"))) defaults[field] = [MappingRule.parse({ value })];
  }
  for (const field of omit) delete mapping[field as TicketField];
  // A configured rule that yields nothing falls back to the stored value, then to the default.
  const fallback = MappingRule.parse({ then: "default" });
  for (const [field, rules] of Object.entries(mapping) as [TicketField, MappingRule | MappingRule[] | undefined][]) {
    if (rules !== undefined && input.overrides?.[field] === undefined) mapping[field] = [...(Array.isArray(rules) ? rules : [rules]), fallback];
  }
  return translate(input.values, mapping, { partnerId: input.partnerId, now: input.now, defaults, traced: false }).result;
}

/** "2026-11-28T10:00:00.000Z" → "2026-11-28T10:00:00Z" (RFC 3339 as NTTDM wants it, §2.2.3). */
export const isoSeconds = (d: Date): string => d.toISOString().replace(/\.\d{3}Z$/, "Z");
