/**
 * Markdown (parsed by markdown-it) → XEP-0393 Message Styling text: *strong*, _emphasis_, ~strike~,
 * `pre`, ``` blocks, "> " quotes. Clients without styling still show readable plain text.
 */
import MarkdownIt from "markdown-it";

type Token = ReturnType<InstanceType<typeof MarkdownIt>["parse"]>[number];

const md = new MarkdownIt({ html: false, linkify: false, breaks: true, typographer: false }).enable("strikethrough");

/** Inline marks per XEP-0393 §5 (span directives). */
const SPAN: Record<string, string> = {
  strong_open: "*",
  strong_close: "*",
  em_open: "_",
  em_close: "_",
  s_open: "~",
  s_close: "~",
};

function renderInline(tokens: readonly Token[]): string {
  let out = "";
  let href: string | undefined;
  let linkText = "";
  for (const t of tokens) {
    const mark = SPAN[t.type];
    let piece = "";
    if (mark !== undefined) piece = mark;
    else if (t.type === "text") piece = t.content;
    else if (t.type === "code_inline") piece = "`" + t.content + "`";
    else if (t.type === "softbreak" || t.type === "hardbreak") piece = "\n";
    else if (t.type === "image") piece = t.content;
    else if (t.type === "link_open") {
      const target = t.attrGet("href");
      href = target === null ? undefined : String(target);
      linkText = "";
      continue;
    } else if (t.type === "link_close") {
      // XEP-0393 has no links: show the URL itself (clients linkify it) unless the text already is it.
      if (href !== undefined && linkText.trim() !== href) out += ` <${href}>`;
      href = undefined;
      continue;
    }
    if (href !== undefined) linkText += piece;
    out += piece;
  }
  return out;
}

/** Renders block tokens; lists become "• " lines, quotes are prefixed per line (XEP-0393 §5.1.2). */
export function markdownToStyled(markdown: string): string {
  const tokens = md.parse(markdown, {});
  const blocks: string[] = [];
  let quoteDepth = 0;
  let listDepth = 0;
  const push = (text: string): void => {
    const indent = listDepth > 1 ? "  ".repeat(listDepth - 1) : "";
    const prefix = "> ".repeat(quoteDepth);
    blocks.push(
      text
        .split("\n")
        .map((line) => (prefix + indent + line).trimEnd())
        .join("\n"),
    );
  };
  let pendingBullet = "";
  for (const t of tokens) {
    switch (t.type) {
      case "blockquote_open":
        quoteDepth++;
        break;
      case "blockquote_close":
        quoteDepth--;
        break;
      case "bullet_list_open":
      case "ordered_list_open":
        listDepth++;
        break;
      case "bullet_list_close":
      case "ordered_list_close":
        listDepth--;
        break;
      case "list_item_open":
        pendingBullet = t.info ? `${t.info}. ` : "• ";
        break;
      case "inline": {
        const text = renderInline(t.children ?? []);
        push(pendingBullet + text);
        pendingBullet = "";
        break;
      }
      case "fence":
      case "code_block":
        push("```\n" + t.content.replace(/\n$/, "") + "\n```");
        break;
      case "hr":
        push("―――");
        break;
      default:
        break;
    }
  }
  return blocks.join("\n");
}

/** The ASCII characters `escapeMarkdown` escapes (CommonMark §2.4 punctuation, and "="). */
const MARKDOWN_SPECIALS = "\\`*_{}[]()#+-.!|<>~&=";
/** The same characters, by code, for `escapeMarkdown`'s scan. */
const MARKDOWN_SPECIAL = new Uint8Array(128);
for (const c of MARKDOWN_SPECIALS) MARKDOWN_SPECIAL[c.charCodeAt(0)] = 1;
/** Escaped characters (see `escapeMarkdown`), for reading an escaped text back. */
const ESCAPED = new RegExp(`\\\\([${MARKDOWN_SPECIALS.replace(/[\\\][^-]/g, "\\$&")}])`, "g");

/**
 * What markdown-it shows of `markdown` placed in a line among other text, when that does not
 * depend on what is around it (undefined otherwise): an escaped text shows as itself, a bold
 * escaped text or another one-paragraph inline as it would alone. Used to render a template's
 * structure once for many tickets (src/render/ticket-message.ts `renderTemplate`).
 */
export function inlineAlone(markdown: string): string | undefined {
  // markdown-it strips whitespace at line ends and turns NUL and CR; " / " is dropped by fillTemplate.
  if (markdown === "" || /^\s|\s$|[\0\r\n\uE000\uE001]/.test(markdown) || markdown.includes(" / ")) return undefined;
  const literal = markdown.replace(ESCAPED, "$1");
  if (escapeMarkdown(literal) === markdown) return literal;
  // An autolink of plain ASCII (markdown-it's normalizeLink and normalizeLinkText leave it as it
  // is): shown as the URL itself (see renderInline).
  if (/^<https?:\/\/[A-Za-z0-9\-._~:/?#@!$&'()*+,;=]+>$/.test(markdown)) return markdown.slice(1, -1);
  const bold = /^\*\*(.+)\*\*$/s.exec(markdown)?.[1];
  if (bold !== undefined && !/^\s|\s$/.test(bold)) {
    const inner = bold.replace(ESCAPED, "$1");
    if (escapeMarkdown(inner) === bold) return `*${inner}*`;
  }
  const tokens = md.parse(markdown, {});
  const inline = tokens[1];
  if (tokens.length !== 3 || tokens[0]?.type !== "paragraph_open" || inline?.type !== "inline" || tokens[2]?.type !== "paragraph_close") return undefined;
  const children = inline.children ?? [];
  if (children.some((t) => t.type === "softbreak" || t.type === "hardbreak")) return undefined;
  return renderInline(children);
}

/**
 * Escapes text so markdown-it reads it literally (CommonMark §2.4 backslash escapes). "=" too: a
 * line of "=" under text (a common underline in NOC mails) would otherwise make a setext heading
 * and be swallowed.
 */
export function escapeMarkdown(text: string): string {
  // A scan with a table instead of a replace with a function per match: ≈3× faster on ticket
  // values (dates and circuit ids are full of "-" and "."), and every value shown goes through it.
  let out = "";
  let from = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 128 && MARKDOWN_SPECIAL[c] === 1) {
      out += text.slice(from, i) + "\\";
      from = i;
    }
  }
  return out === "" ? text : out + text.slice(from);
}


const WORD_JOINER = "\u2060";
const SPAN_DIRECTIVES = new Set(["*", "_", "~", "`"]);
const isBlank = (c: string | undefined): boolean => c === undefined || /\s/u.test(c);

/**
 * Styled text (XEP-0393) as plain text, for places that show text as is (ad-hoc command notes,
 * XEP-0050 §3.4): the directives of *strong*, _emphasis_ and ~strike~ spans are dropped, following
 * §6: a span opens at the start of a line, after whitespace or after another opening directive,
 * before a non-space character, and closes at the next same directive on that line that follows a
 * non-space character. Text in `code` spans and ``` blocks is kept as it is, and so are directives
 * that open no span (an outside `*`, behind a word joiner: the joiners go too, as nothing is styled).
 */
export function unstyle(styled: string): string {
  let inBlock = false;
  return styled
    .split("\n")
    .map((line) => {
      // §5.1.3: a block opens at a line starting with ``` and closes at a line of only ```.
      if (inBlock) {
        if (line.trimEnd() === "```") inBlock = false;
        return line;
      }
      if (line.startsWith("```")) {
        inBlock = true;
        return line;
      }
      return unstyleLine(line).replaceAll(WORD_JOINER, "");
    })
    .join("\n");
}

function unstyleLine(line: string): string {
  const chars = [...line];
  const drop = new Set<number>();
  const opened = new Set<number>();
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i] ?? "";
    if (!SPAN_DIRECTIVES.has(c)) continue;
    const prev = chars[i - 1];
    const opens = (i === 0 || isBlank(prev) || (prev !== undefined && SPAN_DIRECTIVES.has(prev) && opened.has(i - 1))) && !isBlank(chars[i + 1]);
    if (!opens) continue;
    let close = -1;
    for (let j = i + 2; j < chars.length; j++) {
      if (chars[j] === c && !isBlank(chars[j - 1])) {
        close = j;
        break;
      }
    }
    if (close < 0) continue;
    if (c === "`") {
      i = close; // preformatted span: nothing inside is styled
      continue;
    }
    opened.add(i);
    drop.add(i).add(close);
  }
  return chars.filter((_, i) => !drop.has(i)).join("");
}
