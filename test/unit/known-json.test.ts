import { test } from "node:test";
import assert from "node:assert/strict";
import { jsonOf, parseRemembered } from "../../src/util/known-json.js";

void test("jsonOf: the text JSON.stringify writes, with remembered members spliced in", () => {
  const ticket = parseRemembered<Record<string, unknown>>(JSON.stringify({ TT_ID: "EXN_1", Network_Node: ["a", "b"], TT_Title: 'quote " and \n line' }));
  const cases: unknown[] = [
    null,
    "text",
    42,
    [1, "two", null],
    { plain: true, nested: { a: [1] } },
    { ticket, hash: "h", rooms: ["r@m"], skipped: undefined, fn: () => 1, sym: Symbol("s"), after: 1 },
    { 10: "integer-like keys first", ticket, b: 2 },
    { date: new Date(0), ticket },
    { toJSON: () => "own toJSON", ticket },
    ticket,
    [ticket, { ticket }],
  ];
  for (const value of cases) assert.equal(jsonOf(value), JSON.stringify(value) ?? "null", String(JSON.stringify(value)));
  assert.equal(jsonOf(undefined), "null");
});

void test("jsonOf: a remembered object's own text is what is written, not a new one", () => {
  const text = '{"TT_ID":"EXN_1","TT_Title":"as sent"}';
  const ticket = parseRemembered<{ TT_ID: string }>(text);
  assert.equal(jsonOf({ ticket }), `{"ticket":${text}}`);
  assert.equal(jsonOf(ticket), text);
});

void test("parseRemembered: the object and its lists are frozen, so the text cannot go stale", () => {
  const ticket = parseRemembered<{ TT_Title: string; Network_Node: string[] }>('{"TT_Title":"t","Network_Node":["a"]}');
  assert.throws(() => {
    ticket.TT_Title = "changed";
  }, TypeError);
  assert.throws(() => ticket.Network_Node.push("b"), TypeError);
  assert.equal(jsonOf({ ticket }), '{"ticket":{"TT_Title":"t","Network_Node":["a"]}}');
  assert.throws(() => parseRemembered('"a string"'), /not a JSON object/);
});
