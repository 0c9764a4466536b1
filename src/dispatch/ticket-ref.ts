/**
 * What a user typed for a ticket or an incident → the id it names (pure, over `TicketRefLookup`).
 *
 * Rules, tried in order; the first rule with exactly one match wins, a rule with several matches
 * stops the search with an "ambiguous" error listing them (never a guess):
 *  1. exact TT_ID, as stored (`EXN_1043`);
 *  2. the TT_ID ignoring case (`exn_1043`);
 *  3. the TT_ID ignoring case and separators `-`, `_`, `.`, `:`, `/` and spaces between PARTNER_ID
 *     and ORIGINAL_ID (`exn-1043`, `EXN1043`, `exn 1043`, `EXN/1043`); not for all-digit input,
 *     where "1043" would otherwise also name partner "10", ticket "43";
 *  4. the ORIGINAL_ID alone, ignoring case (`1043`, `chg0042`): unique across all NOCs' tickets;
 *  5. all digits: the number ending the ORIGINAL_ID, leading zeros ignored (`1043` for
 *     `INC0001043`).
 * Incidents: `INC-` followed by the hex digits of the id (any case), with its `-2` suffix if any;
 * 4 or more hex digits are enough when they start exactly one incident id (`inc-3fa2`).
 * Before the rules, surrounding punctuation is dropped (`#1043`, `(EXN_1043),`, `<EXN_1043>`).
 * When a ticket rule and the incident rule both match and either is acceptable, that is ambiguous.
 */
import { err, ok, type Result } from "../util/result.js";
import { parseTicketId } from "../model/ticket.js";
import type { Via } from "./authorize.js";
import { commandAs } from "./channel.js";

/** What resolution needs to know. The id lists may be scanned whole (a chat command, not a hot path). */
export interface TicketRefLookup {
  hasTicket(ttId: string): boolean;
  ticketIds(): Iterable<string>;
  hasIncident(incidentId: string): boolean;
  incidentIds(): Iterable<string>;
}

export const RefRules = ["exact", "ignore-case", "separators", "original-id", "number", "incident", "incident-prefix"] as const;
export type RefRule = (typeof RefRules)[number];

export type ResolvedRef = { kind: "ticket"; id: string; rule: RefRule } | { kind: "incident"; id: string; rule: RefRule };

export type RefError = {
  code: "empty" | "too-long" | "not-found" | "ambiguous" | "wrong-kind";
  ref: string;
  /** Polite, for the user. */
  human: string;
  /** For "ambiguous": every match, sorted. */
  candidates: string[];
};

export type RefKind = "ticket" | "incident" | "any";

/** Longest reference considered. */
export const MAX_REF_LENGTH = 200;
/** Candidates named in an "ambiguous" message (the error carries them all). */
export const MAX_NAMED_CANDIDATES = 8;

const SURROUNDING = /^[#("'<[{“”]+|[)"'>\]}.,;:!?“”]+$/gu;
const SEPARATORS = /[-_.:/\s]+/gu;
const INCIDENT = /^inc-([0-9a-f]{4,})(-\d+)?$/iu;

type Match = { ids: string[]; rule: RefRule } | undefined;

/** Resolves `input` to a ticket or an incident; `accept` says which kinds the caller wants. */
/** `via`: where the asker is, for the commands a message suggests (`!list` in a room, “list” elsewhere). */
export function resolveRef(input: string, lookup: TicketRefLookup, accept: RefKind = "any", via: Via = "groupchat"): Result<ResolvedRef, RefError> {
  const raw = input.trim();
  if (raw === "") return fail("empty", raw, "Which ticket? The ticket id is missing.");
  if (raw.length > MAX_REF_LENGTH) return fail("too-long", raw.slice(0, 40), `That is too long to be a ticket id.`);
  const cleaned = raw.replace(SURROUNDING, "");

  const ticket = accept === "incident" ? undefined : matchTicket(raw, cleaned, lookup);
  const incident = accept === "ticket" && ticket !== undefined ? undefined : matchIncident(cleaned, lookup);

  if (ticket !== undefined && incident !== undefined && accept === "any") {
    return ambiguous(raw, [...ticket.ids, ...incident.ids]);
  }
  if (ticket !== undefined) {
    if (ticket.ids.length > 1) return ambiguous(raw, ticket.ids);
    return ok({ kind: "ticket", id: ticket.ids[0] ?? "", rule: ticket.rule });
  }
  if (incident !== undefined) {
    if (incident.ids.length > 1) return ambiguous(raw, incident.ids);
    const id = incident.ids[0] ?? "";
    if (accept === "ticket") return fail("wrong-kind", raw, `${id} is an incident; this needs a ticket id. Try ${commandAs(via, `show ${id}`)} to see its tickets.`);
    return ok({ kind: "incident", id, rule: incident.rule });
  }
  if (accept === "incident") {
    const asTicket = matchTicket(raw, cleaned, lookup);
    if (asTicket !== undefined && asTicket.ids.length === 1) {
      return fail("wrong-kind", raw, `${asTicket.ids[0] ?? raw} is a ticket; this needs an incident id (INC-…).`);
    }
  }
  const what = accept === "incident" ? "incident" : accept === "ticket" ? "ticket" : "ticket or incident";
  return fail("not-found", raw, `I don't know any ${what} “${clip(raw)}”. Try ${commandAs(via, "list")} to see the open tickets.`);
}

/** Resolves to a TT_ID only (an incident id is a "wrong-kind" error). */
export function resolveTicketId(input: string, lookup: TicketRefLookup): Result<string, RefError> {
  const r = resolveRef(input, lookup, "ticket");
  return r.ok ? ok(r.value.id) : r;
}

function matchTicket(raw: string, cleaned: string, lookup: TicketRefLookup): Match {
  if (lookup.hasTicket(raw)) return { ids: [raw], rule: "exact" };
  if (cleaned !== raw && lookup.hasTicket(cleaned)) return { ids: [cleaned], rule: "exact" };
  if (cleaned === "") return undefined;

  const lower = cleaned.toLowerCase();
  const squashed = squash(cleaned);
  const allDigits = /^\d+$/u.test(cleaned);
  const number = allDigits ? stripZeros(cleaned) : undefined;

  const tiers: Record<"ignore-case" | "separators" | "original-id" | "number", Set<string>> = {
    "ignore-case": new Set(),
    separators: new Set(),
    "original-id": new Set(),
    number: new Set(),
  };
  for (const id of lookup.ticketIds()) {
    if (id.toLowerCase() === lower) tiers["ignore-case"].add(id);
    const parts = parseTicketId(id);
    if (!allDigits && squashed !== "" && squash(id) === squashed) tiers.separators.add(id);
    if (parts === undefined) continue;
    if (parts.originalId.toLowerCase() === lower) tiers["original-id"].add(id);
    if (number !== undefined) {
      const tail = /(\d+)$/u.exec(parts.originalId)?.[1];
      if (tail !== undefined && stripZeros(tail) === number) tiers.number.add(id);
    }
  }
  for (const rule of ["ignore-case", "separators", "original-id", "number"] as const) {
    const ids = tiers[rule];
    if (ids.size > 0) return { ids: [...ids].sort(), rule };
  }
  return undefined;
}

function matchIncident(cleaned: string, lookup: TicketRefLookup): Match {
  const m = INCIDENT.exec(cleaned);
  if (m === null) return undefined;
  const id = `INC-${(m[1] ?? "").toLowerCase()}${m[2] ?? ""}`;
  if (lookup.hasIncident(id)) return { ids: [id], rule: "incident" };
  const exact: string[] = [];
  const prefixed: string[] = [];
  for (const known of lookup.incidentIds()) {
    const k = known.toLowerCase();
    if (k === id.toLowerCase()) exact.push(known);
    else if (m[2] === undefined && k.startsWith(id.toLowerCase())) prefixed.push(known);
  }
  if (exact.length > 0) return { ids: exact.sort(), rule: "incident" };
  if (prefixed.length > 0) return { ids: prefixed.sort(), rule: "incident-prefix" };
  return undefined;
}

const squash = (s: string): string => s.toLowerCase().replace(SEPARATORS, "");
const stripZeros = (digits: string): string => digits.replace(/^0+(?=\d)/u, "");
const clip = (s: string): string => (s.length > 40 ? `${s.slice(0, 40)}…` : s);

function fail(code: RefError["code"], ref: string, human: string): Result<never, RefError> {
  return err({ code, ref, human, candidates: [] });
}

function ambiguous(ref: string, ids: readonly string[]): Result<never, RefError> {
  const candidates = [...new Set(ids)].sort();
  const named = candidates.slice(0, MAX_NAMED_CANDIDATES).join(", ");
  const more = candidates.length > MAX_NAMED_CANDIDATES ? ` and ${candidates.length - MAX_NAMED_CANDIDATES} more` : "";
  return err({
    code: "ambiguous",
    ref,
    human: `“${clip(ref)}” could be ${named}${more}. Please give the full id.`,
    candidates,
  });
}
