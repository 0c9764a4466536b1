/**
 * The intake step, the adapter half: every source and every chat command hands its batch here.
 * One batch at a time: plan (pure, src/intake/plan.ts) → one store commit → only then apply the
 * plan to the correlation index and incident records, log, and wake the outbox and ticket-system
 * queues. A failed commit changes nothing at all, so the caller can say so truthfully.
 */
import type { Config } from "../../config/schema.js";
import type { Logger } from "../log/logger.js";
import type { Telemetry } from "../ops/telemetry.js";
import type { Actor } from "../model/activity.js";
import { isFinalStatus } from "../model/ticket.js";
import type { Intake, IntakeResult, SourceBatch, StreamedBatch, TicketVersion, VersionOutcome } from "../sources/types.js";
import { ChangeSet, settingKey, type IncidentRecord, type TicketStore, type UpstreamLink, type UpstreamWrite } from "../store/types.js";
import { linkKey, type TicketSystem } from "../ticket-systems/port.js";
import type { IncidentBook } from "./incidents.js";
import { planIntake, type BatchPart, type IntakePlan } from "./plan.js";

/**
 * A batch of more versions than this is planned and committed in parts (a big first poll, a
 * backlog after an outage): the outbox starts sending after the first part instead of after the
 * whole batch (2000 tickets took 1–1.5 s to plan), and steps queued meanwhile (a chat command)
 * run between two parts instead of after all of them. Parts grow from the first size to the last.
 */
export const FIRST_PART = 100;
export const LAST_PART = 500;
/** The size of the part after one of `size` (FIRST_PART doubling to LAST_PART). */
export const nextPartSize = (size: number): number => Math.min(size * 2, LAST_PART);

export type IntakeDeps = {
  store: TicketStore;
  incidents: IncidentBook;
  routes: Config["routes"];
  render: Config["render"];
  actor: Actor;
  systems: readonly TicketSystem[];
  log: Logger;
  now: () => Date;
  telemetry?: Telemetry | undefined;
  /** After a commit that queued room messages or ticket-system writes (wakes their delivery). */
  queued?: ((what: { outbox: number; writes: number }) => void) | undefined;
};

/** Reply targets learnt from echoes, waiting for their one write. */
type PendingNotes = {
  first: { thread: string; room: string; stanzaId: string; from: string }[];
  posts: { ttId: string; room: string; stanzaId: string; from: string }[];
  /** `#queued` when the step was queued: a step queued after it means a new group. */
  queuedAt: number;
  done: Promise<boolean>;
};

export class IntakeService implements Intake {
  /** Batches are planned and committed one at a time: each plan sees every earlier one applied. */
  #chain: Promise<unknown> = Promise.resolve();
  /** Steps queued so far (see `#note`). */
  #queued = 0;
  #notes: PendingNotes | undefined;

  constructor(private readonly deps: IntakeDeps) {}

  /**
   * Plans the batch, commits it, then applies it. A batch of more than `FIRST_PART` versions goes
   * in parts, each committed on its own, in order; the source's state is written with the last.
   * `committed: false` then says that the failing part and those after it were not stored (earlier
   * parts were): submitting the batch again is safe, as the stored versions come back unchanged
   * and are not announced twice.
   */
  submit(batch: SourceBatch): Promise<IntakeResult> {
    if (batch.versions.length <= FIRST_PART) return this.#serial(() => this.#submit(batch));
    return this.#submitInParts(batch);
  }

  async #submitInParts(batch: SourceBatch): Promise<IntakeResult> {
    const learnt: BatchPart["learnt"] = [];
    const outcomes: VersionOutcome[] = [];
    let from = 0;
    for (let size = FIRST_PART; from < batch.versions.length; size = nextPartSize(size)) {
      const to = Math.min(from + size, batch.versions.length);
      const last = to === batch.versions.length;
      const part: SourceBatch = {
        ...batch,
        versions: batch.versions.slice(from, to),
        // What the batch says about itself goes with its ends: problems logged with the first part,
        // the source's state (its cursor, its seen items) stored with the last.
        logs: from === 0 ? batch.logs : undefined,
        state: last ? batch.state : undefined,
      };
      // Each part is its own step: what was queued meanwhile runs before the next part is planned.
      const result = await this.#serial(() => this.#submit(part, { learnt, last }));
      if (!result.committed) return result;
      outcomes.push(...result.outcomes);
      from = to;
    }
    return { committed: true, outcomes };
  }

  /**
   * `submitInParts` for versions that come in pieces: parts of the same sizes are committed as soon
   * as enough versions came (the first while later ones are still being translated), the rest and
   * the source's state with the last part once the stream ends. Stops at the first part that is
   * not stored, as `submit` does. (A known batch does not go through here: `submit` must queue its
   * first part at once, before any step queued after it, and `for await` would let those go first.)
   */
  async submitStreamed(batch: StreamedBatch): Promise<IntakeResult> {
    const { versions, end, ...rest } = batch;
    const learnt: BatchPart["learnt"] = [];
    const outcomes: VersionOutcome[] = [];
    let waiting: TicketVersion[] = [];
    let size = FIRST_PART;
    const commit = async (part: readonly TicketVersion[], last: boolean): Promise<IntakeResult> => {
      const tail = last ? end() : undefined;
      const result = await this.#serial(() => this.#submit({ ...rest, versions: part, state: tail?.state, logs: tail?.logs }, { learnt, last }));
      if (result.committed) outcomes.push(...result.outcomes);
      return result;
    };
    for await (const piece of versions) {
      waiting = waiting.length === 0 ? [...piece] : [...waiting, ...piece];
      while (waiting.length >= size) {
        const result = await commit(waiting.slice(0, size), false);
        // Leaving the loop ends the stream (its generator's `finally` runs).
        if (!result.committed) return result;
        waiting = waiting.slice(size);
        size = nextPartSize(size);
      }
    }
    const result = await commit(waiting, true);
    return result.committed ? { committed: true, outcomes } : result;
  }

  /**
   * Runs `step` with the intake to itself: what it reads is the latest committed state, and what it
   * submits (with the `submit` it is given) is planned on exactly that. For chat commands, which
   * make their change from the stored ticket: two commands in a row must not see the same version.
   */
  exclusive<T>(step: (submit: (batch: SourceBatch) => Promise<IntakeResult>) => Promise<T>): Promise<T> {
    return this.#serial(() => step((batch) => this.#submit(batch)));
  }

  /** Runs `step` after every earlier step (their failures do not stop it). */
  #serial<T>(step: () => Promise<T>): Promise<T> {
    this.#queued++;
    const run = this.#chain.then(step, step);
    this.#chain = run.catch(() => undefined);
    return run;
  }

  /** Plans without committing (for `replay` and tests: what a batch would do now). */
  plan(batch: SourceBatch, part?: BatchPart): IntakePlan {
    return this.#plan(batch, part, false);
  }

  #plan(batch: SourceBatch, part: BatchPart | undefined, inPlace: boolean): IntakePlan {
    const { store, incidents } = this.deps;
    const linkOf = (ttId: string): UpstreamLink | undefined => {
      for (const s of this.deps.systems) {
        const l = store.get("links", linkKey(s.id, ttId));
        if (l) return l;
      }
      return undefined;
    };
    return planIntake(
      {
        routes: this.deps.routes,
        actor: this.deps.actor,
        render: this.deps.render,
        now: this.deps.now(),
        incidents,
        lookup: (id) => store.ticket(id),
        systems: this.deps.systems,
        pendingWrites: (ttId) => this.#pendingWrites(ttId),
        link: linkOf,
        queued: (id) => store.get("outbox", id) !== undefined,
        updatesIn: (room) => store.get("settings", settingKey(room, "updates"))?.value,
      },
      batch,
      part,
      inPlace,
    );
  }

  #pendingWrites(ttId: string): UpstreamWrite[] {
    const out: UpstreamWrite[] = [];
    for (const w of this.deps.store.values("writes")) if (w.ticketId === ttId && !w.failed) out.push(w);
    return out;
  }

  async #submit(batch: SourceBatch, part?: BatchPart): Promise<IntakeResult> {
    const { store, log } = this.deps;
    let plan: IntakePlan;
    try {
      // Left in place in the incident book: this plan is written next (undone if that fails).
      plan = this.#plan(batch, part, true);
    } catch (e) {
      log.error({ source: batch.source, err: e instanceof Error ? e.stack : String(e) }, "intake planning crashed: nothing was changed");
      return { committed: false, error: "the change could not be planned (the error has been logged)" };
    }
    try {
      await store.commit(plan.changes);
      this.deps.telemetry?.batch(batch.source, true);
    } catch (e) {
      this.deps.telemetry?.batch(batch.source, false);
      // The store says it once (and again when writes work); the submitter retries or tells its user.
      log.debug({ source: batch.source, versions: batch.versions.length, err: (e as Error).message }, "batch not stored: nothing was changed");
      plan.undoIncidents();
      return { committed: false, error: (e as Error).message };
    }
    plan.applyIncidents();
    for (const line of plan.logs) log[line.level](line.fields, line.msg);
    if (plan.outbox.length > 0 || plan.writes.length > 0) this.deps.queued?.({ outbox: plan.outbox.length, writes: plan.writes.length });
    return { committed: true, outcomes: plan.outcomes };
  }

  /**
   * The room showed the first message of an incident there (ours or a peer's): later messages of
   * the incident reply to it (XEP-0461). Recorded like any other change, together with the other
   * notes that came in meanwhile (see `#note`).
   */
  noteFirstMessage(thread: string, room: string, stanzaId: string, from: string): Promise<boolean> {
    return this.#note((n) => n.first.push({ thread, room, stanzaId, from }));
  }

  /** Our first message about a ticket in a room (its card): the ticket's compact updates reply to it there. */
  noteTicketPost(ttId: string, room: string, stanzaId: string, from: string): Promise<boolean> {
    return this.#note((n) => n.posts.push({ ttId, room, stanzaId, from }));
  }

  /**
   * Notes from echoes come one per message: each was a step and a write of its own, one fsync per
   * echo behind every batch (2000 for a 2000-message backlog). Notes that arrive while their step
   * waits join it; one that arrives after other steps were queued behind that step starts a new
   * one, so a note never runs before a step queued ahead of it (a peer's activity must create its
   * incident before the incident's first message is noted).
   */
  #note(add: (n: PendingNotes) => void): Promise<boolean> {
    let group = this.#notes;
    if (!group || group.queuedAt !== this.#queued) {
      const fresh: PendingNotes = { first: [], posts: [], queuedAt: 0, done: Promise.resolve(true) };
      fresh.done = this.#serial(() => {
        if (this.#notes === fresh) this.#notes = undefined;
        return this.#commitNotes(fresh);
      });
      fresh.queuedAt = this.#queued;
      this.#notes = group = fresh;
    }
    add(group);
    return group.done;
  }

  async #commitNotes(notes: PendingNotes): Promise<boolean> {
    const { incidents, store } = this.deps;
    const planned = incidents.plan(() => {
      for (const f of notes.first) incidents.noteFirstMessage(f.thread, f.room, f.stanzaId, f.from);
    });
    const changes = new ChangeSet();
    for (const p of notes.posts) {
      const planned = changes.get("tickets", p.ttId);
      const t = planned ?? store.ticket(p.ttId);
      if (!t || (t.posts && Object.hasOwn(t.posts, p.room))) continue;
      changes.put("tickets", p.ttId, { ...t, posts: { ...t.posts, [p.room]: { id: p.stanzaId, to: p.from } } });
    }
    return this.#commitIncidents(planned.records, changes, planned.apply);
  }

  /** The room was created anew: its earlier messages are gone, so replies there start again. */
  forgetRoom(room: string): Promise<boolean> {
    return this.#serial(async () => {
      const planned = this.deps.incidents.plan(() => this.deps.incidents.forgetRoom(room));
      const changes = new ChangeSet();
      for (const t of this.deps.store.values("tickets")) {
        if (!t.posts || !Object.hasOwn(t.posts, room)) continue;
        const posts = { ...t.posts };
        delete posts[room];
        changes.put("tickets", t.ticket.TT_ID, { ...t, posts });
      }
      return this.#commitIncidents(planned.records, changes, planned.apply);
    });
  }

  async #commitIncidents(records: ReadonlyMap<string, IncidentRecord | null>, changes: ChangeSet, apply: () => void): Promise<boolean> {
    putRecords(changes, records);
    if (changes.isEmpty) return true;
    try {
      await this.deps.store.commit(changes);
    } catch (e) {
      this.deps.log.warn({ err: (e as Error).message }, "store write failed: a reply target was not recorded");
      return false;
    }
    apply();
    return true;
  }

  /**
   * Moves tickets final for `afterHours` to the archive: appended to the archive file first (a
   * crash in between can only duplicate, never lose), then taken out of the live store, the
   * correlation index and the incident records in one commit. Resolves with the TT_IDs archived.
   */
  /** Archives now and then hourly (at start-up too: a bot restarted often must still archive). */
  archiveEvery(afterHours: number, everyMs = 3600_000): NodeJS.Timeout {
    const run = (): void =>
      void this.archive(afterHours).then(
        (ids) => ids.length > 0 && this.deps.log.info({ archived: ids.length }, "archived closed tickets"),
        (e: unknown) => this.deps.log.error({ err: (e as Error).message }, "archiving failed"),
      );
    run();
    const timer = setInterval(run, everyMs);
    timer.unref();
    return timer;
  }

  archive(afterHours: number): Promise<string[]> {
    return this.#serial(async () => {
      const { store, incidents } = this.deps;
      const now = this.deps.now();
      const cutoff = now.getTime() - afterHours * 3600_000;
      const done = [...store.values("tickets")].filter((s) => isFinalStatus(s.ticket.TT_Status) && Date.parse(s.lastChange) <= cutoff);
      if (done.length === 0) return [];
      await store.archive(done.map((s) => ({ archivedAt: now.toISOString(), ...s })));
      const changes = new ChangeSet();
      const planned = incidents.plan(() => {
        for (const s of done) {
          changes.delete("tickets", s.ticket.TT_ID);
          // A record made in a ticket system for a peer's ticket outlives it: a reopen writes to it again.
          if (s.remote && s.upstream) changes.put("links", linkKey(s.upstream.system, s.ticket.TT_ID), { system: s.upstream.system, id: s.upstream.id });
          incidents.forget(s.ticket.TT_ID);
        }
      });
      putRecords(changes, planned.records);
      await store.commit(changes);
      planned.apply();
      return done.map((s) => s.ticket.TT_ID);
    });
  }
}

function putRecords(changes: ChangeSet, records: ReadonlyMap<string, IncidentRecord | null>): void {
  for (const [id, rec] of records) {
    if (rec === null) changes.delete("incidents", id);
    else changes.put("incidents", id, rec);
  }
}
