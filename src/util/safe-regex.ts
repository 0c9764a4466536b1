/**
 * Regular expressions written in config and run on text from outside (feeds, mails, webhooks) go
 * through RE2 (the `re2js` package: RE2 semantics in pure JS), which matches in time linear in the
 * input. JavaScript's own engine backtracks: `^Window:\s*(.+?)\s+to\s+` took 58 s on "Window:" and
 * 8000 spaces, and stopped the whole bot meanwhile (issue 9.2). RE2 cannot run back-references or
 * look-around, so those are refused when the config is loaded, with a message saying so.
 */
import { RE2JS } from "re2js";
import { ok, err, type Result } from "./result.js";

/** The flags a rule may carry (JavaScript spelling): i, m, s; u is accepted and means nothing more in RE2. */
export const RuleFlags = /^[imsu]*$/;

/** Longest text one rule is run on; longer text is cut first (RE2 is linear, but not free). */
export const MAX_RULE_INPUT = 100_000;

export type SafeMatch = { readonly groups: readonly (string | undefined)[]; readonly named: Readonly<Record<string, string | undefined>>; readonly index: number };

export interface SafeRegex {
  readonly source: string;
  readonly flags: string;
  /** The first match, or undefined. */
  exec(input: string): SafeMatch | undefined;
  /** Every match, left to right (empty matches advance by one character). */
  all(input: string): SafeMatch[];
  test(input: string): boolean;
}

const cache = new Map<string, SafeRegex>();
const MAX_CACHE = 2000;

function flagBits(flags: string): number {
  let bits = 0;
  if (flags.includes("i")) bits |= RE2JS.CASE_INSENSITIVE;
  if (flags.includes("m")) bits |= RE2JS.MULTILINE;
  if (flags.includes("s")) bits |= RE2JS.DOTALL;
  return bits;
}

/**
 * JavaScript escapes RE2 spells differently: `\uXXXX` and `\u{X…}` become `\x{…}`. Escaped
 * backslashes are skipped over so that `\\u0041` stays a backslash followed by "u0041".
 */
export function toRe2Syntax(source: string): string {
  return source.replace(/\\\\|\\u\{([0-9A-Fa-f]{1,6})\}|\\u([0-9A-Fa-f]{4})/g, (whole, braced?: string, four?: string) =>
    whole === "\\\\" ? whole : `\\x{${braced ?? four ?? ""}}`,
  );
}

/** Why RE2 refuses a pattern, in words an admin can act on. */
function describeRefusal(source: string, message: string): string {
  if (/\\[1-9]/.test(source) || /\\k</.test(source)) return "back-references (\\1, \\k<name>) cannot run in linear time and are not supported";
  if (/\(\?<?[=!]/.test(source)) return "look-ahead and look-behind ((?=…), (?!…), (?<=…), (?<!…)) cannot run in linear time and are not supported";
  const detail = message.replace(/^error parsing regexp:\s*/, "");
  return `is not a regular expression RE2 can run (${detail})`;
}

/** Compiles (and caches) a pattern; the error says what to change. */
export function compileSafe(source: string, flags = ""): Result<SafeRegex, string> {
  const cacheKey = `${flags}/${source}`;
  const cached = cache.get(cacheKey);
  if (cached) return ok(cached);
  if (!RuleFlags.test(flags)) return err(`flags "${flags}" may only contain i, m, s, u`);
  let compiled: RE2JS;
  try {
    compiled = RE2JS.compile(toRe2Syntax(source), flagBits(flags));
  } catch (e) {
    return err(describeRefusal(source, e instanceof Error ? e.message : String(e)));
  }
  const toMatch = (m: RegExpExecArray): SafeMatch => ({
    groups: Array.from({ length: m.length }, (_, i) => m[i]),
    named: { ...(m.groups ?? {}) },
    index: m.index,
  });
  const cap = (s: string): string => (s.length > MAX_RULE_INPUT ? s.slice(0, MAX_RULE_INPUT) : s);
  const regex: SafeRegex = {
    source,
    flags,
    exec(input) {
      const m = compiled.exec(cap(input));
      return m === null ? undefined : toMatch(m as RegExpExecArray);
    },
    all(input) {
      return [...compiled.matchAll(cap(input))].map((m) => toMatch(m as RegExpExecArray));
    },
    test(input) {
      return compiled.test(cap(input));
    },
  };
  if (cache.size >= MAX_CACHE) cache.clear();
  cache.set(cacheKey, regex);
  return ok(regex);
}

/** For schema refinements: undefined when the pattern is fine, else why not. */
export function regexProblem(source: string, flags = ""): string | undefined {
  const r = compileSafe(source, flags);
  return r.ok ? undefined : r.error;
}
