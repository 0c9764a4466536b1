/**
 * Incidents: which tickets belong together (the correlation engine decides), the thread each
 * incident has in rooms, and when an incident closes. Keeps the in-memory correlation index and the
 * incident records in step with the store; rebuilt from the store at start-up.
 *
 * Changes are planned before they are made: `plan(fn)` runs `fn` against the book (later tickets
 * of one batch see the earlier ones), then puts everything back and returns the incident records
 * to write and an `apply()` that makes the same changes for good once the store write succeeded.
 */
import {
  CorrelationIndex,
  applyDecision,
  correlate,
  explainDecision,
  incidentStatus,
  type CorrelationConfig,
  type CorrelationDecision,
  type Incident,
} from "../correlate/engine.js";
import type { SavedEntry } from "../correlate/postings.js";
import { datetimeToMillis, type Ticket, type TicketStatus } from "../model/ticket.js";
import { ChangeSet, type IncidentRecord, type StoredTicket } from "../store/types.js";

export type Assignment = {
  incidentId: string;
  /** The thread id rooms show (XEP-0201); the incident's id unless a peer's smaller id was adopted. */
  thread: string;
  decision: CorrelationDecision;
  explanation: string;
  /** The incident went from open to closed (all members final) or back with this ticket. */
  closedNow: boolean;
  reopenedNow: boolean;
  /**
   * The other members, by TT_ID (for a join notice). Worked out when first read, which announcing
   * does right after `assign`: a first poll never reads it, and listing a big incident's members for
   * each of its tickets made that quadratic.
   */
  readonly others: string[];
};

export type Threading = { thread: string; incident: string; replyTo?: { id: string; to: string } | undefined };

/** A member of an incident: its status, and for a peer's ticket the room the peer posted it in. */
export type Member = { status: TicketStatus; remoteRoom?: string | undefined };

export interface IncidentPort {
  assign(ticket: Ticket, rooms: readonly string[], now: Date, remoteRoom?: string): Assignment;
  threading(incidentId: string, room: string): Threading;
  roomsOf(incidentId: string): string[];
  /** Oldest first (by TT_Open_Datetime, then TT_ID): every bot orders an incident's members alike. */
  members(incidentId: string): ({ ttId: string } & Member)[];
}

/** Planned incident changes: the records to write with the rest, and the in-memory side to apply after. */
export type PlannedIncidents<T> = { result: T; records: Map<string, IncidentRecord | null>; apply: () => void };

/** A plan left in place (`planInPlace`): `undo()` puts the book back as it was before. */
export type PlacedIncidents<T> = { result: T; records: Map<string, IncidentRecord | null>; undo: () => void };

/** The first value of every key a plan touched, to put back. */
type Undo = {
  entries: Map<string, SavedEntry | undefined>;
  status: Map<string, Member | undefined>;
  rooms: Map<string, ReadonlySet<string> | undefined>;
  records: Map<string, IncidentRecord | undefined>;
};

type Afters = {
  entries: Map<string, SavedEntry | undefined>;
  status: Map<string, Member | undefined>;
  rooms: Map<string, ReadonlySet<string> | undefined>;
  records: Map<string, IncidentRecord | undefined>;
};

export type IncidentSource = { tickets: ReadonlyMap<string, StoredTicket>; incidents: ReadonlyMap<string, IncidentRecord> };

export class IncidentBook implements IncidentPort {
  readonly #index = new CorrelationIndex();
  /** Per ticket: its status, and for a peer's ticket the room it came from. */
  readonly #status = new Map<string, Member>();
  readonly #rooms = new Map<string, ReadonlySet<string>>();
  readonly #records = new Map<string, IncidentRecord>();
  /** Thread id → incident id, for lookups by the id rooms show. */
  readonly #byThread = new Map<string, string>();
  #undo: Undo | undefined;
  /** Tickets stored before incidents existed, with the incident they were given: to write back. */
  readonly startup = new ChangeSet();

  constructor(
    source: IncidentSource,
    private readonly config: CorrelationConfig,
  ) {
    for (const rec of source.incidents.values()) this.#setRecord(rec.id, rec);
    // Oldest first, so that tickets stored before incidents existed correlate as they would have.
    // By instant, not text: "11:30+02:00" is before "10:00Z". Ties by TT_ID, so that two bots with
    // the same tickets stored in another order name the incidents alike.
    const openMs = (t: Ticket): number => datetimeToMillis(t.TT_Open_Datetime) ?? Number.POSITIVE_INFINITY;
    const stored = [...source.tickets.values()].sort(
      (a, b) => openMs(a.ticket) - openMs(b.ticket) || (a.ticket.TT_ID < b.ticket.TT_ID ? -1 : a.ticket.TT_ID > b.ticket.TT_ID ? 1 : 0),
    );
    for (const s of stored) {
      if (s.incident) {
        this.#index.add(s.ticket, s.incident);
        this.#track(s.ticket, s.rooms, s.incident, s.remote?.room);
      } else {
        const assignment = this.assign(s.ticket, s.rooms, new Date(s.lastChange), s.remote?.room);
        this.startup.put("tickets", s.ticket.TT_ID, { ...s, incident: assignment.incidentId, correlation: assignment.explanation });
      }
    }
    for (const [id, rec] of this.#records) if (source.incidents.get(id) !== rec) this.startup.put("incidents", id, rec);
  }

  get index(): CorrelationIndex {
    return this.#index;
  }

  // -------------------------------------------------------------------------------------------
  // Planning
  // -------------------------------------------------------------------------------------------

  /**
   * Runs `fn` tentatively: what it changes is seen by `fn` itself (and by everything it calls),
   * then undone. The records it changed are returned for the store write; `apply()` redoes it all.
   * A plan inside a plan is part of the outer one.
   */
  plan<T>(fn: () => T): PlannedIncidents<T> {
    const done = this.#recorded(fn);
    if (done === undefined) return { result: fn(), records: new Map(), apply: () => undefined };
    const { result, undo, records } = done;
    const afters: Afters = {
      entries: new Map([...undo.entries.keys()].map((k) => [k, this.#index.saved(k)])),
      status: new Map([...undo.status.keys()].map((k) => [k, this.#status.get(k)])),
      rooms: new Map([...undo.rooms.keys()].map((k) => [k, this.#rooms.get(k)])),
      records: new Map([...undo.records.keys()].map((k) => [k, this.#records.get(k)])),
    };
    this.#put(undo);
    return { result, records, apply: () => this.#put(afters) };
  }

  /**
   * `plan` for a plan about to be written: its changes stay in place instead of being undone now
   * and redone after the write (on a big first poll that was a tenth of the intake's time), and
   * `undo()` puts the book back should the write fail. Meanwhile the book shows the plan; the
   * intake plans and writes one batch at a time, so no other plan is made on it.
   */
  planInPlace<T>(fn: () => T): PlacedIncidents<T> {
    const done = this.#recorded(fn);
    if (done === undefined) return { result: fn(), records: new Map(), undo: () => undefined };
    const { result, undo, records } = done;
    let undone = false;
    return {
      result,
      records,
      undo: () => {
        if (!undone) this.#put(undo);
        undone = true;
      },
    };
  }

  /**
   * Runs `fn` noting the first value of everything it changes (undefined when a plan is running
   * already: then `fn` is the caller's to run, as part of it), and which records it changed.
   */
  #recorded<T>(fn: () => T): { result: T; undo: Undo; records: Map<string, IncidentRecord | null> } | undefined {
    if (this.#undo) return undefined;
    const undo: Undo = { entries: new Map(), status: new Map(), rooms: new Map(), records: new Map() };
    this.#undo = undo;
    let result: T;
    try {
      result = fn();
    } catch (e) {
      // A plan that crashed leaves nothing behind.
      this.#undo = undefined;
      this.#put(undo);
      throw e;
    }
    this.#undo = undefined;
    const records = new Map<string, IncidentRecord | null>();
    for (const [id, before] of undo.records) {
      const now = this.#records.get(id);
      if (now !== before) records.set(id, now ?? null);
    }
    return { result, undo, records };
  }

  #put(values: Afters): void {
    // `restore` sets each ticket exactly, so the order does not matter.
    for (const [ttId, saved] of values.entries) this.#index.restore(ttId, saved);
    for (const [ttId, s] of values.status) {
      if (s === undefined) this.#status.delete(ttId);
      else this.#status.set(ttId, s);
    }
    for (const [id, set] of values.rooms) {
      if (set === undefined) this.#rooms.delete(id);
      else this.#rooms.set(id, set);
    }
    for (const [id, rec] of values.records) this.#setRecord(id, rec);
  }

  #touchEntry(ttId: string): void {
    if (this.#undo && !this.#undo.entries.has(ttId)) this.#undo.entries.set(ttId, this.#index.saved(ttId));
  }

  #touchStatus(ttId: string): void {
    if (this.#undo && !this.#undo.status.has(ttId)) this.#undo.status.set(ttId, this.#status.get(ttId));
  }

  /** The incident's room set, copied before it changes (the saved one is never changed). */
  #writableRooms(incidentId: string): Set<string> {
    const current = this.#rooms.get(incidentId);
    if (this.#undo && !this.#undo.rooms.has(incidentId)) this.#undo.rooms.set(incidentId, current);
    const copy = new Set(current ?? []);
    this.#rooms.set(incidentId, copy);
    return copy;
  }

  #deleteRooms(incidentId: string): void {
    if (this.#undo && !this.#undo.rooms.has(incidentId)) this.#undo.rooms.set(incidentId, this.#rooms.get(incidentId));
    this.#rooms.delete(incidentId);
  }

  /** Records are never changed in place (the store holds them): a changed one is a new object. */
  #changeRecord(id: string, change: (rec: IncidentRecord) => IncidentRecord | undefined): void {
    const current = this.#records.get(id);
    if (!current) return;
    if (this.#undo && !this.#undo.records.has(id)) this.#undo.records.set(id, current);
    this.#setRecord(id, change({ ...current, rooms: { ...current.rooms } }));
  }

  #createRecord(rec: IncidentRecord): void {
    if (this.#undo && !this.#undo.records.has(rec.id)) this.#undo.records.set(rec.id, undefined);
    this.#setRecord(rec.id, rec);
  }

  #setRecord(id: string, rec: IncidentRecord | undefined): void {
    const old = this.#records.get(id);
    if (old && this.#byThread.get(old.thread) === id) this.#byThread.delete(old.thread);
    if (rec === undefined) this.#records.delete(id);
    else {
      this.#records.set(id, rec);
      this.#byThread.set(rec.thread, id);
    }
  }

  // -------------------------------------------------------------------------------------------
  // Reading
  // -------------------------------------------------------------------------------------------

  record(id: string): IncidentRecord | undefined {
    return this.#records.get(id);
  }

  /** The ids of every incident record. */
  recordIds(): string[] {
    return [...this.#records.keys()];
  }

  /** The incident a thread id (as rooms show it) or an incident id names. */
  #recordFor(incidentOrThread: string): IncidentRecord | undefined {
    const id = this.#records.has(incidentOrThread) ? incidentOrThread : this.#byThread.get(incidentOrThread);
    return id === undefined ? undefined : this.#records.get(id);
  }

  /**
   * Incidents as commands look them up: by our id or by the thread id rooms show (which differs
   * after a peer's smaller id was adopted), so `show <id as seen in the room>` finds it.
   */
  incident(id: string): Incident | undefined {
    const direct = this.#index.incident(id);
    if (direct) return direct;
    const rec = this.#byThread.get(id);
    const found = rec ? this.#index.incident(rec) : undefined;
    return found ? { ...found, id } : undefined;
  }

  incidentIds(): string[] {
    const ids = new Set(this.#index.incidentIds());
    for (const rec of this.#records.values()) if (ids.has(rec.id)) ids.add(rec.thread);
    return [...ids];
  }

  /** Closed when every member is final (`incidentStatus`), from the index's counter of open members. */
  statusOf(incidentId: string): "open" | "closed" {
    return this.#index.incidentStatusOf(incidentId) ?? incidentStatus([]);
  }

  members(incidentId: string): ({ ttId: string } & Member)[] {
    return (this.#index.incident(incidentId)?.tickets ?? []).map((ttId) => {
      const m = this.#status.get(ttId);
      return { ttId, status: m?.status ?? "Opened", ...(m?.remoteRoom !== undefined ? { remoteRoom: m.remoteRoom } : {}) };
    });
  }

  roomsOf(incidentId: string): string[] {
    return [...(this.#rooms.get(incidentId) ?? [])];
  }

  threading(incidentId: string, room: string): Threading {
    const rec = this.#records.get(incidentId);
    return { thread: rec?.thread ?? incidentId, incident: incidentId, replyTo: rec && Object.hasOwn(rec.rooms, room) ? rec.rooms[room] : undefined };
  }

  // -------------------------------------------------------------------------------------------
  // Changing
  // -------------------------------------------------------------------------------------------

  #track(ticket: Ticket, rooms: readonly string[], incidentId: string, remoteRoom: string | undefined): void {
    this.#touchStatus(ticket.TT_ID);
    this.#status.set(ticket.TT_ID, { status: ticket.TT_Status, ...(remoteRoom !== undefined ? { remoteRoom } : {}) });
    const missing = rooms.some((r) => !this.#rooms.get(incidentId)?.has(r));
    if (!this.#rooms.has(incidentId) || missing) {
      const set = this.#writableRooms(incidentId);
      for (const r of rooms) set.add(r);
    }
  }

  /** `remoteRoom`: for a peer's ticket, the room it was posted in. */
  assign(ticket: Ticket, rooms: readonly string[], now: Date, remoteRoom?: string): Assignment {
    const previousIncident = this.#index.incidentOf(ticket.TT_ID);
    const decision = correlate(this.#index, ticket, this.config, now);
    const incidentId = decision.incidentId;
    const before = this.#index.hasIncident(incidentId) ? this.statusOf(incidentId) : undefined;
    this.#touchEntry(ticket.TT_ID);
    applyDecision(this.#index, ticket, decision);
    if (previousIncident && previousIncident !== incidentId && !this.#index.hasIncident(previousIncident)) this.#deleteRooms(previousIncident);
    this.#track(ticket, rooms, incidentId, remoteRoom ?? this.#status.get(ticket.TT_ID)?.remoteRoom);
    if (!this.#records.has(incidentId)) this.#createRecord({ id: incidentId, thread: incidentId, createdAt: now.toISOString(), rooms: {} });
    const after = this.statusOf(incidentId);
    // A new incident whose only ticket arrives already final is not "closed now": its own message says so.
    const closedNow = before === "open" && after === "closed";
    const reopenedNow = before === "closed" && after === "open";
    if (closedNow) this.#changeRecord(incidentId, (r) => ({ ...r, closedAt: now.toISOString() }));
    if (reopenedNow)
      this.#changeRecord(incidentId, (r) => {
        const { closedAt: _closedAt, ...open } = r;
        return open;
      });
    const index = this.#index;
    let others: string[] | undefined;
    return {
      incidentId,
      thread: this.#records.get(incidentId)?.thread ?? incidentId,
      decision,
      explanation: explainDecision(decision),
      closedNow,
      reopenedNow,
      get others(): string[] {
        return (others ??= (index.incident(incidentId)?.tickets ?? []).filter((id) => id !== ticket.TT_ID));
      },
    };
  }

  /** An archived ticket leaves the index; an incident left without members leaves the store. */
  forget(ttId: string): void {
    const incidentId = this.#index.incidentOf(ttId);
    this.#touchEntry(ttId);
    this.#touchStatus(ttId);
    this.#index.remove(ttId);
    this.#status.delete(ttId);
    if (incidentId && !this.#index.hasIncident(incidentId)) {
      this.#changeRecord(incidentId, () => undefined);
      this.#deleteRooms(incidentId);
    }
  }

  /** The room showed the incident's first message here (ours or a peer's): later ones reply to it. */
  noteFirstMessage(incidentOrThread: string, room: string, stanzaId: string, from: string): void {
    const rec = this.#recordFor(incidentOrThread);
    if (rec && !Object.hasOwn(rec.rooms, room)) this.#changeRecord(rec.id, (r) => ({ ...r, rooms: { ...r.rooms, [room]: { id: stanzaId, to: from } } }));
  }

  /** The room was created anew (its history is gone): replies there start again with the next message. */
  forgetRoom(room: string): string[] {
    const touched: string[] = [];
    for (const rec of [...this.#records.values()]) {
      if (!Object.hasOwn(rec.rooms, room)) continue;
      touched.push(rec.id);
      this.#changeRecord(rec.id, (r) => {
        const rooms = { ...r.rooms };
        delete rooms[room];
        return { ...r, rooms };
      });
    }
    return touched;
  }

  /**
   * A peer's activity for a ticket in our incident names its own incident as `context`: both bots
   * keep the smaller id as the thread, so each computes the same without talking about it.
   */
  adoptThread(incidentId: string, peerThread: string): boolean {
    const rec = this.#records.get(incidentId);
    if (!rec || peerThread >= rec.thread) return false;
    // The first message of the adopted thread may be another one in each room: learnt again.
    this.#changeRecord(incidentId, (r) => ({ ...r, thread: peerThread, rooms: {} }));
    return true;
  }
}
