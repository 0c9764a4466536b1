import { test } from "node:test";
import assert from "node:assert/strict";
import { reminderText } from "../../src/maintenance/reminders.js";
import { dueReminders, maintenanceNowAndNext, remindersOf, windowOf } from "../../src/maintenance/windows.js";
import type { Ticket } from "../../src/model/ticket.js";
import type { StoredTicket } from "../../src/store/types.js";
import { sampleClosedTicket, sampleTicket } from "../fixtures/tickets.js";

const START = Date.parse("2026-12-01T01:00:00Z");
const END = Date.parse("2026-12-01T05:00:00Z");
const MIN = 60_000;

const planned = (o: Partial<Ticket> = {}): Ticket =>
  sampleTicket({ Type: "Scheduled", Time_Window_Start: "2026-12-01T01:00:00Z", Time_Window_End: "2026-12-01T05:00:00Z", TT_Title: "Fibre repair", Network_Link_Circuit: ["NL-CIR-1001"], ...o });

void test("windowOf: only live scheduled tickets with a sound window", () => {
  const cases: { name: string; ticket: Ticket; window: boolean }[] = [
    { name: "scheduled with a window", ticket: planned(), window: true },
    { name: "unscheduled", ticket: planned({ Type: "Unscheduled" }), window: false },
    { name: "no window", ticket: planned({ Time_Window_Start: undefined, Time_Window_End: undefined }), window: false },
    { name: "end before start", ticket: planned({ Time_Window_End: "2026-12-01T00:00:00Z" }), window: false },
    { name: "cancelled", ticket: { ...sampleClosedTicket({ Type: "Scheduled", Time_Window_Start: "2026-12-01T01:00:00Z", Time_Window_End: "2026-12-01T05:00:00Z" }), TT_Status: "Cancelled" }, window: false },
  ];
  for (const c of cases) assert.equal(windowOf(c.ticket) !== undefined, c.window, c.name);
});

void test("remindersOf: before (largest first), start, end; keys name the window, so a moved window has new ones", () => {
  const rs = remindersOf(planned(), [15, 60, 15]);
  assert.deepEqual(rs.map((r) => [r.kind, r.minutes, r.at]), [
    ["before", 60, START - 60 * MIN],
    ["before", 15, START - 15 * MIN],
    ["start", undefined, START],
    ["end", undefined, END],
  ]);
  const moved = remindersOf(planned({ Time_Window_Start: "2026-12-02T01:00:00Z", Time_Window_End: "2026-12-02T05:00:00Z" }), [15, 60]);
  assert.equal(new Set([...rs, ...moved].map((r) => r.key)).size, 8, "no key in common");
});

void test("dueReminders: the latest due one, while still true; every due one marked done; the next time", () => {
  const keys = remindersOf(planned(), [60, 15]).map((r) => r.key);
  const [b60 = "", b15 = "", start = "", end = ""] = keys;
  type Case = { name: string; now: number; said?: string[]; say?: string; done: string[]; next?: number };
  const cases: Case[] = [
    { name: "two hours before: nothing yet", now: START - 120 * MIN, done: [], next: START - 60 * MIN },
    { name: "60 min before", now: START - 60 * MIN, say: b60, done: [b60], next: START - 15 * MIN },
    { name: "60 said, 20 min before: nothing", now: START - 20 * MIN, said: [b60], done: [], next: START - 15 * MIN },
    { name: "15 min before", now: START - 14 * MIN, said: [b60], say: b15, done: [b15], next: START },
    { name: "back after a pause, 10 min before: only the 15-minute one", now: START - 10 * MIN, say: b15, done: [b60, b15], next: START },
    { name: "at the start", now: START + 1000, said: [b60, b15], say: start, done: [start], next: END },
    { name: "back after a pause, during the window: only 'started'", now: START + 60 * MIN, say: start, done: [b60, b15, start], next: END },
    { name: "at the end", now: END + 1000, said: [b60, b15, start], say: end, done: [end] },
    { name: "long after the end: marked, not said", now: END + 7 * 3600_000, said: [b60, b15, start], done: [end] },
    { name: "all said", now: END + 1000, said: keys, done: [] },
  ];
  for (const c of cases) {
    const d = dueReminders(planned(), [60, 15], new Set(c.said ?? []), c.now);
    assert.equal(d.say?.key, c.say, `${c.name}: said`);
    assert.deepEqual(d.done, c.done, `${c.name}: done`);
    assert.equal(d.next, c.next, `${c.name}: next`);
  }
  assert.deepEqual(dueReminders(planned({ Type: "Unscheduled" }), [60], new Set(), END), { done: [], next: undefined }, "nothing for unscheduled tickets");
});

void test("maintenanceNowAndNext: under way now, and starting within the next 24 h, by start time", () => {
  const a = { ticket: planned({ TT_ID: "X_1", Original_ID: "1" }) };
  const b = { ticket: planned({ TT_ID: "X_2", Original_ID: "2", Time_Window_Start: "2026-12-01T20:00:00Z", Time_Window_End: "2026-12-01T22:00:00Z" }) };
  const far = { ticket: planned({ TT_ID: "X_3", Original_ID: "3", Time_Window_Start: "2026-12-05T20:00:00Z", Time_Window_End: "2026-12-05T22:00:00Z" }) };
  const fault = { ticket: sampleTicket() };
  const r = maintenanceNowAndNext([far, b, fault, a], START + 30 * MIN);
  assert.deepEqual(r.now.map((v) => v.ticket.TT_ID), ["X_1"]);
  assert.deepEqual(r.next.map((v) => v.ticket.TT_ID), ["X_2"]);
});

void test("reminderText: what is coming, when, on which circuits", () => {
  const stored: StoredTicket = { ticket: planned({ TT_Title: "Fibre repair" }), hash: "h", source: "mail", firstSeen: "", lastChange: "", rooms: [] };
  const [b60, start, end] = remindersOf(stored.ticket, [60]);
  assert.ok(b60 && start && end);
  assert.equal(
    reminderText(stored, b60, "UTC"),
    "Reminder: planned maintenance *01_5985* starts in 60 min: Fibre repair\nWindow: 2026-12-01 01:00 UTC – 2026-12-01 05:00 UTC\nCircuits: NL-CIR-1001",
  );
  assert.match(reminderText(stored, start, "Europe/Stockholm"), /has started: .*\nUntil 2026-12-01 06:00 CET/);
  assert.match(reminderText(stored, end, "UTC"), /is over \(planned end 2026-12-01 05:00 UTC\), and the ticket is still open \(Opened\)/);
});
