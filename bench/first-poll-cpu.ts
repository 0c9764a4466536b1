/**
 * P4 in one process, without XMPP: where a big first poll's time goes. Parses a generated feed of
 * BENCH_SIZES items (default 50000), translates it (`planFeedBatchInParts`) and hands it to the real
 * intake with a real FileStore, timing each step; three runs, min / median / max. Run under
 * `node --cpu-prof --import tsx bench/first-poll-cpu.ts` to see the functions (bench/first-poll.ts
 * times the whole bot against a real Prosody).
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConfigSchema } from "../config/schema.js";
import { IncidentBook } from "../src/intake/incidents.js";
import { IntakeService } from "../src/intake/intake.js";
import { createLogger } from "../src/log/logger.js";
import { nocActor } from "../src/model/activity.js";
import { parseFeed } from "../src/sources/feed/parse.js";
import { planFeedBatchInParts } from "../src/sources/feed/plan.js";
import { emptyFeedState } from "../src/sources/feed/state.js";
import { FileStore } from "../src/store/file-store.js";
import { examplenetMapping } from "../test/helpers/bot-config.js";
import { rssFeed } from "../test/fixtures/feeds.js";
import { feedItems } from "./support/feed-items.js";
import { RUNS, row, summarise } from "./support/stats.js";

const SIZES = (process.env.BENCH_SIZES ?? "50000").split(",").map(Number);
const ROOMS = 5;
const rooms = Array.from({ length: ROOMS }, (_, k) => `r${k}@muc.bench.test`);
const config = ConfigSchema.parse({
  noc: { id: "EXN", name: "ExampleNet NOC" },
  xmpp: { jid: "ttrelay@bench.test", password: { env: "TTRELAY_BENCH_PASSWORD" }, service: "xmpp://127.0.0.1:5222", nick: "ttrelay" },
  rooms: rooms.map((jid) => ({ jid, name: "bench room" })),
  feeds: [{ id: "big", url: "http://127.0.0.1/big.rss", partnerId: "EXN", mapping: examplenetMapping, maxBytes: 100 * 1024 * 1024 }],
  routes: rooms.map((room, k) => ({ rooms: [room], when: { services: [`Transit R${k}`] } })),
  store: { path: "/unused/store.json" },
});
const feed = config.feeds[0];
if (!feed) throw new Error("no feed");
const log = createLogger("warn", false);
const results = new Map<string, number[]>();
const push = (k: string, v: number): void => void results.set(k, [...(results.get(k) ?? []), v]);
const dir = await mkdtemp(join(tmpdir(), "ttrelay-bench-p4cpu-"));
try {
  for (const n of SIZES) {
    const doc = rssFeed(feedItems(n, ROOMS));
    for (let run = 1; run <= RUNS; run++) {
      const opened = await FileStore.open(join(dir, `${n}-${run}`, "store.json"), { log });
      if (!opened.ok) throw new Error(opened.error);
      const store = opened.value;
      const incidents = new IncidentBook(store.state, config.correlation);
      const intake = new IntakeService({ store, incidents, routes: config.routes, render: config.render, actor: nocActor(config.noc), systems: [], log, now: () => new Date() });
      const t0 = performance.now();
      const parsed = await parseFeed(doc, feed.maxItemChars);
      if (!parsed.ok) throw new Error(parsed.error);
      const t1 = performance.now();
      const batch = await planFeedBatchInParts(feed, emptyFeedState(), parsed.value.items, [], {}, new Date(), () => new Promise((r) => setImmediate(r)));
      const t2 = performance.now();
      const result = await intake.submit(batch);
      const t3 = performance.now();
      if (!result.committed) throw new Error(result.error);
      await store.close();
      push(`parse ${n}`, t1 - t0);
      push(`translate ${n}`, t2 - t1);
      push(`intake ${n}`, t3 - t2);
      push(`total ${n}`, t3 - t0);
      console.log(`run ${run}, ${n} items: parse ${(t1 - t0).toFixed(0)} ms, translate ${(t2 - t1).toFixed(0)} ms, intake ${(t3 - t2).toFixed(0)} ms`);
    }
  }
  console.log(`\nP4 in one process (no XMPP), ${RUNS} runs (min / median / max)`);
  for (const n of SIZES) for (const step of ["parse", "translate", "intake", "total"]) console.log(row(`${step}, ${n} items`, summarise(results.get(`${step} ${n}`) ?? []), "ms"));
} finally {
  await rm(dir, { recursive: true, force: true });
}
