// Chat commands against a real Prosody: an engineer acks, updates and closes a ticket from the NOC
// room and every room of the ticket shows it; a customer reads as a visitor in a read-only room, gets
// `status` by direct message and is refused `close`; a nickname does not make anyone an engineer.
import { describe, test, after, before } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { xml } from "@xmpp/client";
import type { Element } from "@xmpp/xml";
import { ConfigSchema } from "../../config/schema.js";
import { startFeedServer, type FeedServer } from "../../src/demo/feed-server.js";
import { startWatcher, type SeenMessage, type Watcher } from "../../src/demo/watcher.js";
import { startBot, type RunningBot } from "../../src/main.js";
import { TicketActivitySchema } from "../../src/model/activity.js";
import { attr } from "../../src/xmpp/stanzas.js";
import { rssFeed } from "../fixtures/feeds.js";
import { examplenetMapping } from "../helpers/bot-config.js";
import { captureLogger } from "../helpers/log-capture.js";
import { shown } from "../helpers/messages.js";
import { startXmppServer, xmppServers, type XmppServer } from "../support/xmpp-server.js";

process.env.TTRELAY_CMD_PASSWORD = "cmd-bot";

for (const kind of await xmppServers()) {
  void describe(kind, () => {
    let server: XmppServer;
    let feeds: FeedServer;
    let dir: string;
    let bot: RunningBot | undefined;
    const clients: Watcher[] = [];

    before(async () => {
      server = await startXmppServer(kind, { domain: "noc.test" });
      for (const [user, pw] of [["ttrelay", "cmd-bot"], ["alice", "alice-pw"], ["mallory", "mallory-pw"], ["customer", "customer-pw"]] as const) await server.register(user, pw);
      feeds = await startFeedServer();
      dir = await mkdtemp(join(tmpdir(), "ttrelay-cmd-"));
    });

    after(async () => {
      await bot?.stop();
      for (const c of clients) await c.stop();
      await feeds?.close();
      await server?.stop();
      if (dir) await rm(dir, { recursive: true, force: true });
    });

    async function login(user: string, password: string, resource: string): Promise<Watcher> {
      const c = await startWatcher({ service: server.service, domain: server.domain, username: user, password, resource });
      clients.push(c);
      return c;
    }

    const say = (c: Watcher, room: string, body: string): Promise<void> => c.send(xml("message", { to: room, type: "groupchat" }, xml("body", {}, body)));

    /** Direct messages the client received from the bot. */
    function directReplies(c: Watcher): { body: string }[] {
      const out: { body: string }[] = [];
      c.client.on("stanza", (s: Element) => {
        if (s.is("message") && attr(s, "type") === "chat" && (attr(s, "from") ?? "").startsWith(`ttrelay@${server.domain}`)) out.push({ body: s.getChildText("body") ?? "" });
      });
      return out;
    }

    async function until<T>(what: string, probe: () => T | undefined, timeoutMs = 10_000): Promise<T> {
      const end = Date.now() + timeoutMs;
      for (;;) {
        const v = probe();
        if (v !== undefined) return v;
        if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    }

    void test("engineers work a ticket from the room; customers read; nicknames grant nothing", { timeout: 90_000 }, async () => {
      const nocRoom = `noc@${server.mucDomain}`;
      const customerRoom = `ip-transit@${server.mucDomain}`;
      const alice = `alice@${server.domain}`;
      feeds.set("/f.rss", { body: rssFeed([{ id: 1 }]) });
      const config = ConfigSchema.parse({
        noc: { id: "EXN", name: "ExampleNet NOC" },
        xmpp: { jid: `ttrelay@${server.domain}`, password: { env: "TTRELAY_CMD_PASSWORD" }, service: server.service, nick: "ttrelay" },
        rooms: [{ jid: nocRoom }, { jid: customerRoom, readOnly: true, members: [alice], name: "IP transit (customers)" }],
        feeds: [{ id: "exn", url: feeds.url("/f.rss"), partnerId: "EXN", mapping: examplenetMapping }],
        routes: [{ rooms: [nocRoom, customerRoom] }],
        store: { path: join(dir, "store.json") },
        acl: { engineers: [alice], customers: [`customer@${server.domain}`] },
      });
      const logs = captureLogger();
      bot = await startBot(config, { log: logs.log, startPolling: false });
      await bot.ready;

      const engineer = await login("alice", "alice-pw", "gajim");
      await engineer.join(nocRoom, "alice");
      const customer = await login("customer", "customer-pw", "dino");
      const customerDm = directReplies(customer);
      await customer.join(customerRoom, "customer");

      await bot.pollNow("exn");
      feeds.set("/f.rss", { body: rssFeed([{ id: 70, title: "Fibre cut", circuits: "EXN-C-70" }, { id: 1 }]) });
      await bot.pollNow("exn");
      await engineer.waitFor((m) => !m.delayed && shown(m).startsWith("*EXN_70* new"), 10_000, "EXN_70 in the NOC room");
      await customer.waitFor((m) => !m.delayed && shown(m).startsWith("*EXN_70* new"), 10_000, "EXN_70 in the customer room");

      const fromBot = (c: Watcher, re: RegExp) => (m: SeenMessage): boolean => !m.delayed && m.nick === "ttrelay" && re.test(m.body ?? "");

      // !ack: the reply comes back in the room, and both rooms show the change with Alice as actor.
      await say(engineer, nocRoom, "!ack EXN_70 looking at it");
      await engineer.waitFor(fromBot(engineer, /^alice: /), 10_000, "the reply to !ack");
      const acked = await customer.waitFor(fromBot(customer, /^\*EXN_70\* Opened · engineers: alice@noc\.test\nHistory: /), 10_000, "the ack in the customer room (a compact update)");
      const ackActivity = TicketActivitySchema.parse(JSON.parse(acked.json ?? "null"));
      assert.equal(ackActivity.type, "Update");
      assert.equal(ackActivity.actor.type, "Person");
      assert.equal(ackActivity.actor.id, `xmpp:${alice}`);
      assert.match(ackActivity.object["nttdm:ticket"].History, /alice@noc\.test/);

      // The same ack again: a short reply, and nothing new in either room.
      // Posts only (a message with a body): the bot may change the room's subject at any time.
      const botPosts = (): SeenMessage[] => customer.messages.filter((m) => !m.delayed && m.nick === "ttrelay" && m.body !== undefined);
      const postsBefore = botPosts().length;
      await say(engineer, nocRoom, "!ack 70");
      await engineer.waitFor(fromBot(engineer, /^alice: \*EXN_70\* is already acknowledged by you at \d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC; nothing changed\.$/), 10_000, "the reply to the repeated ack");
      // A typo of a command is answered in the room (an unknown word is not: it may be another bot's).
      await say(engineer, nocRoom, "!weather Athens");
      await say(engineer, nocRoom, "!stauts");
      await engineer.waitFor(fromBot(engineer, /^alice: Unknown command “stauts”\. Did you mean !status\? Try !help for the list\.$/), 10_000, "the did-you-mean");
      assert.equal(engineer.messages.filter((m) => !m.delayed && m.nick === "ttrelay" && /weather/.test(m.body ?? "")).length, 0, "another bot's command is not answered");
      assert.deepEqual(
        botPosts()
          .slice(postsBefore)
          .map((m) => m.stanza.toString()),
        [],
        "no new post for the repeat",
      );

      // //update (the form Gajim, Poezio and Profanity send as "/update") with a short id.
      await say(engineer, nocRoom, "//update 70 carrier crew on site");
      await customer.waitFor(fromBot(customer, /^\*EXN_70\* Updated · status Opened → Updated\nHistory: /), 10_000, "the update in the customer room");

      // "ttrelay: close …" addressed by nickname.
      await say(engineer, nocRoom, "ttrelay: close EXN_70 solved fibre spliced");
      const closed = await customer.waitFor(fromBot(customer, /^\*EXN_70\* Solved · status Updated → Solved · end: [^\n]*\nHistory: /), 10_000, "the close in the customer room");
      assert.equal(TicketActivitySchema.parse(JSON.parse(closed.json ?? "null")).object["nttdm:ticket"].TT_Status, "Solved");
      assert.equal(bot.store.ticket("EXN_70")?.ticket.TT_Status, "Solved");

      // The customer is a visitor in the read-only room: their message is refused by the room itself.
      const refusal = new Promise<string>((resolve) => {
        customer.client.on("stanza", (s: Element) => {
          if (s.is("message") && attr(s, "type") === "error") resolve(s.getChild("error")?.getChildElements()[0]?.getName() ?? "?");
        });
      });
      await say(customer, customerRoom, "hello?");
      assert.equal(await refusal, "forbidden");

      // Read-only commands by direct message work; changing commands are refused politely.
      await customer.send(xml("message", { to: `ttrelay@${server.domain}`, type: "chat" }, xml("body", {}, "status IP transit")));
      await until("the status reply", () => customerDm.find((r) => /EXN_70/.test(r.body))).catch((e: unknown) => {
        throw new Error(`${String(e)}; dm=${JSON.stringify(customerDm)}; log=${JSON.stringify(logs.lines.filter((l) => l.msg === "chat command"))}`);
      });
      await customer.send(xml("message", { to: `ttrelay@${server.domain}`, type: "chat" }, xml("body", {}, "close EXN_70 cancelled")));
      const refused = await until("the refusal", () => customerDm.find((r) => /sorry|not allowed|can't|cannot/i.test(r.body) && !/EXN_70 ·/.test(r.body)));
      assert.ok(refused);
      assert.equal(bot.store.ticket("EXN_70")?.ticket.TT_Status, "Solved", "nothing changed");

      // A MUC private message to the bot (XEP-0045 §7.5) is answered privately, through the room.
      const privateReply = new Promise<string>((resolve) => {
        engineer.client.on("stanza", (s: Element) => {
          if (s.is("message") && attr(s, "type") === "chat" && attr(s, "from") === `${nocRoom}/ttrelay`) resolve(s.getChildText("body") ?? "");
        });
      });
      await engineer.send(xml("message", { to: `${nocRoom}/ttrelay`, type: "chat" }, xml("body", {}, "show EXN_70")));
      assert.match(await privateReply, /EXN_70/);

      // Mallory takes the nickname "alice" after Alice leaves: the real JID decides, not the nick.
      await engineer.send(xml("presence", { to: `${nocRoom}/alice`, type: "unavailable" }));
      await new Promise((r) => setTimeout(r, 300));
      const mallory = await login("mallory", "mallory-pw", "spoof");
      await mallory.join(nocRoom, "alice");
      await say(mallory, nocRoom, "!reopen EXN_70 because I can");
      await mallory.waitFor(fromBot(mallory, /^alice: .*(not allowed|sorry|only)/i), 10_000, "the refusal to the spoofed nick");
      assert.equal(bot.store.ticket("EXN_70")?.ticket.TT_Status, "Solved", "the spoofed nick changed nothing");

      // XEP-0050: the commands are listed through service discovery and run as forms (as Gajim does).
      const botFull = `ttrelay@${server.domain}/ttrelay`;
      const items = await engineer.iq(xml("iq", { type: "get", to: botFull }, xml("query", { xmlns: "http://jabber.org/protocol/disco#items", node: "http://jabber.org/protocol/commands" })));
      const nodes = items.getChild("query")?.getChildren("item").map((i) => String(i.attrs.node)) ?? [];
      for (const n of ["ack", "update", "close", "reopen", "status", "show", "list", "link", "unlink", "assign", "help"]) assert.ok(nodes.includes(n), `ad-hoc command ${n} listed`);
      // A stranger is shown none (XEP-0050 §2.2: only what the requester may run).
      const strangerItems = await mallory.iq(xml("iq", { type: "get", to: botFull }, xml("query", { xmlns: "http://jabber.org/protocol/disco#items", node: "http://jabber.org/protocol/commands" })));
      assert.deepEqual(strangerItems.getChild("query")?.getChildren("item") ?? [], []);
      const NS_CMD = "http://jabber.org/protocol/commands";
      const first = await engineer.iq(xml("iq", { type: "set", to: botFull }, xml("command", { xmlns: NS_CMD, node: "ack", action: "execute" })));
      const cmd = first.getChild("command", NS_CMD);
      assert.equal(cmd?.attrs.status, "executing");
      const fields = cmd?.getChild("x", "jabber:x:data")?.getChildren("field").map((f) => String(f.attrs.var)) ?? [];
      assert.deepEqual(fields, ["ticket", "note"]);
      const field = (name: string, value: string): Element => xml("field", { var: name }, xml("value", {}, value));
      const done = await engineer.iq(
        xml(
          "iq",
          { type: "set", to: botFull },
          xml("command", { xmlns: NS_CMD, node: "ack", sessionid: String(cmd?.attrs.sessionid), action: "complete" }, xml("x", { xmlns: "jabber:x:data", type: "submit" }, field("ticket", "EXN_1"), field("note", "seen, via the form"))),
        ),
      );
      assert.equal(done.getChild("command", NS_CMD)?.attrs.status, "completed");
      assert.match(done.getChild("command", NS_CMD)?.getChildText("note") ?? "", /EXN_1/);
      assert.equal(done.getChild("command", NS_CMD)?.getChild("note")?.attrs.type, "info");
      assert.match(bot.store.ticket("EXN_1")?.ticket.History ?? "", /seen, via the form/);

      // Every accepted or refused command is in the audit log, with the real JID.
      await new Promise((r) => setTimeout(r, 300));
      const audit = (await readFile(join(dir, "store.json.audit.jsonl"), "utf8")).trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);
      const summary = audit.map((a) => `${String(a.actor)} ${String(a.command)} ${String(a.outcome)}`);
      assert.deepEqual(summary, [
        `${alice} ack accepted`,
        `${alice} ack accepted`,
        `${alice} weather ignored`,
        `${alice} stauts invalid`,
        `${alice} update accepted`,
        `${alice} close accepted`,
        `customer@${server.domain} status accepted`,
        `customer@${server.domain} close refused`,
        `${alice} show accepted`,
        `mallory@${server.domain} reopen refused`,
        `${alice} ack accepted`,
      ]);

      // After a restart the room's history replays the commands: none is executed again.
      await bot.stop();
      bot = await startBot(config, { log: captureLogger().log, startPolling: false });
      await bot.ready;
      await new Promise((r) => setTimeout(r, 1500));
      const after = (await readFile(join(dir, "store.json.audit.jsonl"), "utf8")).trim().split("\n");
      assert.equal(after.length, audit.length, "history replays are never commands");
    });
  });
}
