/**
 * Delivery of the durable outbox to rooms. An entry leaves the store only when the room echoes it
 * back (matched by origin-id, XEP-0359), live, in the history replayed on join, or in the room's
 * archive (XEP-0313, src/xmpp/mam.ts); so a crash between send and echo re-sends at most what the
 * room never showed.
 *
 * Per room, entries wait in a queue in outbox order and at most a window of them is unconfirmed at
 * once. The window must stay within what the bot can recognise after a crash: the join history
 * (20 messages on Prosody) for a room without an archive; much more where the room has one.
 * Everything here is O(1) per message: the queues follow the store's commits (`onApplied`), a pass
 * only looks at rooms that can send, and an echo touches its own entry only (a pass over the whole
 * outbox per echo made a 2000-message backlog quadratic: 482,125 look-ups for 2000 sends).
 */
import type { Logger } from "../log/logger.js";
import { ChangeSet, type OutboxEntry, type TicketStore } from "../store/types.js";
import { backoffMs } from "../util/backoff.js";
import { noTelemetry, type Telemetry } from "../ops/telemetry.js";
import type { RoomPort } from "../xmpp/room-client.js";
import type { OutgoingRoomMessage } from "../xmpp/stanzas.js";

export type DeliveryOptions = {
  /** Re-send an entry whose echo has not come back within this time. */
  echoTimeoutMs: number;
  /** Messages in flight per room, unless `windowFor` says otherwise for a room. */
  windowPerRoom: number;
  /** A room's own window (larger where the room's archive recognises every post after a crash). */
  windowFor?: ((room: string) => number) | undefined;
  deliveryCommitDelayMs?: number;
};

/** Refusals of one message before it is given up (backoff 10 s … 1 h: about a day). */
const MAX_ATTEMPTS = 30;

/**
 * Echoes that come in within this time share one write of their delivery marks (one fsync for
 * many). Short, as the marked messages hold their window slots until then: a room without an
 * archive (window 20) still sends up to 2000 messages per second.
 */
const DELIVERY_COMMIT_DELAY_MS = 10;

/** Entries sent in one write at most (see `#pass`): a few hundred kB for the biggest messages. */
const SEND_BATCH = 25;

/** The join history Prosody replays by default: a room without an archive can recognise this many. */
export const HISTORY_WINDOW = 20;

/** A room's waiting entries, in outbox order (ids; the store holds the entries). */
class RoomQueue {
  /** Ids to send, oldest first; `head` is the next one (the array is cut down now and then). */
  ids: string[] = [];
  head = 0;
  readonly queued = new Set<string>();
  /** Ids sent and not yet echoed, in the order sent. */
  readonly inFlight = new Map<string, number>();
  /** Ids refused by the room, waiting for their next attempt (id → when). */
  readonly waiting = new Map<string, number>();
  /**
   * Ids the room showed whose delivery mark is not on disk yet. They keep their slot in the window
   * until it is: after a crash the store still lists them, and only the window's worth of them is
   * sure to be recognised on rejoin (a snapshot that held up the marks once let thousands of shown
   * messages pile up unmarked, and 3,662 were sent twice after a kill -9).
   */
  readonly marking = new Set<string>();
  /** When the room last showed one of our messages (0: not in this run). */
  lastEchoAt = 0;

  /** Slots of the window taken: sent and unconfirmed, or confirmed and not yet marked on disk. */
  get taken(): number {
    return this.inFlight.size + this.marking.size;
  }

  push(id: string): void {
    if (this.queued.has(id) || this.inFlight.has(id) || this.waiting.has(id)) return;
    this.queued.add(id);
    this.ids.push(id);
  }

  /** Put back in front (a re-send after a rejoin or a time-out), keeping their order. */
  unshift(ids: readonly string[]): void {
    const fresh = ids.filter((id) => !this.queued.has(id));
    for (const id of fresh) this.queued.add(id);
    this.ids = [...fresh, ...this.ids.slice(this.head)];
    this.head = 0;
  }

  next(): string | undefined {
    while (this.head < this.ids.length) {
      const id = this.ids[this.head++] as string;
      if (this.head > 1024 && this.head * 2 > this.ids.length) {
        this.ids = this.ids.slice(this.head);
        this.head = 0;
      }
      if (this.queued.delete(id)) return id;
    }
    return undefined;
  }

  get pending(): number {
    return this.queued.size;
  }
}

export class OutboxDelivery {
  readonly #queues = new Map<string, RoomQueue>();
  /** The queue each known id is in. */
  readonly #roomOf = new Map<string, RoomQueue>();
  /** Attempts made in this run, on top of what the entry says (written when a room refuses it). */
  readonly #attempts = new Map<string, number>();
  /** Echoed, not yet removed from the store (removals are written in batches). */
  readonly #delivered = new Set<string>();
  /** Delivery marks being written now. */
  readonly #writing = new Set<string>();
  #timer: NodeJS.Timeout | undefined;
  #commitTimer: NodeJS.Timeout | undefined;
  #stopped = false;
  #kicking: Promise<void> | undefined;
  #again = false;

  constructor(
    private readonly store: TicketStore,
    private readonly rooms: RoomPort,
    private readonly log: Logger,
    private readonly options: DeliveryOptions = { echoTimeoutMs: 60_000, windowPerRoom: HISTORY_WINDOW },
    private readonly now: () => number = Date.now,
    private readonly telemetry: Telemetry = noTelemetry,
  ) {
    for (const entry of store.values("outbox")) this.#track(entry);
    store.onApplied((changes) => this.#follow(changes));
  }

  #queue(room: string): RoomQueue {
    const key = room.toLowerCase();
    let q = this.#queues.get(key);
    if (!q) {
      q = new RoomQueue();
      this.#queues.set(key, q);
    }
    return q;
  }

  #track(entry: OutboxEntry): void {
    const q = this.#queue(entry.room);
    this.#roomOf.set(entry.id, q);
    q.push(entry.id);
  }

  /** New outbox entries join their room's queue; removed ones are forgotten. */
  #follow(changes: ChangeSet): void {
    for (const [collection, id, value] of changes.entries()) {
      if (collection !== "outbox") continue;
      if (value === null) this.#forget(id);
      else this.#track(value as OutboxEntry);
    }
  }

  #forget(id: string): void {
    const q = this.#roomOf.get(id);
    this.#roomOf.delete(id);
    q?.queued.delete(id);
    q?.inFlight.delete(id);
    q?.waiting.delete(id);
    q?.marking.delete(id);
    this.#delivered.delete(id);
    this.#attempts.delete(id);
  }

  start(intervalMs = 5_000): void {
    this.#timer = setInterval(() => {
      this.#expire();
      void this.kick();
    }, intervalMs);
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

  /** Messages queued or unconfirmed for a room (for the archive query on rejoin). */
  pendingIn(room: string): OutboxEntry[] {
    const q = this.#queues.get(room.toLowerCase());
    if (!q) return [];
    const out: OutboxEntry[] = [];
    for (const id of [...q.inFlight.keys(), ...q.waiting.keys(), ...q.queued]) {
      const e = this.store.get("outbox", id);
      if (e && !this.#delivered.has(id)) out.push(e);
    }
    return out;
  }

  /**
   * The room was (re)joined and showed what it has of ours (history, archive): what was in flight
   * and did not come back never arrived, so it goes out again first, in the order it was sent.
   */
  joined(room: string): void {
    const q = this.#queues.get(room.toLowerCase());
    if (q && q.inFlight.size > 0) {
      const lost = [...q.inFlight.keys()].filter((id) => !this.#delivered.has(id));
      q.inFlight.clear();
      q.unshift(lost);
    }
    void this.kick();
  }

  /**
   * Sends what can be sent now. Safe to call often: overlapping calls collapse into one more pass,
   * and every caller's promise settles once that pass is done.
   */
  kick(): Promise<void> {
    this.#again = true;
    this.#kicking ??= (async () => {
      try {
        while (this.#again && !this.#stopped) {
          this.#again = false;
          await this.#pass();
        }
      } finally {
        this.#kicking = undefined;
      }
    })();
    return this.#kicking;
  }

  /** Entries whose echo is overdue go out again (checked on the timer, not per echo). */
  #expire(): void {
    const now = this.now();
    for (const q of this.#queues.values()) {
      const overdue: string[] = [];
      // A message is overdue only once its room has shown none of ours for the whole time: a room
      // still echoing works through what it was sent, in order, and a busy server (ejabberd with
      // a window of 1,000 queued behind a killed session's) may take longer than that for the
      // last of them. Sent again then, it was shown twice.
      for (const [id, sentAt] of q.inFlight) if (now - Math.max(sentAt, q.lastEchoAt) > this.options.echoTimeoutMs) overdue.push(id);
      for (const id of overdue) q.inFlight.delete(id);
      if (overdue.length > 0) q.unshift(overdue);
      for (const [id, at] of q.waiting)
        if (at <= now) {
          q.waiting.delete(id);
          q.unshift([id]);
        }
    }
  }

  #windowOf(room: string): number {
    return this.options.windowFor?.(room) ?? this.options.windowPerRoom;
  }

  async #pass(): Promise<void> {
    for (const [room, q] of this.#queues) {
      if (this.#stopped) return;
      if (q.pending === 0 || !this.rooms.isJoined(room)) continue;
      const window = this.#windowOf(room);
      while (q.taken < window && !this.#stopped) {
        if (!this.rooms.isJoined(room)) break;
        // Up to SEND_BATCH entries of the window go out in one write (in order).
        const batch: OutboxEntry[] = [];
        while (batch.length < SEND_BATCH && q.taken < window) {
          const id = q.next();
          if (id === undefined) break;
          const entry = this.store.get("outbox", id);
          if (!entry || this.#delivered.has(id)) continue;
          q.inFlight.set(entry.id, this.now());
          batch.push(entry);
        }
        if (batch.length === 0) break;
        await this.#send(q, batch);
      }
    }
  }

  async #send(q: RoomQueue, batch: readonly OutboxEntry[]): Promise<void> {
    for (const entry of batch) {
      const attempts = this.#attemptsOf(entry) + 1;
      this.#attempts.set(entry.id, attempts);
      if (attempts > 1) this.log.info({ room: entry.room, id: entry.id, attempt: attempts }, "re-sending room message");
    }
    const message = (entry: OutboxEntry): OutgoingRoomMessage => ({ room: entry.room, id: entry.id, body: entry.body, json: entry.json, thread: entry.thread, replyTo: entry.replyTo });
    let sent = 0;
    try {
      if (batch.length > 1 && this.rooms.sendMany) {
        await this.rooms.sendMany(batch.map(message));
        sent = batch.length;
      } else
        for (const entry of batch) {
          await this.rooms.send(message(entry));
          sent++;
        }
    } catch (e) {
      // What is not known to have gone out is tried again, as a refusal would be.
      for (const entry of batch.slice(sent)) {
        q.inFlight.delete(entry.id);
        this.#fail(entry, (e as Error).message);
      }
    }
    for (const entry of batch.slice(0, sent)) this.telemetry.sent(entry.room);
  }

  #attemptsOf(entry: OutboxEntry): number {
    return this.#attempts.get(entry.id) ?? entry.attempts;
  }

  /** The room showed our message (live echo, history replay, archive): it is delivered. Returns the entry. */
  delivered(originId: string): OutboxEntry | undefined {
    const entry = this.store.get("outbox", originId);
    if (!entry) return undefined;
    const q = this.#queues.get(entry.room.toLowerCase());
    const sentAt = q?.inFlight.get(originId);
    if (this.#delivered.has(originId)) return entry;
    if (sentAt !== undefined) this.telemetry.echoed(this.now() - sentAt);
    if (q) q.lastEchoAt = this.now();
    q?.inFlight.delete(originId);
    q?.waiting.delete(originId);
    q?.queued.delete(originId);
    q?.marking.add(originId);
    this.#delivered.add(originId);
    // Its slot in the window is free once the mark is written (see RoomQueue.marking).
    this.#commitSoon();
    return entry;
  }

  /**
   * Deliveries are written in batches: the marks of echoes that come in within
   * DELIVERY_COMMIT_DELAY_MS, or while a write is under way, share one append. A mark lost in
   * a crash costs nothing: the message still holds its window slot, so the history replay or the
   * archive on join recognises it again.
   */
  #commitSoon(delayMs = this.options.deliveryCommitDelayMs ?? DELIVERY_COMMIT_DELAY_MS): void {
    if (this.#commitTimer || this.#stopped) return;
    this.#commitTimer = setTimeout(() => {
      this.#commitTimer = undefined;
      void this.#commitDelivered();
    }, delayMs);
  }

  async #commitDelivered(): Promise<void> {
    // Marks already on their way to disk are not written again.
    const ids = [...this.#delivered].filter((id) => !this.#writing.has(id) && this.store.get("outbox", id) !== undefined);
    if (ids.length === 0) return;
    for (const id of ids) this.#writing.add(id);
    const changes = new ChangeSet();
    for (const id of ids) changes.delete("outbox", id);
    try {
      await this.store.commit(changes);
    } catch (e) {
      for (const id of ids) this.#writing.delete(id);
      this.log.warn({ err: (e as Error).message, delivered: ids.length }, "delivery marks not written yet; trying again");
      this.#commitSoon(5_000);
      return;
    }
    for (const id of ids) this.#writing.delete(id);
    // The written entries left the store (and their windows: `#forget`): room for more.
    void this.kick();
  }

  /** The room refused the message (e.g. not allowed to speak, too long): retried with backoff, logged. */
  refused(id: string, room: string, reason: string): void {
    const entry = this.store.get("outbox", id);
    if (!entry || entry.room.toLowerCase() !== room.toLowerCase()) return;
    this.#queues.get(room.toLowerCase())?.inFlight.delete(id);
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
    this.#queue(entry.room).waiting.set(entry.id, this.now() + delay);
    // The count survives a restart, so a message refused all day is given up even across restarts.
    const updated: OutboxEntry = { ...entry, attempts, lastAttempt: new Date(this.now()).toISOString(), lastError: reason };
    this.store.commit(new ChangeSet().put("outbox", entry.id, updated)).catch((e: unknown) => this.log.warn({ err: (e as Error).message }, "store write failed"));
    this.log.error({ room: entry.room, id: entry.id, ticket: entry.ticketId, attempt: attempts, reason, retryInMs: delay }, "room message not delivered");
  }
}
