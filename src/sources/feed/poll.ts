/**
 * One poll of one feed, end to end: fetch → parse → plan (pure) → one store write → delivery.
 * Failures are logged with the feed's name and what went wrong; they never reach other feeds.
 */
import type { Config, FeedConfig } from "../../../config/schema.js";
import type { FeedSource } from "./http.js";
import { parseFeed } from "./parse.js";
import { afterFailure, afterNotModified, isDue } from "./state.js";
import type { Logger } from "../../log/logger.js";
import type { Actor } from "../../model/activity.js";
import type { TicketStore } from "../../store/lowdb-store.js";
import type { IncidentPort } from "../../intake/incidents.js";
import { planPoll, type PollPlan } from "./plan.js";

export type PollDeps = {
  config: Config;
  source: FeedSource;
  store: TicketStore;
  actor: Actor;
  incidents?: IncidentPort | undefined;
  log: Logger;
  now: () => Date;
};

export type PollOutcome =
  | { kind: "skipped"; reason: string }
  | { kind: "failed"; reason: string }
  | { kind: "not-modified" }
  | { kind: "polled"; plan: PollPlan };

export async function pollFeed(feed: FeedConfig, deps: PollDeps): Promise<PollOutcome> {
  const { store, log } = deps;
  const state = store.feedState(feed.id);
  const startedAt = deps.now();
  if (!isDue(state, startedAt)) return { kind: "skipped", reason: `backing off until ${state.retryAfter}` };

  const fetched = await deps.source.fetch(feed.url, state.validators, { timeoutMs: feed.timeoutMs, maxBytes: feed.maxBytes, redirectHosts: feed.redirectHosts });
  const now = deps.now();
  if (!fetched.ok) {
    const next = afterFailure(state, fetched.error, now);
    store.update((d) => (d.feeds[feed.id] = next));
    await store.commit();
    log[fetched.error.kind === "temporary" ? "warn" : "error"](
      { feed: feed.id, url: feed.url, failure: fetched.error.kind, reason: fetched.error.message, failures: next.failures, retryAfter: next.retryAfter },
      "feed fetch failed",
    );
    return { kind: "failed", reason: fetched.error.message };
  }
  if (fetched.value.kind === "not-modified") {
    store.update((d) => (d.feeds[feed.id] = afterNotModified(state, now)));
    log.debug({ feed: feed.id }, "feed not modified");
    return { kind: "not-modified" };
  }

  const parsed = await parseFeed(fetched.value.body, feed.maxItemChars);
  if (!parsed.ok) {
    const next = afterFailure(state, { kind: "permanent", message: parsed.error }, now);
    store.update((d) => (d.feeds[feed.id] = next));
    await store.commit();
    log.error({ feed: feed.id, url: fetched.value.finalUrl, reason: parsed.error, retryAfter: next.retryAfter }, "feed document rejected");
    return { kind: "failed", reason: parsed.error };
  }

  const plan = planPoll(
    { feed, routes: deps.config.routes, actor: deps.actor, render: deps.config.render, now, incidents: deps.incidents },
    state,
    parsed.value.items,
    [...(fetched.value.problems ?? []), ...parsed.value.problems],
    fetched.value.validators,
    (id) => store.ticket(id),
  );
  // One write carries the feed state, the tickets and the outbox: durable before anything is sent.
  store.update((d) => {
    d.feeds[feed.id] = plan.feedState;
    for (const t of plan.tickets) d.tickets[t.ticket.TT_ID] = t;
    const queued = new Set(d.outbox.map((e) => e.id));
    d.outbox.push(...plan.outbox.filter((o) => !queued.has(o.id)));
  });
  await store.commit();
  for (const line of plan.logs) log[line.level](line.fields, line.msg);
  log.info(
    { feed: feed.id, items: parsed.value.items.length, tickets: plan.tickets.length, posts: plan.outbox.length, firstPoll: !state.primed },
    "feed polled",
  );
  return { kind: "polled", plan };
}
