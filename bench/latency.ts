/**
 * P1 — latency, processing part only (the poll is asked for directly, not waited for on its
 * schedule): a new feed item → its message seen by a second client in the room (local HTTP fetch,
 * parse, translate, plan, store, outbox, Prosody, the client); and an engineer's `!ack` in the room →
 * the bot's answer seen there. The bot in its own process, a real Prosody, real clients; 20 of each
 * per run, one after the other; p50 and p95 per run, three runs: min / median / max.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { xml } from "@xmpp/client";
import type { ConfigInput } from "../config/schema.js";
import { startFeedServer } from "../src/demo/feed-server.js";
import { startProsody } from "../src/demo/prosody.js";
import { startWatcher } from "../src/demo/watcher.js";
import { spawnBot } from "../test/support/bot-process.js";
import { examplenetMapping } from "../test/helpers/bot-config.js";
import { rssFeed, type FixtureItem } from "../test/fixtures/feeds.js";
import { RUNS, percentile, row, summarise } from "./support/stats.js";
import { benchBuild, ensureBuilt } from "./support/build.js";

// The bot as admins run it, compiled (see bench/support/build.ts).
const BUILD = benchBuild();
ensureBuilt();

const SAMPLES = Number(process.env.BENCH_SAMPLES ?? 20);

const dir = await mkdtemp(join(tmpdir(), "ttrelay-bench-p1-"));
const prosody = await startProsody({ domain: "p1.test" });
const feeds = await startFeedServer();
try {
  await prosody.register("ttrelay", "bench-pw");
  await prosody.register("alice", "alice-pw");
  const results = new Map<string, number[]>();
  const push = (k: string, v: number): void => void results.set(k, [...(results.get(k) ?? []), v]);
  for (let run = 1; run <= RUNS; run++) {
    const room = `p1-${run}@${prosody.mucDomain}`;
    const path = `/p1-${run}.rss`;
    const items: FixtureItem[] = [{ id: 1 }];
    feeds.set(path, { body: rssFeed(items) });
    const input: ConfigInput = {
      noc: { id: "EXN", name: "ExampleNet NOC" },
      xmpp: { jid: `ttrelay@${prosody.domain}`, password: { env: "TTRELAY_BENCH_PASSWORD" }, service: prosody.service, nick: "ttrelay", resource: `p1-${run}` },
      rooms: [{ jid: room, name: "P1 room" }],
      feeds: [{ id: "p1", url: feeds.url(path), partnerId: "EXN", mapping: examplenetMapping }],
      routes: [{ rooms: [room] }],
      store: { path: join(dir, `store-${run}.json`) },
      acl: { engineers: [`alice@${prosody.domain}`] },
      log: { level: "warn" },
    };
    const configFile = join(dir, `config-${run}.json`);
    await writeFile(configFile, JSON.stringify(input));
    const bot = await spawnBot({ build: BUILD, configFile, logFile: join(dir, `bot-${run}.log`), env: { TTRELAY_BENCH_PASSWORD: "bench-pw" }, logLevel: "warn" });
    const alice = await startWatcher({ service: prosody.service, domain: prosody.domain, username: "alice", password: "alice-pw", resource: `p1-${run}` });
    try {
      await alice.join(room, "alice");
      await bot.pollFeed("p1");
      await alice.waitFor((m) => m.nick === "ttrelay" && /Now following feed/.test(m.body ?? ""), 15_000, "the summary");
      const item: number[] = [];
      const ack: number[] = [];
      for (let k = 0; k < SAMPLES; k++) {
        const id = 1000 + k;
        items.unshift({ id, title: `Latency probe ${id}` });
        feeds.set(path, { body: rssFeed(items) });
        const t0 = performance.now();
        await bot.pollFeed("p1");
        await alice.waitFor((m) => !m.delayed && m.nick === "ttrelay" && (m.body ?? "").includes(`EXN_${id}*`), 15_000, `EXN_${id}`);
        item.push(performance.now() - t0);

        const seen = alice.messages.length;
        const t1 = performance.now();
        await alice.send(xml("message", { to: room, type: "groupchat" }, xml("body", {}, `!ack EXN_${id} on it`)));
        await alice.waitFor((m) => alice.messages.indexOf(m) >= seen && !m.delayed && m.nick === "ttrelay" && (m.body ?? "").includes(`EXN_${id}`), 15_000, `the answer to !ack EXN_${id}`);
        ack.push(performance.now() - t1);
      }
      push("item p50", percentile(item, 50));
      push("item p95", percentile(item, 95));
      push("ack p50", percentile(ack, 50));
      push("ack p95", percentile(ack, 95));
      console.log(`run ${run}: feed item → room p50/p95 ${percentile(item, 50).toFixed(0)}/${percentile(item, 95).toFixed(0)} ms; !ack → room p50/p95 ${percentile(ack, 50).toFixed(0)}/${percentile(ack, 95).toFixed(0)} ms`);
    } finally {
      await alice.stop();
      await bot.stop();
    }
  }
  console.log(`\nP1 latency, processing part only, ${SAMPLES} samples per run, ${RUNS} runs (min / median / max)`);
  console.log(row("feed item → second client, p50", summarise(results.get("item p50") ?? []), "ms"));
  console.log(row("feed item → second client, p95", summarise(results.get("item p95") ?? []), "ms"));
  console.log(row("!ack → answer in the room, p50", summarise(results.get("ack p50") ?? []), "ms"));
  console.log(row("!ack → answer in the room, p95", summarise(results.get("ack p95") ?? []), "ms"));
} finally {
  await feeds.close();
  await prosody.stop();
  await rm(dir, { recursive: true, force: true });
}
