/**
 * The correlation decision: given the index and one incoming ticket (new or an update), which
 * incident does it belong to? Pure given the index state (the index is only read), deterministic,
 * and explainable (`explainDecision`).
 *
 * - Incident score = the best pair score between the ticket and one member (`scorePair`): the
 *   evidence has to hold between two concrete tickets, so fifty members each sharing only the
 *   service do not add up to a merge.
 * - A new ticket joins the best incident reaching `threshold`; ties go to the oldest incident
 *   (earliest member TT_Open_Datetime), then the smallest incident id, never to arrival order.
 * - A Superseded/Cancelled ticket whose master (`masterOf`) is indexed joins the master's incident,
 *   whatever else scores higher: the NOC said where it belongs (RFC 6137 §2.2.1.1).
 * - An update of a known ticket stays in its incident: chat threads must not jump around when a
 *   ticket's node list is edited. Only explicit evidence moves it: its master is in another
 *   incident, or it NOW references (a reference not in its previous version) a ticket in another
 *   incident. Then it joins that incident (it leaves the old one; incidents are not merged).
 * - A ticket that joins nothing opens `newIncidentId(TT_ID)`: derived from the TT_ID alone, so two
 *   bots seeing the same first ticket name the incident alike.
 */
import { hash } from "node:crypto";
import type { Ticket } from "../model/ticket.js";
import type { CorrelationIndex, ScoredCandidate } from "./postings.js";
import { scorePair, ticketFeatures, type CorrelationConfig, type MatchedRule, type TicketFeatures } from "./rules.js";

export { CorrelationIndex, incidentStatus, type Incident, type ScoredCandidate, type CandidateQuery, type IndexStats } from "./postings.js";
export {
  CorrelationConfigSchema,
  defaultCorrelationConfig,
  masterOf,
  ticketFeatures,
  scorePair,
  normaliseName,
  normaliseService,
  quotedTicketIds,
  RuleNames,
  type CorrelationConfig,
  type MatchedRule,
  type RuleName,
  type TicketFeatures,
} from "./rules.js";

export type CorrelationDecision =
  | { kind: "join"; incidentId: string; score: number; threshold: number; matched: MatchedRule[] }
  | { kind: "new"; incidentId: string; reason: string }
  | { kind: "stay"; incidentId: string };

/**
 * `INC-` + the first 12 hex digits of sha256(TT_ID). If that id is already taken in `index` (the
 * first ticket was removed and came back, or a hash collision), `-2`, `-3`, … is appended.
 */
export function newIncidentId(firstTicketId: string, index?: CorrelationIndex): string {
  const base = `INC-${hash("sha256", firstTicketId).slice(0, 12)}`;
  if (index === undefined || !index.hasIncident(base)) return base;
  for (let n = 2; ; n++) {
    const id = `${base}-${n}`;
    if (!index.hasIncident(id)) return id;
  }
}

/** Decides where `ticket` goes, reading candidates from the inverted index. Does not change the index. */
export function correlate(index: CorrelationIndex, ticket: Ticket, config: CorrelationConfig, now: Date): CorrelationDecision {
  const f = ticketFeatures(ticket);
  const { candidates } = index.query(f, config, now.getTime());
  return decide(index, f, candidates, config);
}

/**
 * Reference implementation: the same decision from scoring EVERY stored ticket (O(n)). For tests
 * (the index must agree with it) and the benchmark; never for production use.
 */
export function correlateFullScan(index: CorrelationIndex, ticket: Ticket, config: CorrelationConfig, now: Date): CorrelationDecision {
  const f = ticketFeatures(ticket);
  const t = now.getTime();
  const candidates: ScoredCandidate[] = [];
  for (const { features, incidentId } of index.allFeatures()) {
    if (features.ttId === f.ttId) continue;
    const { score, matched } = scorePair(f, features, config, t);
    if (score > 0) candidates.push({ ttId: features.ttId, incidentId, score, matched });
  }
  candidates.sort((a, b) => b.score - a.score || compareStrings(a.ttId, b.ttId));
  return decide(index, f, candidates, config);
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The best pair per incident; `candidates` arrive sorted best first, so the first seen wins. */
function bestPerIncident(candidates: readonly ScoredCandidate[]): Map<string, ScoredCandidate> {
  const best = new Map<string, ScoredCandidate>();
  for (const c of candidates) if (!best.has(c.incidentId)) best.set(c.incidentId, c);
  return best;
}

/** Highest score, then oldest incident, then smallest id. */
function pickIncident(index: CorrelationIndex, best: Map<string, ScoredCandidate>): ScoredCandidate | undefined {
  let winner: ScoredCandidate | undefined;
  for (const c of best.values()) {
    if (winner === undefined) {
      winner = c;
      continue;
    }
    const byScore = c.score - winner.score;
    const byAge = index.incidentOpenedMs(c.incidentId) - index.incidentOpenedMs(winner.incidentId);
    if (byScore > 0 || (byScore === 0 && (byAge < 0 || (byAge === 0 && c.incidentId < winner.incidentId)))) winner = c;
  }
  return winner;
}

function join(c: ScoredCandidate, config: CorrelationConfig): CorrelationDecision {
  return { kind: "join", incidentId: c.incidentId, score: c.score, threshold: config.threshold, matched: c.matched };
}

/** The pair with the ticket's master, if the master is indexed and scored. */
function masterPair(f: TicketFeatures, candidates: readonly ScoredCandidate[]): ScoredCandidate | undefined {
  return f.master === undefined ? undefined : candidates.find((c) => c.ttId === f.master);
}

function decide(index: CorrelationIndex, f: TicketFeatures, candidates: readonly ScoredCandidate[], config: CorrelationConfig): CorrelationDecision {
  const current = index.incidentOf(f.ttId);
  const master = masterPair(f, candidates);

  if (current !== undefined) {
    // Update of a known ticket: stay unless explicit evidence points elsewhere.
    // A Superseded/Cancelled ticket belongs with its master, whatever else it references.
    if (master !== undefined) return master.incidentId === current ? { kind: "stay", incidentId: current } : join(master, config);
    const previousRefs = new Set(index.features(f.ttId)?.refs ?? []);
    const moved = candidates.filter(
      (c) =>
        c.incidentId !== current &&
        c.matched.some((m) => m.rule === "reference" && m.key === `ticket:${c.ttId}` && !previousRefs.has(c.ttId)),
    );
    const target = pickIncident(index, bestPerIncident(moved));
    return target === undefined ? { kind: "stay", incidentId: current } : join(target, config);
  }

  if (master !== undefined) return join(master, config);
  const best = bestPerIncident(candidates);
  const reaching = new Map([...best].filter(([, c]) => c.score >= config.threshold));
  const winner = pickIncident(index, reaching);
  if (winner !== undefined) return join(winner, config);

  const incidentId = newIncidentId(f.ttId, index);
  const runnerUp = pickIncident(index, best);
  const reason =
    runnerUp === undefined
      ? `no stored ticket shares enough with it (threshold ${config.threshold})`
      : `best candidate ${runnerUp.incidentId} scored ${runnerUp.score} < threshold ${config.threshold} (${runnerUp.matched
          .map((m) => `${m.rule} ${m.key} +${m.weight}`)
          .join(", ")} via ${runnerUp.ttId})`;
  return { kind: "new", incidentId, reason };
}

/** Applies a decision to the index: the usual step after `correlate`. */
export function applyDecision(index: CorrelationIndex, ticket: Ticket, decision: CorrelationDecision): void {
  if (decision.kind === "stay" && index.has(ticket.TT_ID)) index.update(ticket);
  else index.add(ticket, decision.incidentId);
}

// ---------------------------------------------------------------------------------------------
// Explanations (for `/show`)
// ---------------------------------------------------------------------------------------------

const plus = (w: number): string => `(+${w})`;

/** One line of evidence in words. */
export function describeMatch(m: MatchedRule): string {
  const value = m.key.slice(m.key.indexOf(":") + 1);
  switch (m.rule) {
    case "master":
      return `its master ticket is ${m.otherTicket} (Related_Activity, RFC 6137 §2.2.1.1) ${plus(m.weight)}`;
    case "reference":
      return value === m.otherTicket
        ? `references ${m.otherTicket} ${plus(m.weight)}`
        : `${m.otherTicket} references it (${value}) ${plus(m.weight)}`;
    case "circuit":
      return `shares circuit "${value}" with ${m.otherTicket} ${plus(m.weight)}`;
    case "node":
      return `shares network node "${value}" with ${m.otherTicket} ${plus(m.weight)}`;
    case "service":
      return `same affected service "${value}" as ${m.otherTicket} ${plus(m.weight)}`;
    case "timeOverlap":
      return value === "overlap"
        ? `time window overlaps ${m.otherTicket}'s ${plus(m.weight)}`
        : `time window within ${value.replace(/^gap /u, "")} of ${m.otherTicket}'s ${plus(m.weight)}`;
  }
}

/** Human-readable account of a decision, one line per piece of evidence. */
export function explainDecision(decision: CorrelationDecision): string {
  switch (decision.kind) {
    case "join":
      return [
        `joins incident ${decision.incidentId} (score ${decision.score} >= threshold ${decision.threshold}):`,
        ...decision.matched.map((m) => `  - ${describeMatch(m)}`),
      ].join("\n");
    case "new":
      return `opens new incident ${decision.incidentId}: ${decision.reason}`;
    case "stay":
      return `stays in incident ${decision.incidentId} (update of a ticket already in it; no new explicit reference elsewhere)`;
  }
}
