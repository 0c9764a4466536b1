import { test } from "node:test";
import assert from "node:assert/strict";
import { editDistance, likelyTypo, typoBudget } from "../../src/dispatch/suggest.js";

void test("editDistance: inserts, deletes, substitutions and adjacent swaps count one each", () => {
  const cases: { input: [string, string]; expected: number }[] = [
    { input: ["", ""], expected: 0 },
    { input: ["solved", "solved"], expected: 0 },
    { input: ["solvd", "solved"], expected: 1 },
    { input: ["sovled", "solved"], expected: 1 },
    { input: ["cancled", "cancelled"], expected: 2 },
    { input: ["resolved", "solved"], expected: 2 },
    { input: ["", "abc"], expected: 3 },
    { input: ["ca", "abc"], expected: 3 },
    { input: ["é", "e"], expected: 1 },
  ];
  for (const { input, expected } of cases) {
    assert.equal(editDistance(...input), expected, input.join(" / "));
    assert.equal(editDistance(input[1], input[0]), expected, `${input.join(" / ")} both ways`);
  }
});

void test("likelyTypo: the nearest candidate within its budget; exact words, short words and far words are no typo", () => {
  const outcomes = ["closed", "close", "solved", "solve", "cancelled", "canceled", "cancel", "superseded", "supersede"];
  const cases: { input: string; expected: string | undefined }[] = [
    { input: "solvd", expected: "solved" },
    { input: "SOLVD", expected: "solved" },
    { input: "cancled", expected: "canceled" },
    { input: "superceded", expected: "superseded" },
    { input: "solved", expected: undefined },
    { input: "frobbed", expected: undefined },
    { input: "resolved", expected: undefined },
    { input: "so", expected: undefined },
    { input: "1044", expected: undefined },
    { input: "clo-sed", expected: undefined },
  ];
  for (const { input, expected } of cases) assert.equal(likelyTypo(input, outcomes), expected, input);
  assert.deepEqual([1, 2, 3, 4, 5, 6, 7, 12].map((n) => typoBudget("x".repeat(n))), [0, 0, 0, 1, 1, 1, 2, 2]);
  assert.equal(likelyTypo("akc", ["ack"]), undefined, "3-letter names take no typos");
});
