/** The feed fetcher against real local HTTP servers: redirects (issue 9.4) and charsets (issue 11.2). */
import { test, after, before } from "node:test";
import assert from "node:assert/strict";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import iconv from "iconv-lite";
import { fetchFeed, type Fetched, type FetchFailure, type FetchOptions } from "../../src/sources/feed/http.js";
import { parseFeed } from "../../src/sources/feed/parse.js";
import type { Result } from "../../src/util/result.js";

type Route = (req: IncomingMessage, res: ServerResponse) => void;
type Running = { server: Server; port: number; routes: Map<string, Route>; hits: string[] };

async function serve(): Promise<Running> {
  const routes = new Map<string, Route>();
  const hits: string[] = [];
  const server = createServer((req, res) => {
    hits.push(req.url ?? "");
    const route = routes.get(req.url ?? "");
    if (route) route(req, res);
    else res.writeHead(404).end("no");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, port: (server.address() as AddressInfo).port, routes, hits };
}

let a: Running;
let b: Running;
let dir: string;
before(async () => {
  a = await serve();
  b = await serve();
  dir = await mkdtemp(join(tmpdir(), "ttrelay-feed-http-"));
});
after(async () => {
  await new Promise((r) => a.server.close(r));
  await new Promise((r) => b.server.close(r));
  await rm(dir, { recursive: true, force: true });
});

const FEED = `<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>x</title><item><guid>EXN-1</guid><title>ok</title></item></channel></rss>`;
const redirect = (location: string): Route => (_req, res) => void res.writeHead(302, { location }).end();
const feed = (body: Buffer | string, contentType = "application/rss+xml"): Route => (_req, res) => void res.writeHead(200, { "content-type": contentType }).end(body);
const options = (extra: Partial<FetchOptions> = {}): FetchOptions => ({ timeoutMs: 5_000, maxBytes: 1_000_000, ...extra });

function failure(r: Result<Fetched, FetchFailure>): string {
  assert.equal(r.ok, false, `expected a refusal, got ${JSON.stringify(r)}`);
  return r.ok ? "" : r.error.message;
}
function document(r: Result<Fetched, FetchFailure>): Extract<Fetched, { kind: "document" }> {
  assert.ok(r.ok && r.value.kind === "document", JSON.stringify(r));
  return r.value;
}

void test("redirects: the same host is followed; another host or port is refused and named, unless listed", async () => {
  a.routes.set("/feed.rss", feed(FEED));
  a.routes.set("/moved", redirect("/feed.rss"));
  a.routes.set("/to-other-port", redirect(`http://127.0.0.1:${b.port}/feed.rss`));
  a.routes.set("/to-localhost", redirect(`http://localhost:${a.port}/feed.rss`));
  b.routes.set("/feed.rss", feed(FEED));
  const base = `http://127.0.0.1:${a.port}`;

  assert.equal(document(await fetchFeed(`${base}/moved`, {}, options())).finalUrl, `${base}/feed.rss`);

  const hitsBefore = b.hits.length;
  assert.match(failure(await fetchFeed(`${base}/to-other-port`, {}, options())), new RegExp(`redirect to http://127\\.0\\.0\\.1:${b.port}/feed\\.rss refused.*redirectHosts`));
  assert.equal(b.hits.length, hitsBefore, "the refused target was never contacted");
  assert.match(failure(await fetchFeed(`${base}/to-localhost`, {}, options())), new RegExp(`redirect to http://localhost:${a.port}/feed\\.rss refused`));

  assert.equal(document(await fetchFeed(`${base}/to-other-port`, {}, options({ redirectHosts: [`127.0.0.1:${b.port}`] }))).finalUrl, `http://127.0.0.1:${b.port}/feed.rss`);
  assert.equal(document(await fetchFeed(`${base}/to-localhost`, {}, options({ redirectHosts: ["localhost"] }))).finalUrl, `http://localhost:${a.port}/feed.rss`);
});

const latin1Feed = (declared: string | undefined): Buffer =>
  iconv.encode(
    `<?xml version="1.0"${declared ? ` encoding="${declared}"` : ""}?><rss version="2.0"><channel><title>NORDUnet</title><item><guid>N-1</guid><title>Fibre cut Malmö–Köln</title></item></channel></rss>`.replace("–", "-"),
    "latin1",
  );

void test("charset: HTTP charset, else the XML declaration, else a BOM, else UTF-8; bad bytes are reported", async () => {
  a.routes.set("/latin1-http", feed(latin1Feed(undefined), "application/rss+xml; charset=ISO-8859-1"));
  a.routes.set("/latin1-xml", feed(latin1Feed("ISO-8859-1"), "application/rss+xml"));
  a.routes.set("/http-wins", feed(latin1Feed("UTF-8"), 'text/xml; charset="iso-8859-1"'));
  a.routes.set("/bom", feed(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(FEED.replace("ok", "Malmö"))])));
  a.routes.set("/utf16", feed(Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(FEED.replace('encoding="UTF-8"', 'encoding="UTF-16"').replace("ok", "Malmö"), "utf16le")])));
  a.routes.set("/wrong", feed(latin1Feed(undefined), "application/rss+xml; charset=utf-8"));
  const base = `http://127.0.0.1:${a.port}`;
  const title = async (path: string): Promise<{ title: string | undefined; problems: readonly { message: string }[] }> => {
    const d = document(await fetchFeed(`${base}${path}`, {}, options()));
    const parsed = await parseFeed(d.body, 10_000);
    assert.ok(parsed.ok, `${path}: ${parsed.ok ? "" : parsed.error}`);
    const t = parsed.value.items[0]?.values.title;
    return { title: typeof t === "string" ? t : undefined, problems: d.problems ?? [] };
  };
  const cases: { path: string; expected: string }[] = [
    { path: "/latin1-http", expected: "Fibre cut Malmö-Köln" },
    { path: "/latin1-xml", expected: "Fibre cut Malmö-Köln" },
    { path: "/http-wins", expected: "Fibre cut Malmö-Köln" },
    { path: "/bom", expected: "Malmö" },
    { path: "/utf16", expected: "Malmö" },
  ];
  for (const { path, expected } of cases) {
    const r = await title(path);
    assert.equal(r.title, expected, path);
    assert.deepEqual(r.problems, [], path);
  }
  const wrong = await title("/wrong");
  assert.equal(wrong.title, "Fibre cut Malm\uFFFD-K\uFFFDln");
  assert.match(wrong.problems[0]?.message ?? "", /2 byte sequences are not valid utf-8 \(the first at byte \d+\)/);
});

void test("charset of a local file (replay): the XML declaration", async () => {
  const file = join(dir, "latin1.xml");
  await writeFile(file, latin1Feed("ISO-8859-1"));
  const d = document(await fetchFeed(pathToFileURL(file).href, {}, options()));
  assert.match(d.body, /Malmö-Köln/);
  assert.equal(d.encoding, "windows-1252");
});

void test("a big document is said as soon as it is known to be big: by its declared length, or by what has arrived", { timeout: 30_000 }, async () => {
  const big = FEED.replace("</channel>", `<description>${"x".repeat(300_000)}</description></channel>`);
  let released: () => void = () => undefined;
  const held = new Promise<void>((r) => (released = r));
  a.routes.set("/big-declared", feed(big));
  // Sent in two writes without a length: the second waits until the first was said to be big.
  a.routes.set("/big-streamed", (_req, res) => {
    res.writeHead(200, { "content-type": "application/rss+xml" });
    res.write(big.slice(0, 200_000));
    void held.then(() => res.end(big.slice(200_000)));
  });
  a.routes.set("/small", feed(FEED));
  const told: string[] = [];
  const onBig = (name: string): FetchOptions["onBig"] => ({ bytes: 150_000, then: () => void told.push(name) });
  document(await fetchFeed(`http://127.0.0.1:${a.port}/big-declared`, {}, options({ onBig: onBig("declared") })));
  const streamed = fetchFeed(`http://127.0.0.1:${a.port}/big-streamed`, {}, options({ onBig: { bytes: 150_000, then: () => (told.push("streamed"), released()) } }));
  assert.equal(document(await streamed).body, big);
  document(await fetchFeed(`http://127.0.0.1:${a.port}/small`, {}, options({ onBig: onBig("small") })));
  assert.deepEqual(told, ["declared", "streamed"]);
  // Only a hint: a hint that fails does not fail the fetch.
  const failing: FetchOptions["onBig"] = { bytes: 150_000, then: () => { throw new Error("no threads"); } };
  assert.equal(document(await fetchFeed(`http://127.0.0.1:${a.port}/big-declared`, {}, options({ onBig: failing }))).body, big);
});
