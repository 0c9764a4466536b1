import { test } from "node:test";
import assert from "node:assert/strict";
import { RateLimiter } from "../../src/dispatch/rate-limit.js";

void test("a sender gets a burst, then one command per refill period; others are unaffected", () => {
  const limiter = new RateLimiter(3, 1000);
  const steps: { name: string; key: string; at: number; expected: boolean }[] = [
    { name: "1st", key: "a", at: 0, expected: true },
    { name: "2nd", key: "a", at: 10, expected: true },
    { name: "3rd", key: "a", at: 20, expected: true },
    { name: "4th in the burst: refused", key: "a", at: 30, expected: false },
    { name: "another sender", key: "b", at: 30, expected: true },
    { name: "one period later: one more", key: "a", at: 1000, expected: true },
    { name: "and then refused again", key: "a", at: 1001, expected: false },
    { name: "long after: full burst", key: "a", at: 60_000, expected: true },
  ];
  for (const s of steps) assert.equal(limiter.take(s.key, s.at), s.expected, s.name);
});
