/** The shape of the live store (validated when read: a hand-edited or damaged file is reported, not trusted). */
import { z } from "zod";
import { OpenTicketSchema } from "../model/ticket.js";

export const SeenItemSchema = z.object({ fp: z.string(), lastSeen: z.string() });

export const FeedStateSchema = z.object({
  primed: z.boolean(),
  validators: z.object({ etag: z.string().optional(), lastModified: z.string().optional() }),
  seen: z.record(z.string(), SeenItemSchema),
  failures: z.number().int().min(0),
  retryAfter: z.string().optional(),
  lastError: z.string().optional(),
  lastSuccess: z.string().optional(),
  mapping: z.string().optional(),
});

export const StoredTicketSchema = z.object({
  ticket: OpenTicketSchema,
  hash: z.string(),
  /** Where it came from: a feed id, or "peer:<room>" for a ticket another NOC's bot posted. */
  source: z.string(),
  link: z.string().optional(),
  firstSeen: z.string(),
  lastChange: z.string(),
  /** Rooms this bot posted the ticket to (none for a peer's ticket). */
  rooms: z.array(z.string()),
  /** The incident (local id) the ticket belongs to, and why it was put there (for `show`). */
  incident: z.string().optional(),
  correlation: z.string().optional(),
  /** The Request Tracker ticket behind it (source "rt"), or created for it (a peer's ticket). */
  rt: z.object({ id: z.number().int().positive(), lastUpdated: z.string().optional(), lastTxn: z.number().int().optional() }).optional(),
  /** For a peer's ticket: the NOC that posted it (AS2 actor) and where. */
  peer: z
    .object({
      actor: z.string(),
      name: z.string(),
      room: z.string(),
      nick: z.string().optional(),
      /** The real JID it came from, and the activity's time (older versions are ignored). */
      jid: z.string().optional(),
      published: z.string().optional(),
    })
    .optional(),
});
export type StoredTicket = z.infer<typeof StoredTicketSchema>;

/** A message to post, recorded before it is attempted; removed once the room echoes it back. */
export const OutboxEntrySchema = z.object({
  /** Also the XEP-0359 origin-id of the stanza: how the echo (or a history replay) is recognised. */
  id: z.string(),
  room: z.string(),
  body: z.string(),
  /** The AS2 activity, serialised, for `<json xmlns="urn:xmpp:json:0">` (XEP-0335). */
  json: z.string().optional(),
  ticketId: z.string().optional(),
  /** XEP-0201 thread (the incident's thread id) and XEP-0461 reply target (the incident's first message here). */
  thread: z.string().optional(),
  replyTo: z.object({ id: z.string(), to: z.string() }).optional(),
  incident: z.string().optional(),
  createdAt: z.string(),
  attempts: z.number().int().min(0),
  lastAttempt: z.string().optional(),
  lastError: z.string().optional(),
});
export type OutboxEntry = z.infer<typeof OutboxEntrySchema>;

/**
 * A write to Request Tracker, recorded before it is attempted and removed once RT took it; retried
 * with backoff while RT is down, reported in the room if it finally fails.
 */
export const RtWriteSchema = z.object({
  id: z.string(),
  ticketId: z.string(),
  op: z.enum(["create", "comment", "correspond"]),
  /** RT ticket id (absent for create until it is known). */
  rtId: z.number().int().positive().optional(),
  text: z.string(),
  status: z.string().optional(),
  create: z.object({ queue: z.string(), subject: z.string(), customFields: z.record(z.string(), z.string()) }).optional(),
  /** Where to report a final failure (the room or account the command came from). */
  notify: z.object({ room: z.string().optional(), to: z.string() }).optional(),
  createdAt: z.string(),
  attempts: z.number().int().min(0),
  lastAttempt: z.string().optional(),
  nextAttemptAt: z.string().optional(),
  lastError: z.string().optional(),
  /** The comment went in; only the status change is left (a retry must not comment twice). */
  commented: z.boolean().optional(),
  failed: z.boolean().optional(),
  reported: z.boolean().optional(),
});
export type RtWrite = z.infer<typeof RtWriteSchema>;

/** An incident as rooms see it; its members live on the tickets (`incident`), its status is derived. */
export const IncidentRecordSchema = z.object({
  id: z.string(),
  /**
   * The thread id used in rooms. Starts as `id`; when a peer bot's incident turns out to be the
   * same, both bots adopt the smaller of the two ids, so the shared room shows one thread.
   */
  thread: z.string(),
  createdAt: z.string(),
  closedAt: z.string().optional(),
  /** Per room: the room-assigned stanza-id of the incident's first message and its sender (XEP-0461). */
  rooms: z.record(z.string(), z.object({ id: z.string(), to: z.string() })),
});
export type IncidentRecord = z.infer<typeof IncidentRecordSchema>;

export const StoreDataSchema = z.object({
  version: z.literal(1),
  feeds: z.record(z.string(), FeedStateSchema),
  tickets: z.record(z.string(), StoredTicketSchema),
  incidents: z.record(z.string(), IncidentRecordSchema).default({}),
  /** The latest chat commands, accepted or refused (the full log is appended to <store>.audit.jsonl). */
  audit: z.array(z.record(z.string(), z.unknown())).default([]),
  outbox: z.array(OutboxEntrySchema),
  rt: z.object({ since: z.string().optional() }).default({}),
  /** Peer TT_ID → the RT ticket made for it, kept after the ticket is archived (a reopen reuses it). */
  rtLinks: z.record(z.string(), z.number().int().positive()).default({}),
  rtOutbox: z.array(RtWriteSchema).default([]),
});
export type StoreData = z.infer<typeof StoreDataSchema>;

export const emptyStore = (): StoreData => ({ version: 1, feeds: {}, tickets: {}, incidents: {}, audit: [], outbox: [], rt: {}, rtLinks: {}, rtOutbox: [] });
