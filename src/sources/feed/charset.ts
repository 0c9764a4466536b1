/**
 * Bytes of a feed document → text (pure). The charset is taken from, in this order: the HTTP
 * Content-Type `charset`, the XML declaration (`<?xml … encoding="ISO-8859-1"?>`), a byte order
 * mark, else UTF-8 (XML 1.0 §4.3.3 and Appendix F; RFC 7303 §3 puts the HTTP charset first). Labels
 * are the WHATWG Encoding Standard's (TextDecoder: "latin1" and "iso-8859-1" read as
 * windows-1252, its superset); iconv-lite reads the few TextDecoder does not know. Bytes that are
 * not valid in the chosen charset are reported, with where the first one is — never replaced in
 * silence (a `Malmö` read as UTF-8 from Latin-1 bytes shows as `Malm�`).
 */
import iconv from "iconv-lite";

export type Decoded = {
  text: string;
  /** The WHATWG name of the charset used ("utf-8", "windows-1252", …). */
  encoding: string;
  /** Where the charset came from. */
  from: "http" | "xml" | "bom" | "default";
  /** Set when some bytes were not valid in that charset (they became U+FFFD). */
  problem?: string | undefined;
};

/** `text/xml; charset="ISO-8859-1"` → "ISO-8859-1". */
export function charsetOf(contentType: string | null | undefined): string | undefined {
  if (!contentType) return undefined;
  const m = /;\s*charset\s*=\s*("?)([^";\s]+)\1/i.exec(contentType);
  return m?.[2];
}

/** The `encoding` of an XML declaration, read from ASCII-compatible bytes at the very start. */
export function xmlDeclarationEncoding(bytes: Uint8Array): string | undefined {
  const head = Buffer.from(bytes.subarray(0, 512)).toString("latin1").replace(/^\uFEFF|^\xEF\xBB\xBF/, "");
  const decl = /^\s*<\?xml\s[^?]*?encoding\s*=\s*(["'])([A-Za-z][A-Za-z0-9._-]*)\1/.exec(head);
  return decl?.[2];
}

function bom(bytes: Uint8Array): { encoding: string; length: number } | undefined {
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) return { encoding: "utf-8", length: 3 };
  if (bytes[0] === 0xfe && bytes[1] === 0xff) return { encoding: "utf-16be", length: 2 };
  if (bytes[0] === 0xff && bytes[1] === 0xfe) return { encoding: "utf-16le", length: 2 };
  return undefined;
}

type Decoder = { name: string; decode(bytes: Uint8Array, fatal: boolean): string };

function decoderFor(label: string): Decoder | undefined {
  try {
    const probe = new TextDecoder(label.trim());
    return { name: probe.encoding, decode: (b, fatal) => new TextDecoder(label.trim(), { fatal, ignoreBOM: false }).decode(b) };
  } catch {
    // Not a WHATWG label: iconv-lite knows more (e.g. "cp850", "macroman").
  }
  if (!iconv.encodingExists(label)) return undefined;
  return { name: label.toLowerCase(), decode: (b) => iconv.decode(Buffer.from(b), label) };
}

/** Where the first invalid sequence starts: decode growing prefixes until one fails (bounded). */
function firstBadOffset(bytes: Uint8Array, d: Decoder): number | undefined {
  let lo = 0;
  let hi = bytes.length;
  // Binary search on the longest prefix that decodes cleanly (a prefix may end mid-character, so
  // "clean" allows a trailing incomplete sequence by decoding in streaming mode).
  const clean = (n: number): boolean => {
    try {
      new TextDecoder(d.name, { fatal: true }).decode(bytes.subarray(0, n), { stream: true });
      return true;
    } catch {
      return false;
    }
  };
  if (clean(hi)) return undefined;
  while (hi - lo > 1) {
    const mid = (lo + hi) >>> 1;
    if (clean(mid)) lo = mid;
    else hi = mid;
  }
  return lo;
}

export function decodeDocument(bytes: Uint8Array, contentType?: string | null): Decoded {
  const mark = bom(bytes);
  const candidates: { label: string | undefined; from: Decoded["from"] }[] = [
    { label: charsetOf(contentType), from: "http" },
    { label: mark ? undefined : xmlDeclarationEncoding(bytes), from: "xml" },
    { label: mark?.encoding, from: "bom" },
  ];
  const unknown: string[] = [];
  let chosen: { decoder: Decoder; from: Decoded["from"] } | undefined;
  for (const c of candidates) {
    if (c.label === undefined) continue;
    const d = decoderFor(c.label);
    if (d) {
      chosen = { decoder: d, from: c.from };
      break;
    }
    unknown.push(`${c.from === "http" ? "HTTP" : "XML"} charset "${c.label}" is unknown`);
  }
  const decoder = chosen?.decoder ?? decoderFor("utf-8");
  if (!decoder) throw new Error("UTF-8 decoder missing");
  const from = chosen?.from ?? "default";
  // A BOM of the chosen charset is not text.
  const body = mark && mark.encoding === decoder.name ? bytes.subarray(mark.length) : bytes;
  let text: string;
  let problem: string | undefined;
  try {
    text = decoder.decode(body, true);
  } catch {
    text = decoder.decode(body, false);
    const offset = firstBadOffset(body, decoder);
    const count = [...text.matchAll(/\uFFFD/g)].length;
    problem = `${count === 1 ? "1 byte sequence is" : `${count} byte sequences are`} not valid ${decoder.name}${offset !== undefined ? ` (the first at byte ${offset + (body === bytes ? 0 : (mark?.length ?? 0))})` : ""}; shown as U+FFFD`;
  }
  if (unknown.length > 0) problem = [unknown.join("; ") + `: read as ${decoder.name}`, problem].filter(Boolean).join("; ");
  return { text: text.replace(/^\uFEFF/, ""), encoding: decoder.name, from, ...(problem ? { problem } : {}) };
}
