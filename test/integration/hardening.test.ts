// Trying to break the bot on a real Prosody: a full disk under a command and under a feed poll,
// and ticket references that are JavaScript's own property names.
import { test, after, before } from "node:test";
import assert from "node:assert/strict";
import { link, mkdtemp, readFile, rename, rm, symlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { xml } from "@xmpp/client";
import { ConfigSchema } from "../../config/schema.js";
import { startFeedServer, type FeedServer } from "../../src/demo/feed-server.js";
import { prosodyAvailable, startProsody, type ProsodyInstance } from "../../src/demo/prosody.js";
import { startWatcher, type SeenMessage, type Watcher } from "../../src/demo/watcher.js";
import { startBot, type RunningBot } from "../../src/main.js";
import { rssFeed, type FixtureItem } from "../fixtures/feeds.js";
import { examplenetMapping } from "../helpers/bot-config.js";
import { captureLogger } from "../helpers/log-capture.js";
import { shown } from "../helpers/messages.js";
import { changeStore } from "../helpers/store-file.js";
import { ChangeSet, type OutboxEntry } from "../../src/store/types.js";

assert.ok(await prosodyAvailable(), "prosody is not installed: run `apt-get install -y prosody` (.ci/run does)");
process.env.TTRELAY_HARD_PASSWORD = "hard-bot";

let prosody: ProsodyInstance;
let feeds: FeedServer;
let dir: string;
let bot: RunningBot | undefined;
const clients: Watcher[] = [];

before(async () => {
  prosody = await startProsody({ domain: "hard.test", mucRoomLocking: true });
  for (const [user, pw] of [["ttrelay", "hard-bot"], ["alice", "alice-pw"], ["mallory", "mallory-pw"]] as const) await prosody.register(user, pw);
  feeds = await startFeedServer();
  dir = await mkdtemp(join(tmpdir(), "ttrelay-hard-"));
});

after(async () => {
  await bot?.stop().catch(() => undefined);
  for (const c of clients) await c.stop();
  await feeds?.close();
  await prosody?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const fromBot = (re: RegExp) => (m: SeenMessage): boolean => !m.delayed && m.nick === "ttrelay" && re.test(shown(m));

/** The store's journal is made to fail as a full disk does (every write ENOSPC), then given back. */
async function fullDisk(journal: string): Promise<() => Promise<void>> {
  // Swapped by atomic renames (the bot keeps writing meanwhile): a hard link keeps the real file.
  await link(journal, `${journal}.real`);
  await symlink("/dev/full", `${journal}.full`);
  await rename(`${journal}.full`, journal);
  return () => rename(`${journal}.real`, journal);
}

void test("a full disk: a command says nothing changed and it is true, also later; a feed poll is stored as soon as the disk has room; property names are plain unknown ids", { timeout: 90_000 }, async () => {
  const room = `noc@${prosody.mucDomain}`;
  const alice = `alice@${prosody.domain}`;
  const storePath = join(dir, "store.json");
  const items: FixtureItem[] = [{ id: 1 }];
  feeds.set("/f.rss", { body: rssFeed(items) });
  const config = ConfigSchema.parse({
    noc: { id: "EXN", name: "ExampleNet NOC" },
    xmpp: { jid: `ttrelay@${prosody.domain}`, password: { env: "TTRELAY_HARD_PASSWORD" }, service: prosody.service, nick: "ttrelay" },
    rooms: [{ jid: room }],
    feeds: [{ id: "exn", url: feeds.url("/f.rss"), partnerId: "EXN", mapping: examplenetMapping }],
    routes: [{ rooms: [room] }],
    store: { path: storePath },
    acl: { engineers: [alice] },
  });
  const logs = captureLogger();
  bot = await startBot(config, { log: logs.log, startPolling: false });
  await bot.ready;
  const engineer = await startWatcher({ service: prosody.service, domain: prosody.domain, username: "alice", password: "alice-pw", resource: "hard" });
  clients.push(engineer);
  await engineer.join(room, "alice");
  const say = (body: string): Promise<void> => engineer.send(xml("message", { to: room, type: "groupchat" }, xml("body", {}, body)));
  await bot.pollNow("exn"); // learns EXN_1
  items.unshift({ id: 2, title: "Fibre cut" });
  feeds.set("/f.rss", { body: rssFeed(items) });
  await bot.pollNow("exn");
  await engineer.waitFor(fromBot(/^\*EXN_2\* new/), 10_000, "EXN_2 in the room");

  // 1. A command on a full disk: refused as not saved, and nothing of it survives in memory.
  let diskBack = await fullDisk(`${storePath}.journal`);
  await say("!ack EXN_2 on it");
  await engineer.waitFor(fromBot(/^alice: Sorry, I could not save that change; nothing was changed/), 10_000, "the refusal");
  assert.doesNotMatch(bot.store.ticket("EXN_2")?.ticket.History ?? "", /acknowledged/, "nothing changed in memory");
  assert.equal(bot.store.ticket("EXN_2")?.ticket.Contact_Engineers, undefined);
  const audit = (await readFile(`${storePath}.audit.jsonl`, "utf8")).trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.equal(audit.at(-1)?.outcome, "failed", "the audit says the command failed");
  assert.match(String(audit.at(-1)?.reason), /not saved/);
  // The disk has room again: what was refused stays refused (no late "acknowledged" in the room).
  await diskBack();
  await say("!update EXN_2 crew on site");
  await engineer.waitFor(fromBot(/^alice: \*EXN_2\* updated/), 10_000, "the next command works");
  await sleep(500);
  const acked = engineer.messages.filter(fromBot(/acknowledged/));
  assert.deepEqual(acked.map((m) => m.body), [], "the refused ack never appears");
  assert.doesNotMatch(bot.store.ticket("EXN_2")?.ticket.History ?? "", /acknowledged/);

  // 2. A feed poll on a full disk: not stored, so nothing is lost; it is polled and stored again
  // shortly after the disk has room, without waiting for the next scheduled poll.
  diskBack = await fullDisk(`${storePath}.journal`);
  items.unshift({ id: 3, title: "Router down" });
  feeds.set("/f.rss", { body: rssFeed(items) });
  const refused = await bot.pollNow("exn");
  assert.equal(refused.kind, "failed");
  assert.equal(bot.store.ticket("EXN_3"), undefined);
  await sleep(300);
  await diskBack();
  await engineer.waitFor(fromBot(/^\*EXN_3\* new/), 15_000, "EXN_3 once the disk has room, without another poll by hand");
  assert.ok(logs.find("store write failed: nothing was applied; writes are tried again as work comes"), "said once when writes failed");
  assert.ok(logs.find("store writes work again"), "and when they work again");

  // 3. Property names of JavaScript objects as ticket ids: unknown tickets, answered as such.
  const ask = async (body: string): Promise<string> => {
    const seen = engineer.messages.filter(fromBot(/^alice: /)).length;
    await say(body);
    await engineer.waitFor(() => engineer.messages.filter(fromBot(/^alice: /)).length > seen, 10_000, `the answer to ${body}`);
    return shown(engineer.messages.filter(fromBot(/^alice: /))[seen] ?? {});
  };
  for (const ref of ["constructor", "__proto__", "toString", "hasOwnProperty"]) {
    for (const command of [`!reopen ${ref} flapping`, `!show ${ref}`, `!ack ${ref}`, `!link EXN_3 ${ref}`]) {
      const answer = await ask(command);
      assert.match(answer, /I don't know|doesn't look like|not a ticket|no ticket|unknown/i, `${command}: answered as an unknown id (${answer})`);
    }
  }
  // Still working after all that.
  await say("!ack EXN_3 looking");
  await engineer.waitFor(fromBot(/^alice: \*EXN_3\* acknowledged/), 10_000, "the bot still works");
  assert.equal(logs.lines.filter((l) => l.level >= 50 && /crash/.test(l.msg)).length, 0, "nothing crashed");
});

// An occupant who takes the bot's nick while it is away: what it posts under that nick stays in the
// room's history, and outbox ids are derivable. Neither may stop the bot's real posts.
void test("a squatter on the bot's nick: forged origin-ids in the history deliver nothing; a nick held at start-up is joined around", { timeout: 90_000 }, async () => {
  const room = `squat@${prosody.mucDomain}`;
  const storePath = join(dir, "squat.json");
  const config = ConfigSchema.parse({
    noc: { id: "EXN", name: "ExampleNet NOC" },
    xmpp: { jid: `ttrelay@${prosody.domain}`, password: { env: "TTRELAY_HARD_PASSWORD" }, service: prosody.service, nick: "ttrelay" },
    rooms: [{ jid: room }],
    routes: [{ rooms: [room] }],
    store: { path: storePath },
    acl: { engineers: [`alice@${prosody.domain}`] },
  });
  const entry = (id: string, body: string): OutboxEntry => ({ id, room, body, createdAt: "2026-12-01T10:00:00Z", attempts: 0 });
  // The bot makes (and owns) the room, then goes away.
  const logs = captureLogger();
  let squatBot = await startBot(config, { log: logs.log, startPolling: false });
  await squatBot.ready;
  await squatBot.stop();
  const watcher = await startWatcher({ service: prosody.service, domain: prosody.domain, username: "alice", password: "alice-pw", resource: "squat" });
  clients.push(watcher);
  await watcher.join(room, "alice");
  const mallory = await startWatcher({ service: prosody.service, domain: prosody.domain, username: "mallory", password: "mallory-pw", resource: "squat" });
  clients.push(mallory);
  try {
    // 1. While the bot is away, mallory posts under its nick with the id of its next post.
    await changeStore(storePath, new ChangeSet().put("outbox", "ttr-forged1", entry("ttr-forged1", "REAL POST 1")));
    await mallory.join(room, "ttrelay");
    await mallory.send(xml("message", { to: room, type: "groupchat", id: "m1" }, xml("body", {}, "fake post"), xml("origin-id", { xmlns: "urn:xmpp:sid:0", id: "ttr-forged1" })));
    await watcher.waitFor((m) => m.body === "fake post", 5_000, "mallory's post");
    await mallory.send(xml("presence", { to: `${room}/ttrelay`, type: "unavailable" }));
    await sleep(300);
    squatBot = await startBot(config, { log: logs.log, startPolling: false });
    await squatBot.ready;
    await watcher.waitFor((m) => !m.delayed && m.body === "REAL POST 1", 10_000, "the real post, not taken as delivered by the forgery");
    await squatBot.stop();

    // 2. Mallory holds the nick when the bot starts: the bot joins under another and still posts.
    await changeStore(storePath, new ChangeSet().put("outbox", "ttr-real2", entry("ttr-real2", "REAL POST 2")));
    await mallory.join(room, "ttrelay");
    squatBot = await startBot(config, { log: logs.log, startPolling: false });
    await squatBot.ready;
    const real = await watcher.waitFor((m) => !m.delayed && m.body === "REAL POST 2", 10_000, "the post under a stand-in nick");
    assert.equal(real.nick, "ttrelay_");
    assert.ok(logs.find("the bot's nick is taken in the room by someone else: joining under another one (ask the room's owner to remove whoever holds it)"));
    await squatBot.stop();
    const copies = watcher.messages.filter((m) => m.body === "REAL POST 1" || m.body === "REAL POST 2");
    assert.deepEqual(copies.filter((m) => !m.delayed).map((m) => m.body), ["REAL POST 1", "REAL POST 2"], "each real post once");
  } finally {
    await squatBot.stop().catch(() => undefined);
  }
});
