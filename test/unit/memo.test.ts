import { test } from "node:test";
import assert from "node:assert/strict";
import { PairMemo } from "../../src/util/memo.js";

void test("PairMemo: one value per pair of objects, made once", () => {
  const memo = new PairMemo<object, object, { n: number }>();
  let made = 0;
  const make = (): { n: number } => ({ n: ++made });
  const [a, b, c] = [{}, {}, {}];
  const ab = memo.get(a, b, make);
  assert.equal(memo.get(a, b, make), ab, "the same pair: the same value");
  assert.equal(made, 1);
  assert.notEqual(memo.get(a, c, make), ab, "another second object");
  assert.notEqual(memo.get(b, a, make), ab, "the pair in the other order");
  assert.equal(made, 3);
});
