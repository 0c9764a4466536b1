// Two NOCs, two bots, two federated Prosody servers: each bot has its own room and both sit in a
// shared coordination room. A fault both NOCs report ends as one incident thread in both bots'
// rooms, checked by a third real client reading <thread>, <reply> and the JSON payloads.
import { test, after, before } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { xml } from "@xmpp/client";
import { ConfigSchema, type Config } from "../../config/schema.js";
import { startFeedServer, type FeedServer } from "../../src/demo/feed-server.js";
import { startFederatedPair } from "../support/federation.js";
import { prosodyAvailable, type ProsodyInstance } from "../../src/demo/prosody.js";
import { startWatcher, type SeenMessage, type Watcher } from "../../src/demo/watcher.js";
import { startBot, type RunningBot } from "../../src/main.js";
import { TicketActivitySchema, incidentOf } from "../../src/model/activity.js";
import { rssFeed } from "../fixtures/feeds.js";
import { examplenetMapping } from "../helpers/bot-config.js";
import { captureLogger } from "../helpers/log-capture.js";
import { incidentOfBody, shown } from "../helpers/messages.js";

assert.ok(await prosodyAvailable(), "prosody is not installed: run `apt-get install -y prosody` (.ci/run does)");
process.env.TTRELAY_NOC_A_PASSWORD = "noc-a-bot";
process.env.TTRELAY_NOC_B_PASSWORD = "noc-b-bot";

let a: ProsodyInstance;
let b: ProsodyInstance;
let feeds: FeedServer;
let dir: string;
const bots: RunningBot[] = [];
const watchers: Watcher[] = [];

before(async () => {
  [a, b] = await startFederatedPair("noc-a.test", "noc-b.test");
  await a.register("ttrelay", "noc-a-bot");
  await a.register("engineer", "engineer-a");
  await b.register("ttrelay", "noc-b-bot");
  await b.register("customer", "customer-b");
  feeds = await startFeedServer();
  dir = await mkdtemp(join(tmpdir(), "ttrelay-incidents-"));
});

after(async () => {
  for (const bot of bots) await bot.stop().catch(() => undefined);
  for (const w of watchers) await w.stop();
  await feeds?.close();
  await Promise.all([a?.stop(), b?.stop()]);
  if (dir) await rm(dir, { recursive: true, force: true });
});

function nocConfig(opts: { noc: string; name: string; server: ProsodyInstance; passwordEnv: string; ownRoom: string; sharedRoom: string; nick: string; feedPath: string; peer: { jid: string; partner: string } }): Config {
  return ConfigSchema.parse({
    noc: { id: opts.noc, name: opts.name },
    xmpp: { jid: `ttrelay@${opts.server.domain}`, password: { env: opts.passwordEnv }, service: opts.server.service, nick: opts.nick },
    rooms: [{ jid: opts.ownRoom }, { jid: opts.sharedRoom }],
    feeds: [{ id: opts.noc.toLowerCase(), url: feeds.url(opts.feedPath), partnerId: opts.noc, mapping: examplenetMapping }],
    routes: [{ rooms: [opts.ownRoom, opts.sharedRoom] }],
    store: { path: join(dir, `${opts.noc}.json`) },
    peerBots: [{ jids: [opts.peer.jid], partners: [opts.peer.partner] }],
  });
}

async function watch(server: ProsodyInstance, user: string, password: string, room: string, nick: string): Promise<Watcher> {
  const w = await startWatcher({ service: server.service, domain: server.domain, username: user, password, resource: nick });
  watchers.push(w);
  await w.join(room, nick);
  return w;
}

const about = (id: string) => (m: SeenMessage): boolean => !m.delayed && shown(m).startsWith(`*${id}*`);

void test("a fault reported by two NOCs becomes one incident thread in both bots' rooms", { timeout: 90_000 }, async () => {
  const sharedRoom = `noc-coordination@${b.mucDomain}`;
  const roomA = `exn-transit@${a.mucDomain}`;
  const roomB = `nord-transit@${b.mucDomain}`;
  feeds.set("/exn.rss", { body: rssFeed([{ id: 1, circuits: "EXN-OTHER-9" }]) });
  feeds.set("/nord.rss", { body: rssFeed([{ id: 1, circuits: "NORD-OTHER-3", service: "Lambda" }]) });
  const logsA = captureLogger();
  const logsB = captureLogger();
  const botA = await startBot(
    nocConfig({ noc: "EXN", name: "ExampleNet NOC", server: a, passwordEnv: "TTRELAY_NOC_A_PASSWORD", ownRoom: roomA, sharedRoom, nick: "exn-bot", feedPath: "/exn.rss", peer: { jid: `ttrelay@${b.domain}`, partner: "NORD" } }),
    { log: logsA.log, startPolling: false },
  );
  bots.push(botA);
  await botA.ready; // bot A creates the shared room (non-anonymous: each bot sees the other's real JID)
  const botB = await startBot(
    nocConfig({ noc: "NORD", name: "NordNet NOC", server: b, passwordEnv: "TTRELAY_NOC_B_PASSWORD", ownRoom: roomB, sharedRoom, nick: "nord-bot", feedPath: "/nord.rss", peer: { jid: `ttrelay@${a.domain}`, partner: "EXN" } }),
    { log: logsB.log, startPolling: false },
  );
  bots.push(botB);
  await botB.ready;

  const customer = await watch(b, "customer", "customer-b", sharedRoom, "customer-b"); // the third client
  const engineerA = await watch(a, "engineer", "engineer-a", roomA, "engineer-a");
  await Promise.all([botA.pollNow("exn"), botB.pollNow("nord")]); // prime both feeds

  // NOC A sees the cross-border circuit go down first.
  feeds.set("/exn.rss", { body: rssFeed([{ id: 50, title: "Loss of light on cross-border circuit", circuits: "XB-STO-OSL-1" }, { id: 1, circuits: "EXN-OTHER-9" }]) });
  await botA.pollNow("exn");
  const fromA = await customer.waitFor(about("EXN_50"), 15_000, "EXN_50 from bot A in the shared room");
  const thread = fromA.thread;
  assert.match(thread ?? "", /^INC-[0-9a-f]{12}$/);
  assert.equal(incidentOfBody(fromA.body), undefined, "alone so far: no prefix");
  assert.equal(incidentOf(TicketActivitySchema.parse(JSON.parse(fromA.json ?? "null"))), thread, "the AS2 activity names the incident");

  // Bot B learns A's ticket from the shared room (a remote ticket of NOC A) …
  for (let i = 0; i < 100 && !botB.store.ticket("EXN_50"); i++) await new Promise((r) => setTimeout(r, 50));
  const remote = botB.store.ticket("EXN_50");
  assert.ok(remote, "bot B stored NOC A's ticket from the shared room");
  assert.equal(remote.source, `peer:${sharedRoom}`);
  assert.equal(remote.remote?.name, "ExampleNet NOC");
  assert.deepEqual(remote.rooms, [], "a peer's ticket is not re-posted as bot B's own");

  // … then NOC B reports its side of the same circuit: it joins the same incident.
  feeds.set("/nord.rss", { body: rssFeed([{ id: 60, title: "XB-STO-OSL-1 down", circuits: "XB-STO-OSL-1" }, { id: 1, circuits: "NORD-OTHER-3", service: "Lambda" }]) });
  await botB.pollNow("nord");
  const fromB = await customer.waitFor(about("NORD_60"), 15_000, "NORD_60 from bot B in the shared room");
  assert.equal(fromB.thread, thread, "bot B posts in the same thread");
  assert.equal(incidentOfBody(fromB.body), thread);
  assert.deepEqual(fromB.replyTo, { id: fromA.stanzaId, to: `${sharedRoom}/exn-bot` }, "and replies to the incident's first message in that room");
  assert.match(shown(fromB), /\nIncident INC-[0-9a-f]{12} with EXN_50: circuit XB-STO-OSL-1, service IP transit\n/);
  const activityB = TicketActivitySchema.parse(JSON.parse(fromB.json ?? "null"));
  assert.equal(incidentOf(activityB), thread);
  assert.equal(activityB.actor.name, "NordNet NOC");
  assert.equal(botB.store.ticket("NORD_60")?.incident, botB.store.ticket("EXN_50")?.incident);

  // Bot A correlates NOC B's ticket too, and tells its own room, in the incident's thread.
  const notice = await engineerA.waitFor((m) => !m.delayed && /NordNet NOC reports \*NORD_60\*/.test(m.body ?? ""), 15_000, "bot A's notice in its own room");
  assert.equal(notice.thread, thread);
  const firstInA = engineerA.messages.find(about("EXN_50"));
  assert.deepEqual(notice.replyTo, { id: firstInA?.stanzaId, to: `${roomA}/exn-bot` });
  assert.equal(notice.json, undefined, "a notice carries no payload: the peer's activity is never re-posted as A's own");
  assert.equal(botA.store.ticket("NORD_60")?.incident, botA.store.ticket("EXN_50")?.incident);
  assert.equal(customer.messages.filter((m) => !m.delayed && /reports \*NORD_60\*/.test(m.body ?? "")).length, 0, "no notice where the peer already posted");

  // A broken payload from an occupant is logged with who sent it and why, and changes nothing.
  await customer.send(xml("message", { to: sharedRoom, type: "groupchat" }, xml("body", {}, "look"), xml("json", { xmlns: "urn:xmpp:json:0" }, '{"type":"Create","object":{}}')));
  await customer.send(xml("message", { to: sharedRoom, type: "groupchat" }, xml("body", {}, "x"), xml("json", { xmlns: "urn:xmpp:json:0" }, "{not json")));
  for (let i = 0; i < 100 && !logsA.find("peer activity ignored", { nick: "customer-b", reason: /payload is not JSON/ }); i++) await new Promise((r) => setTimeout(r, 50));
  assert.ok(logsA.find("peer activity ignored", { nick: "customer-b", room: sharedRoom, reason: /not a valid ticket activity/ }));
  assert.ok(logsB.find("peer activity ignored", { nick: "customer-b", reason: /payload is not JSON/ }));

  // Both tickets closed: the incident closes, announced once per room of each bot, in its thread.
  feeds.set("/exn.rss", { body: rssFeed([{ id: 50, title: "Loss of light on cross-border circuit", circuits: "XB-STO-OSL-1", status: "Closed", end: "2026-11-28 12:00 UTC", closed: "2026-11-28 12:05 UTC", history: "spliced" }, { id: 1, circuits: "EXN-OTHER-9" }]) });
  feeds.set("/nord.rss", { body: rssFeed([{ id: 60, title: "XB-STO-OSL-1 down", circuits: "XB-STO-OSL-1", status: "Closed", end: "2026-11-28 12:00 UTC", closed: "2026-11-28 12:06 UTC", history: "carrier fixed it" }, { id: 1, circuits: "NORD-OTHER-3", service: "Lambda" }]) });
  await botA.pollNow("exn");
  await customer.waitFor((m) => about("EXN_50")(m) && /\*EXN_50\* closed \(was /.test(m.body ?? ""), 15_000, "EXN_50 closed");
  await botB.pollNow("nord");
  const closed = await engineerA.waitFor((m) => !m.delayed && /Incident \*INC-[0-9a-f]{12}\* closed: all 2 tickets are final/.test(m.body ?? ""), 15_000, "incident closed in room A");
  assert.equal(closed.thread, thread);
});
