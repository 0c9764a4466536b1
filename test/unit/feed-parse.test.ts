import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { SaxesParser } from "saxes";
import { ItemFields } from "../../config/schema.js";
import { fingerprint, parseFeed, type ItemProblem, type ItemValues, type ParsedFeed } from "../../src/sources/feed/parse.js";

/** The named fields of an item (rss-parser's view); paths are tested on their own below. */
const named = (values: ItemValues): ItemValues =>
  Object.fromEntries(Object.entries(values).filter(([k]) => (ItemFields as readonly string[]).includes(k) && !k.startsWith("channel.")));

const sha256 = (s: string): string => createHash("sha256").update(s).digest("hex");

const rss2 = (items: string): string =>
  `<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"><channel><title>ExampleNet NOC</title><link>https://noc.example.net/</link><description>tickets</description>${items}</channel></rss>`;

/** What Request Tracker's RSS 1.0 (RDF) export looks like: no guid, the ticket URL as link and rdf:about. */
const rtRdf = `<?xml version="1.0" encoding="utf-8"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/">
  <channel rdf:about="https://rt.example.net/NoAuth/rss/noc/">
    <title>RT: noc queue</title>
    <link>https://rt.example.net/</link>
    <description>Tickets in the noc queue</description>
    <items><rdf:Seq>
      <rdf:li rdf:resource="https://rt.example.net/Ticket/Display.html?id=1234"/>
      <rdf:li rdf:resource="https://rt.example.net/Ticket/Display.html?id=1235"/>
    </rdf:Seq></items>
  </channel>
  <item rdf:about="https://rt.example.net/Ticket/Display.html?id=1234">
    <title>Fibre cut Athens-Patras</title>
    <link>https://rt.example.net/Ticket/Display.html?id=1234</link>
    <description>Both circuits down.</description>
    <dc:creator>noc@example.net</dc:creator>
    <dc:date>2026-11-28T10:00:00Z</dc:date>
  </item>
  <item rdf:about="https://rt.example.net/Ticket/Display.html?id=1235">
    <title>Router reload Heraklion</title>
    <link>https://rt.example.net/Ticket/Display.html?id=1235</link>
    <description>Planned.</description>
  </item>
</rdf:RDF>`;

const atom = `<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <title>Partner NOC</title>
  <id>urn:uuid:feed</id>
  <updated>2026-11-28T10:05:00Z</updated>
  <entry>
    <id>urn:partner:tt:77</id>
    <title>BGP flap AS64512</title>
    <link rel="alternate" href="https://partner.example.org/tt/77"/>
    <author><name>Partner NOC</name></author>
    <published>2026-11-28T09:00:00+01:00</published>
    <updated>2026-11-28T10:05:00Z</updated>
    <summary>Session reset 4 times</summary>
  </entry>
</feed>`;

type FormatCase = { name: string; input: string; expected: { title: string; items: { key: string; values: ItemValues }[] } };

const formatCases: FormatCase[] = [
  {
    name: "RSS 2.0 with guid, pubDate, HTML description and categories with attributes",
    input: rss2(`
      <item>
        <title>  Fibre cut Stockholm-Copenhagen </title>
        <link>https://noc.example.net/tt/1043</link>
        <guid isPermaLink="false">EXN-1043</guid>
        <category domain="https://noc.example.net/services">IP transit</category>
        <category>Optical</category>
        <category domain="x"></category>
        <pubDate>Sat, 28 Nov 2026 08:20:00 GMT</pubDate>
        <description>Traffic on &lt;b&gt;backup&lt;/b&gt;</description>
      </item>`),
    expected: {
      title: "ExampleNet NOC",
      items: [
        {
          key: "EXN-1043",
          values: {
            title: "Fibre cut Stockholm-Copenhagen",
            link: "https://noc.example.net/tt/1043",
            guid: "EXN-1043",
            content: "Traffic on <b>backup</b>",
            contentSnippet: "Traffic on backup",
            description: "Traffic on <b>backup</b>",
            pubDate: "Sat, 28 Nov 2026 08:20:00 GMT",
            isoDate: "2026-11-28T08:20:00.000Z",
            categories: ["IP transit", "Optical"],
          },
        },
      ],
    },
  },
  {
    name: "RSS 1.0 (RDF) as Request Tracker emits it: no guid, the link is the key",
    input: rtRdf,
    expected: {
      title: "RT: noc queue",
      items: [
        {
          key: "https://rt.example.net/Ticket/Display.html?id=1234",
          values: {
            title: "Fibre cut Athens-Patras",
            link: "https://rt.example.net/Ticket/Display.html?id=1234",
            content: "Both circuits down.",
            contentSnippet: "Both circuits down.",
            description: "Both circuits down.",
            creator: "noc@example.net",
            isoDate: "2026-11-28T10:00:00.000Z",
          },
        },
        {
          key: "https://rt.example.net/Ticket/Display.html?id=1235",
          values: {
            title: "Router reload Heraklion",
            link: "https://rt.example.net/Ticket/Display.html?id=1235",
            content: "Planned.",
            contentSnippet: "Planned.",
            description: "Planned.",
          },
        },
      ],
    },
  },
  {
    name: "Atom: id is the key, author name, published date",
    input: atom,
    expected: {
      title: "Partner NOC",
      items: [
        {
          key: "urn:partner:tt:77",
          values: {
            title: "BGP flap AS64512",
            link: "https://partner.example.org/tt/77",
            id: "urn:partner:tt:77",
            summary: "Session reset 4 times",
            author: "Partner NOC",
            pubDate: "2026-11-28T08:00:00.000Z",
            isoDate: "2026-11-28T08:00:00.000Z",
            updated: "2026-11-28T10:05:00Z",
          },
        },
      ],
    },
  },
  {
    name: "RSS 2.0 with an item that has only a title: keyed by a hash of title and date",
    input: rss2(`<item><title>Maintenance Oslo</title><pubDate>Sat, 28 Nov 2026 08:20:00 GMT</pubDate></item>`),
    expected: {
      title: "ExampleNet NOC",
      items: [
        {
          key: `sha256:${sha256("Maintenance Oslo\nSat, 28 Nov 2026 08:20:00 GMT").slice(0, 16)}`,
          values: { title: "Maintenance Oslo", pubDate: "Sat, 28 Nov 2026 08:20:00 GMT", isoDate: "2026-11-28T08:20:00.000Z" },
        },
      ],
    },
  },
  { name: "RSS 2.0 with no items", input: rss2(""), expected: { title: "ExampleNet NOC", items: [] } },
];

async function parseOk(xml: string, maxItemChars = 20_000): Promise<ParsedFeed> {
  const r = await parseFeed(xml, maxItemChars);
  assert.ok(r.ok, `expected the feed to parse, got ${r.ok ? "" : r.error}`);
  return r.value;
}

for (const { name, input, expected } of formatCases) {
  void test(`parseFeed: ${name}`, async () => {
    const feed = await parseOk(input);
    assert.equal(feed.title, expected.title);
    assert.deepEqual(feed.problems, []);
    assert.deepEqual(
      feed.items.map((i) => ({ key: i.key, values: named(i.values) })),
      expected.items,
    );
    for (const item of feed.items) assert.equal(item.fingerprint, fingerprint(item.values), item.key);
  });
}

const errorCases: { name: string; input: string; expected: string }[] = [
  { name: "empty body", input: "", expected: "empty document" },
  { name: "whitespace only", input: " \n\t ", expected: "empty document" },
  {
    name: "truncated XML (connection cut mid-document)",
    input: rss2("<item><title>x</title></item>").slice(0, 120),
    expected: "XML is truncated or malformed (Unclosed root tag)",
  },
  { name: "HTML login page", input: "<!DOCTYPE html>\n<html><head><title>Login</title></head><body></body></html>", expected: "got an HTML page, not an RSS/Atom feed" },
  { name: "HTML without doctype", input: "  <html><body>Service Unavailable</body></html>", expected: "got an HTML page, not an RSS/Atom feed" },
  { name: "JSON object", input: '{"error":"not found"}', expected: "got JSON, not an RSS/Atom feed" },
  { name: "JSON array", input: "[]", expected: "got JSON, not an RSS/Atom feed" },
  { name: "XML that is no feed", input: '<?xml version="1.0"?><tickets><ticket/></tickets>', expected: "XML is not an RSS or Atom feed (Feed not recognized as RSS 1 or 2.)" },
  { name: "mismatched tags", input: "<rss version='2.0'><channel><item><title>a</item></channel></rss>", expected: "XML could not be parsed (Unexpected close tag)" },
];

for (const { name, input, expected } of errorCases) {
  void test(`parseFeed rejects: ${name}`, async () => {
    assert.deepEqual(await parseFeed(input, 20_000), { ok: false, error: expected });
  });
}

void test("parseFeed: items without identity are skipped, duplicates dropped, huge items cut — each with a problem", async () => {
  const huge = "x".repeat(300);
  const feed = await parseOk(
    rss2(`
      <item><description>no guid, no link, no title</description></item>
      <item><guid>EXN-1</guid><title>first copy</title></item>
      <item><guid>EXN-1</guid><title>second copy</title></item>
      <item><guid>EXN-2</guid><title>big</title><description>${huge}</description></item>
      <item><title>  </title><link>https://noc.example.net/tt/3</link></item>`),
    256,
  );
  const expectedProblems: ItemProblem[] = [
    { key: "#1", message: "item has no guid, id, link or title: skipped" },
    { key: "EXN-1", message: "duplicate item identity in one document: later copy skipped" },
    { key: "EXN-2", message: "item text longer than 256 characters: cut" },
  ];
  assert.deepEqual(feed.problems, expectedProblems);
  assert.deepEqual(
    feed.items.map((i) => i.key),
    ["EXN-1", "EXN-2", "https://noc.example.net/tt/3"],
  );
  assert.equal(feed.items[0]?.values.title, "first copy", "the first copy wins");
  const big = feed.items[1]?.values;
  assert.equal(big?.description, "x".repeat(256));
  assert.equal(big?.["channel.title"], "ExampleNet NOC");
  assert.equal(big?.content, "x".repeat(256));
  assert.equal(big?.title, "big");
  assert.deepEqual(named(feed.items[2]?.values ?? {}), { link: "https://noc.example.net/tt/3" }, "a blank title is no value");
});

void test("parseFeed: an item exactly maxItemChars long is not cut", async () => {
  const feed = await parseOk(rss2(`<item><guid>g</guid><title>${"y".repeat(256)}</title></item>`), 256);
  assert.deepEqual(feed.problems, []);
  assert.equal(feed.items[0]?.values.title, "y".repeat(256));
});

void test("fingerprint: stable under key order, changed by any content", () => {
  const base: ItemValues = { title: "Fibre cut", guid: "EXN-1", description: "down", categories: ["IP", "Optical"] };
  const fp = fingerprint(base);
  assert.match(fp, /^[0-9a-f]{32}$/);
  const cases: { name: string; input: ItemValues; expected: "same" | "different" }[] = [
    { name: "same values", input: { ...base }, expected: "same" },
    { name: "keys reversed", input: Object.fromEntries(Object.entries(base).reverse()), expected: "same" },
    { name: "description changed", input: { ...base, description: "up again" }, expected: "different" },
    { name: "title changed by one character", input: { ...base, title: "Fibre cuts" }, expected: "different" },
    { name: "category added", input: { ...base, categories: ["IP", "Optical", "Lambda"] }, expected: "different" },
    { name: "categories reordered", input: { ...base, categories: ["Optical", "IP"] }, expected: "different" },
    { name: "field added", input: { ...base, pubDate: "Sat, 28 Nov 2026 08:20:00 GMT" }, expected: "different" },
    { name: "field removed", input: { title: "Fibre cut", guid: "EXN-1", description: "down" }, expected: "different" },
    { name: "value moved to another field", input: { title: "Fibre cut", guid: "EXN-1", categories: ["IP", "Optical"], summary: "down" }, expected: "different" },
    { name: "text moved across the boundary of two fields", input: { ...base, title: "Fibre cutE", guid: "XN-1" }, expected: "different" },
    { name: "two list elements joined", input: { ...base, categories: ["IPOptical"] }, expected: "different" },
    { name: "a list element split", input: { ...base, categories: ["I", "P", "Optical"] }, expected: "different" },
    { name: "a list of one for a single value", input: { ...base, description: ["down"] }, expected: "different" },
    { name: "a value that spells another key and value", input: { title: "Fibre cut", guid: "EXN-1", categories: ["IP", "Optical"], description: "down=4:x" }, expected: "different" },
  ];
  for (const { name, input, expected } of cases) {
    assert.equal(fingerprint(input) === fp ? "same" : "different", expected, name);
  }
});

void test("Atom categories (term) are read when there are no RSS categories; RSS categories win otherwise", async () => {
  const atomDoc = `<feed xmlns="http://www.w3.org/2005/Atom"><title>x</title><entry><id>urn:1</id><title>E</title><category term="IP transit"/><category term="Lambda" label="L"/><updated>2026-11-28T11:00:00Z</updated></entry></feed>`;
  const rssDoc = `<rss version="2.0"><channel><title>T</title><item><title>A</title><guid>g1</guid><category domain="x">IP</category><category>Optical</category></item></channel></rss>`;
  const cases: { name: string; input: string; expected: string[] }[] = [
    { name: "Atom", input: atomDoc, expected: ["IP transit", "Lambda"] },
    { name: "RSS", input: rssDoc, expected: ["IP", "Optical"] },
  ];
  for (const c of cases) {
    const r = await parseFeed(c.input, 1000);
    assert.ok(r.ok, c.name);
    assert.deepEqual(r.value.items[0]?.values.categories, c.expected, c.name);
  }
});

const fixture = (name: string): string => readFileSync(new URL(`../fixtures/feeds/${name}`, import.meta.url), "utf8");

void test("parseFeed: <rss> without a version is read as RSS 2.0 (issue 11.4)", async () => {
  const feed = await parseOk(fixture("aws-health-like.xml"));
  assert.equal(feed.items.length, 1);
  assert.equal(feed.items[0]?.values.title, "Informational message: Increased API error rates");
});

void test("parseFeed: fields by path: custom namespaces, content:encoded, dc:*, category attributes, Atom links by rel, channel fields", async () => {
  const rss = await parseOk(fixture("rss-query-links.xml"));
  const first = rss.items[0]?.values ?? {};
  const cases: { name: string; input: [ItemValues, string]; expected: string | string[] | undefined }[] = [
    { name: "content:encoded", input: [first, "content:encoded"], expected: "<p>Ring B runs on <b>one</b> path since 12:10 &amp; the spare is on its way.</p>" },
    { name: "dc:creator", input: [first, "dc:creator"], expected: "Duty engineer" },
    { name: "category by attribute", input: [first, "category[domain=severity]"], expected: "major" },
    { name: "category attribute list", input: [first, "category@domain"], expected: ["severity", "service"] },
    { name: "channel title", input: [first, "channel.title"], expected: "Metro Fibre NOC - notices" },
  ];
  const aws = (await parseOk(fixture("aws-health-like.xml"))).items[0]?.values ?? {};
  cases.push(
    { name: "custom namespace element", input: [aws, "cloud:region"], expected: "eu-north-1" },
    { name: "custom namespace attribute", input: [aws, "cloud:service@code"], expected: "compute" },
  );
  const atom = (await parseOk(fixture("statuspage-atom.xml"))).items[0]?.values ?? {};
  cases.push(
    { name: "Atom link by rel", input: [atom, "link[rel=alternate]@href"], expected: "https://status.transit.example/incidents/q8w2k1m9zx4d" },
    { name: "Atom channel link", input: [atom, "channel.link"], expected: "https://status.transit.example" },
    { name: "Atom published", input: [atom, "published"], expected: "2026-11-28T09:14:02Z" },
  );
  const planned = (await parseOk(fixture("noc-planned-work.xml"))).items[0]?.values ?? {};
  cases.push({ name: "attribute of an empty element", input: [planned, "pw:window@start"], expected: "2026-12-02T00:00:00Z" });
  for (const { name, input, expected } of cases) assert.deepEqual(input[0][input[1]], expected, name);
});

void test("itemPaths: bounded, and __proto__ is never a key", async () => {
  const many = Array.from({ length: 400 }, (_, i) => `<x:f${i}>v</x:f${i}>`).join("");
  const feed = await parseOk(rss2(`<item><guid>g</guid><title>t</title><__proto__>p</__proto__>${many}</item>`));
  const values = feed.items[0]?.values ?? {};
  assert.ok(Object.keys(values).length <= 320, String(Object.keys(values).length));
  assert.equal(Object.getPrototypeOf(values), Object.prototype);
  assert.equal(Object.hasOwn(values, "__proto__"), false);
});

void test("a document is parsed once: rss-parser reads the tree made for the paths (a big poll's parse took twice as long)", async () => {
  // The tree comes from saxes (src/sources/feed/xml-tree.ts) or, where saxes may read otherwise,
  // from xml2js (which rss-parser uses too): each runs one parser per document, closed at its end.
  const sax = createRequire(import.meta.url)("sax") as { SAXParser: { prototype: { close: (...args: unknown[]) => unknown } } };
  const counted = [sax.SAXParser.prototype, SaxesParser.prototype as unknown as { close: (...args: unknown[]) => unknown }].map((proto) => ({ proto, original: proto.close }));
  const calls = { n: 0 };
  for (const { proto, original } of counted)
    proto.close = function (this: unknown, ...args: unknown[]) {
      calls.n++;
      return original.apply(this, args);
    };
  try {
    const parsed = await parseFeed(rss2(`<item><title>A</title><guid>a</guid><description>x</description></item><item><title>B</title><guid>b</guid></item>`), 10_000);
    assert.ok(parsed.ok);
    assert.deepEqual(
      parsed.value.items.map((i) => [i.key, i.values.title, i.values.description]),
      [
        ["a", "A", "x"],
        ["b", "B", undefined],
      ],
    );
    assert.equal(calls.n, 1, "one XML parse per document");
    const rdf = await parseFeed(rtRdf, 10_000);
    assert.ok(rdf.ok);
    assert.equal(rdf.value.items.length, 2);
    assert.equal(calls.n, 2);
    // Read by xml2js (a carriage return): once too.
    const crlf = await parseFeed(rss2(`<item><title>A</title><guid>a</guid></item>`).replace(/\n/g, "\r\n"), 10_000);
    assert.ok(crlf.ok);
    assert.equal(calls.n, 3);
  } finally {
    for (const { proto, original } of counted) proto.close = original;
  }
});
