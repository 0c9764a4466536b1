/**
 * The intake step, the pure half: a batch of ticket versions from any source (a feed poll, an RT
 * poll, a peer's activity, a mail, a webhook push, a chat command) → one plan of everything it
 * changes: the stored tickets, the incident records, the source's state, the room messages that
 * announce it, and the ticket-system writes it asks for. Nothing here writes; the adapter
 * (src/intake/intake.ts) commits the plan in one store write and only then applies it.
 *
 *   version → (ordered? stale?) → merge with the stored ticket → (unchanged?) → route → correlate
 *           → announce (full message, peer notice, or first-contact summary) → write-back
 */
import type { RouteConfig } from "../../config/schema.js";
import type { LogLine } from "../log/logger.js";
import type { Actor, ActivityType, TicketActivity } from "../model/activity.js";
import { MAX_ID_CHARS, oversizedField } from "../model/limits.js";
import { keepLocalChanges } from "../model/merge.js";
import { reconcileSourceUpdate } from "../model/reconcile.js";
import { changeHash, type Ticket, type TicketField } from "../model/ticket.js";
import type { RenderOptions } from "../render/ticket-message.js";
import { routeTicket } from "../route/route.js";
import type { IntakeResult, SourceBatch, TicketVersion, VersionOutcome } from "../sources/types.js";
import { ChangeSet, type OutboxEntry, type StoredTicket, type UpstreamLink, type UpstreamWrite } from "../store/types.js";
import { linkKey, planWriteBack, type TicketSystem } from "../ticket-systems/port.js";
import { announceChange, announceRemote, incidentStatusNotices, summaryPosts, type AnnounceContext } from "./announce.js";
import type { IncidentBook } from "./incidents.js";

export type IntakeContext = {
  routes: readonly RouteConfig[];
  /** This NOC, the actor of its activities. */
  actor: Actor;
  render: RenderOptions;
  now: Date;
  incidents: IncidentBook;
  /** The stored ticket, as committed. */
  lookup: (ttId: string) => StoredTicket | undefined;
  /** Ticket systems that may want writes for a change (RT). */
  systems?: readonly Pick<TicketSystem, "plan">[] | undefined;
  /** Queued ticket-system writes of a ticket. */
  pendingWrites?: ((ttId: string) => readonly UpstreamWrite[]) | undefined;
  /** A ticket-system record kept for an archived ticket. */
  link?: ((ttId: string) => UpstreamLink | undefined) | undefined;
  /** Is a room message with this id queued already? (A re-planned poll must not queue it twice.) */
  queued?: ((outboxId: string) => boolean) | undefined;
  /** How a room wants ticket updates ("compact", the default, or "full"). */
  updatesIn?: ((room: string) => string | undefined) | undefined;
};

export type IntakePlan = {
  changes: ChangeSet;
  /** Stored tickets whose content changed, in the order of their last version. */
  tickets: StoredTicket[];
  outbox: OutboxEntry[];
  activities: TicketActivity[];
  writes: UpstreamWrite[];
  outcomes: VersionOutcome[];
  /** To log once the plan is committed. */
  logs: LogLine[];
  /** Makes the correlation index and incident records match the plan (after the write). */
  applyIncidents: () => void;
  /** Puts them back as before the plan (a plan made `inPlace` whose write failed). */
  undoIncidents: () => void;
};

export { changeHash };

/** Is `next` newer than `known`? By the source's sequence, then by the time it gives; unknown is newer. */
export function isNewer(next: TicketVersion["provenance"], known: StoredTicket["provenance"]): boolean {
  if (!known) return true;
  if (next.sequence !== undefined && known.sequence !== undefined && next.sequence !== known.sequence) return next.sequence > known.sequence;
  if (next.published === undefined || known.published === undefined) return true;
  return Date.parse(next.published) > Date.parse(known.published);
}

/** Fields whose first value wins (`keepFirst`): the stored ticket's stays. */
function keepFirstValues(ticket: Ticket, before: Ticket, fields: readonly TicketField[] | undefined): Ticket {
  if (!fields || fields.length === 0) return ticket;
  const kept: Partial<Record<TicketField, unknown>> = {};
  for (const f of fields) kept[f] = before[f];
  return { ...ticket, ...kept } as Ticket;
}

/** The version met with the stored ticket (see `TicketVersion.merge`). */
export function mergeVersion(version: TicketVersion, before: StoredTicket | undefined): Ticket {
  if (!before || version.merge === "replace") return version.ticket;
  return keepLocalChanges(keepFirstValues(version.ticket, before.ticket, version.keepFirst), before.ticket, version.fed);
}

/**
 * One part of a big batch planned on its own (src/intake/intake.ts commits big batches in parts):
 * the tickets a first contact learnt in earlier parts, to which this part adds its own, and
 * whether this is the last part (which says the summary).
 */
export type BatchPart = { learnt: StoredTicket[]; last: boolean };

/**
 * `inPlace`: the incident book keeps the plan's changes at once (for a plan that is written next:
 * `undoIncidents` if the write fails); else they are undone now and `applyIncidents` redoes them.
 */
export function planIntake(ctx: IntakeContext, batch: SourceBatch, part?: BatchPart, inPlace = false): IntakePlan {
  const build = (): Omit<IntakePlan, "applyIncidents" | "undoIncidents"> => planVersions(ctx, batch, part);
  const planned = inPlace ? ctx.incidents.planInPlace(build) : ctx.incidents.plan(build);
  const plan = planned.result;
  for (const [id, rec] of planned.records) {
    if (rec === null) plan.changes.delete("incidents", id);
    else plan.changes.put("incidents", id, rec);
  }
  return "undo" in planned
    ? { ...plan, applyIncidents: () => undefined, undoIncidents: planned.undo }
    : { ...plan, applyIncidents: planned.apply, undoIncidents: () => undefined };
}

function planVersions(ctx: IntakeContext, batch: SourceBatch, part: BatchPart | undefined): Omit<IntakePlan, "applyIncidents" | "undoIncidents"> {
  const { now } = ctx;
  const nowIso = now.toISOString();
  const changes = new ChangeSet();
  const tickets = new Map<string, StoredTicket>();
  const outbox: OutboxEntry[] = [];
  const activities: TicketActivity[] = [];
  const writes: UpstreamWrite[] = [];
  const outcomes: VersionOutcome[] = [];
  const logs: LogLine[] = [...(batch.logs ?? [])];
  const sourceFields = batch.logFields ?? { source: batch.source };
  // What this plan stored so far wins over the store (a batch may carry a ticket and its change).
  const lookup = (id: string): StoredTicket | undefined => {
    const planned = changes.get("tickets", id);
    return planned === null ? undefined : (planned ?? ctx.lookup(id));
  };
  const announce: AnnounceContext = { actor: ctx.actor, render: ctx.render, incidents: ctx.incidents, now, updatesIn: ctx.updatesIn };
  const learnt: StoredTicket[] = part?.learnt ?? [];

  if (batch.state !== undefined) changes.put("sources", batch.source, batch.state);

  for (const version of batch.versions) {
    const ttId = version.ticket.TT_ID;
    const before = lookup(ttId);
    const fields = version.logFields ?? sourceFields;
    // Too big to post (or to keep) as a whole: refused, with the field named, before anything else.
    const tooBig = oversizedField(version.ticket);
    if (tooBig !== undefined) {
      outcomes.push({ ttId: ttId.slice(0, MAX_ID_CHARS), outcome: "refused", reason: tooBig });
      logs.push({ level: "warn", msg: "ticket version refused: a value is too long", fields: { ...fields, ticket: ttId.slice(0, MAX_ID_CHARS), reason: tooBig } });
      continue;
    }
    if (version.expectHash !== undefined) {
      // The change was made on the ticket as it was then; a poll may have changed it since.
      if (!before) {
        outcomes.push({ ttId, outcome: "conflict", reason: `${ttId} is no longer known here (archived?); nothing was changed.` });
        continue;
      }
      if (changeHash(before.ticket) !== version.expectHash) {
        outcomes.push({ ttId, outcome: "conflict", reason: `${ttId} changed while your command ran; nothing was changed. Please look at it again and retry.` });
        continue;
      }
    }
    // Room history replays and federation can deliver out of order: an older version never wins.
    if (version.ordered && before && !isNewer(version.provenance, before.provenance)) {
      const reason = "not newer than the version already known";
      outcomes.push({ ttId, outcome: "stale", reason });
      logs.push({ level: "debug", msg: version.remote ? "peer activity ignored" : "ticket version ignored", fields: { ...fields, reason, ticket: ttId } });
      continue;
    }

    const merged = mergeVersion(version, before);
    // RFC 6137 Figure 2 and date order, for every source but chat commands (their transitions are checked already).
    // Every source validates its versions at its edge; a version met with nothing stored is that one.
    const reconciled = version.command ? { ticket: merged, notes: [] } : reconcileSourceUpdate(before?.ticket, merged, version.provenance.source, now, merged === version.ticket);
    const ticket = reconciled.ticket;
    for (const note of reconciled.notes) logs.push({ level: "warn", msg: "ticket version corrected", fields: { ...fields, ticket: ttId, note } });
    // Worked out by the source already (a worker thread) when the ticket is still the version's own.
    const hash = ticket === version.ticket && version.hash !== undefined ? version.hash : changeHash(ticket);
    const upstream = version.upstream ?? before?.upstream;
    if (before && before.hash === hash) {
      // Nothing to announce; what the source says about itself (its cursor, its link) is kept.
      const quiet: StoredTicket = { ...before, ...(upstream ? { upstream } : {}), ...(version.link && !before.link ? { link: version.link } : {}) };
      if (JSON.stringify(quiet.upstream) !== JSON.stringify(before.upstream) || quiet.link !== before.link) changes.put("tickets", ttId, quiet);
      outcomes.push({ ttId, outcome: "unchanged" });
      // Listed now, so counted in the first-contact summary (also when an interrupted first poll stored it already).
      if (batch.firstContact && !version.remote) learnt.push(quiet);
      if (version.remote) logs.push({ level: "debug", msg: "peer activity ignored", fields: { ...fields, reason: "already known, unchanged", ticket: ttId } });
      continue;
    }

    const remote = version.remote;
    const source = remote ? batch.source : (before?.source ?? batch.source);
    const routed = remote ? [] : routeTicket(ticket, source, ctx.routes);
    const rooms = remote ? [] : [...new Set([...(before?.rooms ?? []), ...routed])];
    // `unlink`: the engineer says a relation was wrong, so the ticket is correlated afresh; it stays
    // in its incident only if other evidence (circuit, node, service, time) holds it there.
    if (version.command?.verb === "unlinked" && before?.incident && ctx.incidents.members(before.incident).length > 1) ctx.incidents.forget(ttId);
    const assignment = ctx.incidents.assign(ticket, rooms, now, remote?.room);
    const link = version.link ?? before?.link;
    const stored: StoredTicket = {
      // The bot's own bookkeeping about the ticket outlives its versions.
      ...(before?.posts ? { posts: before.posts } : {}),
      ...(before?.reminded ? { reminded: before.reminded } : {}),
      ticket,
      hash,
      source,
      ...(link ? { link } : {}),
      firstSeen: before?.firstSeen ?? nowIso,
      lastChange: nowIso,
      rooms,
      incident: assignment.incidentId,
      // An update that stays in its incident keeps the account of why it joined (what `show` says).
      correlation: assignment.decision.kind === "stay" && before?.correlation && before.incident === assignment.incidentId ? before.correlation : assignment.explanation,
      ...(upstream ? { upstream } : {}),
      ...(remote ? { remote } : before?.remote ? { remote: before.remote } : {}),
      provenance: version.provenance,
    };

    if (ctx.systems && ctx.systems.length > 0) {
      const wb = planWriteBack(ctx.systems, {
        version,
        before,
        after: stored,
        pending: [...(ctx.pendingWrites?.(ttId) ?? []), ...writes.filter((w) => w.ticketId === ttId)],
        link: ctx.link?.(ttId),
        now,
      });
      if (wb.upstream && !stored.upstream) stored.upstream = wb.upstream;
      for (const w of wb.writes) {
        writes.push(w);
        changes.put("writes", w.id, w);
      }
    }
    // A record kept for the archived ticket is attached again: it lives on the ticket from now on.
    const kept = ctx.link?.(ttId);
    if (kept && stored.upstream?.system === kept.system && stored.upstream.id === kept.id) changes.delete("links", linkKey(kept.system, ttId));
    changes.put("tickets", ttId, stored);
    tickets.delete(ttId);
    tickets.set(ttId, stored);
    outcomes.push({ ttId, outcome: before ? "updated" : "created", thread: assignment.thread, writes: writes.filter((w) => w.ticketId === ttId).length });
    const type: ActivityType = before ? "Update" : "Create";

    if (remote) {
      // Adopted before anything is said, so every notice names the thread rooms will show.
      if (version.context !== undefined) ctx.incidents.adoptThread(assignment.incidentId, version.context);
      const thread = ctx.incidents.threading(assignment.incidentId, remote.room).thread;
      const posts = [...announceRemote(announce, stored, before?.ticket, { ...assignment, thread }, version.provenance.item ?? ttId), ...incidentStatusNotices(announce, { ...assignment, thread }, ttId)];
      outbox.push(...posts);
      logs.push({
        level: "info",
        msg: before ? "peer ticket updated" : "peer ticket received",
        fields: { ...fields, ticket: ttId, noc: remote.name, incident: assignment.incidentId, thread, decision: assignment.decision.kind },
      });
      continue;
    }
    if (batch.firstContact) {
      learnt.push(stored);
      continue; // learnt, announced below in one summary line per room
    }
    if (rooms.length === 0) {
      logs.push({ level: "warn", msg: "no route matches ticket: not posted", fields: { ...fields, ticket: ttId } });
      continue;
    }
    const actor = version.actor ?? ctx.actor;
    const { activity, outbox: posts } = announceChange({ ...announce, actor }, stored, before?.ticket, type, assignment);
    activities.push(activity);
    outbox.push(...posts, ...incidentStatusNotices({ ...announce, actor }, assignment, ttId));
    logs.push({ level: "info", msg: `ticket ${type === "Create" ? "created" : "updated"}`, fields: { ...fields, ticket: ttId, rooms: stored.rooms } });
  }

  if (batch.firstContact && (part?.last ?? true)) outbox.push(...summaryPosts(batch.firstContact.label, learnt, now));
  for (const o of outbox) if (!ctx.queued?.(o.id)) changes.put("outbox", o.id, o);
  return { changes, tickets: [...tickets.values()], outbox, activities, writes, outcomes, logs };
}

/** The result a submitter sees once the plan is committed. */
export const committedResult = (plan: Pick<IntakePlan, "outcomes">): IntakeResult => ({ committed: true, outcomes: plan.outcomes });
