/**
 * The tree xml2js makes of a document with its default options (what rss-parser reads, and the
 * item paths of ./parse.ts), built from the events of saxes, which reads XML about four times as
 * fast as sax, the tokenizer under xml2js: a 50k-item first poll spent ≈1.5 s of its threads' time
 * in sax and xml2js. The building is xml2js' own (lib/parser.js, `onopentag` / `onclosetag` /
 * `ontext` / `oncdata`) for those options, step by step: same keys, in the same order, on objects
 * without a prototype, the same lists, strings and white space.
 *
 * Only where the two readers are known to read alike. Undefined (then xml2js reads the document,
 * and says what is wrong with it) when saxes finds anything wrong at all, and where saxes reads
 * what sax would read otherwise:
 * - a carriage return anywhere (XML turns line ends into "\n", saxes does, sax does not);
 * - a tab or line feed inside an attribute value (saxes turns each into a space, sax keeps it);
 * - a DOCTYPE (sax skips its declarations), an XML declaration of another version than 1.0;
 * - an attribute named `__proto__` (sax drops it) or `hasOwnProperty` (sax then fails at the next
 *   attribute), an element named `_`, `$` or `cdata` (xml2js keeps its text and attributes under
 *   those keys);
 * - a name with a character beyond U+FFFF (sax reads names a UTF-16 unit at a time and refuses it;
 *   XML and saxes allow it);
 * - a token longer than sax's buffer (it may refuse it, depending on where its writes end);
 * - nothing but white space (xml2js gives null).
 */
import { SaxesParser, type SaxesTagPlain } from "saxes";

/** An element as xml2js builds it: `_` its text, `$` its attributes, then its children by name. */
type XmlObject = Record<string, unknown>;

/** sax's MAX_BUFFER_LENGTH is 64 KiB: a comment, tag or attribute this long is left to xml2js. */
const MAX_TOKEN_CHARS = 60_000;

/** `/^\s*$/` is xml2js' own test of an element's text (JavaScript's white space, not XML's). */
const BLANK = /^\s*$/;

/** Elements whose names are xml2js' own keys: their children would land on the element's text or attributes. */
const RESERVED_NAMES: ReadonlySet<string> = new Set(["_", "$", "cdata"]);
/** Attributes sax cannot keep: it stores them on a plain object, and calls that object's `hasOwnProperty`. */
const UNSAFE_ATTRIBUTES: ReadonlySet<string> = new Set(["__proto__", "hasOwnProperty"]);
/** A UTF-16 surrogate: a name holding one has a character beyond U+FFFF. */
const SURROGATE = /[\uD800-\uDFFF]/;

/** Thrown inside the event handlers to stop reading (caught by `write` and `end`). */
class NotAlike extends Error {}

const newObject = (): XmlObject => Object.create(null) as XmlObject;

/** Does the tag `xml.slice(from, to)` hold a tab or a line feed inside a quoted attribute value? */
function whiteInValue(xml: string, from: number, to: number): boolean {
  let quote = 0;
  for (let i = from; i < to; i++) {
    const c = xml.charCodeAt(i);
    if (quote !== 0) {
      if (c === quote) quote = 0;
      else if (c === 0x09 || c === 0x0a) return true;
    } else if (c === 0x22 || c === 0x27) quote = c;
  }
  return false;
}

/** xml2js' `assignOrPush` with `explicitArray`; true when `key` is new to `obj`. */
function assignOrPush(obj: XmlObject, key: string, value: unknown): boolean {
  if (!(key in obj)) {
    obj[key] = [value];
    return true;
  }
  const current = obj[key];
  if (Array.isArray(current)) current.push(value);
  else obj[key] = [current, value];
  return false;
}

/**
 * A reader of one document, written in as many pieces as the caller likes (`write`), then `end()`:
 * the tree, or undefined where the two readers may differ (see above).
 */
class TreeBuilder {
  readonly #parser = new SaxesParser<{ xmlns: false; position: true }>({ xmlns: false, position: true });
  readonly #stack: XmlObject[] = [];
  readonly #names: string[] = [];
  /** Per open element, its keys besides `_` (`$`, and one per child name): xml2js counts them with Object.keys. */
  readonly #otherKeys: number[] = [];
  #result: XmlObject | undefined;

  constructor(private readonly xml: string) {
    // Four handlers only: each one set adds a property to the parser, and with a few more it
    // turned into a slow dictionary object (saxes read ≈6 times slower). With no error handler,
    // saxes throws at the first error (caught by `write` and `end`).
    const p = this.#parser;
    p.on("opentag", (tag) => this.#open(tag));
    p.on("closetag", () => this.#close());
    p.on("text", (text) => this.#text(text));
    p.on("cdata", (text) => {
      // sax says nothing of an empty CDATA section, so xml2js does not mark the element.
      if (text === "") return;
      const s = this.#text(text);
      if (s) s.cdata = true;
    });
  }

  #open(tag: SaxesTagPlain): void {
    const { name, attributes } = tag;
    if (RESERVED_NAMES.has(name) || name.length > MAX_TOKEN_CHARS || SURROGATE.test(name)) throw new NotAlike();
    // The declaration comes before the root (saxes forgets it at the end). XML 1.1 reads other line ends.
    if (this.#stack.length === 0) {
      const { version } = this.#parser.xmlDecl;
      if (version !== undefined && version !== "1.0") throw new NotAlike();
    }
    const obj = newObject();
    obj._ = "";
    let spaced = false;
    for (const key in attributes) {
      const value = attributes[key] as string;
      if (UNSAFE_ATTRIBUTES.has(key) || key.length > MAX_TOKEN_CHARS || value.length > MAX_TOKEN_CHARS || SURROGATE.test(key)) throw new NotAlike();
      spaced ||= value.includes(" ");
      let attrs = obj.$ as XmlObject | undefined;
      if (attrs === undefined) obj.$ = attrs = newObject();
      attrs[key] = value;
    }
    // A space in a value may have been a tab or a line feed: the tag as written tells. Nothing of
    // a tag is "<" (saxes refuses it in a value), so the tag starts at the last "<" before its end.
    if (spaced) {
      const end = this.#parser.position;
      if (whiteInValue(this.xml, this.xml.lastIndexOf("<", end - 1), end)) throw new NotAlike();
    }
    this.#stack.push(obj);
    this.#names.push(name);
    this.#otherKeys.push(obj.$ === undefined ? 0 : 1);
  }

  #close(): void {
    const obj = this.#stack.pop();
    const nodeName = this.#names.pop();
    const otherKeys = this.#otherKeys.pop();
    if (obj === undefined || nodeName === undefined || otherKeys === undefined) throw new NotAlike();
    let cdata = false;
    if (obj.cdata === true) {
      cdata = true;
      delete obj.cdata;
    }
    const s = this.#stack[this.#stack.length - 1];
    const text = obj._;
    if (typeof text !== "string") throw new NotAlike();
    let value: unknown = obj;
    let emptyStr: string | undefined;
    if (BLANK.test(text) && !cdata) {
      emptyStr = text;
      delete obj._;
    } else if (otherKeys === 0) value = text;
    // xml2js' `isEmpty` with `emptyTag: ''`: an element with nothing in it is the white space it held.
    if (value === obj && emptyStr !== undefined && otherKeys === 0) value = emptyStr;
    if (s) {
      const top = this.#otherKeys.length - 1;
      if (assignOrPush(s, nodeName, value)) this.#otherKeys[top] = (this.#otherKeys[top] ?? 0) + 1;
    } else {
      const root = newObject();
      root[nodeName] = value;
      this.#result = root;
    }
  }

  #text(text: string): XmlObject | undefined {
    const s = this.#stack[this.#stack.length - 1];
    if (s) s._ = (s._ as string) + text;
    return s;
  }

  /**
   * False where the two readers may differ (the document is then for xml2js to read). Anything
   * else thrown is saxes' own failure: xml2js reads the document then too.
   */
  write(chunk: string): boolean {
    try {
      this.#parser.write(chunk);
      return true;
    } catch {
      return false;
    }
  }

  end(): XmlObject | undefined {
    try {
      this.#parser.close();
    } catch {
      return undefined;
    }
    return this.#result;
  }
}

/**
 * Does every `open` … `close` run of the text (comments, processing instructions) stay under sax's
 * buffer, and end where sax ends it? sax reads a "?" in a processing instruction with the
 * character after it, so "??>" does not end one there (an even run of "?" before the ">").
 */
function plainRuns(text: string, open: string, close: string): boolean {
  for (let at = text.indexOf(open); at >= 0; ) {
    const end = text.indexOf(close, at + open.length);
    if (end < 0) return true; // unclosed: saxes refuses the document
    if (end - at > MAX_TOKEN_CHARS) return false;
    if (close === "?>") {
      let run = 1;
      while (end - run >= at + open.length && text.charCodeAt(end - run) === 0x3f) run++;
      if (run % 2 === 0) return false;
    }
    at = text.indexOf(open, end + close.length);
  }
  return true;
}

/**
 * The text for saxes (xml2js strips a byte order mark at the very start), or undefined where the
 * document as a whole is for xml2js: blank (xml2js gives null), a carriage return, a DOCTYPE, a
 * long comment or processing instruction, one that sax ends elsewhere (see `plainRuns`). (Found
 * in CDATA or text too, they only send the document to xml2js.)
 */
function readable(xml: string): string | undefined {
  const text = xml.charCodeAt(0) === 0xfeff ? xml.slice(1) : xml;
  if (text.includes("\r") || text.includes("<!DOCTYPE") || text.trim() === "") return undefined;
  if (!plainRuns(text, "<!--", "-->") || !plainRuns(text, "<?", "?>")) return undefined;
  return text;
}

/** xml2js' tree of the document (default options), or undefined where xml2js must read it. */
export function xml2jsTree(xml: string): XmlObject | undefined {
  const text = readable(xml);
  if (text === undefined) return undefined;
  const builder = new TreeBuilder(text);
  return builder.write(text) ? builder.end() : undefined;
}

/** `xml2jsTree` in pieces of `chunkChars`, awaiting `pause()` between them (the event loop turns). */
export async function xml2jsTreeInTurns(xml: string, pause: () => Promise<void>, chunkChars: number): Promise<XmlObject | undefined> {
  const text = readable(xml);
  if (text === undefined) return undefined;
  const builder = new TreeBuilder(text);
  const step = Math.max(1, Math.floor(chunkChars));
  for (let from = 0; from < text.length; from += step) {
    if (from > 0) await pause();
    if (!builder.write(text.slice(from, from + step))) return undefined;
  }
  return builder.end();
}
