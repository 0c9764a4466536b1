// A big backlog through the intake and the outbox, on a real file store: planned and committed in
// parts (delivery starts after the first), other steps run between parts, echo notes share one
// write, and the outbox does constant work per message whatever its size.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { defaultCorrelationConfig } from "../../src/correlate/engine.js";
import { IncidentBook } from "../../src/intake/incidents.js";
import { FIRST_PART, IntakeService } from "../../src/intake/intake.js";
import { nocActor } from "../../src/model/activity.js";
import { OutboxDelivery } from "../../src/outbox/delivery.js";
import type { SourceBatch, TicketVersion } from "../../src/sources/types.js";
import { FileStore } from "../../src/store/file-store.js";
import { ChangeSet, type OutboxEntry } from "../../src/store/types.js";
import type { OutgoingRoomMessage } from "../../src/xmpp/stanzas.js";
import { captureLogger } from "../helpers/log-capture.js";
import { sampleTicket } from "../fixtures/tickets.js";

const ROOM = "noc@conference.example.net";
const OTHER = "customers@conference.example.net";
const NOW = new Date("2026-11-28T10:00:00Z");

const dirP = mkdtemp(join(tmpdir(), "ttrelay-backlog-"));
after(async () => rm(await dirP, { recursive: true, force: true }));

async function setup(name: string): Promise<{ store: FileStore; intake: IntakeService; incidents: IncidentBook; commits: ChangeSet[] }> {
  const opened = await FileStore.open(join(await dirP, `${name}.json`));
  assert.ok(opened.ok);
  const store = opened.value;
  const incidents = new IncidentBook(store.state, defaultCorrelationConfig);
  const commits: ChangeSet[] = [];
  store.onApplied((c) => commits.push(c));
  const intake = new IntakeService({
    store,
    incidents,
    routes: [{ rooms: [ROOM], when: {} }],
    render: { maxLongDescription: 600, timeZone: "UTC" },
    actor: nocActor({ id: "EXN", name: "ExampleNet NOC" }),
    systems: [],
    log: captureLogger().log,
    now: () => NOW,
  });
  return { store, intake, incidents, commits };
}

const version = (n: number): TicketVersion => ({
  ticket: sampleTicket({ Original_ID: String(n), Network_Link_Circuit: [`EXN-C-${n % 7}`] }),
  provenance: { source: "exn", item: `EXN-${n}` },
});

const ttId = (n: number): string => version(n).ticket.TT_ID;

const count = (c: ChangeSet, collection: "tickets" | "outbox" | "sources"): number => [...c.entries()].filter(([col]) => col === collection).length;

void test("a big batch is committed in parts: messages are queued from the first part on, a command runs between parts, the source's state comes last", async () => {
  const { store, intake, commits } = await setup("parts");
  const batch: SourceBatch = { source: "exn", versions: Array.from({ length: 1200 }, (_, i) => version(i + 1)), state: { cursor: "after-1200" } };
  const submitted = intake.submit(batch);
  // Queued behind the batch's first part: it must not wait for all of it.
  let commandRan = -1;
  const command = intake.exclusive(() => {
    commandRan = commits.length;
    return Promise.resolve();
  });
  const result = await submitted;
  await command;
  assert.ok(result.committed);
  assert.equal(result.outcomes.length, 1200);
  assert.ok(result.outcomes.every((o) => o.outcome === "created"));
  const parts = commits.filter((c) => count(c, "tickets") > 0);
  assert.ok(parts.length > 1, `parts: ${parts.length}`);
  assert.equal(count(parts[0] as ChangeSet, "tickets"), FIRST_PART, "the first part is small");
  assert.equal(count(parts[0] as ChangeSet, "outbox"), FIRST_PART, "and carries its own messages");
  assert.equal(parts.map((c) => count(c, "tickets")).reduce((a, b) => a + b, 0), 1200);
  assert.equal(commits.findIndex((c) => count(c, "sources") > 0), commits.length - 1, "the state is written with the last part");
  assert.ok(commandRan >= 1 && commandRan < parts.length, `the command ran after part ${commandRan} of ${parts.length}`);
  assert.equal(store.size("outbox"), 1200);
  assert.deepEqual(store.get("sources", "exn"), { cursor: "after-1200" });
  await store.close();
});

void test("a part that cannot be stored: nothing of it or after it is stored, and submitting the batch again stores the rest without announcing anything twice", async () => {
  const { store, intake, commits } = await setup("part-fails");
  const batch: SourceBatch = { source: "exn", versions: Array.from({ length: 400 }, (_, i) => version(i + 1)), state: { cursor: "x" } };
  // The store refuses the second write (as a full disk would), once.
  const real = store.commit.bind(store);
  let writes = 0;
  store.commit = (c: ChangeSet) => (++writes === 2 ? Promise.reject(new Error("ENOSPC: no space left on device")) : real(c));
  const first = await intake.submit(batch);
  assert.equal(first.committed, false);
  assert.equal(store.size("tickets"), FIRST_PART);
  assert.equal(store.get("sources", "exn"), undefined);
  const again = await intake.submit(batch);
  assert.ok(again.committed);
  assert.equal(again.outcomes.filter((o) => o.outcome === "unchanged").length, FIRST_PART);
  assert.equal(store.size("tickets"), 400);
  assert.equal(store.size("outbox"), 400, "one message per ticket, none twice");
  assert.equal(commits.reduce((n, c) => n + count(c, "outbox"), 0), 400);
  await store.close();
});

void test("echo notes (reply targets) that arrive together share one write, and never overtake a step queued before them", async () => {
  const { store, intake, incidents, commits } = await setup("notes");
  const created = await intake.submit({ source: "exn", versions: Array.from({ length: 50 }, (_, i) => version(i + 1)) });
  assert.ok(created.committed);
  const before = commits.length;
  const notes = Array.from({ length: 50 }, (_, i) => intake.noteTicketPost(ttId(i + 1), ROOM, `sid-${i + 1}`, `${ROOM}/ttrelay`));
  assert.deepEqual(await Promise.all(notes), Array.from({ length: 50 }, () => true));
  assert.equal(commits.length - before, 1, "50 notes, one write");
  assert.deepEqual(store.ticket(ttId(7))?.posts, { [ROOM]: { id: "sid-7", to: `${ROOM}/ttrelay` } });

  // A ticket that only exists once a step queued ahead of its note has run (a peer's activity
  // creates the incident whose first message is then noted): the note waits for it.
  const noted = intake.noteTicketPost(ttId(1), OTHER, "sid-other", `${OTHER}/ttrelay`);
  const late = intake.submit({ source: "exn", versions: [version(999)] });
  const lateNote = intake.noteTicketPost(ttId(999), ROOM, "sid-999", `${ROOM}/ttrelay`);
  const thread = store.ticket(ttId(1))?.incident ?? "";
  const firstNote = intake.noteFirstMessage(thread, ROOM, "sid-thread", `${ROOM}/ttrelay`);
  assert.deepEqual(await Promise.all([noted, late.then((r) => r.committed), lateNote, firstNote]), [true, true, true, true]);
  assert.equal(store.ticket(ttId(999))?.posts?.[ROOM]?.id, "sid-999", "noted after the ticket was stored");
  assert.equal(store.ticket(ttId(1))?.posts?.[OTHER]?.id, "sid-other");
  assert.equal(incidents.threading(thread, ROOM).replyTo?.id, "sid-thread");
  await store.close();
});

/** A store whose reads of the outbox are counted (the delivery must not scan it per message). */
function countingReads(store: FileStore): { reads: () => number } {
  let reads = 0;
  const get = store.get.bind(store);
  const values = store.values.bind(store);
  store.get = ((collection, key) => {
    if (collection === "outbox") reads++;
    return get(collection, key);
  });
  store.values = ((collection) => {
    if (collection !== "outbox") return values(collection);
    const it = values(collection);
    return (function* () {
      for (const v of it) {
        reads++;
        yield v;
      }
    })();
  }) as FileStore["values"];
  return { reads: () => reads };
}

void test("delivering a backlog of 3000 messages reads each outbox entry a constant number of times, window by window, in order per room", async () => {
  const { store } = await setup("delivery");
  const entries: OutboxEntry[] = Array.from({ length: 3000 }, (_, i) => ({ id: `m-${i}`, room: i % 3 === 0 ? OTHER : ROOM, body: `message ${i}`, createdAt: NOW.toISOString(), attempts: 0 }));
  const reads = countingReads(store);
  const sent: OutgoingRoomMessage[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const delivery = new OutboxDelivery(store, {
    isJoined: () => true,
    send: (m) => {
      sent.push(m);
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      // The room echoes it a moment later, as Prosody would.
      setImmediate(() => {
        inFlight--;
        delivery.delivered(m.id);
      });
      return Promise.resolve();
    },
  }, captureLogger().log, { echoTimeoutMs: 60_000, windowPerRoom: 20, deliveryCommitDelayMs: 5 });
  await store.commit(entries.reduce((c, e) => c.put("outbox", e.id, e), new ChangeSet()));
  await delivery.kick();
  for (let i = 0; i < 200 && store.size("outbox") > 0; i++) await new Promise((r) => setTimeout(r, 20));
  assert.equal(sent.length, 3000, "each message sent once");
  assert.equal(new Set(sent.map((m) => m.id)).size, 3000);
  assert.ok(maxInFlight <= 40, `at most the window per room in flight (${maxInFlight})`);
  for (const room of [ROOM, OTHER]) {
    const order = sent.filter((m) => m.room === room).map((m) => Number(m.id.slice(2)));
    assert.deepEqual(order, [...order].sort((a, b) => a - b), `in order in ${room}`);
  }
  // Constant per message; a pass over the whole outbox per echo read it ~9 million times.
  assert.ok(reads.reads() < 10 * 3000, `outbox reads: ${reads.reads()} for 3000 messages`);
  assert.equal(store.size("outbox"), 0, "all delivered and written");
  delivery.stop();
  await store.close();
});

void test("after a rejoin, what was in flight and did not come back is sent again first; what the room showed is not", async () => {
  const { store } = await setup("rejoin");
  const sent: string[] = [];
  let joined = true;
  const delivery = new OutboxDelivery(store, { isJoined: () => joined, send: (m) => (sent.push(m.id), Promise.resolve()) }, captureLogger().log, { echoTimeoutMs: 60_000, windowPerRoom: 3 });
  await store.commit(["a", "b", "c", "d", "e"].reduce((c, id) => c.put("outbox", id, { id, room: ROOM, body: id, createdAt: NOW.toISOString(), attempts: 0 }), new ChangeSet()));
  await delivery.kick();
  assert.deepEqual(sent, ["a", "b", "c"], "one window");
  // The connection drops; on the rejoin the room's history or archive shows "b" only.
  joined = false;
  delivery.delivered("b");
  joined = true;
  delivery.joined(ROOM);
  await delivery.kick();
  assert.deepEqual(sent, ["a", "b", "c", "a", "c"], "a and c again, first; b's slot is held until its mark is written");
  await delivery.flush();
  await delivery.kick();
  assert.deepEqual(sent, ["a", "b", "c", "a", "c", "d"], "then d");
  delivery.stop();
  await delivery.flush();
  await store.close();
});

void test("a message the room showed keeps its window slot until its delivery mark is on disk (a slow write must not let shown, unmarked messages pile up past what a rejoin recognises)", async () => {
  const { store } = await setup("marks");
  const sent: string[] = [];
  const delivery = new OutboxDelivery(store, { isJoined: () => true, send: (m) => (sent.push(m.id), Promise.resolve()) }, captureLogger().log, { echoTimeoutMs: 60_000, windowPerRoom: 3 });
  await store.commit(["a", "b", "c", "d", "e"].reduce((c, id) => c.put("outbox", id, { id, room: ROOM, body: id, createdAt: NOW.toISOString(), attempts: 0 }), new ChangeSet()));
  await delivery.kick();
  assert.deepEqual(sent, ["a", "b", "c"]);
  // The store is slow (a snapshot under way): writes wait until released.
  let release: () => void = () => undefined;
  const held = new Promise<void>((r) => (release = r));
  const commit = store.commit.bind(store);
  store.commit = async (changes) => {
    await held;
    return commit(changes);
  };
  delivery.delivered("a");
  delivery.delivered("b");
  await new Promise((r) => setTimeout(r, 50));
  await delivery.kick();
  assert.deepEqual(sent, ["a", "b", "c"], "nothing more while the marks of a and b are not written");
  assert.equal(store.size("outbox"), 5, "a and b are still listed: a crash now must find at most a window of shown messages");
  release();
  for (let i = 0; i < 50 && sent.length < 5; i++) await new Promise((r) => setTimeout(r, 10));
  assert.deepEqual(sent, ["a", "b", "c", "d", "e"], "their slots free once written");
  assert.equal(store.size("outbox"), 3);
  delivery.stop();
  await delivery.flush();
  await store.close();
});

void test("a batch whose write fails leaves the incident book as it was (its plan stays in place only once written); the same batch then correlates as it would have", async () => {
  const { store, intake, incidents } = await setup("undo");
  const circuit = (n: number): TicketVersion => ({ ...version(n), ticket: sampleTicket({ Original_ID: String(n), Network_Link_Circuit: ["EXN-C-SHARED"] }) });
  assert.equal((await intake.submit({ source: "exn", versions: [circuit(1)] })).committed, true);
  const incidentOfFirst = store.ticket(ttId(1))?.incident;
  assert.ok(incidentOfFirst);
  const before = { ids: incidents.incidentIds(), members: incidents.members(incidentOfFirst).map((m) => m.ttId), record: incidents.record(incidentOfFirst) };
  // The next write fails (as on a full disk): FileStore's own commit, refused once.
  const commit = store.commit.bind(store);
  let refuse = true;
  store.commit = (changes: ChangeSet): Promise<void> => {
    if (!refuse) return commit(changes);
    refuse = false;
    return Promise.reject(new Error("test: no space left on device"));
  };
  const failed = await intake.submit({ source: "exn", versions: [circuit(2), circuit(3)] });
  assert.equal(failed.committed, false);
  assert.equal(incidents.index.has(ttId(2)), false, "the failed batch's tickets are not in the index");
  assert.deepEqual({ ids: incidents.incidentIds(), members: incidents.members(incidentOfFirst).map((m) => m.ttId), record: incidents.record(incidentOfFirst) }, before);
  // Submitted again, with the disk back: both join the first ticket's incident, in memory and on disk.
  assert.equal((await intake.submit({ source: "exn", versions: [circuit(2), circuit(3)] })).committed, true);
  assert.deepEqual(incidents.members(incidentOfFirst).map((m) => m.ttId).sort(), [ttId(1), ttId(2), ttId(3)].sort());
  assert.equal(store.ticket(ttId(3))?.incident, incidentOfFirst);
  assert.deepEqual(store.get("incidents", incidentOfFirst), incidents.record(incidentOfFirst));
  await store.close();
});

void test("an echo overdue is sent again only once its room has shown none of ours for the echo time-out: a slow room working through its queue gets no second copy", async () => {
  const { store } = await setup("overdue");
  const sent: string[] = [];
  let now = NOW.getTime();
  const delivery = new OutboxDelivery(store, { isJoined: () => true, send: (m) => (sent.push(m.id), Promise.resolve()) }, captureLogger().log, { echoTimeoutMs: 60_000, windowPerRoom: 10, deliveryCommitDelayMs: 5 }, () => now);
  await store.commit(["a", "b", "c", "d"].reduce((c, id) => c.put("outbox", id, { id, room: ROOM, body: id, createdAt: NOW.toISOString(), attempts: 0 }), new ChangeSet()));
  await delivery.kick();
  assert.deepEqual(sent, ["a", "b", "c", "d"]);
  delivery.start(20);
  const tick = (): Promise<void> => new Promise((r) => setTimeout(r, 60));
  // The room is slow: a minute after sending, it shows "a", then "b" 50 s later.
  now += 61_000;
  delivery.delivered("a");
  await tick();
  assert.deepEqual(sent, ["a", "b", "c", "d"], "c and d are past the time-out, but the room has just shown one of ours: it is still working");
  now += 50_000;
  delivery.delivered("b");
  await tick();
  assert.deepEqual(sent, ["a", "b", "c", "d"], "still working through them");
  // Then nothing for more than the time-out: c and d were lost, and go out again, in order.
  now += 61_000;
  await tick();
  assert.deepEqual(sent, ["a", "b", "c", "d", "c", "d"]);
  delivery.stop();
  await delivery.flush();
  await store.close();
});
