import { test } from "node:test";
import assert from "node:assert/strict";
import { count } from "../../src/render/plural.js";

void test("count: the noun in the right number, never '(s)'", () => {
  const cases: { input: [number, string, string?]; expected: string }[] = [
    { input: [0, "ticket"], expected: "0 tickets" },
    { input: [1, "ticket"], expected: "1 ticket" },
    { input: [2, "ticket"], expected: "2 tickets" },
    { input: [1, "open ticket"], expected: "1 open ticket" },
    { input: [3, "byte sequence"], expected: "3 byte sequences" },
    { input: [1, "entry", "entries"], expected: "1 entry" },
    { input: [2, "entry", "entries"], expected: "2 entries" },
  ];
  for (const { input, expected } of cases) assert.equal(count(...input), expected, expected);
});
