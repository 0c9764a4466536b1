import { test } from "node:test";
import assert from "node:assert/strict";
import type { UpstreamWrite } from "../../src/store/types.js";
import { delayNotices, delayText, faultOf, isDue, isStalled, landedFor, landedText, ticketLanes } from "../../src/ticket-systems/lanes.js";

const ROOM = "noc@conference.noc.example";
const alice = { room: ROOM, to: "alice" };
const bob = { room: ROOM, to: "bob" };
const bobDirect = { to: "bob@noc.example" };

let n = 0;
function w(ticketId: string, extra: Partial<UpstreamWrite> = {}): UpstreamWrite {
  n++;
  return { id: `w${n}`, system: "rt", ticketId, op: "comment", ref: ticketId.replace(/^\D+_/, ""), text: `text ${n}`, createdAt: "2026-11-28T10:00:00Z", attempts: 0, ...extra };
}
const stalled = (extra: Partial<UpstreamWrite> = {}): Partial<UpstreamWrite> => ({ attempts: 3, lastError: "unreachable: connection refused", nextAttemptAt: "2026-11-28T10:01:00Z", ...extra });

void test("ticketLanes: one lane per ticket in queue order, tickets by their oldest write, failed writes left out", () => {
  const a1 = w("EXN_1");
  const b1 = w("EXN_2");
  const a2 = w("EXN_1", { failed: true });
  const a3 = w("EXN_1");
  const c1 = w("EXN_3", { failed: true });
  const lanes = ticketLanes([a1, b1, a2, a3, c1]);
  assert.deepEqual([...lanes.keys()], ["EXN_1", "EXN_2"]);
  assert.deepEqual(lanes.get("EXN_1")?.map((x) => x.id), [a1.id, a3.id]);
  assert.deepEqual(lanes.get("EXN_2")?.map((x) => x.id), [b1.id]);
  assert.equal(ticketLanes([]).size, 0);
});

void test("isDue / isStalled / faultOf", () => {
  const now = Date.parse("2026-11-28T10:00:30Z");
  const cases: [name: string, write: UpstreamWrite, due: boolean, stalledNow: boolean, fault: string][] = [
    ["new write", w("EXN_1"), true, false, "no answer"],
    ["backing off after 1 failure", w("EXN_1", { attempts: 1, lastError: "timeout: no answer in 15 s", nextAttemptAt: "2026-11-28T10:00:35Z" }), false, false, "timeout"],
    ["due again after 2 failures", w("EXN_1", { attempts: 2, lastError: "timeout: x", nextAttemptAt: "2026-11-28T10:00:30Z" }), true, false, "timeout"],
    ["3 failures: stalled", w("EXN_1", stalled()), false, true, "unreachable"],
    ["3 attempts, the last cut off by a restart: not a delay yet", w("EXN_1", stalled({ lastError: "in flight" })), false, false, "no answer"],
    ["many failures", w("EXN_1", stalled({ attempts: 40, lastError: "conflict: 412" })), false, true, "conflict"],
  ];
  for (const [name, write, due, st, fault] of cases) {
    assert.equal(isDue(write, now), due, `${name}: due`);
    assert.equal(isStalled(write), st, `${name}: stalled`);
    assert.equal(faultOf(write), fault, `${name}: fault`);
  }
});

void test("delayNotices: everyone waiting on a stalled ticket is told once; a person already told is not told again", () => {
  type Case = { name: string; lane: UpstreamWrite[]; mark: number[]; tell: [notify: UpstreamWrite["notify"], writes: number][] };
  const cases: Case[] = (() => {
    const out: Case[] = [];
    {
      const lane = [w("EXN_1", { notify: alice }), w("EXN_1", { notify: alice })];
      out.push({ name: "head not stalled: nobody yet", lane, mark: [], tell: [] });
    }
    {
      const lane = [w("EXN_1", { ...stalled(), notify: alice }), w("EXN_1", { notify: alice }), w("EXN_1", { notify: bob }), w("EXN_1"), w("EXN_1", { notify: bobDirect })];
      out.push({ name: "stalled head: the head's author and everyone queued behind, one notice each", lane, mark: [0, 1, 2, 4], tell: [[alice, 2], [bob, 1], [bobDirect, 1]] });
    }
    {
      const lane = [w("EXN_1", { ...stalled() }), w("EXN_1", { notify: bob })];
      out.push({ name: "a peer's write (no one to tell) stalls a command's", lane, mark: [1], tell: [[bob, 1]] });
    }
    {
      const lane = [w("EXN_1", { ...stalled(), notify: alice, reported: true }), w("EXN_1", { notify: alice }), w("EXN_1", { notify: bob })];
      out.push({ name: "alice told before: her next write is marked silently; bob, new, is told", lane, mark: [1, 2], tell: [[bob, 1]] });
    }
    {
      const lane = [w("EXN_1", { ...stalled(), notify: alice, reported: true }), w("EXN_1", { notify: bob, reported: true })];
      out.push({ name: "everyone told: nothing to do", lane, mark: [], tell: [] });
    }
    out.push({ name: "empty lane", lane: [], mark: [], tell: [] });
    return out;
  })();
  for (const c of cases) {
    const got = delayNotices(c.lane);
    assert.deepEqual(got.mark, c.mark.map((i) => c.lane[i]?.id), `${c.name}: marked`);
    assert.deepEqual(got.tell.map((t) => [t.notify, t.writes]), c.tell, `${c.name}: told`);
  }
});

void test("landedFor: told of a delay → told of the landing once the last of their delayed writes on the ticket is in", () => {
  const a1 = w("EXN_1", { notify: alice, reported: true });
  const a2 = w("EXN_1", { notify: alice, reported: true });
  const a3 = w("EXN_1", { notify: alice });
  const b1 = w("EXN_1", { notify: bob, reported: true });
  const quiet = w("EXN_1", { notify: alice });
  const cases: [name: string, delivered: UpstreamWrite, lane: UpstreamWrite[], expected: UpstreamWrite["notify"]][] = [
    ["another delayed write of alice's still waits", a1, [a1, a2, b1], undefined],
    ["her last delayed write (a later, undelayed one does not count)", a2, [a2, b1, a3], alice],
    ["bob's own, whatever alice still has", b1, [a2, b1], bob],
    ["never delayed: nothing to say", quiet, [quiet], undefined],
    ["no one asked (a peer's write)", w("EXN_1", { reported: true }), [], undefined],
  ];
  for (const [name, delivered, lane, expected] of cases) assert.deepEqual(landedFor(delivered, lane), expected, name);
});

void test("delayText / landedText", () => {
  assert.equal(
    delayText("Request Tracker", "timeout", "EXN_22", "22", 1),
    "Request Tracker is not answering (timeout); your change to EXN_22 (Request Tracker ticket #22) will be written as soon as it is back.",
  );
  assert.equal(delayText("Request Tracker", "unreachable", "NORD_7", undefined, 3), "Request Tracker is not answering (unreachable); your 3 changes to NORD_7 will be written as soon as it is back.");
  assert.equal(landedText("Request Tracker", "EXN_22", "22"), "Request Tracker is answering again: your changes to EXN_22 are in Request Tracker ticket #22 now.");
  assert.equal(landedText("Request Tracker", "NORD_7", undefined), "Request Tracker is answering again: your changes to NORD_7 are in Request Tracker now.");
});
