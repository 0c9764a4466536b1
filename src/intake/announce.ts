/**
 * A ticket change → the room messages that tell it (pure given the incident port): the AS2 activity,
 * one outbox entry per room, threaded by incident (XEP-0201 thread, XEP-0461 reply to the incident's
 * first message in that room, and a visible prefix for clients without threads).
 */
import { hash } from "node:crypto";
import type { MatchedRule } from "../correlate/engine.js";
import { normaliseName, normaliseService } from "../correlate/rules.js";
import { activityJson, ticketActivity, withIncident, type Actor, type ActivityType, type TicketActivity } from "../model/activity.js";
import { isFinalStatus, type Ticket } from "../model/ticket.js";
import { escapeOutside, outsideLine } from "../render/outside.js";
import { changedFields, heading, renderActivity, renderCompactUpdate, type RenderOptions } from "../render/ticket-message.js";
import { count } from "../render/plural.js";
import { escapeMarkdown, markdownToStyled } from "../render/xep0393.js";
import type { OutboxEntry, StoredTicket } from "../store/types.js";
import type { Assignment, IncidentPort } from "./incidents.js";

export type AnnounceContext = {
  actor: Actor;
  render: RenderOptions;
  incidents?: IncidentPort | undefined;
  now: Date;
  /** How a room wants ticket updates (a room setting, `!updates`): compact lines (default) or full cards. */
  updatesIn?: ((room: string) => string | undefined) | undefined;
};

/** The origin-id of one activity in one room: stable for the same activity and room. */
export const outboxId = (activityId: string, room: string): string =>
  "ttr-" + hash("sha256", `${activityId}\n${room}`).slice(0, 24);

/** The prefix that groups an incident's messages in clients without thread support. */
export const incidentPrefix = (thread: string): string => `[${thread}] `;

/** A matched rule in a few words, with the value as the NOC wrote it (the index keeps it normalised). */
export function shortMatch(m: MatchedRule, ticket: Ticket | undefined): string | undefined {
  const value = m.key.slice(m.key.indexOf(":") + 1);
  const original = (xs: readonly string[] | undefined, norm: (s: string) => string): string => xs?.find((x) => norm(x) === value) ?? value;
  switch (m.rule) {
    case "circuit":
      return `circuit ${original(ticket?.Network_Link_Circuit, normaliseName)}`;
    case "node":
      return `node ${original(ticket?.Network_Node, normaliseName)}`;
    case "service":
      return `service ${original(ticket?.Affected_Service === undefined ? undefined : [ticket.Affected_Service], normaliseService)}`;
    case "reference":
      // The key is the referenced TT_ID: the other ticket's when this one quotes it, this one's
      // own when the other quoted it first ("reference <own id>" would read as a self-reference).
      return value === m.otherTicket ? `reference ${value}` : `referenced by ${m.otherTicket}`;
    case "master":
      return `master ticket ${m.otherTicket}`;
    case "timeOverlap":
      return undefined; // only ever a bonus on top of the others
  }
}

/** "Incident INC-… with EXN_1, NOCB_7: circuit EXN-STO-CPH-01, service IP transit": why it is here. */
export function incidentLine(assignment: Assignment, ticket?: Ticket): string {
  if (assignment.others.length === 0) return "";
  const why =
    assignment.decision.kind === "join"
      ? [...new Set(assignment.decision.matched.map((m) => shortMatch(m, ticket)).filter((x): x is string => x !== undefined))].slice(0, 3).join(", ")
      : "";
  const others = assignment.others.slice(0, 6).join(", ") + (assignment.others.length > 6 ? ` and ${assignment.others.length - 6} more` : "");
  return `Incident ${assignment.thread} with ${others}${why ? `: ${why}` : ""}`;
}

export function announceChange(
  ctx: AnnounceContext,
  stored: StoredTicket,
  before: Ticket | undefined,
  type: ActivityType,
  assignment: Assignment | undefined,
): { activity: TicketActivity; outbox: OutboxEntry[] } {
  const base = ticketActivity(type, stored.ticket, ctx.actor, ctx.now, stored.link);
  const activity: TicketActivity = assignment ? withIncident(base, assignment.thread) : base;
  const rendered = renderActivity(activity, ctx.render, before ? changedFields(before, stored.ticket) : []);
  const extra = assignment ? incidentLine(assignment, stored.ticket) : "";
  const json = activityJson(activity);
  let compactBody: string | undefined;
  const outbox = stored.rooms.map((room): OutboxEntry => {
    const threading = assignment && ctx.incidents ? ctx.incidents.threading(assignment.incidentId, room) : undefined;
    // The prefix groups related messages for clients without threads; a lone ticket needs none.
    const grouped = assignment !== undefined && assignment.others.length > 0;
    const prefix = threading && grouped ? incidentPrefix(threading.thread) : "";
    // An update is a short line in the ticket's thread, a reply to the ticket's first message there
    // (the full card again only where the room asked for it: `!updates full`).
    const compact = before !== undefined && type === "Update" && (ctx.updatesIn?.(room) ?? "compact") !== "full";
    // The incident line names circuits and nodes as the NOCs wrote them: outside text, one plain line.
    const body = compact ? prefix + (compactBody ??= renderCompactUpdate(activity, before, ctx.render)) : prefix + (prefix ? withLine(rendered, outsideLine(extra, 400)) : rendered);
    const post = compact && stored.posts && Object.hasOwn(stored.posts, room) ? stored.posts[room] : undefined;
    const replyTo = post ?? threading?.replyTo;
    return {
      id: outboxId(activity.id, room),
      room,
      body,
      json,
      ticketId: stored.ticket.TT_ID,
      ...(threading ? { thread: threading.thread, incident: threading.incident } : {}),
      ...(replyTo ? { replyTo } : {}),
      createdAt: ctx.now.toISOString(),
      attempts: 0,
    };
  });
  return { activity, outbox };
}

/** Inserts a line after the ticket's first two lines (id line and title). */
function withLine(body: string, line: string): string {
  if (!line) return body;
  const lines = body.split("\n");
  lines.splice(Math.min(2, lines.length), 0, line);
  return lines.join("\n");
}

/** An incident closed (every member final) or reopened: one line in each of its rooms, in its thread. */
export function incidentStatusNotices(ctx: AnnounceContext, assignment: Assignment, causeTicket: string): OutboxEntry[] {
  if (!ctx.incidents || !(assignment.closedNow || assignment.reopenedNow)) return [];
  const members = ctx.incidents.members(assignment.incidentId);
  // A one-ticket incident closes with its ticket, whose own message already says so.
  if (members.length < 2) return [];
  const list = members.map((m) => `${m.ttId} (${m.status})`).join(", ");
  const markdown = assignment.closedNow
    ? `Incident **${escapeMarkdown(assignment.thread)}** closed: all ${members.length} tickets are final: ${escapeOutside(list, 600)}.`
    : `Incident **${escapeMarkdown(assignment.thread)}** reopened by ${escapeOutside(causeTicket)}: ${escapeOutside(list, 600)}.`;
  const body = markdownToStyled(markdown);
  // In a room shared with the peer NOC whose ticket opened the incident, that peer's bot says it:
  // both bots order the members alike (oldest first), so exactly one of them posts the line there.
  const first = members[0];
  const rooms = ctx.incidents.roomsOf(assignment.incidentId).filter((room) => first?.remoteRoom === undefined || room !== first.remoteRoom);
  return rooms.map((room) => {
    const t = ctx.incidents?.threading(assignment.incidentId, room);
    const event = `${assignment.closedNow ? "closed" : "reopened"}:${assignment.incidentId}:${ctx.now.toISOString()}`;
    return {
      id: outboxId(event, room),
      room,
      body: incidentPrefix(assignment.thread) + body,
      ...(t ? { thread: t.thread, incident: t.incident, ...(t.replyTo ? { replyTo: t.replyTo } : {}) } : {}),
      createdAt: ctx.now.toISOString(),
      attempts: 0,
    };
  });
}

/**
 * A peer NOC's ticket, related to ours: a one-line notice, without payload, in this bot's other
 * rooms of the incident (never in the room it came from, never a re-post of the peer's activity).
 * Only for a new ticket or a status change.
 */
export function announceRemote(ctx: AnnounceContext, stored: StoredTicket, before: Ticket | undefined, assignment: Assignment, activityId: string): OutboxEntry[] {
  const remote = stored.remote;
  if (!remote || !ctx.incidents) return [];
  const ticket = stored.ticket;
  const ourRooms = ctx.incidents.roomsOf(assignment.incidentId).filter((r) => r !== remote.room);
  const statusChanged = before !== undefined && before.TT_Status !== ticket.TT_Status;
  if (ourRooms.length === 0 || !(before === undefined || statusChanged)) return [];
  const what = before
    ? `${escapeOutside(remote.name)} updated ${heading(ticket.TT_ID)}: status ${escapeMarkdown(before.TT_Status)} → ${escapeMarkdown(ticket.TT_Status)}`
    : `${escapeOutside(remote.name)} reports ${heading(ticket.TT_ID)} (${escapeMarkdown(ticket.TT_Status)} · ${escapeMarkdown(ticket.TT_Impact_Assessment)}): ${escapeOutside(ticket.TT_Title)}`;
  const line = incidentLine(assignment, ticket);
  const body = markdownToStyled(what + (line ? `\n${escapeOutside(line, 400)}` : ""));
  return ourRooms.map((room): OutboxEntry => {
    const t = ctx.incidents?.threading(assignment.incidentId, room) ?? { thread: assignment.thread, incident: assignment.incidentId };
    return {
      id: outboxId(`peer:${activityId}`, room),
      room,
      body: incidentPrefix(t.thread) + body,
      ticketId: ticket.TT_ID,
      thread: t.thread,
      incident: assignment.incidentId,
      ...(t.replyTo ? { replyTo: t.replyTo } : {}),
      createdAt: ctx.now.toISOString(),
      attempts: 0,
    };
  });
}

/**
 * Ticket ids in their natural order (EXN_9 before EXN_10): one collator, made once. The same order
 * as `localeCompare(…, "en", { numeric: true })`, which makes a collator per comparison (a tenth
 * of a second to sort the 10k open tickets of a big first poll's room).
 */
const BY_NUMBERED_ID = new Intl.Collator("en", { numeric: true });

/** First contact with a source (a feed's first poll): at most one line per room, listing what is open there now. */
export function summaryPosts(label: string, learnt: readonly StoredTicket[], now: Date): OutboxEntry[] {
  // A ticket learnt twice (two items of one ticket, or once more on an interrupted poll) counts once, as last seen.
  const latest = new Map<string, StoredTicket>();
  for (const s of learnt) {
    latest.delete(s.ticket.TT_ID);
    latest.set(s.ticket.TT_ID, s);
  }
  const byRoom = new Map<string, Ticket[]>();
  for (const s of latest.values())
    for (const room of s.rooms) {
      const list = byRoom.get(room);
      if (list) list.push(s.ticket);
      else byRoom.set(room, [s.ticket]);
    }
  const posts: OutboxEntry[] = [];
  for (const [room, tickets] of byRoom) {
    const open = tickets.filter((t) => !isFinalStatus(t.TT_Status)).sort((a, b) => BY_NUMBERED_ID.compare(a.TT_ID, b.TT_ID));
    const ids = open.slice(0, 10).map((t) => t.TT_ID);
    const more = open.length > ids.length ? ` and ${open.length - ids.length} more` : "";
    const markdown =
      `Now following feed **${escapeMarkdown(label)}**: ${count(tickets.length, "ticket")} already listed, ${open.length} open` +
      (ids.length > 0 ? ` (${escapeOutside(ids.join(", "), 600)}${more})` : "") +
      ". New tickets and changes will be posted here.";
    const id = outboxId(`summary:${label}:${now.toISOString()}`, room);
    posts.push({ id, room, body: markdownToStyled(markdown), createdAt: now.toISOString(), attempts: 0 });
  }
  return posts;
}
