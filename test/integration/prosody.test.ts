// Integration tests for the throw-away Prosody launcher: real servers, real
// @xmpp/client logins, real MUC traffic (single server and federated pair).
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { client, xml } from "@xmpp/client";
import type { Client } from "@xmpp/client";
import { startFederatedPair } from "../support/federation.js";
import { prosodyAvailable, startProsody } from "../../src/demo/prosody.js";
import type { ProsodyInstance } from "../../src/demo/prosody.js";

type Element = ReturnType<typeof xml>;

const NS_MUC = "http://jabber.org/protocol/muc";
const NS_MUC_USER = "http://jabber.org/protocol/muc#user";
const NS_JSON = "urn:xmpp:json:0";
const NS_SID = "urn:xmpp:sid:0";
const NS_DELAY = "urn:xmpp:delay";
const STANZA_TIMEOUT_MS = 5_000;

// Integration tests need the real server: a missing Prosody fails loudly rather than skipping.
assert.ok(await prosodyAvailable(), "prosody is not installed: run `apt-get install -y prosody` (.ci/run does)");

const servers: ProsodyInstance[] = [];
const clients: Client[] = [];

/** ltx types attrs as `any`; narrow to the string we expect. */
function attr(el: Element, name: string): string | undefined {
  const value: unknown = el.attrs[name];
  return typeof value === "string" ? value : undefined;
}

/**
 * Resolve with the first stanza matching `pred`, reject after a timeout.
 * Must be called *before* sending whatever triggers the stanza, or it may be missed.
 * A predicate that throws rejects the wait (e.g. on an error presence).
 */
function waitForStanza(xmpp: Client, what: string, pred: (s: Element) => boolean): Promise<Element> {
  return new Promise<Element>((resolve, reject) => {
    const onStanza = (s: Element): void => {
      let matched: boolean;
      try {
        matched = pred(s);
      } catch (err) {
        cleanup();
        reject(err instanceof Error ? err : new Error(String(err)));
        return;
      }
      if (!matched) return;
      cleanup();
      resolve(s);
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`timed out after ${String(STANZA_TIMEOUT_MS)} ms waiting for ${what}`));
    }, STANZA_TIMEOUT_MS);
    const cleanup = (): void => {
      clearTimeout(timer);
      xmpp.off("stanza", onStanza);
    };
    xmpp.on("stanza", onStanza);
  });
}

async function login(server: ProsodyInstance, username: string, password: string): Promise<Client> {
  const xmpp = client({ service: server.service, domain: server.domain, username, password, resource: "test" });
  // Without a listener an 'error' event would crash the test process; start() rejects anyway.
  xmpp.on("error", () => undefined);
  clients.push(xmpp);
  await xmpp.start();
  return xmpp;
}

/**
 * Join a MUC room and wait for our own presence. The self-presence is the
 * one carrying muc#user status 110; it arrives after the presences of the
 * occupants already in the room, so once it is here we are fully joined.
 */
async function joinRoom(xmpp: Client, room: string, nick: string): Promise<Element> {
  const occupantJid = `${room}/${nick}`;
  const joined = waitForStanza(xmpp, `self-presence in ${room}`, (s) => {
    if (!s.is("presence") || attr(s, "from") !== occupantJid) return false;
    if (attr(s, "type") === "error") throw new Error(`join ${occupantJid} failed: ${s.toString()}`);
    const x = s.getChild("x", NS_MUC_USER);
    return x?.getChildren("status").some((st) => attr(st, "code") === "110") ?? false;
  });
  await xmpp.send(xml("presence", { to: occupantJid }, xml("x", { xmlns: NS_MUC })));
  return joined;
}

/** A groupchat message from `from` with this body, live (not replayed room history). */
function liveGroupchat(room: string, body: string) {
  return (s: Element): boolean =>
    s.is("message") &&
    attr(s, "type") === "groupchat" &&
    (attr(s, "from") ?? "").startsWith(`${room}/`) &&
    s.getChildText("body") === body &&
    s.getChild("delay", NS_DELAY) === undefined;
}

after(async () => {
  // Offline first so servers aren't left with half-closed streams, then stop the servers.
  await Promise.allSettled(clients.map((c) => c.stop()));
  await Promise.allSettled(servers.map((s) => s.stop()));
});

void test("single server: two users exchange a groupchat message with a JSON payload", { timeout: 30_000 }, async () => {
  const server = await startProsody({ domain: "noc-a.test" });
  servers.push(server);
  await server.register("alice", "alice-pw");
  await server.register("bob", "bob-pw");

  const [alice, bob] = await Promise.all([login(server, "alice", "alice-pw"), login(server, "bob", "bob-pw")]);

  const room = `room@${server.mucDomain}`;
  const aliceJoin = await joinRoom(alice, room, "alice");
  // The first joiner creates the room: status 201 marks a new room.
  const created = aliceJoin
    .getChild("x", NS_MUC_USER)
    ?.getChildren("status")
    .some((st) => attr(st, "code") === "201");
  assert.equal(created, true, "alice's join should create the room");
  await joinRoom(bob, room, "bob");

  const payload = { kind: "Create", ticket: { id: "TT-1", note: "<b>&amp; \"quoted\"</b>" }, n: [1, 2.5, null] };
  const body = "ticket TT-1 opened";
  const received = waitForStanza(bob, "alice's groupchat message", liveGroupchat(room, body));
  const echoed = waitForStanza(alice, "echo of alice's own message", liveGroupchat(room, body));
  await alice.send(
    xml(
      "message",
      { to: room, type: "groupchat", id: "msg-1" },
      xml("body", {}, body),
      xml("json", { xmlns: NS_JSON }, JSON.stringify(payload)),
    ),
  );

  const msg = await received;
  assert.equal(attr(msg, "from"), `${room}/alice`);
  const json = msg.getChild("json", NS_JSON);
  assert.ok(json, "the <json/> payload must survive the MUC");
  assert.deepEqual(JSON.parse(json.getText()), payload);
  // muc_mam stamps every archived message with the room's stanza-id.
  const sid = msg.getChild("stanza-id", NS_SID);
  assert.ok(sid, "muc_mam should add a stanza-id");
  assert.equal(attr(sid, "by"), room);

  // The sender gets its own message reflected, with the same id (how a bot knows it was delivered).
  const echo = await echoed;
  assert.equal(attr(echo, "id"), "msg-1");
  assert.equal(echo.getChild("stanza-id", NS_SID)?.attrs.id, sid.attrs.id);
});

void test("federated pair: a user on A talks in a room on B's MUC", { timeout: 30_000 }, async () => {
  const [a, b] = await startFederatedPair("noc-a.test", "noc-b.test");
  servers.push(a, b);
  await a.register("alice", "alice-pw");
  await b.register("bob", "bob-pw");

  const [alice, bob] = await Promise.all([login(a, "alice", "alice-pw"), login(b, "bob", "bob-pw")]);

  // Alice (remote to B) creates the room on B's MUC over s2s; bob (local) joins it.
  const room = `noc@${b.mucDomain}`;
  await joinRoom(alice, room, "alice");
  await joinRoom(bob, room, "bob");

  const payload = { kind: "Update", ticket: { id: "TT-2" } };
  const body = "ticket TT-2 updated";
  const received = waitForStanza(bob, "alice's federated groupchat message", liveGroupchat(room, body));
  await alice.send(
    xml(
      "message",
      { to: room, type: "groupchat" },
      xml("body", {}, body),
      xml("json", { xmlns: NS_JSON }, JSON.stringify(payload)),
    ),
  );
  const msg = await received;
  assert.equal(attr(msg, "from"), `${room}/alice`);
  const json = msg.getChild("json", NS_JSON);
  assert.ok(json);
  assert.deepEqual(JSON.parse(json.getText()), payload);
});
