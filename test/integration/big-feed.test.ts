// First contact with a big feed (issue 13): a feed of thousands of items the bot has never seen.
// It must post one summary line per room (not one message per item), store the tickets in small
// writes (parts, not one journal line for the whole document), keep answering /health while it
// works (the event loop turns between parts), and let another feed's news through meanwhile.
// A real bot process, a real Prosody, a real HTTP feed server, a second real client.
import { test, after, before } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConfigSchema, type ConfigInput } from "../../config/schema.js";
import { startFeedServer, type FeedServer } from "../../src/demo/feed-server.js";
import { freePort } from "../../src/demo/prosody.js";
import { startWatcher, type Watcher } from "../../src/demo/watcher.js";
import { rssFeed, type FixtureItem } from "../fixtures/feeds.js";
import { examplenetMapping } from "../helpers/bot-config.js";
import { shown } from "../helpers/messages.js";
import { spawnBot, type BotProcess } from "../support/bot-process.js";
import { startXmppServer, type XmppServer } from "../support/xmpp-server.js";

const ITEMS = 12_000;
/** A journal line (one store write) stays far below the whole document's tickets (tens of MB). */
const MAX_WRITE_BYTES = 6 * 1024 * 1024;
/** The longest /health may go unanswered while the poll runs (it was the whole poll: many seconds). */
const MAX_HEALTH_GAP_MS = 2_500;

let xmpp: XmppServer;
let feeds: FeedServer;
let dir: string;
let watcher: Watcher | undefined;
let bot: BotProcess | undefined;

before(async () => {
  [xmpp, feeds, dir] = await Promise.all([startXmppServer("prosody", { domain: "big.test" }), startFeedServer(), mkdtemp(join(tmpdir(), "ttrelay-bigfeed-"))]);
  await xmpp.register("ttrelay", "big-bot-pw");
  await xmpp.register("watcher", "watcher-pw");
});

after(async () => {
  await bot?.kill().catch(() => undefined);
  await watcher?.stop();
  await feeds?.close();
  await xmpp?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

void test(`first contact with a feed of ${ITEMS} items: one summary line per room, small store writes, /health answers throughout, another feed's news gets through`, { timeout: 240_000 }, async () => {
  const rooms = [`big-a@${xmpp.mucDomain}`, `big-b@${xmpp.mucDomain}`];
  const port = await freePort();
  const storePath = join(dir, "store.json");
  const items: FixtureItem[] = Array.from({ length: ITEMS }, (_, i) => ({ id: ITEMS - i, service: `Transit R${(ITEMS - i) % 2}`, circuits: `EXN-C-${i}` }));
  feeds.set("/big.rss", { body: rssFeed(items) });
  feeds.set("/small.rss", { body: rssFeed([{ id: 900_001, service: "Transit R0" }]) });
  const input: ConfigInput = {
    noc: { id: "EXN", name: "ExampleNet NOC" },
    xmpp: { jid: `ttrelay@${xmpp.domain}`, password: { env: "TTRELAY_BIG_PASSWORD" }, service: xmpp.service, nick: "ttrelay" },
    rooms: rooms.map((jid) => ({ jid, name: "big feed room" })),
    feeds: [
      { id: "big", url: feeds.url("/big.rss"), partnerId: "EXN", mapping: examplenetMapping, maxBytes: 100 * 1024 * 1024, timeoutMs: 60_000 },
      { id: "small", url: feeds.url("/small.rss"), partnerId: "EXN", mapping: examplenetMapping },
    ],
    routes: rooms.map((room, k) => ({ rooms: [room], when: { services: [`Transit R${k}`] } })),
    store: { path: storePath },
    http: { address: "127.0.0.1", port },
  };
  const configFile = join(dir, "config.json");
  await writeFile(configFile, JSON.stringify(ConfigSchema.parse(input)));
  bot = await spawnBot({ configFile, logFile: join(dir, "bot.log"), env: { TTRELAY_BIG_PASSWORD: "big-bot-pw" }, logLevel: "info" });
  watcher = await startWatcher({ service: xmpp.service, domain: xmpp.domain, username: "watcher", password: "watcher-pw", resource: "w" });
  for (const r of rooms) await watcher.join(r, "checker");
  const w = watcher;
  const live = (room: string): string[] => w.messages.filter((m) => m.room === room && !m.delayed && m.nick === "ttrelay" && m.body !== undefined).map((m) => m.body ?? "");

  // The small feed is known already (its first contact is behind it).
  assert.equal(await bot.pollFeed("small"), "polled");
  await w.waitFor((m) => m.nick === "ttrelay" && /Now following feed \*small\*/.test(m.body ?? ""), 15_000, "the small feed's summary");
  const before = rooms.map((r) => live(r).length);

  // /health, asked again as soon as it answers, for as long as the big poll runs.
  let polling = true;
  let longest = 0;
  const health = (async (): Promise<number> => {
    let answers = 0;
    while (polling) {
      const t0 = performance.now();
      const res = await fetch(`http://127.0.0.1:${port}/health`);
      await res.text();
      assert.equal(res.status, 200);
      longest = Math.max(longest, performance.now() - t0);
      answers++;
      await new Promise((r) => setTimeout(r, 20));
    }
    return answers;
  })();

  const big = bot.pollFeed("big");
  // News on the other feed while the big one is being worked through.
  await new Promise((r) => setTimeout(r, 300));
  feeds.set("/small.rss", { body: rssFeed([{ id: 900_002, service: "Transit R0", title: "Small feed news" }, { id: 900_001, service: "Transit R0" }]) });
  const small = bot.pollFeed("small");
  const news = await w.waitFor((m) => m.nick === "ttrelay" && shown(m).startsWith("*EXN_900002*"), 120_000, "the small feed's news");
  assert.equal(await small, "polled");
  assert.equal(await big, "polled");
  for (const r of rooms) await w.waitFor((m) => m.room === r && m.nick === "ttrelay" && /Now following feed \*big\*/.test(m.body ?? ""), 30_000, `the big feed's summary in ${r}`);
  await new Promise((r) => setTimeout(r, 1_500)); // anything else the poll said would be right behind
  polling = false;
  const answers = await health;

  // One summary per room, and nothing per item.
  for (const [k, r] of rooms.entries()) {
    const said = live(r).slice(before[k] ?? 0);
    const summaries = said.filter((b) => /Now following feed \*big\*/.test(b));
    assert.equal(summaries.length, 1, `one summary in ${r}`);
    assert.match(summaries[0] ?? "", new RegExp(`${(ITEMS / 2).toLocaleString("en").replace(/,/g, ",?")} tickets already listed`));
    assert.deepEqual(said.filter((b) => !/Now following feed/.test(b) && !b.includes("EXN_900002")), [], `no message per item in ${r}`);
  }
  const newsAt = w.messages.indexOf(news);
  const firstSummaryAt = w.messages.findIndex((m) => /Now following feed \*big\*/.test(m.body ?? ""));
  assert.ok(newsAt < firstSummaryAt, "the other feed's news came before the big poll was done");

  console.log(`# longest /health wait ${longest.toFixed(0)} ms over ${answers} answers`);
  assert.ok(longest <= MAX_HEALTH_GAP_MS, `/health answered within ${MAX_HEALTH_GAP_MS} ms throughout (longest ${longest.toFixed(0)} ms, ${answers} answers)`);

  // Every store write (a journal line) small: the tickets went in parts.
  const journal = await readFile(`${storePath}.journal`, "utf8").catch(() => "");
  const lines = journal.split("\n").filter((l) => l !== "");
  const longestLine = Math.max(0, ...lines.map((l) => Buffer.byteLength(l)));
  console.log(`# ${lines.length} journal lines, largest ${longestLine} bytes`);
  assert.ok(longestLine <= MAX_WRITE_BYTES, `largest store write ${longestLine} bytes`);
  await bot.stop();
  bot = undefined;
});
