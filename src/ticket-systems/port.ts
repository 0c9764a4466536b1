/**
 * The ticket-system port: how changes made here (chat commands, peers' tickets on services we
 * follow) are written back to a NOC's ticket system. A system is two halves:
 *
 * - `plan` (pure): which writes a ticket change asks of the system; the intake queues them in the
 *   same store write as the change itself, so nothing is attempted before it is durable;
 * - the operations (`create`, `comment`, `setStatus`, and the look-ups that make an uncertain
 *   retry safe), run by the generic durable queue (src/ticket-systems/queue.ts): strict order per
 *   ticket, retries with backoff, reports to whoever asked.
 *
 * Request Tracker is the first adapter (src/ticket-systems/rt/); another system (Jira, Zammad) is
 * one more folder implementing `TicketSystem` and one line of wiring.
 */
import type { TicketVersion, UpstreamRef } from "../sources/types.js";
import type { StoredTicket, UpstreamLink, UpstreamWrite } from "../store/types.js";
import type { Result } from "../util/result.js";

export type WriteBackChange = {
  version: TicketVersion;
  before: StoredTicket | undefined;
  /** The ticket as it will be stored. */
  after: StoredTicket;
  /** Writes already queued for this ticket (and not failed for good). */
  pending: readonly UpstreamWrite[];
  /** A record made for this ticket earlier, kept after it was archived. */
  link: UpstreamLink | undefined;
  now: Date;
};

export type WriteBackPlan = {
  writes: UpstreamWrite[];
  /** The ticket's record in the system, when this change (re)attaches it (a reopened peer ticket). */
  upstream?: UpstreamRef | undefined;
};

/** Faults that pass with time (down, slow, a concurrent edit) are retried; the others need a person. */
export const SystemErrorKinds = ["unreachable", "timeout", "conflict", "auth", "not-found", "invalid-response", "rejected"] as const;
export type SystemErrorKind = (typeof SystemErrorKinds)[number];
export type SystemError = { kind: SystemErrorKind; status?: number | undefined; message: string };
export const TEMPORARY_ERRORS: ReadonlySet<SystemErrorKind> = new Set(["unreachable", "timeout", "conflict"]);

export interface TicketSystem {
  /** The id in config and in stored records ("rt"). */
  readonly id: string;
  /** Its name for people ("Request Tracker"). */
  readonly label: string;
  plan(change: WriteBackChange): WriteBackPlan;
  /** Creates the ticket; resolves with the system's id for it. */
  create(write: UpstreamWrite): Promise<Result<string, SystemError>>;
  /** Adds the write's text (internal comment or reply, as `write.op` says). */
  comment(ref: string, write: UpstreamWrite): Promise<Result<void, SystemError>>;
  /** Sets the status (the system's own word), rereading and retrying once on a concurrent edit. */
  setStatus(ref: string, status: string): Promise<Result<void, SystemError>>;
  /** After a create whose answer never came: did the system make it anyway? */
  findCreated(write: UpstreamWrite, since: string): Promise<Result<string | undefined, SystemError>>;
  /**
   * After a comment whose answer never came: is this write there already? Recognised by something
   * unique to the write (RT: the trailer naming its id), never by "some comment since then".
   */
  hasComment(ref: string, write: UpstreamWrite, since: string): Promise<Result<boolean, SystemError>>;
}

/** One planner over every configured system: each plans for the changes it cares about. */
export function planWriteBack(systems: readonly Pick<TicketSystem, "plan">[], change: WriteBackChange): WriteBackPlan {
  const writes: UpstreamWrite[] = [];
  let upstream: UpstreamRef | undefined;
  for (const s of systems) {
    const p = s.plan(change);
    writes.push(...p.writes);
    upstream ??= p.upstream;
  }
  return { writes, upstream };
}

export const linkKey = (system: string, ttId: string): string => `${system}\n${ttId}`;
