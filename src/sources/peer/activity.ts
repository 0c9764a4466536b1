/**
 * Activities posted by other NOCs' bots (or anyone) in a shared room: validated at the edge (zod),
 * kept as the peer's remote tickets, and correlated with ours, so a fault two NOCs see becomes one
 * incident in both bots' rooms. A peer's activity is never re-posted as this bot's own: at most a
 * one-line notice, without payload, in this bot's other rooms of the incident.
 */
import { incidentOf, readTicketActivity, type Actor, type TicketActivity } from "../../model/activity.js";
import { escapeMarkdown, markdownToStyled } from "../../render/xep0393.js";
import type { OutboxEntry, StoredTicket } from "../../store/types.js";
import type { IncomingRoomMessage } from "../../xmpp/stanzas.js";
import { incidentLine, incidentPrefix, incidentStatusNotices, outboxId, type AnnounceContext } from "../../intake/announce.js";
import type { IncidentBook } from "../../intake/incidents.js";
import type { LogLine } from "../../log/logger.js";
import { changeHash } from "../feed/plan.js";

export type PeerPlan = { ticket?: StoredTicket; outbox: OutboxEntry[]; logs: LogLine[]; threadAdopted?: boolean };

/** Live tickets kept per peer NOC at most. */
export const MAX_PEER_TICKETS = 5000;

/** Largest payload read from a room message; an AS2 ticket activity is a few KB. */
export const MAX_PEER_JSON = 256 * 1024;

/** `ownPartners`: every Partner_ID this bot publishes (noc.id, its feeds' partnerIds, RT's). */
export type PeerContext = AnnounceContext & {
  self: Actor;
  ownPartners: ReadonlySet<string>;
  incidents: IncidentBook;
  /** May this real JID speak for this Partner_ID? (config `peerBots`; deny when in doubt) */
  trusted: (jid: string, partner: string) => boolean;
  /** How many live tickets of this Partner_ID the store holds (for the per-peer bound). */
  peerTicketCount?: (partner: string) => number;
};

export function planPeerActivity(
  ctx: PeerContext,
  msg: IncomingRoomMessage,
  senderJid: string | undefined,
  known: (ttId: string) => StoredTicket | undefined,
): PeerPlan {
  const who = { room: msg.room, nick: msg.nick, jid: senderJid, occupantId: msg.occupantId };
  const ignore = (level: LogLine["level"], why: string, extra: Record<string, unknown> = {}): PeerPlan => ({
    outbox: [],
    logs: [{ level, msg: "peer activity ignored", fields: { ...who, reason: why, ...extra } }],
  });
  if (msg.json === undefined) return { outbox: [], logs: [] };
  if (msg.json.length > MAX_PEER_JSON) return ignore("warn", `payload of ${msg.json.length} characters is larger than ${MAX_PEER_JSON}`);
  let raw: unknown;
  try {
    raw = JSON.parse(msg.json);
  } catch (e) {
    return ignore("warn", `payload is not JSON (${(e as Error).message})`);
  }
  // Read by meaning (contexts in any order, full IRIs, context as an object): src/model/activity.ts.
  const parsed = readTicketActivity(raw);
  if (!parsed.ok) return ignore("warn", `not a valid ticket activity: ${parsed.error}`);
  const activity: TicketActivity = parsed.value;
  const ticket = activity.object["nttdm:ticket"];
  // Our own tickets coming back (another instance, or a peer quoting us) are not news.
  if (activity.actor.id === ctx.self.id || ctx.ownPartners.has(ticket.Partner_ID))
    return ignore("debug", "the activity is about this NOC's own ticket", { ticket: ticket.TT_ID });
  // Who may speak for a NOC is configured by real JID; the activity's own claims are not enough.
  if (senderJid === undefined) return ignore("warn", "the room does not show the sender's real JID, so it cannot be trusted", { ticket: ticket.TT_ID });
  if (!ctx.trusted(senderJid, ticket.Partner_ID))
    return ignore("warn", `${senderJid} is not configured (peerBots) to speak for ${ticket.Partner_ID}`, { ticket: ticket.TT_ID });
  const before = known(ticket.TT_ID);
  if (before && !before.peer) return ignore("warn", "a peer posted a ticket this bot reads from its own source", { ticket: ticket.TT_ID });
  // Room history replays and federation can deliver out of order: an older version never wins.
  if (before?.peer?.published !== undefined && Date.parse(activity.published) <= Date.parse(before.peer.published))
    return ignore("debug", "not newer than the version already known", { ticket: ticket.TT_ID });
  // A bound on what one peer can make us keep (the live store is rewritten whole on each write).
  if (!before && (ctx.peerTicketCount?.(ticket.Partner_ID) ?? 0) >= MAX_PEER_TICKETS)
    return ignore("warn", `${ticket.Partner_ID} already has ${MAX_PEER_TICKETS} live tickets here; new ones are ignored until some are archived`, { ticket: ticket.TT_ID });
  const hash = changeHash(ticket);
  if (before && before.hash === hash) return ignore("debug", "already known, unchanged", { ticket: ticket.TT_ID });

  const nowIso = ctx.now.toISOString();
  const assignment = ctx.incidents.assign(ticket, [], ctx.now);
  const stored: StoredTicket = {
    ticket,
    hash,
    source: `peer:${msg.room}`,
    ...(activity.object.url ? { link: activity.object.url } : {}),
    firstSeen: before?.firstSeen ?? nowIso,
    lastChange: nowIso,
    rooms: [],
    incident: assignment.incidentId,
    correlation: assignment.explanation,
    peer: { actor: activity.actor.id, name: activity.actor.name, room: msg.room, jid: senderJid, published: activity.published, ...(msg.nick ? { nick: msg.nick } : {}) },
  };
  const peerIncident = incidentOf(activity);
  const threadAdopted = peerIncident !== undefined && ctx.incidents.adoptThread(assignment.incidentId, peerIncident);
  const thread = ctx.incidents.threading(assignment.incidentId, msg.room).thread;
  const logs: LogLine[] = [
    {
      level: "info",
      msg: before ? "peer ticket updated" : "peer ticket received",
      fields: { ...who, ticket: ticket.TT_ID, noc: activity.actor.name, incident: assignment.incidentId, thread, decision: assignment.decision.kind },
    },
  ];

  // Tell our other rooms of the incident, once the peer's ticket is related to ours.
  const outbox: OutboxEntry[] = [];
  const ourRooms = ctx.incidents.roomsOf(assignment.incidentId).filter((r) => r !== msg.room);
  const statusChanged = before !== undefined && before.ticket.TT_Status !== ticket.TT_Status;
  if (ourRooms.length > 0 && (before === undefined || statusChanged)) {
    const what = before
      ? `${escapeMarkdown(activity.actor.name)} updated **${escapeMarkdown(ticket.TT_ID)}**: status ${escapeMarkdown(before.ticket.TT_Status)} → ${escapeMarkdown(ticket.TT_Status)}`
      : `${escapeMarkdown(activity.actor.name)} reports **${escapeMarkdown(ticket.TT_ID)}** (${escapeMarkdown(ticket.TT_Status)} · ${escapeMarkdown(ticket.TT_Impact_Assessment)}): ${escapeMarkdown(ticket.TT_Title)}`;
    const line = incidentLine({ ...assignment, thread }, ticket);
    const body = markdownToStyled(what + (line ? `\n${escapeMarkdown(line)}` : ""));
    for (const room of ourRooms) {
      const t = ctx.incidents.threading(assignment.incidentId, room);
      outbox.push({
        id: outboxId(`peer:${activity.id}`, room),
        room,
        body: incidentPrefix(t.thread) + body,
        ticketId: ticket.TT_ID,
        thread: t.thread,
        incident: assignment.incidentId,
        ...(t.replyTo ? { replyTo: t.replyTo } : {}),
        createdAt: nowIso,
        attempts: 0,
      });
    }
  }
  outbox.push(...incidentStatusNotices(ctx, { ...assignment, thread }, ticket.TT_ID));
  return { ticket: stored, outbox, logs, threadAdopted };
}
