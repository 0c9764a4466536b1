/**
 * Incidents: which tickets belong together (the correlation engine decides), the thread each
 * incident has in rooms, and when an incident closes. Keeps the in-memory correlation index in step
 * with the store's data; rebuilt from the store at start-up.
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
import { datetimeToMillis, type Ticket, type TicketStatus } from "../model/ticket.js";
import type { IncidentRecord, StoreData } from "../store/types.js";

export type Assignment = {
  incidentId: string;
  /** The thread id rooms show (XEP-0201); the incident's id unless a peer's smaller id was adopted. */
  thread: string;
  decision: CorrelationDecision;
  explanation: string;
  /** The incident went from open to closed (all members final) or back with this ticket. */
  closedNow: boolean;
  reopenedNow: boolean;
  /** The other members, by TT_ID (for a join notice). */
  others: string[];
};

export type Threading = { thread: string; incident: string; replyTo?: { id: string; to: string } | undefined };

export interface IncidentPort {
  assign(ticket: Ticket, rooms: readonly string[], now: Date): Assignment;
  threading(incidentId: string, room: string): Threading;
  roomsOf(incidentId: string): string[];
  members(incidentId: string): { ttId: string; status: TicketStatus }[];
}

export class IncidentBook implements IncidentPort {
  readonly #index = new CorrelationIndex();
  readonly #status = new Map<string, TicketStatus>();
  readonly #rooms = new Map<string, Set<string>>();

  /** `data` is the store's live data: incident records are created and changed in place. */
  constructor(
    private readonly data: StoreData,
    private readonly config: CorrelationConfig,
  ) {
    // Oldest first, so that tickets stored before incidents existed correlate as they would have.
    // By instant, not text: "11:30+02:00" is before "10:00Z". Ties by TT_ID, so that two bots with
    // the same tickets stored in another order name the incidents alike.
    const openMs = (t: Ticket): number => datetimeToMillis(t.TT_Open_Datetime) ?? Number.POSITIVE_INFINITY;
    const stored = Object.values(data.tickets).sort(
      (a, b) => openMs(a.ticket) - openMs(b.ticket) || (a.ticket.TT_ID < b.ticket.TT_ID ? -1 : a.ticket.TT_ID > b.ticket.TT_ID ? 1 : 0),
    );
    for (const s of stored) {
      if (s.incident) {
        this.#index.add(s.ticket, s.incident);
        this.#track(s.ticket, s.rooms, s.incident);
      } else {
        const assignment = this.assign(s.ticket, s.rooms, new Date(s.lastChange));
        s.incident = assignment.incidentId;
        s.correlation = assignment.explanation;
      }
    }
  }

  get index(): CorrelationIndex {
    return this.#index;
  }

  /**
   * Incidents as commands look them up: by our id or by the thread id rooms show (which differs
   * after a peer's smaller id was adopted), so `show <id as seen in the room>` finds it.
   */
  incident(id: string): Incident | undefined {
    const direct = this.#index.incident(id);
    if (direct) return direct;
    const rec = Object.values(this.data.incidents).find((r) => r.thread === id);
    const found = rec ? this.#index.incident(rec.id) : undefined;
    return found ? { ...found, id } : undefined;
  }

  incidentIds(): string[] {
    const ids = new Set(this.#index.incidentIds());
    for (const rec of Object.values(this.data.incidents)) if (ids.has(rec.id)) ids.add(rec.thread);
    return [...ids];
  }

  #track(ticket: Ticket, rooms: readonly string[], incidentId: string): void {
    this.#status.set(ticket.TT_ID, ticket.TT_Status);
    const set = this.#rooms.get(incidentId) ?? new Set<string>();
    for (const r of rooms) set.add(r);
    this.#rooms.set(incidentId, set);
  }

  #record(incidentId: string, now: Date): IncidentRecord {
    let rec = this.data.incidents[incidentId];
    if (!rec) {
      rec = { id: incidentId, thread: incidentId, createdAt: now.toISOString(), rooms: {} };
      this.data.incidents[incidentId] = rec;
    }
    return rec;
  }

  statusOf(incidentId: string): "open" | "closed" {
    return incidentStatus(this.members(incidentId).map((m) => ({ TT_Status: m.status })));
  }

  members(incidentId: string): { ttId: string; status: TicketStatus }[] {
    return (this.#index.incident(incidentId)?.tickets ?? []).map((ttId) => ({ ttId, status: this.#status.get(ttId) ?? "Opened" }));
  }

  roomsOf(incidentId: string): string[] {
    return [...(this.#rooms.get(incidentId) ?? [])];
  }

  assign(ticket: Ticket, rooms: readonly string[], now: Date): Assignment {
    const previousIncident = this.#index.incidentOf(ticket.TT_ID);
    const decision = correlate(this.#index, ticket, this.config, now);
    const incidentId = decision.incidentId;
    const before = this.#index.hasIncident(incidentId) ? this.statusOf(incidentId) : undefined;
    applyDecision(this.#index, ticket, decision);
    if (previousIncident && previousIncident !== incidentId && !this.#index.hasIncident(previousIncident)) this.#rooms.delete(previousIncident);
    this.#track(ticket, rooms, incidentId);
    const record = this.#record(incidentId, now);
    const after = this.statusOf(incidentId);
    // A new incident whose only ticket arrives already final is not "closed now": its own message says so.
    const closedNow = before === "open" && after === "closed";
    const reopenedNow = before === "closed" && after === "open";
    if (closedNow) record.closedAt = now.toISOString();
    if (reopenedNow) delete record.closedAt;
    return {
      incidentId,
      thread: record.thread,
      decision,
      explanation: explainDecision(decision),
      closedNow,
      reopenedNow,
      others: (this.#index.incident(incidentId)?.tickets ?? []).filter((id) => id !== ticket.TT_ID),
    };
  }

  /** An archived ticket leaves the index; an incident left without members leaves the store. */
  forget(ttId: string): void {
    const incidentId = this.#index.incidentOf(ttId);
    this.#index.remove(ttId);
    this.#status.delete(ttId);
    if (incidentId && !this.#index.hasIncident(incidentId)) {
      delete this.data.incidents[incidentId];
      this.#rooms.delete(incidentId);
    }
  }

  threading(incidentId: string, room: string): Threading {
    const rec = this.data.incidents[incidentId];
    return { thread: rec?.thread ?? incidentId, incident: incidentId, replyTo: rec?.rooms[room] };
  }

  /** The room showed the incident's first message here (ours or a peer's): later ones reply to it. */
  noteFirstMessage(incidentOrThread: string, room: string, stanzaId: string, from: string): void {
    const rec = this.data.incidents[incidentOrThread] ?? Object.values(this.data.incidents).find((r) => r.thread === incidentOrThread);
    if (rec && rec.rooms[room] === undefined) rec.rooms[room] = { id: stanzaId, to: from };
  }

  /**
   * A peer's activity for a ticket in our incident names its own incident as `context`: both bots
   * keep the smaller id as the thread, so each computes the same without talking about it.
   */
  adoptThread(incidentId: string, peerThread: string): boolean {
    const rec = this.data.incidents[incidentId];
    if (!rec || peerThread >= rec.thread) return false;
    rec.thread = peerThread;
    // The first message of the adopted thread may be another one in each room: learnt again.
    rec.rooms = {};
    return true;
  }
}
