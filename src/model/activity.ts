/**
 * Activity Streams 2.0 (W3C AS2 Core §4.1) activities carrying an NTTDM ticket. The same shape is
 * posted by this bot and parsed from peer bots, so the schema below is the wire contract.
 */
import { z } from "zod";
import { OpenTicketSchema, ticketContentHash, type Ticket } from "./ticket.js";

export const AS2_CONTEXT = "https://www.w3.org/ns/activitystreams";
/** Namespace for the NTTDM extension terms (JSON-LD compact IRIs, AS2 Core §5). */
export const NTTDM_NS = "urn:ietf:rfc:6137#";

export const ActivityTypes = ["Create", "Update"] as const;
export type ActivityType = (typeof ActivityTypes)[number];

export const ActorSchema = z.object({
  type: z.enum(["Organization", "Person", "Service", "Application"]),
  id: z.string().min(1).max(500),
  name: z.string().min(1).max(200),
  url: z.string().url().optional(),
});
export type Actor = z.infer<typeof ActorSchema>;

export const TicketObjectSchema = z.object({
  type: z.literal("nttdm:TroubleTicket"),
  id: z.string().min(1),
  name: z.string(),
  url: z.string().url().optional(),
  "nttdm:ticket": OpenTicketSchema,
});

export const TicketActivitySchema = z.object({
  "@context": z.tuple([z.literal(AS2_CONTEXT), z.object({ nttdm: z.literal(NTTDM_NS) })]),
  id: z.string().min(1).max(500),
  type: z.enum(ActivityTypes),
  actor: ActorSchema,
  object: TicketObjectSchema,
  published: z.iso.datetime({ offset: true }),
  summary: z.string().max(1000).optional(),
  /** The incident this activity belongs to (AS2 Vocabulary `context`): a ttrelay incident id. */
  context: z
    .string()
    .regex(/^INC-[0-9a-f]{12}(-\d+)?$/, "must be an incident id like INC-0123456789ab")
    .optional(),
});
export type TicketActivity = z.infer<typeof TicketActivitySchema>;

export const ticketObjectId = (ttId: string): string => `urn:nttdm:${encodeURIComponent(ttId)}`;

export const nocActor = (noc: { id: string; name: string; url?: string | undefined }): Actor => ({
  type: "Organization",
  id: `urn:ttrelay:noc:${encodeURIComponent(noc.id)}`,
  name: noc.name,
  ...(noc.url ? { url: noc.url } : {}),
});

/** Builds the activity for a ticket change (the outbox, not the id, keeps a restart from posting twice). */
export function ticketActivity(type: ActivityType, ticket: Ticket, actor: Actor, published: Date, link?: string): TicketActivity {
  return {
    "@context": [AS2_CONTEXT, { nttdm: NTTDM_NS }],
    // Content hash + time: a ticket that flips back to an earlier state is a new activity, not the old one.
    id: `urn:ttrelay:activity:${encodeURIComponent(ticket.TT_ID)}:${type.toLowerCase()}:${ticketContentHash(ticket).slice(0, 12)}:${published.getTime().toString(36)}`,
    type,
    actor,
    object: {
      type: "nttdm:TroubleTicket",
      id: ticketObjectId(ticket.TT_ID),
      name: ticket.TT_Title,
      ...(link ? { url: link } : {}),
      "nttdm:ticket": ticket,
    },
    published: published.toISOString(),
    summary: `${actor.name} ${type === "Create" ? "opened" : "updated"} ${ticket.TT_ID}: ${ticket.TT_Title}`.slice(0, 1000),
  };
}
