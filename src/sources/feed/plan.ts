/**
 * One successful poll of one feed → what to record and what to post (pure). The adapter applies the
 * plan in a single store write, then sends the posts: outgoing work is durable before it is tried.
 */
import { createHash } from "node:crypto";
import type { Config, FeedConfig } from "../../../config/schema.js";
import type { FeedItem, ItemProblem } from "./parse.js";
import { diffItems, rejectedMarker, type FeedState } from "./state.js";
import type { Validators } from "./http.js";
import type { Actor, ActivityType, TicketActivity } from "../../model/activity.js";
import { isFinalStatus, ticketContentHash, type Ticket } from "../../model/ticket.js";
import type { RenderOptions } from "../../render/ticket-message.js";
import { escapeMarkdown, markdownToStyled } from "../../render/xep0393.js";
import { keepLocalChanges } from "../../model/merge.js";
import { routeTicket } from "../../route/route.js";
import { announceChange, incidentStatusNotices, outboxId, type AnnounceContext } from "../../intake/announce.js";
import type { IncidentPort } from "../../intake/incidents.js";
import type { OutboxEntry, StoredTicket } from "../../store/types.js";
import { translateItems } from "../../translate/item-to-ticket.js";

export type { LogLine } from "../../log/logger.js";
import type { LogLine } from "../../log/logger.js";

export type PollPlan = {
  feedState: FeedState;
  tickets: StoredTicket[];
  outbox: OutboxEntry[];
  activities: TicketActivity[];
  logs: LogLine[];
};

export type PollContext = {
  feed: FeedConfig;
  routes: Config["routes"];
  actor: Actor;
  render: RenderOptions;
  now: Date;
  /** Correlation into incidents and threading; without it tickets are posted unthreaded. */
  incidents?: IncidentPort | undefined;
};

export { outboxId } from "../../intake/announce.js";

export function planPoll(
  ctx: PollContext,
  state: FeedState,
  items: readonly FeedItem[],
  itemProblems: readonly ItemProblem[],
  validators: Validators,
  known: (ttId: string) => StoredTicket | undefined,
): PollPlan {
  const { feed, now } = ctx;
  const nowIso = now.toISOString();
  const diff = diffItems(state, items, validators, now, mappingHash(feed));
  const logs: LogLine[] = itemProblems.map((p) => ({
    level: "warn",
    msg: "feed item problem",
    fields: { feed: feed.id, item: p.key, problem: p.message },
  }));
  const tickets = new Map<string, StoredTicket>();
  const outbox: OutboxEntry[] = [];
  const activities: TicketActivity[] = [];
  const lookup = (id: string): StoredTicket | undefined => tickets.get(id) ?? known(id);
  const announce: AnnounceContext = { actor: ctx.actor, render: ctx.render, incidents: ctx.incidents, now };

  // Feeds list newest first; oldest first makes a ticket's creation precede its updates.
  const touched = [...diff.fresh, ...diff.changed].reverse();
  // Every item of the document, so that two items never become one ticket unseen (issue 11.1).
  const poll = translateItems(items, feed, now, new Set(touched.map((i) => i.key)));
  for (const p of poll.problems) logs.push({ level: p.level, msg: "feed item problem", fields: { feed: feed.id, item: p.key, problem: p.message } });
  for (const item of touched) {
    const translated = poll.byKey.get(item.key);
    if (translated === undefined) continue;
    if (!translated.ok) {
      // Remembered as rejected: not logged again until the item or the feed's mapping changes.
      const entry = diff.next.seen[item.key];
      if (entry) entry.fp = rejectedMarker(item.fingerprint);
      for (const problem of translated.error)
        logs.push({
          level: "warn",
          msg: "feed item not turned into a ticket",
          fields: { feed: feed.id, item: item.key, link: item.values.link, field: problem.field, problem: problem.message },
        });
      continue;
    }
    const before = lookup(translated.value.TT_ID);
    // What engineers did from the room (acks, closes, links) survives the feed's next version.
    const ticket = before ? keepLocalChanges(keepFirstTimes(translated.value, before.ticket, feed), before.ticket) : translated.value;
    const hash = changeHash(ticket);
    if (before && before.hash === hash) continue;
    const link = typeof item.values.link === "string" ? item.values.link : before?.link;
    const rooms = routeTicket(ticket, feed.id, ctx.routes);
    const stored: StoredTicket = {
      ticket,
      hash,
      source: feed.id,
      ...(link ? { link } : {}),
      firstSeen: before?.firstSeen ?? nowIso,
      lastChange: nowIso,
      rooms: [...new Set([...(before?.rooms ?? []), ...rooms])],
    };
    // Correlated also on a first poll: later tickets (and peers' tickets) must find these.
    const assignment = ctx.incidents?.assign(ticket, stored.rooms, now);
    if (assignment) {
      stored.incident = assignment.incidentId;
      stored.correlation = assignment.explanation;
    }
    tickets.set(ticket.TT_ID, stored);
    if (diff.firstPoll) continue; // learnt, announced below in one summary line per room
    if (rooms.length === 0) {
      logs.push({ level: "warn", msg: "no route matches ticket: not posted", fields: { feed: feed.id, ticket: ticket.TT_ID } });
      continue;
    }
    const type: ActivityType = before ? "Update" : "Create";
    const { activity, outbox: posts } = announceChange(announce, stored, before?.ticket, type, assignment);
    activities.push(activity);
    outbox.push(...posts);
    if (assignment) outbox.push(...incidentStatusNotices(announce, assignment, ticket.TT_ID));
    logs.push({ level: "info", msg: `ticket ${type === "Create" ? "created" : "updated"}`, fields: { feed: feed.id, ticket: ticket.TT_ID, rooms: stored.rooms } });
  }

  if (diff.firstPoll) outbox.push(...summaryPosts(ctx, [...tickets.values()]));
  return { feedState: diff.next, tickets: [...tickets.values()], outbox, activities, logs };
}

/**
 * Feeds re-date an item when it changes; unless the feed maps them itself, the ticket was opened
 * (RFC 6137 §3.2.4.7) and the fault started (§3.2.5.5) when we first saw it, not at its latest pubDate.
 */
export function keepFirstTimes(ticket: Ticket, before: Ticket, feed: FeedConfig): Ticket {
  return {
    ...ticket,
    ...(feed.mapping.TT_Open_Datetime === undefined ? { TT_Open_Datetime: before.TT_Open_Datetime } : {}),
    ...(feed.mapping.Start_Datetime === undefined ? { Start_Datetime: before.Start_Datetime } : {}),
  };
}

/** What counts as a change: everything but the update time, which a feed without dates sets to "now". */
export const changeHash = (ticket: Ticket): string => ticketContentHash({ ...ticket, TT_Last_Update_Time: "" });

/** A new mapping may now accept items it rejected before. */
export const mappingHash = (feed: FeedConfig): string =>
  createHash("sha256").update(JSON.stringify([feed.partnerId, feed.mapping])).digest("hex").slice(0, 16);

/** First poll of a new feed: at most one line per room, listing what is open there now. */
function summaryPosts(ctx: PollContext, learnt: readonly StoredTicket[]): OutboxEntry[] {
  const byRoom = new Map<string, Ticket[]>();
  for (const s of learnt) for (const room of s.rooms) byRoom.set(room, [...(byRoom.get(room) ?? []), s.ticket]);
  const posts: OutboxEntry[] = [];
  for (const [room, tickets] of byRoom) {
    const open = tickets.filter((t) => !isFinalStatus(t.TT_Status)).sort((a, b) => a.TT_ID.localeCompare(b.TT_ID, "en", { numeric: true }));
    const ids = open.slice(0, 10).map((t) => t.TT_ID);
    const more = open.length > ids.length ? ` and ${open.length - ids.length} more` : "";
    const markdown =
      `Now following feed **${escapeMarkdown(ctx.feed.id)}**: ${tickets.length} ticket(s) already listed, ${open.length} open` +
      (ids.length > 0 ? ` (${escapeMarkdown(ids.join(", "))}${more})` : "") +
      ". New tickets and changes will be posted here.";
    const id = outboxId(`summary:${ctx.feed.id}:${ctx.now.toISOString()}`, room);
    posts.push({ id, room, body: markdownToStyled(markdown), createdAt: ctx.now.toISOString(), attempts: 0 });
  }
  return posts;
}
