import { test } from "node:test";
import assert from "node:assert/strict";
import { REPEAT_WINDOW_MS, acknowledgedAt, parseHistoryLine, repeatedUpdateAt } from "../../src/dispatch/history.js";
import { historyLine } from "../../src/model/transitions.js";
import { sampleTicket } from "../fixtures/tickets.js";

const A = "alice@noc.example.net";
const now = new Date("2024-05-01T10:00:00Z");

void test("parseHistoryLine reads back what historyLine writes; a NOC's free text is no entry", () => {
  assert.deepEqual(parseHistoryLine(historyLine(now, A, "acknowledged: on\nit")), { at: "2024-05-01T10:00:00Z", actor: A, what: "acknowledged: on / it" });
  for (const line of ["Link down, detected by monitoring", "yesterday alice: acked", "2024-05-01T10:00:00Z alice"]) assert.equal(parseHistoryLine(line), undefined, line);
});

void test("acknowledgedAt: since the last reopen, by this engineer, still a contact", () => {
  const cases: { name: string; input: { history: string; contacts?: string[] }; expected: string | undefined }[] = [
    { name: "acked", input: { history: `2024-05-01T09:00:00Z ${A}: acknowledged`, contacts: [A] }, expected: "2024-05-01T09:00:00Z" },
    { name: "acked with a note, then an update", input: { history: `2024-05-01T09:00:00Z ${A}: acknowledged: on it\n2024-05-01T09:10:00Z ${A}: crew out`, contacts: [A] }, expected: "2024-05-01T09:00:00Z" },
    { name: "the latest of two acks", input: { history: `2024-05-01T08:00:00Z ${A}: acknowledged\n2024-05-01T09:00:00Z ${A.toUpperCase()}: acknowledged`, contacts: [A] }, expected: "2024-05-01T09:00:00Z" },
    { name: "reopened since", input: { history: `2024-05-01T09:00:00Z ${A}: acknowledged\n2024-05-01T09:30:00Z bob@x: reopened (was Closed)`, contacts: [A] }, expected: undefined },
    { name: "someone else acked", input: { history: `2024-05-01T09:00:00Z bob@x: acknowledged`, contacts: [A, "bob@x"] }, expected: undefined },
    { name: "no longer a contact", input: { history: `2024-05-01T09:00:00Z ${A}: acknowledged`, contacts: ["bob@x"] }, expected: undefined },
    { name: "an update that starts like an ack", input: { history: `2024-05-01T09:00:00Z ${A}: acknowledgedly slow`, contacts: [A] }, expected: undefined },
  ];
  for (const { name, input, expected } of cases) {
    assert.equal(acknowledgedAt(sampleTicket({ History: input.history, ...(input.contacts ? { Contact_Engineers: input.contacts } : {}) }), A), expected, name);
  }
});

void test("repeatedUpdateAt: the same words as the latest line, by the same engineer, within the window", () => {
  const at = (msAgo: number): string => new Date(now.getTime() - msAgo).toISOString().replace(/\.\d{3}Z$/u, "Z");
  const cases: { name: string; input: { history: string; text: string }; expected: boolean }[] = [
    { name: "just sent", input: { history: `${at(60_000)} ${A}: carrier on site`, text: "carrier on site" }, expected: true },
    { name: "newlines as written", input: { history: `${at(60_000)} ${A}: a / b`, text: "a\nb" }, expected: true },
    { name: "other words", input: { history: `${at(60_000)} ${A}: carrier on site`, text: "carrier left" }, expected: false },
    { name: "long ago", input: { history: `${at(REPEAT_WINDOW_MS)} ${A}: carrier on site`, text: "carrier on site" }, expected: false },
    { name: "not the latest line", input: { history: `${at(60_000)} ${A}: carrier on site\n${at(30_000)} bob@x: ok`, text: "carrier on site" }, expected: false },
    { name: "someone else's", input: { history: `${at(60_000)} bob@x: carrier on site`, text: "carrier on site" }, expected: false },
  ];
  for (const { name, input, expected } of cases) assert.equal(repeatedUpdateAt(sampleTicket({ History: input.history }), A, input.text, now) !== undefined, expected, name);
});
