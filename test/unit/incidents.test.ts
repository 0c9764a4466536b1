import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { CorrelationConfigSchema, defaultCorrelationConfig, newIncidentId, type CorrelationConfig } from "../../src/correlate/engine.js";
import type { Ticket } from "../../src/model/ticket.js";
import { IncidentBook, type Assignment } from "../../src/intake/incidents.js";
import { changeHash } from "../../src/intake/plan.js";
import { emptyStore, type StoreState, type StoredTicket } from "../../src/store/types.js";
import { ROOM_A, ROOM_B, SHARED, at, nowAt, tk, closed } from "../fixtures/incident-tickets.js";


const reopened = (t: Ticket, h: number): Ticket => ({ ...t, TT_Status: "Reopened", TT_Last_Update_Time: at(h), History: `${t.History}\nfault again` });

const book = (data: StoreState = emptyStore(), config: CorrelationConfig = defaultCorrelationConfig): IncidentBook => new IncidentBook(data, config);

const CIRCUIT = { Network_Link_Circuit: ["EXN-STO-CPH-01"] };

void test("a first ticket opens INC-<12 hex of sha256(TT_ID)>: two independent books (two bots) agree", () => {
  const expected = `INC-${createHash("sha256").update("EXN_1").digest("hex").slice(0, 12)}`;
  const dataA = emptyStore();
  const dataB = emptyStore();
  const bookA = book(dataA);
  const a = bookA.assign(tk("EXN_1", 0, CIRCUIT), [ROOM_A], nowAt(0.2));
  // The other bot posts the ticket elsewhere, later, and knows other tickets: the first ticket names the incident.
  const other = book(dataB);
  other.assign(tk("NORD_9", 50, { Network_Link_Circuit: ["NORD-X"] }), [SHARED], nowAt(50.2));
  const b = other.assign(tk("EXN_1", 0, CIRCUIT), [SHARED], nowAt(3));

  for (const [name, x] of [["bot A", a], ["bot B", b]] as const) {
    assert.match(x.incidentId, /^INC-[0-9a-f]{12}$/, name);
    assert.equal(x.incidentId, expected, name);
    assert.equal(x.thread, x.incidentId, `${name}: the thread starts as the incident id`);
    assert.equal(x.decision.kind, "new", name);
    assert.deepEqual(x.others, [], name);
    assert.equal(x.closedNow, false, name);
    assert.equal(x.reopenedNow, false, name);
    assert.match(x.explanation, /^opens new incident INC-[0-9a-f]{12}: /, name);
  }
  assert.deepEqual(bookA.record(expected), { id: expected, thread: expected, createdAt: nowAt(0.2).toISOString(), rooms: {} });
  assert.equal(other.record(expected)?.createdAt, nowAt(3).toISOString());
  assert.notEqual(book().assign(tk("EXN_2", 0, CIRCUIT), [], nowAt(0.2)).incidentId, expected, "another first ticket, another id");
});

void test("joining: a shared circuit joins; the same circuit or service far apart in time does not", () => {
  // Threshold 3: the same service alone (2 + 1) would be enough, so only time keeps the far one out.
  const serviceAlone = CorrelationConfigSchema.parse({ threshold: 3 });
  const cases: { name: string; incoming: Ticket; now: Date; config?: CorrelationConfig; join: boolean; rules?: string[] }[] = [
    { name: "same circuit, written differently, same time", incoming: tk("NORD_7", 0.5, { Network_Link_Circuit: [" exn-sto-CPH-01"] }), now: nowAt(1), join: true, rules: ["circuit", "timeOverlap"] },
    { name: "same circuit, ten days later", incoming: tk("NORD_7", 240, CIRCUIT), now: nowAt(240.2), join: false },
    { name: "same service, same time (service weighs enough here)", incoming: tk("NORD_7", 0.5, { Affected_Service: "ip transit" }), now: nowAt(1), config: serviceAlone, join: true, rules: ["service", "timeOverlap"] },
    { name: "same service, ten days later", incoming: tk("NORD_7", 240, { Affected_Service: "IP transit" }), now: nowAt(240.2), config: serviceAlone, join: false },
    { name: "same service, same time, default weights (3 < 5)", incoming: tk("NORD_7", 0.5, { Affected_Service: "IP transit" }), now: nowAt(1), join: false },
    { name: "one shared node only (4 < 5)", incoming: tk("NORD_7", 0.5, { Network_Node: ["sto-core-1"] }), now: nowAt(1), join: false },
    { name: "an explicit reference, ten days later", incoming: tk("NORD_7", 240, { Related_External_Tickets: ["EXN_1"] }), now: nowAt(240.2), join: true, rules: ["reference"] },
  ];
  for (const c of cases) {
    const b = book(emptyStore(), c.config);
    const first = b.assign(tk("EXN_1", 0, { ...CIRCUIT, Network_Node: ["STO-CORE-1"], Affected_Service: "IP Transit" }), [ROOM_A], nowAt(0.2));
    const a = b.assign(c.incoming, [ROOM_B], c.now);
    if (c.join) {
      assert.equal(a.decision.kind, "join", c.name);
      assert.equal(a.incidentId, first.incidentId, c.name);
      assert.deepEqual(a.others, ["EXN_1"], c.name);
      assert.deepEqual(a.decision.kind === "join" ? a.decision.matched.map((m) => m.rule) : [], c.rules, c.name);
      assert.match(a.explanation, new RegExp(`^joins incident ${first.incidentId} `), c.name);
      assert.deepEqual(b.members(first.incidentId).map((m) => m.ttId), ["EXN_1", "NORD_7"], c.name);
    } else {
      assert.equal(a.decision.kind, "new", c.name);
      assert.equal(a.incidentId, newIncidentId("NORD_7"), c.name);
      assert.deepEqual(a.others, [], c.name);
      assert.deepEqual(b.members(first.incidentId).map((m) => m.ttId), ["EXN_1"], c.name);
    }
  }
});

void test("threading: no reply target until the room's first message is noted, by incident id or by thread id", () => {
  const data = emptyStore();
  const b = book(data);
  const { incidentId: id } = b.assign(tk("EXN_1", 0, CIRCUIT), [ROOM_A, ROOM_B], nowAt(0.2));
  const adopted = "INC-000000000000";
  const none = { thread: id, incident: id, replyTo: undefined };
  const steps: { name: string; act: () => void; expected: Record<string, ReturnType<IncidentBook["threading"]>> }[] = [
    { name: "nothing noted yet", act: () => undefined, expected: { [ROOM_A]: none, [ROOM_B]: none, [SHARED]: none } },
    {
      name: "first message in room A, noted by incident id",
      act: () => b.noteFirstMessage(id, ROOM_A, "st-a1", `${ROOM_A}/exn-bot`),
      expected: { [ROOM_A]: { ...none, replyTo: { id: "st-a1", to: `${ROOM_A}/exn-bot` } }, [ROOM_B]: none, [SHARED]: none },
    },
    {
      name: "a later message in room A does not replace the first",
      act: () => b.noteFirstMessage(id, ROOM_A, "st-a2", `${ROOM_A}/exn-bot`),
      expected: { [ROOM_A]: { ...none, replyTo: { id: "st-a1", to: `${ROOM_A}/exn-bot` } }, [ROOM_B]: none, [SHARED]: none },
    },
    {
      name: "an unknown incident or thread changes nothing",
      act: () => b.noteFirstMessage("INC-123456789abc", ROOM_B, "st-x", `${ROOM_B}/someone`),
      expected: { [ROOM_A]: { ...none, replyTo: { id: "st-a1", to: `${ROOM_A}/exn-bot` } }, [ROOM_B]: none, [SHARED]: none },
    },
    {
      name: "a peer's smaller thread adopted: reply targets are learnt again",
      act: () => assert.equal(b.adoptThread(id, adopted), true),
      expected: {
        [ROOM_A]: { ...none, thread: adopted },
        [ROOM_B]: { ...none, thread: adopted },
        [SHARED]: { ...none, thread: adopted },
      },
    },
    {
      name: "the peer's message in the shared room, noted by its thread id",
      act: () => b.noteFirstMessage(adopted, SHARED, "st-s1", `${SHARED}/nord-bot`),
      expected: {
        [ROOM_A]: { ...none, thread: adopted },
        [ROOM_B]: { ...none, thread: adopted },
        [SHARED]: { thread: adopted, incident: id, replyTo: { id: "st-s1", to: `${SHARED}/nord-bot` } },
      },
    },
  ];
  for (const s of steps) {
    s.act();
    for (const [room, expected] of Object.entries(s.expected)) assert.deepEqual(b.threading(id, room), expected, `${s.name}: ${room}`);
  }
  assert.deepEqual(b.recordIds(), [id], "no record is created for an unknown id");
  assert.deepEqual(b.threading("INC-unknown", ROOM_A), { thread: "INC-unknown", incident: "INC-unknown", replyTo: undefined });
});

void test("adoptThread keeps the smaller id only, and resets the reply targets when it changes", () => {
  const cases: { name: string; peer: string; incident?: string; adopted: boolean }[] = [
    { name: "smaller peer id", peer: "INC-000000000000", adopted: true },
    { name: "larger peer id", peer: "INC-ffffffffffff", adopted: false },
    { name: "the same id", peer: "", adopted: false },
    { name: "unknown incident", peer: "INC-000000000000", incident: "INC-123456789abc", adopted: false },
  ];
  for (const c of cases) {
    const data = emptyStore();
    const b = book(data);
    const { incidentId: id } = b.assign(tk("EXN_1", 0, CIRCUIT), [ROOM_A], nowAt(0.2));
    b.noteFirstMessage(id, ROOM_A, "st-a1", `${ROOM_A}/exn-bot`);
    const peer = c.peer || id;
    assert.equal(b.adoptThread(c.incident ?? id, peer), c.adopted, c.name);
    const rec = b.record(id);
    assert.equal(rec?.thread, c.adopted ? peer : id, c.name);
    assert.deepEqual(rec?.rooms, c.adopted ? {} : { [ROOM_A]: { id: "st-a1", to: `${ROOM_A}/exn-bot` } }, c.name);
    assert.equal(rec?.id, id, `${c.name}: the incident keeps its own id`);
    assert.deepEqual(b.recordIds(), [id], c.name);
  }

  // Once adopted, only a still smaller id moves the thread again; later assignments carry it.
  const b = book();
  const { incidentId: id } = b.assign(tk("EXN_1", 0, CIRCUIT), [ROOM_A], nowAt(0.2));
  assert.equal(b.adoptThread(id, "INC-2"), true);
  assert.equal(b.adoptThread(id, "INC-3"), false);
  assert.equal(b.adoptThread(id, "INC-1"), true);
  const joined = b.assign(tk("NORD_7", 0.5, CIRCUIT), [], nowAt(1));
  assert.equal(joined.incidentId, id);
  assert.equal(joined.thread, "INC-1");
});

void test("closedNow only when the last open member becomes final, reopenedNow when one reopens", () => {
  const data = emptyStore();
  const b = book(data);
  const exn = tk("EXN_1", 0, CIRCUIT);
  const nord = tk("NORD_7", 0.5, CIRCUIT);
  const id = newIncidentId("EXN_1");
  const steps: { name: string; ticket: Ticket; h: number; closedNow: boolean; reopenedNow: boolean; status: "open" | "closed" }[] = [
    { name: "EXN_1 opens the incident", ticket: exn, h: 0.2, closedNow: false, reopenedNow: false, status: "open" },
    { name: "NORD_7 joins", ticket: nord, h: 1, closedNow: false, reopenedNow: false, status: "open" },
    { name: "EXN_1 closed, NORD_7 still open", ticket: closed(exn, 2), h: 2, closedNow: false, reopenedNow: false, status: "open" },
    { name: "NORD_7 closed: the last open member", ticket: closed(nord, 3), h: 3, closedNow: true, reopenedNow: false, status: "closed" },
    { name: "NORD_7 closed again (history edited)", ticket: { ...closed(nord, 3), History: "fixed\nRFO sent" }, h: 4, closedNow: false, reopenedNow: false, status: "closed" },
    { name: "EXN_1 reopened", ticket: reopened(closed(exn, 2), 5), h: 5, closedNow: false, reopenedNow: true, status: "open" },
    { name: "EXN_1 updated while open", ticket: { ...reopened(closed(exn, 2), 5), History: "still down" }, h: 6, closedNow: false, reopenedNow: false, status: "open" },
    { name: "EXN_1 closed again: closed once more", ticket: closed(exn, 7), h: 7, closedNow: true, reopenedNow: false, status: "closed" },
  ];
  for (const s of steps) {
    const a = b.assign(s.ticket, [ROOM_A], nowAt(s.h));
    assert.equal(a.incidentId, id, s.name);
    assert.deepEqual({ closedNow: a.closedNow, reopenedNow: a.reopenedNow }, { closedNow: s.closedNow, reopenedNow: s.reopenedNow }, s.name);
    assert.equal(b.statusOf(id), s.status, s.name);
    if (s.closedNow) assert.equal(b.record(id)?.closedAt, nowAt(s.h).toISOString(), s.name);
    if (s.reopenedNow) assert.equal(b.record(id)?.closedAt, undefined, s.name);
  }
  assert.equal(b.record(id)?.closedAt, nowAt(7).toISOString());
});

void test("a single ticket: arriving already closed is not 'closedNow'; closing later is (its own message says so)", () => {
  const cases: { name: string; tickets: Ticket[]; last: Pick<Assignment, "closedNow" | "reopenedNow"> }[] = [
    { name: "arrives closed", tickets: [closed(tk("EXN_1", 0, CIRCUIT), 1)], last: { closedNow: false, reopenedNow: false } },
    { name: "arrives closed, then updated closed", tickets: [closed(tk("EXN_1", 0, CIRCUIT), 1), { ...closed(tk("EXN_1", 0, CIRCUIT), 1), History: "RFO" }], last: { closedNow: false, reopenedNow: false } },
    { name: "arrives open, then closes", tickets: [tk("EXN_1", 0, CIRCUIT), closed(tk("EXN_1", 0, CIRCUIT), 1)], last: { closedNow: true, reopenedNow: false } },
    { name: "arrives closed, then reopens", tickets: [closed(tk("EXN_1", 0, CIRCUIT), 1), reopened(closed(tk("EXN_1", 0, CIRCUIT), 1), 2)], last: { closedNow: false, reopenedNow: true } },
  ];
  for (const c of cases) {
    const b = book();
    let last: Assignment | undefined;
    for (const [i, t] of c.tickets.entries()) last = b.assign(t, [ROOM_A], nowAt(1 + i));
    assert.deepEqual({ closedNow: last?.closedNow, reopenedNow: last?.reopenedNow }, c.last, c.name);
    assert.equal(b.members(last?.incidentId ?? "").length, 1, c.name);
  }
});

void test("members (by open time, with status) and roomsOf (union of the members' rooms; a peer's ticket adds none)", () => {
  const b = book();
  const { incidentId: id } = b.assign(tk("NORD_7", 0.5, CIRCUIT), [], nowAt(1)); // a peer's ticket first
  b.assign(tk("EXN_2", 0, CIRCUIT), [ROOM_A], nowAt(1.1));
  b.assign(closed(tk("EXN_1", 0, CIRCUIT), 1), [ROOM_B, ROOM_A], nowAt(1.2));
  b.assign(tk("EXN_9", 100, { Network_Link_Circuit: ["OTHER"] }), [SHARED], nowAt(100.2));

  assert.equal(id, newIncidentId("NORD_7"), "the first ticket seen names the incident, whatever its open time");
  assert.deepEqual(b.members(id), [
    { ttId: "EXN_1", status: "Closed" },
    { ttId: "EXN_2", status: "Opened" },
    { ttId: "NORD_7", status: "Opened" },
  ]);
  assert.deepEqual(b.roomsOf(id), [ROOM_A, ROOM_B]);
  assert.deepEqual(b.members("INC-unknown"), []);
  assert.deepEqual(b.roomsOf("INC-unknown"), []);
  assert.deepEqual(b.roomsOf(newIncidentId("EXN_9")), [SHARED]);
});

function stored(ticket: Ticket, rooms: string[], extra: Partial<StoredTicket> = {}): StoredTicket {
  return { ticket, hash: changeHash(ticket), source: "exn", firstSeen: ticket.TT_Open_Datetime, lastChange: ticket.TT_Last_Update_Time, rooms, ...extra };
}

void test("rebuilding from a store: tickets that carry an incident keep it", () => {
  const data = emptyStore();
  // Assigned by hand (e.g. moved by an earlier reference): not what correlation alone would say.
  data.tickets.set("EXN_1", stored(tk("EXN_1", 0, CIRCUIT), [ROOM_A], { incident: "INC-aaaaaaaaaaaa" }));
  data.tickets.set("EXN_2", stored(tk("EXN_2", 200, { Network_Link_Circuit: ["OTHER"] }), [ROOM_B], { incident: "INC-aaaaaaaaaaaa" }));
  data.tickets.set("EXN_3", stored(tk("EXN_3", 0.2, CIRCUIT), [SHARED], { incident: "INC-bbbbbbbbbbbb" }));
  data.incidents.set("INC-aaaaaaaaaaaa", { id: "INC-aaaaaaaaaaaa", thread: "INC-000000000001", createdAt: at(0.2), rooms: { [ROOM_A]: { id: "st-1", to: `${ROOM_A}/exn-bot` } } });
  const before = structuredClone(data);
  const b = book(data);

  assert.deepEqual(data, before, "nothing in the store changes");
  assert.equal(b.index.incidentOf("EXN_1"), "INC-aaaaaaaaaaaa");
  assert.equal(b.index.incidentOf("EXN_2"), "INC-aaaaaaaaaaaa");
  assert.equal(b.index.incidentOf("EXN_3"), "INC-bbbbbbbbbbbb", "kept apart although they share a circuit");
  assert.deepEqual(b.members("INC-aaaaaaaaaaaa").map((m) => m.ttId), ["EXN_1", "EXN_2"]);
  assert.deepEqual(b.roomsOf("INC-aaaaaaaaaaaa"), [ROOM_A, ROOM_B]);
  assert.deepEqual(b.threading("INC-aaaaaaaaaaaa", ROOM_A), { thread: "INC-000000000001", incident: "INC-aaaaaaaaaaaa", replyTo: { id: "st-1", to: `${ROOM_A}/exn-bot` } });

  // A new ticket on the circuit joins the oldest of the two incidents.
  const a = b.assign(tk("NORD_7", 0.5, CIRCUIT), [], nowAt(1));
  assert.equal(a.incidentId, "INC-aaaaaaaaaaaa");
  assert.equal(a.thread, "INC-000000000001");
});

void test("rebuilding from a store: tickets without an incident are correlated oldest first", () => {
  const cases: { name: string; tickets: Ticket[]; first: string }[] = [
    { name: "stored newest first", tickets: [tk("NORD_7", 0.5, CIRCUIT), tk("EXN_1", 0, CIRCUIT)], first: "EXN_1" },
    { name: "stored oldest first", tickets: [tk("EXN_1", 0, CIRCUIT), tk("NORD_7", 0.5, CIRCUIT)], first: "EXN_1" },
    {
      // 11:30+02:00 is 09:30Z, before 10:00Z: the older ticket, although its text sorts after.
      name: "open times written with different offsets",
      tickets: [tk("NORD_7", 0, { ...CIRCUIT, TT_Open_Datetime: "2026-11-28T10:00:00Z" }), tk("EXN_1", -1, { ...CIRCUIT, TT_Open_Datetime: "2026-11-28T11:30:00+02:00" })],
      first: "EXN_1",
    },
    {
      name: "the same open time: by TT_ID, not by store order",
      tickets: [tk("NORD_7", 0, { ...CIRCUIT, TT_Open_Datetime: at(0) }), tk("EXN_1", 0, { ...CIRCUIT, TT_Open_Datetime: at(0) })],
      first: "EXN_1",
    },
  ];
  for (const c of cases) {
    const data = emptyStore();
    for (const t of c.tickets) data.tickets.set(t.TT_ID, stored(t, [ROOM_A]));
    const b = book(data);
    const id = newIncidentId(c.first);
    for (const t of c.tickets) {
      assert.equal(b.startup.get("tickets", t.TT_ID)?.incident, id, `${c.name}: ${t.TT_ID} is written back with its incident`);
      assert.ok(b.startup.get("tickets", t.TT_ID)?.correlation, `${c.name}: ${t.TT_ID} says why (for show)`);
    }
    assert.deepEqual(b.recordIds(), [id], c.name);
    assert.deepEqual([...b.startup.puts("incidents")].map((r) => r.id), [id], `${c.name}: the new record is written too`);
    assert.deepEqual(b.roomsOf(id), [ROOM_A], c.name);
    assert.equal(b.statusOf(id), "open", c.name);
  }
});

void test("an archived ticket leaves the index; its incident goes when no member is left", () => {
  const data = emptyStore();
  const b = new IncidentBook(data, defaultCorrelationConfig);
  const one = b.assign(tk("EXN_1", 0, { Network_Link_Circuit: ["C-1"] }), [ROOM_A], nowAt(0.2));
  b.assign(tk("EXN_2", 0.5, { Network_Link_Circuit: ["C-1"] }), [ROOM_A], nowAt(0.6));
  b.forget("EXN_1");
  assert.equal(b.index.has("EXN_1"), false);
  assert.ok(b.record(one.incidentId), "EXN_2 is still a member");
  b.forget("EXN_2");
  assert.equal(b.record(one.incidentId), undefined);
  assert.equal(b.index.hasIncident(one.incidentId), false);
});

void test("assigning to a big incident does not list its members (that was quadratic in a big first poll); `others` is worked out when read", () => {
  const b = book();
  const index = b.index as unknown as { incident: (id: string) => unknown };
  const original = index.incident.bind(b.index);
  let snapshots = 0;
  index.incident = (id: string) => {
    snapshots++;
    return original(id);
  };
  let last: Assignment | undefined;
  for (let i = 1; i <= 300; i++) last = b.assign(tk(`EXN_${i}`, 0.001 * i, CIRCUIT), [ROOM_A], nowAt(1));
  assert.equal(snapshots, 0, "no member list per assignment");
  assert.ok(last);
  assert.equal(b.statusOf(last.incidentId), "open");
  assert.equal(last.others.length, 299, "read on demand");
  assert.equal(last.others[0], "EXN_1");
  assert.equal(snapshots, 1);
  // Closing all of them but one keeps it open; the last closes it (the counter, not a scan).
  let closing: Assignment | undefined;
  for (let i = 1; i <= 300; i++) closing = b.assign(closed(tk(`EXN_${i}`, 0.001 * i, CIRCUIT), 2), [ROOM_A], nowAt(2));
  assert.ok(closing);
  assert.equal(closing.closedNow, true);
  assert.equal(b.statusOf(closing.incidentId), "closed");
});

void test("plan: changes are seen inside, undone after; apply() redoes them; a plan that throws leaves nothing behind", () => {
  const b = book();
  const exn1 = tk("EXN_1", 0, CIRCUIT);
  const planned = b.plan(() => {
    const a = b.assign(exn1, [ROOM_A], nowAt(0.2));
    // Inside the plan, a second ticket sees the first.
    const joined = b.assign(tk("NORD_7", 0.5, CIRCUIT), [], nowAt(1));
    assert.equal(joined.incidentId, a.incidentId);
    return a.incidentId;
  });
  assert.equal(b.index.size, 0, "undone after the plan");
  assert.equal(b.record(planned.result), undefined);
  assert.deepEqual([...planned.records.keys()], [planned.result], "the record to write");
  planned.apply();
  assert.equal(b.index.incidentOf("NORD_7"), planned.result);
  assert.deepEqual(b.roomsOf(planned.result), [ROOM_A]);
  assert.ok(b.record(planned.result));

  const before = { size: b.index.size, ids: b.recordIds(), status: b.statusOf(planned.result) };
  assert.throws(
    () =>
      b.plan(() => {
        b.assign(closed(exn1, 2), [ROOM_A], nowAt(2));
        b.assign(tk("GEANT_3", 0.5, CIRCUIT), [ROOM_B], nowAt(2));
        throw new Error("planning crashed");
      }),
    /planning crashed/,
  );
  assert.deepEqual({ size: b.index.size, ids: b.recordIds(), status: b.statusOf(planned.result) }, before, "as it was");
  assert.deepEqual(b.roomsOf(planned.result), [ROOM_A]);
});
