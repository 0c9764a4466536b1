// Ticket-system write-back under faults, against a real Request Tracker 5 and a real Prosody, with
// a real HTTP proxy (test/support/http-proxy.ts) between the bot and RT that withholds chosen
// requests or only their answers, or refuses every connection (RT down):
// - an attempt whose answer never came is checked in RT by the write's own id before it is made
//   again: nothing lost, nothing doubled (issue 9, item 12);
// - every engineer whose change waits is told once, in the ticket's thread, and again when it
//   lands (item 13);
// - one hanging ticket does not hold up the others, and at most 4 tickets are written at once
//   (item 14);
// - 50 writes queued across 5 tickets during an outage, the bot killed -9 mid-delivery and
//   started again: each reaches RT exactly once.
import { test, after, before } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConfigSchema, type ConfigInput } from "../../config/schema.js";
import { prosodyAvailable, startProsody, type ProsodyInstance } from "../../src/demo/prosody.js";
import { startWatcher, type SeenMessage, type Watcher } from "../../src/demo/watcher.js";
import { startBot, type RunningBot } from "../../src/main.js";
import { createRtClient, type RtPort } from "../../src/ticket-systems/rt/client.js";
import { spawnBot, type BotProcess } from "../support/bot-process.js";
import { startHttpProxy, type HttpProxy } from "../support/http-proxy.js";
import { requestTrackerAvailable, startRequestTracker, type RtInstance } from "../support/rt.js";
import { captureLogger } from "../helpers/log-capture.js";
import { shown } from "../helpers/messages.js";
import { eventually as eventuallyWithin, fromBot, say } from "../helpers/room.js";

assert.ok(await prosodyAvailable(), "prosody is not installed: run `apt-get install -y prosody` (.ci/run does)");
assert.ok(await requestTrackerAvailable(), "Request Tracker 5 is not installed: run `bash scripts/install-rt.sh` (.ci/run does)");

const ENGINEERS = ["alice", "bob", "carol", "dave", "erin"] as const;
/** Later than any retry backoff (at most 10 min): moving the bot's clock by this makes every retry due. */
const LATER = 3_600_000;

let prosody: ProsodyInstance;
let rt: RtInstance;
let proxy: HttpProxy;
let dir: string;
let oper: RtPort;
let operToken: string;
const running: { stop(): Promise<void> }[] = [];

before(async () => {
  [prosody, dir, rt] = await Promise.all([
    startProsody({ domain: "noc.test", mucRoomLocking: true }),
    mkdtemp(join(tmpdir(), "ttrelay-rtwrites-")),
    startRequestTracker({ rootPassword: "root-password" }),
  ]);
  for (const u of ["ttrelay", ...ENGINEERS]) await prosody.register(u, `${u}-pw`);
  await rt.createQueue("NOC");
  await rt.createUser("ttrelay", "ttrelay-rt-password");
  await rt.createUser("oper", "oper-rt-password");
  process.env.TTRELAY_RTW_TOKEN = await rt.createToken("ttrelay");
  process.env.TTRELAY_RTW_XMPP = "ttrelay-pw";
  operToken = await rt.createToken("oper");
  oper = createRtClient({ url: rt.url, auth: { scheme: "token", secret: operToken } });
  proxy = await startHttpProxy(rt.url);
});

after(async () => {
  for (const r of running.reverse()) await r.stop().catch(() => undefined);
  await proxy?.stop();
  await rt?.stop();
  await prosody?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

function configInput(room: string, name: string, timeoutMs: number): ConfigInput {
  return {
    noc: { id: "EXN", name: "ExampleNet NOC" },
    xmpp: { jid: `ttrelay@${prosody.domain}`, password: { env: "TTRELAY_RTW_XMPP" }, service: prosody.service, nick: "ttrelay", resource: name },
    rooms: [{ jid: room }],
    routes: [{ rooms: [room] }],
    store: { path: join(dir, `${name}.json`) },
    acl: { engineers: ENGINEERS.map((e) => `${e}@${prosody.domain}`) },
    rt: { url: proxy.url, auth: { scheme: "token", secret: { env: "TTRELAY_RTW_TOKEN" } }, user: "ttrelay", queue: "NOC", timeoutMs },
  };
}

/** An in-process bot whose clock the test can move (retries become due without touching the store). */
async function startTestBot(room: string, name: string, timeoutMs: number): Promise<{ bot: RunningBot; sync: NonNullable<RunningBot["rt"]>; later: () => void }> {
  let skew = 0;
  const bot = await startBot(ConfigSchema.parse(configInput(room, name, timeoutMs)), { log: captureLogger().log, startPolling: false, now: () => new Date(Date.now() + skew) });
  running.push(bot);
  await bot.ready;
  assert.ok(bot.rt, "RT is configured");
  return { bot, sync: bot.rt, later: () => void (skew += LATER) };
}

async function login(user: string, room: string): Promise<Watcher> {
  const c = await startWatcher({ service: prosody.service, domain: prosody.domain, username: user, password: `${user}-pw`, resource: `${user}-${room.split("@")[0]}` });
  running.push(c);
  await c.join(room, user);
  return c;
}



/** An RT ticket made by an operator, polled into the bot and announced in the room. */
async function rtTicket(subject: string, poll: () => Promise<unknown>, watcher: Watcher): Promise<number> {
  const created = await oper.createTicket({ queue: "NOC", subject, content: subject });
  assert.ok(created.ok, JSON.stringify(created));
  await poll();
  await watcher.waitFor(fromBot(new RegExp(`^\\*EXN_${created.value.id}\\* new`)), 15_000, `EXN_${created.value.id} in the room`);
  return created.value.id;
}

/** The text of every comment the bot's RT user made on a ticket, read straight from REST2 (not through the bot's client). */
async function botComments(id: number): Promise<string[]> {
  const headers = { Authorization: `token ${operToken}`, "User-Agent": "ttrelay-test" };
  const history = await oper.history(id);
  assert.ok(history.ok, JSON.stringify(history));
  const out: string[] = [];
  for (const t of history.value.filter((x) => x.type === "Comment" && x.creator === "ttrelay")) {
    const res = await fetch(`${rt.url}/REST/2.0/transaction/${t.id}/attachments?fields=Content`, { headers });
    const body = (await res.json()) as { items: { Content?: string }[] };
    out.push(body.items.map((i) => i.Content ?? "").join("\n"));
  }
  return out;
}

/** The XEP-0201 thread the bot uses for a ticket: its incident's. */
function threadOf(bot: RunningBot, ttId: string): string {
  const incident = bot.store.ticket(ttId)?.incident;
  const thread = incident ? bot.store.get("incidents", incident)?.thread : undefined;
  assert.ok(thread, `${ttId} has an incident thread`);
  return thread;
}

const count = (texts: readonly string[], word: string): number => texts.filter((t) => new RegExp(`\\b${word}\\b`).test(t)).length;

/** RT answers slowly under load: a longer default wait than other tests. */
const eventually = <T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> => eventuallyWithin(what, probe, timeoutMs);

void test("an update whose request never reached RT is written on the retry, though the ack's comment just before it is there (item 12)", { timeout: 120_000 }, async () => {
  const room = `rt12@${prosody.mucDomain}`;
  const { bot, sync, later } = await startTestBot(room, "rt12", 2_000);
  const alice = await login("alice", room);
  const id = await rtTicket("Flapping BGP session in Oslo", () => sync.poll(), alice);

  // `!ack … first`, then `!update … second`: the ack's comment goes through, the update's is withheld
  // entirely (RT never sees it; the bot times out).
  proxy.withhold({ method: "POST", path: new RegExp(`^/REST/2\\.0/ticket/${id}/comment$`), mode: "request", pass: 1, times: 1 });
  await say(alice, room, `!ack EXN_${id} first`);
  await say(alice, room, `!update EXN_${id} second`);
  await alice.waitFor(fromBot(new RegExp(`^alice: \\*EXN_${id}\\* updated \\(`)), 15_000, "the update's reply");
  await eventually("the update's attempt to time out", async () => {
    await sync.deliver();
    const w = [...bot.store.values("writes")].find((x) => x.ticketId === `EXN_${id}`);
    return w?.lastError?.startsWith("timeout") ? true : undefined;
  });
  assert.ok(proxy.seen.some((r) => r.outcome === "held request" && r.body.includes("second")), "the update's request was held, not forwarded");

  later();
  await eventually("the update delivered on the retry", async () => {
    await sync.deliver();
    return bot.store.size("writes") === 0 ? true : undefined;
  });
  const texts = await botComments(id);
  assert.equal(count(texts, "first"), 1, `the ack's text once: ${JSON.stringify(texts)}`);
  assert.equal(count(texts, "second"), 1, `the update's text once: ${JSON.stringify(texts)}`);

  // An answer withheld after RT did the work: the retry finds the write in RT and does not repeat it.
  proxy.withhold({ method: "POST", path: new RegExp(`^/REST/2\\.0/ticket/${id}/comment$`), mode: "answer", times: 1 });
  await say(alice, room, `!update EXN_${id} third`);
  await eventually("the third's attempt to time out", async () => {
    await sync.deliver();
    const w = [...bot.store.values("writes")].find((x) => x.ticketId === `EXN_${id}`);
    return w?.lastError?.startsWith("timeout") ? true : undefined;
  });
  assert.ok(proxy.seen.some((r) => r.outcome === "held answer" && r.body.includes("third") && r.status === 201), "RT took the third, its answer was held");
  later();
  await eventually("the third settled", async () => {
    await sync.deliver();
    return bot.store.size("writes") === 0 ? true : undefined;
  });
  const all = await botComments(id);
  assert.deepEqual([count(all, "first"), count(all, "second"), count(all, "third")], [1, 1, 1], JSON.stringify(all));
});

void test("a ticket whose request hangs does not hold up the others; at most 4 tickets are written at once (item 14)", { timeout: 120_000 }, async () => {
  const room = `rt14@${prosody.mucDomain}`;
  const { bot, sync, later } = await startTestBot(room, "rt14", 8_000);
  const alice = await login("alice", room);
  const ids: number[] = [];
  for (const n of [1, 2, 3, 4, 5, 6]) ids.push(await rtTicket(`Slow path ${n}`, () => sync.poll(), alice));
  const [slow, quick, ...rest] = ids as [number, number, ...number[]];
  const comment = (id: number): RegExp => new RegExp(`^/REST/2\\.0/ticket/${id}/comment$`);

  // 1. The slow ticket's comment hangs (8 s until the bot gives up); another ticket's goes in meanwhile.
  proxy.withhold({ method: "POST", path: comment(slow), mode: "request" });
  await say(alice, room, `!update EXN_${slow} slowword`);
  await proxy.waitForHeld(1);
  await say(alice, room, `!update EXN_${quick} quickword`);
  await eventually("the quick ticket's comment in RT", async () => (count(await botComments(quick), "quickword") === 1 ? true : undefined), 15_000);
  assert.ok(
    proxy.held().some((r) => r.path.includes(`/ticket/${slow}/`)),
    "the quick ticket's write went in while the slow ticket's request was still hanging",
  );
  await eventually("the slow write retried and delivered", async () => {
    later();
    await sync.deliver();
    return bot.store.size("writes") === 0 ? true : undefined;
  });
  assert.equal(count(await botComments(slow), "slowword"), 1);

  // 2. Five tickets hang at once: four are being written, the fifth waits for a free slot.
  for (const id of [slow, quick, ...rest.slice(0, 3)]) proxy.withhold({ method: "POST", path: comment(id), mode: "request" });
  for (const [i, id] of [slow, quick, ...rest.slice(0, 3)].entries()) await say(alice, room, `!update EXN_${id} bounded${i}`);
  await proxy.waitForHeld(4);
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal(proxy.held().length, 4, `4 tickets at once: ${proxy.held().map((r) => r.path).join(", ")}`);
  await eventually("all five delivered in the end", async () => {
    later();
    await sync.deliver();
    return bot.store.size("writes") === 0 ? true : undefined;
  }, 90_000);
  for (const [i, id] of [slow, quick, ...rest.slice(0, 3)].entries()) assert.equal(count(await botComments(id), `bounded${i}`), 1, `EXN_${id} once`);
});

void test("during an outage every engineer whose change waits is told once, in the ticket's thread, and again when it lands (item 13)", { timeout: 120_000 }, async () => {
  const room = `rt13@${prosody.mucDomain}`;
  const { bot, sync, later } = await startTestBot(room, "rt13", 2_000);
  const [alice, bob, carol] = [await login("alice", room), await login("bob", room), await login("carol", room)];
  const x = await rtTicket("Fibre cut near Bergen", () => sync.poll(), alice);
  const y = await rtTicket("Power failure in the Trondheim PoP", () => sync.poll(), alice);
  const [tx, ty] = [threadOf(bot, `EXN_${x}`), threadOf(bot, `EXN_${y}`)];
  assert.notEqual(tx, ty, "two incidents, two threads");

  proxy.down();
  try {
    await say(alice, room, `!update EXN_${x} alpha1`);
    await say(alice, room, `!update EXN_${x} alpha2`);
    await say(bob, room, `!update EXN_${x} bravo1`);
    await say(bob, room, `!update EXN_${y} bravo2`);
    await eventually("four writes queued", () => Promise.resolve(bot.store.size("writes") === 4 ? true : undefined));
    const delayed = (nick: string, id: number) => (m: SeenMessage): boolean => fromBot(new RegExp(`^${nick}: .*is not answering.*EXN_${id}\\b`))(m);
    const notices = (nick: string, id: number): SeenMessage[] => alice.messages.filter(delayed(nick, id));
    await eventually("the delay notices", async () => {
      later();
      await sync.deliver();
      return notices("alice", x).length > 0 && notices("bob", x).length > 0 && notices("bob", y).length > 0 ? true : undefined;
    });
    // A third engineer's change queued behind the stalled ones is delayed too.
    await say(carol, room, `!update EXN_${x} charlie1`);
    await say(alice, room, `!update EXN_${x} alpha3`);
    await eventually("carol's notice", async () => {
      later();
      await sync.deliver();
      return notices("carol", x).length > 0 ? true : undefined;
    });
    for (let i = 0; i < 3; i++) {
      later();
      await sync.deliver();
    }
    await new Promise((r) => setTimeout(r, 1000));
    for (const [nick, id, thread] of [["alice", x, tx], ["bob", x, tx], ["bob", y, ty], ["carol", x, tx]] as const) {
      const seen = notices(nick, id);
      assert.equal(seen.length, 1, `${nick} told once about EXN_${id}: ${seen.map((m) => shown(m)).join(" | ")}`);
      assert.equal(seen[0]?.thread, thread, `${nick}'s notice about EXN_${id} is in the ticket's thread`);
    }
    assert.equal(alice.messages.filter(fromBot(/is not answering/)).length, 4, "nobody else is told, nobody twice");
  } finally {
    proxy.up();
  }

  await eventually("everything delivered once RT is back", async () => {
    later();
    await sync.deliver();
    return bot.store.size("writes") === 0 ? true : undefined;
  });
  const landed = (nick: string, id: number) => (m: SeenMessage): boolean => fromBot(new RegExp(`^${nick}: .*EXN_${id}\\b.*\\b(in|reached) Request Tracker`))(m);
  for (const [nick, id, thread] of [["alice", x, tx], ["bob", x, tx], ["bob", y, ty], ["carol", x, tx]] as const) {
    const m = await alice.waitFor(landed(nick, id), 10_000, `${nick} told that the change to EXN_${id} landed`);
    assert.equal(m.thread, thread, `${nick}'s landing notice about EXN_${id} is in the ticket's thread`);
  }
  await new Promise((r) => setTimeout(r, 500));
  for (const [nick, id] of [["alice", x], ["bob", x], ["bob", y], ["carol", x]] as const) assert.equal(alice.messages.filter(landed(nick, id)).length, 1, `${nick} told once that EXN_${id} landed`);
  const [cx, cy] = [await botComments(x), await botComments(y)];
  for (const w of ["alpha1", "alpha2", "alpha3", "bravo1", "charlie1"]) assert.equal(count(cx, w), 1, `${w} once in EXN_${x}`);
  assert.equal(count(cy, "bravo2"), 1);
});

void test("50 writes queued across 5 tickets while RT is down, the bot killed -9 mid-delivery and restarted: each reaches RT exactly once", { timeout: 240_000 }, async () => {
  const room = `rtkill@${prosody.mucDomain}`;
  const configFile = join(dir, "rtkill.config.json");
  await writeFile(configFile, JSON.stringify(configInput(room, "rtkill", 3_000)));
  const logFile = join(dir, "rtkill.log");
  const start = async (skewMs = 0): Promise<BotProcess> => {
    const p = await spawnBot({ configFile, logFile, skewMs });
    running.push(p);
    return p;
  };
  let bot = await start();
  const people = await Promise.all(ENGINEERS.map((e) => login(e, room)));
  const watcher = people[0];
  assert.ok(watcher);
  const ids: number[] = [];
  for (const n of [1, 2, 3, 4, 5]) ids.push(await rtTicket(`Outage drill ${n}`, () => bot.poll(), watcher));

  // RT down: 5 engineers × 10 commands spread over the 5 tickets, all queued.
  proxy.down();
  const words: { id: number; word: string }[] = [];
  try {
    for (const [e, person] of people.entries())
      for (let i = 0; i < 10; i++) {
        const id = ids[(e * 10 + i) % ids.length] ?? 0;
        const word = `drill-${e}-${i}`;
        words.push({ id, word });
        await say(person, room, `!update EXN_${id} ${word}`);
      }
    await eventually("50 writes queued", async () => ((await bot.writes()).length === 50 ? true : undefined));
  } finally {
    // RT is back, but the answers to the first three comments never come back: killed while they hang.
    proxy.withhold({ method: "POST", path: /^\/REST\/2\.0\/ticket\/\d+\/comment$/, mode: "answer", times: 3 });
    proxy.up();
  }
  const resumedAt = proxy.seen.length;
  await bot.skew(LATER);
  await bot.kick();
  await proxy.waitForHeld(3);
  await bot.kill();
  const inFlight = proxy.seen.slice(resumedAt).filter((r) => r.outcome === "held answer");
  assert.equal(inFlight.length, 3);
  assert.ok(inFlight.every((r) => r.status === 201), "RT took the three whose answers were held");

  // Started again on the same store, its clock past every backoff: the queue resumes, and looks
  // in RT for the three it cannot know the outcome of before writing them again.
  const restartedAt = proxy.seen.length;
  bot = await start(LATER);
  await eventually("every write delivered after the restart", async () => {
    await bot.deliver();
    return (await bot.writes()).length === 0 ? true : undefined;
  }, 120_000);
  const rechecks = proxy.seen.slice(restartedAt).filter((r) => r.method === "GET" && /^\/REST\/2\.0\/transaction\/\d+\/attachments\b/.test(r.path));
  assert.ok(rechecks.length >= 3, `the uncertain writes were checked in RT: ${rechecks.length} content reads`);
  for (const id of ids) {
    const texts = await botComments(id);
    const mine = words.filter((w) => w.id === id);
    for (const { word } of mine) assert.equal(count(texts, word), 1, `${word} exactly once in EXN_${id}`);
    assert.equal(texts.length, mine.length, `EXN_${id}: one comment per command, nothing else`);
  }
  await bot.stop();
});
