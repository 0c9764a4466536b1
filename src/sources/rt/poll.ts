/**
 * Adapter: Request Tracker 5 as a ticket source. Polls the configured queue by LastUpdated (paged),
 * reads each changed ticket's history, and hands the intake one version per ticket; the bot's own
 * writes coming back are recognised by the pure planner and only move the ticket's RT cursor.
 */
import cron, { type ScheduledTask } from "node-cron";
import { z } from "zod";
import type { RtConfig } from "../../../config/schema.js";
import type { Logger } from "../../log/logger.js";
import type { Telemetry } from "../../ops/telemetry.js";
import { datetimeToMillis } from "../../model/ticket.js";
import type { RtError, RtPort } from "../../ticket-systems/rt/client.js";
import type { RtMapping } from "../../ticket-systems/rt/map.js";
import { planRtPoll, RT_SOURCE, rtCursor, rtRetryDelayMs, type PolledRtTicket } from "../../ticket-systems/rt/plan.js";
import { TEMPORARY_ERRORS } from "../../ticket-systems/port.js";
import type { Config } from "../../../config/schema.js";
import type { SourceHealth, SourceRuntime, TicketSource, TicketVersion } from "../types.js";

const MAX_PAGES = 20;

const RtSourceState = z.object({ since: z.string().optional() });

export type RtPollerDeps = {
  config: RtConfig;
  mapping: RtMapping;
  client: RtPort;
  routes: Config["routes"];
  log: Logger;
  /** Tickets with RT writes still queued: RT's view of them is older than ours (skipped for now). */
  pending: () => ReadonlySet<string>;
  schedule: boolean;
  telemetry?: Telemetry | undefined;
};

export class RtPoller implements TicketSource {
  readonly id = RT_SOURCE;
  #runtime: SourceRuntime | undefined;
  #polling: Promise<number> | undefined;
  #retryAt = 0;
  #failures = 0;
  #task: ScheduledTask | undefined;
  #health: SourceHealth = { ok: true };

  constructor(private readonly deps: RtPollerDeps) {}

  start(runtime: SourceRuntime): Promise<void> {
    this.#runtime = runtime;
    if (this.deps.schedule) {
      this.#task = cron.schedule(this.deps.config.schedule, () => void this.poll(), { name: "rt", noOverlap: true });
      void this.poll();
    }
    return Promise.resolve();
  }

  async stop(): Promise<void> {
    await this.#task?.stop();
    await this.#polling;
  }

  health(): SourceHealth {
    return this.#health;
  }

  /** One poll (concurrent calls share it). Resolves with the number of changes announced. */
  poll(): Promise<number> {
    this.#polling ??= this.#poll()
      .catch((e: unknown) => {
        this.deps.log.error({ err: e instanceof Error ? e.stack : String(e) }, "RT poll crashed; will try again on schedule");
        this.#health = { ...this.#health, ok: false, lastError: String(e) };
        return 0;
      })
      .finally(() => (this.#polling = undefined));
    return this.#polling;
  }

  async #poll(): Promise<number> {
    const runtime = this.#runtime;
    if (!runtime) return 0;
    const { client, config, log } = this.deps;
    const now = runtime.now();
    if (now.getTime() < this.#retryAt) return 0;
    const stored = RtSourceState.safeParse(runtime.state() ?? {});
    const since = (stored.success ? stored.data.since : undefined) ?? new Date(now.getTime() - 60_000).toISOString();
    const sinceMs = datetimeToMillis(since) ?? now.getTime();
    const byId = new Map<number, PolledRtTicket>();
    let maxUpdated = sinceMs;
    for (let page = 1; page <= MAX_PAGES; page++) {
      const found = await client.searchUpdatedSince(config.queue, since, page);
      if (!found.ok) return this.#failed(found.error);
      for (const rt of found.value.tickets) {
        const before = runtime.ticket(`${this.deps.mapping.partnerId}_${rt.id}`);
        maxUpdated = Math.max(maxUpdated, datetimeToMillis(rt.lastUpdated) ?? 0);
        if (rtCursor(before)?.lastUpdated === rt.lastUpdated) continue; // seen (RT compares whole seconds)
        const history = await client.history(rt.id);
        if (!history.ok) return this.#failed(history.error);
        byId.set(rt.id, { rt, history: history.value });
      }
      if (found.value.next === undefined) break;
    }
    this.#failures = 0;
    const items = planRtPoll({ config, mapping: this.deps.mapping, routes: this.deps.routes, now, pending: this.deps.pending() }, [...byId.values()], (id) => runtime.ticket(id));
    const versions: TicketVersion[] = [];
    for (const item of items) {
      if (item.kind === "skip") continue;
      if (item.kind === "invalid") {
        log.warn({ ticket: item.ttId, problems: item.problems }, "RT ticket not turned into a ticket");
        continue;
      }
      if (item.kind === "own") log.debug({ ticket: item.stored.ticket.TT_ID }, "RT change made by the bot itself: not re-posted");
      // The planner merged RT's view with what the room knows (keepWhatRtCannotHold): taken as it is.
      versions.push({
        ticket: item.stored.ticket,
        provenance: { source: RT_SOURCE, item: item.stored.upstream?.id, published: item.stored.ticket.TT_Last_Update_Time },
        ...(item.stored.link ? { link: item.stored.link } : {}),
        merge: "replace",
        upstream: item.stored.upstream,
      });
    }
    // One second back: RT's `>` is on whole seconds; what was seen is skipped by lastUpdated.
    // Nothing new: the cursor stays where it is (it must not slip back a second every poll).
    const next = maxUpdated > sinceMs ? new Date(maxUpdated - 1000).toISOString() : since;
    const result = await runtime.intake.submit({ source: RT_SOURCE, versions, state: { since: next }, logFields: { rt: true } });
    const at = runtime.now().toISOString();
    this.deps.telemetry?.poll(RT_SOURCE, result.committed);
    if (!result.committed) {
      this.#health = { ...this.#health, ok: false, lastAttempt: at, lastError: result.error };
      return 0;
    }
    this.#health = { ok: true, lastAttempt: at, lastSuccess: at };
    return result.outcomes.filter((o) => o.outcome === "created" || o.outcome === "updated").length;
  }

  #failed(error: RtError): number {
    this.#failures++;
    const delay = rtRetryDelayMs(this.#failures);
    const now = this.#runtime?.now() ?? new Date();
    this.#retryAt = now.getTime() + delay;
    this.#health = { ...this.#health, ok: false, lastAttempt: now.toISOString(), lastError: `${error.kind}: ${error.message}` };
    this.deps.telemetry?.poll(RT_SOURCE, false);
    this.deps.log[TEMPORARY_ERRORS.has(error.kind) ? "warn" : "error"]({ kind: error.kind, status: error.status, reason: error.message, retryInMs: delay }, "RT poll failed");
    return 0;
  }
}
