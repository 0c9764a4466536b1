/**
 * Activities posted by other NOCs' bots (or anyone) in a shared room → ticket versions (pure):
 * validated at the edge (zod), accepted only from configured bots' real JIDs for the Partner_IDs
 * they may speak for, bounded per peer. The intake keeps them as the peer's remote tickets and
 * correlates them with ours; a peer's activity is never re-posted as this bot's own.
 */
import { incidentOf, readTicketActivity, type Actor, type TicketActivity } from "../../model/activity.js";
import { datetimeToMillis } from "../../model/ticket.js";
import type { LogLine } from "../../log/logger.js";
import type { StoredTicket } from "../../store/types.js";
import type { IncomingRoomMessage } from "../../xmpp/stanzas.js";
import type { TicketVersion } from "../types.js";

/** Live tickets kept per peer NOC at most. */
export const MAX_PEER_TICKETS = 5000;

/** How far ahead of our clock a peer's timestamp may be (clocks drift; a date years ahead is not drift). */
export const MAX_CLOCK_SKEW_MS = 5 * 60_000;

/** Largest payload read from a room message; an AS2 ticket activity is a few KB. */
export const MAX_PEER_JSON = 256 * 1024;

/** `ownPartners`: every Partner_ID this bot publishes (noc.id, its feeds' partnerIds, RT's). */
export type PeerContext = {
  self: Actor;
  ownPartners: ReadonlySet<string>;
  /** May this real JID speak for this Partner_ID? (config `peerBots`; deny when in doubt) */
  trusted: (jid: string, partner: string) => boolean;
  /** Is this real JID one of the configured peer bots (for any NOC), or this bot's own account? */
  knownBot: (jid: string) => boolean;
  /** How many live tickets of this Partner_ID the store holds (for the per-peer bound). */
  peerTicketCount?: (partner: string) => number;
  now: () => Date;
};

export type PeerReading = { version?: TicketVersion | undefined; logs: LogLine[]; who: Record<string, unknown> };

export function readPeerActivity(ctx: PeerContext, msg: IncomingRoomMessage, senderJid: string | undefined, known: (ttId: string) => StoredTicket | undefined): PeerReading {
  const who = { room: msg.room, nick: msg.nick, jid: senderJid, occupantId: msg.occupantId };
  const ignore = (level: LogLine["level"], why: string, extra: Record<string, unknown> = {}): PeerReading => ({
    logs: [{ level, msg: "peer activity ignored", fields: { ...who, reason: why, ...extra } }],
    who,
  });
  if (msg.json === undefined) return { logs: [], who };
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
  // Our own tickets coming back (another instance, or a peer bot quoting us) are not news; anyone
  // else posting them is impersonating this NOC, and an admin must hear of it.
  if (activity.actor.id === ctx.self.id || ctx.ownPartners.has(ticket.Partner_ID)) {
    if (senderJid !== undefined && ctx.knownBot(senderJid)) return ignore("debug", "the activity is about this NOC's own ticket", { ticket: ticket.TT_ID });
    return ignore("warn", `${senderJid ?? "a sender whose real JID the room hides"} posted an activity as this NOC (${ticket.Partner_ID}) and is not a configured peer bot`, { ticket: ticket.TT_ID });
  }
  // Who may speak for a NOC is configured by real JID; the activity's own claims are not enough.
  if (senderJid === undefined) return ignore("warn", "the room does not show the sender's real JID, so it cannot be trusted", { ticket: ticket.TT_ID });
  // A date in the future would freeze the ticket: every later real version would be "not newer".
  // The ticket's own last-update time too: shown to engineers and compared by later steps.
  for (const [name, when] of [["published", activity.published], ["TT_Last_Update_Time", ticket.TT_Last_Update_Time]] as const) {
    const ahead = (datetimeToMillis(when) ?? Date.parse(when)) - ctx.now().getTime();
    if (ahead > MAX_CLOCK_SKEW_MS)
      return ignore("warn", `${name} ${when}, ${Math.round(ahead / 60_000)} min ahead of this bot's clock (more than ${MAX_CLOCK_SKEW_MS / 60_000} min)`, { ticket: ticket.TT_ID });
  }
  if (!ctx.trusted(senderJid, ticket.Partner_ID))
    return ignore("warn", `${senderJid} is not configured (peerBots) to speak for ${ticket.Partner_ID}`, { ticket: ticket.TT_ID });
  const before = known(ticket.TT_ID);
  if (before && !before.remote) return ignore("warn", "a peer posted a ticket this bot reads from its own source", { ticket: ticket.TT_ID });
  // A bound on what one peer can make us keep.
  if (!before && (ctx.peerTicketCount?.(ticket.Partner_ID) ?? 0) >= MAX_PEER_TICKETS)
    return ignore("warn", `${ticket.Partner_ID} already has ${MAX_PEER_TICKETS} live tickets here; new ones are ignored until some are archived`, { ticket: ticket.TT_ID });

  const version: TicketVersion = {
    ticket,
    provenance: { source: `peer:${msg.room}`, item: activity.id, published: activity.published },
    ...(activity.object.url ? { link: activity.object.url } : {}),
    // The peer's own ticket: it is the whole truth about it; older versions never win.
    merge: "replace",
    ordered: true,
    remote: { actor: activity.actor.id, name: activity.actor.name, room: msg.room, jid: senderJid, ...(msg.nick ? { nick: msg.nick } : {}) },
    // The peer's incident (an IRI in the activity): both bots keep the smaller id as the thread.
    ...(incidentOf(activity) !== undefined ? { context: incidentOf(activity) } : {}),
    logFields: who,
  };
  return { version, logs: [], who };
}
