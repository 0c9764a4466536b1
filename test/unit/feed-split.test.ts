import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { parseFeed, parseFeedInParts, readFeedPart } from "../../src/sources/feed/parse.js";
import { itemLayout, splitFeedDocument } from "../../src/sources/feed/split.js";
import { rssFeed } from "../fixtures/feeds.js";
import { feedItems } from "../../bench/support/feed-items.js";

const rss = (body: string, before = "<title>ExampleNet NOC</title><link>https://noc.example.net/</link>", after = ""): string =>
  `<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"><channel>${before}${body}${after}</channel></rss>`;
const atom = (body: string): string => `<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>Status</title><id>urn:x</id>${body}</feed>`;
const rdf = (body: string, inChannel = ""): string =>
  `<?xml version="1.0"?><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/"><channel rdf:about="x"><title>RT</title>${inChannel}</channel>${body}</rdf:RDF>`;
const item = (n: number, extra = ""): string => `<item><guid>EXN-${n}</guid><title>Fault ${n}</title><description>Status: Opened</description>${extra}</item>`;
const entry = (n: number): string => `<entry><id>urn:e:${n}</id><title>Entry ${n}</title><updated>2026-11-28T10:0${n % 10}:00Z</updated></entry>`;

/** The items as the layout finds them (their text). */
const itemsOf = (xml: string): string[] | undefined => {
  const layout = itemLayout(xml);
  return layout && layout.starts.map((s, k) => xml.slice(s, layout.ends[k]));
};

void test("itemLayout: the item elements of plainly shaped RSS, Atom and RDF documents", () => {
  const tricky = [
    item(1, "<description><![CDATA[a </item> <item> inside CDATA]]></description>"),
    item(2, "<!-- </item> in a comment -->"),
    `<item><guid isPermaLink="false" note='a > b "quoted"'>EXN-3</guid><link rel="x>y">https://x/</link></item>`,
    "<item/>",
    `<item><title>nested</title><source><item>not a second item</item></source></item>`,
    `<item\n  ><guid>EXN-6</guid></item\n>`,
  ];
  const cases: { name: string; xml: string; expected: string[] }[] = [
    { name: "RSS 2.0", xml: rss(`\n  ${item(1)}\n  ${item(2)}\n`), expected: [item(1), item(2)] },
    { name: "RSS 2.0 with channel elements after the items", xml: rss(item(1) + item(2), "", "<title>late</title>"), expected: [item(1), item(2)] },
    { name: "RSS with an element beside the channel", xml: `<rss><image><url>x</url></image><channel>${item(1)}</channel></rss>`, expected: [item(1)] },
    { name: "tricky items", xml: rss(tricky.join("\n")), expected: tricky },
    { name: "Atom", xml: atom(entry(1) + entry(2) + entry(3)), expected: [entry(1), entry(2), entry(3)] },
    { name: "RSS 1.0 (RDF)", xml: rdf(item(1) + item(2)), expected: [item(1), item(2)] },
    { name: "a byte order mark and a comment before the root", xml: `\uFEFF<?xml version="1.0"?><!-- made by hand -->${rss(item(1)).replace(/^<\?xml[^>]*\?>\n/, "")}`, expected: [item(1)] },
    { name: "no items", xml: rss(""), expected: [] },
  ];
  for (const { name, xml, expected } of cases) assert.deepEqual(itemsOf(xml), expected, name);
  // A processing instruction ends as the parser ends it: "??>" does not end it, so item 1 runs on.
  const pi = rss(`${item(1, "<?x ??>")}${item(2, "<?x ??>")}<z a='?></item>'/>`);
  assert.equal(itemsOf(pi)?.length, 1);
});

void test("itemLayout: a document not plain enough to cut is read whole (undefined)", () => {
  const cases: { name: string; xml: string }[] = [
    { name: "a DOCTYPE (it may declare entities)", xml: `<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY e "x">]>${rss(item(1) + item(2)).replace(/^<\?xml[^>]*\?>\n/, "")}` },
    { name: "text between items", xml: rss(`${item(1)} stray ${item(2)}`) },
    { name: "an element between items", xml: rss(`${item(1)}<title>between</title>${item(2)}`) },
    { name: "a comment between items", xml: rss(`${item(1)}<!-- x -->${item(2)}`) },
    { name: "a no-break space between items", xml: rss(`${item(1)}\u00a0${item(2)}`) },
    { name: "RSS 1.0 items inside its channel", xml: rdf(item(1), item(2)) },
    { name: "RSS items beside the channel", xml: `<rss><channel>${item(1)}</channel>${item(2)}</rss>` },
    { name: "a second channel with items", xml: `<rss><channel>${item(1)}</channel><channel>${item(2)}</channel></rss>` },
    { name: "another root element", xml: `<html><body>${item(1)}</body></html>` },
    { name: "a namespaced Atom root", xml: `<a:feed xmlns:a="http://www.w3.org/2005/Atom">${entry(1)}</a:feed>` },
    { name: "a truncated document", xml: rss(item(1) + item(2)).slice(0, -20) },
    { name: "an unclosed item", xml: rss(`${item(1)}<item><guid>EXN-2</guid>`) },
    { name: "the channel closed by another name", xml: `<rss><channel>${item(1)}</chanel></rss>` },
    { name: "an unclosed comment", xml: rss(`${item(1)}<!-- never closed`) },
    { name: "an unclosed attribute quote", xml: rss(`<item><guid a="x>EXN-1</guid></item>`) },
    { name: "empty", xml: "" },
    // Found in review: the parser reads these otherwise than a plain scan would.
    { name: "a root named after an object property", xml: `<constructor>${item(1)}${item(2)}</constructor>` },
    { name: "markup after white space (< item>), which sax reads as an element", xml: rss(`< item><guid>H</guid></item>${item(1)}${item(2)}`) },
    { name: "a tag longer than the parser's buffer", xml: rss(`${item(1)}${item(2, `<enclosure url="${"u".repeat(70_000)}"/>`)}`) },
    { name: "a comment longer than the parser's buffer", xml: rss(`${item(1)}${item(2, `<!--${"c".repeat(70_000)}-->`)}`) },
  ];
  for (const { name, xml } of cases) assert.equal(itemLayout(xml), undefined, name);
});

void test("itemLayout: linear in the document (no quotes to look for far ahead)", () => {
  const big = rss(Array.from({ length: 40_000 }, (_, n) => `<item><title>t${n}</title></item>`).join(""));
  const t0 = performance.now();
  assert.equal(itemsOf(big)?.length, 40_000);
  // Generous: ≈20 ms here; a scan that looked for the next quote from every tag took seconds.
  assert.ok(performance.now() - t0 < 2_000, `took ${performance.now() - t0} ms`);
});

void test("splitFeedDocument: parts of consecutive items, each a whole document with the head and tail", () => {
  const xml = rss([1, 2, 3, 4, 5].map((n) => item(n)).join("\n"), "<title>T</title>", "<ttl>5</ttl>");
  const parts = splitFeedDocument(xml, 2);
  assert.deepEqual(
    parts?.map((p) => p.offset),
    [0, 3],
  );
  assert.equal(parts?.[1]?.text, rss(`${item(4)}\n${item(5)}`, "<title>T</title>", "<ttl>5</ttl>"));
  assert.equal(splitFeedDocument(rss(item(1)), 1)?.length, 1);
  assert.equal(splitFeedDocument(rss(""), 4), undefined);
  // A head (or tail) so long that its copies would add more than the document (and over 1 MiB): read whole.
  const items = Array.from({ length: 40_000 }, (_, n) => item(n)).join("");
  const long = (n: number): string => `<description>${"x".repeat(n)}</description>`;
  assert.equal(splitFeedDocument(rss(items, long(items.length / 2)), 4), undefined);
  assert.equal(splitFeedDocument(rss(items, "", long(items.length / 2)), 4), undefined);
  assert.equal(splitFeedDocument(rss(items, long(items.length / 4)), 4)?.length, 4);
  assert.equal(splitFeedDocument(rss(item(1) + item(2), long(300_000)), 4)?.length, 2, "small enough copies are fine");
});

/** Documents that must read the same in parts as whole: fixtures, generated ones, and awkward ones. */
function documents(): { name: string; xml: string }[] {
  const fixtures = readdirSync("test/fixtures/feeds").map((f) => ({ name: f, xml: readFileSync(`test/fixtures/feeds/${f}`, "utf8") }));
  const many = (n: number, f: (k: number) => string): string => Array.from({ length: n }, (_, k) => f(k + 1)).join("\n");
  return [
    ...fixtures,
    { name: "generated", xml: rssFeed(feedItems(300, 5)) },
    { name: "duplicates across parts", xml: rss(many(9, (k) => item(k % 4))) },
    { name: "unreadable and unnamed items", xml: rss(many(8, (k) => (k % 3 === 0 ? "<item><description>no name</description></item>" : item(k)))) },
    { name: "long items (cut)", xml: rss(many(6, (k) => item(k, `<dc:subject>${"x".repeat(k * 40)}</dc:subject>`))) },
    { name: "Atom", xml: atom(many(7, entry)) },
    { name: "RDF", xml: rdf(many(5, (k) => item(k))) },
    { name: "one bad item in the middle", xml: rss(many(6, (k) => (k === 4 ? "<item><title>a & b</title></item>" : item(k)))) },
    { name: "a bad channel after the items", xml: rss(many(6, (k) => item(k)), "", "<title>x</titl>") },
    { name: "not a feed", xml: `<?xml version="1.0"?><rss version="2.0"><channel>${many(4, (k) => item(k))}</channel></rss><rss/>` },
    { name: "a PI holding ?? in each item", xml: rss(`${item(1, "<?x ??>")}\n${item(2, "<?x ??>")}\n${item(3)}<z a='?></item>'/>`) },
    { name: "< item> in the head", xml: rss(`< item><guid>H</guid></item>${many(3, (k) => item(k))}`) },
    { name: "< !-- in items", xml: rss(many(3, (k) => item(k, "< !-- />")) + " -->< ![CDATA[ ' ]]></item>' />") },
    { name: "a long title, then a long attribute", xml: rss([item(1, `<title>${"p".repeat(62_000)}</title>`), item(2), item(3, `<enclosure url="${"u".repeat(70_000)}"/>`), item(4)].join("")) },
    { name: "a long head, then a long attribute", xml: rss([item(2), item(3, `<enclosure url="${"u".repeat(70_000)}"/>`), item(4)].join(""), `<description>${"d".repeat(62_000)}</description>`) },
  ];
}

void test("parseFeedInParts: the same result as parseFeed, for any number of parts", async () => {
  const readHere = (text: string, offset: number): ReturnType<typeof readFeedPart> => readFeedPart(text, 120, offset);
  let cut = 0;
  for (const { name, xml } of documents()) {
    const whole = await parseFeed(xml, 120);
    if ((splitFeedDocument(xml, 3)?.length ?? 0) > 1) cut++;
    for (const count of [2, 3, 7]) assert.deepEqual(await parseFeedInParts(xml, 120, count, readHere), whole, `${name}, ${count} parts`);
  }
  // Most of them are read in parts (the rest whole, which proves nothing here).
  assert.ok(cut >= 10, `${cut} documents read in parts`);
});

void test("parseFeedInParts: a part that cannot be read, or a reader that fails, gives the whole document's reading", async () => {
  const xml = rss(Array.from({ length: 6 }, (_, k) => item(k + 1)).join(""));
  const whole = await parseFeed(xml, 1000);
  let calls = 0;
  const flaky = (text: string, offset: number): ReturnType<typeof readFeedPart> => (++calls === 2 ? Promise.reject(new Error("worker gone")) : readFeedPart(text, 1000, offset));
  assert.deepEqual(await parseFeedInParts(xml, 1000, 3, flaky), whole);
  assert.equal(calls, 3);
  const misaligned = async (text: string, offset: number): ReturnType<typeof readFeedPart> => {
    const r = await readFeedPart(text, 1000, offset);
    return r.ok && offset > 0 ? { ...r, value: { ...r.value, aligned: false } } : r;
  };
  assert.deepEqual(await parseFeedInParts(xml, 1000, 3, misaligned), whole);
});
