/**
 * Text from outside (feed titles, descriptions, peers' fields, History) made safe to show inside
 * a message the bot styles (pure). Issues 9.5 and 11.8:
 * - one line per field: line breaks (CR, LF, NEL, U+2028, U+2029) and other control characters
 *   become spaces, so a title cannot print a line that looks like another ticket's header;
 * - bidirectional overrides and isolates (U+202A–U+202E, U+2066–U+2069) are removed, so text
 *   cannot reorder what is shown around it;
 * - capped in length, with "…";
 * - XEP-0393 directives neutralised (§6: a span opens only at the start of a line, after
 *   whitespace or after another opening directive; a block quote or preformatted block only at
 *   the start of a line). A WORD JOINER (U+2060, invisible, not whitespace) is put before every
 *   `*` `_` `~` `` ` `` that stands where a span could open and before a `>` that starts the text,
 *   so the directive can neither open a span nor start a block. It could still CLOSE a span
 *   opened before it on the same line; the renderers therefore never put outside text inside a
 *   span of their own (titles are plain, an id with a `*` is not made bold).
 *
 * Why not `<unstyled xmlns="urn:xmpp:styling:0"/>` (XEP-0393 §5.1 "Disabling Styling"): it turns
 * styling off for the whole message, also for the bot's own (the ticket id in bold), and clients
 * that ignore the hint still style; the word joiner works in every client and leaves the text as
 * it reads (copying it copies an invisible character, which is harmless).
 */

import { escapeMarkdown } from "./xep0393.js";

const LINE_BREAKS = /\r\n|[\r\n\u0085\u2028\u2029]/g;
// C0 and C1 controls except tab (turned into a space below) and the line breaks handled above.
// eslint-disable-next-line no-control-regex
const CONTROLS = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u0084\u0086-\u009F]/g;
const BIDI = /[\u202A-\u202E\u2066-\u2069]/g;
const WORD_JOINER = "\u2060";
const SPAN_DIRECTIVE = /[*_~`]/;

/** Longest one-line field shown (a title, a service name); the rest is cut with "…". */
export const MAX_FIELD_CHARS = 200;

/**
 * Any character one of the replacements below could change (controls, line breaks, bidi): most
 * outside text has none, and one test is cheaper than the replacements, which every value shown
 * in every message went through (one line of a plain value ≈310 → ≈85 ns, warm).
 */
// eslint-disable-next-line no-control-regex
const MAY_CHANGE = /[\u0000-\u001F\u007F-\u009F\u2028\u2029\u202A-\u202E\u2066-\u2069]/;
/** …and for one line, also white space other than single spaces. */
const MAY_CHANGE_LINE = new RegExp(`${MAY_CHANGE.source}|[^\\S ]| {2}`);

/** Removes bidi overrides and control characters; keeps line breaks (for quoted free text). */
export function stripControls(text: string): string {
  if (!MAY_CHANGE.test(text)) return text;
  return text.replace(BIDI, "").replace(/\t/g, " ").replace(CONTROLS, "");
}

/** One line: breaks and controls become single spaces, bidi overrides go, capped at `max`. */
export function oneLineOf(text: string, max = MAX_FIELD_CHARS): string {
  const flat = MAY_CHANGE_LINE.test(text) ? stripControls(text.replace(LINE_BREAKS, " ")).replace(/\s+/g, " ").trim() : text.trim();
  if (flat.length <= max) return flat;
  return [...flat].slice(0, Math.max(0, max - 1)).join("").trimEnd() + "…";
}

/**
 * Puts a word joiner where a XEP-0393 directive in `text` could open a span or a block. `text` is
 * taken to start where a span could open (the start of a line or after a space), as it does
 * wherever the renderers place outside text.
 */
export function neutraliseStyling(text: string): string {
  // Without a span directive, only a ">" at the start needs a joiner (a plain value ≈560 → ≈85 ns).
  if (!SPAN_DIRECTIVE.test(text) && !text.startsWith(">")) return text;
  return text.replace(/(^|[\s*_~`])(?=[*_~`])|^(?=>)/gu, `$1${WORD_JOINER}`).replace(/([*_~`])(?=[*_~`])/g, `$1${WORD_JOINER}`);
}

/** An outside field ready for a plain-text line: one line, capped, directives neutralised. */
export function outsideLine(text: string, max = MAX_FIELD_CHARS): string {
  return neutraliseStyling(oneLineOf(text, max));
}

/** Each line of a multi-line outside text neutralised (it is then quoted line by line). */
export function outsideLines(text: string): string[] {
  return stripControls(text.replace(/\r\n?/g, "\n").replace(/[\u0085\u2028\u2029]/g, "\n"))
    .split("\n")
    .map((line) => neutraliseStyling(line.trimEnd()));
}

/**
 * For markdown templates (markdown-it, then XEP-0393): an outside field as one neutralised line,
 * escaped so markdown-it reads it literally. Use it for every value from outside in a room
 * message (peer notices, incident lines, summaries), not only the ticket card.
 */
export function escapeOutside(text: string, max = MAX_FIELD_CHARS): string {
  return escapeMarkdown(outsideLine(text, max));
}
