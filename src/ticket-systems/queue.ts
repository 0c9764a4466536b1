/**
 * The durable queue of ticket-system writes (comments, status changes, tickets for peers), for
 * any system behind the `TicketSystem` port. A write is in the store before it is attempted and
 * leaves it once the system took it. Strict order per ticket (a ticket's later writes wait for
 * every earlier one, due or not: an update retried after a close would otherwise reopen it), but
 * tickets are independent: each ticket with work gets a lane, up to `concurrency` lanes at once,
 * so one slow or hanging request holds up its own ticket only. Temporary faults are retried with
 * backoff; an attempt whose answer never came is checked against the system before it is made
 * again; whoever asked is told of a delay (once, in the ticket's thread), of the landing after a
 * delay, and of a final failure.
 *
 * Lanes commit concurrently with each other and with the intake, so a write is always read again
 * from the store right before it is changed, and only the fields this step sets are replaced: a
 * write that left the store meanwhile is never put back.
 */
import type { Logger } from "../log/logger.js";
import { ChangeSet, type TicketStore, type UpstreamWrite } from "../store/types.js";
import { ok, type Result } from "../util/result.js";
import { delayNotices, delayText, faultOf, isDue, landedFor, landedText, ticketLanes, type Notify } from "./lanes.js";
import { TEMPORARY_ERRORS, type SystemError, type TicketSystem } from "./port.js";
import { rtRetryDelayMs } from "./rt/plan.js";

export type WriteQueueDeps = {
  store: TicketStore;
  systems: readonly TicketSystem[];
  log: Logger;
  now: () => Date;
  /** Tell whoever asked (room or account) that a write is delayed, landed after all, or failed; in the ticket's XEP-0201 thread. */
  report: (notify: Notify, text: string, thread: string | undefined) => void;
  /** Tickets written at the same time (each still in strict order); default 4. */
  concurrency?: number | undefined;
  /**
   * Runs a step with the intake to itself (IntakeService.exclusive): a change to a stored ticket
   * (its new link to the system) must not race with a version the intake is planning from the
   * ticket as it was.
   */
  exclusive?: (<T>(step: () => Promise<T>) => Promise<T>) | undefined;
};

/** A write whose last attempt may or may not have reached the system. */
const UNCERTAIN = /^(timeout|unreachable|in flight)/;
const DEFAULT_CONCURRENCY = 4;

type Attempt = "delivered" | "retry" | "failed";

export class WriteQueue {
  /** Ticket → its running lane. */
  readonly #lanes = new Map<string, Promise<void>>();
  /** Shared by every caller waiting for the lanes to end (one promise, however often `deliver()` is called). */
  #idle: { promise: Promise<void>; resolve: () => void } | undefined;
  readonly #limit: number;
  /** Tickets whose lane hit a store failure: left alone until the next `deliver()` call, not retried in a loop. */
  readonly #resting = new Set<string>();
  #stopped = false;
  #timer: NodeJS.Timeout | undefined;

  constructor(private readonly deps: WriteQueueDeps) {
    this.#limit = Math.max(1, deps.concurrency ?? DEFAULT_CONCURRENCY);
  }

  /** Tickets with writes still to deliver: a poller must not take the system's older view of them. */
  pendingTickets(): ReadonlySet<string> {
    const out = new Set<string>();
    for (const w of this.deps.store.values("writes")) if (!w.failed) out.add(w.ticketId);
    return out;
  }

  /**
   * Starts a lane for every ticket with work (up to the limit; the rest follow as lanes end) and
   * resolves when no lane runs. Safe to call often: a ticket never has two lanes.
   */
  deliver(): Promise<void> {
    this.#resting.clear();
    this.#fill();
    if (this.#lanes.size === 0) return Promise.resolve();
    if (!this.#idle) {
      let resolve: () => void = () => undefined;
      const promise = new Promise<void>((r) => (resolve = r));
      this.#idle = { promise, resolve };
    }
    return this.#idle.promise;
  }

  /** Delivers now (a restart resumes the queue) and every `intervalMs` (retries that came due). */
  start(intervalMs = 5_000): void {
    void this.deliver();
    this.#timer = setInterval(() => void this.deliver(), intervalMs);
    this.#timer.unref();
  }

  /** No new attempts from now on (the store is about to close); a running attempt finishes or is checked after the restart. */
  stop(): void {
    this.#stopped = true;
    clearInterval(this.#timer);
  }

  #fill(): void {
    if (this.#stopped) return;
    const now = this.deps.now().getTime();
    for (const [ticketId, lane] of ticketLanes(this.deps.store.values("writes"))) {
      if (this.#lanes.size >= this.#limit) break;
      if (this.#lanes.has(ticketId) || this.#resting.has(ticketId) || !this.#hasWork(lane, now)) continue;
      this.#lanes.set(
        ticketId,
        this.#run(ticketId).finally(() => {
          this.#lanes.delete(ticketId);
          this.#fill();
          if (this.#lanes.size === 0) {
            this.#idle?.resolve();
            this.#idle = undefined;
          }
        }),
      );
    }
  }

  /** The head is due, or the ticket is stalled and someone waiting has not been told yet. */
  #hasWork(lane: readonly UpstreamWrite[], now: number): boolean {
    const head = lane[0];
    return head !== undefined && (isDue(head, now) || delayNotices(lane).mark.length > 0);
  }

  #lane(ticketId: string): UpstreamWrite[] {
    return ticketLanes(this.deps.store.values("writes")).get(ticketId) ?? [];
  }

  /** One ticket's writes, in order, until one has to wait. Never rejects. */
  async #run(ticketId: string): Promise<void> {
    try {
      while (!this.#stopped) {
        const head = this.#lane(ticketId)[0];
        if (!head) return;
        if (!isDue(head, this.deps.now().getTime())) return await this.#tellDelayed(ticketId);
        let outcome: Attempt;
        try {
          outcome = await this.#attempt(head);
        } catch (e) {
          this.deps.log.error({ ticket: ticketId, err: e instanceof Error ? e.stack : String(e) }, "ticket-system delivery crashed; will retry");
          this.#resting.add(ticketId);
          const current = this.deps.store.get("writes", head.id);
          if (current) await this.#patch(head.id, { nextAttemptAt: this.#retryAt(current.attempts) });
          return;
        }
        if (outcome === "retry") return await this.#tellDelayed(ticketId);
      }
    } catch (e) {
      // A store write failed (disk full, store closed): the write's state on disk says where it stands; the next pass resumes.
      this.#resting.add(ticketId);
      this.deps.log.warn({ ticket: ticketId, err: e instanceof Error ? e.message : String(e) }, "ticket-system queue could not record its progress; will resume");
    }
  }

  #system(write: UpstreamWrite): TicketSystem | undefined {
    return this.deps.systems.find((s) => s.id === write.system);
  }

  #retryAt(attempts: number): string {
    return new Date(this.deps.now().getTime() + rtRetryDelayMs(attempts)).toISOString();
  }

  /** The ticket's XEP-0201 thread in rooms: its incident's. */
  #thread(ticketId: string): string | undefined {
    const incident = this.deps.store.ticket(ticketId)?.incident;
    return incident === undefined ? undefined : this.deps.store.get("incidents", incident)?.thread;
  }

  /** Sets some fields of a write as the store has it now; a write no longer there stays gone. */
  async #patch(id: string, fields: Partial<UpstreamWrite>, extra?: (c: ChangeSet) => void): Promise<UpstreamWrite | undefined> {
    const current = this.deps.store.get("writes", id);
    if (!current) return undefined;
    const next: UpstreamWrite = { ...current, ...fields };
    const changes = new ChangeSet().put("writes", id, next);
    extra?.(changes);
    await this.deps.store.commit(changes);
    return next;
  }

  async #attempt(queued: UpstreamWrite): Promise<Attempt> {
    const { store, log } = this.deps;
    const system = this.#system(queued);
    if (!system) return this.#finish(queued, { kind: "rejected", message: `no ticket system "${queued.system}" is configured` }, undefined);
    const stored = store.ticket(queued.ticketId);
    const ref = queued.ref ?? (stored?.upstream?.system === system.id ? stored.upstream.id : undefined);
    if (queued.op !== "create" && ref === undefined) {
      const waiting = [...store.values("writes")].some((w) => w.ticketId === queued.ticketId && w.op === "create" && !w.failed);
      if (!waiting) return this.#finish(queued, { kind: "not-found", message: `${queued.ticketId} has no linked ${system.label} ticket` }, system);
      // Its ticket is still to be created (by a write further back in the queue): look again later.
      await this.#patch(queued.id, { nextAttemptAt: this.#retryAt(1) });
      return "retry";
    }
    const previousAttempt = queued.lastAttempt;
    // Unknown outcome: the answer never came (timeout, reset) or the bot stopped mid-attempt.
    const uncertain = queued.attempts > 0 && UNCERTAIN.test(queued.lastError ?? "in flight");
    // The attempt is on disk before the system sees it.
    const attempting = await this.#patch(queued.id, { attempts: queued.attempts + 1, lastAttempt: this.deps.now().toISOString(), lastError: "in flight" });
    if (!attempting) return "delivered"; // gone meanwhile: nothing of ours to do

    const result =
      attempting.op === "create"
        ? await this.#create(system, attempting, uncertain ? previousAttempt : undefined)
        : await this.#comment(system, attempting, ref ?? "", uncertain ? previousAttempt : undefined);
    const write = store.get("writes", attempting.id) ?? attempting;
    if (!result.ok) return this.#finish(write, result.error, system);
    log.info({ ticket: write.ticketId, system: system.id, ref: result.value, op: write.op, status: write.status, attempt: write.attempts }, "ticket-system write delivered");
    return this.#finish({ ...write, ref: result.value }, undefined, system);
  }

  async #create(system: TicketSystem, write: UpstreamWrite, afterUncertain: string | undefined): Promise<Result<string, SystemError>> {
    // Already created by an earlier attempt (only the status change failed): never create twice.
    let ref: string | undefined = write.ref;
    if (ref === undefined && afterUncertain) {
      const found = await system.findCreated(write, afterUncertain);
      if (found.ok) ref = found.value;
    }
    if (ref === undefined) {
      const created = await system.create(write);
      if (!created.ok) return created;
      ref = created.value;
    }
    const id = ref;
    const link = (): Promise<UpstreamWrite | undefined> =>
      this.#patch(write.id, { ref: id, commented: true }, (c) => {
        // Read with the intake held: nothing plans from the ticket as it was while this commits.
        const t = this.deps.store.ticket(write.ticketId);
        if (t) c.put("tickets", t.ticket.TT_ID, { ...t, upstream: { system: system.id, id } });
      });
    await (this.deps.exclusive ? this.deps.exclusive(link) : link());
    if (write.status) {
      const set = await system.setStatus(id, write.status);
      if (!set.ok) return set;
    }
    return ok(id);
  }

  async #comment(system: TicketSystem, write: UpstreamWrite, ref: string, afterUncertain: string | undefined): Promise<Result<string, SystemError>> {
    let commented = write.commented === true;
    if (!commented && afterUncertain) {
      // The answer to the last attempt never came: look for the write in the system before writing it again.
      const found = await system.hasComment(ref, write, afterUncertain);
      if (!found.ok) return found;
      commented = found.value;
    }
    if (!commented) {
      const posted = await system.comment(ref, write);
      if (!posted.ok) return posted;
    }
    if (!write.commented) await this.#patch(write.id, { commented: true });
    if (write.status) {
      const set = await system.setStatus(ref, write.status);
      if (!set.ok) return set;
    }
    return ok(ref);
  }

  /** Removes a delivered write, or schedules/reports a failed one. */
  async #finish(write: UpstreamWrite, error: SystemError | undefined, system: TicketSystem | undefined): Promise<Attempt> {
    const { log } = this.deps;
    const label = system?.label ?? write.system;
    if (!error) {
      const landed = landedFor(write, this.#lane(write.ticketId));
      await this.deps.store.commit(new ChangeSet().delete("writes", write.id));
      if (landed) this.deps.report(landed, landedText(label, write.ticketId, write.ref), this.#thread(write.ticketId));
      return "delivered";
    }
    const lastError = `${error.kind}: ${error.message}`;
    const what = write.op === "create" ? `create a ${label} ticket for ${write.ticketId}` : `write ${write.ticketId}'s change to ${label} ticket #${write.ref ?? "?"}`;
    if (TEMPORARY_ERRORS.has(error.kind)) {
      const nextAttemptAt = this.#retryAt(write.attempts);
      log.warn(
        { ticket: write.ticketId, system: write.system, op: write.op, attempt: write.attempts, kind: error.kind, reason: error.message, retryAt: nextAttemptAt },
        "ticket-system write not delivered yet",
      );
      await this.#patch(write.id, { lastError, nextAttemptAt });
      return "retry";
    }
    log.error({ ticket: write.ticketId, system: write.system, op: write.op, kind: error.kind, status: error.status, reason: error.message }, "ticket-system write failed");
    await this.#patch(write.id, { lastError, failed: true });
    if (write.notify)
      this.deps.report(write.notify, `Sorry, I could not ${what}: ${error.message}. The change is saved here; please apply it in ${label} by hand.`, this.#thread(write.ticketId));
    return "failed";
  }

  /** A stalled ticket: everyone whose write waits on it and who was not told yet is told now, once. */
  async #tellDelayed(ticketId: string): Promise<void> {
    const lane = this.#lane(ticketId);
    const { mark, tell } = delayNotices(lane);
    if (mark.length === 0) return;
    const head = lane[0];
    const system = head ? this.#system(head) : undefined;
    const label = system?.label ?? head?.system ?? "the ticket system";
    const changes = new ChangeSet();
    for (const id of mark) {
      const current = this.deps.store.get("writes", id);
      if (current) changes.put("writes", id, { ...current, reported: true });
    }
    // Marked first: a notice may be lost to a crash right here, but never sent twice.
    await this.deps.store.commit(changes);
    const ref = lane.find((w) => w.ref !== undefined)?.ref ?? (system ? this.#upstreamId(ticketId, system) : undefined);
    const thread = this.#thread(ticketId);
    for (const t of tell) this.deps.report(t.notify, delayText(label, head ? faultOf(head) : "no answer", ticketId, ref, t.writes), thread);
  }

  #upstreamId(ticketId: string, system: TicketSystem): string | undefined {
    const up = this.deps.store.ticket(ticketId)?.upstream;
    return up?.system === system.id ? up.id : undefined;
  }
}
