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

/** RE2's anchoring flags (re2js RE2Flags, not exported by name). */
const UNANCHORED = 0;
const ANCHOR_START = 1;
/** Candidates tried anchored per call before one search of the rest (see `search`). */
const ANCHORED_TRIES = 8;
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
  const re2 = compiled.re2();
  const ngroup = 1 + compiled.groupCount();
  const names = Object.entries(compiled.namedGroups());
  /** RE2's positions (pairs, -1 for a group that took no part) in `text` from `offset` → a match. */
  const toMatch = (text: string, at: readonly number[], offset: number): SafeMatch => {
    const groups: (string | undefined)[] = [];
    for (let i = 0; i < ngroup; i++) {
      const s = at[2 * i] ?? -1;
      groups.push(s < 0 ? undefined : text.slice(offset + s, offset + (at[2 * i + 1] ?? s)));
    }
    const named: Record<string, string | undefined> = {};
    for (const [name, index] of names) named[name] = groups[index];
    return { groups, named, index: offset + (at[0] ?? 0) };
  };
  const cap = (s: string): string => (s.length > MAX_RULE_INPUT ? s.slice(0, MAX_RULE_INPUT) : s);
  const prefix = literalPrefix(source, flags);
  const labelLine = prefix ? labelLineMatcher(source, flags) : undefined;
  // A one-character literal ("\n" of `\n\s*\n(…)`) is a candidate at every line: one search
  // from the first is cheaper than trying the next few anchored (≈3 µs against ≈6 µs a text).
  const anchoredTries = prefix && prefix.literal.length > 1 ? ANCHORED_TRIES : 0;
  /**
   * The leftmost match starting at or after `from`, in one pass that also finds the groups (the
   * Matcher API finds the match, then runs again for its groups). With a literal prefix, no match
   * starts anywhere but at a candidate (see `literalPrefix`): the first few candidates are tried
   * anchored, on the text from there (cheap: RE2 stops where the pattern fails instead of
   * searching on), then the rest of the text is searched once, so a text full of candidates that
   * each fail late stays linear. The text from a candidate reads the same to the pattern: it
   * starts with the prefix's literal, so nothing in it looks at the character before.
   */
  const search = (text: string, from: number, budget: { anchored: number }): SafeMatch | undefined => {
    let at = from;
    if (prefix && labelLine) {
      // Every candidate is checked directly (see `labelLineMatcher`), so no search is needed.
      const memo: LineMemo = { from: -1, end: -1 };
      for (;;) {
        at = firstCandidate(text, prefix, at);
        if (at < 0) return undefined;
        const m = labelLine(text, at, memo);
        if (m) return m;
        at += 1;
        if (at > text.length) return undefined;
      }
    }
    if (prefix) {
      for (;;) {
        at = firstCandidate(text, prefix, at);
        if (at < 0) return undefined;
        if (budget.anchored <= 0) break;
        budget.anchored--;
        const rest = text.slice(at);
        const [found, pos] = re2.matchWithGroup(rest, 0, rest.length, ANCHOR_START, ngroup) as [boolean, number[] | null];
        if (found && pos) return toMatch(text, pos, at);
        at += 1;
        if (at > text.length) return undefined;
      }
    }
    const [found, pos] = re2.matchWithGroup(text, at, text.length, UNANCHORED, ngroup) as [boolean, number[] | null];
    return found && pos ? toMatch(text, pos, 0) : undefined;
  };
  const regex: SafeRegex = {
    source,
    flags,
    exec(input) {
      return search(cap(input), 0, { anchored: anchoredTries });
    },
    all(input) {
      const text = cap(input);
      const budget = { anchored: anchoredTries };
      const out: SafeMatch[] = [];
      for (let from = 0; from <= text.length; ) {
        const m = search(text, from, budget);
        if (!m) break;
        out.push(m);
        const end = m.index + (m.groups[0]?.length ?? 0);
        // An empty match moves on by one character (a whole surrogate pair), as RE2's Matcher does.
        from = end > m.index ? end : end + ((text.codePointAt(end) ?? 0) > 0xffff ? 2 : 1);
      }
      return out;
    },
    test(input) {
      return search(cap(input), 0, { anchored: anchoredTries }) !== undefined;
    },
  };
  if (cache.size >= MAX_CACHE) cache.clear();
  cache.set(cacheKey, regex);
  return ok(regex);
}

/**
 * What every match of a pattern must start with, read from its source, so that text without it is
 * never handed to RE2 (which is linear but, in pure JS, slow: ~0.1 ms per rule and item before).
 * `line`: `^LIT` with the m flag, a match starts at a line start followed by LIT; `text`: `^LIT`
 * without m, only at 0; `none`: `LIT…`, at an occurrence of LIT. Conservative: only ASCII literal
 * characters count, a quantified last one is dropped, and a pattern with `|` anywhere gets none.
 */
export type LiteralPrefix = { anchor: "line" | "text" | "none"; literal: string; ignoreCase: boolean };

const PLAIN = /[A-Za-z0-9 :;,\-_=@#%&/!~<>'"`]/;
const ESCAPED_PUNCTUATION = /[.[\](){}*+?|^$\\/\-:#&~<>=!,'"@%;`_]/;
const ESCAPED_CONTROL: Record<string, string> = { n: "\n", t: "\t", r: "\r" };

export function literalPrefix(source: string, flags: string): LiteralPrefix | undefined {
  return scanLiteralPrefix(source, flags)?.prefix;
}

/** `literalPrefix`, and where in the source the literal ends. */
function scanLiteralPrefix(source: string, flags: string): { prefix: LiteralPrefix; end: number } | undefined {
  if (source.includes("|")) return undefined;
  let pos = 0;
  let anchor: LiteralPrefix["anchor"] = "none";
  if (source[0] === "^") {
    anchor = flags.includes("m") ? "line" : "text";
    pos = 1;
  }
  let literal = "";
  for (;;) {
    const c = source[pos];
    if (c === undefined) break;
    if (PLAIN.test(c)) {
      literal += c;
      pos += 1;
      continue;
    }
    const d = source[pos + 1];
    if (c === "\\" && d !== undefined && (ESCAPED_PUNCTUATION.test(d) || Object.hasOwn(ESCAPED_CONTROL, d))) {
      literal += ESCAPED_CONTROL[d] ?? d;
      pos += 2;
      continue;
    }
    break;
  }
  // `abc?`, `abc*`, `abc{0,2}`: the last character may be absent.
  const next = source[pos];
  if (next === "?" || next === "*" || next === "{") literal = literal.slice(0, -1);
  if (literal === "") return undefined;
  return { prefix: { anchor, literal, ignoreCase: flags.includes("i") }, end: pos };
}

/** The tail of a label-line rule (`^Status:\s*(.+)$`), the commonest shape in feed and mail mappings. */
const LABEL_LINE_TAIL = "\\s*(.+)$";

/** RE2's `\s`: [\t\n\f\r ] (Perl's class; no \v, no Unicode spaces). */
const isRe2Space = (c: number): boolean => c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0c || c === 0x0d;

/**
 * For a pattern that is a literal followed by `\s*(.+)$` and nothing else: the match RE2 would
 * find starting at a candidate (a position where the literal is), worked out directly: the
 * greedy `\s*` gives back one character at a time until `(.+)$` fits, which is the first such
 * position from the end of the white space where a line (or, with `s`, the text) goes on. RE2 in
 * pure JS cost ≈3 µs per rule and item; this is a scan of the line. The answer is the same (a
 * test compares the two on random texts), and the work stays linear: the end of the line is
 * looked up once per candidate and white space that no candidate shares.
 */
type LineMemo = { from: number; end: number };

function labelLineMatcher(source: string, flags: string): ((text: string, at: number, memo: LineMemo) => SafeMatch | undefined) | undefined {
  if (!source.endsWith(LABEL_LINE_TAIL)) return undefined;
  const head = source.slice(0, -LABEL_LINE_TAIL.length);
  const scanned = scanLiteralPrefix(head, flags);
  if (!scanned || scanned.end !== head.length) return undefined;
  const { literal } = scanned.prefix;
  // A literal of white space only would let candidates share their white space (quadratic).
  if ([...literal].every((c) => isRe2Space(c.charCodeAt(0)))) return undefined;
  const multiline = flags.includes("m");
  const dotAll = flags.includes("s");
  return (text, at, memo) => {
    const len = text.length;
    const p = at + literal.length;
    let q = p;
    while (q < len && isRe2Space(text.charCodeAt(q))) q++;
    // The end of the dot run from a position: the next \n (none stops it with `s`). Candidates
    // come in order, so one on the same line as the last reuses its end (no \n in between).
    let lineEnd: number;
    if (dotAll) lineEnd = len;
    else if (memo.from <= q && q <= memo.end) lineEnd = memo.end;
    else {
      lineEnd = text.indexOf("\n", q);
      if (lineEnd < 0) lineEnd = len;
      memo.from = q;
      memo.end = lineEnd;
    }
    for (let k = q; k >= p; k--) {
      if (!dotAll && text.charCodeAt(k) === 0x0a) {
        lineEnd = k;
        continue;
      }
      if (k >= len || lineEnd <= k) continue;
      // `$`: with m at a \n or the end (always so at a dot run's end), without m only at the end.
      if (multiline || lineEnd === len) return { groups: [text.slice(at, lineEnd), text.slice(k, lineEnd)], named: {}, index: at };
    }
    return undefined;
  };
}

/** RE2's case folding of ASCII letters also reaches the Kelvin sign (for k) and the long s (for s). */
function sameLetter(a: string, lit: string): boolean {
  if (a === lit) return true;
  if (a.charCodeAt(0) < 128) return a.toLowerCase() === lit.toLowerCase();
  const l = lit.toLowerCase();
  return (l === "k" && a === "\u212A") || (l === "s" && a === "\u017F");
}

function literalAt(text: string, at: number, p: LiteralPrefix): boolean {
  if (!p.ignoreCase) return text.startsWith(p.literal, at);
  const lit = p.literal;
  if (at + lit.length > text.length) return false;
  for (let i = 0; i < lit.length; i++) {
    const a = text.charCodeAt(at + i);
    const l = lit.charCodeAt(i);
    if (a === l) continue;
    if (a < 128 && l < 128) {
      // Two ASCII characters: the same letter in another case, or different (sameLetter, by codes: it runs per line per rule).
      const lower = a | 0x20;
      if (lower !== (l | 0x20) || lower < 0x61 || lower > 0x7a) return false;
    } else if (!sameLetter(text[at + i] as string, lit[i] as string)) return false;
  }
  return true;
}

/** The first position a match could start at, or -1 when the text has none (see `LiteralPrefix`). */
export function firstCandidate(text: string, p: LiteralPrefix, from = 0): number {
  switch (p.anchor) {
    case "text":
      return from === 0 && literalAt(text, 0, p) ? 0 : -1;
    case "line": {
      // RE2's multi-line `^`: at the start of the text and after every "\n" (not after "\r" alone).
      let at = from === 0 ? 0 : text.indexOf("\n", from - 1) + 1 || -1;
      for (; at >= 0 && at <= text.length; at = text.indexOf("\n", at) + 1 || -1) if (literalAt(text, at, p)) return at;
      return -1;
    }
    case "none": {
      if (!p.ignoreCase) return text.indexOf(p.literal, from);
      for (let at = from; at + p.literal.length <= text.length; at++) if (literalAt(text, at, p)) return at;
      return -1;
    }
  }
}

/** For schema refinements: undefined when the pattern is fine, else why not. */
export function regexProblem(source: string, flags = ""): string | undefined {
  const r = compileSafe(source, flags);
  return r.ok ? undefined : r.error;
}
