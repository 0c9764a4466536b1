/**
 * Pipeline throughput against the ceiling measured in the same run: how many ticket messages per
 * second reach a room through ttrelay (feed → plan → store → outbox → Prosody → echo), compared to a
 * raw @xmpp/client loop sending pre-built messages to the same Prosody. Prints the ratio; the
 * machine is shared and noisy, so absolute numbers vary and only the ratio is meaningful.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { startFeedServer } from "../src/demo/feed-server.js";
import { startProsody } from "../src/demo/prosody.js";
import { startWatcher } from "../src/demo/watcher.js";
import { startBot } from "../src/main.js";
import { roomMessage } from "../src/xmpp/stanzas.js";
import { rssFeed } from "../test/fixtures/feeds.js";
import { botConfig } from "../test/helpers/bot-config.js";

const N = Number(process.env.BENCH_MESSAGES ?? 2000);
const dir = await mkdtemp(join(tmpdir(), "ttrelay-bench-"));
const prosody = await startProsody({ domain: "bench.test" });
const feeds = await startFeedServer();
try {
  await prosody.register("ttrelay", "bench-pw");
  await prosody.register("raw", "raw-pw");
  await prosody.register("watcher", "watcher-pw");
  process.env.TTRELAY_BENCH_PASSWORD = "bench-pw";

  // 1. The ceiling: a raw client sends N pre-built messages; the time until a watcher has them all.
  const rawRoom = `raw@${prosody.mucDomain}`;
  const raw = await startWatcher({ service: prosody.service, domain: prosody.domain, username: "raw", password: "raw-pw", resource: "raw" });
  await raw.join(rawRoom, "raw");
  const rawWatcher = await startWatcher({ service: prosody.service, domain: prosody.domain, username: "watcher", password: "watcher-pw", resource: "w1" });
  await rawWatcher.join(rawRoom, "w1");
  const body = "*EXN_1* new · Opened · No connectivity\n*Fault number 1*\nService: IP transit";
  let t0 = performance.now();
  for (let i = 0; i < N; i++) await raw.send(roomMessage({ room: rawRoom, id: `raw-${i}`, body, json: "{}" }));
  await rawWatcher.waitFor(() => rawWatcher.messages.filter((m) => m.nick === "raw").length >= N, 120_000, `${N} raw messages`);
  const rawRate = N / ((performance.now() - t0) / 1000);
  await raw.stop();

  // 2. ttrelay: a primed feed that then lists N new tickets; the time from the poll until all arrived.
  const room = `pipeline@${prosody.mucDomain}`;
  feeds.set("/bench.rss", { body: rssFeed([{ id: 1 }]) });
  const config = botConfig({
    jid: `ttrelay@${prosody.domain}`,
    service: prosody.service,
    rooms: [room],
    feeds: [{ id: "bench", url: feeds.url("/bench.rss") }],
    storePath: join(dir, "store.json"),
    passwordEnv: "TTRELAY_BENCH_PASSWORD",
  });
  config.feeds[0]!.maxBytes = 200 * 1024 * 1024;
  const bot = await startBot(config, { log: pino({ level: "warn" }), startPolling: false });
  await bot.ready;
  const watcher = await startWatcher({ service: prosody.service, domain: prosody.domain, username: "watcher", password: "watcher-pw", resource: "w2" });
  await watcher.join(room, "w2");
  await bot.pollNow("bench");
  feeds.set("/bench.rss", { body: rssFeed(Array.from({ length: N + 1 }, (_, i) => ({ id: N + 1 - i, circuits: `EXN-C-${i % 50}` }))) });
  const fromBot = (): number => watcher.messages.filter((m) => m.nick === "ttrelay" && !m.delayed && m.json !== undefined).length;
  t0 = performance.now();
  await bot.pollNow("bench");
  const planned = performance.now() - t0;
  await watcher.waitFor(() => fromBot() >= N, 300_000, `${N} ticket messages`);
  const elapsed = performance.now() - t0;
  const rate = N / (elapsed / 1000);
  await bot.stop();
  await watcher.stop();
  await rawWatcher.stop();

  console.log(`messages:                 ${N}`);
  console.log(`raw @xmpp/client loop:    ${rawRate.toFixed(0)} msg/s (ceiling, same run)`);
  console.log(`ttrelay pipeline:         ${rate.toFixed(0)} msg/s (poll + plan + store write took ${planned.toFixed(0)} ms)`);
  console.log(`ratio pipeline / ceiling: ${(rate / rawRate).toFixed(2)}`);
  console.log(`peak RSS:                 ${(process.memoryUsage().rss / 1048576).toFixed(0)} MB (bench process: bot + clients + feed server)`);
} finally {
  await feeds.close();
  await prosody.stop();
  await rm(dir, { recursive: true, force: true });
}
