// The bot's own posts in a room's archive (XEP-0313), on a real Prosody (mod_muc_mam) and a real
// ejabberd (mod_mam): more than the join history holds and more than one page, found by origin-id;
// a room with archiving off offers none. The archive settings are read from the owner form each
// server offers (Prosody: muc#roomconfig_enablearchiving; ejabberd: mam).
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { startWatcher, type Watcher } from "../../src/demo/watcher.js";
import type { OutboxEntry } from "../../src/store/types.js";
import { ARCHIVE_WINDOW, ArchiveRecognition, archiveOffer, postsInArchive, type StanzaWire } from "../../src/xmpp/mam.js";
import { newOriginKey, signOriginId, verifyOriginId } from "../../src/xmpp/origin.js";
import { planRoomConfig } from "../../src/xmpp/room-config.js";
import { ownerFormRequest, ownerFormSubmit, readDataForm, roomMessage, type IncomingRoomMessage } from "../../src/xmpp/stanzas.js";
import { captureLogger } from "../helpers/log-capture.js";
import { startXmppServer, xmppServers, type XmppServer } from "../support/xmpp-server.js";

const ARCHIVE_FIELDS = new Set(["muc#roomconfig_enablearchiving", "mam"]);

const wireOf = (w: Watcher): StanzaWire => ({
  request: (iq, timeoutMs) => w.iq(iq, timeoutMs),
  listen: (listener) => {
    w.client.on("stanza", listener);
    return () => void w.client.off("stanza", listener);
  },
});
const entry = (id: string, room: string, createdAt: string): OutboxEntry => ({ id, room, body: id, createdAt, attempts: 0 });

/** The owner's configuration of a room it just made: persistent, archiving on or off, from the form the server offers. */
async function configure(owner: Watcher, room: string, archiving: boolean): Promise<void> {
  const offered = readDataForm(await owner.iq(ownerFormRequest(room, "cfg-form")));
  const fields = planRoomConfig(offered, { name: "archive test" }).submit.map((f) => (ARCHIVE_FIELDS.has(f.var) ? { ...f, value: archiving ? "1" : "0" } : f));
  await owner.iq(ownerFormSubmit(room, "cfg-submit", fields));
}

for (const kind of await xmppServers()) {
  void describe(kind, () => {
    let server: XmppServer;
    const watchers: Watcher[] = [];
    before(async () => {
      server = await startXmppServer(kind, { domain: "mam.test" });
      await server.register("ttrelay", "pw");
      await server.register("owner", "pw");
    });
    after(async () => {
      for (const w of watchers) await w.stop();
      await server.stop();
    });

    const login = async (user: string, resource: string): Promise<Watcher> => {
      const w = await startWatcher({ service: server.service, domain: server.domain, username: user, password: "pw", resource });
      watchers.push(w);
      return w;
    };

    void test("70 own posts (more than the join history and one archive page) are all found by origin-id; others' posts are not ours", async () => {
      const room = `archived@${server.mucDomain}`;
      const since = new Date(Date.now() - 60_000);
      const bot = await login("ttrelay", "old");
      await bot.join(room, "ttrelay");
      await configure(bot, room, true);
      const other = await login("owner", "o1");
      await other.join(room, "alice");
      for (let i = 0; i < 70; i++) {
        await bot.send(roomMessage({ room, id: `ttr-${i}`, body: `post ${i}`, json: `{"n":${i}}` }));
        if (i % 10 === 0) await other.send(roomMessage({ room, id: `ttr-${i}`, body: "same origin-id from someone else" }));
      }
      await other.waitFor((m) => m.body === "post 69", 10_000, "the last post");

      // A new session of the bot (as after a restart) reads the archive.
      const again = await login("ttrelay", "new");
      await again.join(room, "ttrelay");
      assert.deepEqual(await archiveOffer(wireOf(again), room), { known: true, archive: true });
      const read = await postsInArchive(wireOf(again), room, "ttrelay", since);
      assert.ok(read.ok, read.ok ? "" : read.error.reason);
      assert.deepEqual(read.value.map((m) => m.originId), Array.from({ length: 70 }, (_, i) => `ttr-${i}`), "all 70, oldest first, only ours");
      assert.ok(read.value.every((m) => m.delayed && m.stanzaId !== undefined && m.json !== undefined));

      // Recognition hands over exactly the pending entries the archive shows, and opens the window.
      const recognised: IncomingRoomMessage[] = [];
      const pending = [entry("ttr-3", room, since.toISOString()), entry("ttr-64", room, since.toISOString()), entry("ttr-never-sent", room, since.toISOString())];
      const recognition = new ArchiveRecognition({ wire: () => wireOf(again), pending: () => pending, recognised: (m) => recognised.push(m), historyWindow: 20, log: captureLogger().log });
      assert.equal(recognition.windowFor(room), 20, "unknown until joined");
      await recognition.beforeJoined(room, "ttrelay");
      assert.deepEqual(recognised.map((m) => m.originId), ["ttr-3", "ttr-64"]);
      assert.equal(recognition.windowFor(room), ARCHIVE_WINDOW);
      assert.equal(recognition.windowFor(room.toUpperCase()), ARCHIVE_WINDOW);
    });

    void test("a room with archiving off offers no archive: the window stays the join history's", async () => {
      const room = `unarchived@${server.mucDomain}`;
      const owner = await login("owner", "o2");
      await owner.join(room, "owner");
      await configure(owner, room, false);
      const bot = await login("ttrelay", "b2");
      await bot.join(room, "ttrelay");
      assert.deepEqual(await archiveOffer(wireOf(bot), room), { known: true, archive: false });
      const recognition = new ArchiveRecognition({ wire: () => wireOf(bot), pending: () => [entry("x", room, new Date().toISOString())], recognised: () => assert.fail("nothing to recognise"), historyWindow: 20, log: captureLogger().log });
      await recognition.beforeJoined(room, "ttrelay");
      assert.equal(recognition.windowFor(room), 20);
    });

    /** The bot posts `count` messages into a new archived room; a new session of it has joined. */
    const archivedRoomWithPosts = async (name: string, count: number): Promise<{ room: string; again: Watcher }> => {
      const room = `${name}@${server.mucDomain}`;
      const bot = await login("ttrelay", `${name}-old`);
      await bot.join(room, "ttrelay");
      await configure(bot, room, true);
      for (let i = 0; i < count; i++) await bot.send(roomMessage({ room, id: `${name}-${i}`, body: `${name} ${i}` }));
      await bot.waitFor((m) => m.body === `${name} ${count - 1}`, 10_000, "the last post");
      const again = await login("ttrelay", `${name}-new`);
      await again.join(room, "ttrelay");
      return { room, again };
    };
    const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

    // A server busy after a restart (here: stopped with SIGSTOP) does not answer the archive query.
    // Sending the unconfirmed messages then could post twice what the archive would have shown.
    void test("an archive that does not answer holds the room's unconfirmed messages until it does, then recognises them", async () => {
      const { room, again } = await archivedRoomWithPosts("held", 30);
      const since = new Date(Date.now() - 60_000).toISOString();
      const pending = [entry("held-2", room, since), entry("held-27", room, since), entry("held-never-sent", room, since)];
      const recognised: IncomingRoomMessage[] = [];
      const settled: string[] = [];
      const logs = captureLogger();
      const recognition = new ArchiveRecognition({ wire: () => wireOf(again), pending: () => pending, recognised: (m) => recognised.push(m), settled: (r) => settled.push(r), historyWindow: 20, log: logs.log, read: { timeoutMs: 1_000 }, attempts: 1, doubt: { retryMs: 300, retryMaxMs: 600, limitMs: 60_000 } });
      process.kill(server.pid, "SIGSTOP");
      try {
        await recognition.beforeJoined(room, "ttrelay");
        assert.equal(recognition.windowFor(room), 0, "nothing goes out while the archive is in doubt");
        assert.ok(logs.find("room archive did not answer: holding the room's messages (those queued may have been posted before a restart) and asking again", { room, pending: 3 }));
        assert.equal(recognition.isHeld(room), true);
        await sleep(2_500);
        assert.equal(recognition.windowFor(room), 0, "still held");
        assert.deepEqual(settled, []);
      } finally {
        process.kill(server.pid, "SIGCONT");
      }
      for (let i = 0; i < 400 && settled.length === 0; i++) await sleep(50);
      assert.deepEqual(settled, [room]);
      assert.deepEqual(recognised.map((m) => m.originId), ["held-2", "held-27"], "recognised once the archive answers");
      assert.equal(recognition.windowFor(room), ARCHIVE_WINDOW);
      assert.ok(logs.find("room archive answered: the room's held messages go on", { room, archive: true }));
      recognition.stop();
    });

    void test("an archive that never answers holds the messages only for the limit, then falls back to the join history, loudly", async () => {
      const { room, again } = await archivedRoomWithPosts("silent", 3);
      const pending = [entry("silent-1", room, new Date().toISOString())];
      const settled: string[] = [];
      const logs = captureLogger();
      const recognition = new ArchiveRecognition({ wire: () => wireOf(again), pending: () => pending, recognised: () => undefined, settled: (r) => settled.push(r), historyWindow: 20, log: logs.log, read: { timeoutMs: 300 }, attempts: 1, doubt: { retryMs: 200, retryMaxMs: 400, limitMs: 1_500 } });
      process.kill(server.pid, "SIGSTOP");
      try {
        await recognition.beforeJoined(room, "ttrelay");
        assert.equal(recognition.windowFor(room), 0);
        for (let i = 0; i < 100 && settled.length === 0; i++) await sleep(50);
      } finally {
        process.kill(server.pid, "SIGCONT");
      }
      assert.deepEqual(settled, [room], "released after the limit");
      assert.equal(recognition.windowFor(room), 20, "the join history's window");
      assert.ok(logs.find("room archive could not be read: own posts are recognised from the join history only, and messages beyond it may be sent twice", { room }));
      recognition.stop();
    });

    void test("with signed origin-ids, the bot's posts are found under a stand-in nick too, and a forged id under its own nick is not one of them", async () => {
      const room = `signed@${server.mucDomain}`;
      const key = newOriginKey();
      const since = new Date(Date.now() - 60_000);
      const bot = await login("ttrelay", "signed-old");
      await bot.join(room, "ttrelay");
      await configure(bot, room, true);
      const standIn = await login("ttrelay", "signed-standin");
      await standIn.join(room, "ttrelay_");
      // Each echoed before the next is sent: two connections' messages may otherwise be archived in
      // either order (ejabberd runs each session on its own).
      await bot.send(roomMessage({ room, id: "e-1", body: "one", originId: signOriginId(key, "e-1") }));
      await bot.waitFor((m) => m.body === "one", 10_000, "the first post");
      await standIn.send(roomMessage({ room, id: "e-2", body: "two", originId: signOriginId(key, "e-2") }));
      await bot.waitFor((m) => m.body === "two", 10_000, "the stand-in's post");
      await bot.send(roomMessage({ room, id: "e-3", body: "forged", originId: "e-3.AAAAAAAAAAAAAAAAAAAAAA" }));
      await bot.waitFor((m) => m.body === "forged", 10_000, "the last post");
      const again = await login("ttrelay", "signed-new");
      await again.join(room, "ttrelay");
      const read = await postsInArchive({ ...wireOf(again), ownPost: (o) => verifyOriginId(key, o) }, room, "ttrelay", since);
      assert.ok(read.ok, read.ok ? "" : read.error.reason);
      assert.deepEqual(read.value.map((m) => [m.originId, m.nick]), [["e-1", "ttrelay"], ["e-2", "ttrelay_"]], "signed ones, by their outbox id");
    });
  });
}
