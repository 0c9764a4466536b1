/**
 * Named values → NTTDM ticket through mapping rules (pure), for sources whose items are not feed
 * items: plain-text mails (subject, from, header:…) and webhook bodies (labels.…, JSON paths). The
 * rules are the feeds' (src/translate/rules.ts); what this adds is how a source's own values meet
 * them: values the source sets whatever the rules say, fields kept from the stored ticket.
 */
import { MappingRule, type ValueMapping, type ValueRule } from "../../config/schema.js";
import {
  CloseFields,
  MandatoryFields,
  TicketFields,
  TicketImpactAssessments,
  TicketListFields,
  TicketPriorities,
  TicketShortDescriptions,
  TicketSources,
  TicketStatuses,
  TicketTypes,
  TroubleTypes,
  makeTicketId,
  validateTicket,
  type Ticket,
  type TicketField,
} from "../model/ticket.js";
import { readDate } from "../translate/dates.js";
import { sanitiseIdPart } from "../translate/item-to-ticket.js";
import { applyRules, describeRules, type RuleValue } from "../translate/rules.js";
import { canonicalClosedValue, type TranslateProblem } from "../translate/values-to-ticket.js";
import { ok, err, type Result } from "../util/result.js";

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

const CLOSED_SETS: Partial<Record<TicketField, readonly string[]>> = {
  TT_Type: TicketTypes,
  Type: TroubleTypes,
  TT_Priority: TicketPriorities,
  TT_Status: TicketStatuses,
  TT_Source: TicketSources,
  TT_Short_Description: TicketShortDescriptions,
  TT_Impact_Assessment: TicketImpactAssessments,
};
const LIST_FIELDS: ReadonlySet<string> = new Set(TicketListFields);
const KNOWN_FIELDS: ReadonlySet<string> = new Set(TicketFields);
const DATE_FIELDS: ReadonlySet<string> = new Set(TicketFields.filter((f) => /Date|Time_Window|_Time$/.test(f)));
const OPEN_MANDATORY: ReadonlySet<string> = new Set(MandatoryFields.filter((f) => !(CloseFields as readonly string[]).includes(f)));
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

export function valuesToTicket(input: ValuesToTicketInput): Result<Ticket, TranslateProblem[]> {
  const problems: TranslateProblem[] = [];
  const candidate: Record<string, unknown> = {};
  const { base } = input;
  if (base) for (const [k, v] of Object.entries(base)) if (!COMPUTED.has(k)) candidate[k] = v;
  const fields = new Set<string>([...Object.keys(input.defaults), ...Object.keys(input.mapping), ...Object.keys(input.overrides ?? {})]);
  for (const field of fields) {
    if (!KNOWN_FIELDS.has(field) || COMPUTED.has(field)) {
      problems.push({ field, message: COMPUTED.has(field) ? "is computed, not mapped" : "is not an RFC 6137 ticket field" });
      continue;
    }
    const key = field as TicketField;
    const configured = input.mapping[key];
    let raw: RuleValue | undefined = input.overrides?.[key];
    if (raw === undefined && configured !== undefined) raw = ruleValue(configured, input.values);
    if (raw === undefined && candidate[field] !== undefined) continue; // kept from the stored ticket
    if (raw === undefined) {
      const defaults = input.defaults[key];
      raw = defaults ? ruleValue(defaults, input.values) : undefined;
    }
    if (raw === undefined) {
      if (configured !== undefined && OPEN_MANDATORY.has(field)) problems.push({ field, message: `no value (rules: ${describeRules(configured)})` });
      continue;
    }
    const value = normaliseField(key, raw, input.now);
    if (!value.ok) problems.push({ field, message: value.error });
    else if (value.value !== undefined) candidate[field] = value.value;
  }

  for (const f of input.omit ?? []) delete candidate[f];
  const nowIso = input.now.toISOString().replace(/\.\d{3}Z$/, "Z");
  candidate.TT_Open_Datetime ??= nowIso;
  candidate.TT_Last_Update_Time ??= candidate.TT_Open_Datetime;
  candidate.Start_Datetime ??= candidate.TT_Open_Datetime;

  const originalId = typeof candidate.Original_ID === "string" ? sanitiseIdPart(candidate.Original_ID) : undefined;
  if (originalId === undefined || originalId === "") {
    problems.push({ field: "Original_ID", message: "no ticket id found (map Original_ID)" });
    return err(problems);
  }
  candidate.Original_ID = originalId;
  candidate.Partner_ID = input.partnerId;
  candidate.TT_ID = makeTicketId(input.partnerId, originalId);
  if (problems.length > 0) return err(problems);
  const validated = validateTicket(candidate, "open");
  if (!validated.ok) return err(validated.error.map((i) => ({ field: i.path || "ticket", message: i.message })));
  return ok(validated.value);
}

function normaliseField(field: TicketField, raw: RuleValue, now: Date): Result<string | string[] | undefined, string> {
  if (LIST_FIELDS.has(field)) {
    const list = (Array.isArray(raw) ? raw : raw.split(/\s*[,;]\s*/)).map((v) => v.trim()).filter((v) => v !== "");
    return ok(list.length > 0 ? [...new Set(list)] : undefined);
  }
  const value = (Array.isArray(raw) ? raw[0] : raw) ?? "";
  const closed = CLOSED_SETS[field];
  if (closed) {
    const canonical = canonicalClosedValue(closed, value);
    return canonical !== undefined ? ok(canonical) : err(`"${clip(value)}" is not one of ${closed.join(", ")} (add a "map" to the rule)`);
  }
  if (DATE_FIELDS.has(field)) {
    const dt = readDate(value, {}, now);
    return dt.ok ? ok(dt.value.value) : err(`"${clip(value)}" is not a date and time (${dt.error})`);
  }
  return ok(value);
}

const clip = (s: string): string => (s.length > 60 ? s.slice(0, 57) + "…" : s);

/** "2026-11-28T10:00:00.000Z" → "2026-11-28T10:00:00Z" (RFC 3339 as NTTDM wants it, §2.2.3). */
export const isoSeconds = (d: Date): string => d.toISOString().replace(/\.\d{3}Z$/, "Z");
