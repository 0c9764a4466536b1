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

assert.ok(await prosodyAvailable(), "prosody is not installed: run `apt-get install -y prosody` (.ci/run does)");
process.env.TTRELAY_HARD_PASSWORD = "hard-bot";

let prosody: ProsodyInstance;
let feeds: FeedServer;
let dir: string;
let bot: RunningBot | undefined;
const clients: Watcher[] = [];

before(async () => {
  prosody = await startProsody({ domain: "hard.test", mucRoomLocking: true });
  for (const [user, pw] of [["ttrelay", "hard-bot"], ["alice", "alice-pw"]] as const) await prosody.register(user, pw);
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
