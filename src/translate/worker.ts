/**
 * A translation worker (node:worker_threads), started by ./workers.ts: feed items in, their
 * translations out, the same pure `translateItem` the bot runs in its own thread. The per-field
 * trace is left out (only `replay` shows it, and it would be most of what is copied back).
 */
import { parentPort } from "node:worker_threads";
import type { FeedConfig } from "../../config/schema.js";
import type { FeedItem } from "../sources/feed/parse.js";
import { changeHash } from "../model/ticket.js";
import { translateItem } from "./item-to-ticket.js";
import type { Translation } from "./values-to-ticket.js";

export type TranslateTask = { id: number; feed: FeedConfig; now: number; items: FeedItem[] };
export type TranslateReply = { id: number; ok: true; translations: Translation[] } | { id: number; ok: false; error: string };

const port = parentPort;
if (port) {
  port.on("message", (task: TranslateTask) => {
    let reply: TranslateReply;
    try {
      const now = new Date(task.now);
      const translations = task.items.map((item): Translation => {
        const t = translateItem(item, task.feed, now);
        // The intake's change hash too: the bot's thread would spend ≈20 µs per ticket on it.
        return { result: t.result, warnings: t.warnings, trace: [], ...(t.result.ok ? { hash: changeHash(t.result.value) } : {}) };
      });
      reply = { id: task.id, ok: true, translations };
    } catch (e) {
      reply = { id: task.id, ok: false, error: e instanceof Error ? (e.stack ?? e.message) : String(e) };
    }
    port.postMessage(reply);
  });
}
