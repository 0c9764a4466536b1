// The CLI as an admin runs it: separate processes, exit codes, messages on stdout/stderr.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { startFeedServer } from "../../src/demo/feed-server.js";
import { rssFeed } from "../fixtures/feeds.js";

const run = promisify(execFile);
const entry = new URL("../../scripts/ttrelay-dev.ts", import.meta.url).pathname;
const dirP = mkdtemp(join(tmpdir(), "ttrelay-cli-"));
after(async () => rm(await dirP, { recursive: true, force: true }));

async function ttrelay(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, ["--import", "tsx", entry, ...args], { timeout: 30_000 });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const x = e as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof x.code === "number" ? x.code : -1, stdout: x.stdout ?? "", stderr: x.stderr ?? "" };
  }
}

void test("check-config accepts the shipped example and names every problem of a bad config by its JSON path", { timeout: 60_000 }, async () => {
  const good = await ttrelay("check-config", "config/example.json");
  assert.equal(good.code, 0, good.stderr);
  assert.match(good.stdout, /config\/example\.json: OK \(5 rooms, 1 feed, 4 routes, 6 warnings\)/);
  // The example's secret files do not exist here: said now, not only when `start` refuses.
  assert.match(good.stderr, /warning: \$\.xmpp\.password: cannot read secret file \/etc\/ttrelay\/xmpp-password: .*\(start would refuse\)/);
  assert.match(good.stderr, /warning: \$\.rt\.auth\.secret: cannot read secret file \/etc\/ttrelay\/rt-token/);
  // The mail and webhook secrets too.
  assert.match(good.stderr, /warning: \$\.mail\[0\]\.imap\.password: cannot read secret file \/etc\/ttrelay\/imap-password/);
  assert.match(good.stderr, /warning: \$\.webhooks\[1\]\.auth\.hmac\.secret: cannot read secret file/);
  assert.match(good.stderr, /warning: \$\.webhooks\[2\]\.auth\.bearer: environment variable TTRELAY_TICKETING_TOKEN is not set/);

  const bad = JSON.parse(await readFile("config/example.json", "utf8")) as Record<string, unknown> & { xmpp: Record<string, unknown>; feeds: Record<string, unknown>[] };
  bad.xmpp.jid = "not a jid";
  bad.feeds[0]!.schedule = "sometimes";
  bad.feeds[0]!.url = "ftp://example.net/feed";
  bad.extra = true;
  const file = join(await dirP, "bad.json");
  await writeFile(file, JSON.stringify(bad));
  const out = await ttrelay("check-config", file);
  assert.equal(out.code, 1);
  assert.match(out.stderr, /error: \$\.xmpp\.jid: must be a bare JID/);
  assert.match(out.stderr, /error: \$\.feeds\[0\]\.schedule: is not a valid cron expression/);
  assert.match(out.stderr, /error: \$\.feeds\[0\]\.url: must be http\(s\)/);
  assert.match(out.stderr, /error: \$: Unrecognized key: "extra"/);

  await writeFile(file, "{ not json");
  const broken = await ttrelay("check-config", file);
  assert.equal(broken.code, 1);
  assert.match(broken.stderr, /error: \$: not valid JSON/);

  const missing = await ttrelay("check-config", join(await dirP, "nope.json"));
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /cannot read .*nope\.json/);
});

void test("start refuses a config whose password cannot be resolved, naming where it looked", { timeout: 60_000 }, async () => {
  const cfg = JSON.parse(await readFile("config/example.json", "utf8")) as { xmpp: { password: unknown }; store: { path: string } };
  cfg.xmpp.password = { env: "TTRELAY_SURELY_UNSET_VARIABLE" };
  cfg.store.path = join(await dirP, "store.json");
  const file = join(await dirP, "nopass.json");
  await writeFile(file, JSON.stringify(cfg));
  const out = await ttrelay("start", "--config", file);
  assert.equal(out.code, 2);
  assert.match(out.stderr, /cannot start with \S+\.json: \$\.xmpp\.password: environment variable TTRELAY_SURELY_UNSET_VARIABLE is not set/);
});

void test("replay prints tickets, activities and messages from a local file and from a URL, without XMPP", { timeout: 60_000 }, async () => {
  const fromFile = await ttrelay("replay", "--config", "config/example.json", "--feed", "config/demo/sample-feed.xml");
  assert.equal(fromFile.code, 0, fromFile.stderr);
  assert.match(fromFile.stdout, /=== EXN_1043 \(Create\) ===/);
  assert.match(fromFile.stdout, /message to ip-transit@conference\.noc\.example\.net:\n {2}\*EXN_1043\* new · Opened · On backup/);
  assert.match(fromFile.stdout, /6 items, 6 tickets, 16 messages/);

  const server = await startFeedServer({ "/f.rss": { body: rssFeed([{ id: 5, impact: "Bogus" }, { id: 6 }]) } });
  try {
    const fromUrl = await ttrelay("replay", "--config", "config/example.json", "--feed", server.url("/f.rss"), "--json");
    assert.equal(fromUrl.code, 0, fromUrl.stderr);
    const records = fromUrl.stdout.trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.ok(records.some((r) => (r.ticket as { TT_ID?: string } | undefined)?.TT_ID === "EXN_6"));
    assert.ok(records.some((r) => r.msg === "feed item not turned into a ticket" && r.item === "EXN-5" && r.field === "TT_Impact_Assessment"));
  } finally {
    await server.close();
  }

  const html = await ttrelay("replay", "--config", "config/example.json", "--feed", "README.md");
  assert.equal(html.code, 1);
  assert.match(html.stderr, /README\.md: XML (could not be parsed|is not an RSS or Atom feed)/);
});

void test("replay says per field which rule gave the value, or why none did; check-config warns about rules that match nothing", { timeout: 60_000 }, async () => {
  const atom = await ttrelay("replay", "-c", "test/fixtures/replay-config.json", "-f", "test/fixtures/feeds/statuspage-atom.xml", "--as", "transit-status");
  assert.equal(atom.code, 0, atom.stderr);
  assert.match(atom.stdout, /=== TRANSIT_24871193 \(Create\) ===\nitem: {5}tag:status\.transit\.example,2005:Incident\/24871193\nfields:\n/);
  assert.match(atom.stdout, / {2}TT_Status {18}"Closed" +← rule 1: content =~ \/\^\(Resolved\|/);
  assert.match(atom.stdout, / {2}Time_Window_Start {10}— +no rule gave a value\n +rule 1 when Type: content =~ .*condition not met: Type one of Scheduled \(is "Unscheduled"\)/);
  assert.match(atom.stdout, / {2}TT_Long_Description .* ← built-in 2: content\n +built-in 1 content:encoded: content:encoded is absent/);
  assert.match(atom.stdout, /message to noc@conference\.noc\.example\.net:\n {2}\*TRANSIT_24870001\* new · Planned maintenance 2026-11-28 00:00 – 02:00 UTC · Closed · Unknown\n/);
  assert.match(atom.stdout, /warning: \$\.feeds\[0\]\.mapping\.Affected_Service\[0\]: category@term matched none of the 2 items of the sample/);

  // Issue 11.1: links that all end in ?rss=1 give one ticket each, not one ticket "1".
  const rss = await ttrelay("replay", "-c", "test/fixtures/replay-config.json", "-f", "test/fixtures/feeds/rss-query-links.xml", "--as", "metro");
  assert.equal(rss.code, 0, rss.stderr);
  const ids = [...rss.stdout.matchAll(/^=== (\S+) \(Create\) ===$/gm)].map((m) => m[1]);
  assert.deepEqual(ids, ["METRO_noc.metrofibre.example/notices/4713?rss", "METRO_noc.metrofibre.example/notices/4712?rss=1", "METRO_noc.metrofibre.example/notices/4711?rss=1"]);
  assert.match(rss.stdout, /3 items, 3 tickets, 3 messages/);

  // A Latin-1 file is read by its XML declaration.
  const latin1 = await ttrelay("replay", "-c", "test/fixtures/replay-config.json", "-f", "test/fixtures/feeds/latin1.xml", "--as", "metro");
  assert.equal(latin1.code, 0, latin1.stderr);
  assert.match(latin1.stdout, /^charset: windows-1252$/m);
  assert.match(latin1.stdout, /Fiberavbrott Malmö - Lund/);

  const bad = JSON.parse((await readFile("test/fixtures/replay-config.json", "utf8")).replace(/^\s*\/\/.*$/gm, "")) as { feeds: { mapping: Record<string, unknown> }[] };
  bad.feeds[0]!.mapping.TT_Priority = { from: "content", html: true, regex: "^Resolved - (\\w+)" };
  const file = join(await dirP, "rules.json");
  await writeFile(file, JSON.stringify(bad));
  const checked = await ttrelay("check-config", file, "--sample", "test/fixtures/feeds/statuspage-atom.xml", "--as", "transit-status");
  assert.equal(checked.code, 0, checked.stderr);
  assert.match(checked.stderr, /warning: \$\.feeds\[0\]\.mapping\.TT_Priority\.regex: content usually has several lines, and without the "m" flag/);
  assert.match(checked.stderr, /warning: \$\.feeds\[0\]\.mapping\.TT_Priority: content =~ \/\^Resolved - \(\\w\+\)\/i matched none of the 2 items of the sample \(no match \(the text has several lines/);
});
