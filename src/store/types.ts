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
  /** Where it came from: a feed id (later also "rt:<queue>" or "peer:<jid>"). */
  source: z.string(),
  link: z.string().optional(),
  firstSeen: z.string(),
  lastChange: z.string(),
  rooms: z.array(z.string()),
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
  createdAt: z.string(),
  attempts: z.number().int().min(0),
  lastAttempt: z.string().optional(),
  lastError: z.string().optional(),
});
export type OutboxEntry = z.infer<typeof OutboxEntrySchema>;

export const StoreDataSchema = z.object({
  version: z.literal(1),
  feeds: z.record(z.string(), FeedStateSchema),
  tickets: z.record(z.string(), StoredTicketSchema),
  outbox: z.array(OutboxEntrySchema),
});
export type StoreData = z.infer<typeof StoreDataSchema>;

export const emptyStore = (): StoreData => ({ version: 1, feeds: {}, tickets: {}, outbox: [] });
