import { test, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { defaultCorrelationConfig } from "../../src/correlate/engine.js";
import { IncidentBook } from "../../src/intake/incidents.js";
import { IntakeService } from "../../src/intake/intake.js";
import { nocActor } from "../../src/model/activity.js";
import { changeHash } from "../../src/model/ticket.js";
import { FileStore } from "../../src/store/file-store.js";
import { ConfigSchema, type FeedConfig } from "../../config/schema.js";
import { startFeedServer } from "../../src/demo/feed-server.js";
import { httpFeedFetcher } from "../../src/sources/feed/http.js";
import { parseFeed } from "../../src/sources/feed/parse.js";
import { planFeedBatch, planFeedBatchStreamed, planFeedBatchWith, type FeedBatch } from "../../src/sources/feed/plan.js";
import type { FeedItem, ItemProblem } from "../../src/sources/feed/parse.js";
import { FeedPoller, THREAD_READ_CHARS, WORKER_ITEMS, translateHereInTasks } from "../../src/sources/feed/poll.js";
import { emptyFeedState, type FeedState } from "../../src/sources/feed/state.js";
import type { TicketVersion } from "../../src/sources/types.js";
import { WorkerTranslator, type ItemTranslator } from "../../src/translate/workers.js";
import { feedTicketIdOf, translateItem } from "../../src/translate/item-to-ticket.js";
import type { Translation } from "../../src/translate/values-to-ticket.js";
import { examplenetMapping } from "../helpers/bot-config.js";
import { captureLogger } from "../helpers/log-capture.js";
import { rssFeed, rssItem, type FixtureItem } from "../fixtures/feeds.js";
import { RecordingIntake } from "../support/recording-intake.js";

const NOW = new Date("2026-11-29T12:00:00Z");

const withoutHashes = (versions: readonly TicketVersion[]): TicketVersion[] => versions.map(({ hash: _hash, ...v }) => v);

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

/** A first poll of a big document and a later one with changes: each planned here (`here`), then checked by `check`. */
async function twoPolls(check: (p: { feed: FeedConfig; translator: WorkerTranslator; parsed: { items: FeedItem[]; problems: ItemProblem[] }; state: FeedState; here: FeedBatch; changed: number }) => Promise<void>): Promise<void> {
  const feed = feedConfig();
  const translator = new WorkerTranslator(2);
  try {
    let state: FeedState = emptyFeedState();
    for (const [n, changed] of [[5000, 0], [5000, 40]] as const) {
      const parsed = await parseFeed(document(n, changed), feed.maxItemChars);
      assert.ok(parsed.ok);
      const here = planFeedBatch(feed, state, parsed.value.items, parsed.value.problems, {}, NOW);
      await check({ feed, translator, parsed: parsed.value, state, here, changed });
      state = here.state;
    }
  } finally {
    await translator.close();
  }
}

void test("worker threads translate a big document into exactly the batch this thread makes: first poll and a later one, refusals and a clash included", { timeout: 120_000 }, async () => {
  await twoPolls(async ({ feed, translator, parsed, state, here }) => {
    const there = await planFeedBatchWith(feed, state, parsed.items, parsed.problems, {}, NOW, (items) => translator.translate(feed, NOW, items));
    // The workers also bring each ticket's change hash (for the intake): the right one.
    for (const v of there.versions) assert.equal(v.hash, changeHash(v.ticket), v.ticket.TT_ID);
    assert.deepEqual({ ...there, versions: withoutHashes(there.versions) }, here);
    assert.ok(here.versions.length > 0);
    const logs = here.logs ?? [];
    assert.ok(logs.some((l) => l.msg === "feed item not turned into a ticket"), "some items are refused");
    assert.ok(logs.some((l) => String(l.fields.problem).includes("all gave EXN_12")), "the clash is named");
  });
});

void test("a poll of a big document whose translation workers fail is translated here instead, and said so", { timeout: 60_000 }, async () => {
  const server = await startFeedServer();
  try {
    server.set("/f.rss", { body: document(WORKER_ITEMS) });
    const feed = feedConfig(server.url("/f.rss"));
    const captured = captureLogger("warn");
    const { log } = captured;
    const failing: ItemTranslator = {
      translate: (): Promise<never> => Promise.reject(new Error("worker gone")),
      translateInTasks: (): never => assert.fail("a recording intake takes no streamed batch"),
      close: (): Promise<void> => Promise.resolve(),
    };
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

void test("worker threads read a big document in parts into exactly what parseFeed reads here; a broken item or an uncuttable document gives the whole document's reading", { timeout: 120_000 }, async () => {
  const translator = new WorkerTranslator(2);
  try {
    const big = document(6000);
    const broken = big.replace("<title>[EXN-3000]", "<title>[EXN-3000] a & b");
    const uncut = big.replace("</item>", "</item>stray text");
    for (const [name, xml, cap] of [["big", big, 100_000], ["cut items", big, 40], ["broken", broken, 100_000], ["uncut", uncut, 100_000]] as const) {
      const here = await parseFeed(xml, cap);
      const there = await translator.parseFeed(xml, cap);
      if (there.ok) {
        const { release, ...value } = there.value;
        assert.equal(release !== undefined, name === "big" || name === "cut items", `${name}: held only where read in parts`);
        release?.();
        assert.deepEqual({ ...there, value }, here, name);
      } else assert.deepEqual(there, here, name);
      assert.equal(here.ok, name !== "broken", name);
    }
  } finally {
    await translator.close();
  }
});

void test("items the threads read are translated where they are held (not sent back), the same translations as here; once released they are sent; their ticket ids come with them", { timeout: 120_000 }, async () => {
  const feed = feedConfig();
  const translator = new WorkerTranslator(2);
  try {
    const parsed = await translator.parseFeed(document(5000), feed.maxItemChars, { feed, now: NOW });
    assert.ok(parsed.ok);
    const { items, release, ticketIds } = parsed.value;
    assert.ok(release, "the threads hold what they read");
    // The threads work out each item's ticket id as this thread would.
    assert.deepEqual(ticketIds, new Map(items.map((i) => [i.key, feedTicketIdOf(i, feed, NOW)])));
    assert.ok([...(ticketIds?.values() ?? [])].every((id) => id?.startsWith("EXN_")));
    const here = items.map((item) => translateItem(item, feed, NOW));
    const strip = (ts: readonly Translation[]): unknown[] => ts.map((t) => ({ result: t.result, warnings: t.warnings }));
    // Newest first in the document, oldest first to translate (as a poll does): across the parts.
    const order = [...items].reverse();
    assert.deepEqual(strip(await translator.translate(feed, NOW, order)), strip([...here].reverse()));
    const onHeld = translator.tasksOnHeldItems;
    assert.ok(onHeld >= 4, `tasks named held items (${onHeld})`);
    release();
    assert.deepEqual(strip(await translator.translate(feed, NOW, items)), strip(here));
    assert.equal(translator.tasksOnHeldItems, onHeld, "released items are sent");
  } finally {
    await translator.close();
  }
});

void test("threads that hold a document's items are not stopped as idle while the poll still translates from them (a long commit between two windows)", { timeout: 120_000 }, async () => {
  const feed = feedConfig();
  const translator = new WorkerTranslator(2, 200);
  try {
    const parsed = await translator.parseFeed(document(5000), feed.maxItemChars, { feed, now: NOW });
    assert.ok(parsed.ok && parsed.value.release);
    const { items, release } = parsed.value;
    // Nothing asked of the threads for longer than their idle time: they hold the parts still.
    await new Promise((r) => setTimeout(r, 600));
    const before = translator.tasksOnHeldItems;
    const here = items.map((item) => translateItem(item, feed, NOW).result);
    assert.deepEqual((await translator.translate(feed, NOW, items)).map((t) => t.result), here);
    assert.ok(translator.tasksOnHeldItems > before, "translated where the items are held, by the same threads");
    release();
  } finally {
    await translator.close();
  }
});

const dirP = mkdtemp(join(tmpdir(), "ttrelay-workers-"));
after(async () => rm(await dirP, { recursive: true, force: true }));

async function collect(versions: AsyncIterable<readonly TicketVersion[]>): Promise<TicketVersion[][]> {
  const pieces: TicketVersion[][] = [];
  for await (const piece of versions) pieces.push([...piece]);
  return pieces;
}

void test("a streamed batch (workers, or here in turns) gives the versions of the whole batch, in its order, task by task; clashing items wait for the check and come last; same state and log lines", { timeout: 120_000 }, async () => {
  await twoPolls(async ({ feed, translator, parsed, state, here, changed }) => {
    // Translated on the workers, and here in turns (a document below WORKER_ITEMS).
    for (const [where, tasks] of [
      ["workers", (items: readonly FeedItem[]) => translator.translateInTasks(feed, NOW, items)],
      ["here", (items: readonly FeedItem[]) => translateHereInTasks(feed, NOW, items)],
    ] as const) {
      const streamed = planFeedBatchStreamed(feed, state, parsed.items, parsed.problems, {}, NOW, tasks, (e) => assert.fail(e));
      assert.ok(streamed, "every item's id is known before translating");
      assert.throws(() => streamed.end(), /before its versions were all taken/);
      const pieces = await collect(streamed.versions);
      if (changed === 0) assert.ok(pieces.length > 2, `${where}: came in pieces (${pieces.length})`);
      const clashing = (v: TicketVersion): boolean => v.ticket.TT_ID === "EXN_12";
      // The workers bring the change hash; here the intake works it out.
      for (const v of pieces.flat()) assert.equal(v.hash, where === "workers" ? changeHash(v.ticket) : undefined, v.ticket.TT_ID);
      const got = withoutHashes(pieces.flat());
      // Every version but the clashing ticket's, in the batch's order; that one once, last.
      assert.deepEqual(got.filter((v) => !clashing(v)), here.versions.filter((v) => !clashing(v)), where);
      assert.deepEqual(got.filter(clashing), here.versions.filter(clashing), where);
      if (changed === 0) assert.ok(clashing(got.at(-1) as TicketVersion), `${where}: the clash is settled once the document is done`);
      const end = streamed.end();
      assert.deepEqual(end.state, here.state, where);
      assert.deepEqual(end.logs, here.logs, where);
      assert.equal(streamed.firstContact?.label, here.firstContact?.label);
    }
  });
});

void test("a big first poll through the real intake is read and translated on the workers and stored in parts meanwhile, with one summary per room; a task a worker fails is translated here", { timeout: 180_000 }, async () => {
  const server = await startFeedServer();
  const rooms = ["noc@muc.x.test"];
  try {
    // Past THREAD_READ_CHARS, so the real translator's threads read it too (the flaky one cannot).
    const body = document(25_000);
    assert.ok(body.length >= THREAD_READ_CHARS);
    server.set("/f.rss", { body });
    const feed = feedConfig(server.url("/f.rss"));
    const parsed = await parseFeed(body, feed.maxItemChars);
    assert.ok(parsed.ok);
    const expected = planFeedBatch(feed, emptyFeedState(), parsed.value.items, parsed.value.problems, {}, NOW);
    const real = new WorkerTranslator(2);
    let calls = 0;
    // The second run's translator fails every other task, as a worker that dies would.
    const flaky: ItemTranslator = {
      translate: (f, now, items) => real.translate(f, now, items),
      translateInTasks: (f, now, items) => real.translateInTasks(f, now, items).map((t) => (calls++ % 2 === 1 ? { items: t.items, done: () => Promise.reject(new Error("worker gone")) } : t)),
      close: () => real.close(),
    };
    try {
      for (const [name, translator] of [["streamed", real], ["flaky", flaky]] as const) {
        const path = join(await dirP, name, "store.json");
        const opened = await FileStore.open(path);
        assert.ok(opened.ok);
        const store = opened.value;
        const captured = captureLogger("warn");
        const intake = new IntakeService({
          store,
          incidents: new IncidentBook(store.state, defaultCorrelationConfig),
          routes: [{ rooms, when: {} }],
          render: { maxLongDescription: 600, timeZone: "UTC" },
          actor: nocActor({ id: "EXN", name: "ExampleNet NOC" }),
          systems: [],
          log: captured.log,
          now: () => NOW,
        });
        let commits = 0;
        let firstAt = -1;
        let polled = false;
        store.onApplied((c) => {
          commits++;
          if (firstAt < 0 && [...c.entries()].some(([col]) => col === "tickets")) firstAt = commits;
          // The first tickets are stored before the poll has its last translations.
          if (commits === 1) assert.equal(polled, false);
        });
        const poller = new FeedPoller(feed, { fetcher: httpFeedFetcher, log: captured.log, schedule: false, translator });
        await poller.start({ intake, ticket: (id) => store.ticket(id), state: () => store.get("sources", feed.id), now: () => NOW });
        const outcome = await poller.pollNow();
        polled = true;
        assert.equal(outcome.kind, "polled", JSON.stringify(outcome));
        assert.deepEqual(new Set(store.state.tickets.keys()), new Set(expected.versions.map((v) => v.ticket.TT_ID)), `${name}: the same tickets as the whole batch`);
        assert.ok(commits > 10, `${name}: stored in parts (${commits} commits)`);
        const outbox = [...store.values("outbox")];
        assert.equal(outbox.length, 1, `${name}: one summary line for the one room`);
        assert.match(outbox[0]?.body ?? "", /Now following feed \*exn\*/);
        // The same seen items and refusals (the server's validators aside, which the poll got).
        assert.deepEqual({ ...(store.get("sources", feed.id) as FeedState), validators: {} }, expected.state, `${name}: the feed's state, with the last part`);
        const failed = captured.lines.filter((l) => l.msg === "translation workers failed: translating here instead");
        assert.equal(failed.length, name === "flaky" ? 1 : 0, `${name}: a failing worker is said once`);
        if (name === "streamed") assert.ok(real.tasksOnHeldItems > 0, "the threads read the document and translated what they held");
        await poller.stop();
        await store.close();
        // What was written reads back the same.
        assert.match(await readFile(`${path}.journal`, "utf8"), /"seq":/);
      }
    } finally {
      await real.close();
    }
  } finally {
    await server.close();
  }
});
