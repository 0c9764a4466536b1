// Ad-hoc commands (XEP-0050) the way Gajim reaches them, on real servers: from a room's participant
// list (the request goes to the bot's occupant JID and comes from the user's occupant JID) and from
// the contact list (after a presence subscription, through the full JID and caps the bot
// publishes). Nobody is ever the room: an outsider in a semi-anonymous room whose room JID matches
// an ACL pattern gets nothing.
import { describe, test, after, before } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { xml } from "@xmpp/client";
import type { Element } from "@xmpp/xml";
import { ConfigSchema, type Config } from "../../config/schema.js";
import { startFeedServer, type FeedServer } from "../../src/demo/feed-server.js";
import { startWatcher, type Watcher } from "../../src/demo/watcher.js";
import { startBot, type RunningBot } from "../../src/main.js";
import { CAPS_NODE, capsVer } from "../../src/xmpp/caps.js";
import { attr, readDiscoInfo } from "../../src/xmpp/stanzas.js";
import { rssFeed } from "../fixtures/feeds.js";
import { examplenetMapping } from "../helpers/bot-config.js";
import { captureLogger } from "../helpers/log-capture.js";
import { startXmppServer, xmppServers, type XmppServer } from "../support/xmpp-server.js";

process.env.TTRELAY_ADHOC_PASSWORD = "adhoc-bot";
const NS_CMD = "http://jabber.org/protocol/commands";
const NS_ITEMS = "http://jabber.org/protocol/disco#items";
const NS_INFO = "http://jabber.org/protocol/disco#info";

/** The first stanza that matches, from now on. */
function nextStanza(c: Watcher, what: string, match: (s: Element) => boolean, timeoutMs = 10_000): Promise<Element> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      c.client.off("stanza", listener);
      reject(new Error(`timed out waiting for ${what}`));
    }, timeoutMs);
    const listener = (s: Element): void => {
      if (!match(s)) return;
      clearTimeout(timer);
      c.client.off("stanza", listener);
      resolve(s);
    };
    c.client.on("stanza", listener);
  });
}

/** An iq's error condition, or "result". */
async function outcome(p: Promise<Element>): Promise<string> {
  try {
    await p;
    return "result";
  } catch (e) {
    const condition = (e as { condition?: unknown }).condition;
    return typeof condition === "string" ? condition : (e as Error).message;
  }
}

const field = (name: string, value: string): Element => xml("field", { var: name }, xml("value", {}, value));
/** A form's fields as [var, type, default value]. */
const fieldsOf = (form: Element | undefined): [string, string, string | null][] =>
  (form?.getChildren("field") ?? []).map((f) => [String(f.attrs.var), String(f.attrs.type), f.getChildText("value")]);

for (const kind of await xmppServers()) {
  void describe(kind, () => {
    let server: XmppServer;
    let feeds: FeedServer;
    let dir: string;
    let bot: RunningBot | undefined;
    const clients: Watcher[] = [];
    let config: Config;
    let nocRoom: string;
    let customerRoom: string;

    before(async () => {
      server = await startXmppServer(kind, { domain: "noc.test" });
      for (const [user, pw] of [["ttrelay", "adhoc-bot"], ["alice", "alice-pw"], ["mallory", "mallory-pw"], ["customer", "customer-pw"]] as const) await server.register(user, pw);
      feeds = await startFeedServer();
      dir = await mkdtemp(join(tmpdir(), "ttrelay-adhoc-"));
      nocRoom = `noc@${server.mucDomain}`;
      customerRoom = `ip-transit@${server.mucDomain}`;
      feeds.set("/f.rss", { body: rssFeed([{ id: 1 }, { id: 2 }]) });
      config = ConfigSchema.parse({
        noc: { id: "EXN", name: "ExampleNet NOC" },
        xmpp: { jid: `ttrelay@${server.domain}`, password: { env: "TTRELAY_ADHOC_PASSWORD" }, service: server.service, nick: "ttrelay" },
        rooms: [{ jid: nocRoom }, { jid: customerRoom, readOnly: true, members: [`alice@${server.domain}`] }],
        feeds: [{ id: "exn", url: feeds.url("/f.rss"), partnerId: "EXN", mapping: examplenetMapping }],
        routes: [{ rooms: [nocRoom, customerRoom] }],
        store: { path: join(dir, "store.json") },
        // `*@*.noc.test` is meant for engineers on subdomains; it also matches every room JID on
        // conference.noc.test, which must never count as a person.
        acl: { engineers: [`alice@${server.domain}`, "*@*.noc.test"], customers: [`customer@${server.domain}`] },
      });
      bot = await startBot(config, { log: captureLogger().log, startPolling: false });
      await bot.ready;
      await bot.pollNow("exn");
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
      // As every contact-list client does: a resource that asked for the roster is "interested"
      // and gets subscription answers (RFC 6121 §2.1.6, §3.1.6).
      await c.iq(xml("iq", { type: "get" }, xml("query", { xmlns: "jabber:iq:roster" })));
      return c;
    }
    const commandList = (c: Watcher, to: string): Promise<Element> => c.iq(xml("iq", { type: "get", to }, xml("query", { xmlns: NS_ITEMS, node: NS_CMD })));
    const execute = (c: Watcher, to: string, node: string): Promise<Element> => c.iq(xml("iq", { type: "set", to }, xml("command", { xmlns: NS_CMD, node, action: "execute" })));
    const complete = (c: Watcher, to: string, node: string, sessionid: string, fields: Element[]): Promise<Element> =>
      c.iq(xml("iq", { type: "set", to }, xml("command", { xmlns: NS_CMD, node, sessionid, action: "complete" }, xml("x", { xmlns: "jabber:x:data", type: "submit" }, ...fields))));
    const items = (iq: Element): { jid: string; node: string }[] => (iq.getChild("query")?.getChildren("item") ?? []).map((i) => ({ jid: String(i.attrs.jid), node: String(i.attrs.node) }));
    const audit = async (): Promise<string[]> =>
      (await readFile(join(dir, "store.json.audit.jsonl"), "utf8").catch(() => ""))
        .trim()
        .split("\n")
        .filter((l) => l !== "")
        .map((l) => JSON.parse(l) as Record<string, unknown>)
        .map((a) => `${String(a.actor)} ${String(a.via)} ${String(a.command)} ${String(a.outcome)}`);

    void test("from a room's participant list: commands run as the occupant's real JID; an outsider gets nothing", { timeout: 60_000 }, async () => {
      const alice = await login("alice", "alice-pw", "gajim");
      await alice.join(nocRoom, "alice");
      const botOccupant = `${nocRoom}/ttrelay`;
      const listed = items(await commandList(alice, botOccupant));
      assert.ok(listed.length >= 11, `commands listed through the room: ${JSON.stringify(listed)}`);
      assert.ok(
        listed.every((i) => i.jid === botOccupant),
        "listed under the bot's occupant JID, so the client keeps talking through the room",
      );
      const first = (await execute(alice, botOccupant, "ack")).getChild("command", NS_CMD);
      assert.equal(first?.attrs.status, "executing");
      const done = (await complete(alice, botOccupant, "ack", String(first?.attrs.sessionid), [field("ticket", "EXN_1"), field("note", "from the participant list")])).getChild("command", NS_CMD);
      assert.equal(done?.attrs.status, "completed");
      assert.equal(done?.getChild("note")?.attrs.type, "info", done?.toString());
      assert.equal(done?.getChildText("note"), `EXN_1 acknowledged by alice@${server.domain}.`, "a note is plain text: no *bold*");
      // A room setting is offered through the room, its form starting at the room's setting.
      assert.ok(listed.some((i) => i.node === "updates"), "updates offered through the room");
      const updatesForm = (await execute(alice, botOccupant, "updates")).getChild("command", NS_CMD)?.getChild("x", "jabber:x:data");
      assert.deepEqual(fieldsOf(updatesForm), [["choice", "list-single", "compact"]]);
      // The close form: the outcome starts at "closed" (what a bare close does), the reason is one line.
      const closeForm = (await execute(alice, botOccupant, "close")).getChild("command", NS_CMD)?.getChild("x", "jabber:x:data");
      assert.deepEqual(fieldsOf(closeForm), [
        ["ticket", "text-single", null],
        ["outcome", "list-single", "closed"],
        ["master", "text-single", null],
        ["reason", "text-single", null],
      ]);
      assert.match(bot?.store.ticket("EXN_1")?.ticket.History ?? "", new RegExp(`alice@noc\\.test.*from the participant list`));

      // Mallory is nobody in the ACL. In the semi-anonymous customers' room his request comes from
      // ip-transit@conference.noc.test/mallory, whose bare JID matches `*@*.noc.test`.
      const mallory = await login("mallory", "mallory-pw", "gajim");
      await mallory.join(customerRoom, "mallory");
      const viaCustomers = `${customerRoom}/ttrelay`;
      assert.deepEqual(items(await commandList(mallory, viaCustomers)), [], "nothing listed for him");
      assert.equal(await outcome(execute(mallory, viaCustomers, "close")), "forbidden", "refused at the first step");
      assert.equal(
        await outcome(complete(mallory, viaCustomers, "close", "forged", [field("ticket", "EXN_2"), field("outcome", "solved")])),
        "forbidden",
        "a forged second step too",
      );
      assert.equal(bot?.store.ticket("EXN_2")?.ticket.TT_Status, "Opened", "nothing changed");
      // His private message through the room is his own, not the room's.
      await mallory.send(xml("message", { to: viaCustomers, type: "chat" }, xml("body", {}, "close EXN_2 solved")));
      await new Promise((r) => setTimeout(r, 500));
      assert.equal(bot?.store.ticket("EXN_2")?.ticket.TT_Status, "Opened");
      assert.deepEqual(await audit(), [`alice@${server.domain} adhoc ack accepted`, `mallory@${server.domain} muc-private close refused`]);
    });

    void test("from the contact list: subscriptions from people the ACL knows are accepted, caps name the commands; customers see and run only theirs", { timeout: 60_000 }, async () => {
      const botBare = `ttrelay@${server.domain}`;
      const alice = await login("alice", "alice-pw", "contacts");
      const subscribed = nextStanza(alice, "the bot's approval", (s) => s.is("presence") && attr(s, "type") === "subscribed" && attr(s, "from") === botBare);
      const askedBack = nextStanza(alice, "the bot's own subscription request", (s) => s.is("presence") && attr(s, "type") === "subscribe" && attr(s, "from") === botBare);
      const online = nextStanza(alice, "the bot's presence", (s) => s.is("presence") && attr(s, "type") === undefined && (attr(s, "from") ?? "").startsWith(`${botBare}/`));
      await alice.send(xml("presence", { to: botBare, type: "subscribe" }));
      await subscribed;
      await askedBack;
      await alice.send(xml("presence", { to: botBare, type: "subscribed" }));
      const presence = await online;
      const full = String(presence.attrs.from);
      const c = presence.getChild("c", "http://jabber.org/protocol/caps");
      assert.equal(c?.attrs.node, CAPS_NODE);
      assert.equal(c?.attrs.hash, "sha-1");

      // The caps hash is the hash of what disco#info says (XEP-0115 §5.1), asked the way clients do.
      const info = readDiscoInfo(await alice.iq(xml("iq", { type: "get", to: full }, xml("query", { xmlns: NS_INFO, node: `${CAPS_NODE}#${String(c?.attrs.ver)}` }))));
      assert.equal(capsVer(info.identities.map((i) => ({ category: i.category, type: i.type, name: i.name ?? "" })), info.features), c?.attrs.ver);
      for (const feature of ["urn:xmpp:reply:0", NS_CMD, "jabber:x:data", "urn:xmpp:json:0", "urn:xmpp:styling:0", "urn:xmpp:ping"]) assert.ok(info.features.includes(feature), `disco#info names ${feature}`);

      const listed = items(await commandList(alice, full));
      assert.ok(listed.some((i) => i.node === "close") && listed.every((i) => i.jid === full));
      // A room setting is not offered on the bot's own JID, and asked anyway it says where it works.
      assert.ok(!listed.some((i) => i.node === "updates"), "updates not offered on the bot's own JID");
      const elsewhere = (await execute(alice, full, "updates")).getChild("command", NS_CMD);
      assert.equal(elsewhere?.attrs.status, "completed");
      assert.equal(elsewhere?.getChild("note")?.attrs.type, "error");
      assert.match(elsewhere?.getChildText("note") ?? "", /^“updates” is set per room: say !updates in the room it is for, or open my commands from that room's participant list\.$/);

      // A stranger is refused; a customer accepted, and sees exactly the read-only commands.
      const mallory = await login("mallory", "mallory-pw", "contacts");
      const refused = nextStanza(mallory, "the refusal", (s) => s.is("presence") && attr(s, "type") === "unsubscribed" && attr(s, "from") === botBare);
      await mallory.send(xml("presence", { to: botBare, type: "subscribe" }));
      await refused;
      const customer = await login("customer", "customer-pw", "contacts");
      const approved = nextStanza(customer, "the approval", (s) => s.is("presence") && attr(s, "type") === "subscribed" && attr(s, "from") === botBare);
      await customer.send(xml("presence", { to: botBare, type: "subscribe" }));
      await approved;
      assert.deepEqual(items(await commandList(customer, full)).map((i) => i.node).sort(), ["help", "list", "show", "status"]);
      assert.equal(await outcome(execute(customer, full, "close")), "forbidden", "refused at the first step, before any form");
      const first = (await execute(customer, full, "show")).getChild("command", NS_CMD);
      const shownTicket = (await complete(customer, full, "show", String(first?.attrs.sessionid), [field("ticket", "EXN_2")])).getChild("command", NS_CMD);
      assert.match(shownTicket?.getChildText("note") ?? "", /EXN_2/);

      // Restarted with the customer out of the ACL: their subscription to the bot is revoked.
      await bot?.stop();
      const revoked = nextStanza(customer, "the revocation", (s) => s.is("presence") && attr(s, "type") === "unsubscribed" && attr(s, "from") === botBare, 20_000);
      bot = await startBot({ ...config, acl: { ...config.acl, customers: [] } }, { log: captureLogger().log, startPolling: false });
      await bot.ready;
      await revoked;
    });
  });
}
