/**
 * Keeps each room's subject showing its service's state (./subject.ts), set when the state
 * changes but at most once a minute per room, and only where the room lets the bot (a room that
 * refuses is left alone until the bot joins it again).
 */
import type { IncidentPort } from "../intake/incidents.js";
import type { Logger } from "../log/logger.js";
import type { StoredTicket, StoreReader } from "../store/types.js";
import { roomSubject } from "./subject.js";

export type SubjectRoom = { jid: string; label: string };

export type SubjectPort = {
  /** Sends the subject change; resolves with the stanza id (a refusal comes back with it). */
  setSubject(room: string, subject: string): Promise<string>;
  /** The subject the room has now, as it told us (on join and on every change). */
  subjectOf(room: string): string | undefined;
  isJoined(room: string): boolean;
};

export type SubjectDeps = {
  rooms: readonly SubjectRoom[];
  store: Pick<StoreReader, "values">;
  incidents: Pick<IncidentPort, "roomsOf">;
  xmpp: SubjectPort;
  timeZone: string;
  log: Logger;
  now: () => Date;
  minIntervalMs?: number | undefined;
};

export class SubjectKeeper {
  readonly #lastSet = new Map<string, number>();
  readonly #sent = new Map<string, string>();
  readonly #refused = new Set<string>();
  #timer: NodeJS.Timeout | undefined;
  #tick: NodeJS.Timeout | undefined;

  constructor(private readonly deps: SubjectDeps) {}

  /** Looks every minute too: maintenance starts and ends with no ticket changing. */
  start(): void {
    this.#tick = setInterval(() => this.kick(), 60_000);
    this.#tick.unref();
    this.kick();
  }

  stop(): void {
    clearInterval(this.#tick);
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** Something changed: look again shortly (changes in a row make one look). */
  kick(delayMs = 1_000): void {
    if (this.#timer) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.#look().catch((e: unknown) => this.deps.log.warn({ err: (e as Error).message }, "room subjects not updated"));
    }, delayMs);
    this.#timer.unref();
  }

  /** The room joined again: it may let the bot now. */
  joined(room: string): void {
    this.#refused.delete(room);
    this.kick();
  }

  /** A stanza error for one of our subject changes: the room does not let the bot set it. */
  refused(id: string, room: string, reason: string): void {
    if (this.#sent.get(room) !== id) return;
    this.#refused.add(room);
    this.deps.log.warn({ room, reason }, "the room does not let the bot set its subject; left as it is (give the bot moderator rights, or set rooms[].subject false)");
  }

  /** Tickets per room: ours posted there, and peers' in an incident that is in the room. */
  #ticketsByRoom(): Map<string, StoredTicket[]> {
    const byRoom = new Map<string, StoredTicket[]>(this.deps.rooms.map((r) => [r.jid, []]));
    for (const t of this.deps.store.values("tickets")) {
      const rooms = t.remote ? (t.incident ? this.deps.incidents.roomsOf(t.incident) : []) : t.rooms;
      for (const room of rooms) byRoom.get(room)?.push(t);
    }
    return byRoom;
  }

  async #look(): Promise<void> {
    const now = this.deps.now().getTime();
    const minInterval = this.deps.minIntervalMs ?? 60_000;
    const byRoom = this.#ticketsByRoom();
    let soonest = Infinity;
    for (const room of this.deps.rooms) {
      if (this.#refused.has(room.jid) || !this.deps.xmpp.isJoined(room.jid)) continue;
      const subject = roomSubject({ label: room.label, tickets: byRoom.get(room.jid) ?? [], now, timeZone: this.deps.timeZone });
      if (this.deps.xmpp.subjectOf(room.jid) === subject) continue;
      const wait = (this.#lastSet.get(room.jid) ?? -Infinity) + minInterval - now;
      if (wait > 0) {
        soonest = Math.min(soonest, wait);
        continue;
      }
      this.#lastSet.set(room.jid, now);
      this.#sent.set(room.jid, await this.deps.xmpp.setSubject(room.jid, subject));
    }
    if (soonest !== Infinity) this.kick(soonest);
  }
}
