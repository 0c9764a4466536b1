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
import type { Ticket, TicketField } from "../../model/ticket.js";
import type { RenderOptions } from "../../render/ticket-message.js";
import { emptyStore, type OutboxEntry, type StoredTicket } from "../../store/types.js";
import { finishTranslation, startTranslation, translateItem, translateSome, translateSomeWith, type PollItemProblem, type TranslationWork } from "../../translate/item-to-ticket.js";
import { ticketIdOf, type TranslateProblem, type Translation } from "../../translate/values-to-ticket.js";
import type { TranslationTask } from "../../translate/workers.js";
import type { Result } from "../../util/result.js";
import type { SourceBatch, StreamedBatch, TicketVersion } from "../types.js";
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
  return { feed, diff, touched, work: startTranslation(feed, now, new Set(touched.map((i) => i.key)), false) };
}

/**
 * Items `planFeedBatchStreamed` keeps handed to the translator beyond the task it plans: at least
 * this many, handed in windows of at least this many (so up to about twice as many).
 */
export const TRANSLATE_AHEAD = 4_000;

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
  // The workers bring each ticket's change hash: passed on with the versions.
  return finishFeedBatch(start, items, itemProblems, translationsByKey(start.work));
}

/** `own`: the translations by item key, where they bring change hashes to pass on (see `hashOf`). */
function finishFeedBatch(start: FeedBatchStart, items: readonly FeedItem[], itemProblems: readonly ItemProblem[], own?: ReadonlyMap<string, Translation>): FeedBatch {
  const { feed, diff, touched } = start;
  const versions: TicketVersion[] = [];
  const keepFirst = firstValueFields(feed);
  const poll = finishTranslation(start.work, items);
  const logs = problemLogs(feed, itemProblems, poll.problems);
  for (const item of touched) {
    const translated = poll.byKey.get(item.key);
    if (translated === undefined) continue;
    if (!translated.ok) {
      rejected(start, item, translated.error, logs);
      continue;
    }
    versions.push(versionOf(feed, item, translated.value, keepFirst, own && hashOf(own, item.key, translated)));
  }
  return { source: feed.id, versions, state: diff.next, logs, ...batchLabels(start) };
}

const batchLabels = ({ feed, diff }: FeedBatchStart): Pick<SourceBatch, "logFields" | "firstContact"> => ({
  logFields: { feed: feed.id },
  ...(diff.firstPoll ? { firstContact: { label: feed.id } } : {}),
});

function problemLogs(feed: FeedConfig, itemProblems: readonly ItemProblem[], translationProblems: readonly PollItemProblem[]): LogLine[] {
  const logs: LogLine[] = itemProblems.map((p) => ({ level: "warn", msg: "feed item problem", fields: { feed: feed.id, item: p.key, problem: p.message } }));
  for (const p of translationProblems) logs.push({ level: p.level, msg: "feed item problem", fields: { feed: feed.id, item: p.key, problem: p.message } });
  return logs;
}

/** Remembered as rejected: not logged again until the item or the feed's mapping changes. */
function rejected({ feed, diff }: FeedBatchStart, item: FeedItem, problems: readonly TranslateProblem[], logs: LogLine[]): void {
  const entry = diff.next.seen[item.key];
  if (entry) entry.fp = rejectedMarker(item.fingerprint);
  for (const problem of problems)
    logs.push({
      level: "warn",
      msg: "feed item not turned into a ticket",
      fields: { feed: feed.id, item: item.key, link: item.values.link, field: problem.field, problem: problem.message },
    });
}

/** `hash`: the translation's change hash, given only while `ticket` is the translation's own. */
function versionOf(feed: FeedConfig, item: FeedItem, ticket: Ticket, keepFirst: TicketField[], hash?: string): TicketVersion {
  const link = typeof item.values.link === "string" ? item.values.link : undefined;
  return {
    ticket,
    provenance: { source: feed.id, item: item.key, published: ticket.TT_Last_Update_Time },
    ...(link ? { link } : {}),
    keepFirst,
    ...(hash !== undefined ? { hash } : {}),
  };
}

/** Each item's translation, to read the hash a worker brought (see `hashOf`). */
const translationsByKey = (work: TranslationWork): Map<string, Translation> => new Map(work.translated.map((t) => [t.item.key, t.translation]));

/** The hash a translation brought, if `result` is still that translation's (the clash check may give another ticket). */
function hashOf(own: ReadonlyMap<string, Translation>, key: string, result: Result<Ticket, TranslateProblem[]>): string | undefined {
  const t = own.get(key);
  return t !== undefined && t.result === result ? t.hash : undefined;
}

/** A feed's streamed batch (`planFeedBatchStreamed`). */
export type StreamedFeedBatch = StreamedBatch & { end: () => { state: FeedState; logs: LogLine[] } };

/**
 * `planFeedBatchWith` as a stream, for the intake to take while later items are still being
 * translated (`Intake.submitStreamed`): the translations come back task by task, in version order,
 * and each version goes on as soon as it is known that no other item of the document can become
 * its ticket. That is told from every item's ticket id worked out first (`ticketIdOf`, one rule):
 * an item whose id is the only one of its kind, and which its translation confirms, goes on at
 * once; the others (a clash, or a translation that gave another id) wait for the clash check over
 * the whole document, which runs once everything is translated, and come last. Undefined when some
 * item's id can only be told by translating it: then the whole document is translated first.
 *
 * A task the translator cannot do (`translateInTasks` rejects it) is translated here; `onFailure`
 * hears why. `knownIds`: the ids by item key where the reader worked them out already (threads).
 */
export function planFeedBatchStreamed(
  ...[feed, state, items, itemProblems, validators, now, translate, onFailure, knownIds]: [
    ...PlanInput,
    translate: (items: readonly FeedItem[]) => TranslationTask[],
    onFailure: (e: Error) => void,
    knownIds?: ReadonlyMap<string, string | undefined> | undefined,
  ]
): StreamedFeedBatch | undefined {
  const start = startFeedBatch(feed, state, items, validators, now);
  const { work, touched } = start;
  const idOf = new Map<string, string>();
  const idCount = new Map<string, number>();
  for (const item of items) {
    const id = knownIds?.has(item.key) ? knownIds.get(item.key) : ticketIdOf(item.values, feed.mapping, work.options);
    if (id === undefined) return undefined;
    idOf.set(item.key, id);
    idCount.set(id, (idCount.get(id) ?? 0) + 1);
  }
  // Items neither new nor changed only take part in the clash check, with their id.
  for (const item of items) if (!work.touched?.has(item.key)) work.idOnly.push({ item, ttId: idOf.get(item.key) ?? "" });
  const keepFirst = firstValueFields(feed);
  // Handed to the translator a window ahead of the plan, not all at once: translation threads that
  // raced ahead took the cores this thread's plan needed (three threads on two cores), and this
  // thread, which plans every ticket, is the one the poll waits for.
  const tasks: TranslationTask[] = [];
  let handed = 0;
  const handOut = (upTo: number): void => {
    if (upTo <= handed || handed >= touched.length) return;
    const to = Math.min(touched.length, Math.max(upTo, handed + TRANSLATE_AHEAD));
    for (const task of translate(touched.slice(handed, to))) tasks.push(task);
    handed = to;
  };
  handOut(TRANSLATE_AHEAD);
  /** Results that went on at once, by item key: the clash check must leave them as they are. */
  const passed = new Map<string, Result<Ticket, TranslateProblem[]>>();
  const logs: LogLine[] = [];
  let finished = false;

  async function* versions(): AsyncGenerator<TicketVersion[]> {
    const waiting: FeedItem[] = [];
    let planned = 0;
    for (let i = 0; i < tasks.length || handed < touched.length; i++) {
      handOut(planned + (tasks[i]?.items.length ?? 0) + TRANSLATE_AHEAD);
      const task = tasks[i];
      if (!task) break; // cannot be: handOut gave at least one more task
      planned += task.items.length;
      let translations = await task.done().catch((e: unknown) => {
        onFailure(e instanceof Error ? e : new Error(String(e)));
        return undefined;
      });
      if (translations?.length !== task.items.length) translations = task.items.map((item) => translateItem(item, feed, now, false));
      const out: TicketVersion[] = [];
      task.items.forEach((item, i) => {
        const translation = translations[i] as Translation;
        work.translated.push({ item, translation });
        const r = translation.result;
        if (!r.ok) return; // logged and remembered once the document is done
        const alone = feed.itemsPerTicket === "many" || (r.value.TT_ID === idOf.get(item.key) && idCount.get(r.value.TT_ID) === 1);
        if (!alone) return void waiting.push(item);
        passed.set(item.key, r);
        out.push(versionOf(feed, item, r.value, keepFirst, translation.hash));
      });
      if (out.length > 0) yield out;
    }
    const poll = finishTranslation(work, items);
    for (const line of problemLogs(feed, itemProblems, poll.problems)) logs.push(line);
    const passedIds = new Set([...passed.values()].flatMap((r) => (r.ok ? [r.value.TT_ID] : [])));
    const last: TicketVersion[] = [];
    const waited = new Set(waiting.map((i) => i.key));
    const own = translationsByKey(work);
    for (const item of touched) {
      const translated = poll.byKey.get(item.key);
      if (translated === undefined || passed.has(item.key)) continue;
      if (!translated.ok) {
        rejected(start, item, translated.error, logs);
        continue;
      }
      if (!waited.has(item.key)) continue;
      if (passedIds.has(translated.value.TT_ID)) {
        // Its translation gave an id its first look did not (so the ticket went on already): kept apart.
        logs.push({ level: "warn", msg: "feed item problem", fields: { feed: feed.id, item: item.key, problem: `${translated.value.TT_ID} is also the ticket of another item of this document, stored already in this poll: skipped (make the Original_ID rule unique per item)` } });
        continue;
      }
      last.push(versionOf(feed, item, translated.value, keepFirst, hashOf(own, item.key, translated)));
    }
    finished = true;
    if (last.length > 0) yield last;
  }

  return {
    source: feed.id,
    versions: versions(),
    end: () => {
      if (!finished) throw new Error("the streamed feed batch was asked for its end before its versions were all taken");
      return { state: start.diff.next, logs };
    },
    ...batchLabels(start),
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
