/**
 * Webhook push → message seen by a second client in the room: the latency a monitoring system's
 * alert takes to reach the NOC room through ttrelay (HTTP POST, auth, JSON rules, intake commit,
 * outbox, Prosody, the watcher's client), p50 and p95 over sequential pushes, three runs
 * (min/median/max). Goal: p95 ≤ 1 s. A real HTTP client (fetch), a real Prosody, real clients.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { ConfigSchema } from "../config/schema.js";
import { startProsody } from "../src/demo/prosody.js";
import { startWatcher } from "../src/demo/watcher.js";
import { startBot } from "../src/main.js";

const PUSHES = Number(process.env.BENCH_PUSHES ?? 100);
const RUNS = 3;

const dir = await mkdtemp(join(tmpdir(), "ttrelay-bench-hook-"));
const prosody = await startProsody({ domain: "hookbench.test" });
const pct = (xs: readonly number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? 0;
};
const summary = (xs: readonly number[]): string => {
  const s = [...xs].sort((a, b) => a - b);
  return `min ${s[0]?.toFixed(0)} / median ${s[1]?.toFixed(0)} / max ${s[2]?.toFixed(0)} ms`;
};
try {
  await prosody.register("ttrelay", "bench-pw");
  await prosody.register("watcher", "watcher-pw");
  process.env.TTRELAY_HOOKBENCH_PASSWORD = "bench-pw";
  process.env.TTRELAY_HOOKBENCH_TOKEN = "bench-token";
  const p50s: number[] = [];
  const p95s: number[] = [];
  for (let run = 1; run <= RUNS; run++) {
    const room = `alerts-${run}@${prosody.mucDomain}`;
    const config = ConfigSchema.parse({
      noc: { id: "EXN", name: "ExampleNet NOC" },
      xmpp: { jid: `ttrelay@${prosody.domain}`, password: { env: "TTRELAY_HOOKBENCH_PASSWORD" }, service: prosody.service, nick: "ttrelay", resource: `bench-${run}` },
      rooms: [{ jid: room }],
      webhooks: [
        {
          id: "events",
          format: "json",
          partnerId: "MON",
          auth: { bearer: { env: "TTRELAY_HOOKBENCH_TOKEN" } },
          fields: { id: "$.id", title: "$.title", service: "$.service" },
          mapping: { Original_ID: { from: "id" }, TT_Title: { from: "title" }, Affected_Service: { from: "service" } },
        },
      ],
      http: { port: 0 },
      routes: [{ rooms: [room] }],
      store: { path: join(dir, `store-${run}.json`) },
    });
    const bot = await startBot(config, { log: pino({ level: "warn" }), startPolling: false });
    await bot.ready;
    const watcher = await startWatcher({ service: prosody.service, domain: prosody.domain, username: "watcher", password: "watcher-pw", resource: `w${run}` });
    await watcher.join(room, "watcher");
    const url = `http://${bot.http?.address ?? "127.0.0.1"}:${bot.http?.port ?? 0}/hooks/events`;
    const latencies: number[] = [];
    for (let i = 0; i < PUSHES; i++) {
      const id = `ev-${run}-${i}`;
      const t0 = performance.now();
      const seen = watcher.waitFor((m) => m.nick === "ttrelay" && !m.delayed && (m.body ?? "").includes(`MON_${id}`), 10_000, id);
      const res = await fetch(url, { method: "POST", headers: { authorization: "Bearer bench-token", "content-type": "application/json" }, body: JSON.stringify({ id, title: `Link down ${i}`, service: "IP transit" }) });
      if (res.status !== 202) throw new Error(`push ${id}: HTTP ${res.status} ${await res.text()}`);
      await seen;
      latencies.push(performance.now() - t0);
    }
    p50s.push(pct(latencies, 50));
    p95s.push(pct(latencies, 95));
    console.log(`run ${run}: ${PUSHES} pushes, p50 ${pct(latencies, 50).toFixed(0)} ms, p95 ${pct(latencies, 95).toFixed(0)} ms`);
    await watcher.stop();
    await bot.stop();
  }
  console.log(`push → room p50: ${summary(p50s)}`);
  console.log(`push → room p95: ${summary(p95s)}   (goal ≤ 1000 ms: ${[...p95s].sort((a, b) => a - b)[1]! <= 1000 ? "met" : "NOT met"})`);
} finally {
  await prosody.stop();
  await rm(dir, { recursive: true, force: true });
}
