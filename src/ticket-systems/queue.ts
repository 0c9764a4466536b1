/**
 * The durable queue of ticket-system writes (comments, status changes, tickets for peers), for
 * any system behind the `TicketSystem` port. A write is in the store before it is attempted and
 * leaves it once the system took it. Strict order per ticket (a ticket's later writes wait for
 * every earlier one, due or not: an update retried after a close would otherwise reopen it);
 * temporary faults are retried with backoff; an attempt whose answer never came is checked
 * against the system before it is made again; whoever asked is told of a delay or a failure.
 */
import type { Logger } from "../log/logger.js";
import { ChangeSet, type TicketStore, type UpstreamWrite } from "../store/types.js";
import { ok, type Result } from "../util/result.js";
import { TEMPORARY_ERRORS, type SystemError, type TicketSystem } from "./port.js";
import { rtRetryDelayMs } from "./rt/plan.js";

export type WriteQueueDeps = {
  store: TicketStore;
  systems: readonly TicketSystem[];
  log: Logger;
  now: () => Date;
  /** Tell whoever asked (room or account) that a write is delayed or finally failed. */
  report: (notify: NonNullable<UpstreamWrite["notify"]>, text: string) => void;
};

/** A write whose last attempt may or may not have reached the system. */
const UNCERTAIN = /^(timeout|unreachable|in flight)/;

export class WriteQueue {
  #delivering = false;
  #again = false;

  constructor(private readonly deps: WriteQueueDeps) {}

  /** Tickets with writes still to deliver: a poller must not take the system's older view of them. */
  pendingTickets(): ReadonlySet<string> {
    const out = new Set<string>();
    for (const w of this.deps.store.values("writes")) if (!w.failed) out.add(w.ticketId);
    return out;
  }

  /** Delivers every due write, one at a time. Safe to call often: overlapping calls collapse into one more pass. */
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
        const blocked = new Set<string>();
        for (const queued of [...this.deps.store.values("writes")]) {
          const write = this.deps.store.get("writes", queued.id);
          if (!write || write.failed || blocked.has(write.ticketId)) continue;
          const due = Date.parse(write.nextAttemptAt ?? "1970-01-01T00:00:00Z") <= now;
          if (!due) {
            blocked.add(write.ticketId);
            continue;
          }
          let done = false;
          try {
            done = await this.#deliverOne(write);
          } catch (e) {
            this.deps.log.error({ ticket: write.ticketId, err: e instanceof Error ? e.stack : String(e) }, "ticket-system delivery crashed; will retry");
            const current = this.deps.store.get("writes", write.id);
            if (current) await this.#save({ ...current, nextAttemptAt: new Date(this.deps.now().getTime() + rtRetryDelayMs(current.attempts)).toISOString() }).catch(() => undefined);
          }
          if (!done) blocked.add(write.ticketId);
        }
      } while (this.#again);
    } finally {
      this.#delivering = false;
    }
  }

  #system(write: UpstreamWrite): TicketSystem | undefined {
    return this.deps.systems.find((s) => s.id === write.system);
  }

  async #save(write: UpstreamWrite, extra?: (c: ChangeSet) => void): Promise<UpstreamWrite> {
    const changes = new ChangeSet().put("writes", write.id, write);
    extra?.(changes);
    await this.deps.store.commit(changes);
    return write;
  }

  async #deliverOne(queued: UpstreamWrite): Promise<boolean> {
    const { store, log } = this.deps;
    const system = this.#system(queued);
    if (!system) return this.#finish(queued, { kind: "rejected", message: `no ticket system "${queued.system}" is configured` }, undefined);
    const stored = store.ticket(queued.ticketId);
    const ref = queued.ref ?? (stored?.upstream?.system === system.id ? stored.upstream.id : undefined);
    if (queued.op !== "create" && ref === undefined) {
      const waiting = [...store.values("writes")].some((w) => w.ticketId === queued.ticketId && w.op === "create" && !w.failed);
      if (waiting) return false;
      return this.#finish(queued, { kind: "not-found", message: `${queued.ticketId} has no linked ${system.label} ticket` }, system);
    }
    const previousAttempt = queued.lastAttempt;
    // Unknown outcome: the answer never came (timeout, reset) or the bot stopped mid-attempt.
    const uncertain = queued.attempts > 0 && UNCERTAIN.test(queued.lastError ?? "in flight");
    // The attempt is on disk before the system sees it.
    let write = await this.#save({ ...queued, attempts: queued.attempts + 1, lastAttempt: this.deps.now().toISOString(), lastError: "in flight" });

    let result: Result<string, SystemError>;
    if (write.op === "create") result = await this.#create(system, write, uncertain ? previousAttempt : undefined);
    else result = await this.#comment(system, write, ref ?? "", uncertain ? previousAttempt : undefined);
    write = store.get("writes", write.id) ?? write;
    if (!result.ok) return this.#finish(write, result.error, system);
    log.info({ ticket: write.ticketId, system: system.id, ref: result.value, op: write.op, status: write.status, attempt: write.attempts }, "ticket-system write delivered");
    return this.#finish(write, undefined, system);
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
    await this.#save({ ...write, ref: id, commented: true }, (c) => {
      const t = this.deps.store.ticket(write.ticketId);
      if (t) c.put("tickets", t.ticket.TT_ID, { ...t, upstream: { system: system.id, id } });
    });
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
    if (!write.commented) await this.#save({ ...write, commented: true });
    if (write.status) {
      const set = await system.setStatus(ref, write.status);
      if (!set.ok) return set;
    }
    return ok(ref);
  }

  /** Removes a delivered write, or schedules/reports a failed one. */
  async #finish(write: UpstreamWrite, error: SystemError | undefined, system: TicketSystem | undefined): Promise<boolean> {
    const { log } = this.deps;
    if (!error) {
      await this.deps.store.commit(new ChangeSet().delete("writes", write.id));
      return true;
    }
    const label = system?.label ?? write.system;
    const next: UpstreamWrite = { ...write, lastError: `${error.kind}: ${error.message}` };
    const what = write.op === "create" ? `create a ${label} ticket for ${write.ticketId}` : `write ${write.ticketId}'s change to ${label} ticket #${write.ref ?? "?"}`;
    if (TEMPORARY_ERRORS.has(error.kind)) {
      const delay = rtRetryDelayMs(write.attempts);
      next.nextAttemptAt = new Date(this.deps.now().getTime() + delay).toISOString();
      log.warn({ ticket: write.ticketId, system: write.system, op: write.op, attempt: write.attempts, kind: error.kind, reason: error.message, retryInMs: delay }, "ticket-system write not delivered yet");
      if (write.attempts >= 3 && !write.reported && write.notify) {
        next.reported = true;
        this.deps.report(write.notify, `${label} is not answering (${error.kind}); I will ${what} as soon as it is back.`);
      }
    } else {
      next.failed = true;
      log.error({ ticket: write.ticketId, system: write.system, op: write.op, kind: error.kind, status: error.status, reason: error.message }, "ticket-system write failed");
      if (write.notify) this.deps.report(write.notify, `Sorry, I could not ${what}: ${error.message}. The change is saved here; please apply it in ${label} by hand.`);
    }
    await this.#save(next);
    return false;
  }
}

