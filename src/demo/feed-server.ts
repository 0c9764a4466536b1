/**
 * A real local HTTP server for feed documents: the demo serves the bundled sample through it and
 * the tests use it for fixtures, errors, redirects and slow answers. It implements conditional GET
 * (RFC 9110 §13.1) like a well-behaved feed host, so the bot's ETag handling is exercised for real.
 */
import { createHash } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export type Route = {
  status?: number;
  body?: string;
  headers?: Record<string, string>;
  /** Wait this long before answering (timeouts). */
  delayMs?: number;
  /** Send only the first n bytes of the body, then cut the connection (truncated transfers). */
  cutAfterBytes?: number;
  /** Answer with conditional-GET validators (default true for 200 answers). */
  validators?: boolean;
};

export type RequestRecord = { path: string; ifNoneMatch: string | undefined; ifModifiedSince: string | undefined; status: number };

export type FeedServer = {
  url(path: string): string;
  set(path: string, route: Route): void;
  requests: RequestRecord[];
  close(): Promise<void>;
};

export async function startFeedServer(routes: Record<string, Route> = {}): Promise<FeedServer> {
  const table = new Map(Object.entries(routes));
  const modified = new Map<string, string>();
  const requests: RequestRecord[] = [];

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const path = new URL(req.url ?? "/", "http://127.0.0.1").pathname;
    const route = table.get(path);
    const record = (status: number): void => {
      requests.push({ path, ifNoneMatch: req.headers["if-none-match"], ifModifiedSince: req.headers["if-modified-since"], status });
    };
    const answer = (): void => {
      if (!route) {
        record(404);
        res.writeHead(404, { "content-type": "text/plain" }).end("not found");
        return;
      }
      const status = route.status ?? 200;
      const body = route.body ?? "";
      const headers: Record<string, string> = { "content-type": "application/rss+xml; charset=utf-8", ...route.headers };
      if (status === 200 && route.validators !== false) {
        const etag = `"${createHash("sha1").update(body).digest("hex").slice(0, 16)}"`;
        const lastModified = modified.get(`${path} ${etag}`) ?? new Date().toUTCString();
        modified.set(`${path} ${etag}`, lastModified);
        headers.etag = etag;
        headers["last-modified"] = lastModified;
        if (req.headers["if-none-match"] === etag) {
          record(304);
          res.writeHead(304, { etag, "last-modified": lastModified }).end();
          return;
        }
      }
      record(status);
      if (route.cutAfterBytes !== undefined) {
        res.writeHead(status, { ...headers, "content-length": String(Buffer.byteLength(body)) });
        res.write(Buffer.from(body).subarray(0, route.cutAfterBytes));
        res.socket?.destroy();
        return;
      }
      res.writeHead(status, headers).end(body);
    };
    if (route?.delayMs) setTimeout(answer, route.delayMs).unref();
    else answer();
  };

  const server: Server = createServer(handle);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: (path) => `http://127.0.0.1:${port}${path}`,
    set: (path, route) => table.set(path, route),
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * The demo's timeline (pure): the sample feed's items revealed oldest first, two at the start (the
 * first poll only learns them), one more per step, then the later versions from the updates file.
 */
export function demoStages(sampleXml: string, updatesXml: string, initial = 2): string[] {
  const itemRe = /<item>[\s\S]*?<\/item>/g;
  const items = sampleXml.match(itemRe) ?? [];
  const first = sampleXml.indexOf("<item>");
  const last = sampleXml.lastIndexOf("</item>") + "</item>".length;
  const head = sampleXml.slice(0, first);
  const tail = sampleXml.slice(last);
  const guidOf = (item: string): string => /<guid[^>]*>([^<]+)<\/guid>/.exec(item)?.[1] ?? item;
  const oldestFirst = [...items].reverse();
  const doc = (shown: string[]): string => head + [...shown].reverse().join("\n    ") + tail;
  const stages: string[] = [];
  for (let n = Math.min(initial, oldestFirst.length); n <= oldestFirst.length; n++) stages.push(doc(oldestFirst.slice(0, n)));
  let current = [...oldestFirst];
  for (const update of updatesXml.match(itemRe) ?? []) {
    current = current.map((item) => (guidOf(item) === guidOf(update) ? update : item));
    stages.push(doc(current));
  }
  return stages;
}
