import { test } from "node:test";
import assert from "node:assert/strict";
import type { ActorIdentity } from "../../src/dispatch/authorize.js";
import { createInbox, type InboxPorts } from "../../src/inbox/inbox.js";
import type { OutboxEntry } from "../../src/store/types.js";
import type { IncomingRoomMessage, Occupant } from "../../src/xmpp/stanzas.js";

const ROOM = "noc@conference.example.net";

type Call = [string, ...unknown[]];

/** Ports that record what the inbox asked for; the room knows `alice` (a real JID) and `mallory` (none). */
function recording(outbox: OutboxEntry[] = []): { ports: InboxPorts; calls: Call[]; replies: Call[] } {
  const calls: Call[] = [];
  const replies: Call[] = [];
  const occupants: Record<string, Occupant> = {
    alice: { nick: "alice", jid: "alice@noc.example.net", affiliation: "member", role: "participant" },
    mallory: { nick: "mallory", jid: undefined, affiliation: "none", role: "participant" },
    "peer-bot": { nick: "peer-bot", jid: "bot@noc-b.example.net", affiliation: "member", role: "participant" },
  };
  const ports: InboxPorts = {
    delivered: (id) => {
      calls.push(["delivered", id]);
      return outbox.find((e) => e.id === id);
    },
    refused: (id, room, reason) => void calls.push(["refused", id, room, reason]),
    peerActivity: (msg, jid) => void calls.push(["peer", msg.nick, jid]),
    command: (text, identity: ActorIdentity, reply, nick) => {
      calls.push(["command", text, identity, nick]);
      void reply("done", "INC-1");
    },
    firstMessage: (thread, room, stanzaId, from) => void calls.push(["first", thread, room, stanzaId, from]),
    ticketPost: (ttId, room, stanzaId, from) => void calls.push(["post", ttId, room, stanzaId, from]),
    joined: (room) => void calls.push(["joined", room]),
    roomRecreated: (room) => void calls.push(["roomRecreated", room]),
    occupant: (_room, nick) => (Object.hasOwn(occupants, nick) ? occupants[nick] : undefined),
    nickIn: () => "ttrelay",
    sendRoom: (room, body, thread) => Promise.resolve(void replies.push(["room", room, body, thread])),
    sendChat: (to, body, thread) => Promise.resolve(void replies.push(["chat", to, body, thread])),
  };
  return { ports, calls, replies };
}

const message = (m: Partial<IncomingRoomMessage>): IncomingRoomMessage => ({
  room: ROOM,
  nick: "alice",
  body: undefined,
  originId: undefined,
  stanzaId: undefined,
  delayed: false,
  json: undefined,
  occupantId: undefined,
  thread: undefined,
  replyTo: undefined,
  ...m,
});

void test("room messages: each goes where it belongs, and only there", () => {
  const queued: OutboxEntry = { id: "ttr-1", room: ROOM, body: "x", incident: "INC-9", ticketId: "EXN_1", createdAt: "2026-11-28T10:00:00Z", attempts: 0 };
  const cases: { name: string; msg: Partial<IncomingRoomMessage>; own?: boolean; expect: Call[]; replies?: Call[] }[] = [
    { name: "our own echo: delivered, and the first message of its incident noted", own: true, msg: { nick: "ttrelay", originId: "ttr-1", stanzaId: "s1", body: "*X* new" }, expect: [["delivered", "ttr-1"], ["first", "INC-9", ROOM, "s1", `${ROOM}/ttrelay`], ["post", "EXN_1", ROOM, "s1", `${ROOM}/ttrelay`]] },
    { name: "our own echo without origin-id: nothing delivered", own: true, msg: { nick: "ttrelay", body: "hi" }, expect: [] },
    {
      name: "someone else's message carrying our origin-id does not deliver ours",
      msg: { nick: "alice", originId: "ttr-1", body: "hello" },
      expect: [["command", "hello", { jid: "alice@noc.example.net", via: "groupchat", room: ROOM, affiliation: "member", nick: "alice" }, "ttrelay"]],
      replies: [["room", ROOM, "alice: done", "INC-1"]],
    },
    {
      name: "a peer's payload: to the peer source with the real JID, and the body as a (likely ignored) command",
      msg: { nick: "peer-bot", json: "{}", body: "*NORD_1* new", thread: "INC-2", stanzaId: "s2" },
      expect: [
        ["peer", "peer-bot", "bot@noc-b.example.net"],
        ["command", "*NORD_1* new", { jid: "bot@noc-b.example.net", via: "groupchat", room: ROOM, affiliation: "member", nick: "peer-bot" }, "ttrelay"],
        ["first", "INC-2", ROOM, "s2", `${ROOM}/peer-bot`],
      ],
      replies: [["room", ROOM, "peer-bot: done", "INC-1"]],
    },
    { name: "a payload from history: still taken in (peers post while we are away), never a command", msg: { nick: "peer-bot", json: "{}", body: "x", delayed: true }, expect: [["peer", "peer-bot", "bot@noc-b.example.net"]] },
    { name: "a command from history: ignored", msg: { body: "!close 1", delayed: true }, expect: [] },
    {
      name: "a sender the room shows without a real JID: a command with no JID (authorization refuses)",
      msg: { nick: "mallory", body: "!close 1" },
      expect: [["command", "!close 1", { jid: undefined, via: "groupchat", room: ROOM, affiliation: "none", nick: "mallory" }, "ttrelay"]],
      replies: [["room", ROOM, "mallory: done", "INC-1"]],
    },
    {
      name: "a nick the bot never saw join: no JID, no affiliation",
      msg: { nick: "__proto__", body: "!close 1" },
      expect: [["command", "!close 1", { jid: undefined, via: "groupchat", room: ROOM, affiliation: undefined, nick: "__proto__" }, "ttrelay"]],
      replies: [["room", ROOM, "__proto__: done", "INC-1"]],
    },
    { name: "a room notice without nick: nothing", msg: { nick: undefined, body: "The room is now moderated" }, expect: [] },
  ];
  for (const c of cases) {
    const { ports, calls, replies } = recording([queued]);
    createInbox(ports).message(message(c.msg), c.own ?? false);
    assert.deepEqual(calls, c.expect, c.name);
    assert.deepEqual(replies, c.replies ?? [], `${c.name}: replies`);
  }
});

void test("direct and private messages: commands from the actor the room client identified, never from history", () => {
  const { ports, calls, replies } = recording();
  const inbox = createInbox(ports);
  const alice = { jid: "alice@noc.example.net", via: "direct" } as const;
  const alicePrivate = { jid: "alice@noc.example.net", via: "muc-private", room: ROOM, affiliation: "member", nick: "alice" } as const;
  const ghost = { jid: undefined, via: "muc-private", room: ROOM, affiliation: undefined, nick: "ghost" } as const;
  inbox.direct?.({ from: "Alice@NOC.example.net/phone", body: "status", thread: undefined, delayed: false }, alice);
  inbox.direct?.({ from: "alice@noc.example.net/phone", body: "close 1", thread: undefined, delayed: true }, alice);
  inbox.privateMessage?.({ from: `${ROOM}/alice`, body: "ack 1", thread: undefined, delayed: false }, alicePrivate);
  inbox.privateMessage?.({ from: `${ROOM}/ghost`, body: "ack 1", thread: undefined, delayed: false }, ghost);
  inbox.privateMessage?.({ from: `${ROOM}/ghost`, body: "ack 2", thread: undefined, delayed: true }, ghost);
  assert.deepEqual(calls, [
    ["command", "status", alice, undefined],
    ["command", "ack 1", alicePrivate, undefined],
    ["command", "ack 1", ghost, undefined],
  ]);
  assert.deepEqual(replies, [
    ["chat", "Alice@NOC.example.net/phone", "done", "INC-1"],
    ["chat", `${ROOM}/alice`, "done", "INC-1"],
    ["chat", `${ROOM}/ghost`, "done", "INC-1"],
  ]);
});

void test("refusals and joins are passed on", () => {
  const { ports, calls } = recording();
  const inbox = createInbox(ports);
  inbox.sendError("ttr-1", ROOM, "forbidden");
  inbox.joined(ROOM);
  inbox.roomRecreated?.(ROOM);
  assert.deepEqual(calls, [
    ["refused", "ttr-1", ROOM, "forbidden"],
    ["joined", ROOM],
    ["roomRecreated", ROOM],
  ]);
});
