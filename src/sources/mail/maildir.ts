/**
 * Maildir adapter. Delivery (an MTA, or `ttrelay ingest-mail` from a pipe or alias) writes each
 * message into tmp/ and renames it into new/, so a file in new/ is always complete. The bot watches
 * new/, hands each message to the mail pipeline and, once the commit succeeded, renames it into cur/
 * with the Seen flag (":2,S") — the Maildir way of saying "read". A crash between the commit and
 * the rename only leaves the file in new/: its Message-ID is in the committed state, so it is not
 * taken in twice.
 */
import { watch, type FSWatcher } from "node:fs";
import { mkdir, open, readdir, rename, stat } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import type { MailSourceConfig } from "../../../config/schema.js";
import type { Logger } from "../../log/logger.js";
import type { SourceHealth, SourceRuntime, TicketSource } from "../types.js";
import { dkimVerifier, type DkimVerifier } from "./dkim.js";
import { MailPipeline, Wakeup } from "./pipeline.js";

export type MaildirMailSourceDeps = {
  log: Logger;
  verifyDkim?: DkimVerifier | undefined;
  /** How often new/ is scanned besides the file watcher (which can miss events); default 30 s. */
  scanMs?: number | undefined;
};

export type MaildirMailSource = TicketSource & { checkNow(): Promise<void> };

export async function ensureMaildir(dir: string): Promise<void> {
  for (const sub of ["tmp", "new", "cur"]) await mkdir(join(dir, sub), { recursive: true, mode: 0o700 });
}

export function createMaildirMailSource(config: MailSourceConfig, deps: MaildirMailSourceDeps): MaildirMailSource {
  const dir = config.maildir;
  if (!dir) throw new Error(`mail source ${config.id} has no maildir`);
  return new MaildirSource(config, dir, deps);
}

class MaildirSource implements MaildirMailSource {
  readonly id: string;
  private pipeline: MailPipeline | undefined;
  private watcher: FSWatcher | undefined;
  private running = false;
  private loop: Promise<void> | undefined;
  private readonly wakeup = new Wakeup();
  private passDone: (() => void)[] = [];
  private readonly log: Logger;

  constructor(
    private readonly config: MailSourceConfig,
    private readonly dir: string,
    private readonly deps: MaildirMailSourceDeps,
  ) {
    this.id = config.id;
    this.log = deps.log.child({ source: config.id });
  }

  async start(runtime: SourceRuntime): Promise<void> {
    this.pipeline = new MailPipeline(this.config, runtime, this.deps.verifyDkim ?? dkimVerifier(), this.log);
    await ensureMaildir(this.dir);
    this.watcher = watch(join(this.dir, "new"), () => this.wakeup.wake());
    this.watcher.on("error", (e) => this.log.warn({ err: e.message }, "Maildir watch failed; scanning on the timer only"));
    this.running = true;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.watcher?.close();
    this.wakeup.wake();
    await this.loop;
    for (const done of this.passDone.splice(0)) done();
  }

  health(): SourceHealth {
    return this.pipeline?.health ?? { ok: false };
  }

  checkNow(): Promise<void> {
    return new Promise<void>((resolve) => {
      this.passDone.push(resolve);
      this.wakeup.nudge();
    });
  }

  private async run(): Promise<void> {
    while (this.running) {
      const asked = this.passDone.splice(0);
      try {
        await this.pass();
      } catch (e) {
        const h = this.health();
        h.ok = false;
        h.lastError = (e as Error).message;
        this.log.error({ err: (e as Error).message }, "Maildir pass failed");
      }
      for (const done of asked) done();
      if (this.running && this.passDone.length === 0) await this.wakeup.wait(this.deps.scanMs ?? 30_000);
    }
  }

  private async pass(): Promise<void> {
    const pipeline = this.pipeline;
    if (!pipeline) return;
    const newDir = join(this.dir, "new");
    // Maildir names start with the delivery time: name order is (about) arrival order.
    const names = (await readdir(newDir)).filter((n) => !n.startsWith(".")).sort();
    for (const name of names) {
      if (!this.running) return;
      const file = join(newDir, name);
      const info = await stat(file).catch(() => undefined);
      if (!info?.isFile()) continue;
      const handled =
        info.size > this.config.maxBytes
          ? await pipeline.handle({
              kind: "problem",
              key: `maildir:${name}`,
              problem: { code: "too-large", message: `message of ${info.size} bytes is larger than ${this.config.maxBytes}` },
              summary: { sender: "(not read)" },
            })
          : await pipeline.handle(await readLimited(file, this.config.maxBytes));
      if (!handled.committed) return; // tried again at the next pass
      const base = name.includes(":2,") ? name : `${name}:2,S`;
      await rename(file, join(this.dir, "cur", base)).catch((e: Error) => this.log.warn({ file: name, err: e.message }, "could not move the message to cur/"));
    }
  }
}

async function readLimited(file: string, max: number): Promise<Buffer> {
  const fh = await open(file, "r");
  try {
    const buf = Buffer.alloc(max + 1);
    const { bytesRead } = await fh.read(buf, 0, max + 1, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

/** A unique Maildir file name: time, microseconds, PID, random, host (the Maildir convention). */
export function maildirName(now: Date = new Date()): string {
  const host = hostname().replace(/\//g, "\\057").replace(/:/g, "\\072");
  const micro = String(process.hrtime.bigint() % 1_000_000n).padStart(6, "0");
  return `${Math.floor(now.getTime() / 1000)}.M${micro}P${process.pid}R${randomBytes(8).toString("hex")}.${host}`;
}

/**
 * Writes one message into the Maildir atomically: into tmp/ (flushed to disk), then renamed into
 * new/, so the watcher never sees half a message. Returns the path in new/.
 */
export async function deliverToMaildir(dir: string, message: Buffer): Promise<string> {
  await ensureMaildir(dir);
  const name = maildirName();
  const tmp = join(dir, "tmp", name);
  const fh = await open(tmp, "wx", 0o600);
  try {
    await fh.writeFile(message);
    await fh.sync();
  } finally {
    await fh.close();
  }
  const target = join(dir, "new", name);
  await rename(tmp, target);
  // The rename is durable once the directory is flushed too.
  const d = await open(join(dir, "new"), "r");
  try {
    await d.sync();
  } finally {
    await d.close();
  }
  return target;
}
