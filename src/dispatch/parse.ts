/**
 * Chat text → command invocation (pure, never throws).
 *
 * A message is a command when, after optional leading whitespace and leading quoted lines (the
 * "> …" fallback a client puts before a reply, XEP-0461/XEP-0393), it starts with:
 * - `/name`, `//name` or `!name`: the name right after the prefix (`! ack` is not a command). Many
 *   clients (Gajim, Poezio, Profanity) swallow an unknown `/word`, hence `//` and `!`. `/me …` is
 *   an action (XEP-0245), never a command. With these prefixes the name must look like a command
 *   name (`/usr/bin is full` is chat, not a command);
 * - the bot's nickname (case-insensitive) followed by `:` or `,`: `ttrelay: ack X`, `TTRelay, ack X`
 *   (an optional `/`, `//` or `!` after it is allowed: `ttrelay: !ack X`);
 * - in a direct message, anything: `ack X` (the prefixed forms work too).
 *
 * The name is lower-cased. `rest` is the text after the name, trimmed: free-text arguments take it
 * raw (see `skipArgs`/`freeText`). `argv` splits `rest` on whitespace; double quotes group (`"a b"`,
 * also the typographic “a b” and „a b“ that phone keyboards produce), `\"` and `\\` escape inside
 * quotes, a quote inside a word joins (`a"b c"` is `ab c`, as in a shell), an unterminated quote runs
 * to the end. Single quotes are ordinary characters (English text is full of apostrophes).
 *
 * Limits, checked only once the text is known to be a command (ordinary chat is never answered):
 * more than `MAX_COMMAND_BYTES` UTF-8 bytes, or a control character other than \n and \t (after
 * CRLF → LF, as XML parsers do anyway), a lone surrogate or U+FFFE/U+FFFF → a `ParseError`.
 */
import { err, ok, type Result } from "../util/result.js";

/** Largest command text, in UTF-8 bytes. */
export const MAX_COMMAND_BYTES = 4096;

/** Groupchat needs a prefix; a direct message (or MUC private message, ad-hoc) does not. */
export type ParseContext = "groupchat" | "direct";

/** How the command was addressed; `none`: a bare command in a direct message. */
export type CommandPrefix = "/" | "//" | "!" | "nick" | "none";

export type ParsedInvocation = {
  /** Lower-cased command name as typed ("" if the bot was addressed with nothing after it). */
  name: string;
  argv: string[];
  /** Raw text after the name, trimmed. */
  rest: string;
  prefix: CommandPrefix;
};

export type ParseError = {
  code: "too-long" | "control-characters";
  /** Polite, for the user. */
  human: string;
  prefix: CommandPrefix;
};

/** A command name: a letter, then letters, digits, "-" or "_"; at most 32 characters. */
const NAME = /^[A-Za-z][A-Za-z0-9_-]{0,31}$/u;

/** Whether `name` can be typed as a command name after `/`, `//` or `!`. */
export const isCommandName = (name: string): boolean => NAME.test(name);

const QUOTE_OPEN = new Set(['"', "“", "”", "„"]);
const QUOTE_CLOSE = new Set(['"', "”", "“"]);

/** `undefined`: not a command (say nothing). Otherwise the invocation or why it is refused. */
export function parseCommandText(text: string, botNick: string, context: ParseContext): Result<ParsedInvocation, ParseError> | undefined {
  const normalized = text.replace(/\r\n/gu, "\n");
  const body = skipQuotedLines(normalized).trimStart();
  const found = findCommand(body, botNick, context);
  if (found === undefined) return undefined;

  const bytes = Buffer.byteLength(text, "utf8");
  if (bytes > MAX_COMMAND_BYTES) {
    return err({
      code: "too-long",
      human: `Sorry, that is too long for a command (${bytes} bytes; the limit is ${MAX_COMMAND_BYTES}). Please shorten it.`,
      prefix: found.prefix,
    });
  }
  const bad = firstForbiddenChar(normalized);
  if (bad !== undefined) {
    return err({
      code: "control-characters",
      human: `Sorry, your command contains a control character (U+${bad.toString(16).toUpperCase().padStart(4, "0")}); please send plain text.`,
      prefix: found.prefix,
    });
  }
  const rest = found.after.trim();
  return ok({ name: found.name.toLowerCase(), argv: tokenize(rest).map((t) => t.value), rest, prefix: found.prefix });
}

/** Leading "> …" lines (and blank lines among them) quote another message: they are not the command. */
function skipQuotedLines(text: string): string {
  const lines = text.split("\n");
  let i = 0;
  let quoted = false;
  for (; i < lines.length; i++) {
    const line = (lines[i] ?? "").trimStart();
    if (line.startsWith(">")) quoted = true;
    else if (line !== "") break;
  }
  return quoted ? lines.slice(i).join("\n") : text;
}

type Found = { prefix: CommandPrefix; name: string; after: string };

function findCommand(body: string, botNick: string, context: ParseContext): Found | undefined {
  const nick = botNick.trim();
  if (nick !== "" && body.length > nick.length && body.slice(0, nick.length).toLowerCase() === nick.toLowerCase()) {
    const sep = body[nick.length];
    if (sep === ":" || sep === ",") {
      let after = body.slice(nick.length + 1).trimStart();
      const inner = symbolPrefix(after);
      if (inner !== undefined && NAME.test(firstWord(after.slice(inner.length)))) after = after.slice(inner.length);
      return loose("nick", after);
    }
  }
  const symbol = symbolPrefix(body);
  if (symbol !== undefined) {
    const after = body.slice(symbol.length);
    const name = firstWord(after);
    // `/me` is an action (XEP-0245). The name must follow the prefix directly.
    if (NAME.test(name) && !(symbol === "/" && name.toLowerCase() === "me")) return { prefix: symbol, name, after: after.slice(name.length) };
  }
  if (context === "direct" && body.trim() !== "") return loose("none", body);
  return undefined;
}

/** After the nick or in a direct message: the first word is the name; "help?" is "help". */
function loose(prefix: "nick" | "none", after: string): Found {
  const word = firstWord(after);
  const name = NAME.test(word) ? word : word.replace(/[?!.:,;]+$/u, "");
  return { prefix, name, after: after.slice(word.length) };
}

function symbolPrefix(s: string): "/" | "//" | "!" | undefined {
  if (s.startsWith("//")) return "//";
  if (s.startsWith("/")) return "/";
  if (s.startsWith("!")) return "!";
  return undefined;
}

function firstWord(s: string): string {
  return /^\S*/u.exec(s)?.[0] ?? "";
}

/** Code point of the first character a command may not contain, if any. */
function firstForbiddenChar(s: string): number | undefined {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x09 || c === 0x0a) continue;
    if (c < 0x20 || (c >= 0x7f && c <= 0x9f) || c === 0xfffe || c === 0xffff) return c;
    if (c >= 0xd800 && c <= 0xdbff) {
      const next = s.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        i++;
        continue;
      }
      return c;
    }
    if (c >= 0xdc00 && c <= 0xdfff) return c;
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Arguments
// ---------------------------------------------------------------------------------------------

export type Token = { value: string; start: number; end: number };

/** Splits on whitespace with double-quote grouping (see the module comment); positions index `s`. */
export function tokenize(s: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < s.length) {
    while (i < s.length && /\s/u.test(s[i] ?? "")) i++;
    if (i >= s.length) break;
    const start = i;
    let value = "";
    while (i < s.length && !/\s/u.test(s[i] ?? "")) {
      const c = s[i] ?? "";
      if (QUOTE_OPEN.has(c)) {
        i++;
        while (i < s.length && !QUOTE_CLOSE.has(s[i] ?? "")) {
          if (s[i] === "\\" && (s[i + 1] === '"' || s[i + 1] === "\\")) i++;
          value += s[i] ?? "";
          i++;
        }
        i++; // the closing quote (or past the end)
      } else {
        value += c;
        i++;
      }
    }
    tokens.push({ value, start, end: Math.min(i, s.length) });
  }
  return tokens;
}

/** The raw text of `rest` after its first `n` arguments, trimmed ("" if there is none). */
export function skipArgs(rest: string, n: number): string {
  if (n <= 0) return rest.trim();
  const tokens = tokenize(rest);
  const last = tokens[n - 1];
  return last === undefined ? "" : rest.slice(last.end).trim();
}

/** Free text after `n` arguments; a text that is one quoted string loses its quotes. */
export function freeText(rest: string, n: number): string {
  const text = skipArgs(rest, n);
  const tokens = tokenize(text);
  const only = tokens[0];
  if (tokens.length === 1 && only !== undefined && QUOTE_OPEN.has(text[0] ?? "") && QUOTE_CLOSE.has(text.at(-1) ?? "") && only.end === text.length) {
    return only.value;
  }
  return text;
}

/**
 * argv → `{ [names[i]]: argv[i] }`; arguments beyond `names` go to `extra`, which a
 * `z.strictObject` schema rejects (→ the usage line).
 */
export function positional(argv: readonly string[], names: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  names.forEach((name, i) => {
    const value = argv[i];
    if (value !== undefined) out[name] = value;
  });
  if (argv.length > names.length) out["extra"] = argv.slice(names.length);
  return out;
}
