// Webhook sources on the bot's HTTP listener, called by real HTTP clients and by a real
// Alertmanager: credentials, content type, size, bad bodies, 202 only after the commit.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { WebhookConfig, type ConfigInput } from "../../config/schema.js";
import { HttpListener } from "../../src/http/listener.js";
import { createWebhookSource } from "../../src/sources/webhook/source.js";
import { hmacSignature } from "../../src/sources/webhook/auth.js";
import { ticketActivity, nocActor } from "../../src/model/activity.js";
import type { TicketSource } from "../../src/sources/types.js";
import { startAlertmanager, type AlertmanagerInstance } from "../support/alertmanager.js";
import { RecordingIntake } from "../support/recording-intake.js";
import { captureLogger } from "../helpers/log-capture.js";
import { sampleTicket as ticket } from "../fixtures/tickets.js";
import { mkdtemp, rm } from "node:fs/promises";
import { connect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { defaultCorrelationConfig } from "../../src/correlate/engine.js";
import { IncidentBook } from "../../src/intake/incidents.js";
import { IntakeService } from "../../src/intake/intake.js";
import { FileStore } from "../../src/store/file-store.js";

type HookInput = NonNullable<ConfigInput["webhooks"]>[number];
const hook = (input: HookInput): WebhookConfig => WebhookConfig.parse(input);

const intake = new RecordingIntake();
const listener = new HttpListener({ address: "127.0.0.1", port: 0, log: captureLogger().log });
let base = "";
const sources: TicketSource[] = [];

before(async () => {
  const { port } = await listener.start();
  base = `http://127.0.0.1:${port}`;
  const defs: [WebhookConfig, string][] = [
    [hook({ id: "alerts", format: "alertmanager", partnerId: "MON", auth: { bearer: { value: "am-token" } }, mapping: { Affected_Service: { from: "labels.service" } } }), "am-token"],
    [hook({ id: "json", format: "json", partnerId: "ACME", auth: { hmac: { secret: { value: "hmac-key" } } }, maxBytes: 2048, items: "$.events[*]", fields: { id: "$.key", title: "$.summary", sev: "$.level", hosts: "$.hosts[*]" }, mapping: { Original_ID: { from: "id" }, TT_Title: { from: "title" }, TT_Impact_Assessment: { from: "sev", map: { down: "No connectivity", slow: "Minor performance impact" } }, Network_Node: { from: "hosts" } } }), "hmac-key"],
    [hook({ id: "peer", format: "as2", partners: ["FARNOC"], auth: { bearer: { value: "peer-token" } } }), "peer-token"],
  ];
  for (const [config, secret] of defs) {
    const s = createWebhookSource(config, { http: listener, secret, log: captureLogger().log, ownPartners: new Set(["EXN"]) });
    await s.start(intake.runtime(config.id));
    sources.push(s);
  }
});
after(async () => {
  for (const s of sources) await s.stop();
  await listener.stop();
});

async function post(path: string, body: string, headers: Record<string, string> = {}): Promise<{ status: number; json: Record<string, unknown>; headers: Headers }> {
  const r = await fetch(`${base}${path}`, { method: "POST", body, headers: { "Content-Type": "application/json", ...headers } });
  const text = await r.text();
  return { status: r.status, json: text ? (JSON.parse(text) as Record<string, unknown>) : {}, headers: r.headers };
}

const jsonBody = JSON.stringify({ events: [{ key: "E-1", summary: "Router down in Lund", level: "down", hosts: ["lund-r1", "lund-r2"] }] });
const signed = (body: string, secret = "hmac-key"): Record<string, string> => ({ "X-Hub-Signature-256": hmacSignature(Buffer.from(body), secret) });

void test("HMAC-signed JSON is taken in through its JSON paths and rules; 202 only after the commit", async () => {
  const before = intake.batches.length;
  const r = await post("/hooks/json", jsonBody, signed(jsonBody));
  assert.equal(r.status, 202, JSON.stringify(r.json));
  assert.deepEqual(r.json.accepted, [{ ttId: "ACME_E-1", outcome: "created" }]);
  const batch = intake.batches[before];
  assert.equal(batch?.source, "json");
  const t = batch?.versions[0]?.ticket;
  assert.equal(t?.TT_Title, "Router down in Lund");
  assert.equal(t?.TT_Impact_Assessment, "No connectivity");
  assert.deepEqual(t?.Network_Node, ["lund-r1", "lund-r2"]);
});

void test("credentials: none is 401 (with a Bearer challenge), wrong ones 403, checked before the body is looked at", async () => {
  const rows: [string, string, Record<string, string>, number][] = [
    ["/hooks/json", jsonBody, {}, 401],
    ["/hooks/json", jsonBody, { "X-Hub-Signature-256": "sha1=abc" }, 401],
    ["/hooks/json", jsonBody, signed(jsonBody, "other-key"), 403],
    ["/hooks/json", jsonBody, signed(jsonBody.replace("Lund", "Malmö")), 403],
    ["/hooks/alerts", "{}", {}, 401],
    ["/hooks/alerts", "{}", { Authorization: "Bearer am-tokem" }, 403],
    ["/hooks/alerts", "{}", { Authorization: "Basic YTpi" }, 401],
    ["/hooks/peer", "{}", { Authorization: "Bearer am-token" }, 403], // another hook's token
  ];
  const before = intake.batches.length;
  for (const [path, body, headers, status] of rows) {
    const r = await post(path, body, headers);
    assert.equal(r.status, status, `${path} ${JSON.stringify(headers)}: ${JSON.stringify(r.json)}`);
  }
  assert.equal((await post("/hooks/alerts", "{}")).headers.get("www-authenticate"), 'Bearer realm="ttrelay"');
  assert.equal(intake.batches.length, before, "nothing taken in");
});

void test("bad input is 400 with the reason; wrong type 415; too large 413; unknown hook 404; GET 405", async () => {
  const bearer = { Authorization: "Bearer am-token" };
  const notJson = "{ nope";
  const cases: [string, string, Record<string, string>, number, RegExp][] = [
    ["/hooks/alerts", notJson, bearer, 400, /body is not JSON/],
    ["/hooks/alerts", JSON.stringify({ version: "4", alerts: [] }), bearer, 400, /not an Alertmanager webhook \(version 4\): groupKey/],
    ["/hooks/alerts", "{}", { ...bearer, "Content-Type": "text/plain" }, 415, /content type must be application\/json/],
    ["/hooks/json", JSON.stringify({ events: [{ summary: "no key" }] }), {}, 400, /Original_ID: no value/],
    ["/hooks/json", JSON.stringify({ events: [{ key: "E-2", summary: "x", level: "catastrophic" }] }), {}, 400, /TT_Impact_Assessment: "catastrophic" is not one of/],
    ["/hooks/json", JSON.stringify({ events: [{ pad: "x".repeat(4000) }] }), {}, 413, /larger than 2048/],
    ["/hooks/nope", "{}", {}, 404, /nothing at \/hooks\/nope/],
  ];
  const before = intake.batches.length;
  for (const [path, body, headers, status, reason] of cases) {
    const h = path === "/hooks/json" ? { ...signed(body), ...headers } : headers;
    const r = await post(path, body, h);
    assert.equal(r.status, status, `${path}: ${JSON.stringify(r.json)}`);
    assert.match(String(r.json.error), reason);
  }
  const get = await fetch(`${base}/hooks/alerts`);
  assert.equal(get.status, 405);
  assert.equal(get.headers.get("allow"), "POST");
  assert.equal(intake.batches.length, before);
});

void test("a failed commit is 503 with nothing applied; the retry is taken in", async () => {
  const body = JSON.stringify({ events: [{ key: "E-3", summary: "Flapping link", level: "slow" }] });
  intake.failNext(1);
  const before = intake.batches.length;
  const failed = await post("/hooks/json", body, signed(body));
  assert.equal(failed.status, 503);
  assert.equal(failed.headers.get("retry-after"), "10");
  assert.equal(intake.batches.length, before);
  const retried = await post("/hooks/json", body, signed(body));
  assert.equal(retried.status, 202);
});

void test("AS2 activities from a NOC without XMPP: validated as a peer's, only for its configured partners", async () => {
  const far = { type: "Organization" as const, id: "urn:ttrelay:noc:FARNOC", name: "Far NOC" };
  const t = ticket({ Partner_ID: "FARNOC", Original_ID: "991", TT_ID: "FARNOC_991" });
  const activity = ticketActivity("Create", t, far, new Date("2026-11-28T10:00:00Z"));
  const ok = await post("/hooks/peer", JSON.stringify(activity), { Authorization: "Bearer peer-token" });
  assert.equal(ok.status, 202, JSON.stringify(ok.json));
  const v = intake.batches.at(-1)?.versions[0];
  assert.equal(v?.ticket.TT_ID, "FARNOC_991");
  assert.equal(v?.merge, "replace");
  assert.equal(v?.ordered, true);
  assert.deepEqual(v?.actor, far);
  const other = ticketActivity("Create", ticket({ Partner_ID: "OTHER", Original_ID: "1", TT_ID: "OTHER_1" }), far, new Date());
  const refused = await post("/hooks/peer", JSON.stringify(other), { Authorization: "Bearer peer-token" });
  assert.equal(refused.status, 403);
  assert.match(String(refused.json.error), /may not speak for OTHER/);
  const own = ticketActivity("Create", ticket({ Partner_ID: "EXN", Original_ID: "1", TT_ID: "EXN_1" }), nocActor({ id: "EXN", name: "x" }), new Date());
  const ownReply = await post("/hooks/peer", JSON.stringify(own), { Authorization: "Bearer peer-token" });
  assert.equal(ownReply.status, 403);
  assert.match(String(ownReply.json.error), /EXN is this NOC's own Partner_ID/);
  const broken = await post("/hooks/peer", JSON.stringify({ ...activity, object: { ...activity.object, "nttdm:ticket": { ...t, TT_Status: "Sleeping" } } }), { Authorization: "Bearer peer-token" });
  assert.equal(broken.status, 400);
  assert.match(String(broken.json.error), /not a valid ticket activity: object\.nttdm:ticket\.TT_Status/);
});

void test("the listener takes other routes (health, metrics) and refuses a route mounted twice", async () => {
  const remove = listener.route("GET", "/health", () => ({ status: 200, body: { ok: true } }));
  try {
    const r = await fetch(`${base}/health`);
    assert.equal(r.status, 200);
    assert.deepEqual(await r.json(), { ok: true });
    assert.throws(() => listener.route("GET", "/health", () => ({ status: 200 })), /mounted twice/);
    const metrics = listener.route("GET", "/metrics", () => ({ status: 200, body: "up 1\n", contentType: "text/plain; version=0.0.4" }));
    assert.equal(await (await fetch(`${base}/metrics`)).text(), "up 1\n");
    metrics();
  } finally {
    remove();
  }
  assert.equal((await fetch(`${base}/health`)).status, 404);
});

void test("a real Alertmanager: a firing alert opens a ticket by fingerprint, its resolution closes it", { timeout: 90_000 }, async () => {
  let am: AlertmanagerInstance | undefined;
  try {
    am = await startAlertmanager({ webhookUrl: `${base}/hooks/alerts`, bearerToken: "am-token" });
    const before = intake.batches.length;
    const startsAt = new Date(Date.now() - 60_000).toISOString();
    const alert = {
      labels: { alertname: "LinkDown", instance: "sto-r1:9100", service: "IP transit", severity: "critical" },
      annotations: { summary: "Link sto-r1 → upp-r1 down", description: "ifOperStatus is down" },
      startsAt,
      generatorURL: "http://prometheus.example/graph?g0.expr=up",
    };
    await am.postAlerts([alert]);
    await intake.untilBatches(before + 1, 30_000);
    const firing = intake.batches[before]?.versions[0];
    assert.equal(intake.batches[before]?.source, "alerts");
    assert.match(firing?.ticket.TT_ID ?? "", /^MON_[0-9a-f]{16}$/);
    assert.equal(firing?.ticket.TT_Status, "Opened");
    assert.equal(firing?.ticket.TT_Title, "Link sto-r1 → upp-r1 down");
    assert.equal(firing?.ticket.TT_Priority, "High");
    assert.equal(firing?.ticket.Affected_Service, "IP transit");
    assert.equal(firing?.ticket.TT_Source, "Monitoring");
    assert.deepEqual(firing?.ticket.Network_Node, ["sto-r1:9100"]);
    assert.equal(firing?.provenance.item, firing?.ticket.Original_ID);
    // Resolved: the same alert with an end in the past.
    const endsAt = new Date(Date.now() - 1000).toISOString();
    await am.postAlerts([{ ...alert, endsAt }]);
    const deadline = Date.now() + 30_000;
    while (!intake.versions().some((v) => v.ticket.TT_ID === firing?.ticket.TT_ID && v.ticket.TT_Status === "Closed") && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 100));
    const closed = intake.versions().find((v) => v.ticket.TT_ID === firing?.ticket.TT_ID && v.ticket.TT_Status === "Closed");
    assert.ok(closed, "resolved notification reached the source");
    assert.equal(closed.ticket.TT_Close_Datetime, endsAt.replace(/\.\d{3}Z$/, "Z"));
    assert.equal(closed.ticket.End_Datetime, closed.ticket.TT_Close_Datetime);
    assert.equal(closed.ticket.TT_Open_Datetime, firing?.ticket.TT_Open_Datetime);
  } finally {
    await am?.stop();
  }
});

void test("through the real intake: a ticket with a value too long to post is 400 with the field named, and nothing is stored", async () => {
  const dir = await mkdtemp(join(tmpdir(), "ttrelay-hook-"));
  const opened = await FileStore.open(join(dir, "store.json"));
  assert.ok(opened.ok);
  const store = opened.value;
  const incidents = new IncidentBook(store.state, defaultCorrelationConfig);
  const real = new IntakeService({ store, incidents, routes: [], render: { maxLongDescription: 600, timeZone: "UTC" }, actor: nocActor({ id: "EXN", name: "ExampleNet" }), systems: [], log: captureLogger().log, now: () => new Date() });
  const own = new HttpListener({ address: "127.0.0.1", port: 0, log: captureLogger().log });
  const config = hook({ id: "big", format: "json", partnerId: "ACME", auth: { bearer: { value: "big-token" } }, items: "$.events[*]", fields: { id: "$.key", title: "$.summary" }, mapping: { Original_ID: { from: "id" }, TT_Title: { from: "title" } } });
  const source = createWebhookSource(config, { http: own, secret: "big-token", log: captureLogger().log, ownPartners: new Set() });
  try {
    await source.start({ intake: real, ticket: (id) => store.ticket(id), state: () => undefined, now: () => new Date() });
    const { port } = await own.start();
    const send = (key: string) =>
      fetch(`http://127.0.0.1:${port}/hooks/big`, { method: "POST", headers: { "Content-Type": "application/json", Authorization: "Bearer big-token" }, body: JSON.stringify({ events: [{ key, summary: "Router down" }] }) });
    const refused = await send("K".repeat(50_000));
    assert.equal(refused.status, 400);
    assert.match(String(((await refused.json()) as { error: unknown }).error), /Original_ID is 50000 characters long; at most 200/);
    assert.equal([...store.values("tickets")].length, 0, "nothing stored");
    const fine = await send("K-1");
    assert.equal(fine.status, 202);
    assert.ok(store.ticket("ACME_K-1"));
  } finally {
    await source.stop();
    await own.stop();
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
});

void test("the listener drops connections over its cap (a flood of idle sockets) and serves again once they close", async () => {
  const logs = captureLogger();
  const capped = new HttpListener({ address: "127.0.0.1", port: 0, log: logs.log, maxConnections: 3 });
  capped.route("GET", "/health", () => ({ status: 200, body: { ok: true } }));
  const { port } = await capped.start();
  const idle = await Promise.all(
    Array.from({ length: 3 }, () => new Promise<Socket>((resolve) => {
      const s = connect(port, "127.0.0.1", () => resolve(s));
    })),
  );
  try {
    await new Promise((r) => setTimeout(r, 100));
    // (Plain node:http: fetch would retry a reset connection until its own timeout.)
    const { get } = await import("node:http");
    const fourth = await new Promise<string>((resolve) => {
      const q = get({ host: "127.0.0.1", port, path: "/health", agent: false, timeout: 5_000 }, (r) => resolve(`status ${r.statusCode}`));
      q.on("error", (e: NodeJS.ErrnoException) => resolve(`error ${e.code}`));
      q.on("timeout", () => (q.destroy(), resolve("timeout")));
    });
    assert.equal(fourth, "error ECONNRESET", "the fourth connection is dropped at once");
    assert.ok(logs.find("HTTP connection dropped: too many open at once"));
    for (const s of idle) s.destroy();
    await new Promise((r) => setTimeout(r, 100));
    assert.equal((await fetch(`http://127.0.0.1:${port}/health`)).status, 200);
  } finally {
    for (const s of idle) s.destroy();
    await capped.stop();
  }
});
