// The IMAP mail source against a real Dovecot: mails appended over IMAP by the test, read by UID
// (IDLE and poll), remembered across restarts, moved when done, refused when not from a sender.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { ImapFlow } from "imapflow";
import { MailSourceConfig, type ConfigInput } from "../../config/schema.js";
import { createImapMailSource, type ImapMailSource } from "../../src/sources/mail/imap.js";
import { startDovecot, type DovecotInstance } from "../support/dovecot.js";
import { RecordingIntake } from "../support/recording-intake.js";
import { captureLogger } from "../helpers/log-capture.js";
import { bcopMail, faultMail, mail } from "../fixtures/mail.js";

let dovecot: DovecotInstance;
before(async () => {
  dovecot = await startDovecot({ users: [{ name: "noc", password: "noc-secret" }] });
});
after(async () => dovecot.stop());

type MailInput = NonNullable<ConfigInput["mail"]>[number];

function sourceConfig(mailbox: string, extra: Partial<MailInput> = {}): MailSourceConfig {
  return MailSourceConfig.parse({
    id: "nordlink-mail",
    imap: { host: dovecot.host, port: dovecot.port, secure: false, user: "noc", password: { env: "UNUSED" }, mailbox, pollSeconds: 3600 },
    senders: [
      {
        name: "Nordlink",
        match: { from: ["*@nordlink.example"] },
        partnerId: "NORDLINK",
        bcop: { providers: ["nordlink.example"] },
        mapping: { Original_ID: { from: "text", regex: "^Ticket:\\s*(\\S+)", flags: "im" } },
      },
    ],
    ...extra,
  });
}

async function imap<T>(fn: (c: ImapFlow) => Promise<T>): Promise<T> {
  const c = new ImapFlow({ host: dovecot.host, port: dovecot.port, secure: false, auth: { user: "noc", pass: "noc-secret" }, logger: false });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.logout();
  }
}

const append = (mailbox: string, ...messages: string[]): Promise<void> =>
  imap(async (c) => {
    const boxes = await c.list();
    if (!boxes.some((b) => b.path === mailbox)) await c.mailboxCreate(mailbox);
    for (const m of messages) await c.append(mailbox, m);
  });

const uidsIn = (mailbox: string): Promise<number[]> =>
  imap(async (c) => {
    const lock = await c.getMailboxLock(mailbox);
    try {
      return (await c.search({ all: true }, { uid: true })) || [];
    } finally {
      lock.release();
    }
  });

async function running(config: MailSourceConfig, intake: RecordingIntake, log = captureLogger().log): Promise<ImapMailSource> {
  const source = createImapMailSource(config, { password: "noc-secret", log });
  await source.start(intake.runtime(config.id));
  return source;
}

void test("a BCOP mail already in the mailbox is read on start; later ones arrive by IDLE, without a poll", { timeout: 60_000 }, async () => {
  await append("Idle", bcopMail({ sequence: 0, status: "TENTATIVE" }));
  const intake = new RecordingIntake();
  const source = await running(sourceConfig("Idle"), intake);
  try {
    await intake.untilBatches(1);
    assert.equal(intake.versions()[0]?.ticket.TT_ID, "NORDLINK_NL-MW-4711");
    assert.equal(intake.versions()[0]?.ticket.TT_Status, "Opened");
    // pollSeconds is an hour: only the server's IDLE notice can bring this one in.
    await append("Idle", bcopMail({ sequence: 1, status: "CONFIRMED", stamp: "2026-11-21T09:00:00Z" }));
    await intake.untilBatches(2, 10_000);
    const second = intake.versions()[1];
    assert.equal(second?.ticket.TT_Status, "Updated");
    assert.equal(second?.provenance.sequence, 1);
    const state = intake.states.get("nordlink-mail") as { imap: { lastUid: number; uidValidity: string } };
    assert.equal(state.imap.lastUid, 2);
    assert.match(state.imap.uidValidity, /^\d+$/);
  } finally {
    await source.stop();
  }
});

void test("UIDs are remembered across restarts: nothing is taken in twice, only what came while it was down", { timeout: 60_000 }, async () => {
  await append("Restart", faultMail({ ticket: "NL-T-1", messageId: "r1@nordlink.example" }), faultMail({ ticket: "NL-T-2", messageId: "r2@nordlink.example" }));
  const intake = new RecordingIntake();
  const config = sourceConfig("Restart");
  let source = await running(config, intake);
  await intake.untilBatches(2);
  await source.stop();
  await append("Restart", faultMail({ ticket: "NL-T-3", messageId: "r3@nordlink.example" }));
  source = await running(config, intake);
  try {
    await source.checkNow();
    await source.checkNow();
    assert.deepEqual(
      intake.versions().map((v) => v.ticket.TT_ID),
      ["NORDLINK_NL-T-1", "NORDLINK_NL-T-2", "NORDLINK_NL-T-3"],
    );
  } finally {
    await source.stop();
  }
});

void test("processed messages are moved to the configured folder; a failed commit leaves the message to be read again", { timeout: 60_000 }, async () => {
  await append("Move", faultMail({ ticket: "NL-T-10", messageId: "m10@nordlink.example" }));
  const intake = new RecordingIntake();
  intake.failNext(1);
  const captured = captureLogger();
  const { log } = captured;
  const source = await running(sourceConfig("Move", { imap: { host: dovecot.host, port: dovecot.port, secure: false, user: "noc", password: { env: "UNUSED" }, mailbox: "Move", moveTo: "Move/Done", pollSeconds: 3600 } }), intake, log);
  try {
    await source.checkNow();
    assert.equal(intake.batches.length, 0, "the first commit failed: nothing recorded");
    assert.ok(captured.find("mail not taken in: the store write failed; it is tried again"));
    assert.equal((await uidsIn("Move")).length, 1, "not moved while not committed");
    await source.checkNow();
    assert.equal(intake.batches.length, 1);
    assert.deepEqual(await uidsIn("Move"), []);
    assert.equal((await uidsIn("Move/Done")).length, 1);
  } finally {
    await source.stop();
  }
});

void test("mails from anyone but a configured sender, too large or malformed are remembered, logged with sender and reason, never submitted as tickets", { timeout: 60_000 }, async () => {
  const big = mail({ from: "maint@nordlink.example", messageId: "big@nordlink.example", text: "x".repeat(4000) + "\r\n" });
  await append(
    "Refuse",
    faultMail({ from: "Mallory <noc@evil.example>", messageId: "evil@evil.example" }),
    big,
    "this is not a mail at all\r\n",
    faultMail({ messageId: "nofields@nordlink.example", text: "Nothing to see\r\n" }),
  );
  const intake = new RecordingIntake();
  const captured = captureLogger();
  const { log } = captured;
  const source = await running(sourceConfig("Refuse", { maxBytes: 3000 }), intake, log);
  try {
    await intake.untilBatches(4);
    assert.deepEqual(intake.versions(), []);
    for (const b of intake.batches) assert.equal(b.versions.length, 0);
    const logs = intake.batches.flatMap((b) => b.logs ?? []);
    const refused = logs.find((l) => l.msg === "mail refused");
    assert.equal(refused?.fields.sender, "noc@evil.example");
    assert.equal(refused?.fields.code, "unknown-sender");
    assert.match(String(refused?.fields.reason), /noc@evil\.example is not a configured sender/);
    const codes = logs.filter((l) => l.msg === "mail not used").map((l) => l.fields.code);
    assert.deepEqual(codes, ["too-large", "malformed-mime", "missing-fields"]);
    assert.equal(captured.find("mail refused"), undefined, "logged by the intake once committed, not before");
    const state = intake.states.get("nordlink-mail") as { imap: { lastUid: number } };
    assert.equal(state.imap.lastUid, 4);
  } finally {
    await source.stop();
  }
});

void test("a wrong password or an unreachable server is reported in health and retried, not thrown", { timeout: 30_000 }, async () => {
  const intake = new RecordingIntake();
  const captured = captureLogger();
  const { log } = captured;
  const source = createImapMailSource(sourceConfig("INBOX"), { password: "wrong", log });
  await source.start(intake.runtime("nordlink-mail"));
  try {
    const deadline = Date.now() + 10_000;
    while (!captured.find("IMAP session failed; reconnecting") && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    assert.ok(captured.find("IMAP session failed; reconnecting"));
    assert.equal(source.health?.().ok, false);
    assert.ok(source.health?.().lastError);
  } finally {
    await source.stop();
  }
});
