// The Maildir mail source and `ttrelay ingest-mail` as an MTA pipe runs it (a separate process,
// stdin, sysexits codes); DKIM refusals with mails signed here by a throw-away key (only the DNS
// look-up of the key is answered by the test: DNS is not what is tested); `replay --mail`.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { dkimSign, type DNSResolver } from "mailauth";
import { MailSourceConfig } from "../../config/schema.js";
import { createMaildirMailSource } from "../../src/sources/mail/maildir.js";
import { dkimVerifier } from "../../src/sources/mail/dkim.js";
import { RecordingIntake } from "../support/recording-intake.js";
import { captureLogger } from "../helpers/log-capture.js";
import { bcopMail, faultMail } from "../fixtures/mail.js";

const entry = new URL("../../scripts/ttrelay-dev.ts", import.meta.url).pathname;
const dirP = mkdtemp(join(tmpdir(), "ttrelay-maildir-"));
after(async () => rm(await dirP, { recursive: true, force: true }));

function ttrelay(args: string[], stdin?: string | Buffer): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", entry, ...args], { stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.on("error", () => undefined); // the CLI may stop reading early (too large)
    child.stdin.end(stdin ?? "");
  });
}

const senders = (dkim?: { domains?: string[] }) => [
  {
    name: "Nordlink",
    match: { from: ["*@nordlink.example"] },
    partnerId: "NORDLINK",
    ...(dkim ? { dkim } : {}),
    bcop: { providers: ["nordlink.example"], service: "Lambda Stockholm" },
    mapping: { Original_ID: { from: "text", regex: "^Ticket:\\s*(\\S+)", flags: "im" } },
  },
];

async function waitFor(check: () => Promise<boolean> | boolean, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.fail(`timed out waiting for ${what}`);
}

void test("ingest-mail writes the message atomically into new/; the watching source takes it in and moves it to cur/ as seen", { timeout: 90_000 }, async () => {
  const maildir = join(await dirP, "bot-maildir");
  const config = MailSourceConfig.parse({ id: "partner-mail", maildir, senders: senders() });
  const intake = new RecordingIntake();
  const source = createMaildirMailSource(config, { log: captureLogger().log, scanMs: 60_000 });
  await source.start(intake.runtime(config.id));
  try {
    const r = await ttrelay(["ingest-mail", "--maildir", maildir], bcopMail({ sequence: 1 }));
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout.trim(), new RegExp(`^${maildir}/new/\\d+\\.M\\d+P\\d+R[0-9a-f]+\\.`));
    assert.deepEqual(await readdir(join(maildir, "tmp")), []);
    // Found by the directory watcher (the scan timer is a minute).
    await intake.untilBatches(1, 10_000);
    assert.equal(intake.versions()[0]?.ticket.TT_ID, "NORDLINK_NL-MW-4711");
    await waitFor(async () => (await readdir(join(maildir, "new"))).length === 0, "the message to leave new/");
    const cur = await readdir(join(maildir, "cur"));
    assert.equal(cur.length, 1);
    assert.match(cur[0] ?? "", /:2,S$/);
  } finally {
    await source.stop();
  }
});

void test("ingest-mail refuses what it cannot deliver with the codes MTAs read (65 bounce, 64 usage)", { timeout: 60_000 }, async () => {
  const maildir = join(await dirP, "caps");
  const big = await ttrelay(["ingest-mail", "--maildir", maildir, "--max-bytes", "2000"], "x".repeat(5000));
  assert.equal(big.code, 65);
  assert.match(big.stderr, /message larger than 2000 bytes; not delivered/);
  const empty = await ttrelay(["ingest-mail", "--maildir", maildir], "");
  assert.equal(empty.code, 65);
  const usage = await ttrelay(["ingest-mail"], "x");
  assert.equal(usage.code, 64);
  assert.match(usage.stderr, /needs --config/);
  const newDir = await readdir(join(maildir, "new")).catch(() => []);
  assert.deepEqual(newDir, []);
});

void test("a message the bot committed but had not moved yet (crash) is not taken in twice", { timeout: 30_000 }, async () => {
  const maildir = join(await dirP, "crash");
  const config = MailSourceConfig.parse({ id: "partner-mail", maildir, senders: senders() });
  const intake = new RecordingIntake();
  let source = createMaildirMailSource(config, { log: captureLogger().log, scanMs: 60_000 });
  await source.start(intake.runtime(config.id));
  await writeFile(join(maildir, "new", "1700000000.M1P1R1.host"), faultMail({ ticket: "NL-T-7", messageId: "crash@nordlink.example" }));
  await source.checkNow();
  await source.stop();
  assert.equal(intake.batches.length, 1);
  // As if the rename into cur/ had not happened: the same file is back in new/.
  const [moved] = await readdir(join(maildir, "cur"));
  await writeFile(join(maildir, "new", "1700000000.M1P1R1.host"), await readFile(join(maildir, "cur", moved ?? "")));
  source = createMaildirMailSource(config, { log: captureLogger().log, scanMs: 60_000 });
  await source.start(intake.runtime(config.id));
  try {
    await source.checkNow();
    assert.equal(intake.batches.length, 1, "no second batch");
    assert.deepEqual(await readdir(join(maildir, "new")), []);
  } finally {
    await source.stop();
  }
});

// A throw-away key pair and the DNS record that publishes it (RFC 6376 §3.6.1).
const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
const otherKey = generateKeyPairSync("rsa", { modulusLength: 2048 });
const txt = (key: typeof publicKey): string => `v=DKIM1; k=rsa; p=${key.export({ type: "spki", format: "der" }).toString("base64")}`;
const resolver: DNSResolver = (name, rrtype) => {
  if (rrtype === "TXT" && name === "mx2026._domainkey.nordlink.example") return Promise.resolve([[txt(publicKey)]]);
  if (rrtype === "TXT" && name === "mx2026._domainkey.evil.example") return Promise.resolve([[txt(otherKey.publicKey)]]);
  return Promise.reject(Object.assign(new Error(`no ${rrtype} for ${name}`), { code: "ENOTFOUND" }));
};

async function signed(message: string, domain: string, key: typeof privateKey): Promise<string> {
  const signer = { signingDomain: domain, selector: "mx2026", privateKey: key.export({ type: "pkcs1", format: "pem" }) };
  // mailauth reads the keys from `signatureData` (one entry per signature).
  const r = await dkimSign(message, { ...signer, signatureData: [signer] });
  assert.deepEqual(r.errors, []);
  return r.signatures + message;
}

void test("a sender that must sign is heard only with a passing DKIM signature of its domain; refusals name sender and reason", { timeout: 60_000 }, async () => {
  const maildir = join(await dirP, "dkim");
  const config = MailSourceConfig.parse({ id: "partner-mail", maildir, senders: senders({}) });
  const intake = new RecordingIntake();
  const source = createMaildirMailSource(config, { log: captureLogger().log, scanMs: 60_000, verifyDkim: dkimVerifier(resolver) });
  await source.start(intake.runtime(config.id));
  try {
    const good = await signed(faultMail({ ticket: "NL-T-1", messageId: "good@nordlink.example" }), "nordlink.example", privateKey);
    const tampered = (await signed(faultMail({ ticket: "NL-T-2", messageId: "tampered@nordlink.example" }), "nordlink.example", privateKey)).replace(
      "A fibre cut",
      "No fibre cut",
    );
    const foreign = await signed(faultMail({ ticket: "NL-T-3", messageId: "foreign@nordlink.example" }), "evil.example", otherKey.privateKey);
    const unsigned = faultMail({ ticket: "NL-T-4", messageId: "unsigned@nordlink.example" });
    const files: [string, string][] = [
      ["1700000001.a.host", good],
      ["1700000002.b.host", tampered],
      ["1700000003.c.host", foreign],
      ["1700000004.d.host", unsigned],
    ];
    for (const [name, body] of files) await writeFile(join(maildir, "new", name), body);
    await source.checkNow();
    assert.deepEqual(intake.versions().map((v) => v.ticket.TT_ID), ["NORDLINK_NL-T-1"]);
    const refusals = intake.batches.flatMap((b) => b.logs ?? []).filter((l) => l.msg === "mail refused");
    assert.deepEqual(
      refusals.map((l) => [l.fields.messageId, l.fields.sender, l.fields.code]),
      [
        ["tampered@nordlink.example", "maint@nordlink.example", "dkim-failed"],
        ["foreign@nordlink.example", "maint@nordlink.example", "dkim-failed"],
        ["unsigned@nordlink.example", "maint@nordlink.example", "dkim-failed"],
      ],
    );
    assert.match(String(refusals[0]?.fields.reason), /must have a passing DKIM signature of nordlink\.example; signatures: nordlink\.example (fail|neutral)/);
    assert.match(String(refusals[1]?.fields.reason), /signatures: evil\.example pass/);
    assert.match(String(refusals[2]?.fields.reason), /the mail is not signed/);
  } finally {
    await source.stop();
  }
});

void test("replay --mail prints the tickets a BCOP mail would produce, and names why another would produce none", { timeout: 60_000 }, async () => {
  const dir = await dirP;
  const cfg = JSON.parse(await readFile("config/example.json", "utf8")) as Record<string, unknown>;
  cfg.mail = [{ id: "partner-mail", maildir: join(dir, "replay-md"), senders: senders() }];
  // Its tickets go to the first room, so replay shows the message the room would get too.
  const firstRoom = ((cfg.rooms as { jid: string }[])[0] ?? { jid: "" }).jid;
  cfg.routes = [...(cfg.routes as unknown[]), { rooms: [firstRoom], when: { feeds: ["partner-mail"] } }];
  const cfgFile = join(dir, "replay.json");
  await writeFile(cfgFile, JSON.stringify(cfg));
  const eml = join(dir, "notice.eml");
  await writeFile(eml, bcopMail({ status: "CANCELLED", sequence: 3 }));
  const r = await ttrelay(["replay", "--config", cfgFile, "--mail", eml]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /=== NORDLINK_NL-MW-4711 \(Cancelled\) ===/);
  assert.match(r.stdout, /"Time_Window_Start": "2026-12-01T01:00:00Z"/);
  assert.match(r.stdout, /notice\.eml: versions, 1 ticket from sender Nordlink/);
  assert.ok(r.stdout.includes(`message to ${firstRoom}:\n  *NORDLINK_NL-MW-4711* new`), r.stdout);
  assert.match(r.stdout, /Planned maintenance/);
  await writeFile(eml, faultMail({ from: "noc@evil.example" }));
  const refused = await ttrelay(["replay", "--config", cfgFile, "--mail", eml, "--json"]);
  assert.equal(refused.code, 1);
  const line = JSON.parse(refused.stdout.trim().split("\n")[0] ?? "{}") as Record<string, unknown>;
  assert.equal(line.kind, "refused");
  assert.equal(line.code, "unknown-sender");
});
