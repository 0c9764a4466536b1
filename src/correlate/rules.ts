/**
 * Correlation rules: which evidence says two trouble tickets (RFC 6137 NTTDM) are about the same
 * fault, and how much each piece of evidence weighs. Pure functions only; the inverted index is in
 * `postings.ts`, the decision in `engine.ts`.
 *
 * Evidence between an incoming ticket T and a stored ticket O (section numbers are RFC 6137):
 * - `reference`: T lists O's TT_ID (or O lists T's) in Related_External_Tickets (§3.2.6.1) or
 *   Related_Activity (§3.2.6.3), or quotes it in TT_Title (§3.2.4.2) / TT_Long_Description
 *   (§3.2.5.2). A NOC saying so is the strongest evidence there is, so it is NOT time-gated and its
 *   weight must reach the threshold on its own (enforced by the schema).
 * - `master`: the same, for the master ticket of a Superseded/Cancelled ticket (§2.2.1.1: "The
 *   RELATED_ACTIVITY field SHOULD include the master ticket reference"). Same weight as `reference`;
 *   the engine gives the master's incident precedence.
 * - `circuit`: a shared Network_Link_Circuit (§3.2.7.5), normalised (case, spaces).
 * - `node`: a shared Network_Node (§3.2.7.4), normalised the same way.
 * - `service`: the same Affected_Service (§3.2.7.2), case-insensitive.
 * - `timeOverlap`: the Start_Datetime..End_Datetime windows (§3.2.5.5, §3.2.5.8) overlap, allowing
 *   `timeWindow.slackMinutes` between them.
 *
 * The time window is a GATE for circuit/node/service: they only count when the windows overlap
 * (the same circuit failing again next week is a new incident; a busy service has unrelated
 * tickets every day). `timeOverlap` only adds its weight on top of at least one gated rule, so
 * time overlap alone scores 0 and can never merge.
 *
 * Each shared key adds its rule's weight (two shared circuits are stronger evidence than one; two
 * shared nodes usually mean the link between them), so a pair's score is the sum of its matches.
 */
import { z } from "zod";
import { datetimeToMillis, isFinalStatus, parseTicketId, type Ticket } from "../model/ticket.js";

// ---------------------------------------------------------------------------------------------
// Config
// ---------------------------------------------------------------------------------------------

/** The rules, in the order matches are listed and explained (strongest first). */
export const RuleNames = ["master", "reference", "circuit", "node", "service", "timeOverlap"] as const;
export type RuleName = (typeof RuleNames)[number];

/**
 * Default weights for NOC feeds, with threshold 5 (all within the time window):
 * - one shared circuit: 6 + 1 = 7, merges (two NOCs reporting the same link down);
 * - two shared nodes: 3 + 3 + 1 = 7, merges (both ends of a link);
 * - one shared node + same service: 3 + 2 + 1 = 6, merges;
 * - one shared node alone: 3 + 1 = 4, does not (a PoP router has unrelated faults);
 * - same service alone: 2 + 1 = 3, does not (a busy service has unrelated tickets all day);
 * - time overlap alone: 0, never;
 * - explicit reference: 100, always, whatever the times.
 */
export const DefaultWeights = { reference: 100, circuit: 6, node: 3, service: 2, timeOverlap: 1 } as const;
export const DefaultThreshold = 5;
/** 2 h between one ticket's end and the other's start still counts as "the same time". */
export const DefaultSlackMinutes = 120;
/**
 * An open ticket (no End_Datetime, not in a final state) is taken to last until `now`, but not more
 * than this long after its TT_Last_Update_Time (§3.2.5.9): NOCs forget to close tickets, and a
 * ticket nobody touched for 3 days should not attract today's faults.
 */
export const DefaultStaleAfterHours = 72;
/** Safety valve on hot keys, see `CorrelationIndex` (postings.ts). */
export const DefaultMaxPostingsPerKey = 2000;

const Weight = z.number().min(0).max(1_000_000);

const WeightsSchema = z
  .strictObject({
    reference: Weight.default(DefaultWeights.reference).describe("explicit TT_ID reference (also master); must be >= threshold"),
    circuit: Weight.default(DefaultWeights.circuit).describe("per shared Network_Link_Circuit (time-gated)"),
    node: Weight.default(DefaultWeights.node).describe("per shared Network_Node (time-gated)"),
    service: Weight.default(DefaultWeights.service).describe("same Affected_Service (time-gated)"),
    timeOverlap: Weight.default(DefaultWeights.timeOverlap).describe("bonus when windows overlap; only on top of a gated rule"),
  })
  .default({ ...DefaultWeights });

const TimeWindowSchema = z
  .strictObject({
    slackMinutes: z
      .number()
      .min(0)
      .max(7 * 24 * 60)
      .default(DefaultSlackMinutes)
      .describe("gap allowed between two tickets' Start..End windows for them to count as overlapping"),
    staleAfterHours: z
      .number()
      .positive()
      .max(365 * 24)
      .default(DefaultStaleAfterHours)
      .describe("an open ticket counts as ongoing until now, at most this long after its last update"),
  })
  .default({ slackMinutes: DefaultSlackMinutes, staleAfterHours: DefaultStaleAfterHours });

/** `correlation` section of the main config. Every field has a default: `{}` is a valid config. */
export const CorrelationConfigSchema = z
  .strictObject({
    threshold: z.number().positive().default(DefaultThreshold).describe("score an incident must reach for a ticket to join it"),
    weights: WeightsSchema,
    timeWindow: TimeWindowSchema,
    maxPostingsPerKey: z
      .number()
      .int()
      .min(1)
      .default(DefaultMaxPostingsPerKey)
      .describe("at most this many postings are read per key per query (newest first); bounds hot keys"),
  })
  .refine((c) => c.weights.reference >= c.threshold, {
    message: "weights.reference must be >= threshold: an explicit TT_ID reference always merges",
    path: ["weights", "reference"],
  });

export type CorrelationConfig = z.infer<typeof CorrelationConfigSchema>;
export type CorrelationWeights = CorrelationConfig["weights"];

/** The defaults, parsed (so they went through the same refinements as a user's config). */
export const defaultCorrelationConfig: CorrelationConfig = CorrelationConfigSchema.parse({});

// ---------------------------------------------------------------------------------------------
// Keys
// ---------------------------------------------------------------------------------------------

/**
 * Prefixes of the inverted-index keys. `ticket:X` is posted by every ticket that references X, so
 * a ticket arriving AFTER a ticket quoting it (NOC B is often faster than NOC A) still finds it.
 */
export const KeyPrefixes = { circuit: "circuit:", node: "node:", service: "service:", ticket: "ticket:" } as const;

/**
 * Circuit and node names: "case, spaces" only (NFKC, lower case, all whitespace removed), so
 * "FORTH-2", "forth-2" and "FORTH - 2" agree. Punctuation is kept: "ab-12" and "a-b12" are
 * different circuits, and merging them would be a false merge that no one would notice.
 */
export function normaliseName(s: string): string {
  return s.normalize("NFKC").toLowerCase().replace(/\s+/gu, "");
}

/** Affected_Service: case-insensitive, surrounding/duplicate spaces ignored ("IP  Transit" = "ip transit"). */
export function normaliseService(s: string): string {
  return s.normalize("NFKC").toLowerCase().trim().replace(/\s+/gu, " ");
}

/** Characters that surround an id quoted in prose: "(see GRNET_5985)," etc. */
const QUOTE_TRIM = /^[\s"'`([{<#:;,.!?]+|[\s"'`)\]}>:;,.!?]+$/gu;

/**
 * TT_IDs quoted in free text (TT_Title, TT_Long_Description): every whitespace-separated token
 * that, trimmed of surrounding punctuation, is a well-formed TT_ID (PARTNER_ID "_" ORIGINAL_ID,
 * neither part containing "_", §3.2.4.1). Whether such a token names a real ticket is only known
 * against the index: unknown ids never match anything.
 */
export function quotedTicketIds(text: string | undefined): string[] {
  if (text === undefined || !text.includes("_")) return [];
  const out: string[] = [];
  for (const raw of text.split(/\s+/u)) {
    if (!raw.includes("_")) continue;
    const token = raw.replace(QUOTE_TRIM, "");
    if (parseTicketId(token) !== undefined) out.push(token);
  }
  return out;
}

function uniqueSorted(values: Iterable<string>): string[] {
  return [...new Set(values)].filter((v) => v.length > 0).sort();
}

/**
 * The master of a Superseded or Cancelled ticket: the first Related_Activity entry other than the
 * ticket itself (§2.2.1.1: Superseded "The RELATED_ACTIVITY field SHOULD include the master ticket
 * reference"; Cancelled "a relationship between them is defined via the RELATED_ACTIVITY field").
 * `undefined` for any other status or when Related_Activity names no other ticket.
 */
export function masterOf(ticket: Ticket): string | undefined {
  if (ticket.TT_Status !== "Superseded" && ticket.TT_Status !== "Cancelled") return undefined;
  for (const id of ticket.Related_Activity ?? []) {
    const trimmed = id.trim();
    if (trimmed.length > 0 && trimmed !== ticket.TT_ID) return trimmed;
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Features: what the rules look at, computed once per ticket
// ---------------------------------------------------------------------------------------------

/**
 * The parts of a ticket the rules use, normalised. The index stores these, not the tickets (the
 * store has the tickets), which keeps 100k tickets in under 100 MB of heap (bench/correlate.ts).
 */
export type TicketFeatures = {
  readonly ttId: string;
  readonly partnerId: string;
  /** Normalised circuit names (`normaliseName`), unique, sorted. */
  readonly circuits: readonly string[];
  /** Normalised node names, unique, sorted. */
  readonly nodes: readonly string[];
  /** Normalised Affected_Service, if any. */
  readonly service: string | undefined;
  /** TT_IDs this ticket references (explicit fields and quoted in text), unique, sorted, not itself. */
  readonly refs: readonly string[];
  /** The master of a Superseded/Cancelled ticket (`masterOf`). */
  readonly master: string | undefined;
  /** Start_Datetime (§3.2.5.5), falling back to TT_Open_Datetime; NaN if neither parses. */
  readonly startMs: number;
  /**
   * End of the trouble when known: End_Datetime (§3.2.5.8); for a final ticket without it,
   * TT_Close_Datetime (§3.2.4.8) or TT_Last_Update_Time. `undefined`: open-ended (ongoing).
   */
  readonly endMs: number | undefined;
  /** TT_Last_Update_Time (§3.2.5.9), falling back to the start. */
  readonly lastUpdateMs: number;
  /** TT_Open_Datetime (§3.2.4.7), for incident ordering; falls back to the start. */
  readonly openMs: number;
  readonly openDatetime: string;
  readonly final: boolean;
};

function ms(s: string | undefined): number | undefined {
  return s === undefined ? undefined : datetimeToMillis(s);
}

/**
 * Tickets are values (every change makes a new object), so one ticket's features are worked out
 * once: correlating it and adding it to the index both need them.
 */
const featuresMemo = new WeakMap<Ticket, TicketFeatures>();

export function ticketFeatures(ticket: Ticket): TicketFeatures {
  let f = featuresMemo.get(ticket);
  if (f === undefined) {
    f = computeFeatures(ticket);
    featuresMemo.set(ticket, f);
  }
  return f;
}

function computeFeatures(ticket: Ticket): TicketFeatures {
  const startMs = ms(ticket.Start_Datetime) ?? ms(ticket.TT_Open_Datetime) ?? Number.NaN;
  const lastUpdateMs = ms(ticket.TT_Last_Update_Time) ?? startMs;
  const final = isFinalStatus(ticket.TT_Status);
  let endMs = ms(ticket.End_Datetime);
  if (endMs === undefined && final) endMs = ms(ticket.TT_Close_Datetime) ?? lastUpdateMs;
  // An end before the start is a data error; the start is the better-known instant.
  if (endMs !== undefined && endMs < startMs) endMs = startMs;
  const explicitRefs = [...(ticket.Related_External_Tickets ?? []), ...(ticket.Related_Activity ?? [])].map((r) => r.trim());
  const quoted = [...quotedTicketIds(ticket.TT_Title), ...quotedTicketIds(ticket.TT_Long_Description)];
  const refs = uniqueSorted([...explicitRefs, ...quoted]).filter((r) => r !== ticket.TT_ID);
  const service = ticket.Affected_Service === undefined ? "" : normaliseService(ticket.Affected_Service);
  const openMs = ms(ticket.TT_Open_Datetime) ?? startMs;
  return {
    ttId: ticket.TT_ID,
    partnerId: ticket.Partner_ID,
    circuits: uniqueSorted((ticket.Network_Link_Circuit ?? []).map(normaliseName)),
    nodes: uniqueSorted((ticket.Network_Node ?? []).map(normaliseName)),
    service: service.length > 0 ? service : undefined,
    refs,
    master: masterOf(ticket),
    startMs,
    endMs,
    lastUpdateMs,
    openMs,
    openDatetime: ticket.TT_Open_Datetime,
    final,
  };
}

/** The inverted-index keys a ticket is posted under (its references as `ticket:` keys). */
export function featureKeys(f: TicketFeatures): string[] {
  return [
    ...f.circuits.map((c) => KeyPrefixes.circuit + c),
    ...f.nodes.map((n) => KeyPrefixes.node + n),
    ...(f.service === undefined ? [] : [KeyPrefixes.service + f.service]),
    ...f.refs.map((r) => KeyPrefixes.ticket + r),
  ];
}

// ---------------------------------------------------------------------------------------------
// Time
// ---------------------------------------------------------------------------------------------

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

/**
 * End of the ticket's trouble window as seen at `now`: the known end, or for an open ticket `now`,
 * but no later than `staleAfterHours` after its last update, and never before its start (a
 * scheduled ticket starting in the future is a point at its start until it begins).
 */
export function effectiveEndMs(f: TicketFeatures, config: CorrelationConfig, now: number): number {
  if (f.endMs !== undefined) return f.endMs;
  const staleEnd = f.lastUpdateMs + config.timeWindow.staleAfterHours * HOUR;
  return Math.max(f.startMs, Math.min(now, staleEnd));
}

/**
 * Gap in ms between two windows (0 when they overlap), or NaN if a start is unknown. The
 * windows are closed intervals [start, effectiveEnd].
 */
export function windowGapMs(a: TicketFeatures, b: TicketFeatures, config: CorrelationConfig, now: number): number {
  const aEnd = effectiveEndMs(a, config, now);
  const bEnd = effectiveEndMs(b, config, now);
  return Math.max(0, a.startMs - bEnd, b.startMs - aEnd);
}

// ---------------------------------------------------------------------------------------------
// Scoring a pair
// ---------------------------------------------------------------------------------------------

/** One piece of evidence: `key` is the index key matched, `otherTicket` the stored ticket's TT_ID. */
export type MatchedRule = { rule: RuleName; key: string; otherTicket: string; weight: number };

export type PairScore = { score: number; matched: MatchedRule[] };

/** Does `other` explicitly reference `f`, or `f` reference `other`? `master` when `other` is `f`'s master. */
function referenceMatch(f: TicketFeatures, other: TicketFeatures, refWeight: number): MatchedRule | undefined {
  if (f.master === other.ttId) {
    return { rule: "master", key: KeyPrefixes.ticket + other.ttId, otherTicket: other.ttId, weight: refWeight };
  }
  if (binaryIncludes(f.refs, other.ttId)) {
    return { rule: "reference", key: KeyPrefixes.ticket + other.ttId, otherTicket: other.ttId, weight: refWeight };
  }
  if (binaryIncludes(other.refs, f.ttId)) {
    // The stored ticket quoted the incoming one: the key is the incoming ticket's id.
    return { rule: "reference", key: KeyPrefixes.ticket + f.ttId, otherTicket: other.ttId, weight: refWeight };
  }
  return undefined;
}

/** `sorted` is sorted (all feature lists are): binary search keeps long lists cheap. */
function binaryIncludes(sorted: readonly string[], value: string): boolean {
  let lo = 0;
  let hi = sorted.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const v = sorted[mid];
    if (v === undefined) return false;
    if (v === value) return true;
    if (v < value) lo = mid + 1;
    else hi = mid - 1;
  }
  return false;
}

/** Shared values of two sorted unique lists (merge walk, linear). */
function sharedSorted(a: readonly string[], b: readonly string[]): string[] {
  const out: string[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const x = a[i] as string;
    const y = b[j] as string;
    if (x === y) {
      out.push(x);
      i++;
      j++;
    } else if (x < y) i++;
    else j++;
  }
  return out;
}

/**
 * Score of the evidence that `f` (incoming) and `other` (stored) are about the same fault, with
 * every match listed (rule order of `RuleNames`, then key). Symmetric in its score. Pure.
 */
export function scorePair(f: TicketFeatures, other: TicketFeatures, config: CorrelationConfig, now: number): PairScore {
  const w = config.weights;
  const matched: MatchedRule[] = [];
  const ref = referenceMatch(f, other, w.reference);
  if (ref !== undefined) matched.push(ref);

  const gap = windowGapMs(f, other, config, now);
  // NaN (unknown start) fails the gate: without times we cannot tell a new fault from an old one.
  if (gap <= config.timeWindow.slackMinutes * MINUTE) {
    const gated: MatchedRule[] = [];
    for (const c of sharedSorted(f.circuits, other.circuits)) {
      gated.push({ rule: "circuit", key: KeyPrefixes.circuit + c, otherTicket: other.ttId, weight: w.circuit });
    }
    for (const n of sharedSorted(f.nodes, other.nodes)) {
      gated.push({ rule: "node", key: KeyPrefixes.node + n, otherTicket: other.ttId, weight: w.node });
    }
    if (f.service !== undefined && f.service === other.service) {
      gated.push({ rule: "service", key: KeyPrefixes.service + f.service, otherTicket: other.ttId, weight: w.service });
    }
    if (gated.length > 0) {
      matched.push(...gated);
      const key = gap === 0 ? "time:overlap" : `time:gap ${Math.round(gap / MINUTE)}m`;
      matched.push({ rule: "timeOverlap", key, otherTicket: other.ttId, weight: w.timeOverlap });
    }
  }
  let score = 0;
  for (const m of matched) score += m.weight;
  return { score, matched };
}
