/**
 * Delivery of the durable outbox to rooms. An entry leaves the store only when the room echoes it
 * back (matched by origin-id, XEP-0359), live or in the history replayed on join; so a crash
 * between send and echo re-sends at most what the room never showed.
 */
import type { Logger } from "../log/logger.js";
import { ChangeSet, type OutboxEntry, type TicketStore } from "../store/types.js";
import { backoffMs } from "../util/backoff.js";
import { noTelemetry, type Telemetry } from "../ops/telemetry.js";
import type { RoomPort } from "../xmpp/room-client.js";

export type DeliveryOptions = {
  /** Re-send an entry whose echo has not come back within this time. */
  echoTimeoutMs: number;
  /** Messages in flight per room: keeps a big backlog from flooding the room (and its server's limits). */
  windowPerRoom: number;
  deliveryCommitDelayMs?: number;
};

/** Refusals of one message before it is given up (backoff 10 s … 1 h: about a day). */
const MAX_ATTEMPTS = 30;

export class OutboxDelivery {
  readonly #inFlight = new Map<string, number>();
  readonly #retryAt = new Map<string, number>();
  /** Attempts made in this run, on top of what the entry says (written when a room refuses it). */
  readonly #attempts = new Map<string, number>();
  /** Echoed, not yet removed from the store (removals are written in batches). */
  readonly #delivered = new Set<string>();
  #timer: NodeJS.Timeout | undefined;
  #commitTimer: NodeJS.Timeout | undefined;
  #stopped = false;
  #kicking = false;
  #again = false;

  constructor(
    private readonly store: TicketStore,
    private readonly rooms: RoomPort,
    private readonly log: Logger,
    // The window stays within the history a room replays on join (Prosody keeps 20 by default), so
    // after a crash every unconfirmed post can be recognised there instead of being sent again.
    private readonly options: DeliveryOptions = { echoTimeoutMs: 60_000, windowPerRoom: 20 },
    private readonly now: () => number = Date.now,
    private readonly telemetry: Telemetry = noTelemetry,
  ) {}

  start(intervalMs = 5_000): void {
    this.#timer = setInterval(() => void this.kick(), intervalMs);
    this.#timer.unref();
  }

  /** Stops sending (echoes are still taken: see `flush`). */
  stop(): void {
    this.#stopped = true;
    clearInterval(this.#timer);
    if (this.#commitTimer) {
      clearTimeout(this.#commitTimer);
      this.#commitTimer = undefined;
    }
  }

  /** Writes the echoes seen so far (at shutdown, once the rooms are left). */
  flush(): Promise<void> {
    return this.#commitDelivered();
  }

  /** Sends what can be sent now. Safe to call often: overlapping calls collapse into one more pass. */
  async kick(): Promise<void> {
    if (this.#kicking) {
      this.#again = true;
      return;
    }
    this.#kicking = true;
    try {
      do {
        this.#again = false;
        await this.#pass();
      } while (this.#again && !this.#stopped);
    } finally {
      this.#kicking = false;
    }
  }

  async #pass(): Promise<void> {
    if (this.#stopped) return;
    const now = this.now();
    const perRoom = new Map<string, number>();
    for (const [id, sentAt] of this.#inFlight) if (now - sentAt > this.options.echoTimeoutMs) this.#inFlight.delete(id);
    // A snapshot: echoes arriving during an `await send` mark entries delivered, so each entry is
    // looked at again before it is sent.
    for (const entry of [...this.store.values("outbox")]) {
      if (this.#delivered.has(entry.id) || this.store.get("outbox", entry.id) === undefined) continue;
      if (this.#inFlight.has(entry.id)) {
        perRoom.set(entry.room, (perRoom.get(entry.room) ?? 0) + 1);
        continue;
      }
      if (!this.rooms.isJoined(entry.room) || (this.#retryAt.get(entry.id) ?? 0) > now) continue;
      if ((perRoom.get(entry.room) ?? 0) >= this.options.windowPerRoom) continue;
      perRoom.set(entry.room, (perRoom.get(entry.room) ?? 0) + 1);
      this.#inFlight.set(entry.id, now);
      const attempts = this.#attemptsOf(entry) + 1;
      this.#attempts.set(entry.id, attempts);
      if (attempts > 1) this.log.info({ room: entry.room, id: entry.id, attempt: attempts }, "re-sending room message");
      try {
        await this.rooms.send({ room: entry.room, id: entry.id, body: entry.body, json: entry.json, thread: entry.thread, replyTo: entry.replyTo });
        this.telemetry.sent(entry.room);
      } catch (e) {
        this.#inFlight.delete(entry.id);
        this.#fail(entry, (e as Error).message);
      }
    }
  }

  #attemptsOf(entry: OutboxEntry): number {
    return this.#attempts.get(entry.id) ?? entry.attempts;
  }

  /** The room showed our message (live echo or history replay): it is delivered. Returns the entry. */
  delivered(originId: string): OutboxEntry | undefined {
    const entry = this.store.get("outbox", originId);
    const sentAt = this.#inFlight.get(originId);
    if (entry && sentAt !== undefined && !this.#delivered.has(originId)) this.telemetry.echoed(this.now() - sentAt);
    this.#inFlight.delete(originId);
    this.#retryAt.delete(originId);
    if (!entry || this.#delivered.has(originId)) return entry;
    this.#delivered.add(originId);
    this.#commitSoon();
    // A slot in the room's window is free again.
    this.#again = true;
    if (!this.#kicking) void this.kick();
    return entry;
  }

  /**
   * Deliveries are written in batches, and a delivery mark lost in a crash costs nothing (the
   * history replay on join recognises the message again).
   */
  #commitSoon(delayMs = this.options.deliveryCommitDelayMs ?? 250): void {
    if (this.#commitTimer || this.#stopped) return;
    this.#commitTimer = setTimeout(() => {
      this.#commitTimer = undefined;
      void this.#commitDelivered();
    }, delayMs);
  }

  async #commitDelivered(): Promise<void> {
    const ids = [...this.#delivered].filter((id) => this.store.get("outbox", id) !== undefined);
    if (ids.length === 0) return;
    const changes = new ChangeSet();
    for (const id of ids) changes.delete("outbox", id);
    try {
      await this.store.commit(changes);
      for (const id of ids) {
        this.#delivered.delete(id);
        this.#attempts.delete(id);
      }
    } catch (e) {
      this.log.warn({ err: (e as Error).message, delivered: ids.length }, "delivery marks not written yet; trying again");
      this.#commitSoon(5_000);
    }
  }

  /** The room refused the message (e.g. not allowed to speak, too long): retried with backoff, logged. */
  refused(id: string, room: string, reason: string): void {
    const entry = this.store.get("outbox", id);
    if (!entry || entry.room !== room) return;
    this.#inFlight.delete(id);
    this.#fail(entry, reason);
  }

  #fail(entry: OutboxEntry, reason: string): void {
    const attempts = this.#attemptsOf(entry);
    // A room that keeps refusing (the bot lost its voice, the message is too long) is not retried
    // for ever: after a day of tries the entry is dropped, with an error an admin will see.
    if (attempts >= MAX_ATTEMPTS) {
      this.store.commit(new ChangeSet().delete("outbox", entry.id)).catch((e: unknown) => this.log.warn({ err: (e as Error).message }, "store write failed"));
      this.log.error({ room: entry.room, id: entry.id, ticket: entry.ticketId, attempts, reason }, "room message dropped: the room kept refusing it");
      return;
    }
    const delay = backoffMs(attempts + 1, { baseMs: 5_000, maxMs: 3_600_000 });
    this.#retryAt.set(entry.id, this.now() + delay);
    // The count survives a restart, so a message refused all day is given up even across restarts.
    const updated: OutboxEntry = { ...entry, attempts, lastAttempt: new Date(this.now()).toISOString(), lastError: reason };
    this.store.commit(new ChangeSet().put("outbox", entry.id, updated)).catch((e: unknown) => this.log.warn({ err: (e as Error).message }, "store write failed"));
    this.log.error({ room: entry.room, id: entry.id, ticket: entry.ticketId, attempt: attempts, reason, retryInMs: delay }, "room message not delivered");
  }
}
