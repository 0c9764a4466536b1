import { test } from "node:test";
import assert from "node:assert/strict";
import { reconcileSourceUpdate } from "../../src/model/reconcile.js";
import { StatusTransitions } from "../../src/model/transitions.js";
import { TicketStatuses, isFinalStatus, validateTicket, type Ticket, type TicketStatus } from "../../src/model/ticket.js";
import { sampleTicket } from "../fixtures/tickets.js";

const NOW = new Date("2008-12-17T08:00:00.000Z");
const STAMP = "2008-12-17T08:00:00Z ttrelay: feed grnet:";

/** A valid ticket in any status: final ones get their close fields. */
function inStatus(status: TicketStatus, extra: Partial<Ticket> = {}): Ticket {
  const final = isFinalStatus(status);
  return sampleTicket({
    TT_Status: status,
    History: `was ${status}`,
    ...(final ? { TT_Close_Datetime: "2008-12-16T15:05:00+02:00", End_Datetime: "2008-12-16T15:01:21+02:00", Close_Engineer: "GC" } : {}),
    ...extra,
  });
}

void test("reconcileSourceUpdate: every pair of statuses follows Figure 2, else the previous state is kept with a History line", () => {
  const allowed = new Set(StatusTransitions.map(([a, b]) => `${a}->${b}`));
  for (const from of TicketStatuses) {
    for (const to of TicketStatuses) {
      const before = inStatus(from);
      const incoming = inStatus(to, { TT_Title: "new title" });
      const r = reconcileSourceUpdate(before, incoming, "feed grnet", NOW);
      const name = `${from} → ${to}`;
      assert.ok(validateTicket(r.ticket, "open").ok, `${name}: valid`);
      assert.equal(r.ticket.TT_Title, "new title", `${name}: other fields are the source's`);
      if (from === to || allowed.has(`${from}->${to}`)) {
        assert.equal(r.ticket.TT_Status, to, name);
        assert.deepEqual(r.notes, [], name);
      } else {
        assert.equal(r.ticket.TT_Status, from, `${name}: kept`);
        assert.equal(r.notes.length, 1, name);
        assert.ok(r.notes[0]?.startsWith(`${STAMP} sent status ${to} after ${from}; RFC 6137 Figure 2 has no ${from} → ${to}, so the ticket stays ${from}`), `${name}: ${r.notes[0]}`);
        assert.equal(r.ticket.History.split("\n").at(-1), r.notes[0], `${name}: in History`);
        assert.equal(r.ticket.TT_Close_Datetime, before.TT_Close_Datetime, `${name}: close time as before`);
        assert.equal(r.ticket.End_Datetime, before.End_Datetime, `${name}: end time as before`);
      }
    }
  }
});

void test("reconcileSourceUpdate: the transitions the issue saw posted (Solved → Updated, Updated → Opened) are kept back", () => {
  const cases: { name: string; input: [TicketStatus, TicketStatus]; expected: TicketStatus }[] = [
    { name: "Solved → Updated", input: ["Solved", "Updated"], expected: "Solved" },
    { name: "Updated → Opened", input: ["Updated", "Opened"], expected: "Updated" },
    { name: "Closed → Opened (the feed still lists what the room closed)", input: ["Closed", "Opened"], expected: "Closed" },
    { name: "Closed → Reopened is allowed", input: ["Closed", "Reopened"], expected: "Reopened" },
    { name: "Opened → Solved is allowed", input: ["Opened", "Solved"], expected: "Solved" },
  ];
  for (const { name, input, expected } of cases) {
    assert.equal(reconcileSourceUpdate(inStatus(input[0]), inStatus(input[1]), "feed grnet", NOW).ticket.TT_Status, expected, name);
  }
});

void test("reconcileSourceUpdate: date order (close ≥ open, end ≥ start)", () => {
  const open = "2008-12-16T10:01:15+02:00";
  const start = "2008-12-16T09:55:00+02:00";
  const cases: {
    name: string;
    input: { before?: Ticket; incoming: Ticket };
    expected: { close?: string | undefined; end?: string | undefined; note?: RegExp };
  }[] = [
    { name: "in order", input: { incoming: inStatus("Closed") }, expected: { close: "2008-12-16T15:05:00+02:00", end: "2008-12-16T15:01:21+02:00" } },
    {
      name: "final, close before open, nothing stored: the open time",
      input: { incoming: inStatus("Closed", { TT_Close_Datetime: "2008-12-15T00:00:00Z" }) },
      expected: { close: open, end: "2008-12-16T15:01:21+02:00", note: /TT_Close_Datetime 2008-12-15T00:00:00Z is before TT_Open_Datetime .*: set to .* as a Closed ticket needs one/ },
    },
    {
      name: "end before start, the stored end is in order: kept",
      input: { before: inStatus("Solved", { End_Datetime: "2008-12-16T12:00:00Z" }), incoming: inStatus("Solved", { End_Datetime: "2008-12-01T00:00:00Z" }) },
      expected: { end: "2008-12-16T12:00:00Z", note: /End_Datetime 2008-12-01T00:00:00Z is before Start_Datetime .*: kept 2008-12-16T12:00:00Z/ },
    },
    {
      name: "open ticket, end before start, nothing stored: left out",
      input: { incoming: inStatus("Updated", { End_Datetime: "2008-12-01T00:00:00Z" }) },
      expected: { end: undefined, note: /End_Datetime 2008-12-01T00:00:00Z is before Start_Datetime .*: left out/ },
    },
  ];
  for (const { name, input, expected } of cases) {
    const r = reconcileSourceUpdate(input.before, input.incoming, "feed grnet", NOW);
    assert.ok(validateTicket(r.ticket, "open").ok, name);
    if ("close" in expected) assert.equal(r.ticket.TT_Close_Datetime, expected.close, name);
    assert.equal(r.ticket.End_Datetime, expected.end, name);
    assert.equal(r.ticket.Start_Datetime, start, name);
    if (expected.note) {
      assert.equal(r.notes.length, 1, name);
      assert.match(r.notes[0] ?? "", expected.note, name);
      assert.ok(r.ticket.History.endsWith(r.notes[0] ?? "?"), name);
    } else assert.deepEqual(r.notes, [], name);
  }
});
