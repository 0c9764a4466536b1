/**
 * One successful poll of one feed → the batch the intake takes (pure): which items are new or
 * changed since the last poll, each turned into a ticket version by the feed's mapping rules, and
 * the feed's next state. Items the mapping cannot turn into a ticket are remembered as rejected,
 * so they are logged once, not at every poll.
 */
import { createHash } from "node:crypto";
import type { Config, FeedConfig } from "../../../config/schema.js";
import { defaultCorrelationConfig } from "../../correlate/engine.js";
import { IncidentBook } from "../../intake/incidents.js";
import { planIntake } from "../../intake/plan.js";
import type { LogLine } from "../../log/logger.js";
import type { Actor, TicketActivity } from "../../model/activity.js";
import type { TicketField } from "../../model/ticket.js";
import type { RenderOptions } from "../../render/ticket-message.js";
import { emptyStore, type OutboxEntry, type StoredTicket } from "../../store/types.js";
import { finishTranslation, startTranslation, translateSome, translateSomeWith, type TranslationWork } from "../../translate/item-to-ticket.js";
import type { Translation } from "../../translate/values-to-ticket.js";
import type { SourceBatch, TicketVersion } from "../types.js";
import type { Validators } from "./http.js";
import type { FeedItem, ItemProblem } from "./parse.js";
import { diffItems, rejectedMarker, type FeedState } from "./state.js";

export type { LogLine } from "../../log/logger.js";
export { changeHash } from "../../intake/plan.js";
export { outboxId } from "../../intake/announce.js";

/** A feed's batch carries its next state. */
export type FeedBatch = SourceBatch & { state: FeedState };

/** A new mapping (or new date settings, or a new id policy) may now accept items it rejected before. */
export const mappingHash = (feed: FeedConfig): string =>
  createHash("sha256").update(JSON.stringify([feed.partnerId, feed.mapping, feed.dates ?? null, feed.itemsPerTicket ?? null])).digest("hex").slice(0, 16);

/**
 * Fields the stored ticket keeps when the feed's next version comes, unless the feed maps them:
 * - feeds re-date an item when it changes: the ticket was opened (RFC 6137 §3.2.4.7) and the fault
 *   started (§3.2.5.5) when we first saw it, not at its latest pubDate;
 * - a value the feed never carries is only a stand-in ("Opened", "Unknown"): it must not undo what
 *   an engineer set from the room (an `!update` that made it Updated is not "Updated → Opened").
 */
export function firstValueFields(feed: FeedConfig): TicketField[] {
  const standIns = ["TT_Open_Datetime", "Start_Datetime", "TT_Status", "TT_Close_Datetime", "End_Datetime", "TT_Type", "Type", "TT_Short_Description", "TT_Impact_Assessment", "Location"] as const;
  return standIns.filter((f) => feed.mapping[f] === undefined);
}

/** What planning a poll's batch takes: the feed, its state, the document's items and problems, the response's validators, the time. */
type PlanInput = [feed: FeedConfig, state: FeedState, items: readonly FeedItem[], itemProblems: readonly ItemProblem[], validators: Validators, now: Date];

export function planFeedBatch(...[feed, state, items, itemProblems, validators, now]: PlanInput): FeedBatch {
  const start = startFeedBatch(feed, state, items, validators, now);
  translateSome(start.work, items);
  return finishFeedBatch(start, items, itemProblems);
}

/** What `planFeedBatch` works out before translating the items (see `planFeedBatchInParts`). */
type FeedBatchStart = { feed: FeedConfig; diff: ReturnType<typeof diffItems>; touched: FeedItem[]; work: TranslationWork };

function startFeedBatch(feed: FeedConfig, state: FeedState, items: readonly FeedItem[], validators: Validators, now: Date): FeedBatchStart {
  const diff = diffItems(state, items, validators, now, mappingHash(feed));
  // Feeds list newest first; oldest first makes a ticket's creation precede its updates.
  const touched = [...diff.fresh, ...diff.changed].reverse();
  // Every item of the document, so that two items never become one ticket unseen (issue 11.1).
  return { feed, diff, touched, work: startTranslation(feed, now, new Set(touched.map((i) => i.key))) };
}

/** Items translated per part by `planFeedBatchInParts` (about 0.1–0.4 ms each). */
export const TRANSLATE_PART = 500;

/**
 * `planFeedBatch` with `pause()` awaited after every `TRANSLATE_PART` items: a big document is
 * translated in parts and the event loop turns between them (/health, echoes, other feeds).
 * Same batch as `planFeedBatch`.
 */
export async function planFeedBatchInParts(...[feed, state, items, itemProblems, validators, now, pause]: [...PlanInput, pause: () => Promise<void>]): Promise<FeedBatch> {
  const start = startFeedBatch(feed, state, items, validators, now);
  for (let from = 0; from < items.length; from += TRANSLATE_PART) {
    translateSome(start.work, items.slice(from, from + TRANSLATE_PART));
    await pause();
  }
  return finishFeedBatch(start, items, itemProblems);
}

/**
 * `planFeedBatch` with the items translated by `translate` (worker threads for a big document,
 * src/translate/workers.ts), awaited: this thread is free meanwhile. Same batch as `planFeedBatch`.
 */
export async function planFeedBatchWith(...[feed, state, items, itemProblems, validators, now, translate]: [...PlanInput, translate: (items: readonly FeedItem[]) => Promise<Translation[]>]): Promise<FeedBatch> {
  const start = startFeedBatch(feed, state, items, validators, now);
  await translateSomeWith(start.work, items, translate);
  return finishFeedBatch(start, items, itemProblems);
}

function finishFeedBatch(start: FeedBatchStart, items: readonly FeedItem[], itemProblems: readonly ItemProblem[]): FeedBatch {
  const { feed, diff, touched } = start;
  const logs: LogLine[] = itemProblems.map((p) => ({ level: "warn", msg: "feed item problem", fields: { feed: feed.id, item: p.key, problem: p.message } }));
  const versions: TicketVersion[] = [];
  const keepFirst = firstValueFields(feed);
  const poll = finishTranslation(start.work, items);
  for (const p of poll.problems) logs.push({ level: p.level, msg: "feed item problem", fields: { feed: feed.id, item: p.key, problem: p.message } });
  for (const item of touched) {
    const translated = poll.byKey.get(item.key);
    if (translated === undefined) continue;
    if (!translated.ok) {
      // Remembered as rejected: not logged again until the item or the feed's mapping changes.
      const entry = diff.next.seen[item.key];
      if (entry) entry.fp = rejectedMarker(item.fingerprint);
      for (const problem of translated.error)
        logs.push({
          level: "warn",
          msg: "feed item not turned into a ticket",
          fields: { feed: feed.id, item: item.key, link: item.values.link, field: problem.field, problem: problem.message },
        });
      continue;
    }
    const link = typeof item.values.link === "string" ? item.values.link : undefined;
    versions.push({
      ticket: translated.value,
      provenance: { source: feed.id, item: item.key, published: translated.value.TT_Last_Update_Time },
      ...(link ? { link } : {}),
      keepFirst,
    });
  }
  return {
    source: feed.id,
    versions,
    state: diff.next,
    logs,
    logFields: { feed: feed.id },
    ...(diff.firstPoll ? { firstContact: { label: feed.id } } : {}),
  };
}

export type PollContext = {
  feed: FeedConfig;
  routes: Config["routes"];
  actor: Actor;
  render: RenderOptions;
  now: Date;
  /** Correlation into incidents and threading; a fresh book when not given. */
  incidents?: IncidentBook | undefined;
};

export type PollPlan = {
  feedState: FeedState;
  tickets: StoredTicket[];
  outbox: OutboxEntry[];
  activities: TicketActivity[];
  logs: LogLine[];
};

/**
 * A feed poll planned through the intake without a store (for `replay` and tests): what the poll
 * would store and post, given what is `known`. The incident book follows the plan, as after a commit.
 */
export function planPoll(
  ctx: PollContext,
  state: FeedState,
  items: readonly FeedItem[],
  itemProblems: readonly ItemProblem[],
  validators: Validators,
  known: (ttId: string) => StoredTicket | undefined,
): PollPlan {
  const batch = planFeedBatch(ctx.feed, state, items, itemProblems, validators, ctx.now);
  const incidents = ctx.incidents ?? new IncidentBook(emptyStore(), defaultCorrelationConfig);
  const plan = planIntake({ routes: ctx.routes, actor: ctx.actor, render: ctx.render, now: ctx.now, incidents, lookup: known }, batch);
  plan.applyIncidents();
  return { feedState: batch.state, tickets: plan.tickets, outbox: plan.outbox, activities: plan.activities, logs: plan.logs };
}
