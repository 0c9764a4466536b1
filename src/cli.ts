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
import { planIntake } from "./intake/plan.js";
import { staticRuleWarnings, unusedRuleWarnings } from "./translate/check.js";
import { translateItems, type ItemTranslation } from "./translate/item-to-ticket.js";
import type { FieldTrace } from "./translate/values-to-ticket.js";
import { emptyStore } from "./store/types.js";
import { count } from "./render/plural.js";
import { readFile } from "node:fs/promises";
import { dkimVerifier } from "./sources/mail/dkim.js";
import { deliverToMaildir } from "./sources/mail/maildir.js";
import { processMail, type MailDecision } from "./sources/mail/process.js";
import { emptyMailState } from "./sources/mail/state.js";

const out = (line: string): void => void process.stdout.write(line + "\n");
const fail = (line: string): void => void process.stderr.write(line + "\n");

function printProblems(file: string, problems: readonly ConfigProblem[], label = "error"): void {
  for (const p of problems) fail(`${file}: ${label}: ${p.path}: ${p.message}`);
}

async function configOrExit(file: string): Promise<Config> {
  const loaded = await loadConfig(file);
  if (!loaded.ok) {
    printProblems(file, loaded.error);
    fail(`${file}: ${count(loaded.error.length, "problem")}; fix ${loaded.error.length === 1 ? "it" : "them"} and try again (ttrelay check-config ${file})`);
    process.exit(2);
  }
  return loaded.value;
}

const positiveInt = (value: string): number => {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError("must be a positive whole number");
  return n;
};

/** Rules of one feed that match no item of a sample document (check-config --sample). */
async function sampleWarnings(config: Config, sample: string, feedId: string | undefined): Promise<ConfigProblem[]> {
  const feed = feedId ? config.feeds.find((f) => f.id === feedId) : config.feeds[0];
  if (!feed) return [{ path: "$.feeds", message: feedId ? `no feed "${feedId}" to check the sample against` : "no feed to check the sample against" }];
  const url = /^(https?|file):/i.test(sample) ? sample : pathToFileURL(sample).href;
  const fetched = await fetchFeed(url, {}, { timeoutMs: feed.timeoutMs, maxBytes: feed.maxBytes, redirectHosts: feed.redirectHosts });
  if (!fetched.ok || fetched.value.kind !== "document") return [{ path: "$", message: `sample ${sample}: ${fetched.ok ? "no document" : fetched.error.message}` }];
  const parsed = await parseFeed(fetched.value.body, feed.maxItemChars);
  if (!parsed.ok) return [{ path: "$", message: `sample ${sample}: ${parsed.error}` }];
  const index = config.feeds.indexOf(feed);
  return unusedRuleWarnings(feed, index, translateItems(parsed.value.items, feed, new Date()).items);
}

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
          fail(`ttrelay: cannot start with ${opts.config}: ${e.message}`);
          process.exit(2);
        }
        throw e;
      }
    });

  program
    .command("check-config")
    .description("validate a config file; every problem is printed with its JSON path")
    .argument("<file>", "config file")
    .option("--sample <url-or-path>", "a sample feed document: warn about mapping rules that match none of its items")
    .option("--as <feed-id>", "the configured feed whose rules the sample is for (default: the first)")
    .action(async (file: string, opts: { sample?: string; as?: string }) => {
      const loaded = await loadConfig(file);
      if (!loaded.ok) {
        printProblems(file, loaded.error);
        fail(`${file}: ${count(loaded.error.length, "problem")}`);
        process.exit(1);
      }
      const warnings = [
        ...configWarnings(loaded.value),
        ...(await secretProblems(loaded.value)),
        ...loaded.value.feeds.flatMap((f, i) => staticRuleWarnings(f, i)),
        ...(opts.sample ? await sampleWarnings(loaded.value, opts.sample, opts.as) : []),
      ];
      printProblems(file, warnings, "warning");
      const c = loaded.value;
      out(`${file}: OK (${count(c.rooms.length, "room")}, ${count(c.feeds.length, "feed")}, ${count(c.routes.length, "route")}${warnings.length ? `, ${count(warnings.length, "warning")}` : ""})`);
    });

  program
    .command("replay")
    .description("print the tickets, activities and messages a feed would produce, and per field which rule gave the value, without connecting to XMPP")
    .requiredOption("-c, --config <file>", "config file whose mapping and routes apply")
    .option("-f, --feed <url-or-path>", "feed URL, local file, or the id of a configured feed")
    .option("-m, --mail <file.eml>", "a mail (RFC 5322 file) instead of a feed: the tickets it would produce")
    .option("--as <source-id>", "use this configured feed's (or mail source's) mapping (default: the feed matching --feed, else the first)")
    .option("--skip-dkim", "with --mail: do not check DKIM signatures (say so instead of refusing)")
    .option("--json", "print JSON lines instead of text")
    .action(async (opts: { config: string; feed?: string; mail?: string; as?: string; json?: boolean; skipDkim?: boolean }) => {
      const config = await configOrExit(opts.config);
      if (opts.mail !== undefined) {
        process.exit(await replayMail(config, opts.mail, opts));
      }
      if (opts.feed === undefined) {
        fail("replay needs --feed or --mail");
        process.exit(2);
      }
      const feedArg = opts.feed;
      const byArg = config.feeds.find((f) => f.id === feedArg || f.url === feedArg);
      const base = opts.as ? config.feeds.find((f) => f.id === opts.as) : (byArg ?? config.feeds[0]);
      if (!base) {
        fail(opts.as ? `no feed "${opts.as}" in ${opts.config}` : `${opts.config} has no feeds whose mapping could apply`);
        process.exit(2);
      }
      const url = byArg && !opts.as ? byArg.url : /^(https?|file):/i.test(feedArg) ? feedArg : pathToFileURL(feedArg).href;
      const feed: FeedConfig = { ...base, url };
      const feedIndex = config.feeds.indexOf(base);
      const fetched = await fetchFeed(url, {}, { timeoutMs: feed.timeoutMs, maxBytes: feed.maxBytes, redirectHosts: feed.redirectHosts });
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
      const now = new Date();
      // Replay as if every item were new to an already-primed feed: each gives its Create.
      const primed = { ...emptyFeedState(), primed: true };
      // Correlated as the bot would from an empty store, so messages show their incidents too.
      const incidents = new IncidentBook(emptyStore(), config.correlation);
      const problems = [...(fetched.value.problems ?? []), ...parsed.value.problems];
      const plan = planPoll(
        { feed, routes: config.routes, actor: nocActor(config.noc), render: config.render, now, incidents },
        primed,
        parsed.value.items,
        problems,
        {},
        () => undefined,
      );
      // The same translation again, for the per-field account of each item.
      const poll = translateItems(parsed.value.items, feed, now);
      const traceOf = new Map<string, ItemTranslation>();
      for (const t of poll.items) {
        const r = poll.byKey.get(t.item.key);
        if (r?.ok) traceOf.set(r.value.TT_ID, t);
      }
      const rejected = poll.items.filter((t) => !(poll.byKey.get(t.item.key)?.ok ?? false));
      const warnings = [...staticRuleWarnings(feed, feedIndex), ...unusedRuleWarnings(feed, feedIndex, poll.items)];
      if (opts.json) {
        for (const a of plan.activities) {
          const t = traceOf.get(a.object["nttdm:ticket"].TT_ID);
          out(JSON.stringify({ ticket: a.object["nttdm:ticket"], activity: a, item: t?.item.key, fields: t?.translation.trace }));
        }
        for (const r of rejected) out(JSON.stringify({ rejected: r.item.key, problems: r.translation.result.ok ? [] : r.translation.result.error, fields: r.translation.trace }));
        for (const m of plan.outbox) out(JSON.stringify({ room: m.room, body: m.body }));
        for (const l of plan.logs) if (l.level !== "info") out(JSON.stringify({ level: l.level, msg: l.msg, ...l.fields }));
        for (const w of warnings) out(JSON.stringify({ level: "warn", msg: "mapping rule", path: w.path, problem: w.message }));
      } else {
        if (fetched.value.encoding) out(`charset: ${fetched.value.encoding}`);
        for (const a of plan.activities) {
          const ttId = a.object["nttdm:ticket"].TT_ID;
          const t = traceOf.get(ttId);
          out(`=== ${ttId} (${a.type}) ===`);
          if (t) {
            out(`item:     ${t.item.key}`);
            out("fields:");
            for (const line of traceLines(t.translation.trace)) out(`  ${line}`);
          }
          out("ticket:   " + JSON.stringify(a.object["nttdm:ticket"], null, 2).replaceAll("\n", "\n          "));
          out("activity: " + JSON.stringify({ ...a, "@context": [a["@context"][0], "(NTTDM extension context)"], object: { ...a.object, "nttdm:ticket": "(above)" } }, null, 2).replaceAll("\n", "\n          "));
          for (const m of plan.outbox.filter((o) => o.ticketId === ttId)) {
            out(`message to ${m.room}:`);
            out("  " + m.body.replaceAll("\n", "\n  "));
          }
          out("");
        }
        for (const r of rejected) {
          out(`=== item ${r.item.key}: not a ticket ===`);
          for (const p of r.translation.result.ok ? [] : r.translation.result.error) out(`problem:  ${p.field}: ${p.message}`);
          out("fields:");
          for (const line of traceLines(r.translation.trace)) out(`  ${line}`);
          out("");
        }
        for (const l of plan.logs) if (l.level !== "info") out(`${l.level}: ${l.msg}: ${JSON.stringify(l.fields)}`);
        for (const w of warnings) out(`warning: ${w.path}: ${w.message}`);
        out(`${count(parsed.value.items.length, "item")}, ${count(plan.activities.length, "ticket")}, ${count(plan.outbox.length, "message")}`);
      }
    });

  program
    .command("ingest-mail")
    .description("read one message on standard input and deliver it into a mail source's Maildir (for an MTA pipe or alias)")
    .option("-c, --config <file>", "config file: the message goes to the Maildir of its mail source")
    .option("--source <id>", "the mail source (default: the only one with a maildir)")
    .option("--maildir <dir>", "deliver into this Maildir instead (no config needed)")
    .option("--max-bytes <n>", "largest message accepted (default: the source's maxBytes, else 10 MiB)", positiveInt)
    .action(async (opts: { config?: string; source?: string; maildir?: string; maxBytes?: number }) => {
      // sysexits.h codes, which MTAs read: 64 usage, 65 bad data (bounced), 75 temporary (retried).
      let dir = opts.maildir;
      let max = opts.maxBytes ?? 10 * 1024 * 1024;
      if (dir === undefined) {
        if (opts.config === undefined) {
          fail("ingest-mail needs --config (with a maildir mail source) or --maildir");
          process.exit(64);
        }
        const config = await configOrExit(opts.config);
        const withDir = config.mail.filter((m) => m.maildir !== undefined && (opts.source === undefined || m.id === opts.source));
        const chosen = withDir[0];
        if (!chosen?.maildir || (opts.source === undefined && withDir.length > 1)) {
          fail(
            withDir.length > 1
              ? `${opts.config} has several maildir mail sources (${withDir.map((m) => m.id).join(", ")}): say which with --source`
              : `${opts.config} has no maildir mail source${opts.source ? ` "${opts.source}"` : ""}`,
          );
          process.exit(64);
        }
        dir = chosen.maildir;
        max = opts.maxBytes ?? chosen.maxBytes;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const chunk of process.stdin) {
        const b = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
        size += b.length;
        if (size > max) {
          fail(`ingest-mail: message larger than ${max} bytes; not delivered`);
          process.exit(65);
        }
        chunks.push(b);
      }
      if (size === 0) {
        fail("ingest-mail: empty input; nothing delivered");
        process.exit(65);
      }
      try {
        const path = await deliverToMaildir(dir, Buffer.concat(chunks));
        out(path);
      } catch (e) {
        fail(`ingest-mail: cannot write into ${dir}: ${(e as Error).message}`);
        process.exit(75);
      }
    });

  program
    .command("demo")
    .description("run the bot on an embedded default: a private local Prosody, a demo room and the bundled sample feed")
    .option("--step <seconds>", "seconds between sample feed changes", positiveInt, 20)
    .option("--exit-after <seconds>", "stop by itself after this many seconds", positiveInt)
    .option("--no-watch", "do not print what the room shows")
    // The room's messages are the show: the bot's own log only says what went wrong, unless asked.
    .option("--log-level <level>", "bot log level (info: everything it does)", "warn")
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

/** `replay --mail`: the mail → tickets step alone (no store, no rooms); the exit code says if any came out. */
async function replayMail(config: Config, file: string, opts: { as?: string; json?: boolean; skipDkim?: boolean }): Promise<number> {
  const source = opts.as ? config.mail.find((m) => m.id === opts.as) : config.mail[0];
  if (!source) {
    fail(opts.as ? `no mail source "${opts.as}" in the config` : "the config has no mail sources whose senders could apply");
    return 2;
  }
  let raw: Buffer;
  try {
    raw = await readFile(file);
  } catch (e) {
    fail(`${file}: ${(e as Error).message}`);
    return 1;
  }
  // --skip-dkim: as if no sender required a signature (said on stderr, so it is never mistaken for a pass).
  const used = opts.skipDkim ? { ...source, senders: source.senders.map((s) => ({ ...s, dkim: undefined })) } : source;
  if (opts.skipDkim && source.senders.some((s) => s.dkim)) fail("note: DKIM signatures not checked (--skip-dkim)");
  // As a first sight: an empty state, no stored tickets.
  const decision: MailDecision = await processMail(raw, { source: used, state: emptyMailState(), known: () => undefined, now: new Date() }, dkimVerifier());
  const versions = decision.kind === "versions" ? decision.versions : [];
  const problems = decision.kind === "versions" ? decision.problems : decision.kind === "duplicate" ? [] : [decision.problem];
  // What the rooms would show: the versions through the intake, from an empty store, as the bot would.
  const plan = planIntake(
    { routes: config.routes, actor: nocActor(config.noc), render: config.render, now: new Date(), incidents: new IncidentBook(emptyStore(), config.correlation), lookup: () => undefined },
    { source: source.id, versions },
  );
  if (opts.json) {
    for (const v of versions) out(JSON.stringify({ ticket: v.ticket, provenance: v.provenance, ordered: v.ordered ?? false }));
    for (const m of plan.outbox) out(JSON.stringify({ room: m.room, body: m.body }));
    for (const p of problems) out(JSON.stringify({ kind: decision.kind, ...p, ...decision.summary }));
  } else {
    for (const v of versions) {
      out(`=== ${v.ticket.TT_ID} (${v.ticket.TT_Status}) ===`);
      out("ticket:     " + JSON.stringify(v.ticket, null, 2).replaceAll("\n", "\n            "));
      out("provenance: " + JSON.stringify(v.provenance));
      for (const m of plan.outbox.filter((o) => o.ticketId === v.ticket.TT_ID)) {
        out(`message to ${m.room}:`);
        out("  " + m.body.replaceAll("\n", "\n  "));
      }
      out("");
    }
    for (const l of plan.logs) if (l.level === "warn") out(`warning: ${l.msg}: ${JSON.stringify(l.fields)}`);
    for (const p of problems) out(`${decision.kind === "refused" ? "refused" : "problem"}: ${p.code}: ${p.message}`);
    out(`${file}: ${decision.kind}, ${count(versions.length, "ticket")}${decision.summary.senderName ? ` from sender ${decision.summary.senderName}` : ""}`);
  }
  return versions.length > 0 ? 0 : 1;
}

/**
 * One line per field: the value and the rule that gave it, or why no rule did.
 *   TT_Status              "Updated"      ← rule 1: description =~ /^Status:\s*(.+)$/im
 *   TT_Close_Datetime      —              rule 1 when TT_Status: condition not met: …
 */
export function traceLines(trace: readonly FieldTrace[]): string[] {
  const lines: string[] = [];
  const name = (s: { origin: string; index: number }): string => (s.origin === "config" ? `rule ${s.index + 1}` : `built-in ${s.index + 1}`);
  for (const t of trace) {
    const value = t.value === undefined ? "—" : JSON.stringify(t.value).slice(0, 70);
    const by = t.steps.find((s) => s.outcome === "value");
    // Absent fields in one line ("built-in 1-6: guid, id absent"); every other miss on its own.
    const misses = t.steps.filter((s) => s !== by);
    const absent = misses.filter((s) => s.outcome === "no-field");
    const fieldsAbsent = [...new Set(absent.map((s) => s.rule.replace(/^when [^:]*: /, "").split(" ")[0] ?? ""))];
    const before = [
      ...(absent.length > 1 ? [`${absent.map(name).join(", ")}: ${fieldsAbsent.join(", ")} absent`] : []),
      ...misses.filter((s) => absent.length <= 1 || s.outcome !== "no-field").map((s) => `${name(s)} ${s.rule}: ${s.detail ?? s.outcome}`),
    ];
    const head = `${t.field.padEnd(26)} ${value.padEnd(24)}`;
    if (t.problem !== undefined) lines.push(`${head} ✗ ${t.problem}`);
    else if (by) lines.push(`${head} ← ${name(by)}: ${by.rule}${by.detail ? ` (${by.detail})` : ""}`);
    else if (t.note) lines.push(`${head} (${t.note})`);
    else lines.push(`${head} no rule gave a value`);
    for (const b of before) lines.push(`${"".padEnd(52)}   ${b}`);
  }
  return lines;
}

export async function main(argv: string[]): Promise<void> {
  // `ttrelay replay … | head` closes the pipe early: that is not an error worth a stack trace.
  process.stdout.on("error", (e: NodeJS.ErrnoException) => {
    if (e.code === "EPIPE") process.exit(0);
    throw e;
  });
  await buildCli().parseAsync(argv);
}
