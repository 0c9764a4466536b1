/**
 * Feed item → NTTDM ticket (pure). Each NOC words its feed differently, so the feed's mapping rules
 * (config) decide where each field comes from; the built-in rules below fill what a plain RSS or
 * Atom feed has. The work is done by the generic translator (values-to-ticket.ts), which mail and
 * webhook sources share.
 */
import { MappingRule, type FeedConfig, type MappingRuleInput } from "../../config/schema.js";
import type { FeedItem } from "../sources/feed/parse.js";
import { makeTicketId, type Ticket, type TicketField } from "../model/ticket.js";
import { ok, err, type Result } from "../util/result.js";
import { sanitiseIdPart, ticketIdOf, valuesToTicket, type TranslateOptions, type TranslateProblem, type Translation } from "./values-to-ticket.js";

export { canonicalClosedValue, sanitiseIdPart, type TranslateProblem } from "./values-to-ticket.js";

const rule = (input: MappingRuleInput): MappingRule => MappingRule.parse(input);

/** A ticket-number query parameter of a guid/link URL: `…/Ticket/Display.html?id=1234` gives 1234. */
const QUERY_ID = "[?&](?:id|tt|ticket|ticket_id|ticketid)=([A-Za-z0-9][A-Za-z0-9._:-]*)";
/**
 * Else the last path segment of a guid or link WITHOUT a query or fragment (`…/tt/1043` → 1043,
 * `tag:noc.example.net,2026:tt/88` → 88). A URL with a query (`…/incidents/x?rss=1`) is used whole:
 * its last segment may be the same for every item (issue 11.1: 69 items became ticket "1").
 */
const PLAIN_TAIL = "^[^?#]*?([A-Za-z0-9][A-Za-z0-9._:-]*)/*$";
/** The whole value, without the scheme (`https://`), which only makes the id longer. */
const WHOLE = "^(?:https?://)?(.+)$";

const idRules = (from: string): MappingRule[] => [rule({ from, regex: QUERY_ID }), rule({ from, regex: PLAIN_TAIL }), rule({ from, regex: WHOLE })];

/**
 * What a feed with no mapping gets. Values the RFC has for "we do not know" (Undefined Problem,
 * Unknown) stand in for mandatory fields a plain feed cannot carry. Original_ID is stable and
 * unique per item: from the guid, else the Atom id, else the link, else a hash of title and date.
 */
export const DEFAULT_MAPPING: Partial<Record<TicketField, MappingRule[]>> = {
  Original_ID: [...idRules("guid"), ...idRules("id"), ...idRules("link"), rule({ template: "{title?}\n{pubDate?}", hash: true })],
  TT_Title: [rule({ from: "title", html: "entities" })],
  // Feeds carry HTML (`<br><a>`, `&#x0024;`): read as text.
  TT_Long_Description: [
    rule({ from: "content:encoded", html: true }),
    rule({ from: "content", html: true }),
    rule({ from: "description", html: true }),
    rule({ from: "summary", html: true }),
  ],
  TT_Open_Datetime: [rule({ from: "isoDate" }), rule({ from: "pubDate" }), rule({ from: "dc:date" })],
  // Atom says when an entry last changed (<updated>); RSS only when it was published.
  TT_Last_Update_Time: [rule({ from: "updated" }), rule({ from: "isoDate" }), rule({ from: "pubDate" }), rule({ from: "dc:date" })],
  TT_Status: [rule({ value: "Opened" })],
  TT_Type: [rule({ value: "Operational" })],
  Type: [rule({ value: "Unscheduled" })],
  TT_Short_Description: [rule({ value: "Undefined Problem" })],
  TT_Impact_Assessment: [rule({ value: "Unknown" })],
  Location: [rule({ value: "Unknown" })],
  History: [rule({ value: "" })],
};

const optionsFor = (feed: FeedConfig, now: Date, traced = true): TranslateOptions => ({ partnerId: feed.partnerId, now, defaults: DEFAULT_MAPPING, dates: feed.dates, sourceLabel: `feed ${feed.id}`, traced });

/**
 * The whole translation of one item: result, warnings and the per-field trace (for `replay`);
 * `traced`: false for an empty trace (the intake keeps none, and making it was a sixth of the work).
 */
export function translateItem(item: FeedItem, feed: FeedConfig, now: Date, traced = true): Translation {
  return valuesToTicket(item.values, feed.mapping, optionsFor(feed, now, traced));
}

/** Only the TT_ID the item would get (`ticketIdOf`): undefined when none, or when only a whole translation can tell. */
export function feedTicketIdOf(item: FeedItem, feed: FeedConfig, now: Date): string | undefined {
  return ticketIdOf(item.values, feed.mapping, optionsFor(feed, now));
}

export function itemToTicket(item: FeedItem, feed: FeedConfig, now: Date): Result<Ticket, TranslateProblem[]> {
  return translateItem(item, feed, now, false).result;
}

/** One item's outcome in a poll. */
export type ItemTranslation = { item: FeedItem; translation: Translation };

/** A line to log for an item (the planner logs these with the feed's id). */
export type PollItemProblem = { key: string; message: string; level: "warn" };

export type TranslatedPoll = {
  /** By item key: what the planner should do with each item. */
  byKey: Map<string, Result<Ticket, TranslateProblem[]>>;
  items: ItemTranslation[];
  problems: PollItemProblem[];
};

/**
 * Translates every item of one poll and makes sure no two become the same ticket without a word
 * (issue 11.1). With the built-in Original_ID rules a clash is resolved by giving the clashing
 * items their whole identity (guid, id or link) as Original_ID, all but the last in the document
 * (the oldest in a newest-first feed), which keeps the short id; with the feed's own Original_ID
 * rule only that last item is used and the others are skipped. Either way the items are named in a warning.
 * Items that are neither new nor changed (not in `touched`) are only asked for their ticket id.
 */
export function translateItems(items: readonly FeedItem[], feed: FeedConfig, now: Date, touched?: ReadonlySet<string>): TranslatedPoll {
  const work = startTranslation(feed, now, touched);
  translateSome(work, items);
  return finishTranslation(work, items);
}

/** Items translated so far (`translateSome`), before the clash check (`finishTranslation`). */
export type TranslationWork = {
  feed: FeedConfig;
  now: Date;
  touched: ReadonlySet<string> | undefined;
  options: ReturnType<typeof optionsFor>;
  translated: ItemTranslation[];
  idOnly: { item: FeedItem; ttId: string }[];
};

/**
 * `translateItems` in steps, so an adapter can let other work run between parts of a big document
 * (a first poll of 50k items took 20 s in one go, with /health and the other feeds stalled): start,
 * translate the items part by part in document order, then finish. Same result as `translateItems`.
 */
export function startTranslation(feed: FeedConfig, now: Date, touched?: ReadonlySet<string>, traced = true): TranslationWork {
  return { feed, now, touched, options: optionsFor(feed, now, traced), translated: [], idOnly: [] };
}

export function translateSome(work: TranslationWork, items: readonly FeedItem[]): void {
  for (const item of itemsToTranslate(work, items)) work.translated.push({ item, translation: valuesToTicket(item.values, work.feed.mapping, work.options) });
}

/**
 * `translateSome` with the translating done by `translate` (worker threads, ./workers.ts), which
 * must give one translation per item, in order. Same work, same result.
 */
export async function translateSomeWith(work: TranslationWork, items: readonly FeedItem[], translate: (items: readonly FeedItem[]) => Promise<Translation[]>): Promise<void> {
  const todo = itemsToTranslate(work, items);
  const translations = await translate(todo);
  if (translations.length !== todo.length) throw new Error(`${translations.length} translations for ${todo.length} items`);
  todo.forEach((item, i) => work.translated.push({ item, translation: translations[i] as Translation }));
}

/** Items neither new nor changed are only asked for their ticket id (for the clash check in `finishTranslation`); the rest are returned. */
function itemsToTranslate(work: TranslationWork, items: readonly FeedItem[]): FeedItem[] {
  const { feed, touched, options } = work;
  const todo: FeedItem[] = [];
  for (const item of items) {
    const ttId = touched !== undefined && !touched.has(item.key) ? ticketIdOf(item.values, feed.mapping, options) : undefined;
    if (ttId !== undefined) work.idOnly.push({ item, ttId });
    else todo.push(item);
  }
  return todo;
}

/** The clash check over every item of the document (all of them must have gone through `translateSome`). */
export function finishTranslation(work: TranslationWork, items: readonly FeedItem[]): TranslatedPoll {
  const { feed, touched, translated, idOnly } = work;
  // Warnings are for items that are new or changed in this poll: the others were told before.
  const tell = (keys: readonly string[]): boolean => touched === undefined || keys.some((k) => touched.has(k));
  const byKey = new Map<string, Result<Ticket, TranslateProblem[]>>();
  const problems: PollItemProblem[] = [];
  for (const t of translated) {
    byKey.set(t.item.key, t.translation.result);
    if (tell([t.item.key])) for (const w of t.translation.warnings) problems.push({ key: t.item.key, level: "warn", message: `${w.field}: ${w.message}` });
  }
  type Entry = { item: FeedItem; translation?: Translation | undefined };
  const byId = new Map<string, Entry[]>();
  const position = new Map(items.map((item, i) => [item.key, i]));
  for (const t of translated) {
    if (!t.translation.result.ok) continue;
    const id = t.translation.result.value.TT_ID;
    const group = byId.get(id);
    if (group) group.push(t);
    else byId.set(id, [t]);
  }
  for (const t of idOnly) {
    const group = byId.get(t.ttId);
    if (group) group.push({ item: t.item });
    else byId.set(t.ttId, [{ item: t.item }]);
  }
  // Document order decides which item is "the later one".
  for (const group of byId.values()) group.sort((a, b) => (position.get(a.item.key) ?? 0) - (position.get(b.item.key) ?? 0));
  const defaultIds = feed.mapping.Original_ID === undefined;
  for (const [id, group] of byId) {
    // A changes feed says so (itemsPerTicket "many"): its items are versions of one ticket.
    if (group.length < 2 || feed.itemsPerTicket === "many") continue;
    const keys = group.map((g) => g.item.key);
    if (defaultIds) {
      // Feeds list the newest first: the last item in the document is the oldest, which most
      // likely had the short id before the others appeared, so it keeps it.
      for (const g of group.slice(0, -1)) {
        if (!g.translation?.result.ok) continue;
        const originalId = sanitiseIdPart(g.item.key.replace(/^https?:\/\//i, ""));
        const ticket: Ticket = { ...g.translation.result.value, Original_ID: originalId, TT_ID: makeTicketId(feed.partnerId, originalId) };
        byKey.set(g.item.key, ok(ticket));
      }
      if (tell(keys))
        problems.push({
          key: keys[0] ?? "",
          level: "warn",
          message: `items ${keys.join(", ")} all gave ${id}: kept apart, ${keys.at(-1) ?? ""} keeps ${id}, the others get their whole identity as Original_ID (map Original_ID to choose)`,
        });
    } else {
      // The oldest (last in a newest-first document) keeps the ticket; the later ones are skipped.
      const keeper = keys.at(-1) ?? "";
      for (const g of group.slice(0, -1)) {
        if (g.translation === undefined) continue; // not in this poll's work: nothing to skip
        byKey.set(g.item.key, err([{ field: "Original_ID", message: `${id} is also the ticket of item ${keeper} in this document: skipped (make the Original_ID rule unique per item)` }]));
      }
      if (tell(keys)) problems.push({ key: keys[0] ?? "", level: "warn", message: `items ${keys.join(", ")} all gave ${id}: only ${keeper} is used (make the Original_ID rule unique per item)` });
    }
  }
  return { byKey, items: translated, problems };
}
