/**
 * Adapter: the live store in one JSON file through lowdb (steno underneath writes a temp file and
 * renames it, so a crash leaves the old or the new file, never half of one). lowdb rewrites the
 * whole file on each write, so writes are coalesced and closed tickets are moved to an append-only
 * archive to keep the live file small.
 */
import { mkdir, appendFile, rename } from "node:fs/promises";
import { dirname } from "node:path";
import { Low } from "lowdb";
import { DataFile } from "lowdb/node";
import { formatPath } from "../config/load.js";
import { emptyFeedState, type FeedState } from "../sources/feed/state.js";
import { isFinalStatus } from "../model/ticket.js";
import { ok, err, type Result } from "../util/result.js";
import { StoreDataSchema, emptyStore, type OutboxEntry, type StoreData, type StoredTicket } from "./types.js";

export interface TicketStore {
  ticket(ttId: string): StoredTicket | undefined;
  /**
   * The message or RT write is still queued AND was in the last store write that reached the disk:
   * only such work may be attempted (nothing is sent before it is stored).
   */
  isQueued(id: string): boolean;
  feedState(feedId: string): FeedState;
  pendingOutbox(): readonly OutboxEntry[];
  /** Applies changes in memory; `commit` makes them durable. */
  update(change: (data: StoreData) => void): void;
  commit(): Promise<void>;
}

export class StoreError extends Error {
  override readonly name = "StoreError";
}

export class LowStore implements TicketStore {
  #db: Low<StoreData>;
  #archivePath: string;
  #pending: Promise<void> | undefined;
  /** Ids of outbox entries and RT writes in the last successful write (see `isQueued`). */
  #durable = new Set<string>();
  #auditPath: string;

  private constructor(db: Low<StoreData>, archivePath: string, auditPath: string) {
    this.#db = db;
    this.#archivePath = archivePath;
    this.#auditPath = auditPath;
  }

  /** Latest audit records kept in the live store; all of them go to the audit file. */
  static readonly AUDIT_KEPT = 500;

  /**
   * Records a chat command (accepted or refused): appended to the audit file (JSON lines, flushed)
   * and kept among the latest in the store, written with the next commit.
   */
  async audit(record: Record<string, unknown>): Promise<void> {
    await appendFile(this.#auditPath, JSON.stringify(record) + "\n", { encoding: "utf8", flush: true });
    const kept = this.#db.data.audit;
    kept.push(record);
    if (kept.length > LowStore.AUDIT_KEPT) kept.splice(0, kept.length - LowStore.AUDIT_KEPT);
  }

  /** Opens (or creates) the store; a damaged file is reported with the path of the first bad value and left untouched. */
  static async open(path: string, archivePath = `${path}.archive.jsonl`): Promise<Result<LowStore, string>> {
    await mkdir(dirname(path), { recursive: true });
    const adapter = new DataFile<unknown>(path, { parse: (s) => JSON.parse(s) as unknown, stringify: (d) => JSON.stringify(d) });
    let raw: unknown;
    try {
      raw = await adapter.read();
    } catch (e) {
      return err(`store ${path} is not readable JSON (${(e as Error).message}); move it aside to start afresh`);
    }
    let data: StoreData;
    if (raw === null) data = emptyStore();
    else {
      const parsed = StoreDataSchema.safeParse(raw);
      if (!parsed.success) {
        const first = parsed.error.issues[0];
        return err(`store ${path} is damaged at ${formatPath(first?.path ?? [])}: ${first?.message ?? "invalid"}; move it aside to start afresh`);
      }
      data = parsed.data;
    }
    const db = new Low<StoreData>(new DataFile<StoreData>(path, { parse: (s) => JSON.parse(s) as StoreData, stringify: (d) => JSON.stringify(d) }), data);
    db.data = data;
    const store = new LowStore(db, archivePath, `${path}.audit.jsonl`);
    store.#durable = new Set([...data.outbox.map((e) => e.id), ...data.rtOutbox.map((w) => w.id)]);
    return ok(store);
  }

  get data(): Readonly<StoreData> {
    return this.#db.data;
  }

  ticket(ttId: string): StoredTicket | undefined {
    return this.#db.data.tickets[ttId];
  }

  feedState(feedId: string): FeedState {
    return this.#db.data.feeds[feedId] ?? emptyFeedState();
  }

  pendingOutbox(): readonly OutboxEntry[] {
    return this.#db.data.outbox;
  }

  update(change: (data: StoreData) => void): void {
    change(this.#db.data);
  }

  /**
   * Writes the store; calls made while a write is scheduled share it (one file rewrite for many
   * changes). Resolves once the changes made before the call are on disk.
   */
  commit(): Promise<void> {
    this.#pending ??= new Promise<void>((resolve, reject) => {
      setImmediate(() => {
        this.#pending = undefined;
        // What this write carries; once it is on disk, that work may be attempted.
        const carried = new Set([...this.#db.data.outbox.map((e) => e.id), ...this.#db.data.rtOutbox.map((w) => w.id)]);
        this.#db.write().then(() => {
          this.#durable = carried;
          resolve();
        }, reject);
      });
    });
    return this.#pending;
  }

  isQueued(id: string): boolean {
    return this.#durable.has(id) && (this.#db.data.outbox.some((e) => e.id === id) || this.#db.data.rtOutbox.some((w) => w.id === id));
  }

  /**
   * Moves tickets that have been final for `afterHours` to the archive (JSON lines, appended and
   * written before they leave the live file, so a crash in between can only duplicate, never lose).
   */
  /** Resolves with the TT_IDs that left the live store. */
  async archiveFinal(now: Date, afterHours: number): Promise<string[]> {
    const cutoff = now.getTime() - afterHours * 3600_000;
    const done = Object.values(this.#db.data.tickets).filter(
      (s) => isFinalStatus(s.ticket.TT_Status) && Date.parse(s.lastChange) <= cutoff,
    );
    if (done.length === 0) return [];
    const lines = done.map((s) => JSON.stringify({ archivedAt: now.toISOString(), ...s })).join("\n") + "\n";
    await appendFile(this.#archivePath, lines, { encoding: "utf8", flush: true });
    // Only what is still as it was archived leaves: a ticket reopened meanwhile stays live.
    const gone = done.filter((s) => this.#db.data.tickets[s.ticket.TT_ID] === s).map((s) => s.ticket.TT_ID);
    for (const id of gone) {
      const t = this.#db.data.tickets[id];
      if (t?.peer && t.rt) this.#db.data.rtLinks[id] = t.rt.id;
      delete this.#db.data.tickets[id];
    }
    await this.commit();
    return gone;
  }

  /** For an admin who wants to start afresh: the damaged file is kept beside the new one. */
  static async quarantine(path: string, now: Date): Promise<string> {
    const aside = `${path}.damaged-${now.toISOString().replace(/[:.]/g, "-")}`;
    await rename(path, aside);
    return aside;
  }
}
