import { test } from "node:test";
import assert from "node:assert/strict";
import { TicketStatuses, isFinalStatus, validateTicket, type Ticket, type TicketStatus } from "../../src/model/ticket.js";
import {
  StatusTransitions,
  acknowledge,
  addUpdate,
  allowedTransitions,
  assign,
  canTransition,
  closeTicket,
  historyLine,
  link,
  reopen,
  unlink,
  type TransitionError,
} from "../../src/model/transitions.js";
import type { Result } from "../../src/util/result.js";
import { sampleTicket } from "../fixtures/tickets.js";

const now = new Date("2024-05-01T10:00:00.000Z");
const NOW = "2024-05-01T10:00:00Z";
const alice = "alice@noc.example.net";

/** A valid ticket in `status` (final ones with their close/end times). */
function ticketIn(status: TicketStatus, overrides: Partial<Ticket> = {}): Ticket {
  const closeFields: Partial<Ticket> = isFinalStatus(status)
    ? { TT_Close_Datetime: "2008-12-16T15:05:00+02:00", End_Datetime: "2008-12-16T15:01:21+02:00", Close_Engineer: "Guillaume Cessieux" }
    : {};
  const t = sampleTicket({ TT_Status: status, ...closeFields, ...overrides });
  assert.ok(validateTicket(t, "open").ok, `fixture for ${status} must validate`);
  return t;
}

function okValue(r: Result<Ticket, TransitionError>): Ticket {
  if (!r.ok) assert.fail(`expected success, got ${r.error.code}: ${r.error.human}`);
  assert.ok(validateTicket(r.value, "open").ok, "every result validates as an open ticket");
  return r.value;
}

function errorOf(r: Result<Ticket, TransitionError>): TransitionError {
  if (r.ok) assert.fail(`expected an error, got status ${r.value.TT_Status}`);
  return r.error;
}

const lastHistoryLine = (t: Ticket): string => t.History.split("\n").at(-1) ?? "";

// ---------------------------------------------------------------------------------------------
// Figure 2 as a table: every pair of statuses.
// ---------------------------------------------------------------------------------------------

/** Figure 2 of RFC 6137 §2.2.1.1, written out by hand: from → the statuses its arrows reach. */
const FIGURE_2: Record<TicketStatus, readonly TicketStatus[]> = {
  Opened: ["Updated", "Solved", "Closed", "Superseded", "Inactive", "Cancelled"],
  Updated: ["Solved", "Closed", "Superseded", "Inactive", "Cancelled"],
  Solved: ["Closed", "Superseded", "Inactive", "Cancelled"],
  Reopened: ["Updated", "Solved", "Closed", "Superseded", "Inactive", "Cancelled"],
  Closed: ["Reopened"],
  Superseded: ["Reopened"],
  Inactive: ["Reopened"],
  Cancelled: ["Reopened"],
  "Opened/Closed": ["Reopened"],
};

void test("Figure 2: every one of the 81 status pairs is allowed exactly when the figure has an arrow", () => {
  for (const from of TicketStatuses) {
    for (const to of TicketStatuses) {
      assert.equal(canTransition(from, to), FIGURE_2[from].includes(to), `${from} -> ${to}`);
    }
  }
  assert.equal(StatusTransitions.length, Object.values(FIGURE_2).reduce((n, tos) => n + tos.length, 0));
});

void test("Figure 2: notable absences", () => {
  const forbidden: [TicketStatus, TicketStatus][] = [
    ["Solved", "Reopened"], // no arrow: close first
    ["Solved", "Updated"],
    ["Updated", "Opened"],
    ["Closed", "Opened"],
    ["Closed", "Updated"],
    ["Opened", "Reopened"],
    ["Opened", "Opened/Closed"], // Opened/Closed has no incoming arrow
    ["Cancelled", "Superseded"],
    ["Opened/Closed", "Closed"],
    ["Updated", "Updated"], // staying is not a transition
  ];
  for (const [from, to] of forbidden) assert.equal(canTransition(from, to), false, `${from} -> ${to}`);
  assert.deepEqual(allowedTransitions("Closed"), ["Reopened"]);
  assert.deepEqual(allowedTransitions("Solved"), ["Closed", "Superseded", "Inactive", "Cancelled"]);
});

/** The operation that leads to each status (Inactive and Opened/Closed: no command leads there). */
const operations: Partial<Record<TicketStatus, (t: Ticket) => Result<Ticket, TransitionError>>> = {
  Updated: (t) => addUpdate(t, alice, "fibre crew on site", now),
  Solved: (t) => closeTicket(t, alice, { outcome: "solved" }, now),
  Closed: (t) => closeTicket(t, alice, { outcome: "closed" }, now),
  Cancelled: (t) => closeTicket(t, alice, { outcome: "cancelled", master: "02_77" }, now),
  Superseded: (t) => closeTicket(t, alice, { outcome: "superseded", master: "02_77" }, now),
  Reopened: (t) => reopen(t, alice, "still down", now),
};

void test("operations: each allowed transition is made, each forbidden one refused without change", () => {
  for (const from of TicketStatuses) {
    for (const [to, op] of Object.entries(operations) as [TicketStatus, (t: Ticket) => Result<Ticket, TransitionError>][]) {
      const before = ticketIn(from);
      const copy = structuredClone(before);
      const r = op(before);
      assert.deepEqual(before, copy, "the input ticket is never modified");
      const label = `${from} -> ${to}`;
      if (canTransition(from, to)) {
        assert.equal(okValue(r).TT_Status, to, label);
      } else if (to === "Updated" && (from === "Updated" || from === "Solved")) {
        // An update keeps Updated (no self-arrow needed) and keeps Solved (no Solved -> Updated arrow).
        assert.equal(okValue(r).TT_Status, from, label);
      } else {
        assert.equal(errorOf(r).code, "conflict", label);
      }
    }
  }
});

// ---------------------------------------------------------------------------------------------
// What each transition writes
// ---------------------------------------------------------------------------------------------

void test("historyLine: '<RFC 3339 time> <actor>: <what>', one line", () => {
  assert.equal(historyLine(now, alice, "acknowledged"), `${NOW} ${alice}: acknowledged`);
  assert.equal(historyLine(now, alice, "  line one\r\n  line two\n"), `${NOW} ${alice}: line one / line two`);
});

void test("acknowledge: History + Contact_Engineers (once), status and close fields untouched", () => {
  const t = okValue(acknowledge(ticketIn("Opened"), alice, "looking", now));
  assert.equal(t.TT_Status, "Opened");
  assert.equal(t.TT_Last_Update_Time, NOW);
  assert.equal(lastHistoryLine(t), `${NOW} ${alice}: acknowledged: looking`);
  assert.ok(t.History.startsWith("Link down, detected by monitoring\n"), "earlier History kept");
  assert.deepEqual(t.Contact_Engineers, ["Spyros Kopsidas", "Chrysostomos Tziouvaras", alice]);
  const again = okValue(acknowledge(t, alice.toUpperCase(), undefined, now));
  assert.deepEqual(again.Contact_Engineers, t.Contact_Engineers, "not added twice (case-insensitive)");
  assert.equal(lastHistoryLine(again), `${NOW} ${alice.toUpperCase()}: acknowledged`);
  assert.equal(again.TT_Close_Datetime, undefined);
});

void test("acknowledge: a ticket without Contact_Engineers or History gets both", () => {
  const t = okValue(acknowledge(ticketIn("Opened", { Contact_Engineers: undefined, History: "" }), alice, "", now));
  assert.deepEqual(t.Contact_Engineers, [alice]);
  assert.equal(t.History, `${NOW} ${alice}: acknowledged`);
});

void test("acknowledge and the other bookkeeping transitions refuse final tickets", () => {
  for (const status of TicketStatuses.filter(isFinalStatus)) {
    const t = ticketIn(status);
    for (const r of [acknowledge(t, alice, "", now), addUpdate(t, alice, "x", now), assign(t, "bob", alice, now), link(t, "02_77", alice, now), unlink(ticketIn(status, { Related_Activity: ["02_77"] }), undefined, alice, now)]) {
      const e = errorOf(r);
      assert.equal(e.code, "conflict");
      assert.match(e.human, new RegExp(`${status.replace("/", "\\/")}.*Reopen`, "u"));
    }
  }
});

void test("addUpdate: History line, Updated, time; empty text refused", () => {
  const t = okValue(addUpdate(ticketIn("Reopened"), alice, "fibre spliced\nmonitoring", now));
  assert.equal(t.TT_Status, "Updated");
  assert.equal(lastHistoryLine(t), `${NOW} ${alice}: fibre spliced / monitoring`);
  assert.equal(t.TT_Last_Update_Time, NOW);
  assert.equal(errorOf(addUpdate(ticketIn("Opened"), alice, "  \n ", now)).code, "bad-args");
  assert.equal(errorOf(addUpdate(ticketIn("Opened"), " ", "text", now)).code, "bad-args");
});

void test("closeTicket closed: close time, end time if absent, Close_Engineer, History", () => {
  const t = okValue(closeTicket(ticketIn("Updated"), alice, { outcome: "closed", reason: "transmitter replaced" }, now));
  assert.equal(t.TT_Status, "Closed");
  assert.equal(t.TT_Close_Datetime, NOW);
  assert.equal(t.End_Datetime, NOW);
  assert.equal(t.Close_Engineer, alice);
  assert.equal(lastHistoryLine(t), `${NOW} ${alice}: closed: transmitter replaced`);
  assert.ok(validateTicket(t, "complete").ok, "a closed ticket is complete");

  const givenEnd = okValue(closeTicket(ticketIn("Opened", { End_Datetime: "2024-05-01T09:30:00Z" }), alice, { outcome: "closed" }, now));
  assert.equal(givenEnd.End_Datetime, "2024-05-01T09:30:00Z", "an end given by the NOC is kept");
  assert.equal(errorOf(closeTicket(ticketIn("Closed"), alice, { outcome: "closed" }, now)).human, "01_5985 is already Closed.");
});

void test("closeTicket solved: end time, no close fields (Solved is not final)", () => {
  const t = okValue(closeTicket(ticketIn("Opened"), alice, { outcome: "solved" }, now));
  assert.equal(t.TT_Status, "Solved");
  assert.equal(t.End_Datetime, NOW);
  assert.equal(t.TT_Close_Datetime, undefined);
  assert.equal(t.Close_Engineer, undefined);
  assert.equal(lastHistoryLine(t), `${NOW} ${alice}: solved`);
  const closed = okValue(closeTicket(t, alice, { outcome: "closed" }, now));
  assert.equal(closed.TT_Status, "Closed");
});

void test("closeTicket superseded/cancelled: the other ticket is required and goes first in Related_Activity", () => {
  const base = ticketIn("Opened", { Related_Activity: ["03_1", "02_77"] });
  const sup = okValue(closeTicket(base, alice, { outcome: "superseded", master: "02_77", reason: "merged" }, now));
  assert.equal(sup.TT_Status, "Superseded");
  assert.deepEqual(sup.Related_Activity, ["02_77", "03_1"]);
  assert.equal(lastHistoryLine(sup), `${NOW} ${alice}: superseded by 02_77: merged`);
  assert.equal(sup.Close_Engineer, alice);

  const can = okValue(closeTicket(ticketIn("Opened"), alice, { outcome: "cancelled", master: "02_77" }, now));
  assert.deepEqual(can.Related_Activity, ["02_77"]);
  assert.equal(lastHistoryLine(can), `${NOW} ${alice}: cancelled as a duplicate of 02_77`);

  const cases: [Parameters<typeof closeTicket>[2], TransitionError["code"]][] = [
    [{ outcome: "superseded" }, "bad-args"],
    [{ outcome: "cancelled", master: " " }, "bad-args"],
    [{ outcome: "superseded", master: "01_5985" }, "bad-args"], // itself
    [{ outcome: "superseded", master: "not an id" }, "bad-args"],
  ];
  for (const [request, code] of cases) assert.equal(errorOf(closeTicket(ticketIn("Opened"), alice, request, now)).code, code, JSON.stringify(request));
});

void test("closeTicket on a forbidden path names the allowed ones", () => {
  const e = errorOf(closeTicket(ticketIn("Opened/Closed"), alice, { outcome: "solved" }, now));
  assert.equal(e.code, "conflict");
  assert.match(e.human, /final status\. Reopen it first/u);
});

void test("reopen: Reopened, close fields removed, previous status and close time in History", () => {
  const t = okValue(reopen(ticketIn("Closed"), alice, "link flapping again", now));
  assert.equal(t.TT_Status, "Reopened");
  assert.equal(t.TT_Close_Datetime, undefined);
  assert.equal(t.End_Datetime, undefined);
  assert.equal(t.Close_Engineer, undefined);
  assert.equal(t.TT_Last_Update_Time, NOW);
  assert.equal(lastHistoryLine(t), `${NOW} ${alice}: reopened (was Closed since 2008-12-16T15:05:00+02:00): link flapping again`);

  assert.match(errorOf(reopen(ticketIn("Solved"), alice, "", now)).human, /no Solved → Reopened/u);
  assert.match(errorOf(reopen(ticketIn("Opened"), alice, "", now)).human, /nothing to reopen/u);
  assert.equal(errorOf(reopen(ticketIn("Reopened"), alice, "", now)).human, "01_5985 is already Reopened.");
  // Reopened -> Closed again (Figure 2 draws that line with arrowheads at both ends).
  assert.equal(okValue(closeTicket(t, alice, { outcome: "closed" }, now)).TT_Status, "Closed");
});

void test("assign: engineer first in Contact_Engineers, status unchanged", () => {
  const t = okValue(assign(ticketIn("Updated"), "Chrysostomos Tziouvaras", alice, now));
  assert.deepEqual(t.Contact_Engineers, ["Chrysostomos Tziouvaras", "Spyros Kopsidas"]);
  assert.equal(t.TT_Status, "Updated");
  assert.equal(lastHistoryLine(t), `${NOW} ${alice}: assigned to Chrysostomos Tziouvaras`);
  assert.equal(errorOf(assign(t, "chrysostomos tziouvaras", alice, now)).code, "conflict");
  assert.equal(errorOf(assign(t, " ", alice, now)).code, "bad-args");
});

void test("link and unlink: Related_Activity, History, status unchanged", () => {
  const linked = okValue(link(ticketIn("Opened"), "02_77", alice, now));
  assert.deepEqual(linked.Related_Activity, ["02_77"]);
  assert.equal(linked.TT_Status, "Opened");
  assert.equal(lastHistoryLine(linked), `${NOW} ${alice}: linked to 02_77`);
  assert.equal(errorOf(link(linked, "02_77", alice, now)).code, "conflict");
  assert.equal(errorOf(link(linked, "01_5985", alice, now)).code, "bad-args");
  assert.equal(errorOf(link(linked, "nope", alice, now)).code, "bad-args");

  const two = okValue(link(linked, "03_1", alice, now));
  const one = okValue(unlink(two, "02_77", alice, now));
  assert.deepEqual(one.Related_Activity, ["03_1"]);
  assert.equal(lastHistoryLine(one), `${NOW} ${alice}: unlinked from 02_77`);
  assert.equal(errorOf(unlink(one, "02_77", alice, now)).code, "conflict");
  const none = okValue(unlink(two, undefined, alice, now));
  assert.equal(none.Related_Activity, undefined, "an empty list is removed");
  assert.equal(lastHistoryLine(none), `${NOW} ${alice}: unlinked from 02_77, 03_1`);
  assert.equal(errorOf(unlink(none, undefined, alice, now)).code, "conflict");
});

void test("a transition never returns an invalid ticket: a damaged input is reported", () => {
  const damaged = { ...ticketIn("Opened"), TT_ID: "wrong_id" };
  const e = errorOf(acknowledge(damaged, alice, "", now));
  assert.equal(e.code, "invalid");
  assert.match(e.human, /TT_ID/u);
});
