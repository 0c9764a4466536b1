/**
 * Adapter: the live store on disk, as a snapshot plus a journal, so that one write costs what it
 * changes, not what the store holds.
 *
 * - `<path>`: the snapshot, one JSON document written by lowdb (steno writes a temp file and
 *   renames it, so a crash leaves the old or the new snapshot, never half of one).
 * - `<path>.journal`: one JSON line per commit (`{"seq":n,"ops":[[collection,key,value|null],…]}`),
 *   appended and fsynced before the commit is applied in memory. A crash can only tear the last
 *   line, which is dropped on the next start (that commit never reported success).
 * - When the journal outgrows the snapshot and the commits pause, the state is written as a new
 *   snapshot (carrying the last journal `seq` it includes) and the journal starts again; lines at or
 *   below the snapshot's `seq` are skipped, so a crash between the two steps loses nothing and
 *   repeats nothing.
 *
 * Commits made while a write is in flight share the next write (one fsync for many), and each
 * still succeeds or fails as a whole. A failed write is rolled back on disk (the journal is cut
 * back to its last good end) and nothing is applied: the caller decides whether to try again.
 */
import { statSync } from "node:fs";
import { appendFile, mkdir, open, readFile, rename, truncate, type FileHandle } from "node:fs/promises";
import { dirname } from "node:path";
import { Low } from "lowdb";
import { DataFile } from "lowdb/node";
import { z } from "zod";
import { formatPath } from "../config/load.js";
import type { Logger } from "../log/logger.js";
import { ok, err, type Result } from "../util/result.js";
import { migrateV1, V1_VERSION } from "./migrate-v1.js";
import {
  ChangeSet,
  CollectionNames,
  CollectionSchemas,
  emptyStore,
  type CollectionName,
  type Records,
  type StoreState,
  type StoredTicket,
  type TicketStore,
} from "./types.js";

const VERSION = 2;

/** The snapshot document: per collection, its entries in order (keys may be any text). */
type Snapshot = { version: 2; seq: number } & { [C in CollectionName]?: [string, unknown][] };

type Pending = { changes: ChangeSet; resolve: () => void; reject: (e: Error) => void };

export type FileStoreOptions = {
  archivePath?: string | undefined;
  auditPath?: string | undefined;
  log?: Logger | undefined;
  /** Journal size (bytes) from which a new snapshot is written; default: the snapshot's size, at least 16 MiB. */
  compactAtBytes?: number | undefined;
  /** How long the store must be without commits before that snapshot is written (default 2 s). */
  compactIdleMs?: number | undefined;
};

export type StoreHealth = { writable: boolean; lastError?: string | undefined; since?: string | undefined };

export class StoreError extends Error {
  override readonly name = "StoreError";
}

const isCollection = (c: unknown): c is CollectionName => typeof c === "string" && (CollectionNames as string[]).includes(c);

/**
 * The journal is folded into a snapshot once it is as big as the snapshot, and not before this:
 * a backlog of 2,000 four-kilobyte messages journals ≈12 MB (each queued, its card noted, its
 * delivery marked), and at 4 MiB that meant a whole-store snapshot every few hundred messages.
 * Reading 16 MiB of journal at start-up takes a fraction of a second.
 */
const COMPACT_AT_LEAST_BYTES = 16 * 1024 * 1024;

/**
 * The snapshot waits for a pause in the commits: writing it serialises the whole state on this
 * thread (≈0.7 s at 50k tickets) and holds the commits behind it, which in the middle of a big
 * first poll or a backlog drain is the worst moment. A journal that grows to this many times the
 * threshold without a pause is folded in at once, so it stays bounded whatever the load.
 */
const COMPACT_IDLE_MS = 2_000;
const COMPACT_FORCED_FACTOR = 4;
/**
 * …but only when a snapshot would make it smaller: at least half of the journal's bytes since the
 * last snapshot are records written over again or deleted since (an outbox drained, tickets or a
 * feed's state written again and again). A journal of new records only (a first contact of 50k
 * tickets journals ≈70 MB) reads back no slower than the snapshot that would replace it, which
 * cost ≈0.6 s on this thread right before the poll's summary. Past this many times the threshold,
 * or past COMPACT_ALWAYS_BYTES, it is folded in whatever it holds.
 */
const COMPACT_ALWAYS_FACTOR = 16;
/** Start-up reads the journal as one string: it must stay well below V8's longest (≈512 Mi characters). */
const COMPACT_ALWAYS_BYTES = 256 * 1024 * 1024;

export class FileStore implements TicketStore {
  readonly #state: StoreState;
  readonly #path: string;
  readonly #journalPath: string;
  readonly #archivePath: string;
  readonly #auditPath: string;
  readonly #log: Logger | undefined;
  readonly #compactAt: number | undefined;
  readonly #compactIdleMs: number;
  #compactTimer: NodeJS.Timeout | undefined;
  #seq: number;
  /** Where the journal's last complete line ends: a failed append is cut back to here. */
  #journalEnd: number;
  #snapshotBytes: number;
  #queue: Pending[] = [];
  #flushing: Promise<void> | undefined;
  /** The open journal and which file it is (see `#append`). */
  #journal: { fh: FileHandle; ino: number; dev: number } | undefined;
  /**
   * Since the last snapshot: the size of each record's last write in the journal, and the size of
   * the writes made dead since (written over, deleted); unknown for a journal found at start-up.
   * Sizes are the records' JSON lengths (see `journalLine`).
   */
  #journalSizes: Map<string, number> | undefined = new Map();
  #deadJournal = 0;
  #health: StoreHealth = { writable: true };
  #closed = false;
  readonly #listeners: ((changes: ChangeSet) => void)[] = [];

  private constructor(state: StoreState, seq: number, journalEnd: number, snapshotBytes: number, path: string, opts: FileStoreOptions) {
    this.#state = state;
    this.#seq = seq;
    this.#journalEnd = journalEnd;
    if (journalEnd > 0) this.#journalSizes = undefined;
    this.#snapshotBytes = snapshotBytes;
    this.#path = path;
    this.#journalPath = `${path}.journal`;
    this.#archivePath = opts.archivePath ?? `${path}.archive.jsonl`;
    this.#auditPath = opts.auditPath ?? `${path}.audit.jsonl`;
    this.#log = opts.log;
    this.#compactAt = opts.compactAtBytes;
    this.#compactIdleMs = opts.compactIdleMs ?? COMPACT_IDLE_MS;
  }

  /**
   * Opens (or creates) the store. Only a missing file starts empty; a file that is not a ttrelay
   * store, or is damaged, is reported with the path of the first bad value and left untouched.
   */
  static async open(path: string, opts: FileStoreOptions = {}): Promise<Result<FileStore, string>> {
    await mkdir(dirname(path), { recursive: true });
    const loaded = await loadState(path);
    if (!loaded.ok) return loaded;
    const { state, seq, journalEnd, torn, migrated, snapshotBytes, holes } = loaded.value;
    const store = new FileStore(state, seq, journalEnd, snapshotBytes, path, opts);
    if (torn) opts.log?.warn({ store: path, keptBytes: journalEnd }, "store journal ended in an unfinished write (a crash mid-commit): that commit is dropped");
    if (migrated) {
      // The version 1 file is kept beside the new one, for an admin who wants to go back.
      await rename(path, `${path}.v1`);
      opts.log?.info({ store: path, backup: `${path}.v1` }, "store converted from version 1");
    }
    // An unfinished last line is cut off now, so the next commit starts on a clean line.
    if (torn) await truncate(`${path}.journal`, journalEnd);
    if (holes.length > 0) opts.log?.warn({ store: path, lines: holes }, "store journal had commits cut short by a full disk (NUL bytes): those commits are dropped, the rest is kept");
    // A journal with holes is written anew at once, so the next start reads a clean one.
    if (migrated || holes.length > 0) await store.compact();
    return ok(store);
  }

  /** Reads a store without opening it for writing (for tools and tests that look at a bot's store). */
  static async read(path: string): Promise<Result<StoreState, string>> {
    const loaded = await loadState(path);
    return loaded.ok ? ok(loaded.value.state) : loaded;
  }

  // -------------------------------------------------------------------------------------------
  // Reading
  // -------------------------------------------------------------------------------------------

  get<C extends CollectionName>(collection: C, key: string): Records[C] | undefined {
    return this.#state[collection].get(key);
  }

  values<C extends CollectionName>(collection: C): IterableIterator<Records[C]> {
    return this.#state[collection].values();
  }

  size(collection: CollectionName): number {
    return this.#state[collection].size;
  }

  ticket(ttId: string): StoredTicket | undefined {
    return this.#state.tickets.get(ttId);
  }

  /** The live state (read-only by contract): for building indexes at start-up. */
  get state(): Readonly<StoreState> {
    return this.#state;
  }

  get health(): StoreHealth {
    return this.#health;
  }

  onApplied(listener: (changes: ChangeSet) => void): void {
    this.#listeners.push(listener);
  }

  /** A listener's fault is its own: the commit stands and the others are still told. */
  #tell(listener: (changes: ChangeSet) => void, changes: ChangeSet): void {
    try {
      listener(changes);
    } catch (e) {
      this.#log?.error({ err: e instanceof Error ? e.stack : String(e) }, "a store listener crashed");
    }
  }

  // -------------------------------------------------------------------------------------------
  // Writing
  // -------------------------------------------------------------------------------------------

  commit(changes: ChangeSet): Promise<void> {
    if (this.#closed) return Promise.reject(new StoreError("the store is closed"));
    if (changes.isEmpty) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      this.#queue.push({ changes, resolve, reject });
      this.#flushing ??= this.#flush();
    });
  }

  async #flush(): Promise<void> {
    // Commits made in the same tick go in the same write.
    await new Promise<void>((r) => setImmediate(r));
    try {
      while (this.#queue.length > 0) {
        const batch = this.#queue.splice(0, this.#queue.length);
        const lines = batch.map((p, i) => journalLine(this.#seq + i + 1, p.changes));
        const text = lines.map((l) => l.text).join("");
        try {
          await this.#append(text);
        } catch (e) {
          this.#failed(e as Error);
          for (const p of batch) p.reject(new StoreError(`store write failed: ${(e as Error).message}`));
          continue;
        }
        this.#seq += batch.length;
        for (const line of lines) this.#countWrites(line.ops);
        for (const p of batch) applyChanges(this.#state, p.changes);
        for (const p of batch) for (const l of this.#listeners) this.#tell(l, p.changes);
        this.#recovered();
        for (const p of batch) p.resolve();
        const threshold = this.#compactAt ?? Math.max(COMPACT_AT_LEAST_BYTES, this.#snapshotBytes);
        if (this.#mustCompactNow(threshold)) await this.#compactOrWarn();
      }
    } finally {
      this.#flushing = undefined;
      // A commit that came in during the last step's await starts the next flush.
      if (this.#queue.length > 0) this.#flushing = this.#flush();
      else this.#scheduleCompaction();
    }
  }

  #countWrites(ops: readonly JournalOp[]): void {
    const sizes = this.#journalSizes;
    if (!sizes) return;
    for (const { collection, key, size, deletes } of ops) {
      const id = `${collection}\u0000${key}`;
      this.#deadJournal += sizes.get(id) ?? 0;
      // A deletion is dead weight itself once folded in; a put is live until written over.
      if (deletes) {
        this.#deadJournal += size;
        sizes.delete(id);
      } else sizes.set(id, size);
    }
  }

  /** Without waiting for a pause (see COMPACT_FORCED_FACTOR, COMPACT_ALWAYS_FACTOR and COMPACT_ALWAYS_BYTES). */
  #mustCompactNow(threshold: number): boolean {
    if (this.#journalEnd >= Math.min(threshold * COMPACT_ALWAYS_FACTOR, COMPACT_ALWAYS_BYTES)) return true;
    if (this.#journalEnd < threshold * COMPACT_FORCED_FACTOR) return false;
    return this.#journalSizes === undefined || this.#deadJournal * 2 >= this.#journalEnd;
  }

  /** After the last commit of a run: a snapshot once the journal is big and the commits pause. */
  #scheduleCompaction(): void {
    clearTimeout(this.#compactTimer);
    this.#compactTimer = undefined;
    if (this.#closed || this.#journalEnd < (this.#compactAt ?? Math.max(COMPACT_AT_LEAST_BYTES, this.#snapshotBytes))) return;
    this.#compactTimer = setTimeout(() => {
      this.#compactTimer = undefined;
      // Commits came meanwhile: the flush that took them looks again when it ends.
      if (this.#flushing || this.#closed) return;
      // Held as the running flush, so that commits made meanwhile queue behind the snapshot.
      this.#flushing = this.#compactOrWarn().finally(() => {
        this.#flushing = undefined;
        if (this.#queue.length > 0) this.#flushing = this.#flush();
      });
    }, this.#compactIdleMs);
    this.#compactTimer.unref();
  }

  async #compactOrWarn(): Promise<void> {
    await this.compact().catch((e: unknown) => this.#log?.warn({ err: (e as Error).message }, "store compaction failed; the journal keeps growing until it works"));
  }

  /**
   * Appends at the journal's last good end. The open journal is kept between writes, but the path
   * is looked at before each (one stat, microseconds next to the fsync): a journal an admin moved
   * or replaced (or swapped for a full disk) is opened afresh, and after a failed write it is
   * always opened again, with anything past the last good end cut off.
   */
  async #append(text: string): Promise<void> {
    const fh = await this.#journalHandle();
    const bytes = Buffer.from(text, "utf8");
    try {
      // write(2) may write less than asked (a disk that fills up mid-line, a file size limit) and
      // only fails on the next try: write the rest until all is down or the system says why not.
      // Counting the whole line after a short write would leave a hole of NUL bytes in the journal.
      let done = 0;
      while (done < bytes.length) {
        const { bytesWritten } = await fh.write(bytes, done, bytes.length - done, this.#journalEnd + done);
        if (bytesWritten <= 0) throw Object.assign(new Error(`journal write stopped after ${done} of ${bytes.length} bytes (no space?)`), { code: "ENOSPC" });
        done += bytesWritten;
      }
      await fh.datasync();
      this.#journalEnd += bytes.length;
    } catch (e) {
      // Cut back what a partial write (a full disk) may have left, so the next line starts clean.
      await fh.truncate(this.#journalEnd).catch(() => undefined);
      await this.#dropJournal();
      throw e;
    }
  }

  /** The kept journal if the path still names that file, else the journal opened afresh. */
  async #journalHandle(): Promise<FileHandle> {
    const kept = this.#journal;
    if (kept) {
      // Synchronous on purpose: a few microseconds, where the promise form showed ≈0.6 ms of
      // event-loop time per write in a P2 profile (bench/pipeline.ts, 50 rooms).
      let now: { ino: number; dev: number } | undefined;
      try {
        now = statSync(this.#journalPath, { throwIfNoEntry: false });
      } catch {
        now = undefined;
      }
      if (now && now.ino === kept.ino && now.dev === kept.dev) return kept.fh;
      await this.#dropJournal();
    }
    const fh = await this.#openJournal();
    try {
      const { ino, dev } = await fh.stat();
      this.#journal = { fh, ino, dev };
    } catch (e) {
      await fh.close().catch(() => undefined);
      throw e;
    }
    return fh;
  }

  async #dropJournal(): Promise<void> {
    const kept = this.#journal;
    this.#journal = undefined;
    await kept?.fh.close().catch(() => undefined);
  }

  /** The journal, created if missing, with anything past the last good end cut off. */
  async #openJournal(): Promise<FileHandle> {
    // Positioned writes need "r+" ("a" would append wherever we write); "a" only creates it.
    await (await open(this.#journalPath, "a")).close();
    const rw = await open(this.#journalPath, "r+");
    try {
      const { size } = await rw.stat();
      if (size > this.#journalEnd) await rw.truncate(this.#journalEnd);
    } catch (e) {
      await rw.close().catch(() => undefined);
      throw e;
    }
    return rw;
  }

  #failed(e: Error): void {
    if (this.#health.writable) this.#log?.error({ store: this.#path, err: e.message }, "store write failed: nothing was applied; writes are tried again as work comes");
    else this.#log?.debug({ store: this.#path, err: e.message }, "store write failed again");
    this.#health = { writable: false, lastError: e.message, since: this.#health.writable ? new Date().toISOString() : this.#health.since };
  }

  #recovered(): void {
    if (this.#health.writable) return;
    this.#log?.info({ store: this.#path, since: this.#health.since }, "store writes work again");
    this.#health = { writable: true };
  }

  /** Writes the whole state as a new snapshot and starts the journal again. */
  async compact(): Promise<void> {
    const doc: Snapshot = { version: VERSION, seq: this.#seq };
    for (const c of CollectionNames) doc[c] = [...this.#state[c].entries()];
    const json = JSON.stringify(doc);
    const db = new Low<string>(new DataFile<string>(this.#path, { parse: (s) => s, stringify: (s) => s }), "");
    db.data = json;
    await db.write();
    this.#snapshotBytes = Buffer.byteLength(json, "utf8");
    const fh = await this.#journalHandle();
    try {
      await fh.truncate(0);
      this.#journalEnd = 0;
      this.#journalSizes = new Map();
      this.#deadJournal = 0;
    } catch (e) {
      await this.#dropJournal();
      throw e;
    }
  }

  /** Waits for queued commits; later commits are refused. */
  async close(): Promise<void> {
    while (this.#flushing) await this.#flushing;
    this.#closed = true;
    clearTimeout(this.#compactTimer);
    await this.#dropJournal();
  }

  // -------------------------------------------------------------------------------------------
  // Append-only logs beside the store
  // -------------------------------------------------------------------------------------------

  async audit(record: Record<string, unknown>): Promise<void> {
    await appendFile(this.#auditPath, JSON.stringify(record) + "\n", { encoding: "utf8", flush: true });
  }

  async archive(lines: readonly Record<string, unknown>[]): Promise<void> {
    if (lines.length === 0) return;
    await appendFile(this.#archivePath, lines.map((l) => JSON.stringify(l)).join("\n") + "\n", { encoding: "utf8", flush: true });
  }

  /** For an admin who wants to start afresh: the damaged file is kept beside the new one. */
  static async quarantine(path: string, now: Date): Promise<string> {
    const aside = `${path}.damaged-${now.toISOString().replace(/[:.]/g, "-")}`;
    await rename(path, aside);
    return aside;
  }
}

type Loaded = { state: StoreState; seq: number; journalEnd: number; torn: boolean; migrated: boolean; snapshotBytes: number; holes: number[] };

/**
 * The snapshot and every complete journal line past it. Only a missing file starts empty; a file
 * that is not a ttrelay store, or is damaged, is reported with the path of the first bad value.
 */
async function loadState(path: string): Promise<Result<Loaded, string>> {
  const damaged = (where: string, why: string): Result<Loaded, string> => err(`store ${path} is damaged at ${where}: ${why}; move it aside to start afresh`);
  let text: string | undefined;
  try {
    text = await readFile(path, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") return err(`store ${path} cannot be read (${(e as Error).message})`);
  }
  let state = emptyStore();
  let seq = 0;
  let migrated = false;
  if (text !== undefined) {
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch (e) {
      return err(`store ${path} is not readable JSON (${(e as Error).message}); move it aside to start afresh`);
    }
    if (raw === null || typeof raw !== "object" || Array.isArray(raw)) return err(`store ${path} is not a ttrelay store (it holds ${describe(raw)}); move it aside to start afresh`);
    const version = (raw as { version?: unknown }).version;
    if (version === V1_VERSION) {
      const m = migrateV1(raw);
      if (!m.ok) return damaged(m.error.path, m.error.message);
      state = m.value;
      migrated = true;
    } else if (version === VERSION) {
      const read = readSnapshot(raw);
      if (!read.ok) return damaged(read.error.path, read.error.message);
      ({ state, seq } = read.value);
    } else return err(`store ${path} is not a ttrelay store this version can read (version ${JSON.stringify(version) ?? "missing"}); move it aside to start afresh`);
  }

  let journalText = "";
  try {
    journalText = await readFile(`${path}.journal`, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") return err(`store journal ${path}.journal cannot be read (${(e as Error).message})`);
  }
  if (journalText !== "" && migrated) return err(`store ${path} is a version 1 store but ${path}.journal exists; move one of them aside`);
  let journalEnd = 0;
  let torn = false;
  const holes: number[] = [];
  const lines = journalText.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? "";
    // The text after the last newline was never finished: a crash mid-write.
    if (i === lines.length - 1) {
      torn = line !== "";
      break;
    }
    let applied = applyJournalLine(state, line, seq);
    if (!applied.ok && line.includes("\u0000")) {
      // A short write on a full disk by an older version left a commit cut off and a run of NUL
      // bytes before the next line. The cut commit was never whole on disk: drop it, keep what
      // follows the NULs if it is a whole commit.
      const rest = line.slice(line.lastIndexOf("\u0000") + 1);
      applied = rest === "" ? ok(seq) : applyJournalLine(state, rest, seq);
      if (applied.ok) holes.push(i + 1);
    }
    if (!applied.ok) return damaged(`${path}.journal line ${i + 1}${applied.error.path === "$" ? "" : ` ${applied.error.path}`}`, applied.error.message);
    seq = Math.max(seq, applied.value);
    journalEnd += Buffer.byteLength(line, "utf8") + 1;
  }
  return ok({ state, seq, journalEnd, torn, migrated, snapshotBytes: Buffer.byteLength(text ?? "", "utf8"), holes });
}

function describe(raw: unknown): string {
  if (raw === null) return "null";
  if (Array.isArray(raw)) return "a list";
  if (typeof raw === "string") return raw === "" ? 'an empty string ""' : "a string";
  return typeof raw;
}

/** One change of a journal line and the length of its JSON there (for `#countWrites`). */
type JournalOp = { collection: CollectionName; key: string; size: number; deletes: boolean };

/**
 * `JSON.stringify({ seq, ops }) + "\n"` with `ops` the changes as `[collection, key, value]`,
 * written op by op (the same text) so that each op's length is known.
 */
function journalLine(seq: number, changes: ChangeSet): { text: string; ops: JournalOp[] } {
  const ops: JournalOp[] = [];
  let text = `{"seq":${JSON.stringify(seq)},"ops":[`;
  for (const [collection, key, value] of changes.entries()) {
    const json = JSON.stringify([collection, key, value]);
    text += (ops.length > 0 ? "," : "") + json;
    ops.push({ collection, key, size: json.length, deletes: value === null });
  }
  return { text: `${text}]}\n`, ops };
}

export function applyChanges(state: StoreState, changes: ChangeSet): void {
  for (const [collection, key, value] of changes.entries()) {
    const map = state[collection] as Map<string, unknown>;
    if (value === null) map.delete(key);
    else map.set(key, value);
  }
}

type Problem = { path: string; message: string };

function checkValue(collection: CollectionName, key: string, value: unknown): Result<unknown, Problem> {
  const parsed = (CollectionSchemas[collection] as z.ZodType).safeParse(value);
  if (parsed.success) return ok(parsed.data);
  const first = parsed.error.issues[0];
  return err({ path: formatPath([collection, key, ...(first?.path ?? [])]), message: first?.message ?? "invalid" });
}

const SnapshotHead = z.object({ version: z.literal(VERSION), seq: z.number().int().min(0) });
const Entries = z.array(z.tuple([z.string(), z.unknown()]));

function readSnapshot(raw: unknown): Result<{ state: StoreState; seq: number }, Problem> {
  const head = SnapshotHead.safeParse(raw);
  if (!head.success) return err({ path: formatPath(head.error.issues[0]?.path ?? []), message: head.error.issues[0]?.message ?? "invalid" });
  const state = emptyStore();
  const doc = raw as Record<string, unknown>;
  for (const c of CollectionNames) {
    if (doc[c] === undefined) continue;
    const entries = Entries.safeParse(doc[c]);
    if (!entries.success) return err({ path: formatPath([c, ...(entries.error.issues[0]?.path ?? [])]), message: entries.error.issues[0]?.message ?? "invalid" });
    const map = state[c] as Map<string, unknown>;
    for (const [key, value] of entries.data) {
      const checked = checkValue(c, key, value);
      if (!checked.ok) return checked;
      map.set(key, checked.value);
    }
  }
  return ok({ state, seq: head.data.seq });
}

const JournalEntry = z.object({ seq: z.number().int().min(1), ops: z.array(z.tuple([z.string(), z.string(), z.unknown()])) });

/** Applies one journal line unless the snapshot already holds it; resolves with the line's seq. */
function applyJournalLine(state: StoreState, line: string, snapshotSeq: number): Result<number, Problem> {
  let raw: unknown;
  try {
    raw = JSON.parse(line);
  } catch (e) {
    return err({ path: "$", message: `not JSON (${(e as Error).message})` });
  }
  const entry = JournalEntry.safeParse(raw);
  if (!entry.success) return err({ path: formatPath(entry.error.issues[0]?.path ?? []), message: entry.error.issues[0]?.message ?? "invalid" });
  if (entry.data.seq <= snapshotSeq) return ok(entry.data.seq);
  const changes = new ChangeSet();
  for (const [collection, key, value] of entry.data.ops) {
    if (!isCollection(collection)) return err({ path: "$", message: `unknown collection ${JSON.stringify(collection)}` });
    if (value === null) {
      changes.delete(collection, key);
      continue;
    }
    const checked = checkValue(collection, key, value);
    if (!checked.ok) return checked;
    changes.put(collection, key, checked.value);
  }
  applyChanges(state, changes);
  return ok(entry.data.seq);
}
