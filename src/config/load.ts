/** Reads, parses and validates the config file once; every problem is reported with its JSON path. */
import { readFile } from "node:fs/promises";
import { parse as parseJsonc, printParseErrorCode, type ParseError } from "jsonc-parser";
import { ConfigSchema, routeReferenceIssues, type Config } from "../../config/schema.js";
import { ok, err, type Result } from "../util/result.js";
import { configSecrets, resolveSecret } from "./secrets.js";

export { resolveSecret };

export type ConfigProblem = { path: string; message: string };

/** `$.feeds[0].url` style paths, the way editors and jq users read them. */
export function formatPath(path: readonly PropertyKey[]): string {
  return (
    "$" +
    path
      .map((p) => (typeof p === "number" ? `[${p}]` : /^[A-Za-z_$][\w$]*$/.test(String(p)) ? `.${String(p)}` : `[${JSON.stringify(String(p))}]`))
      .join("")
  );
}

/** Line and column (1-based) of an offset, as editors show them. */
function lineColumn(text: string, offset: number): string {
  const before = text.slice(0, offset).split("\n");
  return `line ${before.length}, column ${(before.at(-1)?.length ?? 0) + 1}`;
}

/**
 * Pure: config text → config or the full list of problems. JSON with comments and trailing commas
 * (JSONC, as in the README's examples) is accepted; syntax errors name line and column.
 */
export function parseConfigText(text: string): Result<Config, ConfigProblem[]> {
  const syntax: ParseError[] = [];
  const raw: unknown = parseJsonc(text, syntax, { allowTrailingComma: true, disallowComments: false });
  if (syntax.length > 0) {
    // "CloseBraceExpected" → "close brace expected"; one line per place.
    const words = (code: string): string => code.replace(/([a-z])([A-Z])/g, "$1 $2").toLowerCase();
    const messages = syntax.map((e) => `not valid JSON at ${lineColumn(text, e.offset)}: ${words(printParseErrorCode(e.error))}`);
    return err([...new Set(messages)].map((message) => ({ path: "$", message })));
  }
  const parsed = ConfigSchema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => ({ path: formatPath(i.path), message: humanMessage(i, raw) }));
    // zod checks cross-references only once everything else is valid: say them now too.
    for (const p of referenceProblems(raw)) if (!problems.some((q) => q.path === p.path)) problems.push(p);
    return err(problems);
  }
  return ok(parsed.data);
}

function valueAt(raw: unknown, path: readonly PropertyKey[]): unknown {
  let v: unknown = raw;
  for (const key of path) {
    if (v === null || typeof v !== "object") return undefined;
    v = (v as Record<PropertyKey, unknown>)[key];
  }
  return v;
}

/** zod's wording for a missing key ("expected string, received undefined") reads oddly to an admin. */
function humanMessage(issue: { code: string; message: string; path: readonly PropertyKey[] }, raw: unknown): string {
  const missing = valueAt(raw, issue.path) === undefined;
  if (missing && issue.code === "invalid_type") return `is required (${issue.message.replace(/^Invalid input: /, "").replace(/, received undefined$/, "")})`;
  if (missing && issue.code === "invalid_union") return "is required";
  return issue.message;
}

/** Routes naming rooms or feeds that are not configured, read from the raw document. */
export function referenceProblems(raw: unknown): ConfigProblem[] {
  return routeReferenceIssues(raw).map((i) => ({ path: formatPath(i.path), message: i.message }));
}

/** Secrets that cannot be resolved now (check-config warns; start refuses). */
export async function secretProblems(cfg: Config, env: NodeJS.ProcessEnv = process.env): Promise<ConfigProblem[]> {
  const problems: ConfigProblem[] = [];
  for (const { secret, path } of configSecrets(cfg)) {
    const r = await resolveSecret(secret, path, env);
    if (!r.ok) problems.push({ path: r.error.path, message: `${r.error.message} (start would refuse)` });
  }
  return problems;
}

/** Warnings that do not stop the bot but an admin should see (check-config prints them). */
/** A six-field cron (seconds first) that fires more than once a minute, said in words; else undefined. */
function pollsWithinAMinute(schedule: string): string | undefined {
  const fields = schedule.trim().split(/\s+/);
  if (fields.length !== 6) return undefined;
  const seconds = fields[0] ?? "";
  return /^\d+$/.test(seconds) ? undefined : `"${schedule}" runs ${seconds === "*" ? "every second" : "several times a minute"}`;
}

const isLoopback = (address: string): boolean => /^(?:localhost|127(?:\.\d{1,3}){3}|::1|\[::1\])$/i.test(address);

export function configWarnings(cfg: Config): ConfigProblem[] {
  const warnings: ConfigProblem[] = [];
  if ("value" in cfg.xmpp.password)
    warnings.push({ path: "$.xmpp.password", message: "inline password: use {\"env\": …} or {\"file\": …} outside demos" });
  cfg.feeds.forEach((f, i) => {
    // Loopback only: the host must END there ("http://localhost.example.com" is not local).
    if (/^http:/i.test(f.url) && !/^http:\/\/(?:localhost|127(?:\.\d{1,3}){3}|\[::1\])(?=[:/?#]|$)/i.test(f.url))
      warnings.push({ path: `$.feeds[${i}].url`, message: "plain http: feed content can be altered in transit" });
    if (/^file:/i.test(f.url)) warnings.push({ path: `$.feeds[${i}].url`, message: "file:// reads a file on this machine (meant for tests): use the feed's http(s) address" });
    const often = pollsWithinAMinute(f.schedule);
    if (often) warnings.push({ path: `$.feeds[${i}].schedule`, message: `${often}: a feed polled that often is hammered for little (every minute is plenty)` });
  });
  if (cfg.rt && pollsWithinAMinute(cfg.rt.schedule)) warnings.push({ path: "$.rt.schedule", message: `${pollsWithinAMinute(cfg.rt.schedule) ?? ""}: Request Tracker polled that often is loaded for little` });
  if (cfg.http && !isLoopback(cfg.http.address))
    warnings.push({ path: "$.http.address", message: `listens on ${cfg.http.address}: /health, /ready and /metrics answer anyone who can reach it without credentials; keep loopback and put a TLS proxy in front` });
  return warnings;
}

export async function loadConfig(file: string): Promise<Result<Config, ConfigProblem[]>> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (e) {
    return err([{ path: "$", message: `cannot read ${file}: ${(e as Error).message}` }]);
  }
  return parseConfigText(text);
}

