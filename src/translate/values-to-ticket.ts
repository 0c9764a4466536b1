/**
 * The generic translator (pure): a record of named values from any source (a feed item, a mail, a
 * webhook body) + the source's mapping rules + its built-in fallbacks → an NTTDM ticket, with the
 * problems that stop it, the warnings that do not, and a per-field trace of which rule gave the
 * value (or why none did) for `ttrelay replay`.
 */
import type { Mapping, MappingRule } from "../../config/schema.js";
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
import { PairMemo } from "../util/memo.js";
import { ok, err, type Result } from "../util/result.js";
import { readDate, type DateOptions } from "./dates.js";
import { describeRules, expandRules, runExpanded, squash, type Expanded, type RuleStep, type RuleValue, type SourceValues } from "./rules.js";

export type TranslateProblem = { field: string; message: string };

/** How one field got its value: the rules tried, the value (normalised) or the problem. */
export type FieldTrace = {
  field: string;
  value?: string | string[] | undefined;
  steps: RuleStep[];
  problem?: string | undefined;
  /** Said when the value did not come from a rule (e.g. "the time the item was first seen"). */
  note?: string | undefined;
};

export type Translation = {
  result: Result<Ticket, TranslateProblem[]>;
  /** Kept, but worth a log line (dates before 2000 or far ahead, a stand-in time). */
  warnings: TranslateProblem[];
  trace: FieldTrace[];
  /** `changeHash` of the ticket, where the translator worked it out (a worker thread, for the intake). */
  hash?: string | undefined;
};

export type TranslateOptions = {
  partnerId: string;
  now: Date;
  /** The source's built-in rules per field: used where the mapping has none, and by `then: "default"`. */
  defaults?: Partial<Record<TicketField, readonly MappingRule[]>> | undefined;
  /** Source-wide date options (a rule's own `date` wins). */
  dates?: DateOptions | undefined;
  /** Words for History when the source gave no date: "the feed", "the mail". */
  sourceLabel?: string | undefined;
  /** false: no per-field trace (`trace` is empty); the intake keeps none, only `replay` and checks read it. */
  traced?: boolean | undefined;
};

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
export const DATE_FIELDS: ReadonlySet<string> = new Set(TicketFields.filter((f) => /Date|Time_Window|_Time$/.test(f)));
/** Free text fields: a list of values (several matches) is joined line by line. */
const TEXT_FIELDS: ReadonlySet<string> = new Set(["History", "TT_Long_Description", "Additional_Data"]);
const OPEN_MANDATORY: ReadonlySet<string> = new Set(MandatoryFields.filter((f) => !(CloseFields as readonly string[]).includes(f)));
/** Computed here, never mapped (RFC 6137 §3.2.4.1). */
const COMPUTED: ReadonlySet<string> = new Set(["Partner_ID", "TT_ID"]);

/** Per closed set (constants): its values by their squashed form, the first of each kept, as `find` would. */
const squashedSets = new WeakMap<readonly string[], ReadonlyMap<string, string>>();

export function canonicalClosedValue(allowed: readonly string[], value: string): string | undefined {
  let byForm = squashedSets.get(allowed);
  if (byForm === undefined) {
    const m = new Map<string, string>();
    for (const a of allowed) if (!m.has(squash(a))) m.set(squash(a), a);
    byForm = m;
    squashedSets.set(allowed, byForm);
  }
  return byForm.get(squash(value));
}

/** Original_ID may not contain "_" (§3.2.4.1): a NOC's "TT_1234" becomes "TT-1234", consistently. */
export function sanitiseIdPart(value: string): string {
  return value.trim().replace(/_/g, "-").replace(/\s+/g, "-");
}

const clip = (s: string): string => (s.length > 60 ? s.slice(0, 57) + "…" : s);

/** RFC 3339 with whole seconds. */
const wholeSeconds = (d: Date): string => {
  const iso = d.toISOString();
  // "2026-11-30T00:05:00.000Z" (years 0–9999): the fraction cut off without a pattern.
  return iso.length === 24 ? `${iso.slice(0, 19)}Z` : iso.replace(/\.\d{3}Z$/, "Z");
};

/** The History line that says a time is a stand-in (no time in it, so a later poll adds nothing new). */
export const undatedNote = (label: string): string =>
  `ttrelay: ${label} gave no date for this item; TT_Open_Datetime and Start_Datetime are when ttrelay first saw it`;

/**
 * Fields in an order where every `when: { field }` condition sees its field already mapped.
 * A cycle is reported on the fields in it.
 */
function fieldOrder(fields: readonly string[], mapping: Mapping): { order: string[]; cyclic: string[] } {
  const deps = new Map<string, string[]>();
  for (const f of fields) {
    const rules = mapping[f as TicketField];
    const list = rules === undefined ? [] : Array.isArray(rules) ? rules : [rules];
    deps.set(f, [...new Set(list.flatMap((r) => (r.when ?? []).map((c) => c.field).filter((x): x is TicketField => x !== undefined && x !== f)))]);
  }
  const order: string[] = [];
  const state = new Map<string, "visiting" | "done">();
  const cyclic: string[] = [];
  const visit = (f: string): void => {
    const s = state.get(f);
    if (s === "done") return;
    if (s === "visiting") {
      cyclic.push(f);
      return;
    }
    state.set(f, "visiting");
    for (const d of deps.get(f) ?? []) if (deps.has(d)) visit(d);
    state.set(f, "done");
    order.push(f);
  };
  for (const f of fields) visit(f);
  return { order, cyclic: [...new Set(cyclic)] };
}

/**
 * What a mapping does per field, in `fieldOrder`: the field's rules expanded (`expandRules`), or why
 * it cannot be mapped. It depends only on the mapping and the defaults (config): worked out once,
 * not looked up field by field for every item.
 */
type FieldPlan =
  | { field: string; refused: string }
  | { field: string; refused?: undefined; configured: MappingRule | readonly MappingRule[] | undefined; rules: Expanded };
/** `rules`: each planned field's rules, by name. */
type MappingPlan = { fields: FieldPlan[]; cyclic: string[]; rules: ReadonlyMap<string, Expanded> };

/** A field's rules as tried: the configured ones (with the built-in ones where they say `then: "default"`), else the built-in ones. */
const fieldRules = (configured: MappingRule | readonly MappingRule[] | undefined, builtIn: readonly MappingRule[]): Expanded =>
  configured ? expandRules(configured, builtIn) : expandRules(builtIn, [], "default");

const plans = new PairMemo<Mapping, object, MappingPlan>();
const NO_RULES: readonly MappingRule[] = [];
const NO_DEFAULTS: NonNullable<TranslateOptions["defaults"]> = {};

function mappingPlan(mapping: Mapping, defaults: NonNullable<TranslateOptions["defaults"]>): MappingPlan {
  return plans.get(mapping, defaults, () => {
    const { order, cyclic } = fieldOrder([...new Set<string>([...Object.keys(defaults), ...Object.keys(mapping)])], mapping);
    const fields = order.map((field): FieldPlan => {
      if (!KNOWN_FIELDS.has(field) || COMPUTED.has(field)) return { field, refused: COMPUTED.has(field) ? "is computed, not mapped" : "is not an RFC 6137 ticket field" };
      const configured = mapping[field as TicketField];
      const builtIn = defaults[field as TicketField] ?? NO_RULES;
      return { field, configured, rules: fieldRules(configured, builtIn) };
    });
    const rules = new Map<string, Expanded>();
    for (const f of fields) if (f.refused === undefined) rules.set(f.field, f.rules);
    return { fields, cyclic, rules };
  });
}

export function valuesToTicket(values: SourceValues, mapping: Mapping, options: TranslateOptions): Translation {
  const problems: TranslateProblem[] = [];
  const warnings: TranslateProblem[] = [];
  const trace: FieldTrace[] = [];
  const candidate: Record<string, unknown> = {};
  const defaults = options.defaults ?? NO_DEFAULTS;
  const traced = options.traced ?? true;
  const { fields, cyclic } = mappingPlan(mapping, defaults);
  for (const f of cyclic) problems.push({ field: f, message: "its `when` conditions depend on each other in a circle" });
  const ctx = {
    ticketField: (f: string): string | readonly string[] | undefined => {
      const v = Object.hasOwn(candidate, f) ? candidate[f] : undefined;
      return typeof v === "string" || Array.isArray(v) ? (v as string | string[]) : undefined;
    },
  };

  for (const plan of fields) {
    const { field } = plan;
    if (plan.refused !== undefined) {
      problems.push({ field, message: plan.refused });
      if (traced) trace.push({ field, steps: [], problem: plan.refused });
      continue;
    }
    const result = runExpanded(plan.rules, values, ctx, traced);
    if (result.value === undefined) {
      // A mandatory field the source's own rules cannot find is the item's problem, named with the
      // rules tried; an optional field (End_Datetime while still open…) may simply not be there yet.
      const problem =
        plan.configured !== undefined && OPEN_MANDATORY.has(field)
          ? `no value (rules: ${describeRules(plan.rules.map((r) => r.rule))})`
          : undefined;
      if (problem) problems.push({ field, message: problem });
      if (traced) trace.push({ field, steps: result.steps, problem });
      continue;
    }
    const value = normaliseField(field as TicketField, result.value, () => dateOptionsOf(options.dates, result.rule), options.now);
    if (!value.ok) {
      problems.push({ field, message: value.error });
      if (traced) trace.push({ field, steps: result.steps, problem: value.error });
      continue;
    }
    if (value.value.warning) warnings.push({ field, message: value.value.warning });
    if (value.value.value !== undefined) candidate[field] = value.value.value;
    if (traced) trace.push({ field, steps: result.steps, value: value.value.value });
  }

  // Times the source could not give: the moment we first saw it stands in, and History says so.
  if (candidate.TT_Open_Datetime === undefined) {
    const nowIso = wholeSeconds(options.now);
    candidate.TT_Open_Datetime = nowIso;
    const note = undatedNote(options.sourceLabel ?? "the source");
    const history = typeof candidate.History === "string" ? candidate.History : "";
    candidate.History = history.trim() === "" ? note : `${history.replace(/\s+$/, "")}\n${note}`;
    warnings.push({ field: "TT_Open_Datetime", message: "no date: the time it was first seen stands in (said in History)" });
    if (traced) trace.push({ field: "TT_Open_Datetime", steps: [], value: nowIso, note: "no date from the source: the time it was first seen (said in History)" });
  }
  if (candidate.TT_Last_Update_Time === undefined) {
    candidate.TT_Last_Update_Time = candidate.TT_Open_Datetime;
    if (traced) trace.push({ field: "TT_Last_Update_Time", steps: [], value: String(candidate.TT_Open_Datetime), note: "= TT_Open_Datetime" });
  }
  if (candidate.Start_Datetime === undefined) {
    candidate.Start_Datetime = candidate.TT_Open_Datetime;
    if (traced) trace.push({ field: "Start_Datetime", steps: [], value: String(candidate.TT_Open_Datetime), note: "= TT_Open_Datetime" });
  }

  const originalId = typeof candidate.Original_ID === "string" ? sanitiseIdPart(candidate.Original_ID) : undefined;
  if (originalId === undefined || originalId === "") {
    problems.push({ field: "Original_ID", message: "no ticket id found (map Original_ID)" });
    return { result: err(problems), warnings, trace };
  }
  candidate.Original_ID = originalId;
  candidate.Partner_ID = options.partnerId;
  candidate.TT_ID = makeTicketId(options.partnerId, originalId);
  if (problems.length > 0) return { result: err(problems), warnings, trace };

  const validated = validateTicket(candidate, "open");
  if (!validated.ok) return { result: err(validated.error.map((i) => ({ field: i.path || "ticket", message: i.message }))), warnings, trace };
  return { result: ok(validated.value), warnings, trace };
}

/**
 * Only the TT_ID the values would get (undefined when none): cheaper than a whole translation, for
 * checking that the items of a document do not clash. Undefined too when the Original_ID rules
 * depend on other ticket fields (`when: { field }`): then only a whole translation can tell.
 */
export function ticketIdOf(values: SourceValues, mapping: Mapping, options: TranslateOptions): string | undefined {
  const configured = mapping.Original_ID;
  const list = configured === undefined ? [] : Array.isArray(configured) ? configured : [configured];
  if (list.some((r) => (r.when ?? []).some((c) => c.field !== undefined))) return undefined;
  // The mapping's plan has the field's rules worked out already (this runs for every item of a big poll).
  const defaults = options.defaults ?? NO_DEFAULTS;
  const rules = mappingPlan(mapping, defaults).rules.get("Original_ID") ?? fieldRules(configured, defaults.Original_ID ?? NO_RULES);
  const result = runExpanded(rules, values, {}, false);
  const raw = Array.isArray(result.value) ? result.value[0] : result.value;
  const id = raw === undefined ? "" : sanitiseIdPart(raw);
  return id === "" ? undefined : makeTicketId(options.partnerId, id);
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** The source's date options with the rule's own over them (both config, never changed: made once per pair). */
const dateOptionsMemo = new PairMemo<DateOptions, MappingRule, DateOptions>();
const NO_DATE_OPTIONS: DateOptions = {};
function dateOptionsOf(source: DateOptions | undefined, rule: MappingRule | undefined): DateOptions {
  if (rule?.date === undefined) return source ?? NO_DATE_OPTIONS;
  const base = source ?? NO_DATE_OPTIONS;
  const own = rule.date;
  return dateOptionsMemo.get(base, rule, () => ({ ...base, ...stripUndefined(own) }));
}

type Normalised = { value: string | string[] | undefined; warning?: string | undefined };

function normaliseField(field: TicketField, raw: RuleValue, dates: () => DateOptions, now: Date): Result<Normalised, string> {
  if (LIST_FIELDS.has(field)) {
    const list = (Array.isArray(raw) ? raw : raw.split(/\s*[,;]\s*/)).map((v) => v.trim()).filter((v) => v !== "");
    return ok({ value: list.length > 0 ? [...new Set(list)] : undefined });
  }
  if (TEXT_FIELDS.has(field)) return ok({ value: Array.isArray(raw) ? raw.join("\n") : raw });
  const value = (Array.isArray(raw) ? raw[0] : raw) ?? "";
  const closed = CLOSED_SETS[field];
  if (closed) {
    const canonical = canonicalClosedValue(closed, value);
    return canonical !== undefined ? ok({ value: canonical }) : err(`"${clip(value)}" is not one of ${closed.join(", ")} (add a "map" to the rule)`);
  }
  if (DATE_FIELDS.has(field)) {
    const dt = readDate(value, dates(), now);
    return dt.ok ? ok({ value: dt.value.value, warning: dt.value.warning }) : err(`"${clip(value)}" ${dt.error}`);
  }
  return ok({ value });
}
