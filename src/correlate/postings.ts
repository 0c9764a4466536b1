/**
 * `CorrelationIndex`: the tickets being correlated, their incidents, and an inverted index from
 * keys (`circuit:…`, `node:…`, `service:…`, `ticket:…`, see `featureKeys`) to the tickets posted
 * under them. Finding candidates reads a few posting lists, never all tickets.
 *
 * Hot keys (a service with thousands of tickets, a core node on every ticket) are handled in three
 * layers, the first two exact, the third a bounded approximation:
 *
 * 1. Skip lists that cannot matter ("MaxScore" pruning, as in search engines). The gated rules
 *    only add weights, so a candidate found only through keys whose weights (plus the time bonus)
 *    sum below the threshold can never be joined. The incoming ticket's keys are sorted by weight
 *    ascending (biggest lists first among equals); the longest prefix whose sum stays below the
 *    threshold is not read at all. With the default weights a `service:` list is never read (2 + 1
 *    < 5), nor the `node:` list of a ticket with one node and nothing else. This is what keeps
 *    "thousands of open tickets on one service" cheap.
 * 2. Time-bucketed postings. Every gated rule needs the two windows to overlap (within the slack),
 *    so a big list (more than `SMALL_MAX` postings) is split in buckets of `BUCKET_MS` and a query
 *    reads only the buckets that can overlap its window:
 *    - tickets with a known end and a window of at most `LONG_MS`: by start bucket; a query
 *      [qLo, qHi] reads start buckets in [qLo - LONG_MS, qHi];
 *    - open tickets (no end yet): by activity bucket, max(start, last update); their window ends at
 *      most `staleAfterHours` after that (`effectiveEndMs`), so a query reads activity buckets from
 *      qLo - staleAfter on;
 *    - longer windows (multi-day maintenance) and tickets without a usable start: one list per
 *      key, always read (there are few).
 *    Small lists (most circuits: a handful of tickets in 90 days) stay one flat array, read whole:
 *    buckets would cost more memory than they save time. `ticket:` lists (references) are not
 *    time-gated and are read whole; they are short.
 * 3. A cap: at most `maxPostingsPerKey` postings are read per key per query, newest buckets first.
 *    It only bites when more than that many postings of ONE essential key fall in the buckets the
 *    query's window reads (thousands of concurrent tickets on one circuit or node, or on a service
 *    whose weight alone reaches the threshold); then the oldest are not considered and the query
 *    reports the key in `truncatedKeys`. Decisions stay deterministic (same state, same result).
 *
 * The index stores `TicketFeatures`, not tickets (the store keeps the tickets), with their strings
 * interned (see `#link`): about 0.9 KB of heap per ticket, postings included.
 */
import { isFinalStatus, type Ticket } from "../model/ticket.js";
import {
  KeyPrefixes,
  defaultCorrelationConfig,
  effectiveEndMs,
  scorePair,
  ticketFeatures,
  type CorrelationConfig,
  type MatchedRule,
  type TicketFeatures,
} from "./rules.js";

const HOUR = 3_600_000;
/** Keys with at most this many postings are a flat array (see `KeyPostings`). */
export const SMALL_MAX = 64;
/** Bucket width. 6 h: a query usually reads a handful of buckets, and a key has at most 4 a day. */
export const BUCKET_MS = 6 * HOUR;
/** Windows longer than this go to the per-key "long" list (most NOC faults last hours). */
export const LONG_MS = 48 * HOUR;

/** An incident: tickets about the same fault, possibly from several NOCs. */
export type Incident = {
  id: string;
  /** Member TT_IDs, ordered by TT_Open_Datetime then TT_ID (independent of arrival order). */
  tickets: string[];
  /** Derived from the members, see `incidentStatus`. */
  status: "open" | "closed";
  /** The earliest TT_Open_Datetime (§3.2.4.7) among the members, as received. */
  openedAt: string;
  /** Distinct Partner_IDs (§3.2.3.1) of the members, sorted: more than one means a cross-NOC incident. */
  partners: string[];
};

/**
 * Closed when every member is in a final state (the "(X)" states of RFC 6137 §2.2.1.1 Figure 2,
 * `isFinalStatus`); open as soon as one is not (e.g. Reopened). No members: closed (nothing open).
 */
export function incidentStatus(memberTickets: readonly Pick<Ticket, "TT_Status">[]): "open" | "closed" {
  return memberTickets.every((t) => isFinalStatus(t.TT_Status)) ? "closed" : "open";
}

/** A stored ticket that scored against a query. */
export type ScoredCandidate = { ttId: string; incidentId: string; score: number; matched: MatchedRule[] };

export type CandidateQuery = {
  /** Candidates with a score > 0, best first (score desc, then TT_ID). */
  candidates: ScoredCandidate[];
  /** Keys whose postings were cut by `maxPostingsPerKey`. */
  truncatedKeys: string[];
  /** Postings read (for benchmarks and logs). */
  postingsRead: number;
};

export type IndexStats = {
  tickets: number;
  incidents: number;
  keys: number;
  postings: number;
  /** The longest posting list: the hottest key. */
  hottestKey: { key: string; size: number } | undefined;
};

/** `dead`: unlinked for good (a changed ticket gets a new entry); lists drop dead entries lazily. */
type Entry = { readonly f: TicketFeatures; incidentId: string; dead?: true };

/** One ticket's place in the index, as `saved` returns it. */
export type SavedEntry = { readonly f: TicketFeatures; readonly incidentId: string };

/** `first`: the member with the earliest TT_Open_Datetime (ties: smallest TT_ID), giving `openedAt`. */
type IncidentRec = { readonly id: string; readonly members: Set<Entry>; openCount: number; first: Entry | undefined };

/**
 * The incident's earliest member, found again only when asked after it left: removing members in
 * time order (undoing a planned batch does) removed the earliest each time, and a scan per removal
 * was quadratic in the incident's size.
 */
function firstOf(rec: IncidentRec): Entry {
  if (rec.first === undefined) for (const m of rec.members) if (rec.first === undefined || openedBefore(m, rec.first)) rec.first = m;
  return rec.first as Entry;
}

/** Earlier TT_Open_Datetime first, then smaller TT_ID: a total order independent of arrival order. */
function openedBefore(a: Entry, b: Entry): boolean {
  return a.f.openMs < b.f.openMs || (a.f.openMs === b.f.openMs && a.f.ttId < b.f.ttId);
}

/**
 * Live entries in arrival order. Removing one only counts it (it is marked dead by `#unlink`); the
 * dead are dropped once they are half the list. A splice per removal was O(list) — quadratic when a
 * big batch's planned changes were undone and redone on one hot key (a 50k first poll: 20 s).
 * Reads skip the dead, so what is read, and in which order, is as with the splice.
 */
class EntryList {
  items: Entry[] = [];
  dead = 0;

  get live(): number {
    return this.items.length - this.dead;
  }

  push(e: Entry): void {
    this.items.push(e);
  }

  /** `e` (in this list, already marked dead) is gone. */
  remove(): void {
    this.dead++;
    if (this.dead * 2 > this.items.length) {
      this.items = this.items.filter((x) => x.dead !== true);
      this.dead = 0;
    }
  }

  /** Live entries, newest first, at most `budget`; returns how many were read. */
  readDesc(budget: number, out: (e: Entry) => void): number {
    let read = 0;
    for (let k = this.items.length - 1; k >= 0 && read < budget; k--) {
      const e = this.items[k] as Entry;
      if (e.dead === true) continue;
      out(e);
      read++;
    }
    return read;
  }
}

/** Entries grouped by a time bucket; `order` keeps the bucket numbers sorted for range reads. */
class Buckets {
  readonly byBucket = new Map<number, EntryList>();
  readonly order: number[] = [];

  add(bucket: number, e: Entry): void {
    const list = this.byBucket.get(bucket);
    if (list !== undefined) {
      list.push(e);
      return;
    }
    const fresh = new EntryList();
    fresh.push(e);
    this.byBucket.set(bucket, fresh);
    this.order.splice(lowerBound(this.order, bucket), 0, bucket);
  }

  remove(bucket: number): void {
    const list = this.byBucket.get(bucket);
    if (list === undefined) return;
    list.remove();
    if (list.live === 0) {
      this.byBucket.delete(bucket);
      const j = lowerBound(this.order, bucket);
      if (this.order[j] === bucket) this.order.splice(j, 1);
    }
  }

  /** Entries in buckets [from, to], newest bucket first; stops after `budget` entries. Returns entries read. */
  readDesc(from: number, to: number, budget: number, out: (e: Entry) => void): number {
    let read = 0;
    const start = lowerBound(this.order, from);
    for (let i = upperBound(this.order, to) - 1; i >= start && read < budget; i--) {
      const list = this.byBucket.get(this.order[i] as number);
      if (list === undefined) continue;
      read += list.readDesc(budget - read, out);
    }
    return read;
  }
}

function removeItem<T>(list: T[], item: T): void {
  const i = list.indexOf(item);
  if (i >= 0) list.splice(i, 1);
}

function lowerBound(sorted: readonly number[], x: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((sorted[mid] as number) < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function upperBound(sorted: readonly number[], x: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((sorted[mid] as number) <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

const bucketOf = (t: number): number => Math.floor(t / BUCKET_MS);

/** Where an entry sits in a bucketed key: decided by its features alone, so add/remove agree. */
type Placement = { kind: "bounded" | "open"; bucket: number } | { kind: "long" };

function placementOf(f: TicketFeatures): Placement {
  if (!Number.isFinite(f.startMs)) return { kind: "long" };
  if (f.endMs === undefined) return { kind: "open", bucket: bucketOf(Math.max(f.startMs, f.lastUpdateMs)) };
  if (f.endMs - f.startMs <= LONG_MS) return { kind: "bounded", bucket: bucketOf(f.startMs) };
  return { kind: "long" };
}

/** The time tiers of a bucketed key (layer 2 of the module comment). */
type Tiers = { readonly bounded: Buckets; readonly open: Buckets; readonly long: EntryList };

/** Time window of a query: reads only what can overlap [qLo, qHi]. */
type QueryWindow = { qLo: number; qHi: number; staleMs: number };

/**
 * The postings of one key. Most keys are small (a circuit has a handful of tickets in 90 days):
 * they are one flat array, read whole, since bucketing them would cost more memory than it saves
 * time. A key that grows past `SMALL_MAX` postings switches to time tiers for good.
 */
class KeyPostings {
  small: Entry[] | undefined = [];
  constructor(readonly value: string) {}
  tiers: Tiers | undefined;
  size = 0;

  add(e: Entry): void {
    this.size++;
    if (this.small !== undefined) {
      this.small.push(e);
      if (this.small.length <= SMALL_MAX) return;
      const all = this.small;
      this.small = undefined;
      this.tiers = { bounded: new Buckets(), open: new Buckets(), long: new EntryList() };
      for (const x of all) this.#place(this.tiers, x);
      return;
    }
    if (this.tiers !== undefined) this.#place(this.tiers, e);
  }

  #place(tiers: Tiers, e: Entry): void {
    const p = placementOf(e.f);
    if (p.kind === "long") tiers.long.push(e);
    else (p.kind === "open" ? tiers.open : tiers.bounded).add(p.bucket, e);
  }

  remove(e: Entry): void {
    this.size--;
    if (this.small !== undefined) {
      removeItem(this.small, e);
      return;
    }
    if (this.tiers === undefined) return;
    const p = placementOf(e.f);
    if (p.kind === "long") this.tiers.long.remove();
    else (p.kind === "open" ? this.tiers.open : this.tiers.bounded).remove(p.bucket);
  }

  /**
   * Entries whose window may overlap the query window (all of them when `window` is undefined),
   * at most `budget`, newest first: open tickets, then bounded ones, then the long list.
   */
  read(window: QueryWindow | undefined, budget: number, out: (e: Entry) => void): number {
    let read = 0;
    if (this.small !== undefined) {
      for (let i = this.small.length - 1; i >= 0 && read < budget; i--) {
        out(this.small[i] as Entry);
        read++;
      }
      return read;
    }
    const tiers = this.tiers;
    if (tiers === undefined) return 0;
    const all = window === undefined;
    const openFrom = all ? -Infinity : bucketOf(window.qLo - window.staleMs);
    read += tiers.open.readDesc(openFrom, Infinity, budget - read, out);
    const boundedFrom = all ? -Infinity : bucketOf(window.qLo - LONG_MS);
    const boundedTo = all ? Infinity : bucketOf(window.qHi);
    read += tiers.bounded.readDesc(boundedFrom, boundedTo, budget - read, out);
    read += tiers.long.readDesc(budget - read, out);
    return read;
  }
}

/** The key kinds, each its own map: the map key is the normalised value, shared with the stored features. */
type KeyKind = keyof typeof KeyPrefixes;

const EMPTY: readonly string[] = Object.freeze([]);

function mapOrEmpty(values: readonly string[], fn: (v: string) => string): readonly string[] {
  return values.length === 0 ? EMPTY : values.map(fn);
}

export class CorrelationIndex {
  readonly #entries = new Map<string, Entry>();
  readonly #incidents = new Map<string, IncidentRec>();
  /** Postings per key kind, keyed by the normalised value (`circuit:x` is `#keys.circuit.get("x")`). */
  readonly #keys: Record<KeyKind, Map<string, KeyPostings>> = {
    circuit: new Map(),
    node: new Map(),
    service: new Map(),
    ticket: new Map(),
  };
  /** Interned Partner_IDs: one string per NOC instead of one per ticket. */
  readonly #partners = new Map<string, string>();

  /** Number of tickets indexed. */
  get size(): number {
    return this.#entries.size;
  }

  has(ttId: string): boolean {
    return this.#entries.has(ttId);
  }

  hasIncident(incidentId: string): boolean {
    return this.#incidents.has(incidentId);
  }

  /** The incident a ticket is in. */
  incidentOf(ttId: string): string | undefined {
    return this.#entries.get(ttId)?.incidentId;
  }

  /** The features a ticket was indexed with. */
  features(ttId: string): TicketFeatures | undefined {
    return this.#entries.get(ttId)?.f;
  }

  /** All indexed features, in insertion order (for the full-scan reference implementation). */
  *allFeatures(): IterableIterator<{ features: TicketFeatures; incidentId: string }> {
    for (const e of this.#entries.values()) yield { features: e.f, incidentId: e.incidentId };
  }

  /**
   * Puts a ticket in an incident (creating the incident if needed). A ticket already indexed is
   * re-indexed with the new content and moved if `incidentId` differs; an incident left empty is
   * dropped.
   */
  add(ticket: Ticket, incidentId: string): void {
    const old = this.#entries.get(ticket.TT_ID);
    if (old !== undefined) this.#unlink(old);
    this.#link(ticketFeatures(ticket), incidentId);
  }

  /** Re-indexes a changed ticket in its current incident; false if the ticket is not indexed. */
  update(ticket: Ticket): boolean {
    const old = this.#entries.get(ticket.TT_ID);
    if (old === undefined) return false;
    this.#unlink(old);
    this.#link(ticketFeatures(ticket), old.incidentId);
    return true;
  }

  /** How one ticket is indexed now (opaque), to put it back later with `restore`. */
  saved(ttId: string): SavedEntry | undefined {
    const e = this.#entries.get(ttId);
    return e === undefined ? undefined : { f: e.f, incidentId: e.incidentId };
  }

  /** Puts one ticket back as `saved` had it (or out of the index): undo and redo of a tentative change. */
  restore(ttId: string, saved: SavedEntry | undefined): void {
    const old = this.#entries.get(ttId);
    if (old !== undefined) this.#unlink(old);
    if (saved !== undefined) this.#link(saved.f, saved.incidentId);
  }

  /** Forgets a ticket (e.g. archived); false if it was not indexed. */
  remove(ttId: string): boolean {
    const old = this.#entries.get(ttId);
    if (old === undefined) return false;
    this.#unlink(old);
    return true;
  }

  /** Snapshot of an incident. */
  incident(incidentId: string): Incident | undefined {
    const rec = this.#incidents.get(incidentId);
    if (rec === undefined) return undefined;
    const members = [...rec.members].sort((a, b) => (openedBefore(a, b) ? -1 : openedBefore(b, a) ? 1 : 0));
    return {
      id: rec.id,
      tickets: members.map((e) => e.f.ttId),
      // Same rule as `incidentStatus`, on the counter kept up to date by link/unlink.
      status: rec.openCount === 0 ? "closed" : "open",
      openedAt: firstOf(rec).f.openDatetime,
      partners: [...new Set(members.map((e) => e.f.partnerId))].sort(),
    };
  }

  /** The incident's status from its open-member counter (no snapshot: O(1)); undefined when unknown. */
  incidentStatusOf(incidentId: string): "open" | "closed" | undefined {
    const rec = this.#incidents.get(incidentId);
    return rec === undefined ? undefined : rec.openCount === 0 ? "closed" : "open";
  }

  /** Incident ids, sorted. */
  incidentIds(): string[] {
    return [...this.#incidents.keys()].sort();
  }

  /** Sort key for "oldest incident first": earliest member TT_Open_Datetime in ms (unknown: +Infinity). */
  incidentOpenedMs(incidentId: string): number {
    const rec = this.#incidents.get(incidentId);
    const ms = rec === undefined ? undefined : firstOf(rec).f.openMs;
    return ms === undefined || Number.isNaN(ms) ? Infinity : ms;
  }

  /**
   * Stored tickets that could reach the threshold with `ticket`, scored (see the module comment for
   * what is read). Excludes the ticket itself. `now` defaults to the ticket's last update.
   */
  candidates(ticket: Ticket, config: CorrelationConfig = defaultCorrelationConfig, now?: Date): ScoredCandidate[] {
    const f = ticketFeatures(ticket);
    return this.query(f, config, now === undefined ? Math.max(f.lastUpdateMs, f.startMs) : now.getTime()).candidates;
  }

  /** `candidates` on precomputed features, with the truncation report. Does not change the index. */
  query(f: TicketFeatures, config: CorrelationConfig, now: number): CandidateQuery {
    const seen = new Set<Entry>();
    const collect = (e: Entry): void => {
      if (e.f.ttId !== f.ttId) seen.add(e);
    };
    const truncatedKeys: string[] = [];
    let postingsRead = 0;
    const budget = config.maxPostingsPerKey;

    // Forward references: direct lookups, whatever the time.
    for (const r of f.refs) {
      const e = this.#entries.get(r);
      if (e !== undefined) collect(e);
    }
    // Reverse references: tickets that quoted this one before it arrived.
    const reverse = this.#keys.ticket.get(f.ttId);
    if (reverse !== undefined) {
      postingsRead += reverse.read(undefined, budget, collect);
      if (reverse.size > budget) truncatedKeys.push(KeyPrefixes.ticket + f.ttId);
    }

    // Gated keys: only if the ticket has a usable start (otherwise no gate can pass).
    if (Number.isFinite(f.startMs)) {
      const slackMs = config.timeWindow.slackMinutes * 60_000;
      const window: QueryWindow = {
        qLo: f.startMs - slackMs,
        qHi: effectiveEndMs(f, config, now) + slackMs,
        staleMs: config.timeWindow.staleAfterHours * HOUR,
      };
      for (const { key, list } of this.#essentialKeys(f, config)) {
        const read = list.read(window, budget, collect);
        postingsRead += read;
        if (read >= budget && list.size > budget) truncatedKeys.push(key);
      }
    }

    const candidates: ScoredCandidate[] = [];
    for (const e of seen) {
      const { score, matched } = scorePair(f, e.f, config, now);
      if (score > 0) candidates.push({ ttId: e.f.ttId, incidentId: e.incidentId, score, matched });
    }
    candidates.sort((a, b) => b.score - a.score || (a.ttId < b.ttId ? -1 : a.ttId > b.ttId ? 1 : 0));
    return { candidates, truncatedKeys, postingsRead };
  }

  /**
   * The gated keys worth reading (layer 1 of the module comment): drop the longest prefix, by
   * weight ascending then list size descending, whose weights plus the time bonus stay below the
   * threshold. A candidate sharing only dropped keys scores below the threshold, so it cannot win.
   * Keys nobody else has are left out: they cannot produce a candidate.
   */
  #essentialKeys(f: TicketFeatures, config: CorrelationConfig): { key: string; list: KeyPostings }[] {
    const w = config.weights;
    const keyed: { key: string; weight: number; list: KeyPostings | undefined }[] = [];
    const push = (kind: KeyKind, value: string, weight: number): void => {
      keyed.push({ key: KeyPrefixes[kind] + value, weight, list: this.#keys[kind].get(value) });
    };
    for (const c of f.circuits) push("circuit", c, w.circuit);
    for (const n of f.nodes) push("node", n, w.node);
    if (f.service !== undefined) push("service", f.service, w.service);
    const size = (k: (typeof keyed)[number]): number => k.list?.size ?? 0;
    keyed.sort((a, b) => a.weight - b.weight || size(b) - size(a) || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    let sum = w.timeOverlap;
    let i = 0;
    for (; i < keyed.length; i++) {
      const k = keyed[i] as (typeof keyed)[number];
      if (sum + k.weight >= config.threshold) break;
      sum += k.weight;
    }
    const out: { key: string; list: KeyPostings }[] = [];
    for (const { key, list } of keyed.slice(i)) if (list !== undefined) out.push({ key, list });
    return out;
  }

  stats(): IndexStats {
    let postings = 0;
    let keys = 0;
    let hottestKey: IndexStats["hottestKey"];
    for (const kind of Object.keys(this.#keys) as KeyKind[]) {
      for (const [value, list] of this.#keys[kind]) {
        keys++;
        postings += list.size;
        if (hottestKey === undefined || list.size > hottestKey.size) hottestKey = { key: KeyPrefixes[kind] + value, size: list.size };
      }
    }
    return { tickets: this.#entries.size, incidents: this.#incidents.size, keys, postings, hottestKey };
  }

  /**
   * Stores features with their strings shared: every normalised value is the key string of its
   * posting map, every Partner_ID the one interned copy. 100k tickets would otherwise hold 100k
   * copies of "service 0".
   */
  #link(f0: TicketFeatures, incidentId: string): void {
    const lists: KeyPostings[] = [];
    const intern = (kind: KeyKind, value: string): string => {
      const map = this.#keys[kind];
      let list = map.get(value);
      if (list === undefined) {
        list = new KeyPostings(value);
        map.set(value, list);
      }
      lists.push(list);
      return list.value;
    };
    let partnerId = this.#partners.get(f0.partnerId);
    if (partnerId === undefined) {
      partnerId = f0.partnerId;
      this.#partners.set(partnerId, partnerId);
    }
    const refs = mapOrEmpty(f0.refs, (r) => intern("ticket", r));
    const f: TicketFeatures = {
      ttId: f0.ttId,
      partnerId,
      circuits: mapOrEmpty(f0.circuits, (c) => intern("circuit", c)),
      nodes: mapOrEmpty(f0.nodes, (n) => intern("node", n)),
      service: f0.service === undefined ? undefined : intern("service", f0.service),
      refs,
      master: f0.master === undefined ? undefined : (refs.find((r) => r === f0.master) ?? f0.master),
      startMs: f0.startMs,
      endMs: f0.endMs,
      lastUpdateMs: f0.lastUpdateMs,
      openMs: f0.openMs,
      openDatetime: f0.openDatetime,
      final: f0.final,
    };
    const e: Entry = { f, incidentId };
    this.#entries.set(f.ttId, e);
    for (const list of lists) list.add(e);

    const rec = this.#incidents.get(incidentId);
    if (rec === undefined) {
      this.#incidents.set(incidentId, { id: incidentId, members: new Set([e]), openCount: f.final ? 0 : 1, first: e });
      return;
    }
    rec.members.add(e);
    if (!f.final) rec.openCount++;
    if (rec.first !== undefined && openedBefore(e, rec.first)) rec.first = e;
  }

  #unlink(e: Entry): void {
    e.dead = true;
    this.#entries.delete(e.f.ttId);
    const drop = (kind: KeyKind, value: string): void => {
      const map = this.#keys[kind];
      const list = map.get(value);
      if (list === undefined) return;
      list.remove(e);
      if (list.size === 0) map.delete(value);
    };
    for (const c of e.f.circuits) drop("circuit", c);
    for (const n of e.f.nodes) drop("node", n);
    if (e.f.service !== undefined) drop("service", e.f.service);
    for (const r of e.f.refs) drop("ticket", r);

    const rec = this.#incidents.get(e.incidentId);
    if (rec === undefined) return;
    rec.members.delete(e);
    if (!e.f.final) rec.openCount--;
    if (rec.members.size === 0) {
      this.#incidents.delete(e.incidentId);
      return;
    }
    if (rec.first === e) rec.first = undefined;
  }
}
