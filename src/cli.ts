/** The `ttrelay` command line: start, check-config, replay, demo. */
import { Command, InvalidArgumentError } from "commander";
import { pathToFileURL } from "node:url";
import type { Config, FeedConfig } from "../config/schema.js";
import { configWarnings, loadConfig, secretProblems, type ConfigProblem } from "./config/load.js";
import { runDemo } from "./demo/demo.js";
import { fetchFeed } from "./sources/feed/http.js";
import { parseFeed } from "./sources/feed/parse.js";
import { emptyFeedState } from "./sources/feed/state.js";
import { createLogger } from "./log/logger.js";
import { startBot, StartupError } from "./main.js";
import { nocActor } from "./model/activity.js";
import { IncidentBook } from "./intake/incidents.js";
import { planPoll } from "./sources/feed/plan.js";
import { emptyStore } from "./store/types.js";

const out = (line: string): void => void process.stdout.write(line + "\n");
const fail = (line: string): void => void process.stderr.write(line + "\n");

function printProblems(file: string, problems: readonly ConfigProblem[], label = "error"): void {
  for (const p of problems) fail(`${file}: ${label}: ${p.path}: ${p.message}`);
}

async function configOrExit(file: string): Promise<Config> {
  const loaded = await loadConfig(file);
  if (!loaded.ok) {
    printProblems(file, loaded.error);
    fail(`${file}: ${loaded.error.length} problem(s); nothing started`);
    process.exit(2);
  }
  return loaded.value;
}

const positiveInt = (value: string): number => {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError("must be a positive whole number");
  return n;
};

export function buildCli(): Command {
  const program = new Command("ttrelay")
    .description("Relays NOC trouble tickets (RFC 6137) from ticket feeds into XMPP multi-user chat rooms")
    .version("0.1.0")
    .showHelpAfterError();

  program
    .command("start")
    .description("run the bot: join the rooms, poll the feeds on their schedules, post tickets")
    .requiredOption("-c, --config <file>", "config file (JSON; see config/example.json)")
    .action(async (opts: { config: string }) => {
      const config = await configOrExit(opts.config);
      const log = createLogger(config.log.level);
      printProblems(opts.config, configWarnings(config), "warning");
      // A bug in one path must not take the bot down for everyone: logged, and the bot keeps running.
      process.on("unhandledRejection", (reason) => log.error({ err: reason instanceof Error ? reason.stack : String(reason) }, "unhandled rejection"));
      try {
        const bot = await startBot(config, { log });
        const stop = (signal: string): void => {
          log.info({ signal }, "stopping");
          bot.stop().then(
            () => process.exit(0),
            () => process.exit(1),
          );
        };
        process.once("SIGINT", () => stop("SIGINT"));
        process.once("SIGTERM", () => stop("SIGTERM"));
      } catch (e) {
        if (e instanceof StartupError) {
          fail(`ttrelay: cannot start: ${e.message}`);
          process.exit(2);
        }
        throw e;
      }
    });

  program
    .command("check-config")
    .description("validate a config file; every problem is printed with its JSON path")
    .argument("<file>", "config file")
    .action(async (file: string) => {
      const loaded = await loadConfig(file);
      if (!loaded.ok) {
        printProblems(file, loaded.error);
        fail(`${file}: ${loaded.error.length} problem(s)`);
        process.exit(1);
      }
      const warnings = [...configWarnings(loaded.value), ...(await secretProblems(loaded.value))];
      printProblems(file, warnings, "warning");
      const c = loaded.value;
      out(`${file}: OK (${c.rooms.length} room(s), ${c.feeds.length} feed(s), ${c.routes.length} route(s)${warnings.length ? `, ${warnings.length} warning(s)` : ""})`);
    });

  program
    .command("replay")
    .description("print the tickets, activities and messages a feed would produce, without connecting to XMPP")
    .requiredOption("-c, --config <file>", "config file whose mapping and routes apply")
    .requiredOption("-f, --feed <url-or-path>", "feed URL, local file, or the id of a configured feed")
    .option("--as <feed-id>", "use this configured feed's mapping (default: the feed matching --feed, else the first)")
    .option("--json", "print JSON lines instead of text")
    .action(async (opts: { config: string; feed: string; as?: string; json?: boolean }) => {
      const config = await configOrExit(opts.config);
      const byArg = config.feeds.find((f) => f.id === opts.feed || f.url === opts.feed);
      const base = opts.as ? config.feeds.find((f) => f.id === opts.as) : (byArg ?? config.feeds[0]);
      if (!base) {
        fail(opts.as ? `no feed "${opts.as}" in ${opts.config}` : `${opts.config} has no feeds whose mapping could apply`);
        process.exit(2);
      }
      const url = byArg && !opts.as ? byArg.url : /^(https?|file):/i.test(opts.feed) ? opts.feed : pathToFileURL(opts.feed).href;
      const feed: FeedConfig = { ...base, url };
      const fetched = await fetchFeed(url, {}, { timeoutMs: feed.timeoutMs, maxBytes: feed.maxBytes });
      if (!fetched.ok) {
        fail(`${opts.feed}: ${fetched.error.message}`);
        process.exit(1);
      }
      if (fetched.value.kind !== "document") throw new Error("unexpected 304 without validators");
      const parsed = await parseFeed(fetched.value.body, feed.maxItemChars);
      if (!parsed.ok) {
        fail(`${opts.feed}: ${parsed.error}`);
        process.exit(1);
      }
      // Replay as if every item were new to an already-primed feed: each gives its Create.
      const primed = { ...emptyFeedState(), primed: true };
      // Correlated as the bot would from an empty store, so messages show their incidents too.
      const incidents = new IncidentBook(emptyStore(), config.correlation);
      const plan = planPoll(
        { feed, routes: config.routes, actor: nocActor(config.noc), render: config.render, now: new Date(), incidents },
        primed,
        parsed.value.items,
        parsed.value.problems,
        {},
        () => undefined,
      );
      if (opts.json) {
        for (const a of plan.activities) out(JSON.stringify({ ticket: a.object["nttdm:ticket"], activity: a }));
        for (const m of plan.outbox) out(JSON.stringify({ room: m.room, body: m.body }));
        for (const l of plan.logs) if (l.level !== "info") out(JSON.stringify({ level: l.level, msg: l.msg, ...l.fields }));
      } else {
        for (const a of plan.activities) {
          out(`=== ${a.object["nttdm:ticket"].TT_ID} (${a.type}) ===`);
          out("ticket:   " + JSON.stringify(a.object["nttdm:ticket"], null, 2).replaceAll("\n", "\n          "));
          out("activity: " + JSON.stringify({ ...a, object: { ...a.object, "nttdm:ticket": "(above)" } }, null, 2).replaceAll("\n", "\n          "));
          for (const m of plan.outbox.filter((o) => o.ticketId === a.object["nttdm:ticket"].TT_ID)) {
            out(`message to ${m.room}:`);
            out("  " + m.body.replaceAll("\n", "\n  "));
          }
          out("");
        }
        for (const l of plan.logs) if (l.level !== "info") out(`${l.level}: ${l.msg}: ${JSON.stringify(l.fields)}`);
        out(`${parsed.value.items.length} item(s), ${plan.activities.length} ticket(s), ${plan.outbox.length} message(s)`);
      }
    });

  program
    .command("demo")
    .description("run the bot on an embedded default: a private local Prosody, a demo room and the bundled sample feed")
    .option("--step <seconds>", "seconds between sample feed changes", positiveInt, 20)
    .option("--exit-after <seconds>", "stop by itself after this many seconds", positiveInt)
    .option("--no-watch", "do not print what the room shows")
    .option("--log-level <level>", "bot log level", "info")
    .option("--standard-ports", "accounts on localhost, port 5222 (if free), STARTTLS with a throw-away certificate: for clients that find the server themselves and insist on TLS (Dino)")
    .action(async (opts: { step: number; exitAfter?: number; watch: boolean; logLevel: string; standardPorts?: boolean }) => {
      const code = await runDemo({
        stepSeconds: opts.step,
        exitAfterSeconds: opts.exitAfter,
        watch: opts.watch,
        standardPorts: opts.standardPorts === true,
        log: createLogger(opts.logLevel),
        out,
      });
      process.exit(code);
    });

  return program;
}

export async function main(argv: string[]): Promise<void> {
  // `ttrelay replay … | head` closes the pipe early: that is not an error worth a stack trace.
  process.stdout.on("error", (e: NodeJS.ErrnoException) => {
    if (e.code === "EPIPE") process.exit(0);
    throw e;
  });
  await buildCli().parseAsync(argv);
}
