/**
 * Who may run which command (pure; denies by default).
 *
 * Identity is the sender's REAL bare JID only: in a room that is the occupant's `jid` attribute
 * (XEP-0045 §7.2.3, non-anonymous rooms or the bot as moderator), in a direct message the `from`.
 * Never the nickname: anyone can take any nickname, and errbot's MUC ACLs broke on exactly that.
 * When the real JID is unknown the answer is no, whatever the affiliation or nickname.
 *
 * Roles, ordered: customer < engineer < admin.
 * - admin: `admins` (global) or a room's `admins` (in that room); may change any NOC's tickets.
 * - engineer: `engineers` (global), or in a room its `engineers` patterns or an affiliation the
 *   room lists in `affiliations` (owner/admin/member, as reported by the room for that real JID).
 *   In a direct message (no room) every room's `engineers` patterns count (affiliations do not:
 *   there is no room to vouch for them). An engineer may change tickets whose Partner_ID is in the
 *   `nocs` of the rule that made them engineer (room `nocs`, else global `nocs`, else this NOC's id).
 * - customer: `customers` (global): the read-only commands (mutates: false, role customer), and
 *   only by direct message or ad-hoc command (both private); in a room a customer is politely sent
 *   to a direct message.
 * - anyone else: refused, politely. The bot's own JID: ignored (its echoes must not loop).
 *
 * JID patterns: `local@domain`, case-insensitive; `*` matches any run of characters except "@"
 * (`*@noc.example.net`; `*@*.example.net` matches subdomains, not example.net itself).
 */
import { z } from "zod";
import { bareJid, matchJid } from "../util/jid.js";

export const Roles = ["customer", "engineer", "admin"] as const;
export type Role = (typeof Roles)[number];

/** How the command reached the bot. */
export const Vias = ["groupchat", "direct", "muc-private", "adhoc"] as const;
export type Via = (typeof Vias)[number];

/** XEP-0045 §5.2 affiliations. */
export const Affiliations = ["owner", "admin", "member", "none", "outcast"] as const;
export type Affiliation = (typeof Affiliations)[number];
/** The affiliations a room may declare as granting the engineer role. */
export const GrantingAffiliations = ["owner", "admin", "member"] as const;

export const roleRank = (r: Role): number => Roles.indexOf(r);

// ---------------------------------------------------------------------------------------------
// Config
// ---------------------------------------------------------------------------------------------

export const JidPatternSchema = z
  .string()
  .trim()
  .toLowerCase()
  .regex(/^[^@\s/]+@[^@\s/]+$/u, "must be a JID pattern like alice@example.net or *@noc.example.net (no resource)");

const PartnerIdSchema = z.string().regex(/^[^_\s]+$/u, "a Partner_ID may not contain '_' or spaces (RFC 6137 §3.2.4.1)");

export const RoomAclSchema = z.strictObject({
  engineers: z.array(JidPatternSchema).default([]).describe("real JIDs that are engineers in this room"),
  affiliations: z
    .array(z.enum(GrantingAffiliations))
    .default([])
    .describe("room affiliations (of the real JID) that make an occupant an engineer here"),
  admins: z.array(JidPatternSchema).default([]).describe("real JIDs that are admins in this room"),
  nocs: z
    .array(PartnerIdSchema)
    .min(1)
    .optional()
    .describe("Partner_IDs whose tickets this room's engineers may change; default: the global `nocs`"),
});
export type RoomAcl = z.infer<typeof RoomAclSchema>;

/** The `acl` section of the main config. Everything defaults to empty: nobody may do anything. */
export const AclConfigSchema = z.strictObject({
  admins: z.array(JidPatternSchema).default([]).describe("real JIDs that are admins everywhere (any NOC's tickets)"),
  engineers: z.array(JidPatternSchema).default([]).describe("real JIDs that are engineers everywhere"),
  customers: z.array(JidPatternSchema).default([]).describe("real JIDs that may use read-only commands by direct message"),
  nocs: z
    .array(PartnerIdSchema)
    .min(1)
    .optional()
    .describe("Partner_IDs whose tickets engineers may change; default: this NOC's own id (noc.id)"),
  rooms: z
    .record(z.string().trim().toLowerCase(), RoomAclSchema)
    .default({})
    .describe("per room (bare room JID): who is an engineer or admin there"),
});
export type AclConfig = z.infer<typeof AclConfigSchema>;

/** The config plus what it needs from the rest of the main config. */
export type Acl = {
  readonly rules: AclConfig;
  /** The bot's own bare JID: its messages are ignored. */
  readonly self: string;
  /** This NOC's Partner_ID (config `noc.id`): what engineers may change by default. */
  readonly ownNoc: string;
};

export function buildAcl(rules: AclConfig, opts: { botJid: string; ownNoc: string }): Acl {
  const rooms: Record<string, RoomAcl> = {};
  for (const [room, acl] of Object.entries(rules.rooms)) rooms[bareJid(room)] = acl;
  return { rules: { ...rules, rooms }, self: bareJid(opts.botJid), ownNoc: opts.ownNoc };
}

// ---------------------------------------------------------------------------------------------
// Decision
// ---------------------------------------------------------------------------------------------

export type ActorIdentity = {
  /** The real bare JID; `undefined` when the room does not reveal it. */
  jid: string | undefined;
  via: Via;
  /** The room (bare JID) for groupchat and MUC private messages. */
  room?: string | undefined;
  /** The real JID's affiliation in `room`, as the room reported it. */
  affiliation?: Affiliation | undefined;
  /** For the audit log only: never used to decide. */
  nick?: string | undefined;
};

export type CommandPolicy = { name: string; role: Role; mutates: boolean };

/** "any": an admin; otherwise the Partner_IDs whose tickets the actor may change. */
export type NocScope = readonly string[] | "any";

export type AuthDecision =
  | { kind: "allow"; allowed: true; role: Role; nocs: NocScope }
  | { kind: "deny"; allowed: false; reason: string; logReason: string }
  | { kind: "ignore"; allowed: false; logReason: string };

export type Grant = { role: Role; nocs: NocScope };

export { bareJid, matchJid } from "../util/jid.js";

const anyMatch = (patterns: readonly string[], jid: string): boolean => patterns.some((p) => matchJid(p, jid));

/** The actor's role and NOC scope, or `undefined` if the ACL does not know them. */
export function grantFor(acl: Acl, actor: ActorIdentity): Grant | undefined {
  if (actor.jid === undefined) return undefined;
  const jid = bareJid(actor.jid);
  if (jid === "" || !jid.includes("@")) return undefined;
  const { rules } = acl;
  const defaultNocs = rules.nocs ?? [acl.ownNoc];

  const room = actor.room === undefined ? undefined : bareJid(actor.room);
  const inRoom = room !== undefined && (actor.via === "groupchat" || actor.via === "muc-private");
  const roomRules: [string, RoomAcl][] = inRoom
    ? Object.entries(rules.rooms).filter(([r]) => r === room)
    : actor.via === "direct" || actor.via === "adhoc"
      ? Object.entries(rules.rooms)
      : [];

  // A room's admins are admins in that room only; by direct message only the global list counts.
  if (anyMatch(rules.admins, jid) || (inRoom && roomRules.some(([, r]) => anyMatch(r.admins, jid)))) return { role: "admin", nocs: "any" };

  const nocs = new Set<string>();
  if (anyMatch(rules.engineers, jid)) for (const n of defaultNocs) nocs.add(n);
  for (const [, r] of roomRules) {
    const byPattern = anyMatch(r.engineers, jid);
    const byAffiliation = inRoom && actor.affiliation !== undefined && (r.affiliations as readonly string[]).includes(actor.affiliation);
    if (byPattern || byAffiliation) for (const n of r.nocs ?? defaultNocs) nocs.add(n);
  }
  if (nocs.size > 0) return { role: "engineer", nocs: [...nocs].sort() };

  if (anyMatch(rules.customers, jid)) return { role: "customer", nocs: [] };
  return undefined;
}

/**
 * May `actor` run `command` (on a ticket of `ticketPartner`, when known)? Call it once before
 * running (role and channel), and again with the ticket's Partner_ID before saving a change.
 */
export function authorize(acl: Acl, actor: ActorIdentity, command: CommandPolicy, ticketPartner?: string): AuthDecision {
  const name = `“${command.name}”`;
  if (actor.jid === undefined || bareJid(actor.jid) === "") {
    return deny(
      `Sorry, I can't see your real address (JID) here, so I can't run ${name} for you. Please send me the command by direct message.`,
      "real JID unknown",
    );
  }
  const jid = bareJid(actor.jid);
  if (jid === acl.self) return { kind: "ignore", allowed: false, logReason: "message from the bot itself" };

  const grant = grantFor(acl, actor);
  if (grant === undefined) {
    return deny(
      `Sorry, I don't know ${jid}, so I can't run ${name} for you. If you work with one of the NOCs I serve, please ask its administrators to add you.`,
      `no role for ${jid}`,
    );
  }
  const needed: Role = command.mutates && command.role === "customer" ? "engineer" : command.role;
  if (roleRank(grant.role) < roleRank(needed)) {
    return deny(
      needed === "admin"
        ? `Sorry, ${name} is for administrators only.`
        : `Sorry, ${name} is for NOC engineers. You can use the read-only commands (status, show, list, help).`,
      `${jid} is ${grant.role}, ${command.name} needs ${needed}`,
    );
  }
  // Answers to ad-hoc commands (XEP-0050) are as private as direct messages.
  if (grant.role === "customer" && actor.via !== "direct" && actor.via !== "adhoc") {
    return deny(`Sorry, I answer customers by direct message only: please send me ${name} privately.`, `customer ${jid} via ${actor.via}`);
  }
  if (command.mutates && ticketPartner !== undefined && grant.nocs !== "any") {
    const partner = ticketPartner.toLowerCase();
    if (!grant.nocs.some((n) => n.toLowerCase() === partner)) {
      return deny(
        `Sorry, that ticket belongs to NOC ${ticketPartner}; you may change tickets of ${grant.nocs.join(", ")} only.`,
        `${jid} may change ${grant.nocs.join(",")}, not ${ticketPartner}`,
      );
    }
  }
  return { kind: "allow", allowed: true, role: grant.role, nocs: grant.nocs };
}

function deny(reason: string, logReason: string): AuthDecision {
  return { kind: "deny", allowed: false, reason, logReason };
}
