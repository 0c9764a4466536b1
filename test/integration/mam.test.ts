// The bot's own posts in a room's archive (XEP-0313) on a real Prosody (mod_muc_mam): more than the
// join history holds and more than one page, found by origin-id; a room with archiving off has none.
import { test, after, before } from "node:test";
import assert from "node:assert/strict";
import { xml } from "@xmpp/client";
import type { Element } from "@xmpp/xml";
import { prosodyAvailable, startProsody, type ProsodyInstance } from "../../src/demo/prosody.js";
import { startWatcher, type Watcher } from "../../src/demo/watcher.js";
import type { OutboxEntry } from "../../src/store/types.js";
import { ARCHIVE_WINDOW, ArchiveRecognition, postsInArchive, roomHasArchive, type StanzaWire } from "../../src/xmpp/mam.js";
import { NS, roomMessage, type IncomingRoomMessage } from "../../src/xmpp/stanzas.js";
import { captureLogger } from "../helpers/log-capture.js";

assert.ok(await prosodyAvailable(), "prosody is not installed");

let prosody: ProsodyInstance;
const watchers: Watcher[] = [];
before(async () => {
  prosody = await startProsody({ domain: "mam.test" });
  await prosody.register("ttrelay", "pw");
  await prosody.register("owner", "pw");
});
after(async () => {
  for (const w of watchers) await w.stop();
  await prosody.stop();
});

const login = async (user: string, resource: string): Promise<Watcher> => {
  const w = await startWatcher({ service: prosody.service, domain: prosody.domain, username: user, password: "pw", resource });
  watchers.push(w);
  return w;
};
const wireOf = (w: Watcher): StanzaWire => ({
  request: (iq) => w.iq(iq),
  listen: (listener) => {
    w.client.on("stanza", listener);
    return () => void w.client.off("stanza", listener);
  },
});
const entry = (id: string, room: string, createdAt: string): OutboxEntry => ({ id, room, body: id, createdAt, attempts: 0 });

/** An owner's room configuration with archiving off (Prosody's mod_muc_mam field, XEP-0045 §10.1.3). */
const archivingOff = (room: string): Element =>
  xml(
    "iq",
    { type: "set", to: room, id: "cfg-off" },
    xml(
      "query",
      { xmlns: NS.mucOwner },
      xml(
        "x",
        { xmlns: NS.dataForms, type: "submit" },
        xml("field", { var: "FORM_TYPE" }, xml("value", {}, "http://jabber.org/protocol/muc#roomconfig")),
        xml("field", { var: "muc#roomconfig_persistentroom" }, xml("value", {}, "1")),
        xml("field", { var: "muc#roomconfig_enablearchiving" }, xml("value", {}, "0")),
      ),
    ),
  );

void test("70 own posts (more than the join history and one archive page) are all found by origin-id; others' posts are not ours", async () => {
  const room = `archived@${prosody.mucDomain}`;
  const since = new Date(Date.now() - 60_000);
  const bot = await login("ttrelay", "old");
  await bot.join(room, "ttrelay");
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
  assert.equal(await roomHasArchive(wireOf(again), room), true);
  const read = await postsInArchive(wireOf(again), room, "ttrelay", since);
  assert.ok(read.ok, read.ok ? "" : read.error);
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
  const room = `unarchived@${prosody.mucDomain}`;
  const owner = await login("owner", "o2");
  await owner.join(room, "owner");
  await owner.iq(archivingOff(room));
  const bot = await login("ttrelay", "b2");
  await bot.join(room, "ttrelay");
  assert.equal(await roomHasArchive(wireOf(bot), room), false);
  const recognition = new ArchiveRecognition({ wire: () => wireOf(bot), pending: () => [entry("x", room, new Date().toISOString())], recognised: () => assert.fail("nothing to recognise"), historyWindow: 20, log: captureLogger().log });
  await recognition.beforeJoined(room, "ttrelay");
  assert.equal(recognition.windowFor(room), 20);
});
