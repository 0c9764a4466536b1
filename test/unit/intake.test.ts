import { test } from "node:test";
import assert from "node:assert/strict";
import { defaultCorrelationConfig } from "../../src/correlate/engine.js";
import { IncidentBook } from "../../src/intake/incidents.js";
import { changeHash, isNewer, planIntake, type IntakeContext } from "../../src/intake/plan.js";
import { nocActor } from "../../src/model/activity.js";
import type { Ticket } from "../../src/model/ticket.js";
import type { TicketVersion } from "../../src/sources/types.js";
import { emptyStore, type StoredTicket, type UpstreamWrite } from "../../src/store/types.js";
import type { TicketSystem, WriteBackChange } from "../../src/ticket-systems/port.js";
import { sampleTicket } from "../fixtures/tickets.js";

const ROOM = "noc@conference.example.net";
const NOW = new Date("2026-11-28T12:00:00Z");
const t = (o: Partial<Ticket> = {}): Ticket => sampleTicket({ Partner_ID: "EXN", Original_ID: "1", ...o });

function ctx(stored: StoredTicket[] = [], extra: Partial<IntakeContext> = {}): IntakeContext {
  const byId = new Map(stored.map((s) => [s.ticket.TT_ID, s]));
  return {
    routes: [{ rooms: [ROOM], when: {} }],
    actor: nocActor({ id: "EXN", name: "ExampleNet NOC" }),
    render: { maxLongDescription: 600, timeZone: "UTC" },
    now: NOW,
    incidents: new IncidentBook(emptyStore(), defaultCorrelationConfig),
    lookup: (id) => byId.get(id),
    ...extra,
  };
}

const storedOf = (ticket: Ticket, o: Partial<StoredTicket> = {}): StoredTicket => ({
  ticket,
  hash: changeHash(ticket),
  source: "exn",
  firstSeen: "2026-11-28T10:00:00.000Z",
  lastChange: "2026-11-28T10:00:00.000Z",
  rooms: [ROOM],
  ...o,
});

const v = (ticket: Ticket, o: Partial<TicketVersion> = {}): TicketVersion => ({ ticket, provenance: { source: "exn" }, ...o });

void test("isNewer: by sequence, then by the time the source gives; unknown counts as newer", () => {
  const cases: [string, TicketVersion["provenance"], StoredTicket["provenance"], boolean][] = [
    ["nothing known", { source: "m", sequence: 0 }, undefined, true],
    ["higher sequence", { source: "m", sequence: 2, published: "2026-01-01T00:00:00Z" }, { source: "m", sequence: 1, published: "2026-06-01T00:00:00Z" }, true],
    ["lower sequence", { source: "m", sequence: 1 }, { source: "m", sequence: 2 }, false],
    ["same sequence, later stamp", { source: "m", sequence: 1, published: "2026-02-01T00:00:00Z" }, { source: "m", sequence: 1, published: "2026-01-01T00:00:00Z" }, true],
    ["same sequence, same stamp", { source: "m", sequence: 1, published: "2026-01-01T00:00:00Z" }, { source: "m", sequence: 1, published: "2026-01-01T00:00:00Z" }, false],
    ["no times", { source: "m" }, { source: "m" }, true],
  ];
  for (const [name, next, known, expected] of cases) assert.equal(isNewer(next, known), expected, name);
});

void test("planIntake: how each kind of version meets the stored ticket", () => {
  const before = storedOf(t({ TT_Status: "Updated", History: "engineer: on it", Contact_Engineers: ["alice@noc.example.net"] }), { provenance: { source: "m", sequence: 3 } });
  type Case = { name: string; version: TicketVersion; outcome: string; status?: string; engineers?: string[] | undefined; posted: boolean };
  const cases: Case[] = [
    { name: "new ticket", version: v(t({ Original_ID: "2" })), outcome: "created", posted: true },
    { name: "merge keeps what engineers set", version: v(t({ TT_Status: "Updated", History: "feed: carrier informed", Contact_Engineers: undefined })), outcome: "updated", status: "Updated", engineers: ["alice@noc.example.net"], posted: true },
    { name: "replace takes the version whole", version: v(t({ TT_Status: "Updated", History: "peer: x", Contact_Engineers: undefined }), { merge: "replace" }), outcome: "updated", engineers: undefined, posted: true },
    { name: "an impossible transition keeps the state (Updated → Opened)", version: v(t({ TT_Status: "Opened", History: "feed: again" })), outcome: "updated", status: "Updated", posted: true },
    { name: "an ordered, older version is stale", version: v(t({ History: "old" }), { ordered: true, provenance: { source: "m", sequence: 2 } }), outcome: "stale", posted: false },
    { name: "a command on a ticket changed meanwhile conflicts", version: v(t({ History: "x" }), { merge: "replace", expectHash: "not-the-hash" }), outcome: "conflict", posted: false },
    { name: "a command on the ticket as stored", version: v(t({ TT_Status: "Solved", History: "solved" }), { merge: "replace", expectHash: before.hash, command: { verb: "solved", by: "alice@noc.example.net" } }), outcome: "updated", status: "Solved", posted: true },
    { name: "the same content again", version: v(before.ticket), outcome: "unchanged", posted: false },
  ];
  for (const c of cases) {
    const plan = planIntake(ctx([before]), { source: "exn", versions: [c.version] });
    assert.equal(plan.outcomes[0]?.outcome, c.outcome, c.name);
    assert.equal(plan.outbox.length > 0, c.posted, `${c.name}: posted`);
    const stored = plan.changes.get("tickets", c.version.ticket.TT_ID);
    if (c.status) assert.equal(stored?.ticket.TT_Status, c.status, `${c.name}: status`);
    if ("engineers" in c) assert.deepEqual(stored?.ticket.Contact_Engineers, c.engineers, `${c.name}: engineers`);
    if (c.outcome === "stale" || c.outcome === "conflict" || c.outcome === "unchanged") assert.equal(stored, undefined, `${c.name}: nothing stored`);
  }
});

void test("planIntake: a refused transition is said in History, naming the source; a command's own transition is not second-guessed", () => {
  const closed = storedOf(sampleTicket({ Partner_ID: "EXN", Original_ID: "1", TT_Status: "Solved", History: "solved" }));
  const plan = planIntake(ctx([closed]), { source: "exn", versions: [v({ ...closed.ticket, TT_Status: "Updated", History: "solved\nfeed noise" })] });
  const stored = plan.changes.get("tickets", "EXN_1");
  assert.equal(stored?.ticket.TT_Status, "Solved");
  assert.match(stored?.ticket.History ?? "", /ttrelay: exn: .*Solved → Updated/);
  assert.ok(plan.logs.some((l) => l.msg === "ticket version corrected"));
});

void test("planIntake: the source's state, the quiet cursor move, queued ids and first contact", () => {
  const before = storedOf(t(), { upstream: { system: "rt", id: "1", cursor: { lastTxn: 5 } } });
  // Unchanged content, new cursor: stored without a word.
  const quiet = planIntake(ctx([before]), { source: "rt", versions: [v(before.ticket, { upstream: { system: "rt", id: "1", cursor: { lastTxn: 9 } } })], state: { since: "x" } });
  assert.deepEqual(quiet.changes.get("tickets", "EXN_1")?.upstream?.cursor, { lastTxn: 9 });
  assert.deepEqual(quiet.outbox, []);
  assert.deepEqual(quiet.changes.get("sources", "rt"), { since: "x" }, "the state goes in the same write");
  // A message already queued (a re-planned poll) is not queued again.
  const first = planIntake(ctx(), { source: "exn", versions: [v(t({ Original_ID: "9" }))] });
  const again = planIntake(ctx([], { queued: (id) => first.outbox.some((o) => o.id === id) }), { source: "exn", versions: [v(t({ Original_ID: "9" }))] });
  assert.equal([...again.changes.puts("outbox")].length, 0);
  // First contact: learnt and correlated, one summary per room.
  const learnt = planIntake(ctx(), { source: "exn", versions: [v(t({ Original_ID: "3" })), v(t({ Original_ID: "4" }))], firstContact: { label: "exn" } });
  assert.equal(learnt.outbox.length, 1);
  assert.match(learnt.outbox[0]?.body ?? "", /^Now following feed \*exn\*: 2 tickets already listed, 2 open/);
  assert.equal([...learnt.changes.puts("tickets")].length, 2);
});

void test("planIntake: ticket-system writes are planned with the change, and a kept link re-attached", () => {
  const seen: WriteBackChange[] = [];
  const system: Pick<TicketSystem, "plan"> = {
    plan: (change) => {
      seen.push(change);
      const w: UpstreamWrite = { id: `w-${seen.length}`, system: "rt", ticketId: change.after.ticket.TT_ID, op: "comment", text: "x", createdAt: NOW.toISOString(), attempts: 0 };
      return { writes: [w], ...(change.link ? { upstream: { system: change.link.system, id: change.link.id } } : {}) };
    },
  };
  const peer = v(sampleTicket({ Partner_ID: "NORD", Original_ID: "7" }), { merge: "replace", remote: { actor: "urn:x", name: "NordNet", room: ROOM } });
  const plan = planIntake(ctx([], { systems: [system], link: (id) => (id === "NORD_7" ? { system: "rt", id: "31" } : undefined) }), { source: `peer:${ROOM}`, versions: [peer] });
  assert.equal(seen.length, 1);
  assert.deepEqual([...plan.changes.puts("writes")].map((w) => w.id), ["w-1"]);
  assert.deepEqual(plan.changes.get("tickets", "NORD_7")?.upstream, { system: "rt", id: "31" }, "the RT ticket made for it before it was archived");
  assert.equal(plan.changes.get("links", "rt\nNORD_7"), null, "and the kept link leaves the links");
  assert.equal(plan.outcomes[0]?.writes, 1);
});

void test("planIntake: an update keeps why its ticket joined; unlink correlates it afresh", () => {
  const book = new IncidentBook(emptyStore(), defaultCorrelationConfig);
  const stored = new Map<string, StoredTicket>();
  const run = (version: TicketVersion): StoredTicket => {
    const plan = planIntake(ctx([], { incidents: book, lookup: (id) => stored.get(id) }), { source: "exn", versions: [version] });
    plan.applyIncidents();
    for (const s of plan.changes.puts("tickets")) stored.set(s.ticket.TT_ID, s);
    const s = stored.get(version.ticket.TT_ID);
    assert.ok(s);
    return s;
  };
  // Two unrelated faults (other node, circuit, service, a year apart); the second names the first.
  const a = run(v(t({ Original_ID: "1" })));
  const apart = { Network_Node: ["LULEA"], Network_Link_Circuit: ["LUL-9"], Location: "LULEA", TT_Open_Datetime: "2009-12-16T10:01:15+02:00", Start_Datetime: "2009-12-16T09:55:00+02:00" };
  const b = run(v(t({ Original_ID: "2", ...apart, Related_Activity: ["EXN_1"] })));
  assert.equal(b.incident, a.incident, "joined by the explicit reference");
  const why = b.correlation ?? "";
  assert.match(why, /^joins incident/);
  // A later update stays, and `show` still says why it is there.
  const updated = run(v(t({ Original_ID: "2", ...apart, Related_Activity: ["EXN_1"], History: "crew on site" })));
  assert.equal(updated.incident, a.incident);
  assert.equal(updated.correlation, why);
  // An engineer unlinks it: nothing else holds it there, so it leaves for an incident of its own.
  const unlinked = run(v(t({ Original_ID: "2", ...apart, History: "unlinked" }), { command: { verb: "unlinked", by: "alice@example.net" }, merge: "replace" }));
  assert.notEqual(unlinked.incident, a.incident);
  assert.match(unlinked.correlation ?? "", /^opens new incident/);
});

void test("a version with a value too long to post is refused with the field named; the rest of the batch goes on", () => {
  const huge = { ...t({ Original_ID: "5" }), Original_ID: "9".repeat(100_000) };
  const plan = planIntake(ctx(), { source: "hook", versions: [v({ ...huge, TT_ID: `EXN_${huge.Original_ID}` }), v(t({ Original_ID: "6" }))] });
  assert.deepEqual(
    plan.outcomes.map((o) => [o.outcome, o.ttId.length <= 200, o.reason]),
    [
      ["refused", true, "Original_ID is 100000 characters long; at most 200"],
      ["created", true, undefined],
    ],
  );
  assert.deepEqual(plan.tickets.map((s) => s.ticket.TT_ID), ["EXN_6"]);
  assert.ok(plan.outbox.every((o) => o.ticketId === "EXN_6"));
  assert.ok(plan.logs.some((l) => l.msg === "ticket version refused: a value is too long"));
});
