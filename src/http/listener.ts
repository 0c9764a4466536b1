/**
 * The bot's one HTTP listener (node:http): webhooks, and whatever else the composition root mounts
 * (/health, /ready, /metrics). Routes are exact paths per method; a handler returns its reply and the
 * listener sends it (JSON unless told otherwise). Loopback by default: expose it through a
 * TLS-terminating proxy, never directly.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Logger } from "../log/logger.js";
import { ok, err, type Result } from "../util/result.js";

export type HttpReply = {
  status: number;
  /** A string is sent as is (with `contentType`); anything else as JSON. */
  body?: unknown;
  contentType?: string | undefined;
  headers?: Readonly<Record<string, string>> | undefined;
};

export type BodyProblem = { status: 413 | 400; message: string };

export type HttpRequest = {
  method: string;
  path: string;
  headers: IncomingMessage["headers"];
  /** Reads the body, refusing more than `maxBytes` (413) before it is all in memory. */
  body(maxBytes: number): Promise<Result<Buffer, BodyProblem>>;
};

export type HttpHandler = (req: HttpRequest) => Promise<HttpReply> | HttpReply;

/** What a part of the bot may do with the listener: mount a route (and take it away again). */
export interface HttpRoutes {
  route(method: string, path: string, handler: HttpHandler): () => void;
}

export type HttpListenerOptions = {
  address: string;
  port: number;
  log: Logger;
  /** Open connections at most: more are dropped at once, so a flood of idle sockets cannot use up the bot's file descriptors. */
  maxConnections?: number | undefined;
};

export class HttpListener implements HttpRoutes {
  private readonly routes = new Map<string, Map<string, HttpHandler>>();
  private server: Server | undefined;

  constructor(private readonly opts: HttpListenerOptions) {}

  /** Mounts a handler; a second handler for the same method and path is a bug and throws. */
  route(method: string, path: string, handler: HttpHandler): () => void {
    const m = method.toUpperCase();
    const byMethod = this.routes.get(path) ?? new Map<string, HttpHandler>();
    if (byMethod.has(m)) throw new Error(`HTTP route ${m} ${path} is mounted twice`);
    byMethod.set(m, handler);
    this.routes.set(path, byMethod);
    return () => {
      if (byMethod.get(m) === handler) byMethod.delete(m);
      if (byMethod.size === 0 && this.routes.get(path) === byMethod) this.routes.delete(path);
    };
  }

  /** Listens; resolves with the address and port actually bound (port 0: a free one). */
  start(): Promise<{ address: string; port: number }> {
    const server = createServer((req, res) => void this.handle(req, res));
    // Slow or stuck clients are cut off (a webhook caller retries).
    server.requestTimeout = 30_000;
    server.headersTimeout = 10_000;
    server.keepAliveTimeout = 5_000;
    server.maxConnections = this.opts.maxConnections ?? 256;
    let droppedAt = 0;
    server.on("drop", (d?: { remoteAddress?: string }) => {
      // Said at most once a minute: a flood must not flood the log too.
      if (Date.now() - droppedAt < 60_000) return;
      droppedAt = Date.now();
      this.opts.log.warn({ from: d?.remoteAddress, maxConnections: server.maxConnections }, "HTTP connection dropped: too many open at once");
    });
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once("error", reject);
      server.listen(this.opts.port, this.opts.address, () => {
        server.off("error", reject);
        const a = server.address() as AddressInfo;
        this.opts.log.info({ address: a.address, port: a.port }, "HTTP listener up");
        resolve({ address: a.address, port: a.port });
      });
    });
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = (req.method ?? "GET").toUpperCase();
    const path = new URL(req.url ?? "/", "http://listener").pathname;
    let reply: HttpReply;
    const byMethod = this.routes.get(path);
    const handler = byMethod?.get(method) ?? (method === "HEAD" ? byMethod?.get("GET") : undefined);
    if (!byMethod) reply = { status: 404, body: { error: `nothing at ${path}` } };
    else if (!handler) reply = { status: 405, body: { error: `${method} is not allowed here` }, headers: { Allow: [...byMethod.keys()].join(", ") } };
    else {
      try {
        reply = await handler({ method, path, headers: req.headers, body: (max) => readBody(req, max) });
      } catch (e) {
        this.opts.log.error({ path, err: e instanceof Error ? e.stack : String(e) }, "HTTP handler crashed");
        reply = { status: 500, body: { error: "internal error (logged)" } };
      }
    }
    send(res, reply, method === "HEAD");
    // A body the handler did not read (refused before reading) must not keep the socket busy.
    if (!req.complete) req.resume();
  }
}

function send(res: ServerResponse, reply: HttpReply, headOnly: boolean): void {
  const text = typeof reply.body === "string" ? reply.body : reply.body === undefined ? "" : JSON.stringify(reply.body);
  const type = typeof reply.body === "string" ? (reply.contentType ?? "text/plain; charset=utf-8") : "application/json";
  res.writeHead(reply.status, { "Content-Type": type, "Content-Length": Buffer.byteLength(text), "Cache-Control": "no-store", ...reply.headers });
  res.end(headOnly ? undefined : text);
}

function readBody(req: IncomingMessage, maxBytes: number): Promise<Result<Buffer, BodyProblem>> {
  const declared = Number(req.headers["content-length"]);
  if (Number.isFinite(declared) && declared > maxBytes) return Promise.resolve(err({ status: 413, message: `body of ${declared} bytes is larger than ${maxBytes}` }));
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const finish = (r: Result<Buffer, BodyProblem>): void => {
      if (done) return;
      done = true;
      req.off("data", onData);
      resolve(r);
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > maxBytes) {
        finish(err({ status: 413, message: `body larger than ${maxBytes} bytes` }));
        req.resume();
        return;
      }
      chunks.push(chunk);
    };
    req.on("data", onData);
    req.once("end", () => finish(ok(Buffer.concat(chunks))));
    req.once("error", (e) => finish(err({ status: 400, message: `the body could not be read: ${e.message}` })));
  });
}
