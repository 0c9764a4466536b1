/**
 * A translation worker (node:worker_threads), started by ./workers.ts: feed items in, their
 * translations out, the same pure `translateItem` the bot runs in its own thread. The per-field
 * trace is left out (only `replay` shows it, and it would be most of what is copied back). It also
 * reads parts of a big feed document (`readFeedPart`), as the bot's thread would read the whole.
 */
import { parentPort } from "node:worker_threads";
import type { FeedConfig } from "../../config/schema.js";
import { readFeedPart, type FeedItem, type PartReading } from "../sources/feed/parse.js";
import { changeHash } from "../model/ticket.js";
import { feedTicketIdOf, translateItem } from "./item-to-ticket.js";
import type { TranslateProblem, Translation } from "./values-to-ticket.js";
import { ok, type Result } from "../util/result.js";

/**
 * Items to translate: sent (`items`), or named among those this thread read and holds (`held`:
 * positions in a held part's entries), so a document read here is not copied back for translating.
 */
export type TranslateTask = { kind: "translate"; id: number; feed: FeedConfig; now: number; items?: FeedItem[]; held?: { part: number; positions: number[] } };
/**
 * The part's items are kept (by the task's id) for translate tasks that name them, until released.
 * `ids`: also work out each item's TT_ID for this feed (`feedTicketIdOf`).
 */
export type ReadPartTask = { kind: "read"; id: number; text: string; maxItemChars: number; offset: number; ids?: { feed: FeedConfig; now: number } | undefined };
export type ReleaseTask = { kind: "release"; id: number; parts: number[] };
export type WorkerTask = TranslateTask | ReadPartTask | ReleaseTask;
/**
 * A translation as sent back: an accepted ticket as its JSON text, which crosses as one copy and is
 * parsed back in less than half the time a ticket's objects take to clone field by field (a ticket
 * has no undefined members, which JSON would drop: the translator never sets one).
 */
export type WireTranslation = Omit<Translation, "result"> & { result: Result<string, TranslateProblem[]> };
export type TranslateReply = { id: number; ok: true; translations: WireTranslation[] } | { id: number; ok: false; error: string };
/**
 * `reading`: the part's reading, or why the part cannot be read (a document error, for the whole
 * document to tell); `ids`: by entry, the item's TT_ID (null: none, or not an item), when asked.
 */
export type ReadPartReply = { id: number; ok: true; reading: Result<PartReading, string>; ids?: (string | null)[] } | { id: number; ok: false; error: string };

/**
 * Parts read here and kept, by read task id: each part's entries, an item where the entry is one.
 * Bounded: the oldest goes first (a task naming it then fails, and the bot translates those itself).
 */
const heldParts = new Map<number, (FeedItem | undefined)[]>();
const MAX_HELD_PARTS = 64;

function itemsOf(task: TranslateTask): FeedItem[] {
  if (task.items) return task.items;
  const { part, positions } = task.held ?? { part: -1, positions: [] };
  const held = heldParts.get(part);
  if (!held) throw new Error(`part ${part} is not held here (released or dropped)`);
  return positions.map((p) => {
    const item = held[p];
    if (!item) throw new Error(`part ${part} has no item at ${p}`);
    return item;
  });
}

function translate(task: TranslateTask): TranslateReply {
  const now = new Date(task.now);
  const translations = itemsOf(task).map((item): WireTranslation => {
    const t = translateItem(item, task.feed, now, false);
    if (!t.result.ok) return { result: t.result, warnings: t.warnings, trace: [] };
    // The intake's change hash too: the bot's thread would spend ≈20 µs per ticket on it.
    return { result: ok(JSON.stringify(t.result.value)), warnings: t.warnings, trace: [], hash: changeHash(t.result.value) };
  });
  return { id: task.id, ok: true, translations };
}

async function read(task: ReadPartTask): Promise<ReadPartReply> {
  // In one go: this thread has nothing else to do meanwhile, and each part's reply then goes as soon
  // as it is read (read in turns, all the parts given were read side by side and came back together).
  const reading = await readFeedPart(task.text, task.maxItemChars, task.offset, false);
  if (reading.ok) {
    heldParts.set(
      task.id,
      reading.value.entries.map((e) => ("item" in e ? e.item : undefined)),
    );
    for (const oldest of heldParts.keys()) {
      if (heldParts.size <= MAX_HELD_PARTS) break;
      heldParts.delete(oldest);
    }
  }
  const { ids } = task;
  if (!ids || !reading.ok) return { id: task.id, ok: true, reading };
  const now = new Date(ids.now);
  return { id: task.id, ok: true, reading, ids: reading.value.entries.map((e) => ("item" in e ? (feedTicketIdOf(e.item, ids.feed, now) ?? null) : null)) };
}

const port = parentPort;
if (port) {
  port.on("message", (task: WorkerTask) => {
    const failed = (e: unknown): TranslateReply => ({ id: task.id, ok: false, error: e instanceof Error ? (e.stack ?? e.message) : String(e) });
    if (task.kind === "release") {
      for (const part of task.parts) heldParts.delete(part);
      return;
    }
    if (task.kind === "read") {
      read(task).then(
        (reply) => port.postMessage(reply),
        (e: unknown) => port.postMessage(failed(e)),
      );
      return;
    }
    let reply: TranslateReply;
    try {
      reply = translate(task);
    } catch (e) {
      reply = failed(e);
    }
    port.postMessage(reply);
  });
}
