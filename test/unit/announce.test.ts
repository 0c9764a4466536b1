import { test } from "node:test";
import assert from "node:assert/strict";
import { defaultCorrelationConfig } from "../../src/correlate/engine.js";
import { TicketActivitySchema, incidentOf, nocActor } from "../../src/model/activity.js";
import type { Ticket } from "../../src/model/ticket.js";
import { renderActivity } from "../../src/render/ticket-message.js";
import { announceChange, incidentLine, incidentPrefix, incidentStatusNotices, outboxId, type AnnounceContext } from "../../src/intake/announce.js";
import { IncidentBook, type Assignment } from "../../src/intake/incidents.js";
import { changeHash } from "../../src/sources/feed/plan.js";
import { emptyStore, type StoredTicket } from "../../src/store/types.js";
import { ROOM_A, ROOM_B, SHARED, at, nowAt, tk, closed } from "../fixtures/incident-tickets.js";


function stored(ticket: Ticket, rooms: string[]): StoredTicket {
  return { ticket, hash: changeHash(ticket), source: "exn", firstSeen: at(0.2), lastChange: at(0.2), rooms };
}

const CIRCUIT = { Network_Link_Circuit: ["EXN-STO-CPH-01"] };
const render = { maxLongDescription: 600, timeZone: "UTC" };
const actor = nocActor({ id: "EXN", name: "ExampleNet NOC" });
const ctxOf = (now: Date, incidents?: IncidentBook): AnnounceContext => ({ actor, render, incidents, now });
const INC = /^INC-[0-9a-f]{12}$/;

void test("announceChange without an incident port: one unthreaded entry per room, ids stable per activity and room", () => {
  const b = new IncidentBook(emptyStore(), defaultCorrelationConfig);
  const s = stored(tk("EXN_1", 0, CIRCUIT), [ROOM_A, SHARED]);
  const cases: { name: string; assignment: Assignment | undefined }[] = [
    { name: "no assignment", assignment: undefined },
    { name: "an assignment, but no port to thread with", assignment: b.assign(s.ticket, s.rooms, nowAt(0.2)) },
  ];
  for (const c of cases) {
    const { activity, outbox } = announceChange(ctxOf(nowAt(0.2)), s, undefined, "Create", c.assignment);
    assert.deepEqual(outbox.map((o) => o.room), [ROOM_A, SHARED], c.name);
    assert.equal(incidentOf(activity), c.assignment?.thread, c.name);
    const rendered = renderActivity(activity, render);
    for (const o of outbox) {
      assert.deepEqual(
        { thread: o.thread, incident: o.incident, replyTo: o.replyTo },
        { thread: undefined, incident: undefined, replyTo: undefined },
        `${c.name}: unthreaded`,
      );
      assert.ok(!("thread" in o) && !("incident" in o) && !("replyTo" in o), `${c.name}: no empty keys written to the store`);
      assert.equal(o.body, rendered, `${c.name}: no prefix, no incident line`);
      assert.equal(o.id, outboxId(activity.id, o.room), c.name);
      assert.equal(o.ticketId, "EXN_1", c.name);
      assert.deepEqual(TicketActivitySchema.parse(JSON.parse(o.json ?? "null")), activity, c.name);
      assert.deepEqual({ createdAt: o.createdAt, attempts: o.attempts }, { createdAt: nowAt(0.2).toISOString(), attempts: 0 }, c.name);
    }
    assert.equal(new Set(outbox.map((o) => o.id)).size, 2, `${c.name}: one id per room`);
    const again = announceChange(ctxOf(nowAt(0.2)), s, undefined, "Create", c.assignment);
    assert.deepEqual(again.outbox.map((o) => o.id), outbox.map((o) => o.id), `${c.name}: same activity, same ids`);
    const later = announceChange(ctxOf(nowAt(0.3)), s, undefined, "Create", c.assignment);
    assert.equal(later.outbox.filter((o) => outbox.some((x) => x.id === o.id)).length, 0, `${c.name}: a later activity has new ids`);
  }
});

void test("announceChange with a book: every entry threaded, the activity's context is the thread; a lone ticket has no prefix", () => {
  const cases: { name: string; adopt?: string }[] = [{ name: "the incident's own thread" }, { name: "a peer's adopted thread", adopt: "INC-000000000abc" }];
  for (const c of cases) {
    const b = new IncidentBook(emptyStore(), defaultCorrelationConfig);
    const s = stored(tk("EXN_1", 0, CIRCUIT), [ROOM_A, ROOM_B, SHARED]);
    let a = b.assign(s.ticket, s.rooms, nowAt(0.2));
    if (c.adopt) {
      assert.ok(b.adoptThread(a.incidentId, c.adopt));
      a = b.assign(s.ticket, s.rooms, nowAt(0.2));
    }
    const thread = c.adopt ?? a.incidentId;
    assert.equal(a.thread, thread, c.name);
    const { activity, outbox } = announceChange(ctxOf(nowAt(0.2), b), s, undefined, "Create", a);
    assert.match(a.incidentId, INC, c.name);
    assert.equal(activity.context, `urn:ttrelay:incident:${thread}`, c.name);
    assert.equal(incidentOf(TicketActivitySchema.parse(JSON.parse(outbox[0]?.json ?? "null"))), thread, `${c.name}: the JSON says so too`);
    assert.deepEqual(outbox.map((o) => o.room), [ROOM_A, ROOM_B, SHARED], c.name);
    for (const o of outbox) {
      assert.equal(o.thread, thread, c.name);
      assert.equal(o.incident, a.incidentId, c.name);
      assert.equal(o.replyTo, undefined, `${c.name}: the first message replies to nothing`);
      // The prefix groups related messages for clients without threads: a lone ticket needs none.
      assert.equal(o.body, renderActivity(activity, render), `${c.name}: a lone ticket has no prefix and no incident line`);
      assert.ok(!o.body.startsWith(incidentPrefix(thread)), c.name);
    }
  }
});

void test("announceChange: a later message of the incident replies to the first one in that room only", () => {
  const b = new IncidentBook(emptyStore(), defaultCorrelationConfig);
  const exn1 = stored(tk("EXN_1", 0, CIRCUIT), [ROOM_A, ROOM_B, SHARED]);
  const a1 = b.assign(exn1.ticket, exn1.rooms, nowAt(0.2));
  const first = announceChange(ctxOf(nowAt(0.2), b), exn1, undefined, "Create", a1);
  assert.ok(first.outbox.every((o) => o.replyTo === undefined));
  // The rooms echo the first message; only A and the shared room are heard back so far.
  b.noteFirstMessage(a1.incidentId, ROOM_A, "st-a1", `${ROOM_A}/exn-bot`);
  b.noteFirstMessage(a1.thread, SHARED, "st-s1", `${SHARED}/exn-bot`);

  const exn2 = stored(tk("EXN_2", 0.5, { Network_Link_Circuit: ["exn-sto-cph-01"] }), [ROOM_A, ROOM_B, SHARED]);
  const a2 = b.assign(exn2.ticket, exn2.rooms, nowAt(1));
  assert.equal(a2.incidentId, a1.incidentId);
  const second = announceChange(ctxOf(nowAt(1), b), exn2, undefined, "Create", a2);
  assert.deepEqual(
    second.outbox.map((o) => [o.room, o.replyTo]),
    [
      [ROOM_A, { id: "st-a1", to: `${ROOM_A}/exn-bot` }],
      [ROOM_B, undefined],
      [SHARED, { id: "st-s1", to: `${SHARED}/exn-bot` }],
    ],
  );
  const lines = second.outbox[0]?.body.split("\n") ?? [];
  assert.deepEqual(
    lines.slice(0, 3),
    [`[${a1.thread}] *EXN_2* new · Opened · No connectivity`, "Link down", `Incident ${a1.thread} with EXN_1: circuit exn-sto-cph-01`],
    "the incident line comes after the id line and the title",
  );

  // An update of EXN_1 replies too, and says what changed: compact, one line for a closure.
  const upd = stored(closed(exn1.ticket, 2), exn1.rooms);
  const a3 = b.assign(upd.ticket, upd.rooms, nowAt(2));
  const third = announceChange(ctxOf(nowAt(2), b), upd, exn1.ticket, "Update", a3);
  assert.equal(third.outbox[1]?.replyTo, undefined);
  assert.deepEqual(third.outbox[0]?.replyTo, { id: "st-a1", to: `${ROOM_A}/exn-bot` });
  assert.match(third.outbox[0]?.body ?? "", /^\[INC-[0-9a-f]{12}\] \*EXN_1\* closed \(was Opened\) · Link down · fixed$/);
  assert.ok(TicketActivitySchema.parse(JSON.parse(third.outbox[0]?.json ?? "{}")).object["nttdm:ticket"].TT_Close_Datetime, "the payload is the whole ticket, not the short line");
  // Once the ticket's own first message in a room is known, its updates reply to that one there.
  const withPosts: StoredTicket = { ...upd, posts: { [SHARED]: { id: "st-t1", to: `${SHARED}/exn-bot` } } };
  const fourth = announceChange(ctxOf(nowAt(2), b), withPosts, exn1.ticket, "Update", a3);
  assert.deepEqual(fourth.outbox.map((o) => [o.room, o.replyTo?.id]), [[ROOM_A, "st-a1"], [ROOM_B, undefined], [SHARED, "st-t1"]]);
  // A room that asked for full cards (`!updates full`) gets the whole card, with the incident line.
  const full = announceChange({ ...ctxOf(nowAt(2), b), updatesIn: (room) => (room === ROOM_A ? "full" : undefined) }, upd, exn1.ticket, "Update", a3);
  assert.match(full.outbox[0]?.body ?? "", /^\[INC-[0-9a-f]{12}\] \*EXN_1\* closed · No connectivity\nLink down\nIncident INC-[0-9a-f]{12} with EXN_2\n[^]*\nChanged: status Opened → Closed/);
  assert.match(full.outbox[1]?.body ?? "", /^\[INC-[0-9a-f]{12}\] \*EXN_1\* closed \(was Opened\)/, "the other rooms keep compact updates");
});

/** The assignment of `incoming` in a book that already holds `earlier` (in order). */
function assignAfter(earlier: Ticket[], incoming: Ticket, now = nowAt(1)): Assignment {
  const b = new IncidentBook(emptyStore(), defaultCorrelationConfig);
  for (const t of earlier) b.assign(t, [ROOM_A], nowAt(0.5));
  return b.assign(incoming, [ROOM_A], now);
}

void test("incidentLine: the other members and why, with values as the NOC wrote them; empty for a lone ticket", () => {
  const exn1 = tk("EXN_1", 0, { Network_Link_Circuit: ["EXN-STO-CPH-01"], Network_Node: ["sto-core-1", "CPH-CORE-1"], Affected_Service: "IP transit" });
  const inc = `INC-${"[0-9a-f]".repeat(12)}`;
  const many = Array.from({ length: 8 }, (_, i) => tk(`EXN_${i + 1}`, 0, CIRCUIT));
  const cases: { name: string; earlier: Ticket[]; incoming: Ticket; now?: Date; line: RegExp | "" }[] = [
    { name: "a lone ticket", earlier: [], incoming: tk("NORD_7", 0.5, CIRCUIT), line: "" },
    { name: "unrelated to what is stored", earlier: [exn1], incoming: tk("NORD_7", 0.5, { Network_Link_Circuit: ["NORD-1"] }), line: "" },
    {
      name: "a circuit, as the incoming NOC spells it (never 'time overlap')",
      earlier: [exn1],
      incoming: tk("NORD_7", 0.5, { Network_Link_Circuit: ["Exn-Sto-Cph-01"] }),
      line: new RegExp(`^Incident ${inc} with EXN_1: circuit Exn-Sto-Cph-01$`),
    },
    {
      name: "two nodes",
      earlier: [exn1],
      incoming: tk("NORD_7", 0.5, { Network_Node: ["STO-CORE-1", "Cph-Core-1"] }),
      line: new RegExp(`^Incident ${inc} with EXN_1: node Cph-Core-1, node STO-CORE-1$`),
    },
    {
      name: "a node and the service",
      earlier: [exn1],
      incoming: tk("NORD_7", 0.5, { Network_Node: ["STO-CORE-1"], Affected_Service: "IP  Transit" }),
      line: new RegExp(`^Incident ${inc} with EXN_1: node STO-CORE-1, service IP  Transit$`),
    },
    {
      name: "everything matches: at most three reasons",
      earlier: [exn1],
      incoming: tk("NORD_7", 0.5, { Network_Link_Circuit: ["EXN-STO-CPH-01"], Network_Node: ["STO-CORE-1", "CPH-CORE-1"], Affected_Service: "IP transit" }),
      line: new RegExp(`^Incident ${inc} with EXN_1: circuit EXN-STO-CPH-01, node CPH-CORE-1, node STO-CORE-1$`),
    },
    {
      name: "the incoming ticket references a stored one, days later",
      earlier: [exn1],
      incoming: tk("NORD_7", 100, { Related_External_Tickets: ["EXN_1"] }),
      now: nowAt(100.2),
      line: new RegExp(`^Incident ${inc} with EXN_1: reference EXN_1$`),
    },
    {
      name: "a stored ticket referenced the incoming one before it arrived",
      earlier: [tk("EXN_1", 0, { Related_External_Tickets: ["NORD_7"] })],
      incoming: tk("NORD_7", 100),
      now: nowAt(100.2),
      line: new RegExp(`^Incident ${inc} with EXN_1: referenced by EXN_1$`),
    },
    {
      name: "a superseded ticket and its master",
      earlier: [exn1],
      incoming: { ...closed(tk("EXN_2", 0.5, { Related_Activity: ["EXN_1"] }), 1), TT_Status: "Superseded" },
      line: new RegExp(`^Incident ${inc} with EXN_1: master ticket EXN_1$`),
    },
    {
      name: "more than six others",
      earlier: many,
      incoming: tk("NORD_7", 0.5, CIRCUIT),
      line: new RegExp(`^Incident ${inc} with EXN_1, EXN_2, EXN_3, EXN_4, EXN_5, EXN_6 and 2 more: circuit EXN-STO-CPH-01$`),
    },
    { name: "an update staying in its incident: no reasons", earlier: [exn1, tk("NORD_7", 0.5, CIRCUIT)], incoming: closed(exn1, 2), line: new RegExp(`^Incident ${inc} with NORD_7$`) },
  ];
  for (const c of cases) {
    const a = assignAfter(c.earlier, c.incoming, c.now);
    const text = incidentLine(a, c.incoming);
    if (c.line === "") assert.equal(text, "", c.name);
    else assert.match(text, c.line, c.name);
    assert.doesNotMatch(text, /time|overlap/, c.name);
    if (text) assert.ok(text.startsWith(`Incident ${a.thread} `), `${c.name}: names the thread rooms show`);
  }
});

void test("incidentStatusNotices: only for incidents of two or more members, in each of their rooms, threaded", () => {
  const exn1 = tk("EXN_1", 0, CIRCUIT);
  const nord7 = tk("NORD_7", 0.5, CIRCUIT);

  // A two-member incident: EXN_1 in rooms A and shared, NORD_7 (a peer's) in none. Notices are
  // planned right after each assignment, as the pipeline does (they list the members as they are then).
  const two = new IncidentBook(emptyStore(), defaultCorrelationConfig);
  const a1 = two.assign(exn1, [ROOM_A, SHARED], nowAt(0.2));
  two.assign(nord7, [], nowAt(1));
  two.noteFirstMessage(a1.incidentId, ROOM_A, "st-a1", `${ROOM_A}/exn-bot`);
  const id = a1.incidentId;
  const one = new IncidentBook(emptyStore(), defaultCorrelationConfig);
  one.assign(exn1, [ROOM_A], nowAt(0.2));

  const cases: { name: string; book: IncidentBook; port?: false; ticket: Ticket; rooms: string[]; now: Date; bodies: string[] }[] = [
    { name: "one member of two closed", book: two, ticket: closed(exn1, 2), rooms: [ROOM_A, SHARED], now: nowAt(2), bodies: [] },
    {
      name: "the last open member closed",
      book: two,
      ticket: closed(nord7, 3),
      rooms: [],
      now: nowAt(3),
      bodies: [`[${id}] Incident *${id}* closed: all 2 tickets are final: EXN_1 (Closed), NORD_7 (Closed).`],
    },
    {
      name: "a member reopened",
      book: two,
      ticket: { ...closed(nord7, 3), TT_Status: "Reopened", History: "fixed\nagain" },
      rooms: [],
      now: nowAt(4),
      bodies: [`[${id}] Incident *${id}* reopened by NORD_7: EXN_1 (Closed), NORD_7 (Reopened).`],
    },
    { name: "an update that changes nothing of the incident's status", book: two, ticket: { ...nord7, TT_Status: "Updated", History: "x" }, rooms: [], now: nowAt(5), bodies: [] },
    { name: "closed again, but without a port", book: two, port: false, ticket: closed(nord7, 6), rooms: [], now: nowAt(6), bodies: [] },
    { name: "a one-ticket incident closed (its own message says so)", book: one, ticket: closed(exn1, 2), rooms: [ROOM_A], now: nowAt(2), bodies: [] },
  ];
  for (const c of cases) {
    const assignment = c.book.assign(c.ticket, c.rooms, c.now);
    const ctx = ctxOf(c.now, c.port === false ? undefined : c.book);
    if (c.port === false) assert.equal(assignment.closedNow, true, `${c.name}: it did close`);
    const notices = incidentStatusNotices(ctx, assignment, c.ticket.TT_ID);
    if (c.bodies.length === 0) {
      assert.deepEqual(notices, [], c.name);
      continue;
    }
    assert.deepEqual(notices.map((n) => n.room), [ROOM_A, SHARED], `${c.name}: every room of the incident, none of the peer's`);
    for (const n of notices) {
      assert.equal(n.body, c.bodies[0], c.name);
      assert.equal(n.thread, id, c.name);
      assert.equal(n.incident, id, c.name);
      assert.equal(n.json, undefined, `${c.name}: a notice carries no activity`);
      assert.equal(n.ticketId, undefined, c.name);
      assert.match(n.id, /^ttr-[0-9a-f]{24}$/, c.name);
    }
    assert.deepEqual(notices.map((n) => n.replyTo), [{ id: "st-a1", to: `${ROOM_A}/exn-bot` }, undefined], `${c.name}: replies where the first message is known`);
    assert.equal(new Set(notices.map((n) => n.id)).size, notices.length, c.name);
    assert.deepEqual(incidentStatusNotices(ctx, assignment, c.ticket.TT_ID).map((n) => n.id), notices.map((n) => n.id), `${c.name}: stable ids`);
  }
});

void test("an incident of two NOCs' tickets closes with one line in the room both bots share: the bot whose ticket opened it says it", () => {
  // Bot E (ExampleNet) posts EXN_1 in its room A and in SHARED; bot N (NordNet) posts NORD_7 in its
  // room B and in SHARED. Each keeps the other's ticket as a remote one, seen in SHARED.
  const exn1 = tk("EXN_1", 0, CIRCUIT);
  const nord7 = tk("NORD_7", 0.5, CIRCUIT);
  const bot = (own: Ticket, ownRooms: string[], peer: Ticket): IncidentBook => {
    const b = new IncidentBook(emptyStore(), defaultCorrelationConfig);
    // In open-time order, as both bots first saw them.
    for (const t of [exn1, nord7]) {
      if (t === own) b.assign(own, ownRooms, nowAt(1));
      else b.assign(peer, [], nowAt(1), SHARED);
    }
    return b;
  };
  const cases: { name: string; first: Ticket; second: Ticket }[] = [
    { name: "EXN_1 (opened first) closes first", first: exn1, second: nord7 },
    { name: "NORD_7 closes first", first: nord7, second: exn1 },
  ];
  for (const c of cases) {
    const e = bot(exn1, [ROOM_A, SHARED], nord7);
    const n = bot(nord7, [ROOM_B, SHARED], exn1);
    const roomsSaying = (b: IncidentBook, last: Ticket, lastRemote: boolean): string[] => {
      b.assign(closed(c.first, 2), [], nowAt(2));
      const a = b.assign(closed(last, 3), [], nowAt(3), lastRemote ? SHARED : undefined);
      return incidentStatusNotices(ctxOf(nowAt(3), b), a, last.TT_ID).map((x) => x.room);
    };
    // Each bot sees both closures; the assignment that closes the incident plans the notices.
    const fromE = roomsSaying(e, c.second, c.second === nord7);
    const fromN = roomsSaying(n, c.second, c.second === exn1);
    assert.deepEqual(fromE, [ROOM_A, SHARED], `${c.name}: ExampleNet's ticket opened the incident, its bot says it everywhere`);
    assert.deepEqual(fromN, [ROOM_B], `${c.name}: NordNet's bot says it in its own room only`);
    assert.equal([...fromE, ...fromN].filter((r) => r === SHARED).length, 1, `${c.name}: one line in the shared room`);
  }
});
