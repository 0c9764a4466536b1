// Federation: the bot's account lives on server A, the room on server B (two real Prosody instances
// talking s2s); a client on B checks what the room received.
import { test, after, before } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startFeedServer, type FeedServer } from "../../src/demo/feed-server.js";
import { startFederatedPair } from "../support/federation.js";
import { prosodyAvailable, type ProsodyInstance } from "../../src/demo/prosody.js";
import { startWatcher, type Watcher } from "../../src/demo/watcher.js";
import { startBot, type RunningBot } from "../../src/main.js";
import { TicketActivitySchema } from "../../src/model/activity.js";
import { rssFeed } from "../fixtures/feeds.js";
import { botConfig } from "../helpers/bot-config.js";
import { captureLogger } from "../helpers/log-capture.js";
import { shown } from "../helpers/messages.js";

assert.ok(await prosodyAvailable(), "prosody is not installed: run `apt-get install -y prosody` (.ci/run does)");
process.env.TTRELAY_FED_PASSWORD = "fed-bot-pw";

let a: ProsodyInstance;
let b: ProsodyInstance;
let feeds: FeedServer;
let dir: string;
let bot: RunningBot | undefined;
let watcher: Watcher | undefined;

before(async () => {
  [a, b] = await startFederatedPair("noc-a.test", "noc-b.test");
  await a.register("ttrelay", "fed-bot-pw");
  await b.register("customer", "customer-pw");
  feeds = await startFeedServer();
  dir = await mkdtemp(join(tmpdir(), "ttrelay-fed-"));
});

after(async () => {
  await bot?.stop();
  await watcher?.stop();
  await feeds?.close();
  await Promise.all([a?.stop(), b?.stop()]);
  if (dir) await rm(dir, { recursive: true, force: true });
});

void test("a bot on server A posts tickets into a room on server B and into its home room", { timeout: 60_000 }, async () => {
  const remoteRoom = `shared-noc@${b.mucDomain}`;
  const homeRoom = `transit@${a.mucDomain}`;
  feeds.set("/f.rss", { body: rssFeed([{ id: 7 }]) });
  const config = botConfig({
    jid: `ttrelay@${a.domain}`,
    service: a.service,
    rooms: [homeRoom, remoteRoom],
    feeds: [{ id: "exn", url: feeds.url("/f.rss") }],
    storePath: join(dir, "store.json"),
    passwordEnv: "TTRELAY_FED_PASSWORD",
  });
  bot = await startBot(config, { log: captureLogger().log, startPolling: false });
  await bot.ready; // both rooms joined, the remote one over s2s

  watcher = await startWatcher({ service: b.service, domain: b.domain, username: "customer", password: "customer-pw" });
  await watcher.join(remoteRoom, "customer-b");

  await bot.pollNow("exn");
  feeds.set("/f.rss", { body: rssFeed([{ id: 8, title: "Loss of light on EXN-STO-CPH-01", circuits: "EXN-STO-CPH-01" }, { id: 7 }]) });
  await bot.pollNow("exn");

  const m = await watcher.waitFor((x) => !x.delayed && shown(x).startsWith("*EXN_8*"), 15_000, "EXN_8 in the room on server B");
  assert.equal(m.room, remoteRoom);
  assert.equal(m.nick, "ttrelay");
  assert.match(shown(m), /\nLoss of light on EXN-STO-CPH-01\n/);
  assert.ok(m.stanzaId, "server B's room assigned a stanza-id");
  const activity = TicketActivitySchema.parse(JSON.parse(m.json ?? "null"));
  assert.equal(activity.type, "Create");
  assert.equal(activity.object["nttdm:ticket"].TT_ID, "EXN_8");
  assert.deepEqual(activity.object["nttdm:ticket"].Network_Link_Circuit, ["EXN-STO-CPH-01"]);
});
