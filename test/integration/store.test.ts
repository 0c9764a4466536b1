// The file store on a real filesystem: snapshot + journal, atomic commits, coalescing, damage
// detection, a crash mid-write, a failing disk, version 1 stores, and the archive.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { appendFile, mkdtemp, readFile, readdir, rm, stat, symlink, unlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { defaultCorrelationConfig } from "../../src/correlate/engine.js";
import { IncidentBook } from "../../src/intake/incidents.js";
import { IntakeService } from "../../src/intake/intake.js";
import { nocActor } from "../../src/model/activity.js";
import { ticketContentHash } from "../../src/model/ticket.js";
import { FileStore } from "../../src/store/file-store.js";
import { ChangeSet, type StoredTicket } from "../../src/store/types.js";
import { captureLogger } from "../helpers/log-capture.js";
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

const open = async (path: string, opts: Parameters<typeof FileStore.open>[1] = {}): Promise<FileStore> => {
  const r = await FileStore.open(path, opts);
  assert.ok(r.ok, r.ok ? "" : r.error);
  return r.value;
};

void test("a new store starts empty; changes are on disk after commit and read back after reopening", async () => {
  const path = join(await dirP, "a", "store.json");
  const store = await open(path);
  assert.deepEqual([...store.values("outbox")], []);
  assert.equal(store.get("sources", "x"), undefined);
  const t = sampleTicket();
  // Many commits in one tick share one write and all resolve after it.
  await Promise.all([
    store.commit(new ChangeSet().put("tickets", t.TT_ID, stored(t, "2026-11-28T10:00:00Z"))),
    store.commit(new ChangeSet().put("sources", "exn", { primed: true })),
    store.commit(new ChangeSet().put("sources", "other", { primed: false })),
  ]);
  assert.equal(store.ticket(t.TT_ID)?.ticket.TT_Title, t.TT_Title, "applied in memory once written");
  const again = await open(path);
  assert.equal(again.ticket(t.TT_ID)?.ticket.TT_Title, t.TT_Title);
  assert.deepEqual(again.get("sources", "exn"), { primed: true });
  // A snapshot replaces the journal; no temp file is left behind by its atomic write.
  await again.compact();
  await again.close();
  await store.close();
  assert.deepEqual((await readdir(join(await dirP, "a"))).sort(), ["store.json", "store.json.journal"]);
  assert.equal((await stat(`${path}.journal`)).size, 0);
  assert.equal((await open(path)).ticket(t.TT_ID)?.ticket.TT_Title, t.TT_Title, "read back from the snapshot");
});

void test("a big journal becomes a snapshot once the commits pause, or at once when it grows four times past the threshold", async () => {
  const path = join(await dirP, "idle", "store.json");
  const store = await open(path, { compactAtBytes: 4096, compactIdleMs: 200 });
  const t = sampleTicket();
  const journalBytes = async (): Promise<number> => (await stat(`${path}.journal`)).size;
  const put = (i: number): Promise<void> => store.commit(new ChangeSet().put("sources", `s${i}`, { pad: "x".repeat(1000), i }));
  // Past the threshold, commits in a row: no snapshot while they keep coming.
  for (let i = 0; i < 8; i++) await put(i);
  assert.ok((await journalBytes()) > 4096, "the journal is past the threshold");
  await new Promise((r) => setTimeout(r, 50));
  await put(8);
  assert.ok((await journalBytes()) > 4096, "no snapshot between two commits");
  // A pause: the snapshot is written and the journal starts again; the state reads back whole.
  await new Promise((r) => setTimeout(r, 600));
  assert.equal(await journalBytes(), 0, "folded into the snapshot after the pause");
  await store.commit(new ChangeSet().put("tickets", t.TT_ID, stored(t, "2026-11-28T10:00:00Z")));
  const copy = await FileStore.read(path);
  assert.ok(copy.ok);
  assert.equal(copy.value.sources.size, 9);
  assert.equal(copy.value.tickets.get(t.TT_ID)?.ticket.TT_ID, t.TT_ID, "the commit after the snapshot is in the journal");
  // Without a pause: once the journal is four times the threshold and half of it written over, the
  // snapshot is written at once.
  let smallest = Infinity;
  for (let i = 0; i < 40; i++) {
    await put(100 + (i % 5));
    smallest = Math.min(smallest, await journalBytes());
  }
  assert.ok(smallest < 4096, "a snapshot came in the middle of the run");
  assert.ok((await journalBytes()) < 4 * 4096 + 2048, "the journal stays bounded without a pause");
  // New records only: a snapshot would be no smaller, so it waits for the pause, up to sixteen times the threshold.
  await new Promise((r) => setTimeout(r, 600));
  assert.equal(await journalBytes(), 0);
  let largest = 0;
  smallest = Infinity;
  for (let i = 0; i < 100; i++) {
    await put(200 + i);
    largest = Math.max(largest, await journalBytes());
    if (largest > 5 * 4096) smallest = Math.min(smallest, await journalBytes());
  }
  assert.ok(largest > 5 * 4096, `no snapshot at four times the threshold for new records (largest ${largest})`);
  assert.ok(smallest < 4096, "a snapshot came once it was sixteen times the threshold");
  assert.ok(largest < 16 * 4096 + 2048, "bounded at sixteen times the threshold");
  // Counted in bytes: one big record written over at every commit, among a few small new ones, is
  // most of the journal dead (counting records, it looked like a quarter).
  await new Promise((r) => setTimeout(r, 600));
  assert.equal(await journalBytes(), 0);
  smallest = Infinity;
  largest = 0;
  for (let i = 0; i < 60; i++) {
    const c = new ChangeSet().put("sources", "big", { pad: "y".repeat(3000), i });
    for (let k = 0; k < 3; k++) c.put("sources", `small-${i}-${k}`, { i, k });
    await store.commit(c);
    largest = Math.max(largest, await journalBytes());
    smallest = Math.min(smallest, await journalBytes());
  }
  assert.ok(smallest < 4096 && largest < 4 * 4096 + 4096, `folded in at four times the threshold (largest ${largest})`);
  await store.close();
  const reopened = await open(path);
  assert.equal(reopened.size("sources"), 114 + 1 + 180);
  await reopened.close();
});

void test("a journal line is the commit's JSON: its sequence number and its changes as [collection, key, value], null for a deletion", async () => {
  const path = join(await dirP, "line", "store.json");
  const store = await open(path);
  const t = sampleTicket();
  await store.commit(new ChangeSet().put("tickets", t.TT_ID, stored(t, "2026-11-28T10:00:00Z")).put("sources", "s", { a: 1 }));
  await store.commit(new ChangeSet().delete("sources", "s"));
  await store.close();
  const expected = [
    { seq: 1, ops: [["tickets", t.TT_ID, stored(t, "2026-11-28T10:00:00Z")], ["sources", "s", { a: 1 }]] },
    { seq: 2, ops: [["sources", "s", null]] },
  ].map((l) => JSON.stringify(l) + "\n");
  assert.equal(await readFile(`${path}.journal`, "utf8"), expected.join(""));
});

void test("a damaged store is reported with where it is wrong, and left untouched", async () => {
  const path = join(await dirP, "damaged.json");
  await writeFile(path, JSON.stringify({ version: 1, feeds: {}, tickets: { X: { ticket: { TT_ID: 5 } } }, outbox: [] }));
  const opened = await FileStore.open(path);
  assert.equal(opened.ok, false);
  assert.match(opened.ok ? "" : opened.error, /damaged\.json is damaged at \$\.tickets\.X\.ticket\.\w+: .*move it aside/);
  assert.match(await readFile(path, "utf8"), /"TT_ID":5/);

  await writeFile(path, "{ truncated");
  const truncated = await FileStore.open(path);
  assert.match(truncated.ok ? "" : truncated.error, /is not readable JSON/);
});

void test("a file that is not a store (null, a list, a string, an object without a version) stops start-up and is left as it is", async () => {
  const cases: { name: string; text: string; error: RegExp }[] = [
    { name: "null", text: "null", error: /is not a ttrelay store \(it holds null\)/ },
    { name: "a list", text: "[]", error: /is not a ttrelay store \(it holds a list\)/ },
    { name: "an empty string", text: '""', error: /is not a ttrelay store \(it holds an empty string/ },
    { name: "an empty object", text: "{}", error: /version "missing"|version missing/ },
    { name: "an empty file", text: "", error: /is not readable JSON/ },
    { name: "another version", text: '{"version": 9}', error: /version 9/ },
  ];
  for (const c of cases) {
    const path = join(await dirP, `not-a-store-${c.name.replace(/\W/g, "-")}.json`);
    await writeFile(path, c.text);
    const r = await FileStore.open(path);
    assert.equal(r.ok, false, c.name);
    assert.match(r.ok ? "" : r.error, c.error, c.name);
    assert.match(r.ok ? "" : r.error, /move it aside/, c.name);
    assert.equal(await readFile(path, "utf8"), c.text, `${c.name}: untouched`);
  }
});

void test("a crash in the middle of a commit: the unfinished line is dropped, everything before it kept", async () => {
  const path = join(await dirP, "torn.json");
  const logs = captureLogger();
  const store = await open(path);
  const t1 = sampleTicket({ Original_ID: "1" });
  await store.commit(new ChangeSet().put("tickets", t1.TT_ID, stored(t1, "2026-11-28T10:00:00Z")));
  await store.close();
  // What a kill -9 during the next append leaves: half a line, no newline.
  await appendFile(`${path}.journal`, '{"seq":2,"ops":[["tickets","01_2",{"tick');
  const reopened = await open(path, { log: logs.log });
  assert.ok(reopened.ticket(t1.TT_ID));
  assert.equal(reopened.ticket("01_2"), undefined);
  assert.ok(logs.find(/unfinished write/), "the admin is told");
  // The next commit starts on a clean line: the journal reads back whole.
  const t3 = sampleTicket({ Original_ID: "3" });
  await reopened.commit(new ChangeSet().put("tickets", t3.TT_ID, stored(t3, "2026-11-28T10:01:00Z")));
  await reopened.close();
  const back = await FileStore.read(path);
  assert.ok(back.ok, back.ok ? "" : back.error);
  assert.deepEqual([...back.value.tickets.keys()].sort(), [t1.TT_ID, t3.TT_ID].sort());

  // A bad line in the middle is damage, not a crash: start-up stops and names the line.
  await writeFile(`${path}.journal`, `${(await readFile(`${path}.journal`, "utf8")).replace('"seq":', '"seq":"x",')}`);
  const bad = await FileStore.open(path);
  assert.match(bad.ok ? "" : bad.error, /torn\.json\.journal line 1/);
});

void test("a failed write (full disk) applies nothing and leaves the journal clean; the next write works", async () => {
  const path = join(await dirP, "full.json");
  const logs = captureLogger();
  const store = await open(path, { log: logs.log });
  // The journal is /dev/full: every write fails with ENOSPC, as on a full disk.
  await symlink("/dev/full", `${path}.journal`);
  const t1 = sampleTicket({ Original_ID: "1" });
  await assert.rejects(store.commit(new ChangeSet().put("tickets", t1.TT_ID, stored(t1, "2026-11-28T10:01:00Z"))), /ENOSPC|no space/i);
  assert.equal(store.ticket(t1.TT_ID), undefined, "nothing applied in memory");
  assert.equal(store.health.writable, false);
  assert.ok(logs.find("store write failed: nothing was applied; writes are tried again as work comes"));
  // The disk has room again: the next commit goes through and the store says so.
  await unlink(`${path}.journal`);
  const t2 = sampleTicket({ Original_ID: "2" });
  await store.commit(new ChangeSet().put("tickets", t2.TT_ID, stored(t2, "2026-11-28T10:02:00Z")));
  assert.ok(store.ticket(t2.TT_ID));
  assert.equal(store.ticket(t1.TT_ID), undefined, "the failed commit does not come back later");
  assert.equal(store.health.writable, true);
  assert.ok(logs.find("store writes work again"));
  await store.close();
  const back = await FileStore.read(path);
  assert.ok(back.ok);
  assert.deepEqual([...back.value.tickets.keys()], [t2.TT_ID]);
});

void test("a version 1 store (one JSON document) is converted, kept beside as .v1, and reads the same", async () => {
  const path = join(await dirP, "v1.json");
  const t = sampleTicket({ Original_ID: "7" });
  const v1 = {
    version: 1,
    feeds: { exn: { primed: true, validators: {}, seen: {}, failures: 0 } },
    tickets: { [t.TT_ID]: { ...stored(t, "2026-11-28T10:00:00Z"), rt: { id: 42, lastUpdated: "2026-11-28T09:00:00Z", lastTxn: 7 } } },
    incidents: {},
    audit: [],
    outbox: [{ id: "ttr-1", room: "r@conference.example.net", body: "hi", createdAt: "2026-11-28T10:00:00Z", attempts: 0 }],
    rt: { since: "2026-11-28T09:00:00Z" },
    rtLinks: { NORD_1: 9 },
    rtOutbox: [{ id: "rtw-1", ticketId: t.TT_ID, op: "comment", rtId: 42, text: "x", createdAt: "2026-11-28T10:00:00Z", attempts: 0 }],
  };
  await writeFile(path, JSON.stringify(v1));
  const store = await open(path);
  assert.deepEqual(store.ticket(t.TT_ID)?.upstream, { system: "rt", id: "42", cursor: { lastUpdated: "2026-11-28T09:00:00Z", lastTxn: 7 } });
  assert.deepEqual(store.get("sources", "rt"), { since: "2026-11-28T09:00:00Z" });
  assert.deepEqual(store.get("links", "rt\nNORD_1"), { system: "rt", id: "9" });
  assert.equal(store.get("writes", "rtw-1")?.ref, "42");
  assert.deepEqual([...store.values("outbox")].map((e) => e.id), ["ttr-1"]);
  await store.close();
  assert.match(await readFile(`${path}.v1`, "utf8"), /"version":1/);
  assert.ok((await open(path)).ticket(t.TT_ID), "the converted store reads back");
});

void test("tickets final for long enough move to the archive; open and recent ones stay live", async () => {
  const path = join(await dirP, "archive.json");
  const store = await open(path);
  const openTicket = sampleTicket({ Original_ID: "1" });
  const closedOld = sampleClosedTicket({ Original_ID: "2" });
  const closedNew = sampleClosedTicket({ Original_ID: "3" });
  await store.commit(
    new ChangeSet()
      .put("tickets", openTicket.TT_ID, stored(openTicket, "2026-11-01T00:00:00Z"))
      .put("tickets", closedOld.TT_ID, stored(closedOld, "2026-11-26T00:00:00Z"))
      .put("tickets", closedNew.TT_ID, stored(closedNew, "2026-11-28T09:00:00Z")),
  );
  const incidents = new IncidentBook(store.state, defaultCorrelationConfig);
  await store.commit(incidents.startup);
  const intake = new IntakeService({
    store,
    incidents,
    routes: [],
    render: { maxLongDescription: 600, timeZone: "UTC" },
    actor: nocActor({ id: "01", name: "GRNet" }),
    systems: [],
    log: captureLogger().log,
    now: () => new Date("2026-11-28T10:00:00Z"),
  });
  const moved = await intake.archive(24);
  assert.deepEqual(moved, [closedOld.TT_ID]);
  assert.equal(incidents.index.has(closedOld.TT_ID), false, "the correlation index follows the live store");
  await store.close();
  const back = await FileStore.read(path);
  assert.ok(back.ok);
  assert.deepEqual([...back.value.tickets.keys()].sort(), [openTicket.TT_ID, closedNew.TT_ID].sort());
  const archived = (await readFile(`${path}.archive.jsonl`, "utf8")).trim().split("\n").map((l) => JSON.parse(l) as { ticket: { TT_ID: string }; archivedAt: string });
  assert.deepEqual(archived.map((a) => a.ticket.TT_ID), [closedOld.TT_ID]);
  assert.equal(archived[0]?.archivedAt, "2026-11-28T10:00:00.000Z");
});

// A disk that fills up mid-line: write(2) writes part of the line and fails only on the next try.
// A file size limit (ulimit -f, with SIGXFSZ ignored) does exactly that on any filesystem.
void test("a write cut short by a filling disk is not counted as done: every commit that resolved is read back, the journal has no NUL hole", { timeout: 60_000 }, async () => {
  const path = join(await dirP, "short", "store.json");
  const storeUrl = new URL("../../src/store/file-store.ts", import.meta.url).href;
  const typesUrl = new URL("../../src/store/types.ts", import.meta.url).href;
  const script = `
    import { FileStore } from ${JSON.stringify(storeUrl)};
    import { ChangeSet } from ${JSON.stringify(typesUrl)};
    const r = await FileStore.open(${JSON.stringify(path)});
    if (!r.ok) throw new Error(r.error);
    const store = r.value;
    for (let i = 0; i < 20; i++) {
      const key = "k" + i;
      try {
        await store.commit(new ChangeSet().put("sources", key, { cursor: "x".repeat(700) + i }));
        process.stdout.write("committed " + key + "\\n");
      } catch (e) {
        process.stdout.write("refused " + key + " " + (e.code ?? e.message) + "\\n");
      }
    }
  `;
  const { spawn } = await import("node:child_process");
  const child = spawn("bash", ["-c", `trap '' XFSZ; ulimit -f 8; exec "${process.execPath}" --import tsx --input-type=module -e "$0"`, script], { stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (b: Buffer) => (stdout += b.toString()));
  child.stderr.on("data", (b: Buffer) => (stderr += b.toString()));
  const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
  assert.equal(code, 0, stderr);
  const committed = [...stdout.matchAll(/^committed (\S+)$/gm)].map((m) => m[1] ?? "");
  assert.ok(committed.length >= 3, `some commits fit under the limit: ${stdout}`);
  assert.match(stdout, /^refused k\d+ .*(EFBIG|ENOSPC)/m, "the disk filling up is refused, not taken for done");
  const journal = await readFile(`${path}.journal`);
  assert.equal(journal.includes(0), false, "no NUL hole in the journal");
  const back = await FileStore.read(path);
  assert.ok(back.ok, back.ok ? "" : back.error);
  assert.deepEqual([...back.value.sources.keys()].sort(), [...committed].sort(), "exactly the commits that resolved are on disk");
});

void test("a journal with a NUL hole (an older version's short write) opens: the cut commit is dropped with a warning, later ones kept, the journal rewritten", async () => {
  const path = join(await dirP, "hole", "store.json");
  const first = await open(path);
  await first.commit(new ChangeSet().put("sources", "a", { cursor: "1" }));
  await first.close();
  const line = (seq: number, key: string): string => JSON.stringify({ seq, ops: [["sources", key, { cursor: key }]] });
  const cut = line(2, "b").slice(0, 20);
  await appendFile(`${path}.journal`, cut + "\u0000".repeat(40) + line(3, "c") + "\n" + line(4, "d") + "\n");
  const logs = captureLogger();
  const store = await open(path, { log: logs.log });
  assert.deepEqual([...store.values("sources")].length, 3);
  assert.ok(store.get("sources", "a") && store.get("sources", "c") && store.get("sources", "d"));
  assert.equal(store.get("sources", "b"), undefined);
  assert.ok(logs.find("store journal had commits cut short by a full disk (NUL bytes): those commits are dropped, the rest is kept"));
  assert.equal((await readFile(`${path}.journal`)).includes(0), false);
  await store.close();
});
