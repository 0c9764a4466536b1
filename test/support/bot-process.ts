/**
 * The bot as a separate process, for tests that kill it (SIGKILL: no clean-up runs, as after a
 * crash or an OOM kill) and start it again on the same store.
 *
 * `spawnBot` runs this file under tsx (see `TSX_MAIN_THREAD`); the child reads its config (a JSON file, the
 * same input the CLI takes), starts the bot with RT polling off and answers a few requests over
 * Node's IPC channel: poll RT now, deliver ticket-system writes now (awaited or not), list the
 * queued writes, move its clock. The clock is the only thing a test changes inside: it makes
 * retries due without editing the store under the running bot.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { createWriteStream, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { ConfigSchema } from "../../config/schema.js";
import type { createLogger } from "../../src/log/logger.js";
import type { startBot } from "../../src/main.js";
import type { UpstreamWrite } from "../../src/store/types.js";

type Request = { id: number; cmd: "poll" | "deliver" | "kick" | "writes" | "skew" | "pollFeed"; ms?: number; feed?: string };
type Reply = { id: number; ok: true; value: unknown } | { id: number; ok: false; error: string };
type Ready = { ready: true };

export interface BotProcess {
  pid: number;
  poll(): Promise<number>;
  /** Delivers due writes and resolves when the queue is idle. */
  deliver(): Promise<void>;
  /** Starts a delivery without waiting for it. */
  kick(): Promise<void>;
  writes(): Promise<UpstreamWrite[]>;
  /** Moves the bot's clock forward. */
  skew(ms: number): Promise<void>;
  /** Polls one feed now (as its schedule would) and resolves with the outcome's kind. */
  pollFeed(feedId: string): Promise<string>;
  /** SIGKILL, and wait for the exit. */
  kill(): Promise<void>;
  /** SIGTERM (the bot's clean stop), and wait for the exit. */
  stop(): Promise<void>;
}

const SELF = fileURLToPath(import.meta.url);

/**
 * tsx for this file on the child's main thread only. `--import tsx` would be inherited by every
 * worker thread (a Worker takes its parent's execArgv), which then loads tsx before the compiled
 * bot's translation worker: ≈0.2 s and ≈0.25 s of CPU a thread that the bot as admins run it
 * (`bin/ttrelay.js`, plain node) never pays. A worker running the TypeScript source registers tsx
 * itself (src/translate/workers.ts).
 */
const TSX_MAIN_THREAD = `data:text/javascript,${encodeURIComponent(
  `import { isMainThread } from "node:worker_threads"; if (isMainThread) (await import(${JSON.stringify(import.meta.resolve("tsx/esm/api"))})).register();`,
)}`;

/**
 * Starts the bot in a child process; resolves once it has joined its rooms. `build`: the bot's
 * modules from the TypeScript source (default, as tests run) or from the compiled dist/ (as admins
 * run it; the benchmarks, which build it first).
 */
export async function spawnBot(opts: { configFile: string; logFile: string; env?: Record<string, string>; skewMs?: number; logLevel?: string; execArgv?: string[]; build?: "source" | "dist" }): Promise<BotProcess> {
  const log = createWriteStream(opts.logFile, { flags: "a" });
  const child: ChildProcess = spawn(process.execPath, [...(opts.execArgv ?? []), "--import", TSX_MAIN_THREAD, SELF, opts.configFile], {
    stdio: ["ignore", "pipe", "pipe", "ipc"],
    env: { ...process.env, ...opts.env, TTRELAY_TEST_CLOCK_SKEW_MS: String(opts.skewMs ?? 0), TTRELAY_TEST_LOG_LEVEL: opts.logLevel ?? "debug", TTRELAY_TEST_BUILD: opts.build ?? "source" },
  });
  child.stdout?.pipe(log, { end: false });
  child.stderr?.pipe(log, { end: false });
  const exited = once(child, "exit");
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  let nextId = 1;
  let ready: () => void = () => undefined;
  const started = new Promise<void>((resolve, reject) => {
    ready = resolve;
    void exited.then(([code, signal]) => reject(new Error(`the bot process exited before it was ready (${String(code ?? signal)}); see ${opts.logFile}`)));
  });
  child.on("message", (m: Reply | Ready) => {
    if ("ready" in m) return ready();
    const p = pending.get(m.id);
    pending.delete(m.id);
    if (m.ok) p?.resolve(m.value);
    else p?.reject(new Error(m.error));
  });
  void exited.then(() => {
    for (const p of pending.values()) p.reject(new Error("the bot process exited"));
    pending.clear();
  });
  const ask = (cmd: Request["cmd"], ms?: number, feed?: string): Promise<unknown> =>
    new Promise((resolve, reject) => {
      const id = nextId++;
      pending.set(id, { resolve, reject });
      child.send({ id, cmd, ...(ms === undefined ? {} : { ms }), ...(feed === undefined ? {} : { feed }) } satisfies Request);
    });
  const end = async (signal: NodeJS.Signals): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    await exited;
    log.end();
  };
  await started;
  return {
    pid: child.pid ?? -1,
    poll: async () => (await ask("poll")) as number,
    deliver: async () => void (await ask("deliver")),
    kick: async () => void (await ask("kick")),
    writes: async () => (await ask("writes")) as UpstreamWrite[],
    skew: async (ms) => void (await ask("skew", ms)),
    pollFeed: async (feedId) => (await ask("pollFeed", undefined, feedId)) as string,
    kill: () => end("SIGKILL"),
    stop: () => end("SIGTERM"),
  };
}

/** The bot's modules: the source, or the compiled ones (plain JS, which tsx leaves as they are). */
type MainModule = { startBot: typeof startBot };
type LoggerModule = { createLogger: typeof createLogger };
type SchemaModule = { ConfigSchema: typeof ConfigSchema };

async function child(configFile: string): Promise<void> {
  const dist = process.env.TTRELAY_TEST_BUILD === "dist";
  const at = (path: string): string => new URL(dist ? `../../dist/${path}.js` : `../../${path}.ts`, import.meta.url).href;
  const { startBot } = (await import(at("src/main"))) as MainModule;
  const { createLogger } = (await import(at("src/log/logger"))) as LoggerModule;
  const { ConfigSchema: Schema } = (await import(at("config/schema"))) as SchemaModule;
  const config = Schema.parse(JSON.parse(readFileSync(configFile, "utf8")));
  let skew = Number(process.env.TTRELAY_TEST_CLOCK_SKEW_MS ?? "0");
  const bot = await startBot(config, { log: createLogger(process.env.TTRELAY_TEST_LOG_LEVEL ?? "debug", false), startPolling: false, now: () => new Date(Date.now() + skew) });
  await bot.ready;
  const send = (m: Reply | Ready): void => void process.send?.(m);
  process.on("message", (m: Request) => {
    const run = async (): Promise<unknown> => {
      switch (m.cmd) {
        case "poll":
          return (await bot.rt?.poll()) ?? 0;
        case "deliver":
          return bot.rt?.deliver();
        case "kick":
          void bot.rt?.deliver();
          return undefined;
        case "writes":
          return [...bot.store.values("writes")];
        case "skew":
          skew += m.ms ?? 0;
          return undefined;
        case "pollFeed":
          return (await bot.pollNow(m.feed ?? "")).kind;
      }
    };
    run().then(
      (value) => send({ id: m.id, ok: true, value: value ?? null }),
      (e: unknown) => send({ id: m.id, ok: false, error: e instanceof Error ? e.message : String(e) }),
    );
  });
  process.once("SIGTERM", () => void bot.stop().then(() => process.exit(0)));
  send({ ready: true });
}

if (process.argv[1] === SELF && process.argv[2]) await child(process.argv[2]);
