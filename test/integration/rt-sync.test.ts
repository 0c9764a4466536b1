// Two-way sync with a real Request Tracker 5 and a real Prosody: a ticket created in RT reaches the
// room; !ack and !close in the room reach RT (status, history) without echoing back; a peer NOC's
// activity opens a linked RT ticket that its closure closes; a close while RT is down is delivered
// once RT is back, exactly once.
import { test, after, before } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { xml } from "@xmpp/client";
import { ConfigSchema, type Config } from "../../config/schema.js";
import { prosodyAvailable, startProsody, type ProsodyInstance } from "../../src/demo/prosody.js";
import { requestTrackerAvailable, startRequestTracker, type RtInstance } from "../support/rt.js";
import { startWatcher, type Watcher } from "../../src/demo/watcher.js";
import { startBot, type RunningBot } from "../../src/main.js";
import { ChangeSet } from "../../src/store/types.js";
import { nocActor, ticketActivity } from "../../src/model/activity.js";
import { createRtClient, type RtPort } from "../../src/ticket-systems/rt/client.js";
import { sampleTicket } from "../fixtures/tickets.js";
import { captureLogger } from "../helpers/log-capture.js";
import { shown } from "../helpers/messages.js";
import { eventually, fromBot, say } from "../helpers/room.js";

assert.ok(await prosodyAvailable(), "prosody is not installed: run `apt-get install -y prosody` (.ci/run does)");
assert.ok(await requestTrackerAvailable(), "Request Tracker 5 is not installed: run `bash scripts/install-rt.sh` (.ci/run does)");

let prosody: ProsodyInstance;
let rt: RtInstance;
let rtDir: string;
let dir: string;
let oper: RtPort;
let bot: RunningBot | undefined;
const clients: Watcher[] = [];

before(async () => {
  [prosody, rtDir, dir] = await Promise.all([
    startProsody({ domain: "noc.test", mucRoomLocking: true }),
    mkdtemp(join(tmpdir(), "ttrelay-rt-instance-")),
    mkdtemp(join(tmpdir(), "ttrelay-rtsync-")),
  ]);
  rt = await startRequestTracker({ dir: rtDir, rootPassword: "root-password" });
  for (const [u, p] of [["ttrelay", "bot-xmpp"], ["alice", "alice-pw"], ["peerbot", "peer-pw"]] as const) await prosody.register(u, p);
  await rt.createQueue("NOC");
  await rt.createQueue("Peers");
  await rt.createCustomField("NTTDM TT_ID", "Peers");
  await rt.createUser("ttrelay", "ttrelay-rt-password");
  await rt.createUser("oper", "oper-rt-password");
  process.env.TTRELAY_RT_TOKEN = await rt.createToken("ttrelay");
  process.env.TTRELAY_RT_XMPP = "bot-xmpp";
  oper = createRtClient({ url: rt.url, auth: { scheme: "token", secret: await rt.createToken("oper") } });
});

after(async () => {
  await bot?.stop();
  for (const c of clients) await c.stop();
  await rt?.stop();
  await prosody?.stop();
  await Promise.all([rtDir, dir].filter(Boolean).map((d) => rm(d, { recursive: true, force: true })));
});

function config(room: string): Config {
  return ConfigSchema.parse({
    noc: { id: "EXN", name: "ExampleNet NOC" },
    xmpp: { jid: `ttrelay@${prosody.domain}`, password: { env: "TTRELAY_RT_XMPP" }, service: prosody.service, nick: "ttrelay" },
    rooms: [{ jid: room }],
    routes: [{ rooms: [room] }],
    store: { path: join(dir, "store.json") },
    acl: { engineers: [`alice@${prosody.domain}`] },
    peerBots: [{ jids: [`peerbot@${prosody.domain}`], partners: ["NORD"] }],
    rt: {
      url: rt.url,
      auth: { scheme: "token", secret: { env: "TTRELAY_RT_TOKEN" } },
      user: "ttrelay",
      queue: "NOC",
      mapping: { defaults: { Affected_Service: "IP transit" } },
      peers: { queue: "Peers", services: ["IP transit"], remoteIdField: "NTTDM TT_ID" },
    },
  });
}

async function login(user: string, password: string, room: string, nick: string): Promise<Watcher> {
  const c = await startWatcher({ service: prosody.service, domain: prosody.domain, username: user, password, resource: nick });
  clients.push(c);
  await c.join(room, nick);
  return c;
}



void test("RT → room → command → RT, without echo or duplicate; peers get linked RT tickets; writes survive RT being down", { timeout: 180_000 }, async (t) => {
  const room = `noc@${prosody.mucDomain}`;
  const logs = captureLogger();
  bot = await startBot(config(room), { log: logs.log, startPolling: false });
  await bot.ready;
  const sync = bot.rt;
  assert.ok(sync, "RT sync is configured");
  const alice = await login("alice", "alice-pw", room, "alice");

  // 1. A ticket created in RT by an operator reaches the room.
  const createdAt = Date.now();
  const created = await oper.createTicket({ queue: "NOC", subject: "Core router reboot in Oslo", content: "osl-core-1 rebooted unexpectedly" });
  assert.ok(created.ok, JSON.stringify(created));
  const id = created.value.id;
  await sync.poll();
  const relayed = await alice.waitFor(fromBot(new RegExp(`^\\*EXN_${id}\\* new · Opened`)), 15_000, "the RT ticket in the room");
  const latencyRtToRoom = Date.now() - createdAt;
  assert.match(shown(relayed), /Core router reboot in Oslo/);
  assert.match(shown(relayed), new RegExp(`Display\\.html\\?id=${id}`));

  // 2. !ack and !close in the room become RT comments and a status change, made as the bot's RT user.
  const commandAt = Date.now();
  await say(alice, room, `!ack EXN_${id} looking`);
  await say(alice, room, `!close EXN_${id} solved rebooted cleanly, monitoring`);
  await alice.waitFor(fromBot(/Solved · status \w+ → Solved/), 15_000, "the close in the room");
  const inRt = await eventually("RT to show the close", async () => {
    await sync.deliver();
    const r = await oper.getTicket(id);
    return r.ok && r.value.status === "resolved" ? r.value : undefined;
  });
  const latencyRoomToRt = Date.now() - commandAt;
  assert.equal(inRt.status, "resolved");
  const history = await oper.history(id);
  assert.ok(history.ok);
  const comments = history.value.filter((x) => x.type === "Comment" && x.creator === "ttrelay");
  assert.equal(comments.length, 2, `two comments by the bot: ${JSON.stringify(history.value.map((x) => [x.type, x.creator]))}`);
  assert.ok(history.value.some((x) => x.type === "Status" && x.creator === "ttrelay" && x.newValue === "resolved"));

  // 3. No echo: polling RT back finds only the bot's own changes and posts nothing.
  // (Messages with a body: the subject follows the ticket's new state, which is no re-post.)
  const before = alice.messages.filter((m) => !m.delayed && m.nick === "ttrelay" && m.body !== undefined).length;
  await sync.poll();
  await new Promise((r) => setTimeout(r, 1000));
  assert.equal(alice.messages.filter((m) => !m.delayed && m.nick === "ttrelay" && m.body !== undefined).length, before, "the bot's own RT changes are not re-posted");
  assert.equal(bot.store.ticket(`EXN_${id}`)?.ticket.TT_Status, "Solved");

  // 4. A peer NOC's activity on a followed service opens a linked RT ticket; its closure closes it.
  const peer = await login("peerbot", "peer-pw", room, "nord-bot");
  const peerTicket = sampleTicket({ Partner_ID: "NORD", Original_ID: "77", TT_ID: "NORD_77", TT_Title: "Loss of light on NORD-OSL-1", Affected_Service: "IP transit" });
  const actor = nocActor({ id: "NORD", name: "NordNet NOC" });
  const post = (a: ReturnType<typeof ticketActivity>): Promise<void> =>
    peer.send(xml("message", { to: room, type: "groupchat" }, xml("body", {}, a.summary ?? ""), xml("json", { xmlns: "urn:xmpp:json:0" }, JSON.stringify(a))));
  await post(ticketActivity("Create", peerTicket, actor, new Date()));
  const linked = await eventually("a linked RT ticket for NORD_77", async () => {
    await sync.deliver();
    const up = bot?.store.ticket("NORD_77")?.upstream;
    return up ? Number(up.id) : undefined;
  });
  const peerRt = await oper.getTicket(linked);
  assert.ok(peerRt.ok);
  assert.match(peerRt.value.subject, /^\[NORD_77\] Loss of light on NORD-OSL-1/);
  assert.deepEqual(peerRt.value.customFields["NTTDM TT_ID"], ["NORD_77"]);
  const closedPeer = { ...peerTicket, TT_Status: "Closed" as const, TT_Close_Datetime: "2026-11-28T12:00:00Z", End_Datetime: "2026-11-28T11:50:00Z", History: "fibre spliced" };
  await post(ticketActivity("Update", closedPeer, actor, new Date()));
  await eventually("the linked RT ticket resolved", async () => {
    await sync.deliver();
    const r = await oper.getTicket(linked);
    return r.ok && r.value.status === "resolved" ? true : undefined;
  });
  // The RT ticket the bot made for the peer is not relayed as one of ours.
  await sync.poll();
  assert.equal(bot.store.ticket(`EXN_${linked}`), undefined);

  // 5. RT stops during a close: the write waits in the store and is delivered once RT is back.
  const second = await oper.createTicket({ queue: "NOC", subject: "Packet loss Oslo-Stockholm", content: "2% loss" });
  assert.ok(second.ok);
  const id2 = second.value.id;
  await sync.poll();
  await alice.waitFor(fromBot(new RegExp(`^\\*EXN_${id2}\\* new`)), 15_000, "the second RT ticket in the room");
  await rt.stop();
  await say(alice, room, `!close EXN_${id2} closed traffic rerouted`);
  await alice.waitFor(fromBot(new RegExp(`^\\*EXN_${id2}\\* closed`)), 15_000, "the close in the room while RT is down");
  await eventually("a failed delivery attempt", async () => {
    await sync.deliver();
    return [...(bot?.store.values("writes") ?? [])].find((w) => w.ticketId === `EXN_${id2}` && (w.lastError ?? "").startsWith("unreachable")) ? true : undefined;
  });
  assert.equal(bot.store.size("writes"), 1, "the write is kept while RT is down");
  rt = await startRequestTracker({ dir: rtDir, rootPassword: "root-password", port: rt.port, keepDatabase: true });
  // The retry is due after its backoff; nudge the clock by clearing it rather than waiting.
  const due = new ChangeSet();
  for (const w of bot.store.values("writes")) due.put("writes", w.id, { ...w, nextAttemptAt: undefined });
  await bot.store.commit(due);
  await eventually("the close delivered after RT is back", async () => {
    await sync.deliver();
    return bot?.store.size("writes") === 0 ? true : undefined;
  }, 30_000);
  const after = await oper.getTicket(id2);
  assert.ok(after.ok);
  assert.equal(after.value.status, "resolved");
  const h2 = await oper.history(id2);
  assert.ok(h2.ok);
  assert.equal(h2.value.filter((x) => x.type === "Comment" && x.creator === "ttrelay").length, 1, "written exactly once");

  t.diagnostic(`round trip: RT create → room ${latencyRtToRoom} ms (one poll); room command → RT resolved ${latencyRoomToRt} ms`);
});
