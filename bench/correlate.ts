/**
 * Correlation engine benchmark: `npx tsx bench/correlate.ts` (add `--expose-gc` through
 * NODE_OPTIONS=--expose-gc to also report the heap retained after a full GC).
 *
 * 1. Loads 100k stored tickets (90 days, ~2k services, ~20k circuits, ~5k nodes, ~5% open),
 *    each correlated and added in time order, so incidents form as they would in production.
 * 2. Correlates and adds 10k incoming tickets (the next ~9 days; ~5% are updates closing an
 *    open ticket), timing every `correlate` and `correlate + applyDecision`.
 * 3. On a sample of 200 incoming tickets (every 50th), in the same process and at the same index
 *    state, also runs `correlateFullScan` (the same scoring over every stored ticket) and compares
 *    time and decision.
 *
 * Data are synthetic and seeded (same figures modulo machine noise on every run). Popularity of
 * services, nodes and circuits is Zipf-like, so there ARE hot keys (the top service has ~10% of
 * all tickets). Faults produce 1-4 tickets from different NOCs sharing circuits/nodes/service,
 * with jittered times, sometimes quoting the first NOC's TT_ID; ~35% of tickets are lone noise.
 */
import { performance } from "node:perf_hooks";
import type { Ticket } from "../src/model/ticket.js";
import {
  CorrelationIndex,
  applyDecision,
  correlate,
  correlateFullScan,
  defaultCorrelationConfig,
  type CorrelationDecision,
} from "../src/correlate/engine.js";

const N_STORED = 100_000;
const N_INCOMING = 10_000;
const N_SERVICES = 2_000;
const N_CIRCUITS = 20_000;
const N_NODES = 5_000;
const N_PARTNERS = 25;
const DAYS = 90;
const OPEN_FRACTION = 0.05;
const UPDATE_FRACTION = 0.1; // per generation step; a step otherwise yields ~1.55 tickets → ~5% updates
const NAIVE_EVERY = 50; // → 200 of the 10k incoming tickets
const TARGET_MEDIAN_MS = 1;
const TARGET_RSS_MB = 300;

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const T_START = Date.parse("2024-01-01T00:00:00Z");
const T_STORED_END = T_START + DAYS * DAY;

// ---------------------------------------------------------------------------------------------
// Deterministic random data
// ---------------------------------------------------------------------------------------------

function mulberry32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const rand = mulberry32(20240101);
const int = (n: number): number => Math.floor(rand() * n);

/** Zipf(s) sampler over 0..n-1 by inverse CDF. */
function zipf(n: number, s: number): () => number {
  const cdf = new Float64Array(n);
  let sum = 0;
  for (let i = 0; i < n; i++) {
    sum += 1 / Math.pow(i + 1, s);
    cdf[i] = sum;
  }
  return () => {
    const x = rand() * sum;
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((cdf[mid] ?? 0) < x) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
}
const pickService = zipf(N_SERVICES, 1.0);
const pickNode = zipf(N_NODES, 0.8);
const pickCircuit = zipf(N_CIRCUITS, 0.6);

/** Log-normal duration, median 2 h, capped at 5 days (a few multi-day maintenances). */
function duration(): number {
  const z = Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
  return Math.min(5 * DAY, 2 * HOUR * Math.exp(1.1 * z));
}

const iso = (ms: number): string => new Date(ms).toISOString();
/** Operators type names inconsistently: the engine normalises case and spaces. */
const circuitName = (i: number): string => {
  const name = `CCT-${String(i).padStart(5, "0")}`;
  return rand() < 0.1 ? name.toLowerCase() : rand() < 0.05 ? name.replace("-", " - ") : name;
};

let originalSeq = 0;
function makeTicket(opts: {
  partner: number;
  start: number;
  end: number;
  open: boolean;
  circuits: string[];
  nodes: string[];
  service: number | undefined;
  quote: string | undefined;
  now: number;
}): Ticket {
  const partner = `NOC${opts.partner}`;
  const original = String(++originalSeq);
  const lastUpdate = opts.open ? Math.min(opts.now, opts.start + rand() * 6 * HOUR) : opts.end;
  const t: Ticket = {
    Partner_ID: partner,
    Original_ID: original,
    TT_ID: `${partner}_${original}`,
    TT_Title: opts.quote !== undefined ? `Outage, see ${opts.quote}` : `Link problem ${original}`,
    TT_Type: "Operational",
    TT_Status: opts.open ? (rand() < 0.5 ? "Opened" : "Updated") : "Closed",
    TT_Open_Datetime: iso(opts.start + 5 * 60_000),
    TT_Short_Description: "Core Line Fault",
    Type: "Unscheduled",
    TT_Impact_Assessment: "No connectivity",
    Start_Datetime: iso(opts.start),
    TT_Last_Update_Time: iso(Math.max(lastUpdate, opts.start)),
    Location: "PoP",
    History: opts.open ? "" : "fixed",
    Network_Node: opts.nodes,
    Network_Link_Circuit: opts.circuits,
    ...(opts.service === undefined ? {} : { Affected_Service: `Service ${opts.service}` }),
  };
  if (!opts.open) {
    t.End_Datetime = iso(opts.end);
    t.TT_Close_Datetime = iso(opts.end + 10 * 60_000);
  }
  return t;
}

/** One fault: 1-4 tickets (different NOCs) sharing evidence, or one lone noise ticket. */
function* fault(start: number, now: number, open: () => boolean): Generator<Ticket> {
  const end = start + duration();
  const circuits = [circuitName(pickCircuit())];
  if (rand() < 0.4) circuits.push(circuitName(pickCircuit()));
  const nodes = [`NODE-${pickNode()}`];
  if (rand() < 0.5) nodes.push(`NODE-${pickNode()}`);
  const service = rand() < 0.9 ? pickService() : undefined;
  const lone = rand() < 0.35;
  const count = lone ? 1 : 2 + (rand() < 0.3 ? 1 : 0) + (rand() < 0.1 ? 1 : 0);
  let firstId: string | undefined;
  for (let k = 0; k < count; k++) {
    const jitter = k === 0 ? 0 : (rand() - 0.3) * HOUR;
    // Each NOC sees part of the evidence: a circuit, or the nodes, or both.
    const seen = rand();
    const t = makeTicket({
      partner: int(N_PARTNERS),
      start: start + jitter,
      end: end + jitter,
      open: open(),
      circuits: seen < 0.7 ? circuits : [circuitName(pickCircuit())],
      nodes: seen > 0.3 ? nodes : [`NODE-${pickNode()}`],
      service,
      quote: k > 0 && rand() < 0.15 ? firstId : undefined,
      now,
    });
    firstId ??= t.TT_ID;
    yield t;
  }
}

// ---------------------------------------------------------------------------------------------
// Measurement helpers
// ---------------------------------------------------------------------------------------------

let peakRss = 0;
function sampleRss(): number {
  const rss = process.memoryUsage().rss;
  if (rss > peakRss) peakRss = rss;
  return rss;
}
const mb = (bytes: number): string => `${(bytes / 1048576).toFixed(0)} MB`;
const gc = (globalThis as { gc?: () => void }).gc;

function quantile(sorted: Float64Array, q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
}
function summary(samples: number[]): { median: number; p99: number; mean: number; max: number } {
  const sorted = Float64Array.from(samples).sort();
  const mean = samples.reduce((a, b) => a + b, 0) / samples.length;
  return { median: quantile(sorted, 0.5), p99: quantile(sorted, 0.99), mean, max: sorted[sorted.length - 1] ?? Number.NaN };
}
const fmt = (ms: number): string => (ms < 1 ? `${(ms * 1000).toFixed(1)} µs` : `${ms.toFixed(2)} ms`);
const sameDecision = (a: CorrelationDecision, b: CorrelationDecision): boolean => a.kind === b.kind && a.incidentId === b.incidentId;

// ---------------------------------------------------------------------------------------------
// Run
// ---------------------------------------------------------------------------------------------

const config = defaultCorrelationConfig;
const index = new CorrelationIndex();
const openTickets = new Map<string, Ticket>(); // for updates
const wall0 = performance.now();
sampleRss();
const baselineRss = process.memoryUsage().rss;

// 1. Load: faults spread evenly over 90 days (time order), each ticket correlated and added.
const faultsNeeded = Math.ceil(N_STORED / 1.55);
let stored = 0;
const loadStart = performance.now();
const loadKinds = { new: 0, join: 0, stay: 0 };
for (let i = 0; stored < N_STORED; i++) {
  const start = T_START + (Math.min(i, faultsNeeded) / faultsNeeded) * DAYS * DAY + rand() * HOUR;
  for (const t of fault(start, T_STORED_END, () => rand() < OPEN_FRACTION)) {
    if (stored >= N_STORED) break;
    const d = correlate(index, t, config, new Date(Date.parse(t.TT_Last_Update_Time)));
    applyDecision(index, t, d);
    loadKinds[d.kind]++;
    if (t.End_Datetime === undefined) openTickets.set(t.TT_ID, t);
    stored++;
    if (stored % 1000 === 0) sampleRss();
  }
}
const loadMs = performance.now() - loadStart;
sampleRss();
const afterLoad = index.stats();

// 2. Incoming: the next days at the same rate; ~5% are updates (an open ticket gets closed).
const incomingSpan = (N_INCOMING / N_STORED) * DAYS * DAY;
const correlateMs: number[] = [];
const totalMs: number[] = [];
const kinds = { new: 0, join: 0, stay: 0 };
const naive = { indexMs: [] as number[], scanMs: [] as number[], agree: 0, total: 0 };
let processed = 0;
let updates = 0;
const updateKinds = { new: 0, join: 0, stay: 0 };

function process1(t: Ticket, now: Date, isUpdate: boolean): void {
  const t0 = performance.now();
  const d = correlate(index, t, config, now);
  const t1 = performance.now();
  if (processed % NAIVE_EVERY === 0) {
    // Same index state, same ticket: the naive full scan, compared with the indexed run just timed.
    const s0 = performance.now();
    const full = correlateFullScan(index, t, config, now);
    const s1 = performance.now();
    naive.scanMs.push(s1 - s0);
    naive.indexMs.push(t1 - t0);
    naive.total++;
    if (sameDecision(full, d)) naive.agree++;
  }
  if (isUpdate) {
    updates++;
    updateKinds[d.kind]++;
  }
  const t2 = performance.now();
  applyDecision(index, t, d);
  const t3 = performance.now();
  correlateMs.push(t1 - t0);
  totalMs.push(t1 - t0 + (t3 - t2));
  kinds[d.kind]++;
  processed++;
  if (processed % 1000 === 0) sampleRss();
}

for (let i = 0; processed < N_INCOMING; i++) {
  const clock = T_STORED_END + (i / (N_INCOMING / 1.55)) * incomingSpan;
  if (rand() < UPDATE_FRACTION && openTickets.size > 0) {
    // Close the oldest open ticket still around (Map iteration order = insertion order).
    const [id, t] = openTickets.entries().next().value as [string, Ticket];
    openTickets.delete(id);
    const start = Date.parse(t.Start_Datetime);
    const end = Math.max(start + HOUR, Math.min(clock, start + duration()));
    const closedT: Ticket = {
      ...t,
      TT_Status: "Closed",
      End_Datetime: iso(end),
      TT_Close_Datetime: iso(Math.max(end, clock)),
      TT_Last_Update_Time: iso(clock),
      History: "closed",
    };
    process1(closedT, new Date(clock), true);
    continue;
  }
  for (const t of fault(clock, clock + 6 * HOUR, () => rand() < OPEN_FRACTION)) {
    if (processed >= N_INCOMING) break;
    process1(t, new Date(Math.max(clock, Date.parse(t.TT_Last_Update_Time))), false);
    if (t.End_Datetime === undefined) openTickets.set(t.TT_ID, t);
  }
}
sampleRss();
let retainedHeap: number | undefined;
if (gc !== undefined) {
  gc();
  retainedHeap = process.memoryUsage().heapUsed;
}
const wallS = (performance.now() - wall0) / 1000;

// ---------------------------------------------------------------------------------------------
// Report
// ---------------------------------------------------------------------------------------------

const c = summary(correlateMs);
const ct = summary(totalMs);
const ni = summary(naive.indexMs);
const ns = summary(naive.scanMs);
const end = index.stats();
const lines = [
  `ttrelay correlation benchmark (node ${process.version}, default config: threshold ${config.threshold}, slack ${config.timeWindow.slackMinutes} min)`,
  ``,
  `data: ${N_STORED} stored tickets over ${DAYS} days (${N_SERVICES} services, ${N_CIRCUITS} circuits, ${N_NODES} nodes, ${N_PARTNERS} NOCs, ~${OPEN_FRACTION * 100}% open)`,
  `load: ${(loadMs / 1000).toFixed(1)} s (${fmt(loadMs / N_STORED)}/ticket incl. correlate + add); decisions new ${loadKinds.new}, join ${loadKinds.join}`,
  `index after load: ${afterLoad.tickets} tickets, ${afterLoad.incidents} incidents, ${afterLoad.keys} keys, ${afterLoad.postings} postings; hottest key ${afterLoad.hottestKey?.key} (${afterLoad.hottestKey?.size} postings)`,
  ``,
  `incoming: ${processed} tickets (new ${kinds.new}, join ${kinds.join}, stay ${kinds.stay}); ${updates} of them updates (stay ${updateKinds.stay}, join ${updateKinds.join}, new ${updateKinds.new})`,
  `  index now ${end.tickets} tickets, ${end.incidents} incidents`,
  `  correlate only      : median ${fmt(c.median)}, p99 ${fmt(c.p99)}, mean ${fmt(c.mean)}, max ${fmt(c.max)}`,
  `  correlate + add     : median ${fmt(ct.median)}, p99 ${fmt(ct.p99)}, mean ${fmt(ct.mean)}, max ${fmt(ct.max)}`,
  ``,
  `naive full scan, sample of ${naive.total} incoming tickets (every ${NAIVE_EVERY}th), same process, same index state (~${end.tickets} stored):`,
  `  indexed correlate   : (the same calls as above, timed before the scan) median ${fmt(ni.median)}, p99 ${fmt(ni.p99)}`,
  `  full scan           : median ${fmt(ns.median)}, p99 ${fmt(ns.p99)}`,
  `  ratio (scan/index)  : ${(ns.median / ni.median).toFixed(0)}x at the median, ${(ns.mean / ni.mean).toFixed(0)}x on the mean`,
  `  same decision       : ${naive.agree}/${naive.total}`,
  ``,
  `memory: peak RSS ${mb(peakRss)} (sampled every 1000 tickets; ${mb(baselineRss)} at start)` +
    (retainedHeap === undefined ? `; run with NODE_OPTIONS=--expose-gc for the retained heap` : `; heap after full GC ${mb(retainedHeap)}`),
  `wall time: ${wallS.toFixed(1)} s`,
  ``,
  `${ct.median <= TARGET_MEDIAN_MS ? "PASS" : "FAIL"}  median correlate + add ${fmt(ct.median)} <= ${TARGET_MEDIAN_MS} ms`,
  `${peakRss <= TARGET_RSS_MB * 1048576 ? "PASS" : "FAIL"}  peak RSS ${mb(peakRss)} <= ${TARGET_RSS_MB} MB`,
  `${naive.agree === naive.total ? "PASS" : "FAIL"}  indexed decisions equal the full scan on the sample (${naive.agree}/${naive.total})`,
];
console.log(lines.join("\n"));
process.exitCode = ct.median <= TARGET_MEDIAN_MS && peakRss <= TARGET_RSS_MB * 1048576 && naive.agree === naive.total ? 0 : 1;
