import { test } from "node:test";
import assert from "node:assert/strict";
import { readiness, type ReadinessInput } from "../../src/ops/health.js";

const base: ReadinessInput = { xmppOnline: true, rooms: [{ jid: "noc@conf.example.net", joined: true }], storeWritable: true, sources: [{ id: "exn", health: { ok: true } }] };

const cases: [string, Partial<ReadinessInput>, boolean, Partial<ReturnType<typeof readiness>["checks"]["rooms"]>?][] = [
  ["all well", {}, true, { ok: true, notJoined: [], held: [] }],
  ["XMPP offline", { xmppOnline: false }, false],
  ["a room not joined", { rooms: [{ jid: "a@c", joined: true }, { jid: "b@c", joined: false }] }, false, { ok: false, notJoined: ["b@c"], held: [] }],
  ["a room holding its messages while its archive does not answer", { rooms: [{ jid: "a@c", joined: true, held: true }] }, false, { ok: false, notJoined: [], held: ["a@c"] }],
  ["a room not joined is reported as that, not as held", { rooms: [{ jid: "a@c", joined: false, held: true }] }, false, { notJoined: ["a@c"], held: [] }],
  ["the store not writable", { storeWritable: false, storeError: "EROFS" }, false],
  ["a source failing", { sources: [{ id: "exn", health: { ok: false, lastError: "HTTP 500" } }] }, false],
  ["a source not polled yet", { sources: [{ id: "exn", health: undefined }] }, true],
];

for (const [name, change, ready, rooms] of cases)
  void test(`readiness: ${name}`, () => {
    const r = readiness({ ...base, ...change });
    assert.equal(r.ready, ready);
    if (rooms) for (const [k, v] of Object.entries(rooms)) assert.deepEqual(r.checks.rooms[k as keyof typeof rooms], v, k);
  });
