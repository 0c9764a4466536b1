/**
 * Feed document → normalised items (pure apart from rss-parser's in-memory XML parse).
 * Everything rss-parser hands back is re-validated with zod: feeds come from other organisations.
 */
import Parser from "rss-parser";
import { createHash } from "node:crypto";
import { z } from "zod";
import type { ItemField } from "../../../config/schema.js";
import { ok, err, type Result } from "../../util/result.js";

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
const parser = new Parser({ customFields: { item: ["description", "id", ["category", "atomCategories", { keepArray: true }], "updated"] } });


const sha256 = (s: string): string => createHash("sha256").update(s).digest("hex");

/** Parses RSS 0.9x/1.0/2.0 or Atom; `maxItemChars` caps each text value (a note is added per cut item). */
export async function parseFeed(xml: string, maxItemChars: number): Promise<Result<ParsedFeed, string>> {
  let out: { title?: string | undefined; items: unknown[] };
  try {
    out = await parser.parseString(xml);
  } catch (e) {
    return err(describeParseError(e, xml));
  }
  const items: FeedItem[] = [];
  const problems: ItemProblem[] = [];
  const keys = new Set<string>();
  out.items.forEach((rawItem, index) => {
    const parsed = RawItem.safeParse(rawItem);
    if (!parsed.success) {
      problems.push({ key: `#${index + 1}`, message: `unreadable item: ${parsed.error.issues[0]?.message ?? "invalid"}` });
      return;
    }
    const { atomCategories, ...fields } = parsed.data;
    if (fields.categories === undefined && atomCategories !== undefined) fields.categories = atomCategories;
    const values: ItemValues = {};
    const whole: ItemValues = {};
    let cut = false;
    for (const [name, value] of Object.entries(fields) as [ItemField, string | string[] | undefined][]) {
      if (value === undefined) continue;
      if (Array.isArray(value)) {
        values[name] = whole[name] = value.map((v) => v.trim()).filter((v) => v !== "");
      } else {
        const trimmed = value.trim();
        if (trimmed === "") continue;
        cut ||= trimmed.length > maxItemChars;
        whole[name] = trimmed;
        values[name] = trimmed.length > maxItemChars ? trimmed.slice(0, maxItemChars) : trimmed;
      }
    }
    const identity = first(values.guid) ?? first(values.id) ?? first(values.link);
    const key = identity ?? `sha256:${sha256(`${first(values.title) ?? ""}\n${first(values.pubDate) ?? ""}`).slice(0, 16)}`;
    if (identity === undefined && values.title === undefined) {
      problems.push({ key: `#${index + 1}`, message: "item has no guid, id, link or title: skipped" });
      return;
    }
    if (keys.has(key)) {
      problems.push({ key, message: "duplicate item identity in one document: later copy skipped" });
      return;
    }
    keys.add(key);
    if (cut) problems.push({ key, message: `item text longer than ${maxItemChars} characters: cut` });
    // Fingerprint of the whole text: a change appended past the cut (RT appends history) still counts.
    items.push({ key, values, fingerprint: fingerprint(whole) });
  });
  return ok({ title: out.title, items, problems });
}

function first(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

/** Canonical hash of the item's values (sorted keys) so that reordering does not look like a change. */
export function fingerprint(values: ItemValues): string {
  const canonical = Object.keys(values)
    .sort()
    .map((k) => [k, values[k as ItemField]]);
  return sha256(JSON.stringify(canonical)).slice(0, 32);
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
