// The lowdb store adapter on a real filesystem: atomic writes, coalescing, damage detection, archive.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ticketContentHash } from "../../src/model/ticket.js";
import { LowStore } from "../../src/store/lowdb-store.js";
import type { StoredTicket } from "../../src/store/types.js";
import { sampleClosedTicket, sampleTicket } from "../fixtures/tickets.js";

const dirP = mkdtemp(join(tmpdir(), "ttrelay-store-"));
after(async () => rm(await dirP, { recursive: true, force: true }));

const stored = (ticket: StoredTicket["ticket"], lastChange: string): StoredTicket => ({
  ticket,
  hash: ticketContentHash(ticket),
  source: "exn",
  firstSeen: lastChange,
  lastChange,
  rooms: ["r@conference.example.net"],
});

void test("a new store starts empty; changes are on disk after commit and read back after reopening", async () => {
  const path = join(await dirP, "a", "store.json");
  const opened = await LowStore.open(path);
  assert.ok(opened.ok);
  const store = opened.value;
  assert.deepEqual(store.pendingOutbox(), []);
  assert.equal(store.feedState("x").primed, false);
  const t = sampleTicket();
  store.update((d) => (d.tickets[t.TT_ID] = stored(t, "2026-11-28T10:00:00Z")));
  // Many commits in one tick share one file rewrite and all resolve after it.
  await Promise.all([store.commit(), store.commit(), store.commit()]);
  const again = await LowStore.open(path);
  assert.ok(again.ok);
  assert.equal(again.value.ticket(t.TT_ID)?.ticket.TT_Title, t.TT_Title);
  // No temp file left behind by the atomic write.
  assert.deepEqual((await readdir(join(await dirP, "a"))).sort(), ["store.json"]);
});

void test("a damaged store is reported with where it is wrong, and left untouched", async () => {
  const path = join(await dirP, "damaged.json");
  await writeFile(path, JSON.stringify({ version: 1, feeds: {}, tickets: { X: { ticket: { TT_ID: 5 } } }, outbox: [] }));
  const opened = await LowStore.open(path);
  assert.equal(opened.ok, false);
  assert.match(opened.ok ? "" : opened.error, /damaged\.json is damaged at \$\.tickets\.X\.ticket\.\w+: .*move it aside/);
  assert.match(await readFile(path, "utf8"), /"TT_ID":5/);

  await writeFile(path, "{ truncated");
  const truncated = await LowStore.open(path);
  assert.match(truncated.ok ? "" : truncated.error, /is not readable JSON/);
});

void test("tickets final for long enough move to the archive; open and recent ones stay live", async () => {
  const path = join(await dirP, "archive.json");
  const opened = await LowStore.open(path);
  assert.ok(opened.ok);
  const store = opened.value;
  const open = sampleTicket({ Original_ID: "1" });
  const closedOld = sampleClosedTicket({ Original_ID: "2" });
  const closedNew = sampleClosedTicket({ Original_ID: "3" });
  store.update((d) => {
    d.tickets[open.TT_ID] = stored(open, "2026-11-01T00:00:00Z");
    d.tickets[closedOld.TT_ID] = stored(closedOld, "2026-11-26T00:00:00Z");
    d.tickets[closedNew.TT_ID] = stored(closedNew, "2026-11-28T09:00:00Z");
  });
  const moved = await store.archiveFinal(new Date("2026-11-28T10:00:00Z"), 24);
  assert.deepEqual(moved, [closedOld.TT_ID]);
  assert.deepEqual(Object.keys((await LowStore.open(path).then((r) => (r.ok ? r.value.data : undefined)))?.tickets ?? {}).sort(), [open.TT_ID, closedNew.TT_ID].sort());
  const archived = (await readFile(`${path}.archive.jsonl`, "utf8")).trim().split("\n").map((l) => JSON.parse(l) as { ticket: { TT_ID: string }; archivedAt: string });
  assert.deepEqual(archived.map((a) => a.ticket.TT_ID), [closedOld.TT_ID]);
  assert.equal(archived[0]?.archivedAt, "2026-11-28T10:00:00.000Z");
});
