/**
 * A test-only Intake for source tests before (and apart from) the real one: it records every batch,
 * keeps each source's committed state and the latest version of each ticket, so a source under test
 * sees what it would see after a real commit (`runtime.state()`, `runtime.ticket()`). `ordered`
 * versions follow the seam's contract (sequence, then published). It can be told to fail commits.
 * The end-to-end tests through the real intake and rooms live with `startBot`.
 */
import type { StoredTicket } from "../../src/store/types.js";
import type { Intake, IntakeResult, SourceBatch, SourceRuntime, TicketVersion, VersionOutcome } from "../../src/sources/types.js";
import { ticketContentHash } from "../../src/model/ticket.js";

export class RecordingIntake implements Intake {
  readonly batches: SourceBatch[] = [];
  readonly states = new Map<string, unknown>();
  readonly tickets = new Map<string, { stored: StoredTicket; version: TicketVersion }>();
  private failures = 0;
  private waiters: { count: number; resolve: () => void }[] = [];

  /** The next `n` submits resolve `{ committed: false }` and change nothing. */
  failNext(n = 1): void {
    this.failures += n;
  }

  submit(batch: SourceBatch): Promise<IntakeResult> {
    if (this.failures > 0) {
      this.failures--;
      return Promise.resolve({ committed: false, error: "test: the store write failed" });
    }
    const outcomes: VersionOutcome[] = [];
    for (const v of batch.versions) outcomes.push(this.apply(v));
    this.batches.push(batch);
    if (batch.state !== undefined) this.states.set(batch.source, structuredClone(batch.state));
    for (const w of this.waiters.filter((x) => this.batches.length >= x.count)) w.resolve();
    this.waiters = this.waiters.filter((x) => this.batches.length < x.count);
    return Promise.resolve({ committed: true, outcomes });
  }

  private apply(v: TicketVersion): VersionOutcome {
    const ttId = v.ticket.TT_ID;
    const before = this.tickets.get(ttId);
    if (before && v.ordered) {
      const a = v.provenance;
      const b = before.version.provenance;
      const newer =
        (a.sequence ?? 0) !== (b.sequence ?? 0)
          ? (a.sequence ?? 0) > (b.sequence ?? 0)
          : Date.parse(a.published ?? "") > Date.parse(b.published ?? "");
      if (!newer) return { ttId, outcome: "stale", reason: "not newer than the stored version" };
    }
    const hash = ticketContentHash(v.ticket);
    if (before && before.stored.hash === hash) return { ttId, outcome: "unchanged" };
    const now = new Date().toISOString();
    const stored: StoredTicket = {
      ticket: v.ticket,
      hash,
      source: v.provenance.source,
      firstSeen: before?.stored.firstSeen ?? now,
      lastChange: now,
      rooms: [],
    };
    this.tickets.set(ttId, { stored, version: v });
    return { ttId, outcome: before ? "updated" : "created" };
  }

  /** All versions submitted so far, in order. */
  versions(): TicketVersion[] {
    return this.batches.flatMap((b) => b.versions);
  }

  /** Resolves once `count` batches were committed in all. */
  untilBatches(count: number, timeoutMs = 15_000): Promise<void> {
    if (this.batches.length >= count) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`only ${this.batches.length} of ${count} batches after ${timeoutMs} ms`)), timeoutMs);
      this.waiters.push({
        count,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      });
    });
  }

  runtime(source: string, now: () => Date = () => new Date()): SourceRuntime {
    return {
      intake: this,
      ticket: (id) => this.tickets.get(id)?.stored,
      state: () => this.states.get(source),
      now,
    };
  }
}
