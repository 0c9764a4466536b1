/**
 * A reading of XEP-0393 §6 span rules for tests, written from the spec: a span opens at the start
 * of a line, after whitespace or after another opening directive, when the next character is not
 * whitespace; it closes at the next same directive not preceded by whitespace, on the same line.
 * Used to check that text from outside never opens or closes styling.
 */
export type Span = { directive: string; start: number; end: number };

const DIRECTIVES = new Set(["*", "_", "~", "`"]);
const isSpace = (c: string | undefined): boolean => c !== undefined && /\s/u.test(c);

export function spansOf(line: string): Span[] {
  const out: Span[] = [];
  const chars = [...line];
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i] ?? "";
    if (!DIRECTIVES.has(c)) continue;
    const prev = chars[i - 1];
    const canOpen = (i === 0 || isSpace(prev) || (prev !== undefined && DIRECTIVES.has(prev) && prev !== c)) && chars[i + 1] !== undefined && !isSpace(chars[i + 1]);
    if (!canOpen) continue;
    for (let j = i + 2; j < chars.length; j++) {
      if (chars[j] === c && !isSpace(chars[j - 1])) {
        out.push({ directive: c, start: i, end: j });
        break;
      }
    }
  }
  return out;
}
