/**
 * Delivery of the durable outbox to rooms. An entry leaves the store only when the room echoes it
 * back (matched by origin-id, XEP-0359), live or in the history replayed on join; so a crash
 * between send and echo re-sends at most what the room never showed.
 */
import type { Logger } from "../log/logger.js";
import type { TicketStore } from "../store/lowdb-store.js";
import type { OutboxEntry } from "../store/types.js";
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
  ) {}

  start(intervalMs = 5_000): void {
    this.#timer = setInterval(() => void this.kick(), intervalMs);
    this.#timer.unref();
  }

  stop(): void {
    this.#stopped = true;
    clearInterval(this.#timer);
    if (this.#commitTimer) {
      clearTimeout(this.#commitTimer);
      this.#commitTimer = undefined;
    }
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
      } while (this.#again);
    } finally {
      this.#kicking = false;
    }
  }

  async #pass(): Promise<void> {
    const now = this.now();
    const perRoom = new Map<string, number>();
    for (const [id, sentAt] of this.#inFlight) if (now - sentAt > this.options.echoTimeoutMs) this.#inFlight.delete(id);
    // A snapshot: echoes arriving during an `await send` remove entries from the live outbox, so
    // each entry is looked up again before it is sent.
    for (const entry of [...this.store.pendingOutbox()]) {
      if (!this.store.isQueued(entry.id)) continue; // delivered meanwhile, or not yet on disk
      if (this.#inFlight.has(entry.id)) {
        perRoom.set(entry.room, (perRoom.get(entry.room) ?? 0) + 1);
        continue;
      }
      if (!this.rooms.isJoined(entry.room) || (this.#retryAt.get(entry.id) ?? 0) > now) continue;
      if ((perRoom.get(entry.room) ?? 0) >= this.options.windowPerRoom) continue;
      perRoom.set(entry.room, (perRoom.get(entry.room) ?? 0) + 1);
      this.#inFlight.set(entry.id, now);
      entry.attempts += 1;
      entry.lastAttempt = new Date(now).toISOString();
      if (entry.attempts > 1) this.log.info({ room: entry.room, id: entry.id, attempt: entry.attempts }, "re-sending room message");
      try {
        await this.rooms.send({ room: entry.room, id: entry.id, body: entry.body, json: entry.json, thread: entry.thread, replyTo: entry.replyTo });
      } catch (e) {
        this.#inFlight.delete(entry.id);
        this.#fail(entry, (e as Error).message);
      }
    }
  }

  /** The room showed our message (live echo or history replay): it is delivered. Returns the entry. */
  delivered(originId: string): OutboxEntry | undefined {
    const entry = this.store.pendingOutbox().find((e) => e.id === originId);
    this.store.update((d) => {
      d.outbox = d.outbox.filter((e) => e.id !== originId);
    });
    this.#inFlight.delete(originId);
    this.#retryAt.delete(originId);
    if (entry) {
      this.#commitSoon();
      // A slot in the room's window is free again.
      this.#again = true;
      if (!this.#kicking) void this.kick();
    }
    return entry;
  }

  /**
   * Deliveries are written in batches: the store file is rewritten whole, and a delivery mark lost
   * in a crash costs nothing (the history replay on join recognises the message again).
   */
  #commitSoon(): void {
    if (this.#commitTimer || this.#stopped) return;
    this.#commitTimer = setTimeout(() => {
      this.#commitTimer = undefined;
      this.store.commit().catch((e: unknown) => this.log.error({ err: (e as Error).message }, "store write failed"));
    }, this.options.deliveryCommitDelayMs ?? 250);
  }

  /** The room refused the message (e.g. not allowed to speak, too long): retried with backoff, logged. */
  refused(id: string, room: string, reason: string): void {
    const entry = this.store.pendingOutbox().find((e) => e.id === id && e.room === room);
    if (!entry) return;
    this.#inFlight.delete(id);
    this.#fail(entry, reason);
  }

  #fail(entry: OutboxEntry, reason: string): void {
    // A room that keeps refusing (the bot lost its voice, the message is too long) is not retried
    // for ever: after a day of tries the entry is dropped, with an error an admin will see.
    if (entry.attempts >= MAX_ATTEMPTS) {
      this.store.update((d) => (d.outbox = d.outbox.filter((e) => e !== entry)));
      this.#commitSoon();
      this.log.error({ room: entry.room, id: entry.id, ticket: entry.ticketId, attempts: entry.attempts, reason }, "room message dropped: the room kept refusing it");
      return;
    }
    const delay = Math.min(3_600_000, 5_000 * 2 ** Math.min(entry.attempts, 10));
    this.#retryAt.set(entry.id, this.now() + delay);
    entry.lastError = reason;
    this.log.error({ room: entry.room, id: entry.id, ticket: entry.ticketId, attempt: entry.attempts, reason, retryInMs: delay }, "room message not delivered");
  }
}
