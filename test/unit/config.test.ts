import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Config } from "../../config/schema.js";
import { configWarnings, formatPath, parseConfigText, resolveSecret, type ConfigProblem } from "../../src/config/load.js";

const ROOM = "noc@conference.example.net";

/** The smallest config that parses: one room, one feed, one route. Plain JSON, as an admin writes it. */
function minimal(): Record<string, unknown> & {
  noc: Record<string, unknown>;
  xmpp: Record<string, unknown>;
  rooms: Record<string, unknown>[];
  feeds: Record<string, unknown>[];
  routes: (Record<string, unknown> & { rooms: string[] })[];
} {
  return {
    noc: { id: "EXN", name: "ExampleNet NOC" },
    xmpp: { jid: "ttrelay@example.net", password: { env: "TTRELAY_PASSWORD" } },
    rooms: [{ jid: ROOM }],
    feeds: [{ id: "exn", url: "https://noc.example.net/tickets.rss", partnerId: "EXN" }],
    routes: [{ rooms: [ROOM] }],
  };
}

function parsed(input: unknown): Config {
  const r = parseConfigText(JSON.stringify(input));
  assert.ok(r.ok, `expected a valid config, got ${JSON.stringify(r.ok ? null : r.error)}`);
  return r.value;
}

void test("a minimal config parses, with every default filled in", () => {
  assert.deepEqual(parsed(minimal()), {
    noc: { id: "EXN", name: "ExampleNet NOC" },
    xmpp: { jid: "ttrelay@example.net", password: { env: "TTRELAY_PASSWORD" }, resource: "ttrelay", nick: "ttrelay", keepalive: { idleMs: 60_000, timeoutMs: 20_000, roomPingMs: 300_000 } },
    rooms: [{ jid: ROOM, members: [], subject: true }],
    feeds: [
      {
        id: "exn",
        url: "https://noc.example.net/tickets.rss",
        schedule: "*/2 * * * *",
        partnerId: "EXN",
        timeoutMs: 15_000,
        maxBytes: 5 * 1024 * 1024,
        maxItemChars: 20_000,
        redirectHosts: [],
        itemsPerTicket: "one",
        mapping: {},
      },
    ],
    routes: [{ rooms: [ROOM], when: {} }],
    store: { path: "data/ttrelay.json", archiveAfterHours: 24 },
    mail: [],
    webhooks: [],
    peerBots: [],
    acl: { admins: [], engineers: [], customers: [], rooms: {} },
    correlation: {
      threshold: 5,
      weights: { reference: 100, circuit: 6, node: 3, service: 2, timeOverlap: 1 },
      timeWindow: { slackMinutes: 120, staleAfterHours: 72 },
      maxPostingsPerKey: 2000,
    },
    maintenance: { remindBeforeMinutes: [60, 15] },
    render: { maxLongDescription: 600, timeZone: "UTC" },
    log: { level: "info" },
  });
});

void test("JIDs are lower-cased so that routes and rooms compare equal", () => {
  const c = minimal();
  c.rooms = [{ jid: "NOC@Conference.Example.NET" }];
  c.routes = [{ rooms: ["noc@conference.example.net"] }];
  const cfg = parsed(c);
  assert.equal(cfg.rooms[0]?.jid, ROOM);
  assert.deepEqual(cfg.routes[0]?.rooms, [ROOM]);
});

type ProblemCase = { name: string; input: string; expected: { path: string; message: RegExp }[] };

/** Each kind of mistake an admin makes, with the JSON path it must be reported at. */
const problemCases: ProblemCase[] = [
  ...(
    [
      {
        name: "feed URL that is no URL",
        edit: (c) => (c.feeds[0] = { ...c.feeds[0], url: "noc.example.net/tickets.rss" }),
        expected: [
          { path: "$.feeds[0].url", message: /^Invalid URL$/ },
          { path: "$.feeds[0].url", message: /^must be http\(s\):\/\/ \(or file:\/\/ for local tests\)$/ },
        ],
      },
      {
        name: "feed URL with an unsupported scheme",
        edit: (c) => (c.feeds[0] = { ...c.feeds[0], url: "ftp://noc.example.net/tickets.rss" }),
        expected: [{ path: "$.feeds[0].url", message: /^must be http\(s\):\/\/ \(or file:\/\/ for local tests\)$/ }],
      },
      {
        name: "route to a room that is not in rooms",
        edit: (c) => (c.routes = [{ rooms: [ROOM, "other@conference.example.net"] }]),
        expected: [{ path: "$.routes[0].rooms[1]", message: /^room other@conference\.example\.net is not in "rooms"$/ }],
      },
      {
        name: "route on a feed that is not in feeds",
        edit: (c) => (c.routes = [{ rooms: [ROOM], when: { feeds: ["exn", "nope"] } }]),
        expected: [{ path: "$.routes[0].when.feeds[1]", message: /^feed nope is not in "feeds"$/ }],
      },
      {
        name: "same feed twice (id and URL)",
        edit: (c) => c.feeds.push({ ...c.feeds[0] }),
        expected: [
          { path: "$.feeds[1].id", message: /^feed id exn is used twice$/ },
          { path: "$.feeds[1].url", message: /^feed URL is listed twice; route it to more rooms instead$/ },
        ],
      },
      {
        name: "duplicate feed id, different URL",
        edit: (c) => c.feeds.push({ ...c.feeds[0], url: "https://noc.example.net/other.rss" }),
        expected: [{ path: "$.feeds[1].id", message: /^feed id exn is used twice$/ }],
      },
      {
        name: "duplicate feed URL, different id",
        edit: (c) => c.feeds.push({ ...c.feeds[0], id: "exn2" }),
        expected: [{ path: "$.feeds[1].url", message: /^feed URL is listed twice; route it to more rooms instead$/ }],
      },
      {
        name: "room listed twice",
        edit: (c) => c.rooms.push({ jid: ROOM }),
        expected: [{ path: "$.rooms[1].jid", message: /^room noc@conference\.example\.net is listed twice$/ }],
      },
      ...["every minute", "61 * * * *", "* * * * * * *", ""].map(
        (schedule): { name: string; edit: (c: ReturnType<typeof minimal>) => void; expected: ProblemCase["expected"] } => ({
          name: `bad cron expression ${JSON.stringify(schedule)}`,
          edit: (c) => (c.feeds[0] = { ...c.feeds[0], schedule }),
          expected: [{ path: "$.feeds[0].schedule", message: /^is not a valid cron expression/ }],
        }),
      ),
      {
        name: "bad regex in the second rule of a mapping",
        edit: (c) =>
          (c.feeds[0] = {
            ...c.feeds[0],
            mapping: { TT_Status: [{ from: "title" }, { from: "description", regex: "Status: (open" }] },
          }),
        expected: [{ path: "$.feeds[0].mapping.TT_Status[1].regex", message: /^is not a regular expression RE2 can run \(missing closing \)/ }],
      },
      {
        name: "bad regex flag",
        edit: (c) => (c.feeds[0] = { ...c.feeds[0], mapping: { TT_Status: { from: "title", regex: "x", flags: "g" } } }),
        expected: [{ path: "$.feeds[0].mapping.TT_Status.flags", message: /^may only contain the flags i, m, s, u$/ }],
      },
      {
        name: "regex without from",
        edit: (c) => (c.feeds[0] = { ...c.feeds[0], mapping: { TT_Status: { regex: "x", value: "Opened" } } }),
        expected: [{ path: "$.feeds[0].mapping.TT_Status.regex", message: /^`regex` needs `from`/ }],
      },
      {
        name: "mapping a computed field (TT_ID)",
        edit: (c) => (c.feeds[0] = { ...c.feeds[0], mapping: { TT_ID: { from: "guid" } } }),
        expected: [{ path: "$.feeds[0].mapping", message: /"TT_ID"/ }],
      },
      {
        name: "Partner_ID with an underscore",
        edit: (c) => (c.feeds[0] = { ...c.feeds[0], partnerId: "EX_N" }),
        expected: [{ path: "$.feeds[0].partnerId", message: /^may not contain '_' or spaces/ }],
      },
      {
        name: "NOC id with an underscore",
        edit: (c) => (c.noc = { ...c.noc, id: "EX_N" }),
        expected: [{ path: "$.noc.id", message: /^may not contain '_' or spaces$/ }],
      },
      {
        name: "unknown top-level key",
        edit: (c) => (c.colour = "red"),
        expected: [{ path: "$", message: /^Unrecognized key: "colour"$/ }],
      },
      {
        name: "unknown key in a feed (a typo)",
        edit: (c) => (c.feeds[0] = { ...c.feeds[0], schedul: "* * * * *" }),
        expected: [{ path: "$.feeds[0]", message: /^Unrecognized key: "schedul"$/ }],
      },
      {
        name: "missing mandatory key",
        edit: (c) => (c.noc = { id: "EXN" }),
        expected: [{ path: "$.noc.name", message: /^is required \(expected string\)$/ }],
      },
      {
        name: "wrong type is not reported as missing",
        edit: (c) => (c.feeds[0] = { ...c.feeds[0], timeoutMs: "15s" }),
        expected: [{ path: "$.feeds[0].timeoutMs", message: /^Invalid input: expected number, received string$/ }],
      },
      {
        name: "room JID with a resource",
        edit: (c) => c.rooms.push({ jid: "ops@conference.example.net/bot" }),
        expected: [{ path: "$.rooms[1].jid", message: /^must be a bare JID/ }],
      },
      {
        name: "no routes",
        edit: (c) => (c.routes = []),
        expected: [{ path: "$.routes", message: /.+/ }],
      },
    ] satisfies { name: string; edit: (c: ReturnType<typeof minimal>) => void; expected: ProblemCase["expected"] }[]
  ).map(({ name, edit, expected }) => {
    const c = minimal();
    edit(c);
    return { name, input: JSON.stringify(c), expected };
  }),
  { name: "invalid JSON (truncated)", input: '{ "noc": { "id": "EXN" ', expected: [{ path: "$", message: /^not valid JSON at line 1, column 24: close brace expected$/ }] },
  { name: "invalid JSON on a later line", input: '{\n  "noc": { "id": "EXN" }\n  "xmpp": {}\n}', expected: [{ path: "$", message: /^not valid JSON at line 3, column 3: comma expected$/ }] },
  { name: "empty file", input: "", expected: [{ path: "$", message: /^not valid JSON at line 1, column 1: value expected$/ }] },
  { name: "JSON that is not an object", input: "[]", expected: [{ path: "$", message: /.+/ }] },
];

for (const { name, input, expected } of problemCases) {
  void test(`config problem: ${name}`, () => {
    const r = parseConfigText(input);
    assert.equal(r.ok, false, "config should be rejected");
    const problems: ConfigProblem[] = r.ok ? [] : r.error;
    assert.deepEqual(
      problems.map((p) => p.path),
      expected.map((e) => e.path),
      JSON.stringify(problems),
    );
    expected.forEach((e, i) => assert.match(problems[i]?.message ?? "", e.message));
  });
}

void test("formatPath: zod paths → $.a[0].b, quoting keys that are not identifiers", () => {
  const cases: { name: string; input: PropertyKey[]; expected: string }[] = [
    { name: "root", input: [], expected: "$" },
    { name: "key and index", input: ["feeds", 0, "url"], expected: "$.feeds[0].url" },
    { name: "nested indexes", input: ["routes", 2, "rooms", 10], expected: "$.routes[2].rooms[10]" },
    { name: "$ and _ are identifier characters", input: ["$schema", "_x"], expected: "$.$schema._x" },
    { name: "key with a space", input: ["mapping", "Foo bar"], expected: '$.mapping["Foo bar"]' },
    { name: "key starting with a digit", input: ["0abc"], expected: '$["0abc"]' },
    { name: "key with a quote", input: ['a"b'], expected: '$["a\\"b"]' },
    { name: "numeric string is a key, not an index", input: ["1"], expected: '$["1"]' },
  ];
  for (const { name, input, expected } of cases) assert.equal(formatPath(input), expected, name);
});

void test("configWarnings: inline password and plain http feeds (loopback excepted)", () => {
  const cases: { name: string; input: { password?: unknown; urls: string[]; schedules?: string[]; http?: { address: string } }; expected: ConfigProblem[] }[] = [
    { name: "env password, https feed", input: { urls: ["https://noc.example.net/f"] }, expected: [] },
    {
      name: "inline password",
      input: { password: { value: "s3cret" }, urls: ["https://noc.example.net/f"] },
      expected: [{ path: "$.xmpp.password", message: 'inline password: use {"env": …} or {"file": …} outside demos' }],
    },
    {
      name: "plain http feed, second in the list",
      input: { urls: ["https://noc.example.net/f", "http://noc.example.net/g"] },
      expected: [{ path: "$.feeds[1].url", message: "plain http: feed content can be altered in transit" }],
    },
    {
      name: "upper-case HTTP scheme",
      input: { urls: ["HTTP://noc.example.net/f"] },
      expected: [{ path: "$.feeds[0].url", message: "plain http: feed content can be altered in transit" }],
    },
    {
      name: "loopback feeds are fine over http",
      input: { urls: ["http://localhost:8080/f", "http://127.0.0.1/f", "http://[::1]:8080/f", "http://localhost/f"] },
      expected: [],
    },
    {
      name: "a host that only starts like localhost is not loopback",
      input: { urls: ["http://localhost.example.net/f", "http://127.example.net/f"] },
      expected: [
        { path: "$.feeds[0].url", message: "plain http: feed content can be altered in transit" },
        { path: "$.feeds[1].url", message: "plain http: feed content can be altered in transit" },
      ],
    },
    { name: "file: feeds", input: { urls: ["file:///tmp/feed.xml"] }, expected: [{ path: "$.feeds[0].url", message: "file:// reads a file on this machine (meant for tests): use the feed's http(s) address" }] },
    {
      name: "a feed polled every second, one several times a minute, one at second 0 of every minute",
      input: { urls: ["https://a.example.net/f", "https://b.example.net/f", "https://c.example.net/f"], schedules: ["* * * * * *", "*/10 * * * * *", "0 * * * * *"] },
      expected: [
        { path: "$.feeds[0].schedule", message: '"* * * * * *" runs every second: a feed polled that often is hammered for little (every minute is plenty)' },
        { path: "$.feeds[1].schedule", message: '"*/10 * * * * *" runs several times a minute: a feed polled that often is hammered for little (every minute is plenty)' },
      ],
    },
    {
      name: "the HTTP listener on every address",
      input: { urls: [], http: { address: "0.0.0.0" } },
      expected: [{ path: "$.http.address", message: "listens on 0.0.0.0: /health, /ready and /metrics answer anyone who can reach it without credentials; keep loopback and put a TLS proxy in front" }],
    },
    { name: "the HTTP listener on loopback", input: { urls: [], http: { address: "::1" } }, expected: [] },
  ];
  for (const { name, input, expected } of cases) {
    const c = minimal();
    if (input.password !== undefined) c.xmpp = { ...c.xmpp, password: input.password };
    c.feeds = input.urls.map((url, i) => ({ id: `f${i}`, url, partnerId: "EXN", ...(input.schedules?.[i] ? { schedule: input.schedules[i] } : {}) }));
    if (input.http) c.http = input.http;
    assert.deepEqual(configWarnings(parsed(c)), expected, name);
  }
});

void test("resolveSecret: value, env and file, with errors naming where it looked", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "ttrelay-secret-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const good = join(dir, "password");
  const empty = join(dir, "empty");
  const missing = join(dir, "missing");
  await writeFile(good, "  s3cret\n");
  await writeFile(empty, "\n  \n");
  const env = { TTRELAY_PASSWORD: "from-env", EMPTY: "" };

  const cases: { name: string; input: Parameters<typeof resolveSecret>[0]; expected: Awaited<ReturnType<typeof resolveSecret>> }[] = [
    { name: "inline value", input: { value: "inline" }, expected: { ok: true, value: "inline" } },
    { name: "env set", input: { env: "TTRELAY_PASSWORD" }, expected: { ok: true, value: "from-env" } },
    {
      name: "env unset",
      input: { env: "NOT_SET_ANYWHERE" },
      expected: { ok: false, error: { path: "$.xmpp.password", message: "environment variable NOT_SET_ANYWHERE is not set" } },
    },
    {
      name: "env set but empty",
      input: { env: "EMPTY" },
      expected: { ok: false, error: { path: "$.xmpp.password", message: "environment variable EMPTY is not set" } },
    },
    { name: "file, trimmed", input: { file: good }, expected: { ok: true, value: "s3cret" } },
    {
      name: "empty file",
      input: { file: empty },
      expected: { ok: false, error: { path: "$.xmpp.password", message: `secret file ${empty} is empty` } },
    },
  ];
  for (const { name, input, expected } of cases) {
    assert.deepEqual(await resolveSecret(input, "$.xmpp.password", env), expected, name);
  }

  const r = await resolveSecret({ file: missing }, "$.rooms[0].password", env);
  assert.equal(r.ok, false);
  if (!r.ok) {
    assert.equal(r.error.path, "$.rooms[0].password");
    assert.match(r.error.message, new RegExp(`^cannot read secret file ${missing.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}: ENOENT`));
  }
});

void test("config/example.json parses and draws no warnings", () => {
  const r = parseConfigText(readFileSync(new URL("../../config/example.json", import.meta.url), "utf8"));
  assert.ok(r.ok, `config/example.json: ${JSON.stringify(r.ok ? null : r.error)}`);
  assert.deepEqual(configWarnings(r.value), []);
  assert.ok(r.value.feeds.length > 0, "the example should show at least one feed");
});

void test("config/ttrelay.schema.json is the JSON Schema generated from the zod schema (run `npm run schema` after changing it)", async () => {
  const { readFile } = await import("node:fs/promises");
  const { configJsonSchema } = await import("../../src/config/json-schema.js");
  const shipped = await readFile(new URL("../../config/ttrelay.schema.json", import.meta.url), "utf8");
  assert.equal(shipped, configJsonSchema());
});

void test("comments and trailing commas (JSONC, as in the README) are accepted", () => {
  const text = JSON.stringify(minimal(), null, 2).replace('"noc": {', '"noc": { // our Partner_ID\n').replace(/\n}$/, ",\n}");
  assert.ok(parseConfigText(text).ok, text);
});

void test("every problem is reported at once: routes naming unknown rooms too, and a missing password is 'required'", () => {
  const c = minimal() as Record<string, unknown> & { xmpp: Record<string, unknown>; routes: { rooms: string[] }[] };
  delete c.xmpp.password;
  c.routes = [{ rooms: ["nowhere@conference.example.net"] }];
  const r = parseConfigText(JSON.stringify(c));
  assert.ok(!r.ok);
  assert.deepEqual(
    r.error.map((p) => `${p.path}: ${p.message}`),
    ["$.xmpp.password: is required", '$.routes[0].rooms[0]: room nowhere@conference.example.net is not in "rooms"'],
  );
});
