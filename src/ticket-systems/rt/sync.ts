/**
 * Adapter: two-way sync with Request Tracker 5. Polls the configured queue by LastUpdated and
 * announces changes like a feed (the bot's own writes are recognised and not re-posted), and
 * delivers the durable queue of RT writes (comments, status changes, tickets for peers) with
 * retries, reporting in the room what finally could not be applied.
 */
import type { Config, RtConfig } from "../../../config/schema.js";
import type { Logger } from "../../log/logger.js";
import type { Actor } from "../../model/activity.js";
import { datetimeToMillis } from "../../model/ticket.js";
import { announceChange, incidentStatusNotices } from "../../intake/announce.js";
import type { IncidentBook } from "../../intake/incidents.js";
import { changeHash } from "../../sources/feed/plan.js";
import type { LowStore } from "../../store/lowdb-store.js";
import type { RtWrite } from "../../store/types.js";
import { err, ok, type Result } from "../../util/result.js";
import type { RtError, RtPort } from "./client.js";
import type { RtMapping } from "./map.js";
import { planRtPoll, rtRetryDelayMs, type PolledRtTicket } from "./plan.js";

export type RtSyncDeps = {
  config: RtConfig;
  mapping: RtMapping;
  client: RtPort;
  store: LowStore;
  incidents: IncidentBook;
  routes: Config["routes"];
  render: Config["render"];
  actor: Actor;
  log: Logger;
  now: () => Date;
  /** Room messages were queued: deliver them. */
  afterQueue: () => void;
  /** Tell whoever asked (room or account) that a write finally failed or is delayed. */
  report: (notify: NonNullable<RtWrite["notify"]>, text: string) => void;
};

/** RT's faults that pass with time (down, slow, a concurrent edit); the others need a person. */
const TEMPORARY: ReadonlySet<RtError["kind"]> = new Set(["unreachable", "timeout", "conflict"]);
const MAX_PAGES = 20;

export class RtSync {
  #polling: Promise<number> | undefined;
  #delivering = false;
  #again = false;
  #pollRetryAt = 0;
  #pollFailures = 0;

  constructor(private readonly deps: RtSyncDeps) {}

  /** One poll (concurrent calls share it). Resolves with the number of changes announced. */
  poll(): Promise<number> {
    this.#polling ??= this.#poll()
      .catch((e: unknown) => {
        this.deps.log.error({ err: e instanceof Error ? e.stack : String(e) }, "RT poll crashed; will try again on schedule");
        return 0;
      })
      .finally(() => (this.#polling = undefined));
    return this.#polling;
  }

  async #poll(): Promise<number> {
    const { store, client, config, log } = this.deps;
    const now = this.deps.now();
    if (now.getTime() < this.#pollRetryAt) return 0;
    const since = store.data.rt.since ?? new Date(now.getTime() - 60_000).toISOString();
    const sinceMs = datetimeToMillis(since) ?? now.getTime();
    const byId = new Map<number, PolledRtTicket>();
    let maxUpdated = sinceMs;
    for (let page = 1; page <= MAX_PAGES; page++) {
      const found = await client.searchUpdatedSince(config.queue, since, page);
      if (!found.ok) return this.#pollFailed(found.error);
      for (const rt of found.value.tickets) {
        const before = store.ticket(`${this.deps.mapping.partnerId}_${rt.id}`);
        maxUpdated = Math.max(maxUpdated, datetimeToMillis(rt.lastUpdated) ?? 0);
        if (before?.rt?.lastUpdated === rt.lastUpdated) continue; // seen (RT compares whole seconds)
        const history = await client.history(rt.id);
        if (!history.ok) return this.#pollFailed(history.error);
        byId.set(rt.id, { rt, history: history.value });
      }
      if (found.value.next === undefined) break;
    }
    this.#pollFailures = 0;
    const pending = new Set(store.data.rtOutbox.filter((w) => !w.failed).map((w) => w.ticketId));
    const items = planRtPoll({ config, mapping: this.deps.mapping, routes: this.deps.routes, now, pending }, [...byId.values()], (id) => store.ticket(id));
    let announced = 0;
    store.update((d) => {
      // One second back: RT's `>` is on whole seconds; what was seen is skipped by lastUpdated.
      // Nothing new: the cursor stays where it is (it must not slip back a second every poll).
      if (maxUpdated > sinceMs) d.rt.since = new Date(maxUpdated - 1000).toISOString();
      else d.rt.since = since;
      for (const item of items) {
        if (item.kind === "skip") continue;
        if (item.kind === "invalid") {
          log.warn({ ticket: item.ttId, problems: item.problems }, "RT ticket not turned into a ticket");
          continue;
        }
        if (item.kind === "own") {
          d.tickets[item.stored.ticket.TT_ID] = item.stored;
          log.debug({ ticket: item.stored.ticket.TT_ID }, "RT change made by the bot itself: not re-posted");
          continue;
        }
        const hash = changeHash(item.stored.ticket);
        const previous = d.tickets[item.stored.ticket.TT_ID];
        if (previous && previous.hash === hash) {
          d.tickets[item.stored.ticket.TT_ID] = { ...previous, rt: item.stored.rt };
          continue;
        }
        const assignment = this.deps.incidents.assign(item.stored.ticket, item.stored.rooms, now);
        const stored = { ...item.stored, hash, incident: assignment.incidentId, correlation: assignment.explanation };
        d.tickets[stored.ticket.TT_ID] = stored;
        if (stored.rooms.length === 0) {
          log.warn({ ticket: stored.ticket.TT_ID }, "no route matches RT ticket: not posted");
          continue;
        }
        const announce = { actor: this.deps.actor, render: this.deps.render, incidents: this.deps.incidents, now };
        const { outbox } = announceChange(announce, stored, item.before, item.type, assignment);
        d.outbox.push(...outbox, ...incidentStatusNotices(announce, assignment, stored.ticket.TT_ID));
        announced++;
        log.info({ ticket: stored.ticket.TT_ID, rt: stored.rt?.id, type: item.type, rooms: stored.rooms }, "RT ticket relayed");
      }
    });
    await store.commit();
    if (announced > 0) this.deps.afterQueue();
    return announced;
  }

  #pollFailed(error: RtError): number {
    this.#pollFailures++;
    const delay = rtRetryDelayMs(this.#pollFailures);
    this.#pollRetryAt = this.deps.now().getTime() + delay;
    this.deps.log[TEMPORARY.has(error.kind) ? "warn" : "error"]({ kind: error.kind, status: error.status, reason: error.message, retryInMs: delay }, "RT poll failed");
    return 0;
  }

  /** Delivers every due write, one at a time (per ticket order matters: create before comments). */
  async deliver(): Promise<void> {
    if (this.#delivering) {
      this.#again = true;
      return;
    }
    this.#delivering = true;
    try {
      do {
        this.#again = false;
        const now = this.deps.now().getTime();
        // In queue order; a ticket's later writes wait for every earlier one, due or not (an
        // update retried after a close would otherwise reopen the ticket in RT).
        const blocked = new Set<string>();
        for (const write of [...this.deps.store.data.rtOutbox]) {
          if (write.failed || blocked.has(write.ticketId)) continue;
          const due = Date.parse(write.nextAttemptAt ?? "1970-01-01T00:00:00Z") <= now;
          if (!due || !this.deps.store.isQueued(write.id)) {
            blocked.add(write.ticketId);
            continue;
          }
          let done = false;
          try {
            done = await this.#deliverOne(write);
          } catch (e) {
            this.deps.log.error({ ticket: write.ticketId, err: e instanceof Error ? e.stack : String(e) }, "RT delivery crashed; will retry");
            write.nextAttemptAt = new Date(this.deps.now().getTime() + rtRetryDelayMs(write.attempts)).toISOString();
          }
          if (!done) blocked.add(write.ticketId);
        }
      } while (this.#again);
    } finally {
      this.#delivering = false;
    }
  }

  async #deliverOne(write: RtWrite): Promise<boolean> {
    const { store, log } = this.deps;
    const now = this.deps.now();
    const rtId = write.rtId ?? store.ticket(write.ticketId)?.rt?.id;
    if (write.op !== "create" && rtId === undefined) {
      const waiting = store.data.rtOutbox.some((w) => w.ticketId === write.ticketId && w.op === "create" && !w.failed);
      if (waiting) return false;
      return this.#finish(write, { kind: "not-found", message: `${write.ticketId} has no linked RT ticket` });
    }
    const previousAttempt = write.lastAttempt;
    // Unknown outcome: the answer never came (timeout, reset) or the bot stopped mid-attempt.
    const uncertain = write.attempts > 0 && /^(timeout|unreachable|in flight)/.test(write.lastError ?? "in flight");
    write.attempts++;
    write.lastAttempt = now.toISOString();
    write.lastError = "in flight";
    await store.commit(); // the attempt is on disk before RT sees it

    let result: Result<number, RtError>;
    if (write.op === "create") result = await this.#create(write, uncertain ? previousAttempt : undefined);
    else result = await this.#comment(write, rtId ?? 0, uncertain ? previousAttempt : undefined);
    if (!result.ok) return this.#finish(write, result.error);
    log.info({ ticket: write.ticketId, rt: result.value, op: write.op, status: write.status, attempt: write.attempts }, "RT write delivered");
    return this.#finish(write, undefined);
  }

  async #create(write: RtWrite, afterUncertain: string | undefined): Promise<Result<number, RtError>> {
    const { client, store, log } = this.deps;
    const create = write.create;
    if (!create) return err({ kind: "rejected", message: "create without ticket data" });
    // Already created by an earlier attempt (only the status change failed): never create twice.
    let id: number | undefined = write.rtId;
    if (id === undefined && afterUncertain) id = await this.#findCreated(create.queue, write.ticketId, afterUncertain);
    if (id === undefined) {
      const created = await client.createTicket({ queue: create.queue, subject: create.subject, content: write.text, customFields: create.customFields });
      if (!created.ok) return created;
      id = created.value.id;
      if (created.value.ignoredCustomFields.length > 0)
        log.error(
          { ticket: write.ticketId, rt: id, fields: created.value.ignoredCustomFields, queue: create.queue },
          "RT ignored custom fields (unknown or not applied to the queue): the RT ticket is not linked back to the peer's ticket",
        );
    }
    const rtId = id;
    store.update((d) => {
      const t = d.tickets[write.ticketId];
      if (t) t.rt = { id: rtId };
      write.rtId = rtId;
      write.commented = true;
    });
    await store.commit();
    if (write.status && write.status !== "new") {
      const set = await this.#setStatus(rtId, write.status);
      if (!set.ok) return set;
    }
    return ok(rtId);
  }

  /** After a create whose answer never came: did RT make the ticket anyway? (by the remote-id field) */
  async #findCreated(queue: string, ttId: string, since: string): Promise<number | undefined> {
    const field = this.deps.config.peers?.remoteIdField;
    if (!field) return undefined;
    const from = new Date(Date.parse(since) - 10_000).toISOString();
    for (let page = 1; page <= MAX_PAGES; page++) {
      const found = await this.deps.client.searchUpdatedSince(queue, from, page);
      if (!found.ok) return undefined;
      const match = found.value.tickets.find((t) => t.creator === this.deps.config.user && (t.customFields[field] ?? []).includes(ttId));
      if (match) return match.id;
      if (found.value.next === undefined) return undefined;
    }
    return undefined;
  }

  async #comment(write: RtWrite, rtId: number, afterUncertain: string | undefined): Promise<Result<number, RtError>> {
    const { client, store } = this.deps;
    if (!write.commented && afterUncertain) {
      // The answer to the last attempt never came: look for our comment before writing it again.
      const history = await client.history(rtId);
      if (!history.ok) return history;
      const after = Date.parse(afterUncertain) - 2_000;
      if (history.value.some((t) => (t.type === "Comment" || t.type === "Correspond") && t.creator === this.deps.config.user && Date.parse(t.created) >= after))
        write.commented = true;
    }
    if (!write.commented) {
      const posted = write.op === "correspond" ? await client.correspond(rtId, write.text) : await client.comment(rtId, write.text);
      if (!posted.ok) return posted;
      write.commented = true;
      await store.commit();
    }
    if (write.status) {
      const set = await this.#setStatus(rtId, write.status);
      if (!set.ok) return set;
    }
    return ok(rtId);
  }

  /** Status change with If-Match; on a conflict the ticket is read again and the change tried once more. */
  async #setStatus(rtId: number, status: string): Promise<Result<void, RtError>> {
    for (let attempt = 1; ; attempt++) {
      const current = await this.deps.client.getTicket(rtId);
      if (!current.ok) return current;
      if (current.value.status === status) return ok(undefined);
      const updated = await this.deps.client.update(rtId, { Status: status }, current.value.etag);
      if (updated.ok) return ok(undefined);
      if (updated.error.kind !== "conflict" || attempt >= 2) return updated;
    }
  }

  /** Removes a delivered write, or schedules/reports a failed one. */
  async #finish(write: RtWrite, error: RtError | undefined): Promise<boolean> {
    const { store, log } = this.deps;
    const now = this.deps.now();
    if (!error) {
      store.update((d) => (d.rtOutbox = d.rtOutbox.filter((w) => w.id !== write.id)));
      await store.commit();
      return true;
    }
    write.lastError = `${error.kind}: ${error.message}`;
    const what = write.op === "create" ? `create an RT ticket for ${write.ticketId}` : `write ${write.ticketId}'s change to RT ticket #${write.rtId ?? "?"}`;
    if (TEMPORARY.has(error.kind)) {
      const delay = rtRetryDelayMs(write.attempts);
      write.nextAttemptAt = new Date(now.getTime() + delay).toISOString();
      log.warn({ ticket: write.ticketId, op: write.op, attempt: write.attempts, kind: error.kind, reason: error.message, retryInMs: delay }, "RT write not delivered yet");
      if (write.attempts >= 3 && !write.reported && write.notify) {
        write.reported = true;
        this.deps.report(write.notify, `Request Tracker is not answering (${error.kind}); I will ${what} as soon as it is back.`);
      }
    } else {
      write.failed = true;
      log.error({ ticket: write.ticketId, op: write.op, kind: error.kind, status: error.status, reason: error.message }, "RT write failed");
      if (write.notify) this.deps.report(write.notify, `Sorry, I could not ${what}: ${error.message}. The change is saved here; please apply it in RT by hand.`);
    }
    await store.commit();
    return false;
  }
}
