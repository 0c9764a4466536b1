import { test } from "node:test";
import assert from "node:assert/strict";
import { MAX_NAMED_CANDIDATES, resolveRef, resolveTicketId, type RefKind, type TicketRefLookup } from "../../src/dispatch/ticket-ref.js";

function lookupOf(tickets: readonly string[], incidents: readonly string[] = []): TicketRefLookup {
  return {
    hasTicket: (id) => tickets.includes(id),
    ticketIds: () => tickets,
    hasIncident: (id) => incidents.includes(id),
    incidentIds: () => incidents,
  };
}

const INC_A = "INC-3fa2b9c01d4e";
const INC_B = "INC-3fa2ffff0000";
const INC_C = "INC-77aa00bb11cc-2";

const known = lookupOf(
  ["EXN_1043", "EXN_2001", "GRNET_5985", "01_5985", "RENATER_INC0001043", "SWITCH_CHG0042", "NORDU_7", "GEANT_7", "INC_9999"],
  [INC_A, INC_B, INC_C],
);

type Expected = { kind: "ticket" | "incident"; id: string; rule?: string } | { error: string; candidates?: string[] };

void test("resolveRef: the rules, in order", () => {
  const table: [string, RefKind, Expected][] = [
    // 1. exact
    ["EXN_1043", "any", { kind: "ticket", id: "EXN_1043", rule: "exact" }],
    ["  EXN_1043 ", "any", { kind: "ticket", id: "EXN_1043", rule: "exact" }],
    ["#EXN_1043", "any", { kind: "ticket", id: "EXN_1043", rule: "exact" }],
    ["(EXN_1043),", "any", { kind: "ticket", id: "EXN_1043", rule: "exact" }],
    ["<EXN_1043>", "any", { kind: "ticket", id: "EXN_1043", rule: "exact" }],
    // 2. case
    ["exn_1043", "any", { kind: "ticket", id: "EXN_1043", rule: "ignore-case" }],
    // 3. separators
    ["exn-1043", "any", { kind: "ticket", id: "EXN_1043", rule: "separators" }],
    ["EXN1043", "any", { kind: "ticket", id: "EXN_1043", rule: "separators" }],
    ["exn 1043", "any", { kind: "ticket", id: "EXN_1043", rule: "separators" }],
    ["Exn/1043", "any", { kind: "ticket", id: "EXN_1043", rule: "separators" }],
    ["01-5985", "any", { kind: "ticket", id: "01_5985", rule: "separators" }],
    // 4. ORIGINAL_ID alone
    ["2001", "any", { kind: "ticket", id: "EXN_2001", rule: "original-id" }],
    ["chg0042", "any", { kind: "ticket", id: "SWITCH_CHG0042", rule: "original-id" }],
    ["#2001", "any", { kind: "ticket", id: "EXN_2001", rule: "original-id" }],
    // 5. the number ending the ORIGINAL_ID
    ["42", "any", { kind: "ticket", id: "SWITCH_CHG0042", rule: "number" }],
    // "1043" is EXN's ORIGINAL_ID exactly: rule 4 wins before rule 5 would also find RENATER's INC0001043.
    ["1043", "any", { kind: "ticket", id: "EXN_1043", rule: "original-id" }],
    // leading zeros are ignored by rule 5, so "001043" is both 1043s
    ["001043", "any", { error: "ambiguous", candidates: ["EXN_1043", "RENATER_INC0001043"] }],
    ["0042", "any", { kind: "ticket", id: "SWITCH_CHG0042", rule: "number" }],
    // ambiguous short forms list every candidate
    ["5985", "any", { error: "ambiguous", candidates: ["01_5985", "GRNET_5985"] }],
    ["7", "ticket", { error: "ambiguous", candidates: ["GEANT_7", "NORDU_7"] }],
    // all digits never use the separator rule ("015985" is not partner 01 + 5985)
    ["015985", "any", { error: "not-found" }],
    // incidents
    [INC_A, "any", { kind: "incident", id: INC_A, rule: "incident" }],
    ["inc-3FA2B9C01D4E", "any", { kind: "incident", id: INC_A, rule: "incident" }],
    ["INC-3fa2b9", "incident", { kind: "incident", id: INC_A, rule: "incident-prefix" }],
    ["inc-77aa00bb11cc-2", "any", { kind: "incident", id: INC_C, rule: "incident" }],
    ["INC-3fa2", "any", { error: "ambiguous", candidates: [INC_A, INC_B] }],
    ["INC-3fa", "any", { error: "not-found" }], // fewer than 4 hex digits
    // a TT_ID whose partner is "INC" is still a ticket
    ["INC_9999", "any", { kind: "ticket", id: "INC_9999", rule: "exact" }],
    ["inc-9999", "ticket", { kind: "ticket", id: "INC_9999", rule: "separators" }],
    // kinds
    [INC_A, "ticket", { error: "wrong-kind" }],
    ["EXN_1043", "incident", { error: "wrong-kind" }],
    // nothing
    ["EXN_9", "any", { error: "not-found" }],
    ["", "any", { error: "empty" }],
    ["   ", "ticket", { error: "empty" }],
    ["x".repeat(500), "any", { error: "too-long" }],
  ];
  for (const [input, kind, expected] of table) {
    const r = resolveRef(input, known, kind);
    const label = `${JSON.stringify(input.slice(0, 30))} as ${kind}`;
    if ("error" in expected) {
      assert.ok(!r.ok, `${label}: expected ${expected.error}`);
      assert.equal(r.error.code, expected.error, label);
      if (expected.candidates) assert.deepEqual(r.error.candidates, expected.candidates, label);
    } else {
      if (!r.ok) assert.fail(`${label}: ${r.error.code} ${r.error.human}`);
      assert.equal(r.value.kind, expected.kind, label);
      assert.equal(r.value.id, expected.id, label);
      if (expected.rule) assert.equal(r.value.rule, expected.rule, label);
    }
  }
});

void test("a ticket and an incident both matching is ambiguous when either would do", () => {
  const both = lookupOf(["INC_3fa2b9c01d4e"], [INC_A]);
  const r = resolveRef("inc-3fa2b9c01d4e", both, "any");
  assert.ok(!r.ok);
  assert.deepEqual(r.error.candidates, ["INC-3fa2b9c01d4e", "INC_3fa2b9c01d4e"]);
  // Asking for one kind settles it.
  const t = resolveTicketId("inc-3fa2b9c01d4e", both);
  assert.ok(t.ok && t.value === "INC_3fa2b9c01d4e");
  const i = resolveRef("inc-3fa2b9c01d4e", both, "incident");
  assert.ok(i.ok && i.value.id === INC_A);
});

void test("messages are polite and name the candidates (capped)", () => {
  const many = lookupOf(Array.from({ length: 12 }, (_, i) => `NOC${i}_100`));
  const r = resolveRef("100", many, "ticket");
  assert.ok(!r.ok);
  assert.equal(r.error.candidates.length, 12);
  assert.match(r.error.human, /^“100” could be NOC0_100, NOC10_100, .* and 4 more\. Please give the full id\.$/u);
  assert.equal(r.error.human.split(",").length, MAX_NAMED_CANDIDATES);
  const nf = resolveRef("EXN_9", known, "ticket");
  assert.ok(!nf.ok);
  assert.equal(nf.error.human, "I don't know any ticket “EXN_9”. Try !list to see the open tickets.");
  const wk = resolveTicketId(INC_A, known);
  assert.ok(!wk.ok);
  assert.match(wk.error.human, /is an incident; this needs a ticket id/u);
});
