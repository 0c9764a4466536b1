import { test } from "node:test";
import assert from "node:assert/strict";
import { defaultCorrelationConfig, newIncidentId } from "../../src/correlate/engine.js";
import { nocActor, ticketActivity, type Actor, type TicketActivity } from "../../src/model/activity.js";
import type { Ticket } from "../../src/model/ticket.js";
import { outboxId } from "../../src/intake/announce.js";
import { IncidentBook } from "../../src/intake/incidents.js";
import { MAX_PEER_JSON, readPeerActivity, type PeerContext } from "../../src/sources/peer/activity.js";
import { changeHash, planIntake } from "../../src/intake/plan.js";
import type { LogLine } from "../../src/log/logger.js";
import type { RenderOptions } from "../../src/render/ticket-message.js";
import { emptyStore, type OutboxEntry, type StoredTicket } from "../../src/store/types.js";
import type { IncomingRoomMessage } from "../../src/xmpp/stanzas.js";
import { ROOM_A, ROOM_B, SHARED, at, nowAt, tk, closed } from "../fixtures/incident-tickets.js";


const CIRCUIT = { Network_Link_Circuit: ["EXN-STO-CPH-01"] };
const self = nocActor({ id: "EXN", name: "ExampleNet NOC" });
const nord = nocActor({ id: "NORD", name: "NordNet NOC" });
const NORD_URL = "https://noc.nordnet.example/tt/7";

/** The peer source's context plus what the intake needs to take the version in. */
type PeerTestContext = PeerContext & { actor: Actor; render: RenderOptions; incidents: IncidentBook; at: Date };

type PeerPlan = { ticket?: StoredTicket; outbox: OutboxEntry[]; logs: LogLine[]; threadAdopted?: boolean };

/** A peer's room message through the peer source and the intake, as the bot takes it in. */
function planPeerActivity(ctx: PeerTestContext, m: IncomingRoomMessage, senderJid: string | undefined, known: (ttId: string) => StoredTicket | undefined): PeerPlan {
  const reading = readPeerActivity(ctx, m, senderJid, known);
  if (!reading.version) return { outbox: [], logs: reading.logs };
  const plan = planIntake(
    { routes: [], actor: ctx.actor, render: ctx.render, now: ctx.at, incidents: ctx.incidents, lookup: known },
    { source: `peer:${m.room}`, versions: [reading.version], logFields: reading.who },
  );
  plan.applyIncidents();
  const ticket = plan.tickets[0];
  if (!ticket) return { outbox: plan.outbox, logs: [...reading.logs, ...plan.logs] };
  const context = reading.version.context;
  const threadAdopted = context !== undefined && context !== ticket.incident && ctx.incidents.record(ticket.incident ?? "")?.thread === context;
  return { ticket, outbox: plan.outbox, logs: [...reading.logs, ...plan.logs], threadAdopted };
}

const ctxOf = (incidents: IncidentBook, now: Date): PeerTestContext => ({
  now: () => now,
  actor: self,
  self,
  ownPartners: new Set(["EXN"]),
  render: { maxLongDescription: 600, timeZone: "UTC" },
  incidents,
  at: now,
  // Only NordNet's bot may speak for NORD (config `peerBots`).
  trusted: (jid, partner) => jid === PEER_JID && partner === "NORD",
  knownBot: (jid) => jid === PEER_JID,
});

const PEER_JID = "ttrelay@noc.nordnet.example";

/** A room message from the peer bot, with `json` as the XEP-0335 payload. */
function msg(json: string | undefined, room = SHARED): IncomingRoomMessage {
  return {
    room,
    nick: "nord-bot",
    body: "*NORD_7* new",
    originId: "o-1",
    stanzaId: "st-p1",
    delayed: false,
    json,
    occupantId: "occ-nord",
    thread: undefined,
    replyTo: undefined,
  };
}

/** What the peer bot posts: its own activity for its ticket, in its own incident (`context`). */
function peerActivity(ticket: Ticket, h: number, o: { type?: "Create" | "Update"; actor?: Actor; context?: string | null } = {}): TicketActivity {
  const a = ticketActivity(o.type ?? "Create", ticket, o.actor ?? nord, nowAt(h), NORD_URL);
  const context = o.context === undefined ? newIncidentId(ticket.TT_ID) : o.context;
  return context === null ? a : { ...a, context };
}

const json = (a: TicketActivity): string => JSON.stringify(a);

/** The store as the adapter keeps it. */
function storeOf(...tickets: StoredTicket[]): (id: string) => StoredTicket | undefined {
  const m = new Map(tickets.map((t) => [t.ticket.TT_ID, t]));
  return (id) => m.get(id);
}

/** Our side: EXN_1 on the circuit, posted to our own room and the shared room; first message in A known. */
function ourIncident(h = 0.2): { book: IncidentBook; id: string; exn1: StoredTicket } {
  const book = new IncidentBook(emptyStore(), defaultCorrelationConfig);
  const ticket = tk("EXN_1", 0, CIRCUIT);
  const exn1: StoredTicket = { ticket, hash: changeHash(ticket), source: "exn", firstSeen: at(h), lastChange: at(h), rooms: [ROOM_A, SHARED] };
  const { incidentId: id } = book.assign(ticket, exn1.rooms, nowAt(h));
  book.noteFirstMessage(id, ROOM_A, "st-a1", `${ROOM_A}/exn-bot`);
  return { book, id, exn1 };
}

const who = { room: SHARED, nick: "nord-bot", jid: PEER_JID, occupantId: "occ-nord" };

void test("peer payloads that are ignored: one log line naming room, nick and reason; nothing stored or posted", () => {
  const nord7 = tk("NORD_7", 0.5, CIRCUIT);
  // A peer ticket already taken in (hash of its content, without the update time).
  const knownPeer: StoredTicket = {
    ticket: nord7,
    hash: changeHash(nord7),
    source: `peer:${SHARED}`,
    firstSeen: at(0.6),
    lastChange: at(0.6),
    rooms: [],
    remote: { actor: nord.id, name: nord.name, room: SHARED, nick: "nord-bot" },
  };
  // NORD's public feed is also one of ours.
  const fromOurFeed: StoredTicket = { ...knownPeer, source: "nord-public", remote: undefined };
  const valid = json(peerActivity(nord7, 1));
  const cases: { name: string; json: string; known?: StoredTicket; level: "debug" | "warn"; reason: string | RegExp; ticket?: string }[] = [
    { name: "not JSON", json: "{\"type\": \"Create\",", level: "warn", reason: /^payload is not JSON \(.+\)$/ },
    { name: "JSON, not an object", json: "[1, 2]", level: "warn", reason: "not a valid ticket activity: (root): not a JSON object" },
    { name: "an AS2 Note, not a ticket activity", json: '{"type":"Note","content":"hi"}', level: "warn", reason: /^not a valid ticket activity: @context: / },
    {
      name: "a ticket activity whose ticket has a bad status",
      json: valid.replace('"TT_Status":"Opened"', '"TT_Status":"Broken"'),
      level: "warn",
      reason: /^not a valid ticket activity: object\.nttdm:ticket\.TT_Status: Invalid option/,
    },
    {
      name: "a closed ticket without its close times (RFC 6137 cross-field rule)",
      json: valid.replace('"TT_Status":"Opened"', '"TT_Status":"Closed"'),
      level: "warn",
      reason: /^not a valid ticket activity: object\.nttdm:ticket\.(TT_Close_Datetime|End_Datetime|History): /,
    },
    { name: "an actor without id", json: valid.replace(`"id":"${nord.id}"`, '"id":""'), level: "warn", reason: /^not a valid ticket activity: actor\.id: / },
    {
      name: "too large",
      json: " ".repeat(MAX_PEER_JSON - valid.length + 1) + valid,
      level: "warn",
      reason: `payload of ${MAX_PEER_JSON + 1} characters is larger than ${MAX_PEER_JSON}`,
    },
    {
      name: "our own NOC's ticket, by actor (another instance of this bot)",
      json: json(peerActivity(tk("NORD_7", 0.5, CIRCUIT), 1, { actor: self })),
      level: "debug",
      reason: "the activity is about this NOC's own ticket",
      ticket: "NORD_7",
    },
    {
      name: "our own NOC's ticket, by Partner_ID (a peer quoting us)",
      json: json(peerActivity(tk("EXN_1", 0, CIRCUIT), 1)),
      level: "debug",
      reason: "the activity is about this NOC's own ticket",
      ticket: "EXN_1",
    },
    {
      name: "a ticket this bot reads from one of its own feeds",
      json: valid,
      known: fromOurFeed,
      level: "warn",
      reason: "a peer posted a ticket this bot reads from its own source",
      ticket: "NORD_7",
    },
    { name: "a duplicate of a known peer ticket", json: valid, known: knownPeer, level: "debug", reason: "already known, unchanged", ticket: "NORD_7" },
    {
      name: "a known peer ticket re-posted with only a new update time",
      json: json(peerActivity({ ...nord7, TT_Last_Update_Time: at(3) }, 3, { type: "Update" })),
      known: knownPeer,
      level: "debug",
      reason: "already known, unchanged",
      ticket: "NORD_7",
    },
  ];
  assert.ok(valid.length < MAX_PEER_JSON);
  for (const c of cases) {
    const { book } = ourIncident();
    const size = book.index.size;
    // The bot's clock is past every activity's date (none is from the future).
    const plan = planPeerActivity(ctxOf(book, nowAt(3)), msg(c.json), PEER_JID, storeOf(...(c.known ? [c.known] : [])));
    assert.equal(plan.ticket, undefined, c.name);
    assert.deepEqual(plan.outbox, [], c.name);
    assert.equal(plan.threadAdopted, undefined, c.name);
    assert.equal(plan.logs.length, 1, c.name);
    const [line] = plan.logs;
    assert.equal(line?.level, c.level, c.name);
    assert.equal(line?.msg, "peer activity ignored", c.name);
    const { reason, ...rest } = line?.fields ?? {};
    assert.deepEqual(rest, { ...who, ...(c.ticket ? { ticket: c.ticket } : {}) }, c.name);
    if (typeof c.reason === "string") assert.equal(reason, c.reason, c.name);
    else assert.match(String(reason), c.reason, c.name);
    assert.equal(book.index.size, size, `${c.name}: not correlated`);
  }

  // A room message without a payload is no peer activity at all: not even a log line.
  const { book } = ourIncident();
  assert.deepEqual(planPeerActivity(ctxOf(book, nowAt(1)), msg(undefined), PEER_JID, storeOf()), { outbox: [], logs: [] });
});

void test("a new peer ticket unrelated to ours: stored as the peer's, correlated into its own incident, no notice", () => {
  const { book } = ourIncident();
  const nord7 = tk("NORD_7", 0.5, { Network_Link_Circuit: ["NORD-HEL-TLL-2"] });
  const activity = peerActivity(nord7, 1);
  const plan = planPeerActivity(ctxOf(book, nowAt(1)), msg(json(activity)), PEER_JID, storeOf());
  const id = newIncidentId("NORD_7");
  assert.deepEqual(plan.ticket, {
    ticket: nord7,
    hash: changeHash(nord7),
    source: `peer:${SHARED}`,
    link: NORD_URL,
    firstSeen: nowAt(1).toISOString(),
    lastChange: nowAt(1).toISOString(),
    rooms: [],
    incident: id,
    correlation: plan.ticket?.correlation,
    remote: { actor: nord.id, name: "NordNet NOC", room: SHARED, nick: "nord-bot", jid: PEER_JID },
    provenance: { source: `peer:${SHARED}`, item: activity.id, published: nowAt(1).toISOString() },
  });
  assert.match(plan.ticket?.correlation ?? "", /^opens new incident INC-f083de8e5c11: /);
  assert.equal(book.index.incidentOf("NORD_7"), id);
  assert.deepEqual(book.roomsOf(id), [], "a peer's ticket brings none of our rooms");
  assert.deepEqual(plan.outbox, []);
  assert.equal(plan.threadAdopted, false, "the peer's context is the same id: both bots named it alike");
  assert.deepEqual(plan.logs, [
    { level: "info", msg: "peer ticket received", fields: { ...who, ticket: "NORD_7", noc: "NordNet NOC", incident: id, thread: id, decision: "new" } },
  ]);
});

void test("a peer ticket joining our incident: one threaded notice per other room of ours, never a re-post", () => {
  const cases: { name: string; from: string; ourRooms: string[]; notices: string[] }[] = [
    { name: "posted in the shared room: notice in our own room only", from: SHARED, ourRooms: [ROOM_A, SHARED], notices: [ROOM_A] },
    { name: "posted in a room we do not post the incident to: notice in both of ours", from: ROOM_B, ourRooms: [ROOM_A, SHARED], notices: [ROOM_A, SHARED] },
  ];
  for (const c of cases) {
    const { book, id } = ourIncident();
    const nord7 = tk("NORD_7", 0.5, { Network_Link_Circuit: ["exn-sto-cph-01"] });
    const activity = peerActivity(nord7, 1);
    const plan: PeerPlan = planPeerActivity(ctxOf(book, nowAt(1)), msg(json(activity), c.from), PEER_JID, storeOf());

    assert.equal(plan.ticket?.incident, id, c.name);
    assert.equal(plan.ticket?.source, `peer:${c.from}`, c.name);
    assert.deepEqual(plan.ticket?.rooms, [], c.name);
    assert.match(plan.ticket?.correlation ?? "", new RegExp(`^joins incident ${id} \\(score 7 >= threshold 5\\):\n  - shares circuit "exn-sto-cph-01" with EXN_1 \\(\\+6\\)`), c.name);
    assert.deepEqual(book.members(id).map((m) => m.ttId), ["EXN_1", "NORD_7"], c.name);
    assert.deepEqual(book.roomsOf(id), c.ourRooms, `${c.name}: the peer's room is not added to ours`);
    assert.equal(plan.threadAdopted, false, `${c.name}: the peer's id is larger, ours stays`);

    assert.deepEqual(plan.outbox.map((o) => o.room), c.notices, c.name);
    for (const o of plan.outbox) {
      assert.equal(o.body, `[${id}] NordNet NOC reports *NORD_7* (Opened · No connectivity): Link down\nIncident ${id} with EXN_1: circuit exn-sto-cph-01`, c.name);
      assert.equal(o.json, undefined, `${c.name}: no payload: the activity is the peer's, not ours`);
      assert.equal(o.ticketId, "NORD_7", c.name);
      assert.equal(o.thread, id, c.name);
      assert.equal(o.incident, id, c.name);
      assert.equal(o.id, outboxId(`peer:${activity.id}`, o.room), c.name);
      assert.deepEqual(o.replyTo, o.room === ROOM_A ? { id: "st-a1", to: `${ROOM_A}/exn-bot` } : undefined, `${c.name}: replies to the incident's first message there`);
      assert.equal(o.createdAt, nowAt(1).toISOString(), c.name);
    }
    assert.deepEqual(plan.logs[0]?.fields, { room: c.from, nick: "nord-bot", jid: PEER_JID, occupantId: "occ-nord", ticket: "NORD_7", noc: "NordNet NOC", incident: id, thread: id, decision: "join" }, c.name);
  }

  // Only the room it came from is ours: nobody else to tell.
  const book = new IncidentBook(emptyStore(), defaultCorrelationConfig);
  book.assign(tk("EXN_1", 0, CIRCUIT), [SHARED], nowAt(0.2));
  const plan = planPeerActivity(ctxOf(book, nowAt(1)), msg(json(peerActivity(tk("NORD_7", 0.5, CIRCUIT), 1))), PEER_JID, storeOf());
  assert.equal(plan.ticket?.incident, newIncidentId("EXN_1"));
  assert.deepEqual(plan.outbox, []);
});

void test("updates of a known peer ticket: a notice for a status change only; closing the incident tells every room of ours", () => {
  const { book, id, exn1 } = ourIncident();
  const nord7 = tk("NORD_7", 0.5, CIRCUIT);
  const first = planPeerActivity(ctxOf(book, nowAt(1)), msg(json(peerActivity(nord7, 1))), PEER_JID, storeOf(exn1));
  assert.ok(first.ticket);
  let known = first.ticket;
  book.assign(closed(exn1.ticket, 1.5), exn1.rooms, nowAt(1.5)); // our side is fixed first

  const steps: { name: string; ticket: Ticket; h: number; bodies: [string, string][] }[] = [
    { name: "impact changed, status not", ticket: { ...nord7, TT_Impact_Assessment: "At risk", TT_Last_Update_Time: at(2) }, h: 2, bodies: [] },
    {
      name: "status Opened → Updated",
      ticket: { ...nord7, TT_Impact_Assessment: "At risk", TT_Status: "Updated", History: "carrier on site", TT_Last_Update_Time: at(3) },
      h: 3,
      bodies: [[ROOM_A, `[${id}] NordNet NOC updated *NORD_7*: status Opened → Updated\nIncident ${id} with EXN_1`]],
    },
    {
      name: "closed: the incident's last open ticket",
      ticket: closed({ ...nord7, TT_Impact_Assessment: "At risk" }, 4),
      h: 4,
      bodies: [
        [ROOM_A, `[${id}] NordNet NOC updated *NORD_7*: status Updated → Closed\nIncident ${id} with EXN_1`],
        [ROOM_A, `[${id}] Incident *${id}* closed: all 2 tickets are final: EXN_1 (Closed), NORD_7 (Closed).`],
        [SHARED, `[${id}] Incident *${id}* closed: all 2 tickets are final: EXN_1 (Closed), NORD_7 (Closed).`],
      ],
    },
  ];
  for (const s of steps) {
    const plan = planPeerActivity(ctxOf(book, nowAt(s.h)), msg(json(peerActivity(s.ticket, s.h, { type: "Update" }))), PEER_JID, storeOf(exn1, known));
    assert.ok(plan.ticket, s.name);
    assert.equal(plan.ticket.firstSeen, nowAt(1).toISOString(), `${s.name}: firstSeen kept`);
    assert.equal(plan.ticket.lastChange, nowAt(s.h).toISOString(), s.name);
    assert.equal(plan.ticket.incident, id, `${s.name}: stays in the incident`);
    assert.deepEqual(plan.logs.map((l) => [l.level, l.msg, l.fields.decision]), [["info", "peer ticket updated", "stay"]], s.name);
    assert.deepEqual(plan.outbox.map((o) => [o.room, o.body]), s.bodies, s.name);
    for (const o of plan.outbox) assert.equal(o.json, undefined, s.name);
    known = plan.ticket;
  }
});

void test("a peer's activity naming a smaller incident id as context: the thread is adopted", () => {
  const cases: { name: string; context: string | null; adopted: boolean }[] = [
    { name: "smaller id", context: "INC-0000000000ab", adopted: true },
    { name: "larger id", context: "INC-ffffffffffff", adopted: false },
    { name: "no context (a peer without incidents)", context: null, adopted: false },
  ];
  for (const c of cases) {
    const { book, id } = ourIncident();
    const plan = planPeerActivity(ctxOf(book, nowAt(1)), msg(json(peerActivity(tk("NORD_7", 0.5, CIRCUIT), 1, { context: c.context }))), PEER_JID, storeOf());
    const thread = c.adopted ? (c.context ?? "") : id;
    assert.equal(plan.threadAdopted, c.adopted, c.name);
    assert.equal(plan.ticket?.incident, id, `${c.name}: the incident keeps its id`);
    assert.equal(book.threading(id, ROOM_A).thread, thread, c.name);
    assert.equal(plan.logs[0]?.fields.thread, thread, c.name);
    assert.deepEqual(plan.outbox.map((o) => [o.room, o.thread, o.incident]), [[ROOM_A, thread, id]], c.name);
    const body = plan.outbox[0]?.body ?? "";
    assert.ok(body.startsWith(`[${thread}] NordNet NOC reports *NORD_7*`), c.name);
    assert.ok(body.endsWith(`\nIncident ${thread} with EXN_1: circuit EXN-STO-CPH-01`), `${c.name}: the line names the thread rooms show`);
    // The adopted thread's first message in each room is learnt again: no stale reply target.
    assert.deepEqual(plan.outbox[0]?.replyTo, c.adopted ? undefined : { id: "st-a1", to: `${ROOM_A}/exn-bot` }, c.name);
  }
});

void test("peer activities are taken only from the configured bot's real JID, and never older than what is known", () => {
  const nord7 = tk("NORD_7", 0.5, CIRCUIT);
  const known: StoredTicket = {
    ticket: nord7,
    hash: changeHash(nord7),
    source: `peer:${SHARED}`,
    firstSeen: at(2),
    lastChange: at(2),
    rooms: [],
    remote: { actor: nord.id, name: nord.name, room: SHARED, jid: PEER_JID },
    provenance: { source: `peer:${SHARED}`, published: nowAt(2).toISOString() },
  };
  const changed = { ...nord7, TT_Status: "Updated" as const, History: "x" };
  const cases: { name: string; jid: string | undefined; activity: TicketActivity; known?: StoredTicket; reason: RegExp }[] = [
    { name: "the room hides real JIDs", jid: undefined, activity: peerActivity(nord7, 1), reason: /does not show the sender's real JID/ },
    { name: "someone else claiming to be NordNet", jid: "mallory@evil.example", activity: peerActivity(nord7, 1), reason: /mallory@evil\.example is not configured \(peerBots\) to speak for NORD/ },
    { name: "NordNet's bot speaking for another NOC", jid: PEER_JID, activity: peerActivity(tk("GEANT_1", 0.5), 1), reason: /not configured \(peerBots\) to speak for GEANT/ },
    { name: "an older version replayed from history", jid: PEER_JID, activity: peerActivity(changed, 1, { type: "Update" }), known, reason: /not newer than the version already known/ },
  ];
  for (const c of cases) {
    const book = new IncidentBook(emptyStore(), defaultCorrelationConfig);
    const plan = planPeerActivity(ctxOf(book, nowAt(3)), msg(json(c.activity)), c.jid, storeOf(...(c.known ? [c.known] : [])));
    assert.equal(plan.ticket, undefined, c.name);
    assert.deepEqual(plan.outbox, [], c.name);
    assert.match(String(plan.logs[0]?.fields.reason), c.reason, c.name);
  }
});

void test("a peer cannot make the bot keep unbounded tickets: new ones past the bound are ignored, known ones still update", () => {
  const book = new IncidentBook(emptyStore(), defaultCorrelationConfig);
  const full = { ...ctxOf(book, nowAt(1)), peerTicketCount: (partner: string) => (partner === "NORD" ? 5000 : 0) };
  const plan = planPeerActivity(full, msg(json(peerActivity(tk("NORD_9", 0.5), 1))), PEER_JID, storeOf());
  assert.equal(plan.ticket, undefined);
  assert.match(String(plan.logs[0]?.fields.reason), /NORD already has 5000 live tickets here/);
});

void test("an activity dated in the future is refused, so it cannot freeze the ticket; a few minutes of clock drift are fine", () => {
  const nord7 = tk("NORD_7", 0.5, CIRCUIT);
  const cases: { name: string; published: string; lastUpdate?: string; taken: boolean }[] = [
    { name: "year 9999", published: "9999-12-31T23:59:59Z", taken: false },
    { name: "an hour ahead", published: nowAt(2).toISOString(), taken: false },
    { name: "two minutes ahead (clock drift)", published: new Date(nowAt(1).getTime() + 120_000).toISOString(), taken: true },
    { name: "now", published: nowAt(1).toISOString(), taken: true },
    { name: "published now, but the ticket's last update in year 9999", published: nowAt(1).toISOString(), lastUpdate: "9999-12-31T23:59:59Z", taken: false },
  ];
  for (const c of cases) {
    const book = new IncidentBook(emptyStore(), defaultCorrelationConfig);
    const base = peerActivity(c.lastUpdate ? { ...nord7, TT_Last_Update_Time: c.lastUpdate } : nord7, 1);
    const activity = { ...base, published: c.published };
    const plan = planPeerActivity(ctxOf(book, nowAt(1)), msg(json(activity)), PEER_JID, storeOf());
    assert.equal(plan.ticket !== undefined, c.taken, c.name);
    if (!c.taken) {
      assert.equal(plan.logs[0]?.level, "warn", c.name);
      assert.match(String(plan.logs[0]?.fields.reason), /ahead of this bot's clock/, c.name);
    }
  }
  // After a refused far-future version, the real next version is still taken.
  const book = new IncidentBook(emptyStore(), defaultCorrelationConfig);
  const first = planPeerActivity(ctxOf(book, nowAt(1)), msg(json(peerActivity(nord7, 1))), PEER_JID, storeOf());
  assert.ok(first.ticket);
  planPeerActivity(ctxOf(book, nowAt(2)), msg(json({ ...peerActivity({ ...nord7, TT_Status: "Updated", History: "x" }, 2, { type: "Update" }), published: "9999-12-31T23:59:59Z" })), PEER_JID, storeOf(first.ticket));
  const real = planPeerActivity(ctxOf(book, nowAt(3)), msg(json(peerActivity({ ...nord7, TT_Status: "Updated", History: "y" }, 3, { type: "Update" }))), PEER_JID, storeOf(first.ticket));
  assert.equal(real.ticket?.ticket.History, "y");
});

void test("someone who is not a configured bot posting as this NOC is a warning naming them; a peer bot quoting us is not", () => {
  const ours = json(peerActivity(tk("EXN_1", 0, CIRCUIT), 1));
  const asUs = json(peerActivity(tk("NORD_7", 0.5, CIRCUIT), 1, { actor: self }));
  const cases: { name: string; payload: string; jid: string | undefined; level: "debug" | "warn"; reason: RegExp }[] = [
    { name: "a peer bot quoting our ticket", payload: ours, jid: PEER_JID, level: "debug", reason: /this NOC's own ticket/ },
    { name: "a stranger posting our ticket", payload: ours, jid: "mallory@evil.example", level: "warn", reason: /mallory@evil\.example posted an activity as this NOC \(EXN\) and is not a configured peer bot/ },
    { name: "a stranger using our actor", payload: asUs, jid: "mallory@evil.example", level: "warn", reason: /mallory@evil\.example posted an activity as this NOC/ },
    { name: "a hidden sender posting our ticket", payload: ours, jid: undefined, level: "warn", reason: /a sender whose real JID the room hides posted an activity as this NOC/ },
  ];
  for (const c of cases) {
    const plan = planPeerActivity(ctxOf(new IncidentBook(emptyStore(), defaultCorrelationConfig), nowAt(1)), msg(c.payload), c.jid, storeOf());
    assert.equal(plan.ticket, undefined, c.name);
    assert.equal(plan.logs[0]?.level, c.level, c.name);
    assert.match(String(plan.logs[0]?.fields.reason), c.reason, c.name);
  }
});
