/**
 * Adapter: fetches one feed document over HTTP(S) with a timeout, a size cap, redirects and
 * conditional GET (RFC 9110 §13.1: If-None-Match / If-Modified-Since → 304 Not Modified), and
 * decodes it by its charset (charset.ts). Redirects stay on the feed's host (an https upgrade is
 * fine) unless the feed lists other hosts: a feed URL must not bounce the bot to localhost or a
 * private address (issue 9.4).
 */
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { classifyFetchError } from "../../util/net-error.js";
import { ok, err, type Result } from "../../util/result.js";
import { decodeDocument } from "./charset.js";

export type Validators = { etag?: string | undefined; lastModified?: string | undefined };

export type Fetched =
  | { readonly kind: "not-modified" }
  | {
      readonly kind: "document";
      readonly body: string;
      readonly validators: Validators;
      readonly finalUrl: string;
      /** The charset the body was read in, and where that came from. */
      readonly encoding?: string | undefined;
      /** Things to log that did not stop the fetch (bytes not valid in the charset…). */
      readonly problems?: readonly { key: string; message: string }[] | undefined;
    };

/** `temporary` failures (5xx, 429, timeouts, resets) are retried with backoff; `permanent` ones need a human. */
export type FetchFailure = { readonly kind: "temporary" | "permanent"; readonly message: string };

export type FetchOptions = {
  timeoutMs: number;
  maxBytes: number;
  userAgent?: string;
  /** Hosts other than the feed's own that a redirect may lead to ("cdn.example.net", "*.example.net", "host:8443"). */
  redirectHosts?: readonly string[] | undefined;
  /** Told once, as soon as the document is known to be at least `bytes` long (declared or received): a big one is on its way. */
  onBig?: { bytes: number; then: () => void } | undefined;
};

/**
 * Whether a redirect from `from` to `to` may be followed: the same host (and port) with the same
 * scheme or an upgrade from http to https; or a host the feed lists. Never a downgrade to http.
 */
export function redirectAllowed(from: URL, to: URL, redirectHosts: readonly string[] = []): boolean {
  if (to.protocol !== "http:" && to.protocol !== "https:") return false;
  if (from.protocol === "https:" && to.protocol === "http:") return false;
  const samePort = to.port === from.port || (from.protocol === "http:" && to.protocol === "https:" && from.port === "" && to.port === "");
  if (to.hostname.toLowerCase() === from.hostname.toLowerCase() && samePort) return true;
  const host = to.hostname.toLowerCase();
  return redirectHosts.some((pattern) => {
    const [name = "", port] = pattern.toLowerCase().split(":");
    if (port !== undefined && port !== (to.port || (to.protocol === "https:" ? "443" : "80"))) return false;
    return name.startsWith("*.") ? host.endsWith(name.slice(1)) && host.length > name.length - 1 : host === name;
  });
}

export interface FeedFetcher {
  fetch(url: string, validators: Validators, options: FetchOptions): Promise<Result<Fetched, FetchFailure>>;
}

const MAX_REDIRECTS = 5;

export const httpFeedFetcher: FeedFetcher = { fetch: fetchFeed };

export async function fetchFeed(url: string, validators: Validators, options: FetchOptions): Promise<Result<Fetched, FetchFailure>> {
  if (url.startsWith("file:")) return readLocal(url, options.maxBytes);
  const headers: Record<string, string> = {
    accept: "application/rss+xml, application/atom+xml, application/rdf+xml, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.1",
    "user-agent": options.userAgent ?? "ttrelay/0.1 (NOC ticket relay)",
  };
  if (validators.etag) headers["if-none-match"] = validators.etag;
  if (validators.lastModified) headers["if-modified-since"] = validators.lastModified;

  let current = url;
  const signal = AbortSignal.timeout(options.timeoutMs);
  try {
    // Redirects are followed by hand so that their number is bounded and each hop is checked.
    for (let hop = 0; ; hop++) {
      const res = await fetch(current, { headers, redirect: "manual", signal });
      if (res.status >= 300 && res.status < 400 && res.status !== 304) {
        const location = res.headers.get("location");
        await res.body?.cancel();
        if (!location) return err({ kind: "permanent", message: `HTTP ${res.status} redirect without a Location header` });
        if (hop >= MAX_REDIRECTS) return err({ kind: "permanent", message: `more than ${MAX_REDIRECTS} redirects` });
        const next = new URL(location, current);
        if (next.protocol !== "http:" && next.protocol !== "https:")
          return err({ kind: "permanent", message: `redirect to unsupported scheme ${next.protocol}` });
        if (!redirectAllowed(new URL(current), next, options.redirectHosts))
          return err({
            kind: "permanent",
            message: `redirect to ${next.href} refused: only the feed's own host (or an https upgrade) is followed; list "${next.host}" in the feed's redirectHosts to allow it`,
          });
        current = next.href;
        continue;
      }
      if (res.status === 304) {
        await res.body?.cancel();
        return ok({ kind: "not-modified" });
      }
      if (!res.ok) {
        await res.body?.cancel();
        const temporary = res.status >= 500 || res.status === 429 || res.status === 408;
        return err({ kind: temporary ? "temporary" : "permanent", message: `HTTP ${res.status} ${res.statusText}`.trim() });
      }
      const declared = Number(res.headers.get("content-length") ?? "NaN");
      if (declared > options.maxBytes) {
        await res.body?.cancel();
        return err({ kind: "permanent", message: `document is ${declared} bytes, more than the ${options.maxBytes} allowed` });
      }
      const big = declared >= (options.onBig?.bytes ?? Infinity);
      if (big) tell(options.onBig);
      const bytes = await readCapped(res, options.maxBytes, big ? undefined : options.onBig);
      if (!bytes.ok) return bytes;
      const decoded = decodeDocument(bytes.value, res.headers.get("content-type"));
      return ok({
        kind: "document",
        body: decoded.text,
        encoding: decoded.encoding,
        ...(decoded.problem ? { problems: [{ key: "document", message: `charset ${decoded.encoding} (from ${decoded.from}): ${decoded.problem}` }] } : {}),
        finalUrl: current,
        validators: { etag: res.headers.get("etag") ?? undefined, lastModified: res.headers.get("last-modified") ?? undefined },
      });
    }
  } catch (e) {
    // Named by host and port (never the whole URL: its query may carry a token).
    return err({ kind: "temporary", message: `${new URL(current).host}: ${describeNetworkError(e, options.timeoutMs)}` });
  }
}

/** `onBig` is only a hint: if it fails, the fetch goes on (it is not the document's or the network's fault). */
function tell(onBig: FetchOptions["onBig"]): void {
  try {
    onBig?.then();
  } catch {
    // ignored: see above
  }
}

async function readCapped(res: Response, maxBytes: number, onBig: FetchOptions["onBig"]): Promise<Result<Uint8Array, FetchFailure>> {
  if (!res.body) return ok(new Uint8Array());
  const chunks: Uint8Array[] = [];
  let size = 0;
  let told = onBig === undefined;
  for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
    size += chunk.byteLength;
    if (!told && size >= (onBig?.bytes ?? Infinity)) {
      told = true;
      tell(onBig);
    }
    if (size > maxBytes) {
      // Stops the download: a runaway or hostile feed cannot fill memory.
      return err({ kind: "permanent", message: `document larger than the ${maxBytes} bytes allowed` });
    }
    chunks.push(chunk);
  }
  return ok(Buffer.concat(chunks));
}

async function readLocal(url: string, maxBytes: number): Promise<Result<Fetched, FetchFailure>> {
  try {
    const bytes = await readFile(fileURLToPath(url));
    if (bytes.length > maxBytes) return err({ kind: "permanent", message: `file larger than the ${maxBytes} bytes allowed` });
    // A file has no HTTP charset: its XML declaration, BOM, else UTF-8 (as for `replay`).
    const decoded = decodeDocument(bytes);
    return ok({
      kind: "document",
      body: decoded.text,
      encoding: decoded.encoding,
      ...(decoded.problem ? { problems: [{ key: "document", message: `charset ${decoded.encoding} (from ${decoded.from}): ${decoded.problem}` }] } : {}),
      validators: {},
      finalUrl: url,
    });
  } catch (e) {
    return err({ kind: "permanent", message: `cannot read ${url}: ${(e as Error).message}` });
  }
}

function describeNetworkError(e: unknown, timeoutMs: number): string {
  const failure = classifyFetchError(e);
  return failure.kind === "timeout" ? `no complete answer within ${timeoutMs} ms` : failure.detail;
}
