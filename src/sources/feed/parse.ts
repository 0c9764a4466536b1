/**
 * Feed document → normalised items (pure apart from rss-parser's in-memory XML parse).
 * Everything rss-parser hands back is re-validated with zod: feeds come from other organisations.
 */
import Parser from "rss-parser";
import { Parser as XmlParser } from "xml2js";
import { hash } from "node:crypto";
import { z } from "zod";
import { ok, err, type Result } from "../../util/result.js";
import { splitFeedDocument } from "./split.js";
import { xml2jsTree, xml2jsTreeInTurns } from "./xml-tree.js";

/** An item's values by field name or path (see config/schema.ts ItemFields and isFeedFieldName). */
export type ItemValues = Record<string, string | string[]>;

export type FeedItem = {
  /** Stable identity of the item within its feed: guid, else id, else link, else a hash of title+date. */
  readonly key: string;
  readonly values: ItemValues;
  /** Hash of the item's content, to tell a changed item from an unchanged one. */
  readonly fingerprint: string;
};

export type ItemProblem = { key: string; message: string };

export type ParsedFeed = {
  title: string | undefined;
  items: FeedItem[];
  /** Items skipped or cut, each with why (logged by the caller with the feed's name). */
  problems: ItemProblem[];
  /** Read by threads that keep the items for translating them: told when the poll is done with them. */
  release?: (() => void) | undefined;
  /** By item key, the TT_ID each item gets from the feed it was read for (`ticketIdOf`), where the reader worked them out. */
  ticketIds?: ReadonlyMap<string, string | undefined> | undefined;
};

const text = z
  .union([z.string(), z.number()])
  .transform((v) => String(v))
  .optional()
  .catch(undefined);

// RSS <category domain="…">x</category> comes back from xml2js as { _: "x", $: {…} }. An empty
// <category domain="…"/> comes back as { $: {…} }: it is dropped alone (as ""), not with all the others.
const category = z
  .union([z.string(), z.object({ _: z.string() }).transform((c) => c._)])
  .catch("");

/** Atom categories (`{ $: { term } }`), used when the item has no RSS categories. */
const atomCategory = z.union([z.object({ $: z.object({ term: z.string() }) }).transform((c) => c.$.term), z.unknown().transform(() => "")]);

const RawItem = z.object({
  title: text,
  link: text,
  guid: z.union([z.string(), z.object({ _: z.string() }).transform((g) => g._)]).optional().catch(undefined),
  id: text,
  content: text,
  contentSnippet: text,
  summary: text,
  description: text,
  creator: text,
  author: z.union([z.string(), z.object({ name: z.array(z.string()).min(1) }).transform((a) => a.name[0] ?? "")]).optional().catch(undefined),
  pubDate: text,
  isoDate: text,
  categories: z.array(category).optional().catch(undefined),
  updated: text,
  atomCategories: z.array(atomCategory).optional().catch(undefined),
});

// Atom's <category term="…"/> and <updated> are not read by rss-parser itself: asked for here.
// `defaultRSS: 2`: an <rss> element without a version attribute is read as RSS 2.0 (issue 11.4).
const newParser = (): Parser => new Parser({ defaultRSS: 2, customFields: { item: ["description", "id", ["category", "atomCategories", { keepArray: true }], "updated"] } });

/**
 * The document as a plain tree (xml2js with its defaults, as rss-parser reads it), for fields by
 * path. Read in parts of 64 KiB with the event loop turning between them (xml2js `async`): a 5 MB
 * feed is about a second of parsing, which stalled /health and the other feeds. A parser per
 * document, as an async parse keeps its state in the parser.
 */
const TURN_CHARS = 64 * 1024;
const treeParser = (inTurns: boolean): XmlParser => new XmlParser(inTurns ? { async: true, chunkSize: TURN_CHARS } : {});
const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

type TreeCallback = (e: unknown, tree: unknown) => void;

/**
 * rss-parser's reading of a tree xml2js already made: its `parseString` runs its own xml2js parser
 * (the same defaults) and then its builders; giving it the tree instead parses a document once,
 * not twice (half of a big poll's parse time). rss-parser 3.x keeps that parser in `xmlParser`.
 */
async function rssFromTree(tree: unknown): Promise<{ title?: string | undefined; items: unknown[] }> {
  const parser = newParser();
  (parser as unknown as { xmlParser: { parseString(xml: string, cb: TreeCallback): void } }).xmlParser = { parseString: (_xml, cb) => cb(null, tree) };
  return parser.parseString("");
}

/** Bounds on what one item's paths may add (a hostile feed cannot make an item huge). */
const MAX_PATH_KEYS = 300;
const MAX_PATH_DEPTH = 4;
const MAX_VALUES_PER_PATH = 100;


const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const textOf = (n: unknown): string | undefined => (typeof n === "string" ? n : isRecord(n) && typeof n._ === "string" ? n._ : undefined);
const NO_ATTRIBUTES: readonly (readonly [string, string])[] = [];
/** An element's attributes with text values, in document order (most elements have none: no allocation then). */
const attributesOf = (n: unknown): readonly (readonly [string, string])[] => {
  if (!isRecord(n) || !isRecord(n.$)) return NO_ATTRIBUTES;
  const attrs = n.$;
  const out: [string, string][] = [];
  for (const a of Object.keys(attrs)) {
    const v = attrs[a];
    if (typeof v === "string") out.push([a, v]);
  }
  return out;
};
const attrsOf = (n: unknown): Record<string, string> => Object.fromEntries(attributesOf(n));
/** Attribute values go into a key only when short and plain (rel="related", domain="severity"). */
const PLAIN_ATTRIBUTE = /[\]\s]/;

/**
 * Every element of an item under its path as written in the document: `content:encoded`,
 * `aws:details/aws:region`, `enclosure@url`, and per attribute a filtered form:
 * `link[rel=related]@href`, `category[domain=severity]`. Values of repeated elements are a list.
 */
export function itemPaths(node: unknown): Map<string, string[]> {
  const out = new Map<string, string[]>();
  const add = (key: string, value: string | undefined): void => {
    const v = value?.trim();
    if (v === undefined || v === "") return;
    const list = out.get(key);
    if (list) {
      if (list.length < MAX_VALUES_PER_PATH) list.push(v);
    } else if (out.size < MAX_PATH_KEYS) out.set(key, [v]);
  };
  const walk = (n: unknown, prefix: string, depth: number): void => {
    if (!isRecord(n) || depth > MAX_PATH_DEPTH) return;
    for (const name of Object.keys(n)) {
      const children = n[name];
      if (name === "$" || name === "_" || !Array.isArray(children)) continue;
      const path = prefix === "" ? name : `${prefix}/${name}`;
      for (const child of children as unknown[]) {
        const text = textOf(child);
        add(path, text);
        if (typeof child === "string") continue; // text only: no attributes, no children
        const attrs = attributesOf(child);
        for (const [a, v] of attrs) {
          add(`${path}@${a}`, v);
          if (v.length > 100 || PLAIN_ATTRIBUTE.test(v)) continue;
          add(`${path}[${a}=${v}]`, text);
          for (const [b, w] of attrs) if (b !== a) add(`${path}[${a}=${v}]@${b}`, w);
        }
        walk(child, path, depth + 1);
      }
    }
  };
  walk(node, "", 1);
  return out;
}

/** The raw item elements and channel fields of the document, in document order. */
function rawParts(tree: unknown): { items: unknown[]; channel: Record<string, string> } {
  const first = (v: unknown): unknown => (Array.isArray(v) ? (v as unknown[])[0] : undefined);
  const list = (v: unknown): unknown[] => (Array.isArray(v) ? (v as unknown[]) : []);
  if (!isRecord(tree)) return { items: [], channel: {} };
  const channel: Record<string, string> = {};
  const put = (key: string, v: unknown): void => {
    const t = textOf(v)?.trim();
    if (t) channel[key] = t;
  };
  if (isRecord(tree.feed)) {
    const feed = tree.feed;
    put("channel.title", first(feed.title));
    put("channel.id", first(feed.id));
    put("channel.description", first(feed.subtitle));
    const links = list(feed.link);
    const alternate = links.find((l) => (attrsOf(l).rel ?? "alternate") === "alternate") ?? links[0];
    const href = attrsOf(alternate).href;
    if (href) channel["channel.link"] = href;
    return { items: list(feed.entry), channel };
  }
  const root = isRecord(tree.rss) ? tree.rss : isRecord(tree["rdf:RDF"]) ? tree["rdf:RDF"] : undefined;
  if (!root) return { items: [], channel: {} };
  const ch = first(root.channel);
  if (isRecord(ch)) {
    put("channel.title", first(ch.title));
    put("channel.link", first(ch.link));
    put("channel.description", first(ch.description));
  }
  // RSS 0.9x/2.0 keep items in the channel; RSS 1.0 (RDF) beside it.
  return { items: isRecord(ch) && Array.isArray(ch.item) ? list(ch.item) : list(root.item), channel };
}


// One-shot crypto.hash: a third of createHash's cost, and it runs for every item of every poll.
const sha256 = (s: string): string => hash("sha256", s);

/** One item of a document as read alone: the item, or why it was skipped (see `finishItems`). */
export type ItemEntry = { item: FeedItem; cut: boolean } | { problem: ItemProblem };

/** A document's tree as both readers see it: rss-parser's items and title, and the raw elements. */
type ReadTree = { title: string | undefined; items: unknown[]; rawItems: unknown[]; channel: [string, string][]; aligned: boolean };

/** `inTurns`: read in parts with the event loop turning between them (see `treeParser`); a worker thread reads in one go. */
async function readTree(xml: string, inTurns = true): Promise<ReadTree> {
  // saxes builds xml2js' tree where the two read alike (./xml-tree.ts); xml2js reads the rest.
  const fast = inTurns ? await xml2jsTreeInTurns(xml, nextTurn, TURN_CHARS) : xml2jsTree(xml);
  const tree: unknown = fast ?? (await treeParser(inTurns).parseStringPromise(xml));
  const out = await rssFromTree(tree);
  const raw = rawParts(tree);
  // Both parsers read the same items in the same order; if not, paths are left out, not misattributed.
  const aligned = raw.items.length === out.items.length;
  return { title: out.title, items: out.items, rawItems: aligned ? raw.items : [], channel: Object.entries(raw.channel), aligned };
}

/** Each item of a read tree, in document order; `offset`: how many items of the document come before (for `#n` keys). */
function readEntries(read: ReadTree, maxItemChars: number, offset: number): ItemEntry[] {
  return read.items.map((rawItem, index) => readItem(rawItem, read.rawItems[index], read.channel, maxItemChars, offset + index));
}

function readItem(rawItem: unknown, rawNode: unknown, channel: readonly [string, string][], maxItemChars: number, index: number): ItemEntry {
  const parsed = RawItem.safeParse(rawItem);
  if (!parsed.success) return { problem: { key: `#${index + 1}`, message: `unreadable item: ${parsed.error.issues[0]?.message ?? "invalid"}` } };
  const { atomCategories, ...fields } = parsed.data;
  if (fields.categories === undefined && atomCategories !== undefined) fields.categories = atomCategories;
  const values: ItemValues = {};
  // The uncut values, made once a value is cut (most items have none): the fingerprint's.
  let whole: ItemValues | undefined;
  const clip = (v: string): string => (v.length > maxItemChars ? v.slice(0, maxItemChars) : v);
  const put = (name: string, value: string | string[] | undefined): void => {
    // "__proto__" is a legal XML name; as a key of a plain object it would not be a field.
    if (value === undefined || name === "__proto__" || Object.hasOwn(values, name)) return;
    let full: string | string[];
    let long = false;
    if (Array.isArray(value)) {
      const list: string[] = [];
      for (const v of value) {
        const t = v.trim();
        if (t === "") continue;
        list.push(t);
        long ||= t.length > maxItemChars;
      }
      full = list;
    } else {
      full = value.trim();
      if (full === "") return;
      long = full.length > maxItemChars;
    }
    if (long) whole ??= { ...values };
    if (whole) whole[name] = full;
    values[name] = !long ? full : Array.isArray(full) ? full.map(clip) : clip(full);
  };
  for (const name of Object.keys(fields) as (keyof typeof fields)[]) put(name, fields[name]);
  // Then every element by its path (rss-parser's names win where both exist), then the channel's.
  for (const [path, list] of itemPaths(rawNode)) put(path, list.length === 1 ? list[0] : list);
  for (const [name, value] of channel) put(name, value);
  const identity = first(values.guid) ?? first(values.id) ?? first(values.link);
  if (identity === undefined && values.title === undefined) return { problem: { key: `#${index + 1}`, message: "item has no guid, id, link or title: skipped" } };
  const key = identity ?? `sha256:${sha256(`${first(values.title) ?? ""}\n${first(values.pubDate) ?? ""}`).slice(0, 16)}`;
  // Fingerprint of the whole text: a change appended past the cut (RT appends history) still counts.
  return { item: { key, values, fingerprint: fingerprint(whole ?? values) }, cut: whole !== undefined };
}

/** The document's items from its entries, in order: a repeated identity is skipped, a cut item said. */
function finishItems(entries: readonly ItemEntry[], maxItemChars: number): { items: FeedItem[]; problems: ItemProblem[] } {
  const items: FeedItem[] = [];
  const problems: ItemProblem[] = [];
  const keys = new Set<string>();
  for (const entry of entries) {
    if ("problem" in entry) {
      problems.push(entry.problem);
      continue;
    }
    const { key } = entry.item;
    if (keys.has(key)) {
      problems.push({ key, message: "duplicate item identity in one document: later copy skipped" });
      continue;
    }
    keys.add(key);
    if (entry.cut) problems.push({ key, message: `item text longer than ${maxItemChars} characters: cut` });
    items.push(entry.item);
  }
  return { items, problems };
}

/** Parses RSS 0.9x/1.0/2.0 or Atom; `maxItemChars` caps each text value (a note is added per cut item). */
export async function parseFeed(xml: string, maxItemChars: number): Promise<Result<ParsedFeed, string>> {
  let read: ReadTree;
  try {
    read = await readTree(xml);
  } catch (e) {
    return err(describeParseError(e, xml));
  }
  return ok({ title: read.title, ...finishItems(readEntries(read, maxItemChars, 0), maxItemChars) });
}

/** One part of a document as read on its own (`readFeedPart`): what a worker sends back. */
export type PartReading = { title: string | undefined; entries: ItemEntry[]; aligned: boolean };

/** A part of a document (./split.ts) read as `parseFeed` reads a whole one, before `finishItems`; `offset`: items before the part. */
export async function readFeedPart(xml: string, maxItemChars: number, offset: number, inTurns = true): Promise<Result<PartReading, string>> {
  try {
    const read = await readTree(xml, inTurns);
    return ok({ title: read.title, entries: readEntries(read, maxItemChars, offset), aligned: read.aligned });
  } catch (e) {
    return err(describeParseError(e, xml));
  }
}

/**
 * `parseFeed` with the document cut into `count` parts (./split.ts) that `readPart` reads (on
 * worker threads, side by side): the same result. The document is read whole, here, when it cannot
 * be cut, when a part cannot be read (so the error is the whole document's), or when a part's two
 * readings do not line up (`parseFeed` then leaves out every item's paths, not only that part's).
 */
export async function parseFeedInParts(
  xml: string,
  maxItemChars: number,
  count: number,
  readPart: (text: string, offset: number) => Promise<Result<PartReading, string>>,
): Promise<Result<ParsedFeed, string>> {
  let parts: ReturnType<typeof splitFeedDocument>;
  try {
    parts = splitFeedDocument(xml, count);
  } catch {
    parts = undefined; // should not happen; the whole reading says what is wrong with the document
  }
  if (!parts || parts.length < 2) return parseFeed(xml, maxItemChars);
  const readings = await Promise.all(parts.map((p) => readPart(p.text, p.offset).catch((e: unknown) => err(String(e)))));
  const entries: ItemEntry[] = [];
  let title: string | undefined;
  for (const [k, r] of readings.entries()) {
    if (!r.ok || !r.value.aligned || (k > 0 && r.value.title !== title)) return parseFeed(xml, maxItemChars);
    title = r.value.title;
    for (const e of r.value.entries) entries.push(e);
  }
  return ok({ title, ...finishItems(entries, maxItemChars) });
}

function first(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

/**
 * Canonical hash of the item's values (sorted keys) so that reordering does not look like a change.
 * Each key, value and list element goes in with its length before it, so the text stands for one
 * set of values only; built by appending, not by JSON.stringify, whose escaping took half of the
 * cost (≈10 µs an item, run on every item of every poll).
 */
export function fingerprint(values: ItemValues): string {
  let text = "";
  for (const k of Object.keys(values).sort()) {
    const v = values[k];
    if (v === undefined) continue;
    text += `${k.length}:${k}`;
    if (typeof v === "string") text += `=${v.length}:${v}`;
    else {
      text += `*${v.length}`;
      for (const e of v) text += `:${e.length}:${e}`;
    }
  }
  return sha256(text).slice(0, 32);
}

/** A specific reason instead of xml2js' raw message: truncated XML, HTML page, empty body… */
function describeParseError(e: unknown, xml: string): string {
  const detail = e instanceof Error ? e.message.split("\n")[0] ?? e.message : String(e);
  const head = xml.trimStart().slice(0, 200).toLowerCase();
  if (xml.trim() === "") return "empty document";
  if (head.startsWith("<!doctype html") || head.startsWith("<html")) return "got an HTML page, not an RSS/Atom feed";
  if (head.startsWith("{") || head.startsWith("[")) return "got JSON, not an RSS/Atom feed";
  if (/not recognized as rss/i.test(detail)) return `XML is not an RSS or Atom feed (${detail})`;
  if (/unclosed root tag|unexpected end/i.test(detail)) return `XML is truncated or malformed (${detail})`;
  return `XML could not be parsed (${detail})`;
}
