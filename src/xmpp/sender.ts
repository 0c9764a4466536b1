/**
 * Who sent a one-to-one stanza (chat message, ad-hoc command, disco request, subscription), as
 * the application may use it for authorization: a real bare JID, or none (pure).
 *
 * A room JID is never an actor. A stanza from `room@muc/nick` comes from an occupant: its real JID
 * is only what the room reported for that nick in its presence (XEP-0045 §7.2.3), and unknown when
 * the room hides it. A stanza from the room's own JID (or from a room the bot is not in, on any
 * MUC service) has no real JID the bot could know. Treating `room@conference.example.org` as a
 * user would let a pattern like `*@*.example.org` match anyone who can make a room there.
 */
import { Affiliations, type ActorIdentity, type Affiliation, type Via } from "../dispatch/authorize.js";
import { bare, resourceOf, type Occupant } from "./stanzas.js";

export type SenderContext = {
  /** One of the bot's rooms (bare JID, lower case)? */
  isOurRoom(room: string): boolean;
  occupant(room: string, nick: string): Occupant | undefined;
  /** Is `domain` a MUC service? `undefined` (not known): treated as one, to deny when in doubt. */
  isMucService(domain: string): boolean | undefined;
};

const asAffiliation = (value: string | undefined): Affiliation | undefined =>
  (Affiliations as readonly string[]).includes(value ?? "") ? (value as Affiliation) : undefined;

export const domainOf = (jid: string): string => {
  const b = bare(jid);
  return b.slice(b.indexOf("@") + 1);
};

/**
 * The identity of `from` for a stanza that reached the bot by `via`. For a stanza through a room
 * the identity names the room and nick (for the audit) but carries only the real JID the room
 * reported; the affiliation is the room's word for that real JID.
 */
export function senderIdentity(from: string, via: Via, ctx: SenderContext): ActorIdentity {
  const room = bare(from);
  const nick = resourceOf(from);
  if (ctx.isOurRoom(room)) {
    if (nick === undefined || nick === "") return { jid: undefined, via, room };
    const occupant = ctx.occupant(room, nick);
    return { jid: occupant?.jid, via, room, nick, affiliation: asAffiliation(occupant?.affiliation) };
  }
  // A bare domain (a server or component) is no person either.
  if (!room.includes("@")) return { jid: undefined, via };
  if (ctx.isMucService(domainOf(room)) !== false) return { jid: undefined, via, room, ...(nick ? { nick } : {}) };
  return { jid: room, via };
}
