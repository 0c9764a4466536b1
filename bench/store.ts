/**
 * P3 — the store at 1k, 10k and 50k live tickets (the tickets a first poll of a feed of that many
 * items stores, written as a snapshot, as a long-running bot has them): start-up (open the store
 * and build the correlation index, as `startBot` does) and RSS after it; one write as a command
 * makes it (the ticket changed, its reply queued) — p50 and p99 over 200 in a row; and a burst of
 * 100 such commands at once — until all are written. Each run in a fresh process (its own memory,
 * its own start-up), on its own copy of the store; three runs print min / median / max.
 * Goal: one write p99 ≤ 50 ms at 50k.
 */
import { execFileSync } from "node:child_process";
import { copyFile, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { ConfigSchema } from "../config/schema.js";
import { defaultCorrelationConfig } from "../src/correlate/engine.js";
import { IncidentBook } from "../src/intake/incidents.js";
import { nocActor } from "../src/model/activity.js";
import { parseFeed } from "../src/sources/feed/parse.js";
import { planPoll } from "../src/sources/feed/plan.js";
import { emptyFeedState } from "../src/sources/feed/state.js";
import { FileStore } from "../src/store/file-store.js";
import { ChangeSet, type OutboxEntry, type StoredTicket } from "../src/store/types.js";
import { examplenetMapping } from "../test/helpers/bot-config.js";
import { rssFeed } from "../test/fixtures/feeds.js";
import { feedItems } from "./support/feed-items.js";
import { RUNS, percentile, row, summarise } from "./support/stats.js";

const SIZES = (process.env.BENCH_SIZES ?? "1000,10000,50000").split(",").map(Number);
const WRITES = 200;
const BURST = 100;
const SELF = fileURLToPath(import.meta.url);

type RunResult = { startupMs: number; rssMb: number; p50: number; p99: number; burstMs: number };

/** One command's write: the ticket as changed by it, and its reply queued for the room. */
function commandChange(t: StoredTicket, n: number, at: Date): ChangeSet {
  const note = `bench note ${n}`;
  const changed: StoredTicket = { ...t, lastChange: at.toISOString(), ticket: { ...t.ticket, TT_Last_Update_Time: at.toISOString().replace(/\.\d{3}Z$/, "Z") } };
  const reply: OutboxEntry = { id: `bench-${process.pid}-${n}`, room: "bench@conference.bench.test", body: `*${t.ticket.TT_ID}* acknowledged: ${note}`, createdAt: at.toISOString(), attempts: 0, ticketId: t.ticket.TT_ID };
  return new ChangeSet().put("tickets", t.ticket.TT_ID, changed).put("outbox", reply.id, reply);
}

async function child(path: string): Promise<void> {
  const t0 = performance.now();
  const opened = await FileStore.open(path);
  if (!opened.ok) throw new Error(opened.error);
  const store = opened.value;
  const incidents = new IncidentBook(store.state, defaultCorrelationConfig);
  await store.commit(incidents.startup);
  const startupMs = performance.now() - t0;
  global.gc?.();
  const rssMb = process.memoryUsage().rss / 1048576;
  const tickets = [...store.values("tickets")];
  const pick = (n: number): StoredTicket => tickets[(n * 7919) % tickets.length] as StoredTicket;
  const times: number[] = [];
  for (let n = 0; n < WRITES; n++) {
    const t = performance.now();
    await store.commit(commandChange(pick(n), n, new Date()));
    times.push(performance.now() - t);
  }
  const b0 = performance.now();
  await Promise.all(Array.from({ length: BURST }, (_, i) => store.commit(commandChange(pick(WRITES + i), WRITES + i, new Date()))));
  const burstMs = performance.now() - b0;
  await store.close();
  process.stdout.write(JSON.stringify({ startupMs, rssMb, p50: percentile(times, 50), p99: percentile(times, 99), burstMs } satisfies RunResult));
}

/** A store holding the tickets a first poll of `n` items leaves, as a snapshot. */
async function buildStore(path: string, n: number): Promise<number> {
  const config = ConfigSchema.parse({
    noc: { id: "EXN", name: "ExampleNet NOC" },
    xmpp: { jid: "ttrelay@bench.test", password: { value: "x" }, nick: "ttrelay" },
    rooms: [{ jid: "bench@conference.bench.test" }],
    feeds: [{ id: "bench", url: "http://127.0.0.1/", partnerId: "EXN", mapping: examplenetMapping, maxBytes: 100 * 1024 * 1024 }],
    routes: [{ rooms: ["bench@conference.bench.test"] }],
    store: { path },
  });
  const feed = config.feeds[0];
  if (!feed) throw new Error("no feed");
  const parsed = await parseFeed(rssFeed(feedItems(n, 5)), feed.maxItemChars);
  if (!parsed.ok) throw new Error(parsed.error);
  const plan = planPoll({ feed, routes: config.routes, actor: nocActor(config.noc), render: config.render, now: new Date() }, emptyFeedState(), parsed.value.items, [], {}, () => undefined);
  const opened = await FileStore.open(path);
  if (!opened.ok) throw new Error(opened.error);
  const store = opened.value;
  for (let i = 0; i < plan.tickets.length; i += 1000) await store.commit(plan.tickets.slice(i, i + 1000).reduce((c, t) => c.put("tickets", t.ticket.TT_ID, t), new ChangeSet()));
  await store.compact();
  await store.close();
  return plan.tickets.length;
}

if (process.argv[2] === "--child") {
  await child(process.argv[3] ?? "");
} else {
  const dir = await mkdtemp(join(tmpdir(), "ttrelay-bench-p3-"));
  try {
    const results = new Map<string, number[]>();
    const push = (k: string, v: number): void => void results.set(k, [...(results.get(k) ?? []), v]);
    for (const n of SIZES) {
      const base = join(dir, `base-${n}.json`);
      const live = await buildStore(base, n);
      for (let run = 1; run <= RUNS; run++) {
        const path = join(dir, `run-${n}-${run}.json`);
        await copyFile(base, path);
        const out = execFileSync(process.execPath, ["--expose-gc", "--import", "tsx", SELF, "--child", path], { encoding: "utf8", maxBuffer: 1 << 20 });
        const r = JSON.parse(out) as RunResult;
        for (const [k, v] of Object.entries(r)) push(`${k} ${n}`, v);
        console.log(`run ${run}, ${live} live tickets: start-up ${r.startupMs.toFixed(0)} ms, RSS ${r.rssMb.toFixed(0)} MB, one write p50/p99 ${r.p50.toFixed(1)}/${r.p99.toFixed(1)} ms, burst of ${BURST} ${r.burstMs.toFixed(0)} ms`);
      }
    }
    console.log(`\nP3 store, ${RUNS} runs (min / median / max)`);
    for (const n of SIZES) {
      const get = (k: string): number[] => results.get(`${k} ${n}`) ?? [];
      console.log(row(`one write p99, ${n} live tickets`, summarise(get("p99")), "ms", 1, n === 50_000 ? "(goal ≤ 50 ms)" : ""));
      console.log(row(`one write p50, ${n} live tickets`, summarise(get("p50")), "ms", 1));
      console.log(row(`burst of ${BURST} commands, ${n} live tickets`, summarise(get("burstMs")), "ms"));
      console.log(row(`start-up (open + index), ${n} live tickets`, summarise(get("startupMs")), "ms"));
      console.log(row(`RSS after start-up, ${n} live tickets`, summarise(get("rssMb")), "MB"));
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
