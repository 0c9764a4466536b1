import { test } from "node:test";
import assert from "node:assert/strict";
import { MappingRule, type FeedConfig, type RouteConfig } from "../../config/schema.js";
import { fingerprint, type FeedItem, type ItemValues } from "../../src/sources/feed/parse.js";
import { feedWith } from "../fixtures/feed-config.js";
import { emptyFeedState, type FeedState } from "../../src/sources/feed/state.js";
import { TicketActivitySchema, nocActor } from "../../src/model/activity.js";
import { TRANSLATE_PART, mappingHash, outboxId, planFeedBatch, planFeedBatchInParts, planPoll, type PollContext, type PollPlan } from "../../src/sources/feed/plan.js";
import type { StoredTicket } from "../../src/store/types.js";

const IP_ROOM = "ip-transit@conference.noc.example.net";
const LAMBDA_ROOM = "lambda@conference.noc.example.net";
const COORD_ROOM = "coordination@conference.partner.example.org";

const rule = (input: Record<string, unknown>): MappingRule => MappingRule.parse(input);
const line = (name: string): MappingRule => rule({ from: "description", regex: `^${name}:\\s*(.+)$`, flags: "im" });

const feed: FeedConfig = feedWith({
  Original_ID: rule({ from: "guid", regex: "EXN-(\\d+)" }),
  TT_Status: line("Status"),
  TT_Impact_Assessment: [line("Impact"), rule({ value: "Unknown" })],
  Affected_Service: line("Service"),
  TT_Type: [line("Kind"), rule({ value: "Operational" })],
  History: [line("History"), rule({ value: "" })],
  TT_Close_Datetime: line("Closed"),
  End_Datetime: line("End"),
});

const routes: RouteConfig[] = [
  { rooms: [IP_ROOM], when: { services: ["IP*"] } },
  { rooms: [LAMBDA_ROOM], when: { services: ["Lambda"] } },
  { rooms: [COORD_ROOM, IP_ROOM], when: { types: ["Operational"] } },
];

const T0 = new Date("2026-11-28T10:00:00.000Z");
const T1 = new Date("2026-11-28T10:02:00.000Z");
const T2 = new Date("2026-11-28T10:04:00.000Z");

const ctx = (now: Date): PollContext => ({
  feed,
  routes,
  actor: nocActor({ id: "EXN", name: "ExampleNet NOC" }),
  render: { maxLongDescription: 600, timeZone: "UTC" },
  now,
});

type TicketLines = { status?: string; impact?: string; service?: string; kind?: string; history?: string; closed?: string; end?: string; extra?: ItemValues };

/** One feed item of ExampleNet's feed: structured lines in the description. */
function nocItem(n: number, lines: TicketLines = {}): FeedItem {
  const { status = "Opened", impact, service = "IP transit", kind, history, closed, end, extra = {} } = lines;
  const description = [
    `Status: ${status}`,
    impact && `Impact: ${impact}`,
    `Service: ${service}`,
    kind && `Kind: ${kind}`,
    history && `History: ${history}`,
    closed && `Closed: ${closed}`,
    end && `End: ${end}`,
  ]
    .filter(Boolean)
    .join("\n");
  const values: ItemValues = {
    title: `[EXN-${n}] Ticket ${n}`,
    link: `https://noc.example.net/tt/${n}`,
    guid: `EXN-${n}`,
    description,
    isoDate: "2026-11-28T09:00:00.000Z",
    ...extra,
  };
  return { key: `EXN-${n}`, values, fingerprint: fingerprint(values) };
}

/** The store as the adapter keeps it: what earlier plans learnt. */
function storeOf(...plans: PollPlan[]): (id: string) => StoredTicket | undefined {
  const m = new Map<string, StoredTicket>();
  for (const p of plans) for (const t of p.tickets) m.set(t.ticket.TT_ID, t);
  return (id) => m.get(id);
}

/** A primed feed that already knows tickets 1 (IP transit) and 2 (Lambda). */
function primedPlan(): PollPlan {
  return planPoll(ctx(T0), emptyFeedState(), [nocItem(2, { service: "Lambda" }), nocItem(1)], [], {}, () => undefined);
}

void test("first poll: learns every ticket, queues one summary per room and no per-item posts", () => {
  const closedLines = { status: "Closed", history: "spliced", closed: "2026-11-28 09:30 UTC", end: "2026-11-28 09:20 UTC" };
  const items = [nocItem(3, closedLines), nocItem(2, { service: "Lambda" }), nocItem(1)];
  const plan = planPoll(ctx(T0), emptyFeedState(), items, [], { etag: '"e1"' }, () => undefined);

  assert.deepEqual(
    plan.tickets.map((t) => [t.ticket.TT_ID, t.rooms]),
    [
      ["EXN_1", [IP_ROOM, COORD_ROOM]],
      ["EXN_2", [LAMBDA_ROOM, COORD_ROOM, IP_ROOM]],
      ["EXN_3", [IP_ROOM, COORD_ROOM]],
    ],
    "oldest item first; rooms in route order",
  );
  assert.deepEqual(plan.activities, []);
  assert.deepEqual(plan.logs, []);
  const expected = [
    { room: IP_ROOM, body: "Now following feed *exn*: 3 tickets already listed, 2 open (EXN_1, EXN_2). New tickets and changes will be posted here." },
    { room: COORD_ROOM, body: "Now following feed *exn*: 3 tickets already listed, 2 open (EXN_1, EXN_2). New tickets and changes will be posted here." },
    { room: LAMBDA_ROOM, body: "Now following feed *exn*: 1 ticket already listed, 1 open (EXN_2). New tickets and changes will be posted here." },
  ];
  assert.deepEqual(
    plan.outbox.map((o) => ({ room: o.room, body: o.body })),
    expected,
  );
  for (const o of plan.outbox) {
    assert.equal(o.json, undefined, "a summary carries no activity");
    assert.equal(o.ticketId, undefined);
    assert.equal(o.attempts, 0);
    assert.equal(o.createdAt, T0.toISOString());
    assert.match(o.id, /^ttr-[0-9a-f]{24}$/);
  }
  assert.equal(new Set(plan.outbox.map((o) => o.id)).size, plan.outbox.length, "one id per room");
  assert.equal(plan.feedState.primed, true);
  assert.deepEqual(plan.feedState.validators, { etag: '"e1"' });
  assert.deepEqual(Object.keys(plan.feedState.seen).sort(), ["EXN-1", "EXN-2", "EXN-3"]);
});

void test("first poll: a summary lists at most 10 open tickets and says how many more", () => {
  const items = Array.from({ length: 12 }, (_, i) => nocItem(12 - i));
  const plan = planPoll(ctx(T0), emptyFeedState(), items, [], {}, () => undefined);
  assert.equal(
    plan.outbox.find((o) => o.room === IP_ROOM)?.body,
    "Now following feed *exn*: 12 tickets already listed, 12 open (EXN_1, EXN_2, EXN_3, EXN_4, EXN_5, EXN_6, EXN_7, EXN_8, EXN_9, EXN_10 and 2 more). New tickets and changes will be posted here.",
  );
});

void test("a new item on a later poll: a Create activity and one post per routed room", () => {
  const first = primedPlan();
  const plan = planPoll(ctx(T1), first.feedState, [nocItem(3), nocItem(2, { service: "Lambda" }), nocItem(1)], [], {}, storeOf(first));

  assert.equal(plan.activities.length, 1);
  const activity = plan.activities[0];
  assert.ok(activity);
  assert.equal(activity.type, "Create");
  assert.equal(activity.object["nttdm:ticket"].TT_ID, "EXN_3");
  assert.equal(activity.object.url, "https://noc.example.net/tt/3");
  assert.equal(activity.published, T1.toISOString());

  assert.deepEqual(
    plan.outbox.map((o) => o.room),
    [IP_ROOM, COORD_ROOM],
  );
  for (const o of plan.outbox) {
    assert.equal(o.id, outboxId(activity.id, o.room));
    assert.equal(o.ticketId, "EXN_3");
    assert.ok(o.body.startsWith("*EXN_3* new · Opened · Unknown\n"), o.body);
    const parsed = TicketActivitySchema.safeParse(JSON.parse(o.json ?? "null"));
    assert.ok(parsed.success, JSON.stringify(parsed.error?.issues));
    assert.deepEqual(parsed.data, activity);
  }
  assert.deepEqual(plan.tickets.map((t) => t.ticket.TT_ID), ["EXN_3"]);
  assert.deepEqual(plan.tickets[0]?.rooms, [IP_ROOM, COORD_ROOM]);
  assert.equal(plan.tickets[0]?.firstSeen, T1.toISOString());
  assert.deepEqual(plan.logs, [{ level: "info", msg: "ticket created", fields: { feed: "exn", ticket: "EXN_3", rooms: [IP_ROOM, COORD_ROOM] } }]);
});

void test("the same item changed: an Update activity that says what changed", () => {
  const first = primedPlan();
  const changed = nocItem(1, { status: "Updated", impact: "at risk", history: "engineer on site" });
  const plan = planPoll(ctx(T1), first.feedState, [nocItem(2, { service: "Lambda" }), changed], [], {}, storeOf(first));

  assert.deepEqual(plan.activities.map((a) => [a.type, a.object["nttdm:ticket"].TT_ID]), [["Update", "EXN_1"]]);
  assert.deepEqual(plan.outbox.map((o) => o.room), [IP_ROOM, COORD_ROOM]);
  const body = plan.outbox[0]?.body ?? "";
  // Compact: the id, the status, what changed, the new history line (the payload keeps the whole ticket).
  assert.equal(body, "*EXN_1* Updated · status Opened → Updated · impact Unknown → At risk · description changed\nHistory: engineer on site");
  assert.equal(TicketActivitySchema.parse(JSON.parse(plan.outbox[0]?.json ?? "{}")).object["nttdm:ticket"].TT_Impact_Assessment, "At risk");
  const stored = plan.tickets[0];
  assert.equal(stored?.firstSeen, T0.toISOString(), "firstSeen is kept from the first poll");
  assert.equal(stored?.lastChange, T1.toISOString());
});

void test("a changed item whose ticket content did not change: nothing is posted", () => {
  const first = primedPlan();
  // The category is not mapped to any ticket field: the item's fingerprint changes, the ticket does not.
  const recategorised = nocItem(1, { extra: { categories: ["Backbone"] } });
  assert.notEqual(recategorised.fingerprint, nocItem(1).fingerprint);
  const plan = planPoll(ctx(T1), first.feedState, [nocItem(2, { service: "Lambda" }), recategorised], [], {}, storeOf(first));
  assert.deepEqual(plan.activities, []);
  assert.deepEqual(plan.outbox, []);
  assert.deepEqual(plan.tickets, []);
  assert.deepEqual(plan.logs, []);
  assert.equal(plan.feedState.seen["EXN-1"]?.fp, recategorised.fingerprint, "the new fingerprint is remembered");
});

void test("an unchanged feed: nothing to do", () => {
  const first = primedPlan();
  const plan = planPoll(ctx(T1), first.feedState, [nocItem(2, { service: "Lambda" }), nocItem(1)], [], {}, storeOf(first));
  assert.deepEqual({ tickets: plan.tickets, outbox: plan.outbox, activities: plan.activities, logs: plan.logs }, { tickets: [], outbox: [], activities: [], logs: [] });
});

void test("an item failing translation: a warn line naming feed, item and field; the rest is still processed", () => {
  const first = primedPlan();
  const bad = nocItem(4, { impact: "Catastrophic" });
  const plan = planPoll(ctx(T1), first.feedState, [nocItem(5), bad, nocItem(3)], [], {}, storeOf(first));

  assert.deepEqual(plan.logs.filter((l) => l.level === "warn"), [
    {
      level: "warn",
      msg: "feed item not turned into a ticket",
      fields: {
        feed: "exn",
        item: "EXN-4",
        link: "https://noc.example.net/tt/4",
        field: "TT_Impact_Assessment",
        problem:
          '"Catastrophic" is not one of No impact, Reduced redundancy, Minor performance impact, Severe performance impact, No connectivity, On backup, At risk, Unknown (add a "map" to the rule)',
      },
    },
  ]);
  assert.deepEqual(plan.activities.map((a) => a.object["nttdm:ticket"].TT_ID), ["EXN_3", "EXN_5"]);
  assert.deepEqual(plan.tickets.map((t) => t.ticket.TT_ID), ["EXN_3", "EXN_5"]);
  assert.ok(plan.feedState.seen["EXN-4"], "the bad item is remembered in seen: it is not tried again until it changes");
});

void test("item problems from the parser are logged as warnings with the feed's name", () => {
  const first = primedPlan();
  const plan = planPoll(ctx(T1), first.feedState, [], [{ key: "#3", message: "item has no guid, id, link or title: skipped" }], {}, storeOf(first));
  assert.deepEqual(plan.logs, [
    { level: "warn", msg: "feed item problem", fields: { feed: "exn", item: "#3", problem: "item has no guid, id, link or title: skipped" } },
  ]);
});

void test("no route matches: a warn line, no post, the ticket is still recorded", () => {
  const first = primedPlan();
  const plan = planPoll(ctx(T1), first.feedState, [nocItem(6, { service: "Access", kind: "Test" })], [], {}, storeOf(first));
  assert.deepEqual(plan.outbox, []);
  assert.deepEqual(plan.activities, []);
  assert.deepEqual(plan.logs, [{ level: "warn", msg: "no route matches ticket: not posted", fields: { feed: "exn", ticket: "EXN_6" } }]);
  assert.deepEqual(plan.tickets.map((t) => [t.ticket.TT_ID, t.rooms]), [["EXN_6", []]]);
});

void test("an update still reaches the rooms that saw the ticket before, even if routing changed", () => {
  const first = primedPlan(); // EXN_1 went to IP_ROOM and COORD_ROOM
  const plan = planPoll(ctx(T1), first.feedState, [nocItem(1, { service: "Lambda", status: "Updated", history: "moved" })], [], {}, storeOf(first));
  assert.deepEqual(plan.outbox.map((o) => o.room), [IP_ROOM, COORD_ROOM, LAMBDA_ROOM]);
});

void test("a new item and its change in one document: Create first, then Update", () => {
  const first = primedPlan();
  // Two items (e.g. an RT transaction feed) for the same ticket, newest first.
  const newer = nocItem(7, { status: "Updated", history: "carrier on site", extra: { guid: "EXN-7#2" } });
  const older = nocItem(7, { extra: { guid: "EXN-7#1" } });
  const both = [{ ...newer, key: "EXN-7#2" }, { ...older, key: "EXN-7#1" }];
  const plan = planPoll({ ...ctx(T1), feed: { ...feed, itemsPerTicket: "many" } }, first.feedState, both, [], {}, storeOf(first));
  assert.deepEqual(plan.activities.map((a) => `${a.type} ${a.object["nttdm:ticket"].TT_Status}`), ["Create Opened", "Update Updated"]);
  assert.deepEqual(plan.tickets.map((t) => [t.ticket.TT_ID, t.ticket.TT_Status]), [["EXN_7", "Updated"]]);
});

void test("two items of a one-item-per-ticket feed that map to one ticket: the later is skipped, both are named (issue 11.1)", () => {
  const first = primedPlan();
  const newer = nocItem(7, { status: "Updated", history: "carrier on site", extra: { guid: "EXN-7#2" } });
  const older = nocItem(7, { extra: { guid: "EXN-7#1" } });
  const plan = planPoll(ctx(T1), first.feedState, [{ ...newer, key: "EXN-7#2" }, { ...older, key: "EXN-7#1" }], [], {}, storeOf(first));
  assert.deepEqual(plan.activities.map((a) => `${a.type} ${a.object["nttdm:ticket"].TT_Status}`), ["Create Opened"], "the older item is the ticket");
  assert.ok(plan.logs.some((l) => l.level === "warn" && String(l.fields.problem).includes("items EXN-7#2, EXN-7#1 all gave EXN_7: only EXN-7#1 is used")), JSON.stringify(plan.logs));
  assert.ok(plan.logs.some((l) => l.msg === "feed item not turned into a ticket" && l.fields.item === "EXN-7#2"), "the newer item is named as skipped");
});

void test("outboxId: stable for the same activity and room, different otherwise", () => {
  const cases: { name: string; input: [string, string]; expected: "same" | "different" }[] = [
    { name: "same activity, same room", input: ["urn:a:1", IP_ROOM], expected: "same" },
    { name: "same activity, other room", input: ["urn:a:1", COORD_ROOM], expected: "different" },
    { name: "other activity, same room", input: ["urn:a:2", IP_ROOM], expected: "different" },
    { name: "no ambiguity at the separator", input: ["urn:a:1\nip-transit", "@conference.noc.example.net"], expected: "different" },
  ];
  const base = outboxId("urn:a:1", IP_ROOM);
  assert.match(base, /^ttr-[0-9a-f]{24}$/);
  for (const { name, input, expected } of cases) assert.equal(outboxId(...input) === base ? "same" : "different", expected, name);
});

void test("planning is deterministic for the same poll time; a later poll makes new activities", () => {
  const first = primedPlan();
  const state: FeedState = structuredClone(first.feedState);
  const items = [nocItem(3), nocItem(2, { service: "Lambda" }), nocItem(1, { status: "Updated", history: "x" })];
  const a = planPoll(ctx(T1), state, items, [], {}, storeOf(first));
  const again = planPoll(ctx(T1), state, items, [], {}, storeOf(first));
  const b = planPoll(ctx(T2), state, items, [], {}, storeOf(first));
  assert.equal(a.outbox.length, 4);
  assert.deepEqual(again.outbox.map((o) => o.id), a.outbox.map((o) => o.id));
  // No duplicate can come from this: a plan is stored (with the feed state) before anything is sent.
  assert.equal(b.outbox.filter((o) => a.outbox.some((x) => x.id === o.id)).length, 0);
  assert.deepEqual(state, first.feedState, "planning does not mutate the state it is given");
});

void test("a rejected item is logged once, stays quiet while unchanged, and is retried when the mapping changes", () => {
  const first = primedPlan();
  const bad = nocItem(9, { impact: "Catastrophic" });
  const p1 = planPoll(ctx(T1), first.feedState, [bad, nocItem(2, { service: "Lambda" }), nocItem(1)], [], {}, storeOf(first));
  assert.equal(p1.logs.filter((l) => l.msg === "feed item not turned into a ticket").length, 1);
  const p2 = planPoll(ctx(T2), p1.feedState, [bad, nocItem(2, { service: "Lambda" }), nocItem(1)], [], {}, storeOf(first));
  assert.equal(p2.logs.filter((l) => l.msg === "feed item not turned into a ticket").length, 0, "not logged again while nothing changed");
  // The admin maps "Catastrophic": the same item now becomes a ticket and is announced.
  const fixed: FeedConfig = {
    ...feed,
    mapping: { ...feed.mapping, TT_Impact_Assessment: rule({ from: "description", regex: "^Impact:\\s*(.+)$", flags: "im", map: { Catastrophic: "No connectivity" } }) },
  };
  const p3 = planPoll({ ...ctx(T2), feed: fixed }, p2.feedState, [bad, nocItem(2, { service: "Lambda" }), nocItem(1)], [], {}, storeOf(first));
  assert.deepEqual(p3.activities.map((a) => [a.type, a.object["nttdm:ticket"].TT_ID, a.object["nttdm:ticket"].TT_Impact_Assessment]), [["Create", "EXN_9", "No connectivity"]]);
});

void test("an item re-dated by its feed keeps the ticket's first open and start times, and a bare re-dating is no change", () => {
  const first = primedPlan();
  const redated = nocItem(1, { extra: { isoDate: "2026-11-28T11:00:00.000Z" } });
  const plan = planPoll(ctx(T1), first.feedState, [redated, nocItem(2, { service: "Lambda" })], [], {}, storeOf(first));
  assert.equal(plan.activities.length, 0, "only the update time moved: nothing to post");
  const changed = nocItem(1, { status: "Updated", history: "work started", extra: { isoDate: "2026-11-28T11:00:00.000Z" } });
  const update = planPoll(ctx(T1), first.feedState, [changed, nocItem(2, { service: "Lambda" })], [], {}, storeOf(first));
  const ticket = update.activities[0]?.object["nttdm:ticket"];
  assert.equal(ticket?.TT_Status, "Updated");
  assert.equal(ticket?.TT_Open_Datetime, "2026-11-28T09:00:00.000Z", "opened when first seen");
  assert.equal(ticket?.Start_Datetime, "2026-11-28T09:00:00.000Z");
  assert.equal(ticket?.TT_Last_Update_Time, "2026-11-28T11:00:00.000Z");
  assert.equal(update.outbox[0]?.body, "*EXN_1* Updated · status Opened → Updated · description changed\nHistory: work started", "the open and start times did not change");
});

void test("mappingHash: anything that decides how items become tickets counts (rules, dates, id policy)", () => {
  const base = mappingHash(feed);
  assert.equal(mappingHash({ ...feed }), base, "the same feed");
  assert.notEqual(mappingHash({ ...feed, dates: { ...feed.dates, zone: "Europe/Stockholm" } }), base, "date settings");
  assert.notEqual(mappingHash({ ...feed, itemsPerTicket: feed.itemsPerTicket === "many" ? "one" : "many" }), base, "id policy");
  assert.notEqual(mappingHash({ ...feed, partnerId: "OTHER" }), base, "partner");
});

void test("first poll again after an interrupted one (its first parts were stored, the feed state was not): the summary still counts every listed ticket, once", () => {
  const items = [nocItem(3), nocItem(2, { service: "Lambda" }), nocItem(1)];
  // The earlier attempt stored EXN_1 (a part committed before the crash); the feed is still unprimed.
  const earlier = planPoll(ctx(T0), emptyFeedState(), [nocItem(1)], [], {}, () => undefined);
  const plan = planPoll(ctx(T1), emptyFeedState(), items, [], {}, storeOf(earlier));
  assert.equal(
    plan.outbox.find((o) => o.room === IP_ROOM)?.body,
    "Now following feed *exn*: 3 tickets already listed, 3 open (EXN_1, EXN_2, EXN_3). New tickets and changes will be posted here.",
  );
  assert.deepEqual(plan.activities, [], "nothing posted item by item");
});

void test("first poll of a feed listing one ticket twice (two items, one ticket): counted once in the summary", () => {
  const many = { ...feed, itemsPerTicket: "many" as const };
  // Newest first: the later version says more in its History.
  const twice = [nocItem(1, { status: "Updated", history: "carrier on site" }), { ...nocItem(1), key: "EXN-1-v1" }];
  const plan = planPoll({ ...ctx(T0), feed: many }, emptyFeedState(), twice, [], {}, () => undefined);
  assert.match(plan.outbox.find((o) => o.room === IP_ROOM)?.body ?? "", /: 1 ticket already listed, 1 open \(EXN_1\)/);
});

void test("planFeedBatchInParts: the same batch as planFeedBatch, pausing after every part of the document (a big first poll lets the event loop turn)", async () => {
  const sizes = [0, 1, TRANSLATE_PART, TRANSLATE_PART * 2 + 7];
  for (const n of sizes) {
    // Two items of the same ticket among them, so the clash check over the whole document runs too.
    const items = [...Array.from({ length: n }, (_, i) => nocItem(i + 1)), ...(n > 0 ? [{ ...nocItem(1), key: "EXN-1-again" }] : [])];
    let pauses = 0;
    const inParts = await planFeedBatchInParts(feed, emptyFeedState(), items, [], {}, T0, () => (pauses++, Promise.resolve()));
    assert.deepEqual(inParts, planFeedBatch(feed, emptyFeedState(), items, [], {}, T0), `${n} items`);
    assert.equal(pauses, Math.ceil(items.length / TRANSLATE_PART), `${n} items: one pause per part`);
  }
});
