import { test } from "node:test";
import assert from "node:assert/strict";
import { BOT_CAPS_VER, BOT_FEATURES, capsVer } from "../../src/xmpp/caps.js";
import { senderIdentity, type SenderContext } from "../../src/xmpp/sender.js";
import type { Occupant } from "../../src/xmpp/stanzas.js";

void test("XEP-0115 verification string: the example of §5.2, and the bot's own features", () => {
  const ver = capsVer(
    [{ category: "client", type: "pc", name: "Exodus 0.9.1" }],
    ["http://jabber.org/protocol/caps", "http://jabber.org/protocol/disco#info", "http://jabber.org/protocol/disco#items", "http://jabber.org/protocol/muc"],
  );
  assert.equal(ver, "QgayPKawpkPSDYmwT/WM94uAlu0=");
  for (const f of ["urn:xmpp:reply:0", "http://jabber.org/protocol/commands", "jabber:x:data", "urn:xmpp:json:0", "urn:xmpp:styling:0", "urn:xmpp:ping"])
    assert.ok((BOT_FEATURES as readonly string[]).includes(f), f);
  assert.equal(BOT_CAPS_VER, capsVer([{ category: "client", type: "bot", name: "ttrelay" }], [...BOT_FEATURES].reverse()), "order does not matter");
});

const ROOM = "noc@conference.example.org";
const occupants = new Map<string, Occupant>([
  ["alice", { nick: "alice", jid: "alice@example.org", affiliation: "member", role: "participant" }],
  ["anon", { nick: "anon", jid: undefined, affiliation: "none", role: "visitor" }],
  ["boss", { nick: "boss", jid: "boss@example.org", affiliation: "weird", role: "moderator" }],
]);
const ctx: SenderContext = {
  isOurRoom: (r) => r === ROOM,
  occupant: (r, nick) => (r === ROOM ? occupants.get(nick) : undefined),
  isMucService: (d) => (d === "conference.example.org" || d === "muc.elsewhere.example" ? true : d === "example.org" || d === "partner.example" ? false : undefined),
};

void test("a stanza's sender is a real bare JID or nobody: never a room or occupant JID", () => {
  const cases: { name: string; from: string; expected: string }[] = [
    { name: "an account", from: "Bob@Example.org/gajim", expected: "jid=bob@example.org room=- nick=- affiliation=-" },
    { name: "an account on another server", from: "carol@partner.example/phone", expected: "jid=carol@partner.example room=- nick=- affiliation=-" },
    { name: "an occupant of our room with a known real JID", from: `${ROOM}/alice`, expected: `jid=alice@example.org room=${ROOM} nick=alice affiliation=member` },
    { name: "an occupant whose JID the room hides", from: `${ROOM}/anon`, expected: `jid=- room=${ROOM} nick=anon affiliation=none` },
    { name: "an occupant the bot has not seen", from: `${ROOM}/ghost`, expected: `jid=- room=${ROOM} nick=ghost affiliation=-` },
    { name: "an unknown affiliation word", from: `${ROOM}/boss`, expected: `jid=boss@example.org room=${ROOM} nick=boss affiliation=-` },
    { name: "the room itself", from: ROOM, expected: `jid=- room=${ROOM} nick=- affiliation=-` },
    { name: "a room the bot is not in, on the same service", from: "evil@conference.example.org/x", expected: "jid=- room=evil@conference.example.org nick=x affiliation=-" },
    { name: "a room on another MUC service", from: "r@muc.elsewhere.example/y", expected: "jid=- room=r@muc.elsewhere.example nick=y affiliation=-" },
    { name: "a domain nobody could classify", from: "x@unknown.example/z", expected: "jid=- room=x@unknown.example nick=z affiliation=-" },
    { name: "a server or component", from: "example.org", expected: "jid=- room=- nick=- affiliation=-" },
  ];
  for (const c of cases) {
    const id = senderIdentity(c.from, "adhoc", ctx);
    assert.equal(`jid=${id.jid ?? "-"} room=${id.room ?? "-"} nick=${id.nick ?? "-"} affiliation=${id.affiliation ?? "-"}`, c.expected, c.name);
    assert.equal(id.via, "adhoc");
  }
});
