// The bot's XMPP connection against real servers when the network or the server misbehaves: a
// character split across two TCP chunks (a real proxy re-cuts the server's bytes), a frozen server
// (SIGSTOP), a crashed bot's earlier session still in a room under the bot's nick, and a room
// server that restarted and forgot the bot (two federated Prosody servers, XEP-0410 self-ping).
import { describe, test, after, before } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer, connect, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { client, xml } from "@xmpp/client";
import { ConfigSchema, type Config } from "../../config/schema.js";
import { startFeedServer, type FeedServer } from "../../src/demo/feed-server.js";
import { freePort, startProsody, type ProsodyInstance } from "../../src/demo/prosody.js";
import { startWatcher, type Watcher } from "../../src/demo/watcher.js";
import { startBot, type RunningBot } from "../../src/main.js";
import { rssFeed } from "../fixtures/feeds.js";
import { examplenetMapping } from "../helpers/bot-config.js";
import { captureLogger, type CapturedLine } from "../helpers/log-capture.js";
import { shown } from "../helpers/messages.js";
import { startXmppServer, xmppServers, type XmppServer } from "../support/xmpp-server.js";

process.env.TTRELAY_CONN_PASSWORD = "conn-bot";
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function until<T>(what: string, probe: () => T | undefined, timeoutMs = 15_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/**
 * A TCP proxy to `port` that cuts every chunk from the server inside its first multi-byte UTF-8
 * character and sends the two parts 30 ms apart, so the client reads them as two chunks.
 */
async function splittingProxy(port: number): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const proxy: Server = createServer((downstream) => {
    const upstream = connect({ host: "127.0.0.1", port });
    for (const s of [downstream, upstream]) {
      s.setNoDelay(true);
      sockets.add(s);
      s.on("close", () => sockets.delete(s));
      s.on("error", () => undefined);
    }
    downstream.on("data", (d: Buffer) => upstream.write(d));
    let queue = Promise.resolve();
    upstream.on("data", (d: Buffer) => {
      upstream.pause();
      queue = queue.then(async () => {
        const lead = d.findIndex((b) => b >= 0xc0); // the first byte of a multi-byte character
        if (lead < 0) downstream.write(d);
        else {
          downstream.write(d.subarray(0, lead + 1));
          await sleep(30);
          downstream.write(d.subarray(lead + 1));
        }
        upstream.resume();
      });
    });
    downstream.on("close", () => upstream.destroy());
    upstream.on("close", () => downstream.destroy());
  });
  await new Promise<void>((r) => proxy.listen(0, "127.0.0.1", r));
  const address = proxy.address();
  if (address === null || typeof address === "string") throw new Error("proxy has no port");
  return {
    port: address.port,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        proxy.close(() => r());
      }),
  };
}

function botConfigFor(server: { domain: string; mucDomain: string }, service: string, dir: string, feedUrl: string, rooms: string[], extra: Partial<Config["xmpp"]> = {}): Config {
  return ConfigSchema.parse({
    noc: { id: "EXN", name: "ExampleNet NOC" },
    xmpp: { jid: `ttrelay@${server.domain}`, password: { env: "TTRELAY_CONN_PASSWORD" }, service, nick: "ttrelay", ...extra },
    rooms: rooms.map((jid) => ({ jid })),
    feeds: [{ id: "exn", url: feedUrl, partnerId: "EXN", mapping: examplenetMapping }],
    routes: [{ rooms }],
    store: { path: join(dir, `store-${Math.random().toString(36).slice(2)}.json`) },
    acl: { engineers: [`alice@${server.domain}`] },
  });
}

const countOf = (lines: CapturedLine[], msg: string): number => lines.filter((l) => l.msg === msg).length;

let feeds: FeedServer;
let dir: string;
before(async () => {
  feeds = await startFeedServer();
  dir = await mkdtemp(join(tmpdir(), "ttrelay-conn-"));
});
after(async () => {
  await feeds?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

for (const kind of await xmppServers()) {
  void describe(kind, () => {
    let server: XmppServer;
    const bots: RunningBot[] = [];
    const watchers: Watcher[] = [];

    before(async () => {
      server = await startXmppServer(kind, { domain: "conn.test" });
      for (const [user, pw] of [["ttrelay", "conn-bot"], ["alice", "alice-pw"]] as const) await server.register(user, pw);
    });
    after(async () => {
      for (const b of bots) await b.stop().catch(() => undefined);
      for (const w of watchers) await w.stop();
      await server?.stop();
    });

    async function watch(room: string, nick: string): Promise<Watcher> {
      const w = await startWatcher({ service: server.service, domain: server.domain, username: "alice", password: "alice-pw", resource: nick });
      watchers.push(w);
      await w.join(room, nick);
      return w;
    }

    void test("a character whose bytes arrive in two TCP chunks is read whole", { timeout: 60_000 }, async () => {
      const proxy = await splittingProxy(server.c2sPort);
      try {
        const room = `utf8@${server.mucDomain}`;
        feeds.set("/utf8.rss", { body: rssFeed([{ id: 1 }]) });
        const logs = captureLogger();
        const bot = await startBot(botConfigFor(server, `xmpp://127.0.0.1:${proxy.port}`, dir, feeds.url("/utf8.rss"), [room]), { log: logs.log, startPolling: false });
        bots.push(bot);
        await bot.ready;
        await bot.pollNow("exn");
        const alice = await watch(room, "alice");
        const text = "Störung behoben – Glasfaser in 東京 gespleißt 🚧 ✓";
        await alice.send(xml("message", { to: room, type: "groupchat" }, xml("body", {}, `!update EXN_1 ${text}`)));
        const history = await until("the update in the ticket", () => {
          const h = bot.store.ticket("EXN_1")?.ticket.History;
          return h?.includes("alice@") ? h : undefined;
        });
        assert.ok(!history.includes("\uFFFD"), `no replacement characters: ${history}`);
        assert.ok(history.includes(text), `the text as sent: ${history}`);
      } finally {
        await proxy.close();
      }
    });

    void test("a frozen server is noticed by ping: the bot reconnects and carries on", { timeout: 60_000 }, async () => {
      const room = `frozen@${server.mucDomain}`;
      feeds.set("/frozen.rss", { body: rssFeed([{ id: 1 }]) });
      const logs = captureLogger();
      const config = botConfigFor(server, server.service, dir, feeds.url("/frozen.rss"), [room], { resource: "frozen", keepalive: { idleMs: 1_000, timeoutMs: 1_500, roomPingMs: 60_000 } });
      const bot = await startBot(config, { log: logs.log, startPolling: false });
      bots.push(bot);
      await bot.ready;
      await bot.pollNow("exn");
      const w = await watch(room, "checker");
      process.kill(server.pid, "SIGSTOP");
      try {
        await until("the bot to notice", () => logs.find("the XMPP server did not answer a ping in time: reconnecting"), 15_000);
        assert.ok(logs.find("no answer to a request in time", { request: "ping (XEP-0199)" }), "the timed-out request is logged with what was asked");
      } finally {
        process.kill(server.pid, "SIGCONT");
      }
      await until("the room joined again", () => countOf(logs.lines, "joined room") >= 2, 20_000);
      feeds.set("/frozen.rss", { body: rssFeed([{ id: 2, title: "After the freeze" }, { id: 1 }]) });
      await bot.pollNow("exn");
      await w.waitFor((m) => !m.delayed && m.nick === "ttrelay" && shown(m).startsWith("*EXN_2*"), 15_000, "EXN_2 after the freeze");
    });

    void test("a crashed bot's earlier session leaving the room is not taken for a kick", { timeout: 60_000 }, async () => {
      const room = `crash@${server.mucDomain}`;
      feeds.set("/crash.rss", { body: rssFeed([{ id: 1 }]) });
      const config = botConfigFor(server, server.service, dir, feeds.url("/crash.rss"), [room], { resource: "crash" });
      const first = await startBot(config, { log: captureLogger().log, startPolling: false });
      await first.ready;
      await first.stop();
      // The crashed process: the bot's account and resource in the room under its nick, with stream
      // management (XEP-0198) on as @xmpp/client negotiates it, so the server keeps the session for
      // resumption; the socket just closes, as on kill -9.
      const crashed = client({ service: server.service, domain: server.domain, username: "ttrelay", password: "conn-bot", resource: "crash" });
      crashed.on("error", () => undefined);
      await crashed.start();
      await crashed.send(xml("presence"));
      await crashed.send(xml("presence", { to: `${room}/ttrelay` }, xml("x", { xmlns: "http://jabber.org/protocol/muc" })));
      await sleep(700); // joined, and stream management enabled
      (crashed as unknown as { socket: { destroy(): void } }).socket.destroy();
      crashed.reconnect.stop();

      const logs = captureLogger();
      const bot = await startBot(config, { log: logs.log, startPolling: false });
      bots.push(bot);
      await bot.ready;
      await sleep(1500);
      assert.equal(logs.find("left the room (kicked, banned or room destroyed); rejoining later"), undefined, "no kick seen");
      assert.equal(countOf(logs.lines, "joined room"), 1, "joined once");
      assert.equal(countOf(logs.lines, "applied room configuration") + countOf(logs.lines, "configured new room"), 0, "nothing reconfigured (the room was already configured)");
      const w = await watch(room, "checker");
      await bot.pollNow("exn");
      await w.waitFor((m) => !m.delayed && m.nick === "ttrelay" && /Now following feed/.test(m.body ?? ""), 10_000, "the bot still posts there");
    });
  });
}

void test("a room whose server restarted and forgot the bot is joined again (XEP-0410 self-ping)", { timeout: 90_000 }, async () => {
  const [c2sA, s2sA, c2sB, s2sB] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const dirB = await mkdtemp(join(tmpdir(), "ttrelay-conn-b-"));
  const startB = (): Promise<ProsodyInstance> =>
    startProsody({ domain: "rooms-b.test", dir: dirB, c2sPort: c2sB, s2sPort: s2sB, peers: [{ domain: "bot-a.test", port: s2sA }], mucRoomLocking: true });
  const a = await startProsody({ domain: "bot-a.test", c2sPort: c2sA, s2sPort: s2sA, peers: [{ domain: "rooms-b.test", port: s2sB }] });
  let b = await startB();
  const watchers: Watcher[] = [];
  let bot: RunningBot | undefined;
  try {
    await a.register("ttrelay", "conn-bot");
    await b.register("alice", "alice-pw");
    const room = `shared@${b.mucDomain}`;
    feeds.set("/restart.rss", { body: rssFeed([{ id: 1 }]) });
    const logs = captureLogger();
    bot = await startBot(botConfigFor(a, a.service, dir, feeds.url("/restart.rss"), [room], { keepalive: { idleMs: 60_000, timeoutMs: 5_000, roomPingMs: 1_000 } }), { log: logs.log, startPolling: false });
    await bot.ready;
    await bot.pollNow("exn");
    // The room's server crashes and comes back: the room is there (persistent), the bot is not.
    process.kill(b.pid, "SIGKILL");
    await b.stop();
    b = await startB();
    await until("the bot to find out", () => logs.find("the room no longer has the bot (self-ping): joining again"), 30_000);
    await until("the room joined again", () => countOf(logs.lines, "joined room") >= 2, 20_000);
    const w = await startWatcher({ service: b.service, domain: b.domain, username: "alice", password: "alice-pw", resource: "after" });
    watchers.push(w);
    await w.join(room, "alice");
    feeds.set("/restart.rss", { body: rssFeed([{ id: 2, title: "After the restart" }, { id: 1 }]) });
    await bot.pollNow("exn");
    await w.waitFor((m) => !m.delayed && m.nick === "ttrelay" && shown(m).startsWith("*EXN_2*"), 15_000, "EXN_2 in the room after its server restarted");
  } finally {
    await bot?.stop();
    for (const w of watchers) await w.stop();
    await Promise.all([a.stop(), b.stop()]);
    await rm(dirB, { recursive: true, force: true });
  }
});
