import { test } from "node:test";
import assert from "node:assert/strict";
import { ConfigSchema, type FeedConfig } from "../../config/schema.js";
import { startFeedServer } from "../../src/demo/feed-server.js";
import { httpFeedFetcher } from "../../src/sources/feed/http.js";
import { parseFeed } from "../../src/sources/feed/parse.js";
import { planFeedBatch, planFeedBatchWith } from "../../src/sources/feed/plan.js";
import { FeedPoller, WORKER_ITEMS } from "../../src/sources/feed/poll.js";
import { emptyFeedState, type FeedState } from "../../src/sources/feed/state.js";
import { WorkerTranslator, type ItemTranslator } from "../../src/translate/workers.js";
import { examplenetMapping } from "../helpers/bot-config.js";
import { captureLogger } from "../helpers/log-capture.js";
import { rssFeed, rssItem, type FixtureItem } from "../fixtures/feeds.js";
import { RecordingIntake } from "../support/recording-intake.js";

const NOW = new Date("2026-11-29T12:00:00Z");

function feedConfig(url = "http://127.0.0.1:1/f.rss"): FeedConfig {
  const config = ConfigSchema.parse({
    noc: { id: "EXN", name: "ExampleNet NOC" },
    xmpp: { jid: "ttrelay@x.test", password: { env: "TTRELAY_TEST_PASSWORD" }, service: "xmpp://127.0.0.1:5222", nick: "ttrelay" },
    rooms: [{ jid: "noc@muc.x.test" }],
    feeds: [{ id: "exn", url, partnerId: "EXN", mapping: examplenetMapping, maxBytes: 64 * 1024 * 1024 }],
    routes: [{ rooms: ["noc@muc.x.test"] }],
    store: { path: "/unused/store.json" },
  });
  const feed = config.feeds[0];
  assert.ok(feed);
  return feed;
}

/** Many ordinary items, some a mapping refuses (an unknown status), and two items giving one ticket. */
function document(n: number, changed = 0): string {
  const items: FixtureItem[] = Array.from({ length: n }, (_, i) => ({
    id: i + 1,
    status: i % 97 === 3 ? "Bogus" : i % 5 === 0 ? "Closed" : "Opened",
    circuits: `EXN-C-${i % 300}`,
    ...(i < changed ? { history: "Splice done." } : {}),
  }));
  const clash = rssItem({ id: 12 }).replace("<guid isPermaLink=\"false\">EXN-12</guid>", "<guid isPermaLink=\"false\">EXN-12-copy</guid>");
  return rssFeed(items).replace("</channel>", `${clash}\n</channel>`);
}

void test("worker threads translate a big document into exactly the batch this thread makes: first poll and a later one, refusals and a clash included", { timeout: 120_000 }, async () => {
  const feed = feedConfig();
  const translator = new WorkerTranslator(2);
  try {
    let state: FeedState = emptyFeedState();
    for (const [n, changed] of [[5000, 0], [5000, 40]] as const) {
      const parsed = await parseFeed(document(n, changed), feed.maxItemChars);
      assert.ok(parsed.ok);
      const here = planFeedBatch(feed, state, parsed.value.items, parsed.value.problems, {}, NOW);
      const there = await planFeedBatchWith(feed, state, parsed.value.items, parsed.value.problems, {}, NOW, (items) => translator.translate(feed, NOW, items));
      assert.deepEqual(there, here);
      assert.ok(here.versions.length > 0);
      const logs = here.logs ?? [];
      assert.ok(logs.some((l) => l.msg === "feed item not turned into a ticket"), "some items are refused");
      assert.ok(logs.some((l) => String(l.fields.problem).includes("all gave EXN_12")), "the clash is named");
      state = here.state;
    }
  } finally {
    await translator.close();
  }
});

void test("a poll of a big document whose translation workers fail is translated here instead, and said so", { timeout: 60_000 }, async () => {
  const server = await startFeedServer();
  try {
    server.set("/f.rss", { body: document(WORKER_ITEMS) });
    const feed = feedConfig(server.url("/f.rss"));
    const captured = captureLogger("warn");
    const { log } = captured;
    const failing: ItemTranslator = { translate: (): Promise<never> => Promise.reject(new Error("worker gone")), close: (): Promise<void> => Promise.resolve() };
    const poller = new FeedPoller(feed, { fetcher: httpFeedFetcher, log, schedule: false, translator: failing });
    const intake = new RecordingIntake();
    await poller.start(intake.runtime(feed.id, () => NOW));
    const outcome = await poller.pollNow();
    assert.equal(outcome.kind, "polled");
    assert.ok(intake.tickets.size > WORKER_ITEMS / 2);
    assert.ok(captured.find("translation workers failed: translating here instead", { feed: "exn", err: "worker gone" }));
    await poller.stop();
  } finally {
    await server.close();
  }
});
