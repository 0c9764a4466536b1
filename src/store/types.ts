/**
 * What the bot keeps between runs, as keyed collections (validated when read: a hand-edited or
 * damaged file is reported, not trusted), and the one way to change them: a `ChangeSet`, written
 * durably by the store adapter before it is applied in memory. Keys are outside text (ticket ids
 * from feeds, room JIDs): collections are `Map`s, so "__proto__" or "constructor" is just a key.
 */
import { z } from "zod";
import { OpenTicketSchema } from "../model/ticket.js";

export const UpstreamRefSchema = z.object({
  system: z.string().min(1),
  id: z.string().min(1),
  cursor: z.record(z.string(), z.union([z.string(), z.number()])).optional(),
});

export const RemoteOriginSchema = z.object({
  actor: z.string(),
  name: z.string(),
  room: z.string(),
  nick: z.string().optional(),
  jid: z.string().optional(),
});

export const ProvenanceSchema = z.object({
  source: z.string(),
  item: z.string().optional(),
  published: z.string().optional(),
  sequence: z.number().optional(),
});

export const StoredTicketSchema = z.object({
  ticket: OpenTicketSchema,
  hash: z.string(),
  /** Where it came from: a feed id, "rt", or "peer:<room>" for a ticket another NOC's bot posted. */
  source: z.string(),
  link: z.string().optional(),
  firstSeen: z.string(),
  lastChange: z.string(),
  /** Rooms this bot posted the ticket to (none for a peer's ticket). */
  rooms: z.array(z.string()),
  /** The incident (local id) the ticket belongs to, and why it was put there (for `show`). */
  incident: z.string().optional(),
  correlation: z.string().optional(),
  /** The ticket-system record behind it (an RT ticket), or made for it (a peer's ticket). */
  upstream: UpstreamRefSchema.optional(),
  /** For a peer's ticket: the NOC that posted it (AS2 actor) and where. */
  remote: RemoteOriginSchema.optional(),
  /** The version last taken in: by whom, and when it says it was made (older versions are ignored). */
  provenance: ProvenanceSchema.optional(),
  /** Per room: the stanza-id of the ticket's first message there and its sender (XEP-0461 replies). */
  posts: z.record(z.string(), z.object({ id: z.string(), to: z.string() })).optional(),
  /** Maintenance reminders already said (src/maintenance/windows.ts keys), so a restart repeats none. */
  reminded: z.array(z.string()).optional(),
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
 * A write to a ticket system (RT, …), recorded before it is attempted and removed once the system
 * took it; retried with backoff while it is down, reported in the room if it finally fails.
 */
export const UpstreamWriteSchema = z.object({
  id: z.string(),
  /** The ticket system's id in config ("rt"). */
  system: z.string(),
  ticketId: z.string(),
  op: z.enum(["create", "comment", "correspond"]),
  /** The system's id of the ticket (absent for create until it is known). */
  ref: z.string().optional(),
  text: z.string(),
  /** The status to set, in the system's own words. */
  status: z.string().optional(),
  create: z.object({ queue: z.string(), subject: z.string(), customFields: z.record(z.string(), z.string()) }).optional(),
  /** Where to report a delay or a final failure (the room or account the command came from). */
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
export type UpstreamWrite = z.infer<typeof UpstreamWriteSchema>;

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

/** A ticket-system record made for a peer's ticket, kept after the ticket is archived (a reopen reuses it). */
export const UpstreamLinkSchema = z.object({ system: z.string(), id: z.string() });
export type UpstreamLink = z.infer<typeof UpstreamLinkSchema>;

/** The key of a room setting in the `settings` collection. */
export const settingKey = (room: string, name: string): string => `${room}\n${name}`;

/** A room-level setting chosen from chat (a command effect), keyed `<room>\n<name>`. */
export const RoomSettingSchema = z.object({ room: z.string(), name: z.string(), value: z.string(), by: z.string(), at: z.string() });
export type RoomSetting = z.infer<typeof RoomSettingSchema>;

/** Every collection, with the schema its values are checked against when read from disk. */
export const CollectionSchemas = {
  tickets: StoredTicketSchema,
  incidents: IncidentRecordSchema,
  /** Each source's own state (cursor, seen items), validated by the source that reads it. */
  sources: z.unknown(),
  outbox: OutboxEntrySchema,
  writes: UpstreamWriteSchema,
  links: UpstreamLinkSchema,
  settings: RoomSettingSchema,
} as const;
export type CollectionName = keyof typeof CollectionSchemas;
export const CollectionNames = Object.keys(CollectionSchemas) as CollectionName[];

export type Records = {
  tickets: StoredTicket;
  incidents: IncidentRecord;
  sources: unknown;
  outbox: OutboxEntry;
  writes: UpstreamWrite;
  links: UpstreamLink;
  settings: RoomSetting;
};

/** The live state in memory: one insertion-ordered map per collection (the outbox sends in order). */
export type StoreState = { [C in CollectionName]: Map<string, Records[C]> };

export const emptyStore = (): StoreState => ({
  tickets: new Map(),
  incidents: new Map(),
  sources: new Map(),
  outbox: new Map(),
  writes: new Map(),
  links: new Map(),
  settings: new Map(),
});

/**
 * Changes to commit together: per collection, key → new value (or `null`: delete). Written in one
 * durable step, then applied; later puts of the same key in one set win.
 */
export class ChangeSet {
  readonly #changes = new Map<CollectionName, Map<string, unknown>>();

  put<C extends CollectionName>(collection: C, key: string, value: Records[C]): this {
    this.#map(collection).set(key, value);
    return this;
  }

  delete(collection: CollectionName, key: string): this {
    this.#map(collection).set(key, null);
    return this;
  }

  /** The planned value: `undefined` when the set does not touch the key, `null` when it deletes it. */
  get<C extends CollectionName>(collection: C, key: string): Records[C] | null | undefined {
    return this.#changes.get(collection)?.get(key) as Records[C] | null | undefined;
  }

  /** Adds another set's changes after this one's. */
  merge(other: ChangeSet): this {
    for (const [collection, key, value] of other.entries()) this.#map(collection).set(key, value);
    return this;
  }

  get size(): number {
    let n = 0;
    for (const m of this.#changes.values()) n += m.size;
    return n;
  }

  get isEmpty(): boolean {
    return this.size === 0;
  }

  *entries(): IterableIterator<[CollectionName, string, unknown]> {
    for (const [collection, m] of this.#changes) for (const [key, value] of m) yield [collection, key, value];
  }

  /** The values put in one collection (not the deletions). */
  *puts<C extends CollectionName>(collection: C): IterableIterator<Records[C]> {
    for (const v of this.#changes.get(collection)?.values() ?? []) if (v !== null) yield v as Records[C];
  }

  #map(collection: CollectionName): Map<string, unknown> {
    let m = this.#changes.get(collection);
    if (!m) {
      m = new Map();
      this.#changes.set(collection, m);
    }
    return m;
  }
}

/** Read access to the live state, as every part of the bot sees it. */
export interface StoreReader {
  get<C extends CollectionName>(collection: C, key: string): Records[C] | undefined;
  values<C extends CollectionName>(collection: C): IterableIterator<Records[C]>;
  size(collection: CollectionName): number;
  ticket(ttId: string): StoredTicket | undefined;
}

/** The store as its users see it; the file adapter is the only implementation that writes files. */
export interface TicketStore extends StoreReader {
  /**
   * Makes the changes durable, then applies them in memory, in commit order. Rejects (and applies
   * nothing) when the write failed: whoever asked can say truthfully that nothing changed.
   */
  commit(changes: ChangeSet): Promise<void>;
  /** Appends a record to the audit log (JSON lines, flushed). */
  audit(record: Record<string, unknown>): Promise<void>;
  /** Appends tickets leaving the live store to the archive (JSON lines, flushed), before they leave. */
  archive(lines: readonly Record<string, unknown>[]): Promise<void>;
  /**
   * Calls `listener` with every commit's changes once they are applied (in commit order), so that
   * an index kept beside the store (the outbox's per-room queues) follows it without scanning it.
   */
  onApplied(listener: (changes: ChangeSet) => void): void;
}
