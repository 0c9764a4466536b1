/**
 * Adapter: feed items translated on worker threads, for big documents. A first poll of 50k items
 * spent ≈5.5 s translating on the one thread that also plans, stores and talks XMPP; split over
 * the machine's cores it takes a fraction of that, and the bot's own thread stays free meanwhile
 * (echoes, /health, commands). Same function, same results (a test compares them); only the
 * per-field trace (for `replay`) is left out. Workers start at the first big batch, are shared by
 * every feed, and never keep the process alive.
 */
import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import type { FeedConfig } from "../../config/schema.js";
import { parseFeed, parseFeedInParts, type FeedItem, type ParsedFeed, type PartReading } from "../sources/feed/parse.js";
import { ok, type Result } from "../util/result.js";
import type { Ticket } from "../model/ticket.js";
import type { Translation } from "./values-to-ticket.js";
import type { ReadPartReply, TranslateReply, WorkerTask } from "./worker.js";

export interface ItemTranslator {
  /** The items' translations, in their order; rejects if a worker cannot do it (then translate here). */
  translate(feed: FeedConfig, now: Date, items: readonly FeedItem[]): Promise<Translation[]>;
  /**
   * The same work as tasks of consecutive items, each settling on its own (the first ones come back
   * while later ones are still being translated: the intake takes them meanwhile). A task that
   * rejects is for the caller to translate itself.
   */
  translateInTasks(feed: FeedConfig, now: Date, items: readonly FeedItem[]): TranslationTask[];
  /** Gets ready for work soon (starts threads); optional. */
  warm?(): void;
  /**
   * `parseFeed`'s result for a big document, read in parts side by side; optional. With `ids`, each
   * item's TT_ID for that feed comes too (`ParsedFeed.ticketIds`), where the threads worked them out.
   */
  parseFeed?(xml: string, maxItemChars: number, ids?: { feed: FeedConfig; now: Date }): Promise<Result<ParsedFeed, string>>;
  close(): Promise<void>;
}

/**
 * One task of `translateInTasks`: `items` (a slice of those given) and their translations, asked
 * for with `done()` (a worker's are under way already; a task done here runs when asked, so the
 * intake's parts and the translating take turns).
 */
export type TranslationTask = { items: readonly FeedItem[]; done: () => Promise<Translation[]> };

/**
 * Items per task: big enough that copying the config and starting a task is noise, small enough to
 * share out. The first tasks are smaller, so the intake has its first versions soon (a fresh
 * thread runs its first items slowly, before its code is compiled).
 */
const TASK_ITEMS = 2_000;
const FIRST_TASK_ITEMS = 250;

type Reply = TranslateReply | ReadPartReply;
type Done = Extract<TranslateReply, { ok: true }> | Extract<ReadPartReply, { ok: true }>;
type Pending = { resolve: (reply: Done) => void; reject: (e: Error) => void };

class TranslationWorker {
  readonly #worker: Worker;
  readonly #pending = new Map<number, Pending>();
  #broken: Error | undefined;

  constructor(url: URL) {
    this.#worker = url.pathname.endsWith(".ts")
      ? // Run from the TypeScript source (tests, `tsx`): a worker does not inherit the tsx loader, so it registers it first.
        new Worker(`import("tsx/esm/api").then(({ register }) => { register(); return import(${JSON.stringify(url.href)}); })`, { eval: true })
      : new Worker(url);
    this.#worker.unref();
    this.#worker.on("message", (reply: Reply) => {
      const p = this.#pending.get(reply.id);
      if (!p) return;
      this.#pending.delete(reply.id);
      if (reply.ok) p.resolve(reply);
      else p.reject(new Error(`translation worker: ${reply.error}`));
    });
    const fail = (e: Error): void => {
      this.#broken = e;
      for (const p of this.#pending.values()) p.reject(e);
      this.#pending.clear();
    };
    this.#worker.on("error", fail);
    this.#worker.on("exit", (code) => fail(new Error(`translation worker exited (${code})`)));
  }

  get broken(): boolean {
    return this.#broken !== undefined;
  }

  #run(task: WorkerTask): Promise<Done> {
    if (this.#broken) return Promise.reject(this.#broken);
    return new Promise((resolve, reject) => {
      this.#pending.set(task.id, { resolve, reject });
      this.#worker.postMessage(task);
    });
  }

  async translate(task: Omit<Extract<WorkerTask, { kind: "translate" }>, "kind">): Promise<Translation[]> {
    const reply = await this.#run({ kind: "translate", ...task });
    if (!("translations" in reply)) throw new Error("translation worker: a reading for a translation");
    // Our own thread's JSON of a ticket it validated: parsed back, not validated again.
    return reply.translations.map((t) => ({ ...t, result: t.result.ok ? ok(JSON.parse(t.result.value) as Ticket) : t.result }));
  }

  async read(task: Omit<Extract<WorkerTask, { kind: "read" }>, "kind">): Promise<{ reading: Result<PartReading, string>; ids?: (string | null)[] | undefined }> {
    const reply = await this.#run({ kind: "read", ...task });
    if (!("reading" in reply)) throw new Error("translation worker: translations for a reading");
    return { reading: reply.reading, ids: reply.ids };
  }

  /** The thread forgets the parts it holds (no reply). */
  release(parts: number[]): void {
    if (!this.#broken) this.#worker.postMessage({ kind: "release", id: -1, parts } satisfies WorkerTask);
  }

  async close(): Promise<void> {
    await this.#worker.terminate();
  }
}

/** The worker script beside this module: the .ts source under tsx (tests, dev), the .js in dist. */
const workerUrl = (): URL => new URL(import.meta.url.endsWith(".ts") ? "./worker.ts" : "./worker.js", import.meta.url);

/**
 * Parts per thread when a document is read on the threads: several, so this thread takes in the
 * first parts (copying them over costs about a third of reading them) while the threads read the
 * next ones, instead of all at the end.
 */
const PARTS_PER_THREAD = 8;

/** Threads idle this long are stopped (their memory given back); the next big document starts them again. */
const IDLE_MS = 60_000;

/** Where a thread holds an item it read (see `WorkerTranslator.parseFeed`). */
type Holding = { worker: TranslationWorker; part: number; position: number };

export class WorkerTranslator implements ItemTranslator {
  #workers: TranslationWorker[] = [];
  /** Items the threads read and still hold; a part's items count only while the part is live. */
  readonly #held = new WeakMap<FeedItem, Holding>();
  readonly #liveParts = new Set<number>();
  #tasksOnHeld = 0;
  #nextId = 0;
  #busy = 0;
  #idle: NodeJS.Timeout | undefined;

  /** `size`: workers at most; by default one per core, at most 4. `idleMs`: see IDLE_MS. */
  constructor(
    private readonly size = Math.max(1, Math.min(4, availableParallelism())),
    private readonly idleMs = IDLE_MS,
  ) {}

  /** The threads, started as needed; throws only when not one can be started (the system may refuse a thread). */
  #pool(): TranslationWorker[] {
    this.#workers = this.#workers.filter((w) => !w.broken);
    try {
      while (this.#workers.length < this.size) this.#workers.push(new TranslationWorker(workerUrl()));
    } catch (e) {
      if (this.#workers.length === 0) throw e;
    }
    return this.#workers;
  }

  async translate(feed: FeedConfig, now: Date, items: readonly FeedItem[]): Promise<Translation[]> {
    return (await Promise.all(this.translateInTasks(feed, now, items).map((t) => t.done()))).flat();
  }

  /** Starts the threads now (a big document is on its way: they start while it is parsed). */
  warm(): void {
    try {
      this.#pool();
    } catch {
      return; // the work that follows finds out, and is done here
    }
    this.#idleSoon();
  }

  /** Threads that hold a live part are still in use (a poll translates from it, window by window). */
  #idleSoon(): void {
    if (this.#busy > 0 || this.#liveParts.size > 0) return;
    clearTimeout(this.#idle);
    this.#idle = setTimeout(() => void this.close(), this.idleMs);
    this.#idle.unref();
  }

  /**
   * The document cut into PARTS_PER_THREAD parts per thread (src/sources/feed/split.ts), read side by side:
   * a 50k-item document took ≈2 s to read on the bot's one thread. Same result as `parseFeed`.
   * The threads keep the items they read, so translating them later copies none back to them
   * (≈0.6 s of this thread for 50k items), until `release` (the poll is done with them).
   */
  async parseFeed(xml: string, maxItemChars: number, ids?: { feed: FeedConfig; now: Date }): Promise<Result<ParsedFeed, string>> {
    let pool: TranslationWorker[];
    try {
      pool = this.#pool();
    } catch {
      return parseFeed(xml, maxItemChars); // no thread could be started: read here
    }
    clearTimeout(this.#idle);
    this.#busy++;
    const parts: { worker: TranslationWorker; part: number }[] = [];
    const release = (): void => {
      for (const w of new Set(parts.map((p) => p.worker))) w.release(parts.filter((p) => p.worker === w).map((p) => p.part));
      for (const { part } of parts) this.#liveParts.delete(part);
      this.#idleSoon();
    };
    try {
      const idOf = new WeakMap<FeedItem, string | undefined>();
      const readPart = async (text: string, offset: number): Promise<Result<PartReading, string>> => {
        const worker = pool[parts.length % pool.length] as TranslationWorker;
        const part = this.#nextId++;
        parts.push({ worker, part });
        this.#liveParts.add(part);
        const read = await worker.read({ id: part, text, maxItemChars, offset, ids: ids && { feed: ids.feed, now: ids.now.getTime() } });
        const { reading } = read;
        if (reading.ok)
          reading.value.entries.forEach((e, position) => {
            if (!("item" in e)) return;
            this.#held.set(e.item, { worker, part, position });
            if (read.ids) idOf.set(e.item, read.ids[position] ?? undefined);
          });
        return reading;
      };
      const parsed = await parseFeedInParts(xml, maxItemChars, PARTS_PER_THREAD * pool.length, readPart);
      // Read here after all (the document could not be cut, or a part not read): nothing to hold.
      if (!parsed.ok || !parsed.value.items.some((i) => this.#held.has(i))) {
        release();
        return parsed;
      }
      const { items } = parsed.value;
      const ticketIds = ids && items.every((i) => idOf.has(i)) ? new Map(items.map((i) => [i.key, idOf.get(i)])) : undefined;
      return ok({ ...parsed.value, release, ...(ticketIds ? { ticketIds } : {}) });
    } catch (e) {
      release();
      throw e;
    } finally {
      this.#busy--;
      this.#idleSoon();
    }
  }

  /** Translate tasks that named items a thread holds, instead of sending them (for tests). */
  get tasksOnHeldItems(): number {
    return this.#tasksOnHeld;
  }

  #holding(item: FeedItem | undefined): Holding | undefined {
    const h = item && this.#held.get(item);
    return h && this.#liveParts.has(h.part) && !h.worker.broken ? h : undefined;
  }

  translateInTasks(feed: FeedConfig, now: Date, items: readonly FeedItem[]): TranslationTask[] {
    let pool: TranslationWorker[];
    try {
      pool = this.#pool();
    } catch (e) {
      // No thread could be started: one task that fails, which the caller translates itself.
      const failed = Promise.reject(e instanceof Error ? e : new Error(String(e)));
      failed.catch(() => undefined);
      return [{ items, done: () => failed }];
    }
    clearTimeout(this.#idle);
    this.#busy++;
    const tasks: TranslationTask[] = [];
    // Handed out in turn, so the tasks finish roughly in their order; items a thread holds go to it
    // by their positions (a task ends where the next item is held elsewhere).
    for (let from = 0, k = 0, size = FIRST_TASK_ITEMS; from < items.length; k++, size = Math.min(size * 2, TASK_ITEMS)) {
      const held = this.#holding(items[from]);
      const positions: number[] = [];
      let to = from;
      for (; to < items.length && to - from < size; to++) {
        const h = this.#holding(items[to]);
        if (held ? h?.part !== held.part : h !== undefined) break;
        if (h) positions.push(h.position);
      }
      const slice = items.slice(from, to);
      from = to;
      const task = { id: this.#nextId++, feed, now: now.getTime() };
      if (held) this.#tasksOnHeld++;
      const done = held ? held.worker.translate({ ...task, held: { part: held.part, positions } }) : (pool[k % pool.length] as TranslationWorker).translate({ ...task, items: slice });
      // A task may fail before its turn comes (or after the caller stopped asking): not unhandled.
      done.catch(() => undefined);
      tasks.push({ items: slice, done: () => done });
    }
    void Promise.allSettled(tasks.map((t) => t.done())).then(() => {
      this.#busy--;
      this.#idleSoon();
    });
    return tasks;
  }

  async close(): Promise<void> {
    clearTimeout(this.#idle);
    const workers = this.#workers;
    this.#workers = [];
    await Promise.all(workers.map((w) => w.close()));
  }
}
