/**
 * P4 — a big first poll: the bot (its own process) polls a feed it has never seen, listing 10k and
 * 50k items over 5 rooms; timed from the poll until a second client has the one summary line of
 * every room (goal: 50k ≤ 5 s), and checked to be exactly one line per room. Also the parse of a
 * 5 MB feed document alone (this process). Three runs each: min / median / max.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ConfigInput } from "../config/schema.js";
import { startFeedServer } from "../src/demo/feed-server.js";
import { startProsody } from "../src/demo/prosody.js";
import { startWatcher } from "../src/demo/watcher.js";
import { parseFeed } from "../src/sources/feed/parse.js";
import { spawnBot } from "../test/support/bot-process.js";
import { examplenetMapping } from "../test/helpers/bot-config.js";
import { rssFeed } from "../test/fixtures/feeds.js";
import { feedItems } from "./support/feed-items.js";
import { RUNS, cpuMsOf, row, summarise } from "./support/stats.js";
import { benchBuild, ensureBuilt } from "./support/build.js";

// The bot as admins run it, compiled (see bench/support/build.ts).
const BUILD = benchBuild();
ensureBuilt();

const SIZES = (process.env.BENCH_SIZES ?? "10000,50000").split(",").map(Number);
const ROOMS = 5;
const profile = process.env.BENCH_PROFILE ? ["--cpu-prof", `--cpu-prof-dir=${process.env.BENCH_PROFILE}`] : [];
// BENCH_NODE_FLAGS="--single-threaded-gc …": node flags for the bot, to try V8 settings against the defaults.
const nodeFlags = (process.env.BENCH_NODE_FLAGS ?? "").split(" ").filter(Boolean);

const items = (n: number): ReturnType<typeof feedItems> => feedItems(n, ROOMS);

const dir = await mkdtemp(join(tmpdir(), "ttrelay-bench-p4-"));
const prosody = await startProsody({ domain: "bench.test" });
const feeds = await startFeedServer();
try {
  await prosody.register("ttrelay", "bench-pw");
  await prosody.register("watcher", "watcher-pw");
  const results = new Map<string, number[]>();
  const push = (k: string, v: number): void => void results.set(k, [...(results.get(k) ?? []), v]);
  const docs = new Map(SIZES.map((n) => [n, rssFeed(items(n))]));

  for (let run = 1; run <= RUNS; run++) {
    for (const n of SIZES) {
      const tag = `r${run}n${n}`;
      const rooms = Array.from({ length: ROOMS }, (_, k) => `fp-${tag}-${k}@${prosody.mucDomain}`);
      const input: ConfigInput = {
        noc: { id: "EXN", name: "ExampleNet NOC" },
        xmpp: { jid: `ttrelay@${prosody.domain}`, password: { env: "TTRELAY_BENCH_PASSWORD" }, service: prosody.service, nick: "ttrelay" },
        rooms: rooms.map((jid) => ({ jid, name: "bench room" })),
        feeds: [{ id: "big", url: feeds.url(`/${tag}.rss`), partnerId: "EXN", mapping: examplenetMapping, maxBytes: 100 * 1024 * 1024, timeoutMs: 120_000 }],
        routes: rooms.map((room, k) => ({ rooms: [room], when: { services: [`Transit R${k}`] } })),
        store: { path: join(dir, tag, "store.json") },
        log: { level: "warn" },
      };
      const configFile = join(dir, `${tag}.json`);
      await writeFile(configFile, JSON.stringify(input));
      feeds.set(`/${tag}.rss`, { body: docs.get(n) ?? "" });
      const bot = await spawnBot({ build: BUILD, configFile, logFile: join(dir, `${tag}.log`), env: { TTRELAY_BENCH_PASSWORD: "bench-pw" }, logLevel: "warn", execArgv: [...profile, ...nodeFlags] });
      const watcher = await startWatcher({ service: prosody.service, domain: prosody.domain, username: "watcher", password: "watcher-pw", resource: tag });
      try {
        for (const r of rooms) await watcher.join(r, "w");
        const cpu0 = cpuMsOf(bot.pid);
        const t0 = performance.now();
        const outcome = await bot.pollFeed("big");
        const committed = performance.now() - t0;
        if (outcome !== "polled") throw new Error(`first poll: ${outcome}`);
        // Room messages with a text (a subject the bot sets on a room it made is none).
        const saidIn = (room: string): string[] => watcher.messages.filter((m) => m.room === room && m.nick === "ttrelay" && !m.delayed && m.body !== undefined).map((m) => m.body ?? "");
        const fromBot = (room: string): number => saidIn(room).length;
        await watcher.waitFor(() => rooms.every((r) => fromBot(r) >= 1), 120_000, "a summary line in every room");
        const elapsed = performance.now() - t0;
        // All of the bot's threads (its own, the translation workers, V8's): on two cores the wall time is at least half of it.
        const cpuMs = cpuMsOf(bot.pid) - cpu0;
        // Anything else the poll said would arrive right behind the summaries.
        await new Promise((r) => setTimeout(r, 1000));
        const lines = rooms.map(fromBot);
        if (lines.some((c) => c !== 1)) throw new Error(`expected one summary line per room, got ${lines.join(", ")}: ${JSON.stringify(saidIn(rooms[0] ?? "").map((b) => b.slice(0, 80)))}`);
        const summary = saidIn(rooms[0] ?? "")[0] ?? "";
        push(`first ${n}`, elapsed);
        push(`commit ${n}`, committed);
        push(`cpu ${n}`, cpuMs);
        console.log(`run ${run}, ${n} items: summary lines in all ${ROOMS} rooms after ${elapsed.toFixed(0)} ms (poll committed after ${committed.toFixed(0)} ms; bot CPU ${cpuMs.toFixed(0)} ms, ${((cpuMs * 1000) / n).toFixed(0)} µs per item): "${summary.slice(0, 90)}…"`);
      } finally {
        await watcher.stop();
        await bot.stop();
      }
    }
  }

  // A 5 MB document alone: fetch and plan excluded.
  let n5 = 1000;
  while (Buffer.byteLength(rssFeed(items(n5))) < 5 * 1024 * 1024) n5 = Math.ceil(n5 * 1.2);
  const doc5 = rssFeed(items(n5));
  for (let run = 1; run <= RUNS; run++) {
    const t0 = performance.now();
    const parsed = await parseFeed(doc5, 100_000);
    if (!parsed.ok) throw new Error(parsed.error);
    push("parse5", performance.now() - t0);
  }

  console.log(`\nP4 first poll, ${ROOMS} rooms, ${RUNS} runs (min / median / max)`);
  for (const n of SIZES) {
    console.log(row(`first poll of ${n} items → summary in every room`, summarise(results.get(`first ${n}`) ?? []), "ms", 0, n === 50_000 ? "(goal ≤ 5000 ms)" : ""));
    console.log(row(`  of which fetch + parse + plan + commit`, summarise(results.get(`commit ${n}`) ?? []), "ms"));
    console.log(row(`  bot CPU, all threads (2 cores: wall ≥ half)`, summarise(results.get(`cpu ${n}`) ?? []), "ms"));
  }
  console.log(row(`parse of a ${(Buffer.byteLength(doc5) / 1048576).toFixed(1)} MB feed (${n5} items)`, summarise(results.get("parse5") ?? []), "ms"));
} finally {
  await feeds.close();
  await prosody.stop();
  await rm(dir, { recursive: true, force: true });
}
