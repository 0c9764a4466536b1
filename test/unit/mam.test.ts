import { test } from "node:test";
import assert from "node:assert/strict";
import { parseElement as parse } from "../helpers/xml.js";
import type { Element } from "@xmpp/xml";
import StanzaError from "@xmpp/middleware/lib/StanzaError.js";
import { archiveQuery, isTransient, offersArchive, readArchived, readFin, roomInfoRequest } from "../../src/xmpp/mam.js";

const ROOM = "noc@conference.example.net";
const el = (s: string): Element => parse(s);

void test("the archive query: XEP-0313 §4.1.2 start field, RSM max and after (§4.3), to the room's bare JID", () => {
  assert.equal(
    archiveQuery(ROOM, "q1", "f27", new Date("2026-11-28T10:00:00.123Z"), undefined, 50).toString(),
    `<iq type="set" to="${ROOM}" id="q1"><query xmlns="urn:xmpp:mam:2" queryid="f27"><x xmlns="jabber:x:data" type="submit"><field var="FORM_TYPE" type="hidden"><value>urn:xmpp:mam:2</value></field><field var="start"><value>2026-11-28T10:00:00Z</value></field></x><set xmlns="http://jabber.org/protocol/rsm"><max>50</max></set></query></iq>`,
  );
  assert.match(archiveQuery(ROOM, "q2", "f28", new Date("2026-11-28T10:00:00Z"), "28482-98726", 50).toString(), /<set xmlns="http:\/\/jabber.org\/protocol\/rsm"><max>50<\/max><after>28482-98726<\/after><\/set>/);
  assert.equal(roomInfoRequest(ROOM, "d1").toString(), `<iq type="get" to="${ROOM}" id="d1"><query xmlns="http://jabber.org/protocol/disco#info"/></iq>`);
});

void test("offersArchive: the room's disco#info lists urn:xmpp:mam:2 (not the #extended feature alone)", () => {
  const info = (features: string[]): Element =>
    el(`<iq type="result" from="${ROOM}"><query xmlns="http://jabber.org/protocol/disco#info"><identity category="conference" type="text"/>${features.map((f) => `<feature var="${f}"/>`).join("")}</query></iq>`);
  const cases: [string[], boolean][] = [
    [["http://jabber.org/protocol/muc", "urn:xmpp:mam:2", "urn:xmpp:sid:0"], true],
    [["http://jabber.org/protocol/muc", "urn:xmpp:sid:0"], false],
    [["urn:xmpp:mam:2#extended"], false],
    [["urn:xmpp:mam:1"], false],
    [[], false],
  ];
  for (const [features, expected] of cases) assert.equal(offersArchive(info(features)), expected, features.join(" "));
});

const result = (opts: { from?: string; queryid?: string; id?: string; inner: string }): Element =>
  el(
    `<message from="${opts.from ?? ROOM}" to="bot@example.net/r"><result xmlns="urn:xmpp:mam:2" queryid="${opts.queryid ?? "f27"}" id="${opts.id ?? "a1"}"><forwarded xmlns="urn:xmpp:forward:0"><delay xmlns="urn:xmpp:delay" stamp="2026-11-28T10:00:00Z"/>${opts.inner}</forwarded></result></message>`,
  );
const own = `<message xmlns="jabber:client" from="${ROOM}/ttrelay" type="groupchat" id="ttr-1"><body>EXN_1 new</body><origin-id xmlns="urn:xmpp:sid:0" id="ttr-1"/></message>`;

void test("readArchived: our forwarded room message, as history, with the archive UID as its stanza-id; anything else is not one", () => {
  const msg = readArchived(result({ inner: own }), ROOM, "f27");
  assert.ok(msg);
  assert.equal(msg.nick, "ttrelay");
  assert.equal(msg.originId, "ttr-1");
  assert.equal(msg.stanzaId, "a1");
  assert.equal(msg.delayed, true);
  assert.equal(msg.body, "EXN_1 new");
  assert.equal(readArchived(result({ inner: own }), ROOM, "other-query"), undefined, "another query's result");
  assert.equal(readArchived(result({ from: "evil@example.net", inner: own }), ROOM, "f27"), undefined, "not from the room");
  assert.equal(readArchived(result({ inner: own.replace(`${ROOM}/ttrelay`, "other@conference.example.net/ttrelay") }), ROOM, "f27"), undefined, "a message of another room inside");
  assert.equal(readArchived(el(`<message from="${ROOM}/ttrelay" type="groupchat"><body>live</body></message>`), ROOM, "f27"), undefined, "a live message");
  const withSid = own.replace("</message>", `<stanza-id xmlns="urn:xmpp:sid:0" by="${ROOM}" id="sid-9"/></message>`);
  assert.equal(readArchived(result({ inner: withSid }), ROOM, "f27")?.stanzaId, "sid-9", "the stored stanza-id by the room wins");
});

void test("readFin: complete or not, and the last UID to page on from", () => {
  const cases: [string, ReturnType<typeof readFin>][] = [
    [`<iq type="result"><fin xmlns="urn:xmpp:mam:2" complete="true"><set xmlns="http://jabber.org/protocol/rsm"><first>a</first><last>b</last></set></fin></iq>`, { complete: true, last: "b" }],
    [`<iq type="result"><fin xmlns="urn:xmpp:mam:2"><set xmlns="http://jabber.org/protocol/rsm"><first>a</first><last>b</last></set></fin></iq>`, { complete: false, last: "b" }],
    [`<iq type="result"><fin xmlns="urn:xmpp:mam:2" complete="false"><set xmlns="http://jabber.org/protocol/rsm"/></fin></iq>`, { complete: false, last: undefined }],
    [`<iq type="result"/>`, undefined],
  ];
  for (const [xml, expected] of cases) assert.deepEqual(readFin(el(xml)), expected, xml);
});

void test("isTransient: what may succeed later (RFC 6120 §8.3.2) and what is the server's answer", () => {
  const timeout = new Error("timeout");
  timeout.name = "TimeoutError";
  const cases: [string, unknown, boolean][] = [
    ["no answer in time (@xmpp/events TimeoutError)", timeout, true],
    ["the connection went away", new Error("socket closed"), true],
    ["not an Error at all", "offline", true],
    ['type "wait": resource-constraint', new StanzaError("resource-constraint", "busy", undefined, "wait"), true],
    ['type "cancel": feature-not-implemented', new StanzaError("feature-not-implemented", "", undefined, "cancel"), false],
    ['type "auth": forbidden', new StanzaError("forbidden", "", undefined, "auth"), false],
    ['type "modify": bad-request', new StanzaError("bad-request", "", undefined, "modify"), false],
    ["no type given: item-not-found", new StanzaError("item-not-found", "", undefined, undefined), false],
  ];
  for (const [name, e, transient] of cases) assert.equal(isTransient(e), transient, name);
});
