/**
 * Adapter: one feed as a ticket source. On its cron schedule (and on demand): fetch (conditional
 * GET, backoff) → parse → plan the batch (pure, ./plan.ts) → hand it to the intake, which stores
 * the feed's next state with the tickets in the same write. Failures are logged with the feed's
 * name and what went wrong; they never reach other feeds.
 */
import cron, { type ScheduledTask } from "node-cron";
import type { FeedConfig } from "../../../config/schema.js";
import type { Logger } from "../../log/logger.js";
import type { Telemetry } from "../../ops/telemetry.js";
import { FIRST_PART, nextPartSize } from "../../intake/intake.js";
import { translateItem } from "../../translate/item-to-ticket.js";
import type { ItemTranslator, TranslationTask } from "../../translate/workers.js";
import { backoffMs } from "../../util/backoff.js";
import type { IntakeResult, SourceHealth, SourceRuntime, TicketSource } from "../types.js";
import type { FeedFetcher, Validators } from "./http.js";
import { parseFeed, type FeedItem, type ItemProblem, type ParsedFeed } from "./parse.js";
import { planFeedBatchInParts, planFeedBatchStreamed, planFeedBatchWith, type FeedBatch } from "./plan.js";
import { afterFailure, afterNotModified, emptyFeedState, isDue, readFeedState, type FeedState } from "./state.js";

export type PollOutcome =
  | { kind: "skipped"; reason: string }
  | { kind: "failed"; reason: string }
  | { kind: "not-modified" }
  | { kind: "polled"; result: IntakeResult };

export type FeedPollerDeps = {
  fetcher: FeedFetcher;
  log: Logger;
  schedule: boolean;
  telemetry?: Telemetry | undefined;
  /** Translates big documents on worker threads (src/translate/workers.ts); else all here. */
  translator?: ItemTranslator | undefined;
};

/**
 * Documents with at least this many items are translated by the `translator`, when there is one:
 * starting its threads costs ≈0.3 s (from dist; more under tsx), which a document of 20k items
 * (≈2 s to translate here) repays; a smaller one is translated here, in parts.
 */
export const WORKER_ITEMS = 20_000;
/**
 * A body this long is read on the threads (started while it downloads). Not less: starting them
 * costs ≈1 s of CPU and ≈0.5 s before they read, which a 5 MB document (≈0.5 s to read here, 10k
 * items of a ticket feed) does not repay; a 27 MB one (≈2.5 s here) does. A smaller document with
 * WORKER_ITEMS items or more is still translated there (the threads start then).
 */
export const THREAD_READ_CHARS = 10 * 1024 * 1024;

/**
 * Tasks for `planFeedBatchStreamed` translated in this thread, each when its turn comes and after a
 * turn of the event loop: sized as the intake's parts (FIRST_PART doubling to LAST_PART), so the
 * first part is stored, and its messages sent, while the rest of the document waits to be
 * translated (a 2,000-item poll sent nothing for its first ≈0.5 s when all was translated first).
 */
export function translateHereInTasks(feed: FeedConfig, now: Date, items: readonly FeedItem[]): TranslationTask[] {
  const tasks: TranslationTask[] = [];
  for (let from = 0, size = FIRST_PART; from < items.length; from += size, size = nextPartSize(size)) {
    const slice = items.slice(from, from + size);
    tasks.push({ items: slice, done: () => new Promise((resolve) => setImmediate(() => resolve(slice.map((item) => translateItem(item, feed, now, false))))) });
  }
  return tasks;
}

export class FeedPoller implements TicketSource {
  readonly id: string;
  #runtime: SourceRuntime | undefined;
  #task: ScheduledTask | undefined;
  #running: Promise<PollOutcome> | undefined;
  #health: SourceHealth = { ok: true };
  /** A poll whose result could not be stored is tried again soon, not at the next scheduled poll. */
  #retryTimer: NodeJS.Timeout | undefined;
  #storeFailures = 0;
  #stopped = false;

  constructor(
    private readonly feed: FeedConfig,
    private readonly deps: FeedPollerDeps,
  ) {
    this.id = feed.id;
  }

  start(runtime: SourceRuntime): Promise<void> {
    this.#runtime = runtime;
    if (this.deps.schedule) {
      this.#task = cron.schedule(this.feed.schedule, () => void this.pollNow(), { name: `feed:${this.feed.id}`, noOverlap: true });
      void this.pollNow(); // do not wait for the first tick
    }
    return Promise.resolve();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#retryTimer);
    await this.#task?.stop();
    await this.#running;
  }

  #notStored(): void {
    this.#storeFailures++;
    if (this.#retryTimer || this.#stopped) return;
    const delay = backoffMs(this.#storeFailures, { baseMs: 1_000, maxMs: 60_000 });
    this.deps.log.debug({ feed: this.feed.id, retryInMs: delay }, "feed poll not stored; polling again soon");
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      void this.pollNow();
    }, delay);
    this.#retryTimer.unref();
  }

  health(): SourceHealth {
    return this.#health;
  }

  /** Polls now (as the cron job would); one fetch at a time however often it is asked. */
  pollNow(): Promise<PollOutcome> {
    this.#running ??= this.#poll()
      .catch((e: unknown): PollOutcome => {
        this.deps.log.error({ feed: this.feed.id, err: e instanceof Error ? e.stack : String(e) }, "feed poll crashed");
        return { kind: "failed", reason: String(e) };
      })
      .then((outcome) => {
        if (outcome.kind !== "skipped") this.deps.telemetry?.poll(this.feed.id, outcome.kind !== "failed");
        const at = new Date().toISOString();
        this.#health =
          outcome.kind === "failed"
            ? { ...this.#health, ok: false, lastAttempt: at, lastError: outcome.reason }
            : outcome.kind === "skipped"
              ? this.#health
              : { ok: true, lastAttempt: at, lastSuccess: at };
        return outcome;
      })
      .finally(() => (this.#running = undefined));
    return this.#running;
  }

  async #poll(): Promise<PollOutcome> {
    const runtime = this.#runtime;
    if (!runtime) return { kind: "skipped", reason: "not started" };
    const { feed } = this;
    const { log } = this.deps;
    const state = readFeedState(runtime.state(), (problem) => log.warn({ feed: feed.id, problem }, "stored feed state unreadable: starting the feed afresh"));
    const startedAt = runtime.now();
    if (!isDue(state, startedAt)) return { kind: "skipped", reason: `backing off until ${state.retryAfter}` };

    // A document this big is read on the threads: they start while it downloads.
    const { translator } = this.deps;
    const onBig = translator?.warm ? { bytes: THREAD_READ_CHARS, then: () => translator.warm?.() } : undefined;
    const fetched = await this.deps.fetcher.fetch(feed.url, state.validators, { timeoutMs: feed.timeoutMs, maxBytes: feed.maxBytes, redirectHosts: feed.redirectHosts, onBig });
    const now = runtime.now();
    if (!fetched.ok) {
      const next = afterFailure(state, fetched.error, now);
      await this.#saveState(runtime, next);
      log[fetched.error.kind === "temporary" ? "warn" : "error"](
        { feed: feed.id, url: feed.url, failure: fetched.error.kind, reason: fetched.error.message, failures: next.failures, retryAfter: next.retryAfter },
        "feed fetch failed",
      );
      return { kind: "failed", reason: fetched.error.message };
    }
    if (fetched.value.kind === "not-modified") {
      // Written only when it says something new (a recovery); a quiet 304 costs no write.
      if (state.failures > 0 || state.lastError !== undefined || state.retryAfter !== undefined) await this.#saveState(runtime, afterNotModified(state, now));
      log.debug({ feed: feed.id }, "feed not modified");
      return { kind: "not-modified" };
    }

    // The threads read a big document in parts side by side (the same result as reading it here,
    // in a fraction of the time); `parseFeed` starts them if the download did not.
    const { body } = fetched.value;
    const bigBody = body.length >= THREAD_READ_CHARS ? translator : undefined;
    const parsed = bigBody?.parseFeed ? await bigBody.parseFeed(body, feed.maxItemChars, { feed, now }) : await parseFeed(body, feed.maxItemChars);
    if (!parsed.ok) {
      const next = afterFailure(state, { kind: "permanent", message: parsed.error }, now);
      await this.#saveState(runtime, next);
      log.error({ feed: feed.id, url: fetched.value.finalUrl, reason: parsed.error, retryAfter: next.retryAfter }, "feed document rejected");
      return { kind: "failed", reason: parsed.error };
    }

    try {
      return await this.#take(runtime, state, now, parsed.value, fetched.value.problems ?? [], fetched.value.validators);
    } finally {
      // The threads that read the document may let go of its items now.
      parsed.value.release?.();
    }
  }

  /** The parsed document planned and handed to the intake. */
  async #take(runtime: SourceRuntime, state: FeedState, now: Date, parsed: ParsedFeed, fetchProblems: readonly ItemProblem[], validators: Validators): Promise<PollOutcome> {
    const { feed } = this;
    const { log } = this.deps;
    // One write carries the feed state, the tickets and the outbox: durable before anything is sent.
    // Translated in parts, the event loop turning between them (a 50k-item first poll is seconds of
    // work), or, for a big document, on worker threads while this thread goes on with other work.
    const problems = [...fetchProblems, ...parsed.problems];
    const pause = (): Promise<void> => new Promise((r) => setImmediate(r));
    const here = (): Promise<FeedBatch> => planFeedBatchInParts(feed, state, parsed.items, problems, validators, now, pause);
    const { translator } = this.deps;
    const big = translator !== undefined && parsed.items.length >= WORKER_ITEMS;
    let told = false;
    const workerFailed = (e: Error): void => {
      if (!told) log.warn({ feed: feed.id, err: e.message }, "translation workers failed: translating here instead");
      told = true;
    };
    // Streamed (more items than the intake's first part): the first tickets are stored, and their
    // messages sent, while the rest is still being translated, on the workers or here in turns.
    const translateInTasks = (items: readonly FeedItem[]): TranslationTask[] => (big ? translator.translateInTasks(feed, now, items) : translateHereInTasks(feed, now, items));
    const streamed =
      parsed.items.length > FIRST_PART && runtime.intake.submitStreamed ? planFeedBatchStreamed(feed, state, parsed.items, problems, validators, now, translateInTasks, workerFailed, parsed.ticketIds) : undefined;
    const { intake } = runtime;
    const result =
      streamed && intake.submitStreamed
        ? await intake.submitStreamed(streamed)
        : await intake.submit(
            big
              ? await planFeedBatchWith(feed, state, parsed.items, problems, validators, now, (items) => translator.translate(feed, now, items)).catch((e: unknown) => {
                  workerFailed(e as Error);
                  return here();
                })
              : await here(),
          );
    if (!result.committed) {
      this.#notStored();
      return { kind: "failed", reason: `not stored: ${result.error}` };
    }
    this.#storeFailures = 0;
    const changed = result.outcomes.filter((o) => o.outcome === "created" || o.outcome === "updated").length;
    log.info({ feed: feed.id, items: parsed.items.length, tickets: changed, firstPoll: !state.primed }, "feed polled");
    return { kind: "polled", result };
  }

  async #saveState(runtime: SourceRuntime, state: FeedState): Promise<void> {
    const result = await runtime.intake.submit({ source: this.feed.id, versions: [], state });
    if (!result.committed) this.#notStored();
  }
}

/** One source per configured feed. */
export function feedSources(feeds: readonly FeedConfig[], deps: FeedPollerDeps): FeedPoller[] {
  return feeds.map((f) => new FeedPoller(f, deps));
}

export { emptyFeedState };
