// The feed-to-room pipeline against real servers: a private Prosody, then a private ejabberd; a real
// local HTTP server for the feed, the bot, and a second real XMPP client that checks what the room shows.
import { describe, test, after, before } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { xml } from "@xmpp/client";
import { startFeedServer, type FeedServer } from "../../src/demo/feed-server.js";
import { startWatcher, type SeenMessage, type Watcher } from "../../src/demo/watcher.js";
import { startBot, type RunningBot } from "../../src/main.js";
import { TicketActivitySchema } from "../../src/model/activity.js";
import { ChangeSet } from "../../src/store/types.js";
import { changeStore, readStore } from "../helpers/store-file.js";
import { rssFeed, type FixtureItem } from "../fixtures/feeds.js";
import { botConfig } from "../helpers/bot-config.js";
import { captureLogger } from "../helpers/log-capture.js";
import { incidentOfBody, shown, stripIncident } from "../helpers/messages.js";
import { startXmppServer, xmppServers, type XmppServer } from "../support/xmpp-server.js";


const BOT_PASSWORD = "bot-secret-1";
process.env.TTRELAY_TEST_PASSWORD = BOT_PASSWORD;

for (const kind of await xmppServers()) {
  void describe(kind, () => {
    let xmpp: XmppServer;
    let feeds: FeedServer;
    let dir: string;
    const watchers: Watcher[] = [];
    const bots: RunningBot[] = [];

    before(async () => {
      xmpp = await startXmppServer(kind, { domain: "noc-a.test" });
      await xmpp.register("ttrelay", BOT_PASSWORD);
      await xmpp.register("watcher", "watcher-pw");
      feeds = await startFeedServer();
      dir = await mkdtemp(join(tmpdir(), "ttrelay-it-"));
    });

    after(async () => {
      for (const b of bots) await b.stop().catch(() => undefined);
      for (const w of watchers) await w.stop();
      await feeds?.close();
      await xmpp?.stop();
      if (dir) await rm(dir, { recursive: true, force: true });
    });

    async function watch(room: string, nick = "checker"): Promise<Watcher> {
      const w = await startWatcher({ service: xmpp.service, domain: xmpp.domain, username: "watcher", password: "watcher-pw", resource: nick });
      watchers.push(w);
      await w.join(room, nick);
      return w;
    }

    // The bot's live messages with a body (its subject changes, kept showing the room's state, are none).
    const live = (m: SeenMessage): boolean => !m.delayed && m.nick === "ttrelay" && m.body !== undefined;
    const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

    function activityOf(m: SeenMessage) {
      assert.ok(m.json, "room message carries a urn:xmpp:json:0 payload");
      return TicketActivitySchema.parse(JSON.parse(m.json));
    }

    let launches = 0;
    async function launch(config: ReturnType<typeof botConfig>, logger = captureLogger()): Promise<RunningBot> {
      // A resource of its own per launch: a bot left running by a failed test must not kick the next one off.
      const bot = await startBot({ ...config, xmpp: { ...config.xmpp, resource: `ttrelay-${++launches}` } }, { log: logger.log, startPolling: false });
      bots.push(bot);
      await bot.ready;
      return bot;
    }

    async function stopBot(bot: RunningBot): Promise<void> {
      await bot.stop();
      bots.splice(bots.indexOf(bot), 1);
    }

    void test("feed items become ticket messages in the room: summary first, then Create and Update, no repost after restart", { timeout: 60_000 }, async () => {
      const room = `transit@${xmpp.mucDomain}`;
      const items: FixtureItem[] = [{ id: 1, circuits: "EXN-STO-CPH-01" }, { id: 2, service: "IP transit", impact: "At risk" }];
      feeds.set("/a.rss", { body: rssFeed(items) });
      const storePath = join(dir, "a.json");
      const config = botConfig({ jid: `ttrelay@${xmpp.domain}`, service: xmpp.service, rooms: [room], feeds: [{ id: "exn", url: feeds.url("/a.rss") }], storePath });

      const logs = captureLogger();
      let bot = await launch(config, logs);
      const watcher = await watch(room);

      // The bot created the room and made it persistent and archived (XEP-0045 §10.1.3).
      const info = await watcher.iq(xml("iq", { type: "get", to: room }, xml("query", { xmlns: "http://jabber.org/protocol/disco#info" })));
      const features = info.getChild("query")?.getChildren("feature").map((f) => String(f.attrs.var)) ?? [];
      assert.ok(features.includes("muc_persistent"), `room is persistent (features: ${features.join(" ")})`);
      assert.ok(features.includes("urn:xmpp:mam:2"), "room is archived (MAM)");

      // First poll of a new feed: one summary line, no per-item messages.
      assert.equal((await bot.pollNow("exn")).kind, "polled");
      const summary = await watcher.waitFor((m) => live(m) && /Now following feed/.test(m.body ?? ""), 10_000, "the summary line");
      assert.match(summary.body ?? "", /2 tickets already listed, 2 open \(EXN_1, EXN_2\)/);
      assert.equal(summary.json, undefined, "the summary carries no activity");

      // A new item → one Create message, ticket id first, with the AS2 activity as JSON.
      items.unshift({ id: 3, title: "Fibre cut Stockholm-Copenhagen", impact: "On backup", circuits: "EXN-STO-CPH-02", text: "Carrier ticket CAR-1." });
      feeds.set("/a.rss", { body: rssFeed(items) });
      await bot.pollNow("exn");
      const created = await watcher.waitFor((m) => live(m) && shown(m).startsWith("*EXN_3*"), 10_000, "the Create message of EXN_3");
      assert.match(shown(created), /^\*EXN_3\* new · Opened · On backup\nFibre cut Stockholm-Copenhagen\n/);
      assert.match(shown(created), /Circuits: EXN-STO-CPH-02/);
      assert.match(shown(created), /https:\/\/noc\.example\.net\/tt\/3/);
      assert.match(shown(created), /> Carrier ticket CAR-1\./);
      assert.ok(created.stanzaId, "the room assigned a stanza-id");
      // Threaded by incident (XEP-0201); a lone ticket carries no visible incident prefix.
      assert.match(created.thread ?? "", /^INC-[0-9a-f]{12}$/);
      assert.equal(incidentOfBody(created.body), undefined);
      const createdActivity = activityOf(created);
      assert.equal(createdActivity.type, "Create");
      assert.equal(createdActivity.actor.name, "ExampleNet NOC");
      assert.equal(createdActivity.object["nttdm:ticket"].TT_ID, "EXN_3");
      assert.equal(createdActivity.object["nttdm:ticket"].TT_Impact_Assessment, "On backup");
      assert.deepEqual(createdActivity.object["nttdm:ticket"].Network_Link_Circuit, ["EXN-STO-CPH-02"]);

      // Unchanged feed: a conditional GET answered 304, nothing posted.
      const before304 = feeds.requests.length;
      assert.equal((await bot.pollNow("exn")).kind, "not-modified");
      const conditional = feeds.requests[before304];
      assert.ok(conditional?.ifNoneMatch, "the bot sent If-None-Match");
      assert.equal(conditional?.status, 304);

      // The same item changed → one Update message naming what changed.
      items[0] = { ...items[0], id: 3, status: "Closed", end: "2026-11-28 11:00 UTC", closed: "2026-11-28 11:05 UTC", history: "spliced", pubDate: "Sat, 28 Nov 2026 11:05:00 GMT" };
      feeds.set("/a.rss", { body: rssFeed(items) });
      await bot.pollNow("exn");
      const updated = await watcher.waitFor((m) => live(m) && shown(m).startsWith("*EXN_3* closed"), 10_000, "the Update message of EXN_3");
      // A closure is one compact line: what it became, what it was, the title.
      assert.match(shown(updated), /^\*EXN_3\* closed \(was Opened\) · Fibre cut Stockholm-Copenhagen/);
      // The update is in the same thread and replies (XEP-0461) to the incident's first message here.
      assert.equal(updated.thread, created.thread);
      assert.deepEqual(updated.replyTo, { id: created.stanzaId, to: `${room}/ttrelay` });
      const updatedActivity = activityOf(updated);
      assert.equal(updatedActivity.type, "Update");
      assert.equal(updatedActivity.object["nttdm:ticket"].TT_Status, "Closed");
      assert.notEqual(updatedActivity.id, createdActivity.id);

      const countFromBot = (): number => watcher.messages.filter(live).length;
      assert.equal(countFromBot(), 3, "summary + create + update");

      // The store on disk holds the tickets and an empty outbox (everything was echoed back; delivery
      // marks are written in batches within 250 ms).
      await sleep(700);
      const stored = await readStore(storePath);
      assert.deepEqual([...stored.tickets.keys()].sort(), ["EXN_1", "EXN_2", "EXN_3"]);
      assert.equal(stored.outboxList.length, 0);

      // Restart with the same store and a feed that changes nothing relevant: no repost.
      await stopBot(bot);
      feeds.set("/a.rss", { body: rssFeed(items) + "\n" }); // new ETag, same items
      bot = await launch(config);
      const again = await bot.pollNow("exn");
      assert.equal(again.kind, "polled");
      await sleep(1500);
      assert.equal(countFromBot(), 3, `nothing re-posted after a restart: ${JSON.stringify(watcher.messages.filter(live).slice(3).map((m) => m.body))}`);
      await stopBot(bot);
    });

    void test("bad feeds are logged with the feed, the item and the reason; other feeds keep flowing", { timeout: 60_000 }, async () => {
      const room = `errors@${xmpp.mucDomain}`;
      feeds.set("/good.rss", { body: rssFeed([{ id: 10 }]) });
      feeds.set("/html", { body: "<!DOCTYPE html><html><body>Login</body></html>", headers: { "content-type": "text/html" } });
      feeds.set("/down", { status: 503, body: "maintenance" });
      feeds.set("/gone", { status: 404, body: "no" });
      feeds.set("/truncated", { body: rssFeed([{ id: 1 }]).slice(0, 200) });
      feeds.set("/slow", { body: rssFeed([{ id: 1 }]), delayMs: 3_000 });
      feeds.set("/cut", { body: rssFeed([{ id: 1 }, { id: 2 }]), cutAfterBytes: 120 });
      feeds.set("/moved", { status: 301, headers: { location: "/good.rss" } });
      feeds.set("/loop", { status: 302, headers: { location: "/loop" } });
      feeds.set("/huge", { body: rssFeed([{ id: 1, text: "x".repeat(2_000_000) }]) });
      feeds.set("/missing-id", { body: rssFeed([{ id: 20 }]).replace(/<guid[^>]*>EXN-20<\/guid>/, "<guid>no-ticket-number</guid>") });
      feeds.set("/bad-value", { body: rssFeed([{ id: 30, impact: "Catastrophic" }]) });

      const names = ["good", "html", "down", "gone", "truncated", "slow", "cut", "moved", "loop", "huge", "missing-id", "bad-value"] as const;
      const logs = captureLogger();
      const config = botConfig({
        jid: `ttrelay@${xmpp.domain}`,
        service: xmpp.service,
        rooms: [room],
        feeds: names.map((n) => ({ id: n, url: feeds.url(n === "good" ? "/good.rss" : `/${n}`), timeoutMs: 1_000 })),
        storePath: join(dir, "errors.json"),
      });
      for (const f of config.feeds) if (f.id === "huge") f.maxBytes = 1_000_000;
      const bot = await launch(config, logs);
      const watcher = await watch(room);

      const outcomes = Object.fromEntries(await Promise.all(names.map(async (n) => [n, await bot.pollNow(n)] as const)));
      const failed = (n: (typeof names)[number]): string => {
        const o = outcomes[n];
        assert.equal(o?.kind, "failed", `${n} failed`);
        return o?.kind === "failed" ? o.reason : "";
      };
      assert.match(failed("html"), /HTML page, not an RSS\/Atom feed/);
      assert.match(failed("down"), /HTTP 503/);
      assert.match(failed("gone"), /HTTP 404/);
      assert.match(failed("truncated"), /truncated or malformed/);
      assert.match(failed("slow"), /no complete answer within 1000 ms/);
      assert.match(failed("cut"), /terminated|aborted|socket|closed/i);
      assert.match(failed("loop"), /more than 5 redirects/);
      assert.match(failed("huge"), /larger than the 1000000 bytes allowed/);
      assert.equal(outcomes.moved?.kind, "polled", "a redirect to a feed is followed");

      // Each failure logged with the feed's name; temporary ones as warnings, others as errors.
      assert.ok(logs.find("feed fetch failed", { feed: "down", failure: "temporary" }), "503 logged as temporary");
      assert.ok(logs.find("feed fetch failed", { feed: "gone", failure: "permanent" }), "404 logged as permanent");
      assert.ok(logs.find("feed document rejected", { feed: "html", reason: /HTML page/ }), "HTML page logged");
      // Backoff: the failed feed is not fetched again right away.
      assert.equal((await bot.pollNow("down")).kind, "skipped");

      // Items the mapping cannot use are named with the item and the field, and skipped alone.
      assert.equal(outcomes["missing-id"]?.kind, "polled");
      assert.ok(logs.find("feed item not turned into a ticket", { feed: "missing-id", item: "no-ticket-number", field: "Original_ID" }));
      assert.ok(logs.find("feed item not turned into a ticket", { feed: "bad-value", item: "EXN-30", field: "TT_Impact_Assessment", problem: /"Catastrophic" is not one of/ }));

      // The good feed is unaffected: its later item reaches the room.
      feeds.set("/good.rss", { body: rssFeed([{ id: 11 }, { id: 10 }]) });
      const goodAgain = await bot.pollNow("good");
      assert.equal(goodAgain.kind, "polled", JSON.stringify(goodAgain).slice(0, 300));
      await watcher.waitFor((m) => live(m) && shown(m).startsWith("*EXN_11*"), 10_000, "EXN_11 from the good feed");
      await stopBot(bot);
    });

    void test("outgoing messages are queued durably: delivered after the XMPP server comes back, once, also across a crash", { timeout: 60_000 }, async () => {
      // A second server whose lifetime this test controls (same data dir and port across restarts).
      const serverDir = await mkdtemp(join(tmpdir(), "ttrelay-it-xmpp-"));
      let server = await startXmppServer(kind, { domain: "noc-c.test", dir: serverDir });
      const c2sPort = server.c2sPort;
      await server.register("ttrelay", BOT_PASSWORD);
      await server.register("watcher", "watcher-pw");
      const room = `outage@${server.mucDomain}`;
      feeds.set("/c.rss", { body: rssFeed([{ id: 100 }]) });
      const storePath = join(dir, "c.json");
      const config = botConfig({ jid: `ttrelay@${server.domain}`, service: server.service, rooms: [room], feeds: [{ id: "c", url: feeds.url("/c.rss") }], storePath });
      try {
        let bot = await launch(config);
        await bot.pollNow("c"); // primes the feed (summary line)
        await sleep(500);
        await server.stop(); // the XMPP server goes away
        feeds.set("/c.rss", { body: rssFeed([{ id: 101 }, { id: 100 }]) });
        await bot.pollNow("c");
        // The message is on disk before any attempt could succeed.
        const queued = await readStore(storePath);
        assert.equal(queued.outboxList.length, 1);
        assert.ok(stripIncident(queued.outboxList[0]?.body).startsWith("*EXN_101*"));
        // The server comes back: the running bot reconnects, rejoins its room and delivers the queue.
        server = await startXmppServer(kind, { domain: "noc-c.test", dir: serverDir, c2sPort });
        const w = await startWatcher({ service: server.service, domain: server.domain, username: "watcher", password: "watcher-pw", resource: "c" });
        watchers.push(w);
        await w.join(room, "checker-c");
        const delivered = await w.waitFor((m) => m.nick === "ttrelay" && shown(m).startsWith("*EXN_101*"), 15_000, "EXN_101 after the outage");
        assert.ok(delivered);
        await sleep(800);
        const after = await readStore(storePath);
        assert.equal(after.outboxList.length, 0, "the entry left the outbox once echoed");

        // A crash after sending but before the echo was recorded: the entry is back in the store file.
        await stopBot(bot);
        const lost = queued.outboxList[0]!;
        await changeStore(storePath, new ChangeSet().put("outbox", lost.id, { ...lost, attempts: 1 }));
        bot = await launch(config);
        await sleep(1500);
        // The watcher stayed in the room: a second copy would have arrived live with a new stanza-id.
        const copies = new Set(w.messages.filter((m) => m.nick === "ttrelay" && shown(m).startsWith("*EXN_101*")).map((m) => m.stanzaId));
        assert.equal(copies.size, 1, "recognised in the room history by origin-id: not sent twice");
        const final = await readStore(storePath);
        assert.equal(final.outboxList.length, 0);
        await stopBot(bot);
      } finally {
        await server.stop();
        await rm(serverDir, { recursive: true, force: true });
      }
    });

    void test("a feed routed to two rooms is fetched once per poll and reaches both rooms", { timeout: 60_000 }, async () => {
      const rooms = [`fan-a@${xmpp.mucDomain}`, `fan-b@${xmpp.mucDomain}`];
      feeds.set("/fan.rss", { body: rssFeed([{ id: 40 }]) });
      const config = botConfig({
        jid: `ttrelay@${xmpp.domain}`,
        service: xmpp.service,
        rooms,
        feeds: [{ id: "fan", url: feeds.url("/fan.rss") }],
        storePath: join(dir, "fan.json"),
        routes: [{ rooms: [rooms[0]!] }, { when: { services: ["ip *"] }, rooms: [rooms[1]!, rooms[0]!] }],
      });
      const bot = await launch(config);
      const [wa, wb] = [await watch(rooms[0]!, "fan-checker-a"), await watch(rooms[1]!, "fan-checker-b")];
      await bot.pollNow("fan");
      feeds.set("/fan.rss", { body: rssFeed([{ id: 41 }, { id: 40 }]) });
      const fetchesBefore = feeds.requests.filter((r) => r.path === "/fan.rss").length;
      await Promise.all([bot.pollNow("fan"), bot.pollNow("fan")]); // overlapping triggers share one fetch
      assert.equal(feeds.requests.filter((r) => r.path === "/fan.rss").length - fetchesBefore, 1);
      for (const w of [wa, wb]) await w.waitFor((m) => live(m) && shown(m).startsWith("*EXN_41*"), 10_000, "EXN_41");
      await sleep(500);
      assert.equal(wa.messages.filter((m) => live(m) && shown(m).startsWith("*EXN_41*")).length, 1, "one copy per room, even when two routes name it");
      await stopBot(bot);
    });
  });
}
