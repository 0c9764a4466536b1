import { test } from "node:test";
import assert from "node:assert/strict";
import type { RouteConfig, RtConfig } from "../../config/schema.js";
import type { ProposedChange } from "../../src/dispatch/dispatch.js";
import type { ChangeVerb } from "../../src/dispatch/ports.js";
import type { Ticket } from "../../src/model/ticket.js";
import { acknowledge, addUpdate, closeTicket, historyLine, reopen, type TransitionError } from "../../src/model/transitions.js";
import type { StoredTicket, UpstreamWrite } from "../../src/store/types.js";
import type { RtTransaction } from "../../src/ticket-systems/rt/client.js";
import type { RtMapping, RtTicket } from "../../src/ticket-systems/rt/map.js";
import {
  RT_SOURCE,
  carriesWrite,
  followsPeerTicket,
  historyFromTransactions,
  planRtPoll,
  rtMapping,
  rtRetryDelayMs,
  rtWritesForCommand,
  rtWritesForPeer,
  type PolledRtTicket,
  type RtPollItem,
  withWriteTrailer,
} from "../../src/ticket-systems/rt/plan.js";
import type { Result } from "../../src/util/result.js";
import { sampleClosedTicket, sampleTicket } from "../fixtures/tickets.js";

// ---------------------------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------------------------

const NOC = "GRNET";
const BOT = "ttrelay-bot";
const HUMAN = "alice";
const IP_ROOM = "ip-transit@conference.noc.example.net";
const RT_ROOM = "rt@conference.noc.example.net";
const FEED_ROOM = "feed@conference.noc.example.net";
const COORD_ROOM = "coordination@conference.partner.example.org";

const T0 = new Date("2026-11-28T10:00:00.000Z");
const T1 = new Date("2026-11-28T10:02:00.000Z");
const T2 = new Date("2026-11-28T10:04:00.000Z");
const T3 = new Date("2026-11-28T10:06:00.000Z");

/** The `rt` section as ConfigSchema outputs it (defaults filled in). */
function rtConfig(overrides: Partial<RtConfig> = {}): RtConfig {
  return {
    url: "https://rt.noc.example.net/",
    auth: { scheme: "token", secret: { env: "RT_TOKEN" } },
    user: BOT,
    queue: "NOC",
    schedule: "*/1 * * * *",
    timeZone: "UTC",
    timeoutMs: 15_000,
    mapping: { customFields: { Service: "Affected_Service", Circuits: "Network_Link_Circuit" } },
    peers: { queue: "Peers", services: ["IP*", "Lambda"], remoteIdField: "NTTDM TT_ID" },
    ...overrides,
  };
}

function unwrap<T, E>(r: Result<T, E>): T {
  if (!r.ok) assert.fail(`expected ok, got ${JSON.stringify(r.error)}`);
  return r.value;
}

const config = rtConfig();
const mapping: RtMapping = unwrap(rtMapping(config, NOC));

const routes: RouteConfig[] = [
  { rooms: [IP_ROOM], when: { services: ["IP*"] } },
  { rooms: [RT_ROOM], when: { feeds: [RT_SOURCE] } },
  { rooms: [FEED_ROOM], when: { feeds: ["exn"] } },
];

const ctx = (now: Date, cfg: RtConfig = config) => ({ config: cfg, mapping, routes, now });

function rtTicket(overrides: Partial<RtTicket> = {}): RtTicket {
  return {
    id: 42,
    queueId: 1,
    subject: "Forth Link Failure",
    status: "new",
    owner: "Nobody",
    creator: HUMAN,
    created: "2026-11-28T09:58:00Z",
    lastUpdated: "2026-11-28T09:58:00Z",
    customFields: { Service: ["IP transit"], Circuits: ["FORTH-2"] },
    ...overrides,
  };
}

function txn(id: number, creator: string, type: string, extra: Partial<RtTransaction> = {}): RtTransaction {
  return { id, type, creator, created: `2026-11-28T09:${String(50 + (id % 10)).padStart(2, "0")}:00Z`, ...extra };
}

/** RT ticket #42's history as first polled. */
const created = [txn(101, HUMAN, "Create"), txn(102, "root", "EmailRecord"), txn(103, HUMAN, "CustomField", { field: "Service", newValue: "IP transit" })];

const storeOf = (...tickets: StoredTicket[]) => {
  const m = new Map(tickets.map((t) => [t.ticket.TT_ID, t]));
  return (id: string): StoredTicket | undefined => m.get(id);
};

/** The one item a poll of one RT ticket gives. */
function pollOne(now: Date, polled: PolledRtTicket, known: (id: string) => StoredTicket | undefined = () => undefined, cfg: RtConfig = config): RtPollItem {
  const items = planRtPoll(ctx(now, cfg), [polled], known);
  assert.equal(items.length, 1);
  const [item] = items;
  assert.ok(item);
  return item;
}

function changeOf(item: RtPollItem): Extract<RtPollItem, { kind: "change" }> {
  if (item.kind !== "change") assert.fail(`expected a change, got ${JSON.stringify(item)}`);
  return item;
}

/** What the store holds after the first poll of ticket #42 (as sync.ts saves it: hash and incident filled in). */
function firstPolled(rt: Partial<RtTicket> = {}): StoredTicket {
  const { stored } = changeOf(pollOne(T0, { rt: rtTicket(rt), history: created }));
  return { ...stored, hash: "h0", incident: "inc-1" };
}

// ---------------------------------------------------------------------------------------------
// rtMapping
// ---------------------------------------------------------------------------------------------

void test("rtMapping: partnerId from the NOC id, RFC 'don't know' defaults, config defaults and maps over them", () => {
  const builtIn = { TT_Type: "Operational", Type: "Unscheduled", TT_Short_Description: "Undefined Problem", TT_Impact_Assessment: "Unknown", Location: "Unknown" };
  const cases: { name: string; mapping: Record<string, unknown>; expect: Partial<RtMapping> }[] = [
    { name: "empty mapping", mapping: {}, expect: { partnerId: NOC, customFields: {}, statusMap: {}, reverseStatusMap: {}, defaults: builtIn } },
    {
      name: "config defaults override the built-in ones, the rest stay",
      mapping: { defaults: { Location: "HERAKLION", TT_Impact_Assessment: "No connectivity", Affected_Community: "GRNET users" } },
      expect: { defaults: { ...builtIn, Location: "HERAKLION", TT_Impact_Assessment: "No connectivity", Affected_Community: "GRNET users" } },
    },
    { name: "an explicit partnerId wins over the NOC id", mapping: { partnerId: "GRNETRT" }, expect: { partnerId: "GRNETRT", defaults: builtIn } },
    {
      name: "custom fields and status maps pass through",
      mapping: { customFields: { Service: "Affected_Service" }, statusMap: { monitoring: "Solved" }, reverseStatusMap: { Solved: "monitoring" } },
      expect: { partnerId: NOC, customFields: { Service: "Affected_Service" }, statusMap: { monitoring: "Solved" }, reverseStatusMap: { Solved: "monitoring" } },
    },
  ];
  for (const c of cases) {
    const got = unwrap(rtMapping(rtConfig({ mapping: c.mapping }), NOC));
    for (const [key, value] of Object.entries(c.expect)) assert.deepEqual(got[key as keyof RtMapping], value, `${c.name}: ${key}`);
  }
});

void test("rtMapping: an invalid mapping is an error naming the $.rt.mapping path", () => {
  const cases: { name: string; mapping: Record<string, unknown>; nocId?: string; prefix: string; mentions: string }[] = [
    { name: "unknown key (reported at the mapping itself, no trailing dot)", mapping: { colour: "red" }, prefix: "$.rt.mapping: ", mentions: "colour" },
    { name: "partnerId with an underscore", mapping: { partnerId: "GR_NET" }, prefix: "$.rt.mapping.partnerId: ", mentions: "underscore" },
    { name: "NOC id with an underscore", mapping: {}, nocId: "GR_NET", prefix: "$.rt.mapping.partnerId: ", mentions: "underscore" },
    { name: "custom field feeding an identity field", mapping: { customFields: { Id: "TT_ID" } }, prefix: "$.rt.mapping.customFields.Id: ", mentions: "" },
    { name: "two custom fields for one NTTDM field", mapping: { customFields: { A: "TT_Title", B: "TT_Title" } }, prefix: "$.rt.mapping.customFields.B: ", mentions: "already fed" },
    { name: "status map to a non-status", mapping: { statusMap: { monitoring: "Watching" } }, prefix: "$.rt.mapping.statusMap.monitoring: ", mentions: "Solved" },
    { name: "default for an unknown field", mapping: { defaults: { Colour: "red" } }, prefix: "$.rt.mapping.defaults", mentions: "Colour" },
    { name: "defaults not an object", mapping: { defaults: "Unknown" }, prefix: "$.rt.mapping.defaults: ", mentions: "" },
    { name: "defaults a list", mapping: { defaults: ["Unknown"] }, prefix: "$.rt.mapping.defaults: ", mentions: "" },
  ];
  for (const c of cases) {
    const r = rtMapping(rtConfig({ mapping: c.mapping }), c.nocId ?? NOC);
    assert.equal(r.ok, false, c.name);
    if (r.ok) continue;
    assert.ok(r.error.startsWith(c.prefix), `${c.name}: ${r.error}`);
    assert.ok(r.error.includes(c.mentions), `${c.name}: ${r.error}`);
  }
});

// ---------------------------------------------------------------------------------------------
// historyFromTransactions
// ---------------------------------------------------------------------------------------------

void test("historyFromTransactions: one line per transaction, field changes old → new, e-mail records skipped", () => {
  const at = "2026-11-28T09:51:00Z";
  const t = (type: string, extra: Partial<RtTransaction> = {}): RtTransaction => ({ id: 1, type, creator: HUMAN, created: at, ...extra });
  const cases: { name: string; txns: RtTransaction[]; expect: string }[] = [
    { name: "none", txns: [], expect: "" },
    { name: "create", txns: [t("Create")], expect: `${at} alice: Create` },
    { name: "status change", txns: [t("Status", { field: "Status", oldValue: "new", newValue: "open" })], expect: `${at} alice: Status Status new → open` },
    { name: "value set from nothing", txns: [t("CustomField", { field: "Service", newValue: "IP transit" })], expect: `${at} alice: CustomField Service — → IP transit` },
    { name: "value removed", txns: [t("Set", { field: "Owner", oldValue: "alice" })], expect: `${at} alice: Set Owner alice → —` },
    { name: "field without values", txns: [t("AddLink", { field: "RefersTo" })], expect: `${at} alice: AddLink RefersTo` },
    { name: "only an e-mail record", txns: [t("EmailRecord")], expect: "" },
    {
      name: "several, oldest first, e-mail records skipped",
      txns: [t("Create"), t("EmailRecord", { creator: "RT_System" }), t("Comment", { creator: BOT, created: "2026-11-28T10:00:00Z" }), t("EmailRecord")],
      expect: `${at} alice: Create\n2026-11-28T10:00:00Z ${BOT}: Comment`,
    },
  ];
  for (const c of cases) assert.equal(historyFromTransactions(c.txns), c.expect, c.name);
});

// ---------------------------------------------------------------------------------------------
// planRtPoll
// ---------------------------------------------------------------------------------------------

void test("planRtPoll: a new RT ticket is a Create with the NOC's TT_ID, RT link, routed rooms and the RT position", () => {
  const item = changeOf(pollOne(T0, { rt: rtTicket(), history: [created[2], created[0], created[1]].filter((t) => t !== undefined) }));
  assert.equal(item.type, "Create");
  assert.equal(item.before, undefined);
  const s = item.stored;
  assert.equal(s.ticket.TT_ID, "GRNET_42");
  assert.equal(s.ticket.Partner_ID, NOC);
  assert.equal(s.ticket.Original_ID, "42");
  assert.equal(s.ticket.TT_Status, "Opened");
  assert.equal(s.ticket.TT_Title, "Forth Link Failure");
  assert.equal(s.ticket.Affected_Service, "IP transit");
  assert.deepEqual(s.ticket.Network_Link_Circuit, ["FORTH-2"]);
  // The RFC-mandatory fields RT has no data for: the built-in "don't know" values.
  assert.equal(s.ticket.TT_Type, "Operational");
  assert.equal(s.ticket.Type, "Unscheduled");
  assert.equal(s.ticket.TT_Short_Description, "Undefined Problem");
  assert.equal(s.ticket.TT_Impact_Assessment, "Unknown");
  assert.equal(s.ticket.Location, "Unknown");
  assert.equal(s.ticket.Start_Datetime, "2026-11-28T09:58:00Z");
  assert.equal(s.ticket.History.split("\n").length, 2, "the e-mail record is not History");
  assert.equal(s.source, "rt");
  assert.equal(s.link, "https://rt.noc.example.net/Ticket/Display.html?id=42", "trailing slash of the base URL dropped");
  assert.deepEqual(s.rooms, [IP_ROOM, RT_ROOM], "routes matching the service and the rt feed, not another feed's");
  assert.deepEqual(s.upstream, { system: "rt", id: "42", cursor: { lastUpdated: "2026-11-28T09:58:00Z", lastTxn: 103 } }, "the highest transaction id, whatever the order");
  assert.equal(s.firstSeen, T0.toISOString());
  assert.equal(s.lastChange, T0.toISOString());
  assert.equal(s.hash, "", "the hash is left to the caller");
});

void test("planRtPoll: config defaults fill fields RT lacks; custom statuses map through statusMap", () => {
  const cfg = rtConfig({ mapping: { customFields: { Service: "Affected_Service" }, statusMap: { monitoring: "Solved" }, defaults: { Location: "HERAKLION", TT_Type: "Informational" } } });
  const m = unwrap(rtMapping(cfg, NOC));
  const [item] = planRtPoll({ config: cfg, mapping: m, routes, now: T0 }, [{ rt: rtTicket({ status: "monitoring" }), history: created }], () => undefined);
  assert.ok(item);
  const { stored } = changeOf(item);
  assert.equal(stored.ticket.Location, "HERAKLION");
  assert.equal(stored.ticket.TT_Type, "Informational");
  assert.equal(stored.ticket.Type, "Unscheduled");
  assert.equal(stored.ticket.TT_Status, "Solved");
  assert.deepEqual(stored.rooms, [IP_ROOM, RT_ROOM]);
});

void test("planRtPoll: several tickets at once, each looked up by its own TT_ID", () => {
  const known = storeOf(firstPolled());
  const items = planRtPoll(
    ctx(T1),
    [
      { rt: rtTicket(), history: created },
      { rt: rtTicket({ id: 43, customFields: {} }), history: [txn(201, HUMAN, "Create")] },
    ],
    known,
  );
  assert.deepEqual(
    items.map((i) => (i.kind === "change" ? [i.kind, i.type, i.stored.ticket.TT_ID, i.stored.rooms] : [i.kind])),
    [["skip"], ["change", "Create", "GRNET_43", [RT_ROOM]]],
  );
});

void test("planRtPoll: new transactions decide between silent (own), Update and skip", () => {
  const before = firstPolled();
  const later = "2026-11-28T10:01:30Z";
  type Case = { name: string; lastUpdated?: string; fresh: RtTransaction[]; expect: "own" | "Update" | "skip" };
  const cases: Case[] = [
    { name: "LastUpdated unchanged", lastUpdated: String(before.upstream?.cursor?.lastUpdated), fresh: [txn(104, HUMAN, "Correspond")], expect: "skip" },
    { name: "the bot's comment", fresh: [txn(104, BOT, "Comment")], expect: "own" },
    { name: "the bot's comment and RT's automatic status change", fresh: [txn(104, BOT, "Comment"), txn(105, "RT_System", "Status", { field: "Status", oldValue: "new", newValue: "open" })], expect: "own" },
    // RT_System alone (a scheduled or automatic change) is news, not an echo of ours.
    { name: "only RT_System", fresh: [txn(104, "RT_System", "Status", { field: "Status", oldValue: "new", newValue: "open" })], expect: "Update" },
    { name: "the bot's and its e-mail record by RT_System", fresh: [txn(104, BOT, "Comment"), txn(105, "RT_System", "EmailRecord")], expect: "own" },
    { name: "a human among the bot's", fresh: [txn(104, BOT, "Comment"), txn(105, HUMAN, "Correspond")], expect: "Update" },
    { name: "a human only", fresh: [txn(104, HUMAN, "Correspond")], expect: "Update" },
    { name: "a user whose name merely contains the bot's", fresh: [txn(104, `${BOT}-2`, "Comment")], expect: "Update" },
    { name: "LastUpdated moved without a new transaction", fresh: [], expect: "Update" },
  ];
  for (const c of cases) {
    const history = [...created, ...c.fresh];
    const rt = rtTicket({ lastUpdated: c.lastUpdated ?? later });
    const item = pollOne(T1, { rt, history }, storeOf(before));
    const lastTxn = Math.max(...history.map((t) => t.id));
    switch (c.expect) {
      case "skip":
        assert.deepEqual(item, { kind: "skip", ttId: "GRNET_42", why: "unchanged since the last poll" }, c.name);
        break;
      case "own":
        // Recorded silently: the same ticket, only the RT position advanced (no echo of our own write).
        assert.deepEqual(item, { kind: "own", stored: { ...before, upstream: { system: "rt", id: "42", cursor: { lastUpdated: later, lastTxn } } } }, c.name);
        break;
      case "Update": {
        const u = changeOf(item);
        assert.equal(u.type, "Update", c.name);
        assert.deepEqual(u.before, before.ticket, c.name);
        assert.deepEqual(u.stored.upstream, { system: "rt", id: "42", cursor: { lastUpdated: later, lastTxn } }, c.name);
        assert.equal(u.stored.firstSeen, before.firstSeen, c.name);
        assert.equal(u.stored.lastChange, T1.toISOString(), c.name);
        assert.equal(u.stored.incident, "inc-1", `${c.name}: what the store knew is kept`);
        assert.equal(u.stored.ticket.TT_Last_Update_Time, later, c.name);
        break;
      }
    }
  }
});

void test("planRtPoll: an Update keeps the rooms posted to before and adds newly routed ones", () => {
  const before = { ...firstPolled({ customFields: {} }), rooms: [COORD_ROOM, RT_ROOM] };
  assert.deepEqual(firstPolled({ customFields: {} }).rooms, [RT_ROOM]);
  const rt = rtTicket({ lastUpdated: "2026-11-28T10:01:30Z" }); // the service is now set: the IP route matches
  const u = changeOf(pollOne(T1, { rt, history: [...created, txn(104, HUMAN, "CustomField", { field: "Service", newValue: "IP transit" })] }, storeOf(before)));
  assert.deepEqual(u.stored.rooms, [COORD_ROOM, RT_ROOM, IP_ROOM]);
});

void test("planRtPoll: an RT ticket the bot created for a peer's ticket is skipped", () => {
  const peerFields = { "NTTDM TT_ID": ["EXN_7"], Service: ["IP transit"] };
  const cases: { name: string; rt: Partial<RtTicket>; cfg?: RtConfig; skip: boolean }[] = [
    { name: "created by the bot, remote id set", rt: { creator: BOT, customFields: peerFields }, skip: true },
    { name: "created by the bot, remote id empty", rt: { creator: BOT, customFields: { "NTTDM TT_ID": [" "] } }, skip: false },
    { name: "created by the bot, no remote id field", rt: { creator: BOT }, skip: false },
    { name: "created by a human, remote id set", rt: { creator: HUMAN, customFields: peerFields }, skip: false },
    { name: "no peers configured", rt: { creator: BOT, customFields: peerFields }, cfg: rtConfig({ peers: undefined }), skip: false },
    {
      name: "another remote id field configured",
      rt: { creator: BOT, customFields: { "Peer ticket": ["EXN_7"] } },
      cfg: rtConfig({ peers: { queue: "Peers", services: ["*"], remoteIdField: "Peer ticket" } }),
      skip: true,
    },
  ];
  for (const c of cases) {
    const item = pollOne(T0, { rt: rtTicket(c.rt), history: created }, () => undefined, c.cfg);
    if (c.skip) assert.deepEqual(item, { kind: "skip", ttId: "GRNET_42", why: "created by the bot for a peer's ticket" }, c.name);
    else assert.equal(changeOf(item).type, "Create", c.name);
  }
  // Even when the store knows it (and the bot's own writes follow), it stays skipped.
  const item = pollOne(T1, { rt: rtTicket({ creator: BOT, customFields: peerFields, lastUpdated: "2026-11-28T10:01:30Z" }), history: created }, storeOf(firstPolled()));
  assert.equal(item.kind, "skip");
});

void test("planRtPoll: an RT status outside the status map is invalid, naming TT_Status", () => {
  const item = pollOne(T0, { rt: rtTicket({ status: "monitoring" }), history: created });
  if (item.kind !== "invalid") assert.fail(JSON.stringify(item));
  assert.equal(item.ttId, "GRNET_42");
  assert.ok(
    item.problems.some((p) => p.startsWith("TT_Status: ") && p.includes('"monitoring"')),
    item.problems.join("; "),
  );
  // A bad config default is refused when the bot starts, naming the field, rather than making every RT ticket invalid.
  const cfg = rtConfig({ mapping: { defaults: { TT_Type: "Nope" } } });
  const refused = rtMapping(cfg, NOC);
  assert.ok(!refused.ok);
  assert.match(refused.error, /^\$\.rt\.mapping\.defaults\.TT_Type: /);
});

void test("planRtPoll: final RT statuses carry close and end times; a reopen after a final status is Reopened", () => {
  const later = "2026-11-28T10:01:30Z";
  type Case = { name: string; before?: Partial<RtTicket>; rt: Partial<RtTicket>; status: string; close?: string };
  const cases: Case[] = [
    { name: "resolved", rt: { status: "resolved", resolved: "2026-11-28T10:01:00Z" }, status: "Closed", close: "2026-11-28T10:01:00Z" },
    { name: "rejected without Resolved: LastUpdated", rt: { status: "rejected" }, status: "Cancelled", close: later },
    { name: "open after new", before: {}, rt: { status: "open" }, status: "Updated" },
    { name: "stalled after new", before: {}, rt: { status: "stalled" }, status: "Updated" },
    { name: "resolved after new", before: {}, rt: { status: "resolved", resolved: "2026-11-28T10:01:00Z" }, status: "Closed", close: "2026-11-28T10:01:00Z" },
    { name: "open after resolved", before: { status: "resolved", resolved: "2026-11-28T10:00:00Z" }, rt: { status: "open", resolved: "2026-11-28T10:00:00Z" }, status: "Reopened" },
    { name: "new after rejected", before: { status: "rejected" }, rt: { status: "new" }, status: "Reopened" },
    { name: "still resolved (a comment)", before: { status: "resolved", resolved: "2026-11-28T10:00:00Z" }, rt: { status: "resolved", resolved: "2026-11-28T10:00:00Z" }, status: "Closed", close: "2026-11-28T10:00:00Z" },
  ];
  for (const c of cases) {
    const known = c.before ? storeOf(firstPolled(c.before)) : () => undefined;
    const history = [...created, txn(104, HUMAN, "Status", { field: "Status", oldValue: c.before?.status ?? "new", newValue: c.rt.status ?? "new" })];
    const u = changeOf(pollOne(T1, { rt: rtTicket({ ...c.rt, lastUpdated: later }), history }, known));
    assert.equal(u.type, c.before ? "Update" : "Create", c.name);
    assert.equal(u.stored.ticket.TT_Status, c.status, c.name);
    assert.equal(u.stored.ticket.TT_Close_Datetime, c.close, `${c.name}: close time`);
    assert.equal(u.stored.ticket.End_Datetime, c.close, `${c.name}: end time`);
  }
});

void test(
  "planRtPoll: a human's comment on a ticket the bot Solved does not turn it Closed",
  () => {
    const opened = firstPolled();
    const solved = unwrap(closeTicket(opened.ticket, HUMAN, { outcome: "solved" }, T1));
    const before: StoredTicket = { ...opened, ticket: solved };
    const rt = rtTicket({ status: "resolved", resolved: "2026-11-28T10:02:00Z", lastUpdated: "2026-11-28T10:05:00Z" });
    const history = [...created, txn(104, BOT, "Comment"), txn(105, BOT, "Status"), txn(106, HUMAN, "Correspond")];
    const u = changeOf(pollOne(T2, { rt, history }, storeOf(before)));
    assert.equal(u.stored.ticket.TT_Status, "Solved");
  },
);

// ---------------------------------------------------------------------------------------------
// rtWritesForCommand
// ---------------------------------------------------------------------------------------------

const ACTOR = "alice@noc.example.net";

function proposed(previous: Ticket, verb: ChangeVerb, run: (t: Ticket) => Result<Ticket, TransitionError>): ProposedChange {
  return { ticket: unwrap(run(previous)), previous, verb, actor: ACTOR };
}

void test("rtWritesForCommand: one internal comment with the History line, the RT status only when TT_Status changed", () => {
  const stored = firstPolled();
  const opened = stored.ticket;
  const closed = unwrap(closeTicket(opened, ACTOR, { outcome: "closed" }, T0));
  const notify: UpstreamWrite["notify"] = { room: RT_ROOM, to: "alice" };
  type Case = { name: string; change: ProposedChange; notify?: UpstreamWrite["notify"]; line: string; status?: string };
  const cases: Case[] = [
    { name: "close solved", change: proposed(opened, "solved", (t) => closeTicket(t, ACTOR, { outcome: "solved", reason: "fibre spliced" }, T1)), line: historyLine(T1, ACTOR, "solved: fibre spliced"), status: "resolved" },
    { name: "close closed", change: proposed(opened, "closed", (t) => closeTicket(t, ACTOR, { outcome: "closed" }, T1)), line: historyLine(T1, ACTOR, "closed"), status: "resolved" },
    {
      name: "close cancelled",
      change: proposed(opened, "cancelled", (t) => closeTicket(t, ACTOR, { outcome: "cancelled", master: "GRNET_41" }, T1)),
      line: historyLine(T1, ACTOR, "cancelled as a duplicate of GRNET_41"),
      status: "rejected",
    },
    { name: "update (Opened → Updated)", change: proposed(opened, "updated", (t) => addUpdate(t, ACTOR, "splicing team on site", T1)), line: historyLine(T1, ACTOR, "splicing team on site"), status: "open" },
    { name: "reopen", change: proposed(closed, "reopened", (t) => reopen(t, ACTOR, "flapping again", T1)), line: historyLine(T1, ACTOR, `reopened (was Closed since ${closed.TT_Close_Datetime ?? ""}): flapping again`), status: "open" },
    { name: "ack: no status change", change: proposed(opened, "acknowledged", (t) => acknowledge(t, ACTOR, "on it", T1)), line: historyLine(T1, ACTOR, "acknowledged: on it") },
    { name: "ack from chat, with notify", change: proposed(opened, "acknowledged", (t) => acknowledge(t, ACTOR, undefined, T1)), notify, line: historyLine(T1, ACTOR, "acknowledged") },
    { name: "empty History: verb and actor", change: { ticket: { ...opened, History: "" }, previous: opened, verb: "assigned", actor: ACTOR }, line: `assigned by ${ACTOR}` },
  ];
  for (const c of cases) {
    const writes = rtWritesForCommand(c.change, stored, mapping, c.notify, T1);
    assert.equal(writes.length, 1, c.name);
    const [w] = writes;
    assert.ok(w);
    assert.match(w.id, /^rtw-[0-9a-f]{20}$/, c.name);
    const { id: _id, ...rest } = w;
    assert.deepEqual(
      rest,
      {
        system: "rt",
        ticketId: "GRNET_42",
        op: "comment",
        ref: "42",
        text: `[ttrelay] ${c.line}`,
        ...(c.status === undefined ? {} : { status: c.status }),
        ...(c.notify === undefined ? {} : { notify: c.notify }),
        createdAt: T1.toISOString(),
        attempts: 0,
      },
      c.name,
    );
  }
});

void test("rtWritesForCommand: nothing for a ticket not in RT; the reverse status map applies", () => {
  const stored = firstPolled();
  const change = proposed(stored.ticket, "solved", (t) => closeTicket(t, ACTOR, { outcome: "solved" }, T1));
  const { upstream: _upstream, ...notInRt } = stored;
  assert.deepEqual(rtWritesForCommand(change, notInRt, mapping, undefined, T1), []);
  assert.deepEqual(rtWritesForCommand(change, { ...notInRt, source: "exn" }, mapping, undefined, T1), []);
  const custom = unwrap(rtMapping(rtConfig({ mapping: { reverseStatusMap: { Solved: "monitoring" } } }), NOC));
  assert.equal(rtWritesForCommand(change, stored, custom, undefined, T1)[0]?.status, "monitoring");
});

void test("rtWritesForCommand: write ids are stable for the same command and differ between commands", () => {
  const stored = firstPolled();
  const first = proposed(stored.ticket, "acknowledged", (t) => acknowledge(t, ACTOR, undefined, T1));
  const second = proposed(first.ticket, "acknowledged", (t) => acknowledge(t, ACTOR, undefined, T2));
  const idOf = (c: ProposedChange, now: Date): string => rtWritesForCommand(c, stored, mapping, undefined, now)[0]?.id ?? assert.fail("no write");
  assert.equal(idOf(first, T1), idOf(first, T1), "deterministic");
  const ids = [idOf(first, T1), idOf(second, T2), idOf(first, T2), idOf({ ...first, verb: "assigned" }, T1)];
  assert.equal(new Set(ids).size, ids.length, ids.join(", "));
});

// ---------------------------------------------------------------------------------------------
// rtWritesForPeer / followsPeerTicket
// ---------------------------------------------------------------------------------------------

const PEER_LINK = "https://noc.example.org/tt/7";

function peerStored(ticket: Partial<Ticket> = {}, extra: Partial<StoredTicket> = {}): StoredTicket {
  return {
    ticket: sampleTicket({ Partner_ID: "EXN", Original_ID: "7", Affected_Service: "IP transit", ...ticket }),
    hash: "p0",
    source: `peer:${COORD_ROOM}`,
    link: PEER_LINK,
    firstSeen: T0.toISOString(),
    lastChange: T0.toISOString(),
    rooms: [],
    remote: { actor: "https://noc.example.org/", name: "ExampleNet NOC", room: COORD_ROOM },
    ...extra,
  };
}

void test("followsPeerTicket: only with peers configured and a matching Affected_Service", () => {
  const cases: [name: string, cfg: RtConfig, service: string | undefined, follows: boolean][] = [
    ["wildcard match", config, "IP transit", true],
    ["case-insensitive", config, "ip TRANSIT", true],
    ["exact match", config, "Lambda", true],
    ["no match", config, "Optical", false],
    ["prefix only, no wildcard", config, "Lambda 10G", false],
    ["no service", config, undefined, false],
    ["no peers section", rtConfig({ peers: undefined }), "IP transit", false],
    ["everything", rtConfig({ peers: { queue: "Peers", services: ["*"], remoteIdField: "NTTDM TT_ID" } }), "Optical", true],
  ];
  for (const [name, cfg, service, follows] of cases) {
    assert.equal(followsPeerTicket(cfg, sampleTicket({ Affected_Service: service })), follows, name);
  }
});

void test("rtWritesForPeer: first sight of a followed peer ticket creates one linked RT ticket in the peers' queue", () => {
  const stored = peerStored();
  const writes = rtWritesForPeer(config, mapping, stored, undefined, [], T1);
  assert.equal(writes.length, 1);
  const [w] = writes;
  assert.ok(w);
  assert.match(w.id, /^rtw-[0-9a-f]{20}$/);
  const { id: _id, ...rest } = w;
  assert.deepEqual(rest, {
    system: "rt",
    ticketId: "EXN_7",
    op: "create",
    text: [
      "ExampleNet NOC reports EXN_7: Forth Link Failure",
      "Status: Opened · Impact: No connectivity · Service: IP transit",
      "Circuits: FORTH-2",
      "Nodes: FORTH",
      `Link: ${PEER_LINK}`,
      "",
      "Forth Link Failure",
    ].join("\n"),
    create: { queue: "Peers", subject: "[EXN_7] Forth Link Failure", customFields: { "NTTDM TT_ID": "EXN_7" } },
    createdAt: T1.toISOString(),
    attempts: 0,
  });
  // Seen again before RT answered (the create is queued, not failed): nothing more.
  assert.deepEqual(rtWritesForPeer(config, mapping, stored, stored, [w], T2), []);
});

void test("rtWritesForPeer: the create's text leaves out what the peer did not say, without stray blank lines", () => {
  const cases: { name: string; ticket: Partial<Ticket>; extra?: Partial<StoredTicket>; text: string[] }[] = [
    {
      name: "no circuits, nodes, link or description; no peer name",
      ticket: { Network_Link_Circuit: undefined, Network_Node: undefined, TT_Long_Description: undefined },
      extra: { link: undefined, remote: undefined },
      text: ["EXN reports EXN_7: Forth Link Failure", "Status: Opened · Impact: No connectivity · Service: IP transit"],
    },
    {
      name: "link only, then the description",
      ticket: { Network_Link_Circuit: [], Network_Node: undefined, TT_Long_Description: "Fibre cut near Heraklion\nsecond line" },
      text: ["ExampleNet NOC reports EXN_7: Forth Link Failure", "Status: Opened · Impact: No connectivity · Service: IP transit", `Link: ${PEER_LINK}`, "", "Fibre cut near Heraklion", "second line"],
    },
    {
      name: "several circuits and nodes, blank description",
      ticket: { Network_Link_Circuit: ["FORTH-2", "FORTH-3"], Network_Node: ["FORTH", "HER"], TT_Long_Description: "  " },
      extra: { link: undefined },
      text: ["ExampleNet NOC reports EXN_7: Forth Link Failure", "Status: Opened · Impact: No connectivity · Service: IP transit", "Circuits: FORTH-2, FORTH-3", "Nodes: FORTH, HER"],
    },
  ];
  for (const c of cases) {
    const [w] = rtWritesForPeer(config, mapping, peerStored(c.ticket, c.extra), undefined, [], T1);
    assert.equal(w?.text, c.text.join("\n"), c.name);
  }
  const long = "x".repeat(300);
  const [w] = rtWritesForPeer(config, mapping, peerStored({ TT_Title: long }), undefined, [], T1);
  assert.equal(w?.create?.subject, `[EXN_7] ${long}`.slice(0, 200), "subject cut to 200 characters");
});

void test("rtWritesForPeer: what each later sight of a peer ticket writes", () => {
  const createW = rtWritesForPeer(config, mapping, peerStored(), undefined, [], T0)[0] ?? assert.fail("no create");
  const opened = peerStored();
  const linked = (t: Partial<Ticket> = {}): StoredTicket => ({ ...peerStored(t), upstream: { system: "rt", id: "77" } });
  const updated = sampleTicket({ Partner_ID: "EXN", Original_ID: "7", Affected_Service: "IP transit", TT_Status: "Updated", History: "Link down, detected by monitoring\n2026-11-28T10:02:00Z EXN: splicing" });
  const closed = sampleClosedTicket({ Partner_ID: "EXN", Original_ID: "7", Affected_Service: "IP transit" });
  type Case = { name: string; stored: StoredTicket; before: StoredTicket | undefined; pending?: UpstreamWrite[]; expect: Partial<UpstreamWrite>[] };
  const cases: Case[] = [
    { name: "service not followed", stored: peerStored({ Affected_Service: "Optical" }), before: undefined, expect: [] },
    { name: "no service", stored: peerStored({ Affected_Service: undefined }), before: undefined, expect: [] },
    { name: "create pending: nothing", stored: opened, before: opened, pending: [createW], expect: [] },
    { name: "create pending for another ticket: create", stored: opened, before: undefined, pending: [{ ...createW, ticketId: "EXN_8" }], expect: [{ op: "create" }] },
    { name: "comment pending (not a create): create", stored: opened, before: opened, pending: [{ ...createW, op: "comment" }], expect: [{ op: "create" }] },
    { name: "earlier create failed: create again", stored: opened, before: opened, pending: [{ ...createW, failed: true }], expect: [{ op: "create", id: createW.id }] },
    { name: "linked, status unchanged", stored: linked({ History: "Link down\nmore detail" }), before: linked(), expect: [] },
    { name: "linked, not known any more (archived): the RT ticket made for it hears of it", stored: linked({ TT_Status: "Updated", History: "x" }), before: undefined, expect: [{ op: "comment", status: "open" }] },
    {
      name: "linked, Opened → Updated",
      stored: { ...linked(), ticket: updated },
      before: linked(),
      expect: [
        {
          op: "comment",
          ref: "77",
          status: "open",
          text: "[ttrelay] ExampleNet NOC: EXN_7 status Opened → Updated (2026-11-28T10:02:00Z EXN: splicing)",
        },
      ],
    },
    {
      name: "linked, Updated → Closed",
      stored: { ...linked(), ticket: closed },
      before: { ...linked(), ticket: updated },
      expect: [{ op: "comment", ref: "77", status: "resolved", text: "[ttrelay] ExampleNet NOC: EXN_7 status Updated → Closed (Optical transmitter was changed)" }],
    },
    {
      name: "linked but no longer a followed service",
      stored: { ...linked({ Affected_Service: "Optical" }), ticket: { ...closed, Affected_Service: "Optical" } },
      before: linked(),
      expect: [],
    },
    {
      name: "status changed while the create is pending: a comment waiting for the RT id",
      stored: { ...peerStored(), ticket: closed },
      before: opened,
      pending: [createW],
      expect: [{ op: "comment", ref: undefined, status: "resolved" }],
    },
  ];
  for (const c of cases) {
    const writes = rtWritesForPeer(config, mapping, c.stored, c.before, c.pending ?? [], T2);
    assert.equal(writes.length, c.expect.length, `${c.name}: ${JSON.stringify(writes)}`);
    c.expect.forEach((e, i) => {
      const w = writes[i];
      assert.ok(w, c.name);
      assert.equal(w.ticketId, "EXN_7", c.name);
      assert.equal(w.createdAt, T2.toISOString(), c.name);
      assert.equal(w.attempts, 0, c.name);
      for (const [k, v] of Object.entries(e)) assert.deepEqual(w[k as keyof UpstreamWrite], v, `${c.name}: ${k}`);
    });
  }
  // Status comments at different times are different writes.
  const at = (now: Date): string => rtWritesForPeer(config, mapping, { ...linked(), ticket: updated }, linked(), [], now)[0]?.id ?? assert.fail("no write");
  assert.notEqual(at(T2), at(T3));
  assert.equal(at(T2), at(T2));
});

void test("rtWritesForPeer: a peer ticket first seen past Opened is created with the mapped RT status", () => {
  const cases: { name: string; ticket: Partial<Ticket>; status: string | undefined }[] = [
    { name: "Closed", ticket: sampleClosedTicket({ Partner_ID: "EXN", Original_ID: "7", Affected_Service: "IP transit" }), status: "resolved" },
    { name: "Opened/Closed", ticket: sampleClosedTicket({ Partner_ID: "EXN", Original_ID: "7", Affected_Service: "IP transit", TT_Status: "Opened/Closed" }), status: "resolved" },
    { name: "Cancelled", ticket: sampleClosedTicket({ Partner_ID: "EXN", Original_ID: "7", Affected_Service: "IP transit", TT_Status: "Cancelled" }), status: "rejected" },
    { name: "Opened: RT's default for a new ticket", ticket: {}, status: undefined },
    { name: "Updated: worked on already", ticket: { TT_Status: "Updated", History: "x" }, status: "open" },
    { name: "Solved: not final, but resolved in RT", ticket: { TT_Status: "Solved", History: "x" }, status: "resolved" },
  ];
  for (const c of cases) {
    const writes = rtWritesForPeer(config, mapping, peerStored(c.ticket), undefined, [], T1);
    assert.equal(writes.length, 1, c.name);
    assert.equal(writes[0]?.op, "create", c.name);
    assert.equal(writes[0]?.status, c.status, c.name);
    assert.ok(writes[0]?.text.includes(`Status: ${c.ticket.TT_Status ?? "Opened"} ·`), c.name);
  }
  const custom = unwrap(rtMapping(rtConfig({ mapping: { reverseStatusMap: { Closed: "done" } } }), NOC));
  const [w] = rtWritesForPeer(config, custom, peerStored(sampleClosedTicket({ Partner_ID: "EXN", Original_ID: "7", Affected_Service: "IP transit" })), undefined, [], T1);
  assert.equal(w?.status, "done");
});

// ---------------------------------------------------------------------------------------------
// rtRetryDelayMs
// ---------------------------------------------------------------------------------------------

void test("rtRetryDelayMs: 5 s doubling per attempt, capped at 10 min", () => {
  const cases: [attempts: number, ms: number][] = [
    [-1, 5_000],
    [0, 5_000],
    [1, 5_000],
    [2, 10_000],
    [3, 20_000],
    [4, 40_000],
    [7, 320_000],
    [8, 600_000],
    [9, 600_000],
    [50, 600_000],
    [5_000, 600_000],
  ];
  for (const [attempts, ms] of cases) assert.equal(rtRetryDelayMs(attempts), ms, `attempt ${String(attempts)}`);
});

void test("rtWritesForPeer: a peer ticket back after archiving writes to the RT ticket made for it, never a new one", () => {
  const back = { ...peerStored({ TT_Status: "Reopened", History: "fault is back" }), upstream: { system: "rt", id: "31" } };
  const writes = rtWritesForPeer(config, mapping, back, undefined, [], T1);
  assert.equal(writes.length, 1);
  assert.equal(writes[0]?.op, "comment");
  assert.equal(writes[0]?.ref, "31");
  assert.equal(writes[0]?.status, "open");
  assert.match(writes[0]?.text ?? "", /reported again, status Reopened \(fault is back\)/);
});

// ---------------------------------------------------------------------------------------------
// Write trailers: how an uncertain retry recognises its own comment in RT
// ---------------------------------------------------------------------------------------------

void test("withWriteTrailer / carriesWrite: a comment is recognised by its own write id only", () => {
  const ack = withWriteTrailer("[ttrelay] 2026-11-28T10:00Z alice@noc.example: acknowledged: first\n", "rtw-aaaaaaaaaaaaaaaaaaaa");
  assert.equal(ack, "[ttrelay] 2026-11-28T10:00Z alice@noc.example: acknowledged: first\n\nttrelay-write: rtw-aaaaaaaaaaaaaaaaaaaa");
  const cases: [content: string, id: string, expected: boolean, why: string][] = [
    [ack, "rtw-aaaaaaaaaaaaaaaaaaaa", true, "its own comment"],
    [ack, "rtw-bbbbbbbbbbbbbbbbbbbb", false, "an earlier command's comment is not this write"],
    [ack, "rtw-aaaaaaaaaa", false, "a prefix of the id is not the id"],
    [ack.replace(/\n/g, "\r\n"), "rtw-aaaaaaaaaaaaaaaaaaaa", true, "CRLF line ends as a mail gateway may store them"],
    [`${ack}\n`, "rtw-aaaaaaaaaaaaaaaaaaaa", true, "a trailing newline added by RT"],
    ["[ttrelay] someone quoted rtw-aaaaaaaaaaaaaaaaaaaa inline", "rtw-aaaaaaaaaaaaaaaaaaaa", false, "the id mentioned in text is not a trailer"],
    ["", "rtw-aaaaaaaaaaaaaaaaaaaa", false, "an empty attachment"],
  ];
  for (const [content, id, expected, why] of cases) assert.equal(carriesWrite(content, id), expected, why);
});

void test("rtWritesForCommand: `!ack … first` then `!update … second` get different write ids (their trailers tell them apart)", () => {
  const stored = firstPolled();
  const ack = proposed(stored.ticket, "acknowledged", (t) => acknowledge(t, ACTOR, "first", T1));
  const upd = proposed(ack.ticket, "updated", (t) => addUpdate(t, ACTOR, "second", T1));
  const [a] = rtWritesForCommand(ack, stored, mapping, undefined, T1);
  const [b] = rtWritesForCommand(upd, stored, mapping, undefined, T1);
  assert.ok(a && b);
  assert.notEqual(a.id, b.id);
  assert.equal(carriesWrite(withWriteTrailer(a.text, a.id), b.id), false);
  assert.equal(carriesWrite(withWriteTrailer(b.text, b.id), b.id), true);
});
