import { test } from "node:test";
import assert from "node:assert/strict";
import type { FetchFailure } from "../../src/sources/feed/http.js";
import type { FeedItem } from "../../src/sources/feed/parse.js";
import {
  MAX_RETAINED_SEEN,
  SEEN_RETENTION_MS,
  afterFailure,
  afterNotModified,
  backoffMs,
  diffItems,
  emptyFeedState,
  isDue,
  type FeedState,
} from "../../src/sources/feed/state.js";

const SEC = 1000;
const MIN = 60 * SEC;
const DAY = 24 * 60 * MIN;
const NOW = new Date("2026-11-28T10:00:00.000Z");
const ago = (ms: number): string => new Date(NOW.getTime() - ms).toISOString();

const item = (key: string, fingerprint: string): FeedItem => ({ key, values: { guid: key }, fingerprint });

void test("backoffMs: 30 s doubling per failure, capped at 1 h; permanent failures wait at least 5 min", () => {
  const cases: { name: string; input: [number, FetchFailure["kind"]]; expected: number }[] = [
    { name: "0 failures (defensive)", input: [0, "temporary"], expected: 30 * SEC },
    { name: "1st temporary", input: [1, "temporary"], expected: 30 * SEC },
    { name: "2nd temporary", input: [2, "temporary"], expected: 1 * MIN },
    { name: "3rd temporary", input: [3, "temporary"], expected: 2 * MIN },
    { name: "4th temporary", input: [4, "temporary"], expected: 4 * MIN },
    { name: "7th temporary", input: [7, "temporary"], expected: 32 * MIN },
    { name: "8th temporary: capped", input: [8, "temporary"], expected: 60 * MIN },
    { name: "100th temporary: capped", input: [100, "temporary"], expected: 60 * MIN },
    { name: "1st permanent", input: [1, "permanent"], expected: 5 * MIN },
    { name: "4th permanent: still the floor", input: [4, "permanent"], expected: 5 * MIN },
    { name: "5th permanent: doubling passes the floor", input: [5, "permanent"], expected: 8 * MIN },
    { name: "20th permanent: capped", input: [20, "permanent"], expected: 60 * MIN },
  ];
  for (const { name, input, expected } of cases) assert.equal(backoffMs(...input), expected, name);
});

void test("isDue: due without retryAfter, not before it, due at and after it", () => {
  const at = "2026-11-28T10:00:30.000Z";
  const cases: { name: string; input: { retryAfter?: string; now: string }; expected: boolean }[] = [
    { name: "never failed", input: { now: "2026-11-28T10:00:00.000Z" }, expected: true },
    { name: "1 ms before retryAfter", input: { retryAfter: at, now: "2026-11-28T10:00:29.999Z" }, expected: false },
    { name: "exactly at retryAfter", input: { retryAfter: at, now: at }, expected: true },
    { name: "after retryAfter", input: { retryAfter: at, now: "2026-11-28T11:00:00.000Z" }, expected: true },
  ];
  for (const { name, input, expected } of cases) {
    const state: FeedState = { ...emptyFeedState(), retryAfter: input.retryAfter };
    assert.equal(isDue(state, new Date(input.now)), expected, name);
  }
});

void test("afterFailure: counts failures, records the error, schedules the retry, keeps what was learnt", () => {
  const learnt: FeedState = {
    primed: true,
    validators: { etag: '"abc"' },
    seen: { a: { fp: "f1", lastSeen: ago(MIN) } },
    failures: 0,
    lastSuccess: ago(2 * MIN),
  };
  const first = afterFailure(learnt, { kind: "temporary", message: "HTTP 503" }, NOW);
  assert.deepEqual(first, {
    ...learnt,
    failures: 1,
    lastError: "temporary: HTTP 503",
    retryAfter: "2026-11-28T10:00:30.000Z",
  });
  assert.equal(isDue(first, NOW), false);

  const second = afterFailure(first, { kind: "temporary", message: "timeout after 15000 ms" }, new Date("2026-11-28T10:00:30.000Z"));
  assert.equal(second.failures, 2);
  assert.equal(second.lastError, "temporary: timeout after 15000 ms");
  assert.equal(second.retryAfter, "2026-11-28T10:01:30.000Z");

  const permanent = afterFailure(learnt, { kind: "permanent", message: "HTTP 404" }, NOW);
  assert.equal(permanent.retryAfter, "2026-11-28T10:05:00.000Z");
  assert.equal(permanent.lastError, "permanent: HTTP 404");
});

void test("afterNotModified: clears the failure state", () => {
  const failing = afterFailure(emptyFeedState(), { kind: "temporary", message: "HTTP 503" }, NOW);
  const later = new Date("2026-11-28T10:05:00.000Z");
  assert.deepEqual(afterNotModified(failing, later), {
    primed: false,
    validators: {},
    seen: {},
    failures: 0,
    retryAfter: undefined,
    lastError: undefined,
    lastSuccess: "2026-11-28T10:05:00.000Z",
  });
});

type DiffCase = {
  name: string;
  input: { state: FeedState; items: FeedItem[] };
  expected: { firstPoll: boolean; fresh: string[]; changed: string[]; seen: FeedState["seen"] };
};

const nowIso = NOW.toISOString();
const primed = (seen: FeedState["seen"]): FeedState => ({ ...emptyFeedState(), primed: true, seen });

const diffCases: DiffCase[] = [
  {
    name: "first poll: every item is fresh, firstPoll is set",
    input: { state: emptyFeedState(), items: [item("a", "f1"), item("b", "f2")] },
    expected: {
      firstPoll: true,
      fresh: ["a", "b"],
      changed: [],
      seen: { a: { fp: "f1", lastSeen: nowIso }, b: { fp: "f2", lastSeen: nowIso } },
    },
  },
  {
    name: "first poll of an empty feed",
    input: { state: emptyFeedState(), items: [] },
    expected: { firstPoll: true, fresh: [], changed: [], seen: {} },
  },
  {
    name: "a new item",
    input: { state: primed({ a: { fp: "f1", lastSeen: ago(2 * MIN) } }), items: [item("b", "f2"), item("a", "f1")] },
    expected: {
      firstPoll: false,
      fresh: ["b"],
      changed: [],
      seen: { a: { fp: "f1", lastSeen: nowIso }, b: { fp: "f2", lastSeen: nowIso } },
    },
  },
  {
    name: "a changed item",
    input: { state: primed({ a: { fp: "f1", lastSeen: ago(2 * MIN) } }), items: [item("a", "f1-v2")] },
    expected: { firstPoll: false, fresh: [], changed: ["a"], seen: { a: { fp: "f1-v2", lastSeen: nowIso } } },
  },
  {
    name: "an unchanged item: nothing to do, lastSeen refreshed",
    input: { state: primed({ a: { fp: "f1", lastSeen: ago(2 * MIN) } }), items: [item("a", "f1")] },
    expected: { firstPoll: false, fresh: [], changed: [], seen: { a: { fp: "f1", lastSeen: nowIso } } },
  },
  {
    name: "an item that fell out of the window is kept (not new if it comes back)",
    input: { state: primed({ a: { fp: "f1", lastSeen: ago(29 * DAY) } }), items: [] },
    expected: { firstPoll: false, fresh: [], changed: [], seen: { a: { fp: "f1", lastSeen: ago(29 * DAY) } } },
  },
  {
    name: "an item that comes back within the retention is not new",
    input: { state: primed({ a: { fp: "f1", lastSeen: ago(29 * DAY) } }), items: [item("a", "f1")] },
    expected: { firstPoll: false, fresh: [], changed: [], seen: { a: { fp: "f1", lastSeen: nowIso } } },
  },
  {
    name: "an item absent for 30 days is forgotten",
    input: {
      state: primed({ old: { fp: "f0", lastSeen: ago(SEEN_RETENTION_MS) }, recent: { fp: "f1", lastSeen: ago(SEEN_RETENTION_MS - 1) } }),
      items: [],
    },
    expected: { firstPoll: false, fresh: [], changed: [], seen: { recent: { fp: "f1", lastSeen: ago(SEEN_RETENTION_MS - 1) } } },
  },
  {
    name: "after a month-long outage, items still in the feed are recognised, not announced again",
    input: { state: primed({ a: { fp: "f1", lastSeen: ago(40 * DAY) } }), items: [item("a", "f1")] },
    expected: { firstPoll: false, fresh: [], changed: [], seen: { a: { fp: "f1", lastSeen: nowIso } } },
  },
];

for (const { name, input, expected } of diffCases) {
  void test(`diffItems: ${name}`, () => {
    const validators = { etag: '"v2"', lastModified: "Sat, 28 Nov 2026 09:59:00 GMT" };
    const before = structuredClone(input.state);
    const d = diffItems(input.state, input.items, validators, NOW);
    assert.equal(d.firstPoll, expected.firstPoll);
    assert.deepEqual(d.fresh.map((i) => i.key), expected.fresh);
    assert.deepEqual(d.changed.map((i) => i.key), expected.changed);
    assert.deepEqual(d.next, { primed: true, validators, seen: expected.seen, failures: 0, lastSuccess: nowIso });
    assert.deepEqual(input.state, before, "the old state is not mutated");
  });
}

void test("diffItems after failures: the success resets failures, retryAfter and lastError", () => {
  const failing = afterFailure(primed({}), { kind: "temporary", message: "HTTP 503" }, NOW);
  const d = diffItems(failing, [], {}, NOW);
  assert.equal(d.next.failures, 0);
  assert.equal(d.next.retryAfter, undefined);
  assert.equal(d.next.lastError, undefined);
  assert.equal(isDue(d.next, NOW), true);
});

void test("diffItems: at most MAX_RETAINED_SEEN items absent from the feed are remembered, the most recently seen; every listed item is kept", () => {
  const seen: Record<string, { fp: string; lastSeen: string }> = {};
  const extra = 5;
  for (let i = 0; i < MAX_RETAINED_SEEN + extra; i++) seen[`gone-${i}`] = { fp: "f", lastSeen: ago((i + 1) * 1000) };
  const listed = Array.from({ length: 3 }, (_, i) => item(`here-${i}`, "f"));
  const d = diffItems(primed(seen), listed, {}, NOW);
  const keys = Object.keys(d.next.seen);
  assert.equal(keys.length, MAX_RETAINED_SEEN + listed.length);
  for (const l of listed) assert.ok(keys.includes(l.key), l.key);
  assert.ok(keys.includes("gone-0") && keys.includes(`gone-${MAX_RETAINED_SEEN - 1}`), "the most recent kept");
  for (let i = MAX_RETAINED_SEEN; i < MAX_RETAINED_SEEN + extra; i++) assert.ok(!keys.includes(`gone-${i}`), `gone-${i} (oldest) forgotten`);
});
