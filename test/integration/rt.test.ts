// Integration tests for the RT 5 dev server and the REST2 adapter: a real Request Tracker
// (scripts/install-rt.sh) on a clean copy of its SQLite database, plus a few fake HTTP servers for
// the ways RT (or what stands in front of it) can misbehave.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { requestTrackerAvailable, startRequestTracker } from "../support/rt.js";
import { createRtClient, type RtError, type RtPort } from "../../src/ticket-systems/rt/client.js";
import { RtMappingSchema, rtToTicket } from "../../src/ticket-systems/rt/map.js";
import type { Result } from "../../src/util/result.js";

// Integration tests need the real server: a missing RT fails loudly rather than skipping.
assert.ok(await requestTrackerAvailable(), "Request Tracker 5 is not installed: run `bash scripts/install-rt.sh`");

const QUEUE = "NOC Test's queue"; // a quote, to exercise TicketSQL escaping
const CF = "NOC-Ref";
const BOT = "ttrelay-bot";
const BOT_PASSWORD = "bot-password-1";

const started = Date.now();
const rt = await startRequestTracker();
const startMs = Date.now() - started;
after(() => rt.stop());

const setupStarted = Date.now();
await rt.createQueue(QUEUE);
await rt.createCustomField(CF, QUEUE);
await rt.createUser(BOT, BOT_PASSWORD);
const token = await rt.createToken(BOT);
const setupMs = Date.now() - setupStarted;

const bot: RtPort = createRtClient({ url: rt.url, auth: { scheme: "token", secret: token } });
const root: RtPort = createRtClient({ url: rt.url, auth: { scheme: "basic", secret: `root:${rt.rootPassword}` } });

/** The value of an ok result; fails the test with the typed error otherwise. */
function value<T>(r: Result<T, RtError>): T {
  if (!r.ok) assert.fail(`expected ok, got ${JSON.stringify(r.error)}`);
  return r.value;
}

function failure<T>(r: Result<T, RtError>): RtError {
  if (r.ok) assert.fail(`expected an RtError, got ok ${JSON.stringify(r.value)}`);
  return r.error;
}

/** A created ticket shared by the tests below, in order. */
let ticketId = 0;
const beforeCreate = new Date(Date.now() - 2_000).toISOString();

void test("the dev server started on loopback with a clean database", (t) => {
  t.diagnostic(`rt-server answered after ${String(startMs)} ms; queue + custom field + user + token took ${String(setupMs)} ms`);
  assert.match(rt.url, /^http:\/\/127\.0\.0\.1:\d+$/);
  assert.ok(rt.pid > 0);
  assert.ok(rt.databaseFile.startsWith(rt.dir), "the instance works on its own copy of the database");
});

void test("a ticket created with token auth reads back with its custom field, creator and an ETag", async () => {
  const created = value(
    await bot.createTicket({ queue: QUEUE, subject: "Forth Link Failure", content: "Link down, detected by monitoring", customFields: { [CF]: "GRNET-5985" } }),
  );
  assert.deepEqual(created.ignoredCustomFields, []);
  assert.equal(created.verifyError, undefined);
  // A clean database: the first ticket of the instance. (If not, something wrote into the template
  // DB the install created; reinstall RT or pass startRequestTracker a clean templateDatabase.)
  assert.equal(created.id, 1, "the instance should start from the freshly installed database");
  ticketId = created.id;

  const t = value(await bot.getTicket(ticketId));
  assert.equal(t.id, ticketId);
  assert.equal(t.subject, "Forth Link Failure");
  assert.equal(t.status, "new");
  assert.equal(t.creator, BOT);
  assert.equal(t.owner, "Nobody");
  assert.deepEqual(t.customFields, { [CF]: ["GRNET-5985"] });
  assert.equal(t.resolved, undefined, "RT's epoch 'unset' date is dropped");
  assert.match(t.created, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  assert.match(t.etag, /^"\d+"$/, "RT's ETag is the quoted id of the latest transaction");
});

void test("an unknown custom field is reported: RT ignores it silently and still answers 201", async () => {
  const created = value(
    await bot.createTicket({ queue: QUEUE, subject: "Second ticket", content: "x", customFields: { [CF]: "REF-2", "No Such Field": "lost" } }),
  );
  assert.deepEqual(created.ignoredCustomFields, ["No Such Field"]);
  const t = value(await bot.getTicket(created.id));
  assert.deepEqual(t.customFields, { [CF]: ["REF-2"] });
});

void test("search by LastUpdated finds the queue's tickets, pages, and honours the since bound", async () => {
  const all = value(await bot.searchUpdatedSince(QUEUE, beforeCreate));
  assert.deepEqual(
    all.tickets.map((t) => t.id),
    [1, 2],
  );
  assert.equal(all.next, undefined);
  const first = all.tickets[0];
  assert.ok(first);
  assert.equal(first.subject, "Forth Link Failure");
  assert.equal(first.creator, BOT);
  assert.deepEqual(first.customFields, { [CF]: ["GRNET-5985"] });

  const paged = createRtClient({ url: rt.url, auth: { scheme: "token", secret: token }, perPage: 1 });
  const page1 = value(await paged.searchUpdatedSince(QUEUE, beforeCreate));
  assert.equal(page1.tickets.length, 1);
  assert.equal(page1.next, 2);
  const page2 = value(await paged.searchUpdatedSince(QUEUE, beforeCreate, page1.next));
  assert.equal(page2.tickets.length, 1);
  assert.equal(page2.next, undefined);
  assert.notEqual(page1.tickets[0]?.id, page2.tickets[0]?.id);

  const future = value(await bot.searchUpdatedSince(QUEUE, new Date(Date.now() + 3_600_000).toISOString()));
  assert.deepEqual(future.tickets, []);
  assert.deepEqual(value(await bot.searchUpdatedSince("No Such Queue", beforeCreate)).tickets, []);

  const bad = failure(await bot.searchUpdatedSince(QUEUE, "yesterday"));
  assert.equal(bad.kind, "rejected");
});

void test("comment and correspond change the status; an invalid status is a typed rejection", async () => {
  const note = value(await bot.comment(ticketId, "Waiting for the carrier", "stalled"));
  assert.ok(note.transactionId !== undefined && note.transactionId > 0);
  assert.ok(note.messages.includes("Comments added"), note.messages.join("|"));
  assert.equal(value(await bot.getTicket(ticketId)).status, "stalled");

  const reply = value(await bot.correspond(ticketId, "Carrier is on site", "open"));
  assert.ok(reply.messages.includes("Correspondence added"), reply.messages.join("|"));
  assert.equal(value(await bot.getTicket(ticketId)).status, "open");

  // RT answers 201 with "Status 'bogus' isn't a valid status for this ticket."; the comment is added.
  const bogus = failure(await bot.comment(ticketId, "typo", "bogus"));
  assert.equal(bogus.kind, "rejected");
  assert.match(bogus.message, /isn't a valid status/);
});

void test("update with If-Match applies the change; a stale ETag is a conflict", async () => {
  const before = value(await bot.getTicket(ticketId));
  const updated = value(
    await bot.update(ticketId, { Subject: "Forth Link Failure (carrier)", Status: "resolved", CustomFields: { [CF]: "GRNET-5986" } }, before.etag),
  );
  assert.equal(updated.ticket.subject, "Forth Link Failure (carrier)");
  assert.equal(updated.ticket.status, "resolved");
  assert.deepEqual(updated.ticket.customFields, { [CF]: ["GRNET-5986"] });
  assert.ok(updated.ticket.resolved !== undefined, "RT stamps Resolved");
  assert.notEqual(updated.ticket.etag, before.etag);

  const stale = failure(await bot.update(ticketId, { Subject: "lost update" }, before.etag));
  assert.equal(stale.kind, "conflict");
  assert.equal(stale.status, 412);
  assert.equal(value(await bot.getTicket(ticketId)).subject, "Forth Link Failure (carrier)");

  // Someone else (root) comments: that too moves the ETag on.
  const current = value(await bot.getTicket(ticketId));
  value(await root.comment(ticketId, "root was here"));
  assert.equal(failure(await bot.update(ticketId, { Status: "open" }, current.etag)).kind, "conflict");

  // A field RT does not apply is reported, not swallowed.
  const fresh = value(await bot.getTicket(ticketId));
  const unknownCf = failure(await bot.update(ticketId, { CustomFields: { "No Such Field": "x" } }, fresh.etag));
  assert.equal(unknownCf.kind, "rejected");
  assert.match(unknownCf.message, /No Such Field/);
});

void test("history lists the transactions with their creators, so the bot can tell its own changes", async () => {
  const txns = value(await bot.history(ticketId));
  assert.ok(txns.length >= 6, JSON.stringify(txns));
  const [create] = txns;
  assert.equal(create?.type, "Create");
  assert.equal(create.creator, BOT);
  assert.deepEqual(
    txns.map((t) => t.id),
    [...txns.map((t) => t.id)].sort((a, b) => a - b),
    "oldest first",
  );
  const types = new Set(txns.map((t) => t.type));
  for (const type of ["Create", "Comment", "Correspond", "Status", "Set", "CustomField"]) assert.ok(types.has(type), `history has a ${type}`);
  const status = txns.find((t) => t.type === "Status" && t.newValue === "resolved");
  assert.equal(status?.oldValue, "open");
  assert.equal(status.creator, BOT);
  const byRoot = txns.filter((t) => t.creator === "root");
  assert.deepEqual(
    byRoot.map((t) => t.type),
    ["Comment"],
  );
});

void test("the RT ticket maps to a valid NTTDM ticket", async () => {
  const t = value(await bot.getTicket(ticketId));
  const mapping = RtMappingSchema.parse({
    partnerId: "GRNET",
    customFields: { [CF]: "Related_External_Tickets" },
    defaults: {
      TT_Type: "Operational",
      TT_Short_Description: "Core Line Fault",
      Type: "Unscheduled",
      TT_Impact_Assessment: "No connectivity",
      Location: "HERAKLION",
      Start_Datetime: t.created,
    },
  });
  const ticket = rtToTicket(t, mapping, { history: "resolved in RT" });
  if (!ticket.ok) assert.fail(JSON.stringify(ticket.error));
  assert.equal(ticket.value.TT_ID, `GRNET_${String(ticketId)}`);
  assert.equal(ticket.value.TT_Status, "Closed");
  assert.equal(ticket.value.TT_Close_Datetime, t.resolved);
  assert.deepEqual(ticket.value.Related_External_Tickets, ["GRNET-5986"]);
});

void test("RT's refusals come back typed: bad password, unknown ticket, queue without rights", async () => {
  const wrong = createRtClient({ url: rt.url, auth: { scheme: "basic", secret: "root:not-the-password" } });
  const denied = failure(await wrong.getTicket(ticketId));
  assert.equal(denied.kind, "auth");
  assert.equal(denied.status, 401);
  assert.equal(failure(await createRtClient({ url: rt.url, auth: { scheme: "token", secret: "1-99-deadbeef" } }).getTicket(1)).kind, "auth");

  const missing = failure(await bot.getTicket(99_999));
  assert.equal(missing.kind, "not-found");
  assert.equal(missing.status, 404);
  // RT itself answers the history of a missing ticket with an empty 200.
  assert.equal(failure(await bot.history(99_999)).kind, "not-found");
  assert.equal(failure(await bot.update(99_999, { Subject: "x" }, '"1"')).kind, "not-found");
  assert.equal(failure(await bot.comment(99_999, "x")).kind, "not-found");

  // RT says "No permission to create tickets in the queue 'No Such Queue'" (403) for a queue that does not exist.
  const noQueue = failure(await bot.createTicket({ queue: "No Such Queue", subject: "x", content: "x" }));
  assert.equal(noQueue.kind, "auth");
  assert.equal(noQueue.status, 403);

  // A basic-auth client works the same as a token one.
  assert.equal(value(await root.getTicket(ticketId)).id, ticketId);
});

// ---------------------------------------------------------------------------------------------
// What else may answer: fake servers on loopback

const fakes: Server[] = [];
after(() => Promise.all(fakes.map((s) => new Promise<void>((resolve) => s.close(() => resolve())))));

/** A one-route fake "RT": every request gets `reply`. Returns the base URL. */
async function fake(reply: (res: ServerResponse) => void): Promise<string> {
  const server = createServer((req, res) => {
    req.resume();
    reply(res);
  });
  fakes.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return `http://127.0.0.1:${String(port)}`;
}

void test("HTML error pages, wrong shapes, redirects and hangs are typed errors, never throws", async () => {
  const client = (url: string, timeoutMs?: number): RtPort => createRtClient({ url, auth: { scheme: "token", secret: "1-2-x" }, timeoutMs });

  const html500 = await fake((res) => {
    res.writeHead(500, { "Content-Type": "text/html" }).end("<html><head><title>RT Error</title></head><body>boom</body></html>");
  });
  const e500 = failure(await client(html500).getTicket(1));
  assert.equal(e500.kind, "unreachable");
  assert.equal(e500.status, 500);
  assert.match(e500.message, /HTML.*RT Error/);

  const html200 = await fake((res) => {
    res.writeHead(200, { "Content-Type": "text/html; charset=utf-8" }).end("<!DOCTYPE html><html><title>Login</title></html>");
  });
  assert.equal(failure(await client(html200).getTicket(1)).kind, "invalid-response");

  const badShape = await fake((res) => {
    res.writeHead(200, { "Content-Type": "application/json", ETag: '"1"' }).end(JSON.stringify({ id: 1, Subject: 42 }));
  });
  const shape = failure(await client(badShape).getTicket(1));
  assert.equal(shape.kind, "invalid-response");
  assert.match(shape.message, /unexpected shape/);

  const badJson = await fake((res) => {
    res.writeHead(200, { "Content-Type": "application/json" }).end("{not json");
  });
  assert.equal(failure(await client(badJson).history(1)).kind, "invalid-response");

  const redirect = await fake((res) => {
    res.writeHead(302, { Location: "/" }).end("Login required");
  });
  assert.equal(failure(await client(redirect).getTicket(1)).kind, "auth");

  const hang = await fake(() => undefined);
  const slow = failure(await client(hang, 300).searchUpdatedSince("q", "2026-01-01T00:00:00Z"));
  assert.equal(slow.kind, "timeout");

  assert.throws(() => createRtClient({ url: html500, auth: { scheme: "token", secret: "x" }, userAgent: "Mozilla/5.0" }), /Mozilla/);
});

// Last: it stops the server.
void test("a stopped RT is unreachable", async () => {
  await rt.stop();
  const down = failure(await bot.getTicket(ticketId));
  assert.equal(down.kind, "unreachable");
  assert.match(down.message, /ECONNREFUSED/);
});
