/**
 * A big feed document cut into smaller documents of consecutive items (pure), so that threads can
 * parse them side by side (./parse.ts `parseFeedInParts`). Each part is the document's text up to
 * its first item, a run of items, and the text after its last item: what the parser reads of the
 * channel (title, link, namespaces) is in every part, and each item is read exactly as it is in
 * the whole. Only a plainly shaped document is cut; anything else (a DOCTYPE, text or other
 * elements between the items, items outside the first channel, a head and tail so long that their
 * copies would add more than the document) gives undefined and is parsed whole.
 */

/** What the copies of the head and tail may add in all, at least (else at most the document's length). */
const MAX_COPIED_CHARS = 1 << 20;

/** Where the items are: item k is `xml.slice(starts[k], ends[k])`. */
export type ItemLayout = { starts: number[]; ends: number[] };

/** Root element → the path of the element whose children are the items, and the items' name. */
const LAYOUTS: Record<string, { container: readonly string[]; item: string }> = {
  rss: { container: ["rss", "channel"], item: "item" },
  "rdf:RDF": { container: ["rdf:RDF"], item: "item" },
  feed: { container: ["feed"], item: "entry" },
};

const isNameEnd = (c: number): boolean => c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d || c === 0x2f /* / */ || c === 0x3e; /* > */

/**
 * sax refuses a tag, comment or processing instruction this long ("Max buffer length exceeded"),
 * but only where one of its writes ends inside it, so a part and the whole could differ: such a
 * document is read whole. (Long text and CDATA are passed on in pieces: no limit.)
 */
const MAX_TOKEN_CHARS = 60_000;

/**
 * Where the processing instruction whose body starts at `from` ends (past its `?>`), as sax reads
 * it: a `?` takes the character after it along, so `<?x ??>` is still open. -1 if it never ends.
 */
function instructionEnd(xml: string, from: number): number {
  for (let q = xml.indexOf("?", from); q >= 0; q = xml.indexOf("?", q + 2)) if (xml.charCodeAt(q + 1) === 0x3e) return q + 2;
  return -1;
}

/** The end (index of `>`) of the tag opened at `lt`, past quoted attribute values (they may hold `>`); -1 if none. Reads the tag only (linear in the document). */
function tagEnd(xml: string, lt: number): number {
  let quote = 0;
  for (let j = lt + 1; j < xml.length; j++) {
    const c = xml.charCodeAt(j);
    if (quote !== 0) {
      if (c === quote) quote = 0;
    } else if (c === 0x22 || c === 0x27) quote = c;
    else if (c === 0x3e) return j;
  }
  return -1;
}

/** The items of the document's first item container, if the document is plain enough to cut (see above). */
export function itemLayout(xml: string): ItemLayout | undefined {
  const starts: number[] = [];
  const ends: number[] = [];
  const open: string[] = []; // names of the open elements down to the container
  let layout: { container: readonly string[]; item: string } | undefined;
  let depth = 0;
  let itemStart = -1;
  let containerDone = false;
  let i = 0;
  for (;;) {
    const lt = xml.indexOf("<", i);
    if (lt < 0) break;
    const c = xml.charCodeAt(lt + 1);
    // The parser (sax) reads "< item>" as markup, with the white space skipped: read whole.
    if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) return undefined;
    if (c === 0x21 /* ! */) {
      if (xml.startsWith("<!--", lt)) {
        const e = xml.indexOf("-->", lt + 4);
        if (e < 0 || e - lt > MAX_TOKEN_CHARS) return undefined;
        i = e + 3;
      } else if (xml.startsWith("<![CDATA[", lt)) {
        const e = xml.indexOf("]]>", lt + 9);
        if (e < 0) return undefined;
        i = e + 3;
      } else return undefined; // a DOCTYPE (entities) or another declaration: read whole
      continue;
    }
    if (c === 0x3f /* ? */) {
      const e = instructionEnd(xml, lt + 2);
      if (e < 0 || e - lt > MAX_TOKEN_CHARS) return undefined;
      i = e;
      continue;
    }
    const gt = tagEnd(xml, lt);
    if (gt < 0 || gt - lt > MAX_TOKEN_CHARS) return undefined;
    i = gt + 1;
    if (c === 0x2f /* / */) {
      depth--;
      if (depth < 0) return undefined;
      if (layout && depth === layout.container.length && itemStart >= 0) {
        starts.push(itemStart);
        ends.push(gt + 1);
        itemStart = -1;
      }
      if (depth < open.length) {
        if (xml.slice(lt + 2, gt).trim() !== open[depth]) return undefined;
        open.length = depth;
        if (layout && depth === layout.container.length - 1) containerDone = true;
      }
      continue;
    }
    let nameEnd = lt + 1;
    while (nameEnd < gt && !isNameEnd(xml.charCodeAt(nameEnd))) nameEnd++;
    const name = xml.slice(lt + 1, nameEnd);
    const selfClosing = xml.charCodeAt(gt - 1) === 0x2f;
    if (depth === 0) {
      if (layout) return undefined; // a second root: not well-formed, let the parser say so
      layout = Object.hasOwn(LAYOUTS, name) ? LAYOUTS[name] : undefined; // not "constructor"
      if (!layout) return undefined;
    }
    if (!layout) return undefined;
    const { container, item } = layout;
    if (depth < container.length) {
      if (name === container[depth] && depth === open.length) {
        if (containerDone && depth === container.length - 1) return undefined; // a second channel
        if (!selfClosing) open.push(name);
      }
    }
    if (name === item && itemStart < 0) {
      // An item element anywhere but in the container (RSS 1.0 items in its channel, a second list): read whole.
      if (depth !== container.length || open.length !== container.length) return undefined;
      if (selfClosing) {
        starts.push(lt);
        ends.push(gt + 1);
      } else itemStart = lt;
    }
    if (!selfClosing) depth++;
  }
  if (depth !== 0 || !layout || itemStart >= 0) return undefined;
  // Only white space between items: nothing of the container is left out of the parts.
  for (let k = 1; k < starts.length; k++) if (!/^[ \t\r\n]*$/.test(xml.slice(ends[k - 1], starts[k]))) return undefined;
  return { starts, ends };
}

/**
 * The document as `count` parts of consecutive items (fewer if it has fewer items), each with how
 * many items come before it; undefined when it cannot be cut (then parse it whole).
 */
export function splitFeedDocument(xml: string, count: number): { text: string; offset: number }[] | undefined {
  const layout = itemLayout(xml);
  if (!layout || layout.starts.length === 0) return undefined;
  const { starts, ends } = layout;
  const head = xml.slice(0, starts[0]);
  const tail = xml.slice(ends[ends.length - 1]);
  // Every part carries the head and the tail: a document that is mostly head or tail (a huge
  // channel description around a few items) is read whole rather than copied `count` times.
  if ((head.length + tail.length) * (count - 1) > Math.max(xml.length, MAX_COPIED_CHARS)) return undefined;
  const perPart = Math.ceil(starts.length / Math.max(1, count));
  const parts: { text: string; offset: number }[] = [];
  for (let from = 0; from < starts.length; from += perPart) {
    const to = Math.min(from + perPart, starts.length) - 1;
    parts.push({ text: head + xml.slice(starts[from], ends[to]) + tail, offset: from });
  }
  return parts;
}
