// ArchiveRecognition's hold (src/xmpp/mam.ts) as a state machine: which answers hold a room's
// messages, which release them, and what a rejoin, a late answer, the connection and stop() do.
// The wire is scripted here; the same paths against real servers (stopped with SIGSTOP) are in
// test/integration/mam.test.ts.
import { test } from "node:test";
import assert from "node:assert/strict";
import { xml } from "@xmpp/client";
import type { Element } from "@xmpp/xml";
import StanzaError from "@xmpp/middleware/lib/StanzaError.js";
import type { OutboxEntry } from "../../src/store/types.js";
import { ARCHIVE_WINDOW, ArchiveRecognition, MAM, type ArchiveRecognitionDeps, type StanzaWire } from "../../src/xmpp/mam.js";
import { captureLogger } from "../helpers/log-capture.js";

const ROOM = "noc@conference.example.net";
const HISTORY = 20;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** How the scripted server answers one request. */
type Answer = "ok" | "no-answer" | "wait" | "forbidden" | "internal-server-error" | Promise<"ok" | "no-answer">;

function timeoutError(): Error {
  const e = new Error("timeout");
  e.name = "TimeoutError";
  return e;
}

/**
 * A wire whose room offers an archive holding the posts `archived` (outbox ids as origin-ids).
 * `answers` says how each request is met, in order (the last one repeats).
 */
function scriptedWire(archived: string[], answers: Answer[]): StanzaWire & { requests: string[] } {
  const listeners = new Set<(s: Element) => void>();
  const requests: string[] = [];
  let n = 0;
  const answer = async (iq: Element): Promise<Element> => {
    const query = iq.getChild("query");
    const kind = query?.attrs.xmlns === MAM ? "archive" : "info";
    requests.push(kind);
    const a = await (answers[Math.min(n++, answers.length - 1)] ?? "ok");
    if (a === "no-answer") throw timeoutError();
    if (a === "wait") throw new StanzaError("resource-constraint", "busy", undefined, "wait");
    if (a === "forbidden") throw new StanzaError("forbidden", "", undefined, "auth");
    if (a === "internal-server-error") throw new StanzaError("internal-server-error", "storage", undefined, "cancel");
    if (kind === "info") return xml("iq", { type: "result", id: iq.attrs.id as string }, xml("query", { xmlns: "http://jabber.org/protocol/disco#info" }, xml("feature", { var: MAM })));
    const queryId = query?.attrs.queryid as string;
    for (const [i, id] of archived.entries()) {
      const msg = xml("message", { from: ROOM }, xml("result", { xmlns: MAM, queryid: queryId, id: `uid-${i}` }, xml("forwarded", { xmlns: "urn:xmpp:forward:0" }, xml("message", { type: "groupchat", from: `${ROOM}/ttrelay`, id }, xml("body", {}, id), xml("origin-id", { xmlns: "urn:xmpp:sid:0", id })))));
      for (const l of listeners) l(msg);
    }
    return xml("iq", { type: "result", id: iq.attrs.id as string }, xml("fin", { xmlns: MAM, complete: "true" }));
  };
  return {
    requests,
    request: (iq) => answer(iq),
    listen: (l) => {
      listeners.add(l);
      return () => void listeners.delete(l);
    },
  };
}

const entry = (id: string): OutboxEntry => ({ id, room: ROOM, body: id, createdAt: "2026-12-02T06:00:00Z", attempts: 0 });

function recognitionWith(wire: StanzaWire, over: Partial<ArchiveRecognitionDeps> = {}) {
  const logs = captureLogger();
  const recognised: string[] = [];
  const settled: string[] = [];
  let pending = [entry("a"), entry("b")];
  const r = new ArchiveRecognition({
    wire: () => wire,
    pending: () => pending,
    recognised: (m) => recognised.push(m.originId ?? "?"),
    settled: (room) => settled.push(room),
    historyWindow: HISTORY,
    log: logs.log,
    attempts: 1,
    doubt: { retryMs: 5, retryMaxMs: 20, limitMs: 60_000 },
    ...over,
  });
  return { r, logs, recognised, settled, setPending: (p: OutboxEntry[]) => (pending = p) };
}

async function until(what: string, probe: () => boolean): Promise<void> {
  for (let i = 0; i < 400 && !probe(); i++) await sleep(5);
  assert.ok(probe(), what);
}

const HOLD = "room archive did not answer: holding the room's messages (those queued may have been posted before a restart) and asking again";
const FALLBACK = "room archive could not be read: own posts are recognised from the join history only, and messages beyond it may be sent twice";

const holding: [string, Answer][] = [
  ["no answer in time", "no-answer"],
  ['an error of type "wait"', "wait"],
  ["internal-server-error of type cancel (Prosody's storage failure)", "internal-server-error"],
];
for (const [name, a] of holding)
  void test(`hold: ${name} to the archive query holds the room (window 0), and the answer that comes later releases it`, async () => {
    const wire = scriptedWire(["a"], ["ok", a, a, "ok"]);
    const { r, logs, recognised, settled } = recognitionWith(wire);
    await r.beforeJoined(ROOM, "ttrelay");
    assert.equal(r.windowFor(ROOM), 0);
    assert.equal(r.isHeld(ROOM), true);
    assert.ok(logs.find(HOLD, { room: ROOM, pending: 2, reason: a === "no-answer" ? "archive query failed: no answer in 15000 ms" : /archive query failed: \w/ }));
    await until("released", () => settled.length > 0);
    assert.deepEqual(settled, [ROOM.toLowerCase()]);
    assert.deepEqual(recognised, ["a"]);
    assert.equal(r.windowFor(ROOM), ARCHIVE_WINDOW);
    assert.equal(r.isHeld(ROOM), false);
    assert.ok(logs.find("room archive answered: the room's held messages go on", { archive: true }));
    r.stop();
  });

void test("hold: a refusal (forbidden) falls back to the join history at once, loudly, without holding", async () => {
  const { r, logs, settled } = recognitionWith(scriptedWire(["a"], ["ok", "forbidden"]));
  await r.beforeJoined(ROOM, "ttrelay");
  assert.equal(r.windowFor(ROOM), HISTORY);
  assert.equal(r.isHeld(ROOM), false);
  assert.ok(logs.find(FALLBACK, { what: "archive", reason: /forbidden/ }));
  assert.deepEqual(settled, [], "settled only tells of changes outside a join");
});

void test("hold: a refused disco#info with messages pending is said, not silent", async () => {
  const { r, logs } = recognitionWith(scriptedWire([], ["forbidden"]));
  await r.beforeJoined(ROOM, "ttrelay");
  assert.equal(r.windowFor(ROOM), HISTORY);
  assert.ok(logs.find(FALLBACK, { what: "room info" }));
});

void test("hold: an unanswered disco#info with nothing pending holds nothing (nothing to recognise)", async () => {
  const { r, logs, setPending } = recognitionWith(scriptedWire([], ["no-answer"]));
  setPending([]);
  await r.beforeJoined(ROOM, "ttrelay");
  assert.equal(r.windowFor(ROOM), HISTORY);
  assert.equal(logs.find(HOLD), undefined);
});

void test("hold: the limit counts from the first check, across rejoins, then falls back", async () => {
  let now = 0;
  const { r, logs, settled } = recognitionWith(scriptedWire([], ["ok", "no-answer"]), { now: () => now, doubt: { retryMs: 5, retryMaxMs: 5, limitMs: 1_000 } });
  await r.beforeJoined(ROOM, "ttrelay");
  assert.equal(r.windowFor(ROOM), 0);
  now = 600;
  await r.beforeJoined(ROOM, "ttrelay"); // a rejoin: still no answer
  assert.equal(r.windowFor(ROOM), 0);
  now = 1_100; // 500 ms after the rejoin, 1,100 ms after the first check
  await until("released after the limit", () => settled.length > 0);
  assert.equal(r.windowFor(ROOM), HISTORY);
  assert.ok(logs.find(FALLBACK, { heldMs: 1_100 }));
  r.stop();
});

void test("hold: a late answer for an earlier join is ignored; the newer join's check decides", async () => {
  let release: (a: "no-answer") => void = () => undefined;
  const late = new Promise<"no-answer">((r) => (release = r));
  const { r, settled } = recognitionWith(scriptedWire(["a", "b"], [late, "ok", "ok"]));
  const first = r.beforeJoined(ROOM, "ttrelay");
  await sleep(5);
  assert.equal(r.windowFor(ROOM), 0, "held while the first check runs");
  await r.beforeJoined(ROOM, "ttrelay");
  assert.equal(r.windowFor(ROOM), ARCHIVE_WINDOW);
  release("no-answer");
  await first;
  await sleep(30);
  assert.equal(r.windowFor(ROOM), ARCHIVE_WINDOW, "the earlier join's failure changes nothing");
  assert.equal(r.isHeld(ROOM), false);
  assert.deepEqual(settled, []);
});

void test("hold: while offline nothing is asked; once online, the room is asked and released", async () => {
  let online = true;
  const wire = scriptedWire([], ["ok", "no-answer", "ok"]);
  const { r, settled } = recognitionWith(wire, { isOnline: () => online });
  await r.beforeJoined(ROOM, "ttrelay");
  online = false;
  const asked = wire.requests.length;
  await sleep(80);
  assert.equal(wire.requests.length, asked, "no request while offline");
  assert.equal(r.windowFor(ROOM), 0);
  online = true;
  await until("released", () => settled.length > 0);
  assert.equal(r.windowFor(ROOM), ARCHIVE_WINDOW);
  r.stop();
});

void test("hold: after stop() a retry in flight changes nothing and nothing more is asked", async () => {
  let release: (a: "ok") => void = () => undefined;
  const slow = new Promise<"ok">((r) => (release = r));
  const wire = scriptedWire([], ["ok", "no-answer", slow, "ok"]);
  const { r, logs, settled } = recognitionWith(wire);
  await r.beforeJoined(ROOM, "ttrelay");
  await until("the retry is under way", () => wire.requests.length >= 3);
  r.stop();
  const lines = logs.lines.length;
  release("ok");
  await sleep(60);
  assert.deepEqual(settled, []);
  assert.equal(logs.lines.length, lines, "nothing logged after stop");
  assert.ok(wire.requests.length <= 4);
});
