/**
 * The seam between where tickets come from and what happens to them. A source (a feed, Request
 * Tracker, a peer bot, a mailbox, a webhook) only turns what it received into ticket versions and
 * hands them to the intake in batches, with its own cursor to persist. It knows nothing about
 * correlation, rooms, the outbox or the ticket system: the intake (src/intake) merges each version
 * with the stored ticket, correlates, plans the announcements, and commits it all in one write.
 */
import type { Actor } from "../model/activity.js";
import type { Ticket, TicketField } from "../model/ticket.js";
import type { LogLine } from "../log/logger.js";
import type { StoredTicket } from "../store/types.js";

/** Where a ticket version came from: for logs, the ticket's history, `show`, and ordering. */
export type Provenance = {
  /** The source's id (a feed id, "rt", a mail or webhook source id, "peer:<room>", "command"). */
  source: string;
  /** The item within the source: a feed item key, an RT id, a Message-ID, an alert fingerprint. */
  item?: string | undefined;
  /** When the source says this version was made (RFC 3339), if it says. */
  published?: string | undefined;
  /** A revision number the source gives (iCalendar SEQUENCE): compared before `published`. */
  sequence?: number | undefined;
};

/** The record a ticket has in a ticket system (RT, …): how write-back finds it. */
export type UpstreamRef = {
  /** The ticket system's id in config ("rt"). */
  system: string;
  /** Its own id for the ticket ("22"). */
  id: string;
  /** What the system's poller needs to tell news from its own echoes (RT: lastUpdated, lastTxn). */
  cursor?: Record<string, string | number> | undefined;
};

/** A ticket another NOC's bot published (never re-posted as ours). */
export type RemoteOrigin = {
  /** The AS2 actor of the peer NOC. */
  actor: string;
  name: string;
  room: string;
  nick?: string | undefined;
  /** The real JID it came from. */
  jid?: string | undefined;
};

export type TicketVersion = {
  ticket: Ticket;
  provenance: Provenance;
  /** The NOC's web page for the ticket. */
  link?: string | undefined;
  /**
   * How the version meets the stored ticket:
   * - "merge" (default): what engineers set from the room and the source cannot hold survives,
   *   and a final state stays final unless the version reopens it (src/model/merge.ts);
   * - "replace": the version is the whole truth (a peer's own ticket; a command, which made its
   *   change from the stored ticket).
   */
  merge?: "merge" | "replace" | undefined;
  /** Fields whose first value wins (a feed re-dates an item whenever it changes). */
  keepFirst?: readonly TicketField[] | undefined;
  /** Fields the source carries (so an engineer's value is not kept over the source's own). */
  fed?: ReadonlySet<string> | undefined;
  /** Only newer than the stored version counts (by `provenance.sequence`, then `published`). */
  ordered?: boolean | undefined;
  /** Optimistic check: the change was made on the ticket with this change hash. */
  expectHash?: string | undefined;
  /** `changeHash(ticket)`, when the source worked it out already (translation workers do, off the bot's thread). */
  hash?: string | undefined;
  /** Who made this change, for the AS2 activity (default: this NOC). */
  actor?: Actor | undefined;
  /** The ticket-system record behind the ticket (a source that is also a ticket system). */
  upstream?: UpstreamRef | undefined;
  /** For a peer bot's ticket: where it came from; such tickets are not posted, only noticed. */
  remote?: RemoteOrigin | undefined;
  /** The incident id (thread) the publisher gave (a peer's AS2 `context`). */
  context?: string | undefined;
  /** A change made from chat: what was done and by whom (the write-back's comment says it). */
  command?: CommandOrigin | undefined;
  /** Extra fields for the log line of this version (default: the batch's). */
  logFields?: Record<string, unknown> | undefined;
};

export type CommandOrigin = {
  /** What was done, in a word ("acknowledged", "solved", …). */
  verb: string;
  /** The engineer's real bare JID. */
  by: string;
  /** Who to tell if the change's write-back to a ticket system is delayed or fails. */
  notify?: { room?: string | undefined; to: string } | undefined;
};

export type SourceBatch = {
  /** The source's id (routes select by it: `when.feeds`). */
  source: string;
  versions: readonly TicketVersion[];
  /** The source's own state after this batch (cursor, seen items), written in the same commit. */
  state?: unknown;
  /**
   * The first contact with a source that lists what is open now (a feed's first poll): the
   * versions are learnt and correlated, and each room gets one summary line instead of a message
   * per ticket.
   */
  firstContact?: { label: string } | undefined;
  /** Lines to log once the batch is committed. */
  logs?: readonly LogLine[] | undefined;
  /** Fields naming the source in the intake's log lines (default `{ source }`; a feed says `{ feed }`). */
  logFields?: Record<string, unknown> | undefined;
};

export type VersionOutcome = {
  ttId: string;
  outcome: "created" | "updated" | "unchanged" | "stale" | "conflict" | "refused";
  /** Why, for stale/conflict/refused (shown to a user as is where a user asked). */
  reason?: string | undefined;
  /** The thread (XEP-0201) the change was announced in, for a reply about it. */
  thread?: string | undefined;
  /** Ticket-system writes queued with the change. */
  writes?: number | undefined;
};

/** What the intake did with a batch. `committed: false` means nothing at all changed. */
export type IntakeResult =
  | { committed: true; outcomes: VersionOutcome[] }
  | { committed: false; error: string };

/**
 * A batch whose versions come in pieces, in order (a big document translated on worker threads):
 * taken as one batch of all of them would be, committed part by part as they come. What the batch
 * says about itself (the source's state, its log lines) is known at the end and goes with the last
 * part.
 */
export type StreamedBatch = Omit<SourceBatch, "versions" | "state" | "logs"> & {
  versions: AsyncIterable<readonly TicketVersion[]>;
  end: () => { state?: unknown; logs?: readonly LogLine[] | undefined };
};

export interface Intake {
  /** Plans the batch, writes it, then applies it; resolves once it is durable (or not done at all). */
  submit(batch: SourceBatch): Promise<IntakeResult>;
  /** `submit` for versions that come in pieces; an intake without it is given them all at once. */
  submitStreamed?(batch: StreamedBatch): Promise<IntakeResult>;
}

/** What a running source is given. */
export type SourceRuntime = {
  intake: Intake;
  /** The stored ticket (read-only), for sources that compare with what is known. */
  ticket(ttId: string): StoredTicket | undefined;
  /** This source's own state as last committed (unknown: the source validates it). */
  state(): unknown;
  now(): Date;
};

/** How a source is doing, for /ready and /metrics. */
export type SourceHealth = {
  lastAttempt?: string | undefined;
  lastSuccess?: string | undefined;
  lastError?: string | undefined;
  ok: boolean;
};

export interface TicketSource {
  readonly id: string;
  /** Starts polling or listening; batches go to `runtime.intake`. */
  start(runtime: SourceRuntime): Promise<void>;
  stop(): Promise<void>;
  health?(): SourceHealth;
}
