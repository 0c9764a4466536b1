import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { Parser } from "xml2js";
import { xml2jsTree, xml2jsTreeInTurns } from "../../src/sources/feed/xml-tree.js";
import { rssFeed } from "../fixtures/feeds.js";
import { feedItems } from "../../bench/support/feed-items.js";

/** xml2js' own reading (its defaults, as parse.ts used them): the tree, or undefined when it refuses the document. */
async function xml2js(xml: string): Promise<unknown> {
  try {
    return (await new Parser().parseStringPromise(xml)) as unknown;
  } catch {
    return undefined;
  }
}

/** The tree with its key order and each object's prototype (null or not), which deepEqual alone does not compare. */
const shape = (v: unknown): unknown =>
  Array.isArray(v)
    ? v.map(shape)
    : v !== null && typeof v === "object"
      ? [Object.getPrototypeOf(v) === null ? "no prototype" : "prototype", Object.entries(v).map(([k, x]) => [k, shape(x)])]
      : v;

/** When saxes' tree is given, it is xml2js' tree exactly; read in small pieces, it is the same again. */
async function assertAlike(xml: string, label: string): Promise<"alike" | "xml2js"> {
  const fast = xml2jsTree(xml);
  const inTurns = await xml2jsTreeInTurns(xml, () => Promise.resolve(), 7);
  assert.deepEqual(shape(inTurns), shape(fast), `${label}: read in pieces, not the same tree: ${JSON.stringify(xml).slice(0, 200)}`);
  if (fast === undefined) return "xml2js";
  const reference = await xml2js(xml);
  assert.notEqual(reference, undefined, `${label}: xml2js refuses a document saxes gave a tree for: ${JSON.stringify(xml).slice(0, 200)}`);
  assert.deepEqual(shape(fast), shape(reference), `${label}: not xml2js' tree: ${JSON.stringify(xml).slice(0, 200)}`);
  return "alike";
}

void test("xml2jsTree: xml2js' tree of plain documents, key for key", async () => {
  const cases: [string, string][] = [
    ["text only", "<a>x</a>"],
    ["attributes and text", `<a x="1" y='two words'>text</a>`],
    ["repeated children, in order", "<r><b>1</b><c/><b>2</b><b x='y'/></r>"],
    ["mixed text around children", "<r> a <b>1</b> b <c>2</c> c </r>"],
    ["white space only: kept as the element's value", "<r><a>  \n  </a><b/><c x='1'>  </c></r>"],
    ["CDATA: empty, blank, with attributes, beside text", "<r><a><![CDATA[]]></a><b><![CDATA[  ]]></b><c x='1'><![CDATA[]]></c><d x='1'><![CDATA[ ]]></d><e>t<![CDATA[<b>]]>u</e></r>"],
    ["entities in text and attributes", `<r a="&lt;&amp;&quot;&apos;&#65;&#x1F600;">&lt;b&gt; &amp; &#169; &#x2028;</r>`],
    ["a byte order mark, a declaration, comments and processing instructions", `\uFEFF<?xml version="1.0" encoding="UTF-8"?>\n<!-- before --><?pi x?><r><!-- in -->t<?pi ???>u</r>\n<!-- after -->`],
    ["namespaced names and xmlns attributes", `<rss xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:creator>NOC</dc:creator><x:y x:z="1"/></rss>`],
    ["names that are Object.prototype's", "<r><constructor>c</constructor><toString x='1'/><hasOwnProperty/></r>"],
    ["non-ASCII text and names", "<r><é>ü 😀 \u00a0 \uFEFF</é></r>"],
    ["a space (not a tab or line feed) in a value, and line feeds between attributes", `<r\n  a="x y"\n  b='1'>t</r>`],
    ["character references for tab and line feed in a value", `<r a="x&#9;y&#10;z"/>`],
  ];
  for (const [label, xml] of cases) assert.equal(await assertAlike(xml, label), "alike", label);
});

void test("xml2jsTree: left to xml2js where the two could read a document differently", async () => {
  const cases: [string, string][] = [
    ["a carriage return (XML turns line ends into line feeds; sax does not)", "<r>a\r\nb</r>"],
    ["a tab in an attribute value (saxes makes it a space)", `<r a="x\ty"/>`],
    ["a line feed in an attribute value", `<r a='x\ny'/>`],
    ["a DOCTYPE", `<!DOCTYPE r><r/>`],
    ["XML 1.1", `<?xml version="1.1"?><r/>`],
    ["an attribute named __proto__ (sax drops it)", `<r __proto__="x"/>`],
    ["an attribute named hasOwnProperty before another (sax fails)", `<a hasOwnProperty="x" b="y"/>`],
    ["a name beyond U+FFFF (sax refuses it)", "<a><b\ud800\udc00>x</b\ud800\udc00></a>"],
    ["an emoji as a name", "<\ud83d\ude00/>"],
    ["an attribute name beyond U+FFFF", `<a b\ud800\udc00="1"/>`],
    ["an element named _", "<r><_>x</_></r>"],
    ["an element named $", "<r x='1'><$>x</$></r>"],
    ["an element named cdata", "<r><cdata>x</cdata></r>"],
    ["a comment longer than sax's buffer", `<r><!--${"x".repeat(70_000)}--></r>`],
    ["a processing instruction sax does not end at ??>", "<r><?x ??><b/>?></r>"],
    ["an HTML entity (sax knows it, XML does not)", "<r>&nbsp;</r>"],
    ["a bare ampersand", "<r>AT&T</r>"],
    ["mismatched tags", "<r><a></b></r>"],
    ["unclosed", "<r><a>"],
    ["two roots", "<r/><s/>"],
    ["text after the root", "<r/>text"],
    ["blank", "  \n "],
    ["not XML", "{\"json\": true}"],
  ];
  for (const [label, xml] of cases) assert.equal(await assertAlike(xml, label), "xml2js", label);
});

/** A deterministic generator (seeded), so that a failure can be replayed. */
function random(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s * 1103515245 + 12345) & 0x7fffffff;
    return s / 0x7fffffff;
  };
}

void test("xml2jsTree: random well-formed documents read exactly as xml2js reads them", async () => {
  const rand = random(7);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(rand() * list.length)] as T;
  const names = ["a", "b", "item", "title", "x:y", "guid", "category", "link", "n-1", "é"];
  const texts = ["", " ", "  \n  ", "\n", "\t", "word", "two words", "&amp;", "&lt;b&gt;", "&#65;&#x1F600;", "\u00a0", "\u2028", "\uFEFF", "x&quot;y&apos;", "😀"];
  const values = ["", "1", "a b", "a&amp;b", "&lt;", "&#9;", "&#10;", ">", '"', "'", "x\ty", "x\ny"];
  const element = (depth: number): string => {
    const name = pick(names);
    let attrs = "";
    const used = new Set<string>();
    for (let i = Math.floor(rand() * 3); i > 0; i--) {
      const a = pick(["id", "rel", "href", "x:z", "domain", "term"]);
      if (used.has(a)) continue;
      used.add(a);
      const v = pick(values);
      const q = v.includes('"') ? "'" : v.includes("'") ? '"' : pick(["'", '"']);
      attrs += ` ${a}=${q}${v}${q}`;
    }
    if (depth > 3 || rand() < 0.2) return rand() < 0.5 ? `<${name}${attrs}/>` : `<${name}${attrs}>${pick(texts)}</${name}>`;
    let body = "";
    for (let i = Math.floor(rand() * 5); i > 0; i--) {
      const r = rand();
      body += r < 0.5 ? element(depth + 1) : r < 0.75 ? pick(texts) : r < 0.9 ? `<![CDATA[${pick(["", " ", "x", "<b>", "]]"])}]]>` : "<!-- c -->";
    }
    return `<${name}${attrs}>${body}</${name}>`;
  };
  const seen = { alike: 0, xml2js: 0 };
  for (let n = 0; n < 3000; n++) seen[await assertAlike((rand() < 0.3 ? '<?xml version="1.0"?>\n' : "") + element(0), `random document ${n}`)]++;
  assert.ok(seen.alike > 1500, `most are read by saxes (${JSON.stringify(seen)})`);
});

void test("xml2jsTree: damaged feeds are refused or read exactly as xml2js reads them", async () => {
  const rand = random(11);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(rand() * list.length)] as T;
  const dir = new URL("../fixtures/feeds/", import.meta.url);
  const docs = readdirSync(dir).map((f) => readFileSync(new URL(f, dir), "latin1"));
  docs.push(rssFeed(feedItems(40, 5)));
  for (const [k, d] of docs.entries()) await assertAlike(d, `fixture ${k}`);
  const damage = ["<", ">", "&", "&amp;", "&nbsp;", "]]>", "<![CDATA[", "<!--", "-->", "<?x ??>", '"', "'", "\r", "\t", "</item>", "<item>", "<_>", "<b x='1' x='2'/>", "<a\n>", "&#0;", "&#xD800;", "\uFEFF", "<!DOCTYPE x>"];
  const seen = { alike: 0, xml2js: 0 };
  for (let n = 0; n < 1500; n++) {
    let x = pick(docs);
    for (let i = 1 + Math.floor(rand() * 3); i > 0; i--) {
      const at = Math.floor(rand() * x.length);
      x = rand() < 0.7 ? x.slice(0, at) + pick(damage) + x.slice(at) : x.slice(0, at) + x.slice(at + 1 + Math.floor(rand() * 5));
    }
    seen[await assertAlike(x, `damaged document ${n}`)]++;
  }
  assert.ok(seen.alike > 100 && seen.xml2js > 100, `both kinds seen (${JSON.stringify(seen)})`);
});
