/**
 * Adapter: fetches one feed document over HTTP(S) with a timeout, a size cap, redirects and
 * conditional GET (RFC 9110 §13.1: If-None-Match / If-Modified-Since → 304 Not Modified).
 */
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { classifyFetchError } from "../../util/net-error.js";
import { ok, err, type Result } from "../../util/result.js";

export type Validators = { etag?: string | undefined; lastModified?: string | undefined };

export type Fetched =
  | { readonly kind: "not-modified" }
  | { readonly kind: "document"; readonly body: string; readonly validators: Validators; readonly finalUrl: string };

/** `temporary` failures (5xx, 429, timeouts, resets) are retried with backoff; `permanent` ones need a human. */
export type FetchFailure = { readonly kind: "temporary" | "permanent"; readonly message: string };

export type FetchOptions = { timeoutMs: number; maxBytes: number; userAgent?: string };

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
      const body = await readCapped(res, options.maxBytes);
      if (!body.ok) return body;
      return ok({
        kind: "document",
        body: body.value,
        finalUrl: current,
        validators: { etag: res.headers.get("etag") ?? undefined, lastModified: res.headers.get("last-modified") ?? undefined },
      });
    }
  } catch (e) {
    return err({ kind: "temporary", message: describeNetworkError(e, options.timeoutMs) });
  }
}

async function readCapped(res: Response, maxBytes: number): Promise<Result<string, FetchFailure>> {
  if (!res.body) return ok("");
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
    size += chunk.byteLength;
    if (size > maxBytes) {
      // Stops the download: a runaway or hostile feed cannot fill memory.
      return err({ kind: "permanent", message: `document larger than the ${maxBytes} bytes allowed` });
    }
    chunks.push(chunk);
  }
  return ok(new TextDecoder("utf-8").decode(Buffer.concat(chunks)));
}

async function readLocal(url: string, maxBytes: number): Promise<Result<Fetched, FetchFailure>> {
  try {
    const body = await readFile(fileURLToPath(url), "utf8");
    if (body.length > maxBytes) return err({ kind: "permanent", message: `file larger than the ${maxBytes} bytes allowed` });
    return ok({ kind: "document", body, validators: {}, finalUrl: url });
  } catch (e) {
    return err({ kind: "permanent", message: `cannot read ${url}: ${(e as Error).message}` });
  }
}

function describeNetworkError(e: unknown, timeoutMs: number): string {
  const failure = classifyFetchError(e);
  return failure.kind === "timeout" ? `no complete answer within ${timeoutMs} ms` : failure.detail;
}
