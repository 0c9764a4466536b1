/**
 * A real HTTP proxy on loopback that stands between the bot and a server (Request Tracker) and can
 * misbehave on purpose, the ways a network and a busy server do:
 *
 * - `withhold({ mode: "request" })`: the matching request is read but never forwarded and never
 *   answered: the server never sees it, the client waits until its own timeout;
 * - `withhold({ mode: "answer" })`: the request is forwarded and the server does the work, but its
 *   answer is kept back: the client cannot tell this apart from the first case;
 * - `down()`: every connection is closed as it comes in (a stopped server, a reset), until `up()`.
 *
 * Requests are buffered whole before they are forwarded (the bot's are small JSON bodies), so a
 * held request can be looked at. The proxy only ever listens on 127.0.0.1.
 */
import { createServer, request as httpRequest, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";

export type WithholdMode = "request" | "answer";

export type WithholdRule = {
  method?: string;
  /** Matched against the request's path and query. */
  path: RegExp;
  mode: WithholdMode;
  /** How many matching requests to let through first; default 0. */
  pass?: number;
  /** How many matching requests to hold (after those passed); default 1. */
  times?: number;
};

export type SeenRequest = {
  method: string;
  path: string;
  body: string;
  /** What the proxy did with it. */
  outcome: "forwarded" | "refused" | "held request" | "held answer";
  /** The server's status, when it was forwarded. */
  status?: number;
};

export interface HttpProxy {
  /** "http://127.0.0.1:PORT": give this to the client instead of the server's URL. */
  url: string;
  withhold(rule: WithholdRule): void;
  /** Refuse every connection (and close the open ones) until `up()`. */
  down(): void;
  up(): void;
  /** Every request seen, oldest first. */
  seen: SeenRequest[];
  /** Requests held right now (the client has not given up on them yet). */
  held(): SeenRequest[];
  /** Resolves once `n` requests are held at the same time. */
  waitForHeld(n: number, timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

/** Hop-by-hop headers (RFC 9110 §7.6.1) are not forwarded; bodies are re-sent with a length. */
const HOP_BY_HOP = new Set(["connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "te", "trailer", "content-length"]);

function endToEnd(headers: IncomingHttpHeaders): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(headers)) if (v !== undefined && !HOP_BY_HOP.has(k.toLowerCase())) out[k] = v;
  return out;
}

function readBody(stream: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on("data", (c: Buffer) => chunks.push(c));
    stream.on("end", () => resolve(Buffer.concat(chunks)));
    stream.on("error", reject);
  });
}

export async function startHttpProxy(target: string): Promise<HttpProxy> {
  const upstream = new URL(target);
  if (upstream.protocol !== "http:") throw new TypeError("startHttpProxy: only http targets");
  const rules: (WithholdRule & { passLeft: number; left: number })[] = [];
  const seen: SeenRequest[] = [];
  const holding = new Set<SeenRequest>();
  const sockets = new Set<Socket>();
  let refusing = false;

  const take = (method: string, path: string): WithholdMode | undefined => {
    const rule = rules.find((r) => r.left > 0 && (r.method === undefined || r.method === method) && r.path.test(path));
    if (!rule) return undefined;
    if (rule.passLeft > 0) {
      rule.passLeft--;
      return undefined;
    }
    rule.left--;
    return rule.mode;
  };

  const forward = (req: IncomingMessage, body: Buffer): Promise<{ status: number; headers: IncomingHttpHeaders; body: Buffer }> =>
    new Promise((resolve, reject) => {
      const out = httpRequest(
        { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: { ...endToEnd(req.headers), "content-length": String(body.length) } },
        (res) => void readBody(res).then((b) => resolve({ status: res.statusCode ?? 502, headers: res.headers, body: b }), reject),
      );
      out.on("error", reject);
      out.end(body);
    });

  const hold = (entry: SeenRequest, res: ServerResponse): void => {
    holding.add(entry);
    // Released only when the client gives up (its timeout closes the connection).
    res.on("close", () => holding.delete(entry));
  };

  const server = createServer((req, res) => {
    void (async () => {
      const body = await readBody(req);
      const method = req.method ?? "GET";
      const path = req.url ?? "/";
      const entry: SeenRequest = { method, path, body: body.toString("utf8"), outcome: "forwarded" };
      seen.push(entry);
      if (refusing) {
        entry.outcome = "refused";
        req.socket.destroy();
        return;
      }
      const mode = take(method, path);
      if (mode === "request") {
        entry.outcome = "held request";
        hold(entry, res);
        return;
      }
      let answer: Awaited<ReturnType<typeof forward>>;
      try {
        answer = await forward(req, body);
      } catch {
        entry.outcome = "refused";
        req.socket.destroy();
        return;
      }
      entry.status = answer.status;
      if (mode === "answer") {
        entry.outcome = "held answer";
        hold(entry, res);
        return;
      }
      res.writeHead(answer.status, { ...endToEnd(answer.headers), "content-length": String(answer.body.length) });
      res.end(answer.body);
    })().catch(() => req.socket.destroy());
  });
  server.on("connection", (socket: Socket) => {
    if (refusing) {
      socket.destroy();
      return;
    }
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    withhold(rule) {
      rules.push({ ...rule, passLeft: rule.pass ?? 0, left: rule.times ?? 1 });
    },
    down() {
      refusing = true;
      for (const s of sockets) s.destroy();
    },
    up() {
      refusing = false;
    },
    held: () => [...holding],
    async waitForHeld(n, timeoutMs = 15_000) {
      const end = Date.now() + timeoutMs;
      while (holding.size < n) {
        if (Date.now() > end) throw new Error(`timed out waiting for ${n} held request(s); seen: ${seen.map((r) => `${r.method} ${r.path} ${r.outcome}`).join(", ")}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async stop() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
