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
import { translateItem } from "./item-to-ticket.js";
import type { Translation } from "./values-to-ticket.js";
import type { Result } from "../util/result.js";

export type TranslateTask = { kind: "translate"; id: number; feed: FeedConfig; now: number; items: FeedItem[] };
export type ReadPartTask = { kind: "read"; id: number; text: string; maxItemChars: number; offset: number };
export type WorkerTask = TranslateTask | ReadPartTask;
export type TranslateReply = { id: number; ok: true; translations: Translation[] } | { id: number; ok: false; error: string };
/** `reading`: the part's reading, or why the part cannot be read (a document error, for the whole document to tell). */
export type ReadPartReply = { id: number; ok: true; reading: Result<PartReading, string> } | { id: number; ok: false; error: string };

function translate(task: TranslateTask): TranslateReply {
  const now = new Date(task.now);
  const translations = task.items.map((item): Translation => {
    const t = translateItem(item, task.feed, now);
    // The intake's change hash too: the bot's thread would spend ≈20 µs per ticket on it.
    return { result: t.result, warnings: t.warnings, trace: [], ...(t.result.ok ? { hash: changeHash(t.result.value) } : {}) };
  });
  return { id: task.id, ok: true, translations };
}

async function read(task: ReadPartTask): Promise<ReadPartReply> {
  return { id: task.id, ok: true, reading: await readFeedPart(task.text, task.maxItemChars, task.offset) };
}

const port = parentPort;
if (port) {
  port.on("message", (task: WorkerTask) => {
    const failed = (e: unknown): TranslateReply => ({ id: task.id, ok: false, error: e instanceof Error ? (e.stack ?? e.message) : String(e) });
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
