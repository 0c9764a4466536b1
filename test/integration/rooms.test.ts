// Rooms the bot owns, on real servers: many created at once are all configured from each server's
// own owner form and checked; a room made anew (status 201 after it existed) starts its incident
// threads again; a setting a server does not offer is reported at start-up.
import { describe, test, after, before } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { xml } from "@xmpp/client";
import type { Element } from "@xmpp/xml";
import { startFeedServer, type FeedServer } from "../../src/demo/feed-server.js";
import { startWatcher, type SeenMessage, type Watcher } from "../../src/demo/watcher.js";
import { startBot, type RunningBot } from "../../src/main.js";
import { readDiscoInfo } from "../../src/xmpp/stanzas.js";
import { rssFeed, type FixtureItem } from "../fixtures/feeds.js";
import { botConfig } from "../helpers/bot-config.js";
import { captureLogger } from "../helpers/log-capture.js";
import { shown } from "../helpers/messages.js";
import { startEjabberd } from "../support/ejabberd.js";
import { startXmppServer, xmppServers, type XmppServer } from "../support/xmpp-server.js";

process.env.TTRELAY_ROOMS_PASSWORD = "rooms-bot";

let feeds: FeedServer;
let dir: string;
before(async () => {
  feeds = await startFeedServer();
  dir = await mkdtemp(join(tmpdir(), "ttrelay-rooms-"));
});
after(async () => {
  await feeds?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

// Each test's bot has a resource of its own (the store's name): the bots of earlier tests stay
// connected until the end, and one with the same full JID would replace the other back and forth.
const config = (server: { domain: string; service: string }, rooms: string[], feed: string, store: string, resource = `ttrelay-${store.replace(/\.json$/, "")}`) => {
  const c = botConfig({ jid: `ttrelay@${server.domain}`, service: server.service, rooms, feeds: [{ id: "exn", url: feeds.url(feed) }], storePath: join(dir, store), passwordEnv: "TTRELAY_ROOMS_PASSWORD" });
  return { ...c, xmpp: { ...c.xmpp, resource } };
};

for (const kind of await xmppServers()) {
  void describe(kind, () => {
    let server: XmppServer;
    const bots: RunningBot[] = [];
    const watchers: Watcher[] = [];
    before(async () => {
      server = await startXmppServer(kind, { domain: "rooms.test" });
      await server.register("ttrelay", "rooms-bot");
      await server.register("watcher", "watcher-pw");
    });
    after(async () => {
      for (const b of bots) await b.stop().catch(() => undefined);
      for (const w of watchers) await w.stop();
      await server?.stop();
    });
    const watcher = async (resource: string): Promise<Watcher> => {
      const w = await startWatcher({ service: server.service, domain: server.domain, username: "watcher", password: "watcher-pw", resource });
      watchers.push(w);
      return w;
    };

    void test("thirty rooms created at once are all configured from the server's form and checked", { timeout: 60_000 }, async () => {
      const rooms = Array.from({ length: 30 }, (_, i) => `many-${i}@${server.mucDomain}`);
      feeds.set("/many.rss", { body: rssFeed([{ id: 1 }]) });
      const logs = captureLogger();
      const bot = await startBot(config(server, rooms, "/many.rss", `many-${kind}.json`), { log: logs.log, startPolling: false });
      bots.push(bot);
      await bot.ready;
      assert.equal(logs.lines.filter((l) => l.msg === "configured new room").length, 30, "each room configured once");
      const problems = logs.lines.filter((l) => l.level >= 40);
      assert.deepEqual(problems, [], "no timeouts, refusals, missing settings or mismatches");
      const w = await watcher("many");
      for (const room of rooms) {
        const info = readDiscoInfo(await w.iq(xml("iq", { type: "get", to: room }, xml("query", { xmlns: "http://jabber.org/protocol/disco#info" }))));
        for (const feature of ["muc_persistent", "muc_nonanonymous", "urn:xmpp:mam:2"]) assert.ok(info.features.includes(feature), `${room}: ${feature} (${info.features.join(" ")})`);
        assert.equal(info.identities.find((i) => i.category === "conference")?.name, "test room", `${room} is named`);
      }
    });

    void test("a room the bot owns without a subject, and not told to show its state there, gets its description as subject, set by the bot", { timeout: 30_000 }, async () => {
      const room = `described@${server.mucDomain}`;
      feeds.set("/described.rss", { body: rssFeed([{ id: 1 }]) });
      const cfg = config(server, [room], "/described.rss", `described-${kind}.json`);
      const bot = await startBot({ ...cfg, rooms: [{ ...cfg.rooms[0]!, description: "Tickets of ExampleNet, relayed by ttrelay", subject: false }] }, { log: captureLogger().log, startPolling: false });
      bots.push(bot);
      await bot.ready;
      const w = await watcher("subject");
      const subject = new Promise<{ from: string; text: string }>((resolve) =>
        w.client.on("stanza", (st: Element) => {
          const text = st.is("message") ? st.getChildText("subject") : null;
          if (text !== null) resolve({ from: String(st.attrs.from), text });
        }),
      );
      await w.join(room, "checker");
      // Not from the room's own JID (clients show that as "changed by Unknown"), but from the bot.
      assert.deepEqual(await subject, { from: `${room}/ttrelay`, text: "Tickets of ExampleNet, relayed by ttrelay" });
    });

    void test("a ticket too big for one stanza is posted without its JSON payload: the server does not close the stream, nothing is sent for ever", { timeout: 60_000 }, async () => {
      const room = `big@${server.mucDomain}`;
      // Within the ticket limits, but its JSON payload is escaped to ~70 kB (ejabberd closes a c2s
      // stream at 64 KiB by default).
      feeds.set("/big.rss", { body: rssFeed([{ id: 1 }]) });
      const logs = captureLogger();
      const bot = await startBot(config(server, [room], "/big.rss", `big-${kind}.json`, "big"), { log: logs.log, startPolling: false });
      bots.push(bot);
      await bot.ready;
      const w = await watcher("big");
      await w.join(room, "checker");
      await bot.pollNow("exn"); // the first poll only says what the feed already lists
      feeds.set("/big.rss", { body: rssFeed([{ id: 2, title: "Huge description", text: "&<".repeat(7_500) }, { id: 1 }]) });
      await bot.pollNow("exn");
      const posted = await w.waitFor((m) => !m.delayed && m.nick === "ttrelay" && /Huge description/.test(shown(m)), 10_000, "the big ticket");
      assert.equal(posted.json, undefined, "sent without its payload");
      assert.ok(logs.find("room message too big for one stanza: sent without its JSON payload"));
      await new Promise((r) => setTimeout(r, 1_000));
      assert.deepEqual(logs.lines.filter((l) => l.msg === "xmpp offline" || l.msg === "xmpp connection error"), [], "the connection stayed up");
      assert.equal([...bot.store.values("outbox")].length, 0, "delivered, nothing left to send again");
    });

    void test("a room made anew after it existed starts its incident threads again", { timeout: 60_000 }, async () => {
      const room = `reborn@${server.mucDomain}`;
      const items: FixtureItem[] = [{ id: 1 }];
      feeds.set("/reborn.rss", { body: rssFeed(items) });
      const cfg = config(server, [room], "/reborn.rss", `reborn-${kind}.json`);
      let bot = await startBot(cfg, { log: captureLogger().log, startPolling: false });
      bots.push(bot);
      await bot.ready;
      const w = await watcher("reborn");
      await w.join(room, "checker");
      await bot.pollNow("exn");
      items.unshift({ id: 3, title: "Fibre cut", circuits: "EXN-C-3" });
      feeds.set("/reborn.rss", { body: rssFeed(items) });
      await bot.pollNow("exn");
      // The bot's live messages with a body (its subject changes, kept showing the room's state, are none).
      const live = (m: SeenMessage): boolean => !m.delayed && m.nick === "ttrelay" && m.body !== undefined;
      const created = await w.waitFor((m) => live(m) && shown(m).startsWith("*EXN_3* new"), 10_000, "EXN_3").catch((e: unknown) => {
        throw new Error(`${String(e)} ${JSON.stringify(w.messages.map((m) => [m.nick, m.delayed, m.body?.slice(0, 20)]))}`);
      });
      assert.ok(created.stanzaId);
      // The bot has its echo, and with it the incident's first message here.
      const firstHere = (): unknown => [...bot.store.values("incidents")].find((i) => i.thread === created.thread)?.rooms[room];
      for (let i = 0; i < 200 && firstHere() === undefined; i++) await new Promise((r) => setTimeout(r, 50));
      assert.deepEqual(firstHere(), { id: created.stanzaId, to: `${room}/ttrelay` });
      await bot.stop();
      bots.splice(bots.indexOf(bot), 1);

      // The room goes away with its history, as a temporary room does when its last occupant leaves
      // (what ejabberd did to rooms it would not configure): made temporary by its owner, emptied.
      const owner = await startWatcher({ service: server.service, domain: server.domain, username: "ttrelay", password: "rooms-bot", resource: "owner" });
      watchers.push(owner);
      await owner.join(room, "owner");
      const field = (name: string, value: string) => xml("field", { var: name }, xml("value", {}, value));
      await owner.iq(
        xml(
          "iq",
          { type: "set", to: room },
          xml("query", { xmlns: "http://jabber.org/protocol/muc#owner" }, xml("x", { xmlns: "jabber:x:data", type: "submit" }, field("FORM_TYPE", "http://jabber.org/protocol/muc#roomconfig"), field("muc#roomconfig_persistentroom", "0"))),
        ),
      );
      await w.stop();
      await owner.stop();
      await new Promise((r) => setTimeout(r, 300));

      const logs = captureLogger();
      bot = await startBot(cfg, { log: logs.log, startPolling: false });
      bots.push(bot);
      await bot.ready;
      assert.ok(logs.find("joined room", { room, created: true }), "the bot made the room again");
      const w2 = await watcher("reborn-2");
      await w2.join(room, "checker");
      items[0] = { ...items[0], id: 3, title: "Fibre cut", circuits: "EXN-C-3", history: "crew on site", pubDate: "Sat, 28 Nov 2026 10:00:00 GMT" };
      feeds.set("/reborn.rss", { body: rssFeed(items) });
      await bot.pollNow("exn");
      const first = await w2.waitFor((m) => live(m) && shown(m).startsWith("*EXN_3* Opened · "), 10_000, "the first update in the new room");
      // The new room may replay the old posts from its archive under ids of its own (Prosody does);
      // a reply may point at what this room shows, never at an id from the room's earlier life.
      assert.notEqual(first.replyTo?.id, created.stanzaId, "no reply to a message the new room never had");
      if (first.replyTo) assert.ok(w2.messages.some((m) => m.stanzaId === first.replyTo?.id), "a reply points at a message the new room shows");
      assert.equal(first.thread, created.thread, "the same incident thread");
      // A reply needs the room's id for the first message, which comes with its echo: wait until
      // the bot has it (the second client may see the message before the bot has taken its echo in).
      const firstInNewRoom = (): unknown => [...bot.store.values("incidents")].find((i) => i.thread === created.thread)?.rooms[room];
      for (let i = 0; i < 200 && (firstInNewRoom() as { id?: string } | undefined)?.id !== first.stanzaId; i++) await new Promise((r) => setTimeout(r, 50));
      items[0] = { ...items[0], id: 3, title: "Fibre cut", circuits: "EXN-C-3", status: "Closed", end: "2026-11-28 11:00 UTC", closed: "2026-11-28 11:05 UTC", history: "spliced", pubDate: "Sat, 28 Nov 2026 11:05:00 GMT" };
      feeds.set("/reborn.rss", { body: rssFeed(items) });
      await bot.pollNow("exn");
      const second = await w2.waitFor((m) => live(m) && shown(m).startsWith("*EXN_3* closed"), 10_000, "the next update");
      // An update replies to the ticket's first message in the room: here, the first one since the room was made anew.
      assert.deepEqual(second.replyTo, { id: first.stanzaId, to: `${room}/ttrelay` }, "later posts reply to the ticket's first message in the new room");
    });
  });
}

void test("a setting the server does not offer is reported for the room at start-up", { timeout: 60_000 }, async () => {
  const server = await startEjabberd({ domain: "plain.test", allowPersistentRooms: false });
  try {
    await server.register("ttrelay", "rooms-bot");
    const room = `temp@${server.mucDomain}`;
    feeds.set("/temp.rss", { body: rssFeed([{ id: 1 }]) });
    const logs = captureLogger();
    const bot = await startBot(config(server, [room], "/temp.rss", "temp.json"), { log: logs.log, startPolling: false });
    try {
      await bot.ready;
      const warning = logs.find(/cannot be made persistent on this server/, { room, setting: "persistent" });
      assert.ok(warning, JSON.stringify(logs.lines.filter((l) => l.level >= 40)));
      assert.equal(warning.msg, `room ${room} cannot be made persistent on this server: it disappears, with its history, when the last occupant leaves`);
      assert.equal(logs.find("could not configure the room"), undefined, "everything else it offers was applied");
    } finally {
      await bot.stop();
    }
  } finally {
    await server.stop();
  }
});
