/**
 * Cold start with many rooms: the time from starting the bot until 50 rooms it has never seen are
 * joined, created, configured from the server's owner form and checked by disco#info (`ready`),
 * on a private Prosody (room locking on) and a private ejabberd. Three runs per server, each with
 * rooms of its own, printed as min / median / max. Goal: at most 1 s (median).
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { startBot } from "../src/main.js";
import { botConfig } from "../test/helpers/bot-config.js";
import { startXmppServer, xmppServers } from "../test/support/xmpp-server.js";

const ROOMS = Number(process.env.BENCH_ROOMS ?? 50);
const RUNS = 3;
const GOAL_MS = 1000;

const dir = await mkdtemp(join(tmpdir(), "ttrelay-bench-rooms-"));
process.env.TTRELAY_BENCH_PASSWORD = "bench-pw";
let missed = 0;
try {
  for (const kind of await xmppServers()) {
    const server = await startXmppServer(kind, { domain: "bench.test" });
    try {
      await server.register("ttrelay", "bench-pw");
      const times: number[] = [];
      let warnings = 0;
      for (let run = 0; run < RUNS; run++) {
        const rooms = Array.from({ length: ROOMS }, (_, i) => `cold-${run}-${i}@${server.mucDomain}`);
        const config = botConfig({
          jid: `ttrelay@${server.domain}`,
          service: server.service,
          rooms,
          feeds: [{ id: "bench", url: "http://127.0.0.1:9/unused.rss" }],
          storePath: join(dir, `${kind}-${run}.json`),
          passwordEnv: "TTRELAY_BENCH_PASSWORD",
        });
        const log = pino({ level: "warn" }, { write: () => void warnings++ });
        const t0 = performance.now();
        const bot = await startBot(config, { log, startPolling: false });
        await bot.ready;
        times.push(performance.now() - t0);
        await bot.stop();
      }
      const sorted = [...times].sort((a, b) => a - b);
      const [min = 0, median = 0, max = 0] = [sorted[0], sorted[Math.floor(sorted.length / 2)], sorted[sorted.length - 1]];
      const ok = median <= GOAL_MS && warnings === 0;
      if (!ok) missed++;
      console.log(
        `${kind.padEnd(9)} ${ROOMS} rooms joined and configured: min ${(min / 1000).toFixed(2)} s  median ${(median / 1000).toFixed(2)} s  max ${(max / 1000).toFixed(2)} s` +
          `  (goal ≤ ${GOAL_MS / 1000} s: ${median <= GOAL_MS ? "met" : "MISSED"}; warnings/errors logged: ${warnings})`,
      );
    } finally {
      await server.stop();
    }
  }
} finally {
  await rm(dir, { recursive: true, force: true });
}
process.exit(missed > 0 ? 1 : 0);
