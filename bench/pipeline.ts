/**
 * P2 — throughput: how many ticket messages per second reach a second client through ttrelay
 * (feed → plan → store → outbox → Prosody → room), against a raw @xmpp/client loop sending THE SAME
 * stanzas (the outbox entries the bot's own planner makes for that feed: same bodies, same JSON
 * payload, same threads) to the same Prosody, for 1, 5 and 50 rooms. Both senders run in their own
 * process; the second client (this process) only counts. The ratio is taken within each run; three
 * runs print min / median / max. Also the raw loop with small (~300-byte) stanzas, as before.
 *
 * Each case runs the raw loop, then the bot, then the raw loop again (rooms of its own), and the bot
 * is compared with the mean of the two: Prosody gets slower as a run goes on (at 50 rooms the same raw
 * loop ran 10–25 % slower right after the bot than right before it, with more Prosody CPU per message),
 * so a loop measured only before the bot would favour the loop.
 *
 * BENCH_MESSAGES (default 2000) messages per case, spread evenly over the rooms. Both senders are
 * warmed first by BENCH_WARM (default 500) messages of the same kind, as a bot that has been
 * running is when an outage hits: the measured messages run on compiled code in both processes.
 * BENCH_WARM=0 measures processes fresh from start-up (the bot then also pays for compiling).
 */
import { fork } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { ConfigSchema, type ConfigInput } from "../config/schema.js";
import { startFeedServer } from "../src/demo/feed-server.js";
import { startProsody } from "../src/demo/prosody.js";
import { startWatcher, type Watcher } from "../src/demo/watcher.js";
import { nocActor } from "../src/model/activity.js";
import { parseFeed } from "../src/sources/feed/parse.js";
import { planPoll } from "../src/sources/feed/plan.js";
import { emptyFeedState } from "../src/sources/feed/state.js";
import type { StoredTicket } from "../src/store/types.js";
import type { OutgoingRoomMessage } from "../src/xmpp/stanzas.js";
import { spawnBot } from "../test/support/bot-process.js";
import { examplenetMapping } from "../test/helpers/bot-config.js";
import { rssFeed } from "../test/fixtures/feeds.js";
import type { RawSenderInput } from "./support/raw-sender.js";
import { RUNS, cpuMsOf, row, summarise } from "./support/stats.js";
import { benchBuild, ensureBuilt } from "./support/build.js";

// The bot as admins run it, compiled (see bench/support/build.ts).
const BUILD = benchBuild();
ensureBuilt();

const N = Number(process.env.BENCH_MESSAGES ?? 2000);
const ROOM_COUNTS = (process.env.BENCH_ROOMS ?? "1,5,50").split(",").map(Number);
const TIMEOUT_MS = 300_000;
const WARM = Number(process.env.BENCH_WARM ?? 500);
// BENCH_PROFILE=<dir>: the bot process writes a CPU profile there (node --cpu-prof).
const profile = process.env.BENCH_PROFILE ? ["--cpu-prof", `--cpu-prof-dir=${process.env.BENCH_PROFILE}`] : [];
const RAW_SENDER = fileURLToPath(new URL("./support/raw-sender.ts", import.meta.url));

/** CPU ms used by each process during a run: where the time goes on a 2-core machine. */
type CpuSplit = { sender: number; prosody: number; watcher: number; n: number };
const cpu = new Map<string, CpuSplit>();
const cpuOf = (since: NodeJS.CpuUsage): number => {
  const d = process.cpuUsage(since);
  return (d.user + d.system) / 1000;
};
const perMsg = (c: CpuSplit | undefined): string =>
  c ? `CPU per message: sender ${(c.sender / c.n).toFixed(2)} ms, Prosody ${(c.prosody / c.n).toFixed(2)} ms, second client ${(c.watcher / c.n).toFixed(2)} ms` : "";

const dir = await mkdtemp(join(tmpdir(), "ttrelay-bench-p2-"));
const prosody = await startProsody({ domain: "bench.test" });
const feeds = await startFeedServer();

/** Counts live messages with a JSON payload per sender nick, and resolves once `n` came from `nick`. */
function counter(watcher: Watcher): { until(nick: string, n: number): Promise<void>; sizes: Map<string, number[]> } {
  const counts = new Map<string, number>();
  const sizes = new Map<string, number[]>();
  const waiters: { nick: string; n: number; resolve: () => void }[] = [];
  watcher.onMessage((m) => {
    if (m.delayed || m.json === undefined || m.nick === undefined) return;
    const c = (counts.get(m.nick) ?? 0) + 1;
    counts.set(m.nick, c);
    const s = sizes.get(m.nick) ?? [];
    if (s.length < 200) s.push(Buffer.byteLength(m.stanza.toString()));
    sizes.set(m.nick, s);
    for (const w of waiters) if (w.nick === m.nick && c >= w.n) w.resolve();
  });
  return {
    sizes,
    until: (nick, n) =>
      new Promise<void>((resolve, reject) => {
        if ((counts.get(nick) ?? 0) >= n) return resolve();
        const t = setTimeout(() => reject(new Error(`only ${counts.get(nick) ?? 0} of ${n} messages from ${nick} within ${TIMEOUT_MS} ms`)), TIMEOUT_MS);
        waiters.push({ nick, n, resolve: () => (clearTimeout(t), resolve()) });
      }),
  };
}

function configInput(rooms: string[], storePath: string, feedUrl: string): ConfigInput {
  return {
    noc: { id: "EXN", name: "ExampleNet NOC" },
    xmpp: { jid: `ttrelay@${prosody.domain}`, password: { env: "TTRELAY_BENCH_PASSWORD" }, service: prosody.service, nick: "ttrelay" },
    rooms: rooms.map((jid) => ({ jid, name: "bench room" })),
    feeds: [{ id: "bench", url: feedUrl, partnerId: "EXN", mapping: examplenetMapping, maxBytes: 100 * 1024 * 1024 }],
    // One room per service: each ticket goes to exactly one room.
    routes: rooms.map((room, k) => ({ rooms: [room], when: { services: [`Transit R${k}`] } })),
    store: { path: storePath },
    log: { level: "warn" },
  };
}

const items = (n: number, rooms: number, first: number): Parameters<typeof rssFeed>[0] =>
  Array.from({ length: n }, (_, i) => ({ id: first + n - 1 - i, service: `Transit R${(first + n - 1 - i) % rooms}`, circuits: `EXN-C-${i % 50}` }));

/** The outbox the bot's planner makes for the primed feed, then the big poll: what the bot will send. */
async function plannedMessages(input: ConfigInput, prime: string, main: string): Promise<OutgoingRoomMessage[]> {
  const config = ConfigSchema.parse(input);
  const feed = config.feeds[0]!;
  const ctx = { feed, routes: config.routes, actor: nocActor(config.noc), render: config.render, now: new Date() };
  const known = new Map<string, StoredTicket>();
  const p1 = await parseFeed(prime, feed.maxItemChars);
  if (!p1.ok) throw new Error(p1.error);
  const plan1 = planPoll(ctx, emptyFeedState(), p1.value.items, [], {}, (id) => known.get(id));
  for (const t of plan1.tickets) known.set(t.ticket.TT_ID, t);
  const p2 = await parseFeed(main, feed.maxItemChars);
  if (!p2.ok) throw new Error(p2.error);
  const plan2 = planPoll(ctx, plan1.feedState, p2.value.items, [], {}, (id) => known.get(id));
  return plan2.outbox.map((o) => ({ room: o.room, id: o.id, body: o.body, json: o.json, thread: o.thread, replyTo: o.replyTo }));
}

async function rawRun(watcher: Watcher, count: ReturnType<typeof counter>, rooms: string[], messages: OutgoingRoomMessage[], nick: string, tag: string): Promise<number> {
  const file = join(dir, `raw-${tag}.json`);
  await writeFile(file, JSON.stringify({ service: prosody.service, domain: prosody.domain, username: "raw", password: "raw-pw", nick, rooms, messages } satisfies RawSenderInput));
  const child = fork(RAW_SENDER, [file], { execArgv: ["--import", "tsx"], stdio: ["ignore", "inherit", "inherit", "ipc"] });
  const exited = once(child, "exit");
  const died = exited.then(([code]) => Promise.reject(new Error(`the raw sender exited (${String(code)})`)));
  died.catch(() => undefined);
  try {
    const [ready] = (await Promise.race([once(child, "message"), died])) as [unknown];
    if (ready !== "ready") throw new Error(`raw sender: ${String(ready)}`);
    // Joined after the sender, as after the bot: the sender created and configured the rooms.
    for (const r of rooms) await watcher.join(r, "w");
    if (WARM > 0) {
      child.send(`warm:${WARM}`);
      await Promise.race([count.until(nick, WARM), died]);
    }
    const cpu0 = { sender: cpuMsOf(child.pid ?? -1), prosody: cpuMsOf(prosody.pid), self: process.cpuUsage() };
    const t0 = performance.now();
    child.send("go");
    await Promise.race([count.until(nick, WARM + messages.length), died]);
    const rate = messages.length / ((performance.now() - t0) / 1000);
    cpu.set(`raw ${tag}`, { sender: cpuMsOf(child.pid ?? -1) - cpu0.sender, prosody: cpuMsOf(prosody.pid) - cpu0.prosody, watcher: cpuOf(cpu0.self), n: messages.length });
    return rate;
  } finally {
    if (child.exitCode === null) child.send("stop");
    await exited;
  }
}

async function botRun(watcher: Watcher, count: ReturnType<typeof counter>, rooms: string[], tag: string, prime: string, main: string, planned: number): Promise<{ rate: number; planMs: number }> {
  const storeDir = join(dir, `bot-${tag}`);
  const input = configInput(rooms, join(storeDir, "store.json"), feeds.url(`/${tag}.rss`));
  const configFile = join(dir, `bot-${tag}.json`);
  await writeFile(configFile, JSON.stringify(input));
  feeds.set(`/${tag}.rss`, { body: prime });
  let expected = planned;
  const bot = await spawnBot({ build: BUILD, configFile, logFile: join(dir, `bot-${tag}.log`), env: { TTRELAY_BENCH_PASSWORD: "bench-pw" }, logLevel: "warn", execArgv: profile });
  try {
    for (const r of rooms) await watcher.join(r, "w");
    await bot.pollFeed("bench");
    if (WARM > 0) {
      // A warm-up batch first (other tickets), so the measured one runs on compiled code.
      feeds.set(`/${tag}.rss`, { body: rssFeed(items(WARM, rooms.length, 100_000)) });
      await bot.pollFeed("bench");
      await count.until("ttrelay", WARM);
      expected += WARM;
    }
    feeds.set(`/${tag}.rss`, { body: main });
    const cpu0 = { sender: cpuMsOf(bot.pid), prosody: cpuMsOf(prosody.pid), self: process.cpuUsage() };
    const t0 = performance.now();
    await bot.pollFeed("bench");
    const planMs = performance.now() - t0;
    await count.until("ttrelay", expected);
    const rate = planned / ((performance.now() - t0) / 1000);
    cpu.set(`bot ${tag}`, { sender: cpuMsOf(bot.pid) - cpu0.sender, prosody: cpuMsOf(prosody.pid) - cpu0.prosody, watcher: cpuOf(cpu0.self), n: planned });
    return { rate, planMs };
  } finally {
    await bot.stop();
  }
}

try {
  await prosody.register("ttrelay", "bench-pw");
  await prosody.register("raw", "raw-pw");
  await prosody.register("watcher", "watcher-pw");
  const results = new Map<string, number[]>();
  const push = (k: string, v: number): void => void results.set(k, [...(results.get(k) ?? []), v]);
  let sizeNote = "";
  for (let run = 1; run <= RUNS; run++) {
    for (const k of ROOM_COUNTS) {
      const tag = `r${run}k${k}`;
      // Room names of equal length, so both senders' stanzas are the same size.
      const botRooms = Array.from({ length: k }, (_, i) => `bot-${tag}-${i}@${prosody.mucDomain}`);
      const rawRooms = Array.from({ length: k }, (_, i) => `raw-${tag}-${i}@${prosody.mucDomain}`);
      const prime = rssFeed(items(1, k, 0));
      const main = rssFeed(items(N + 1, k, 0));
      const planned = await plannedMessages(configInput(botRooms, join(dir, "unused.json"), "http://127.0.0.1/"), prime, main);
      const rawMessages = planned.map((m) => ({ ...m, room: rawRooms[botRooms.indexOf(m.room)] ?? m.room }));
      const watcher = await startWatcher({ service: prosody.service, domain: prosody.domain, username: "watcher", password: "watcher-pw", resource: `w-${tag}` });
      const count = counter(watcher);
      try {
        const before = await rawRun(watcher, count, rawRooms, rawMessages, "rawloop", tag);
        const bot = await botRun(watcher, count, botRooms, tag, prime, main, planned.length);
        // The raw loop again, after the bot, in rooms of its own (names and nick of the same length):
        // Prosody slows as a run goes on, so the bot is compared with the mean of the loop either side.
        const afterRooms = rawRooms.map((r) => r.replace(/^raw-/, "rax-"));
        const after = await rawRun(watcher, count, afterRooms, rawMessages.map((m) => ({ ...m, room: afterRooms[rawRooms.indexOf(m.room)] ?? m.room })), "raxloop", `${tag}b`);
        const raw = (before + after) / 2;
        push(`raw ${k}`, raw);
        push(`raw before ${k}`, before);
        push(`raw after ${k}`, after);
        push(`bot ${k}`, bot.rate);
        push(`ratio ${k}`, bot.rate / raw);
        push(`poll ${k}`, bot.planMs);
        const avg = (xs: number[] | undefined): number => (xs && xs.length > 0 ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);
        sizeNote = `stanza size as received: bot ${avg(count.sizes.get("ttrelay")).toFixed(0)} B, raw ${avg(count.sizes.get("rawloop")).toFixed(0)} B`;
        console.log(`run ${run}, ${k} room(s): raw ${before.toFixed(0)} msg/s before and ${after.toFixed(0)} after, ttrelay ${bot.rate.toFixed(0)} msg/s (${planned.length} messages), ratio ${(bot.rate / raw).toFixed(2)}; ${sizeNote}`);
        console.log(`  raw before: ${perMsg(cpu.get(`raw ${tag}`))}`);
        console.log(`  ttrelay:    ${perMsg(cpu.get(`bot ${tag}`))}`);
        console.log(`  raw after:  ${perMsg(cpu.get(`raw ${tag}b`))}`);
      } finally {
        await watcher.stop();
      }
    }
    // The small-stanza ceiling of the earlier benchmark, kept for comparison.
    const tag = `r${run}small`;
    const room = `raw-${tag}@${prosody.mucDomain}`;
    const body = "*EXN_1* new · Opened · No connectivity\n*Fault number 1*\nService: IP transit";
    const small = Array.from({ length: N }, (_, i) => ({ room, id: `raw-${i}`, body, json: "{}" }));
    const watcher = await startWatcher({ service: prosody.service, domain: prosody.domain, username: "watcher", password: "watcher-pw", resource: `w-${tag}` });
    try {
      push("raw small", await rawRun(watcher, counter(watcher), [room], small, "rawsmall", tag));
    } finally {
      await watcher.stop();
    }
  }
  console.log(`\nP2 throughput, ${N} messages per case, ${RUNS} runs (min / median / max); ${sizeNote}; ${WARM > 0 ? `both senders warmed by ${WARM} messages first` : "senders fresh from start-up (BENCH_WARM=0)"}`);
  for (const k of ROOM_COUNTS) {
    console.log(row(`raw loop, same stanzas, ${k} room(s), before`, summarise(results.get(`raw before ${k}`) ?? []), "msg/s"));
    console.log(row(`raw loop, same stanzas, ${k} room(s), after`, summarise(results.get(`raw after ${k}`) ?? []), "msg/s"));
    console.log(row(`raw loop, same stanzas, ${k} room(s), mean`, summarise(results.get(`raw ${k}`) ?? []), "msg/s"));
    console.log(row(`ttrelay pipeline, ${k} room(s)`, summarise(results.get(`bot ${k}`) ?? []), "msg/s"));
    console.log(row(`  poll (fetch + plan + first commit), ${k} room(s)`, summarise(results.get(`poll ${k}`) ?? []), "ms"));
    console.log(row(`ratio pipeline / raw, ${k} room(s)`, summarise(results.get(`ratio ${k}`) ?? []), "", 2, "(goal ≥ 0.80 median)"));
  }
  console.log(row("raw loop, small stanzas (~300 B), 1 room", summarise(results.get("raw small") ?? []), "msg/s"));
} finally {
  await feeds.close();
  await prosody.stop();
  await rm(dir, { recursive: true, force: true });
}
