import { test } from "node:test";
import assert from "node:assert/strict";
import { MailSourceConfig, type ConfigInput } from "../../config/schema.js";
import { readMail, mailValues, type MailMessage } from "../../src/sources/mail/message.js";
import { checkDkim, identifySender } from "../../src/sources/mail/senders.js";
import { afterMail, processMail, type MailDecision } from "../../src/sources/mail/process.js";
import { emptyMailState, rememberMail, MAX_RECENT, type MailState } from "../../src/sources/mail/state.js";
import type { Ticket } from "../../src/model/ticket.js";
import { bcopCalendar, bcopEvent, bcopMail, faultMail, mail } from "../fixtures/mail.js";

type MailInput = NonNullable<ConfigInput["mail"]>[number];
const NOW = new Date("2026-11-28T10:00:00Z");

const sourceWith = (senders: MailInput["senders"], extra: Partial<MailInput> = {}): MailSourceConfig =>
  MailSourceConfig.parse({ id: "partner-mail", maildir: "/unused", senders, ...extra });

const nordlink = {
  name: "Nordlink",
  match: { from: ["*@nordlink.example"] },
  partnerId: "NORDLINK",
  bcop: { providers: ["nordlink.example"] },
  mapping: {
    Original_ID: { from: "text", regex: "^Ticket:\\s*(\\S+)", flags: "im" },
    TT_Status: { from: "text", regex: "^Status:\\s*(.+)$", flags: "im", map: { open: "Opened", resolved: "Closed" } },
    TT_Impact_Assessment: { from: "text", regex: "^Impact:\\s*(.+)$", flags: "im" },
    Network_Link_Circuit: { from: "text", regex: "^Circuits:\\s*(.+)$", flags: "im" },
    Location: { from: "text", regex: "^Location:\\s*(.+)$", flags: "im" },
    TT_Close_Datetime: { from: "date" },
    End_Datetime: { from: "date" },
  },
};

async function decide(raw: string, source = sourceWith([nordlink]), state: MailState = emptyMailState(), known: (id: string) => Ticket | undefined = () => undefined): Promise<MailDecision> {
  return processMail(Buffer.from(raw), { source, state, known, now: NOW }, () => Promise.resolve([]));
}

async function msg(raw: string): Promise<MailMessage> {
  const r = await readMail(Buffer.from(raw), { maxBytes: 1e6, maxAttachments: 5, maxAttachmentBytes: 1e6 });
  assert.ok(r.ok);
  return r.value;
}

void test("senders are recognised by a configured header first, then List-Id, then From; anyone else is not", async () => {
  const senders = sourceWith([
    { name: "by-header", match: { header: { name: "X-Original-Sender", values: ["*@relay-partner.example"] } }, partnerId: "RP", mapping: {} },
    { name: "by-list", match: { listId: ["maint.*.example"] }, partnerId: "LIST", mapping: {} },
    { name: "by-from", match: { from: ["noc@carrier.example"] }, partnerId: "CAR", mapping: {} },
  ]).senders;
  const rows: [string, string | undefined, string | undefined][] = [
    [mail({ from: "list@lists.example", headers: ["X-Original-Sender: Ops <ops@relay-partner.example>"] }), "by-header", "ops@relay-partner.example"],
    [mail({ from: "list@lists.example", listId: "Maintenance <maint.carrier.example>" }), "by-list", "maint.carrier.example"],
    [mail({ from: "NOC <NOC@Carrier.Example>" }), "by-from", "noc@carrier.example"],
    [mail({ from: "noc@carrier.example.evil.example" }), undefined, undefined],
    [mail({ from: "x@lists.example", listId: "<maint.carrier.example.evil>" }), undefined, undefined],
  ];
  for (const [raw, name, identity] of rows) {
    const m = identifySender(await msg(raw), senders);
    assert.deepEqual([m?.sender.name, m?.identity], [name, identity]);
  }
});

void test("DKIM: a pass aligned with the sender's domain is needed; other results and domains are refused", async () => {
  const source = sourceWith([{ ...nordlink, match: { from: ["*@nordlink.example", "*@*.nordlink.example"] }, dkim: {} }, { ...nordlink, name: "listed", match: { from: ["*@other.example"] }, dkim: { domains: ["signer.example"] } }]);
  const m = identifySender(await msg(mail({ from: "maint@ops.nordlink.example" })), source.senders)!;
  const listed = identifySender(await msg(mail({ from: "x@other.example" })), source.senders)!;
  const rows: [typeof m, { domain: string; result: string }[], boolean][] = [
    [m, [{ domain: "ops.nordlink.example", result: "pass" }], true],
    [m, [{ domain: "nordlink.example", result: "pass" }], true], // organisational domain (relaxed)
    [m, [{ domain: "evil.example", result: "pass" }], false],
    [m, [{ domain: "ops.nordlink.example", result: "fail" }], false],
    [m, [{ domain: "example", result: "pass" }], false], // a bare TLD never aligns
    [m, [], false],
    [listed, [{ domain: "other.example", result: "pass" }], false],
    [listed, [{ domain: "signer.example", result: "pass" }], true],
  ];
  for (const [match, sigs, pass] of rows) assert.equal(checkDkim(match, sigs).ok, pass, JSON.stringify(sigs));
});

void test("plain-text mails: rules over mail fields make the ticket; replies in the thread update the same ticket", async () => {
  const first = await decide(faultMail());
  assert.equal(first.kind, "versions");
  if (first.kind !== "versions") return;
  const t = first.versions[0]!.ticket;
  assert.equal(t.TT_ID, "NORDLINK_NL-T-2093");
  assert.equal(t.TT_Status, "Opened");
  assert.equal(t.TT_Impact_Assessment, "No connectivity");
  assert.deepEqual(t.Network_Link_Circuit, ["NL-CIR-1001"]);
  assert.equal(t.Location, "Uppsala");
  assert.equal(t.TT_Title, "[Nordlink NL-T-2093] Fibre cut Stockholm–Uppsala");
  assert.equal(t.TT_Open_Datetime, "2026-11-20T09:00:00Z");
  assert.deepEqual(first.threads, { "nl-t-2093-1@tickets.nordlink.example": "NORDLINK_NL-T-2093" });

  // A reply without the ticket number, found by In-Reply-To; what it does not say stays as stored.
  const state = afterMail(emptyMailState(), first, "partner-mail").state;
  const reply = await decide(
    mail({ subject: "Re: fibre cut", messageId: "r1@nordlink.example", inReplyTo: "nl-t-2093-1@tickets.nordlink.example", date: "Fri, 20 Nov 2026 11:00:00 +0000", text: "Status: resolved\r\n\r\nSpliced.\r\n" }),
    sourceWith([{ ...nordlink, mapping: Object.fromEntries(Object.entries(nordlink.mapping).filter(([k]) => k !== "Original_ID")) }]),
    state,
    (id) => (id === t.TT_ID ? t : undefined),
  );
  assert.equal(reply.kind, "versions", JSON.stringify(reply));
  if (reply.kind !== "versions") return;
  const r = reply.versions[0]!.ticket;
  assert.equal(r.TT_ID, "NORDLINK_NL-T-2093");
  assert.equal(r.TT_Status, "Closed");
  assert.equal(r.TT_Close_Datetime, "2026-11-20T11:00:00Z");
  assert.equal(r.TT_Impact_Assessment, "No connectivity", "kept from the stored ticket");
  assert.equal(r.TT_Title, t.TT_Title, "kept from the stored ticket");
  assert.match(r.History, /2026-11-20T11:00:00Z maint@nordlink\.example: Re: fibre cut/);
});

void test("a mail with no thread and no rule for Original_ID gets a stable id from its Message-ID; one whose rule finds none is a named problem", async () => {
  const source = sourceWith([{ ...nordlink, mapping: { TT_Impact_Assessment: { value: "Unknown" } } }]);
  const a = await decide(mail({ messageId: "x1@nordlink.example" }), source);
  const b = await decide(mail({ messageId: "x1@nordlink.example" }), source);
  assert.ok(a.kind === "versions" && b.kind === "versions");
  assert.equal(a.versions[0]?.ticket.TT_ID, b.versions[0]?.ticket.TT_ID);
  assert.match(a.versions[0]?.ticket.TT_ID ?? "", /^NORDLINK_M[0-9a-f]{12}$/);
  const missing = await decide(mail({ messageId: "x2@nordlink.example", text: "no ticket number here\r\n" }));
  assert.equal(missing.kind, "problem");
  if (missing.kind === "problem") {
    assert.equal(missing.problem.code, "missing-fields");
    assert.match(missing.problem.message, /Original_ID: no value \(rules: text =~/);
  }
  const badValue = await decide(faultMail({ impact: "Catastrophic" }));
  assert.equal(badValue.kind, "problem");
  if (badValue.kind === "problem") assert.match(badValue.problem.message, /TT_Impact_Assessment: "Catastrophic" is not one of/);
});

void test("several VEVENTs are several tickets; the newest notice of one maintenance in a mail stands; bad ones are named", async () => {
  const raw = mail({
    calendar: bcopCalendar(
      bcopEvent({ maintenanceId: "NL-MW-1", sequence: 1 }),
      bcopEvent({ maintenanceId: "NL-MW-2", sequence: 0 }),
      bcopEvent({ maintenanceId: "NL-MW-1", sequence: 2, summary: "moved" }),
      bcopEvent({ maintenanceId: "NL-MW-3", omit: ["DTSTART"] }),
    ),
  });
  const d = await decide(raw);
  assert.equal(d.kind, "versions");
  if (d.kind !== "versions") return;
  assert.deepEqual(
    d.versions.map((v) => [v.ticket.TT_ID, v.provenance.sequence, v.ticket.TT_Title]),
    [
      ["NORDLINK_NL-MW-1", 2, "moved"],
      ["NORDLINK_NL-MW-2", 0, "Nordlink maintenance: fibre repair Stockholm–Uppsala"],
    ],
  );
  assert.deepEqual(d.problems.map((p) => p.message), ["VEVENT 4: DTSTART is missing"]);
  const logs = afterMail(emptyMailState(), d, "partner-mail").logs;
  assert.deepEqual(logs.map((l) => l.msg), ["mail read", "part of a mail not used"]);
});

void test("a broken calendar, a foreign provider and a calendar from a sender without bcop are told apart", async () => {
  const broken = await decide(mail({ calendar: "BEGIN:VCALENDAR\r\nX-MAINTNOTE-STATUS\r\nEND:VCALENDAR\r\n" }));
  assert.equal(broken.kind === "problem" && broken.problem.code, "bad-icalendar");
  const foreign = await decide(bcopMail({ provider: "othercarrier.example" }));
  assert.equal(foreign.kind === "problem" && foreign.problem.code, "provider-not-allowed");
  // Not configured for BCOP: the mail is read as plain text by the sender's rules (its text has no ticket number).
  const plainOnly = await decide(bcopMail(), sourceWith([{ ...nordlink, bcop: undefined }]));
  assert.equal(plainOnly.kind === "problem" && plainOnly.problem.code, "missing-fields");
  const bcopOnly = await decide(faultMail(), sourceWith([{ ...nordlink, mapping: undefined }]));
  assert.equal(bcopOnly.kind === "problem" && bcopOnly.problem.code, "no-mapping");
});

void test("size and attachment caps, and a mail seen before, are decided before any rule runs", async () => {
  const pdf = `Content-Type: application/pdf\r\nContent-Disposition: attachment; filename="a.pdf"\r\nContent-Transfer-Encoding: base64\r\n\r\n${Buffer.alloc(3000, 1).toString("base64")}\r\n`;
  const rows: [string, Partial<MailInput>, string][] = [
    [faultMail({ text: "y".repeat(5000) }), { maxBytes: 2048 }, "too-large"],
    [faultMail({ parts: [pdf, pdf] }), { maxAttachments: 1 }, "too-many-attachments"],
    [faultMail({ parts: [pdf] }), { maxAttachmentBytes: 1000 }, "attachment-too-large"],
  ];
  for (const [raw, extra, code] of rows) {
    const d = await decide(raw, sourceWith([nordlink], extra));
    assert.equal(d.kind === "problem" && d.problem.code, code);
  }
  const once = await decide(faultMail());
  const state = afterMail(emptyMailState(), once, "partner-mail").state;
  assert.equal((await decide(faultMail(), undefined, state)).kind, "duplicate");
});

void test("mail values: every header by name, the HTML body as text", async () => {
  const v = mailValues(await msg(mail({ html: "<p>Circuit <b>NL-CIR-9</b></p><ul><li>Uppsala</li></ul>", headers: ["X-Ticket-Ref: NL-T-77"] })));
  assert.equal(v["header:x-ticket-ref"], "NL-T-77");
  assert.match(String(v.html), /Circuit NL-CIR-9/);
  assert.match(String(v.html), /Uppsala/);
  assert.equal(v.from, "Nordlink NOC <maint@nordlink.example>");
  assert.equal(v.messageId, "nl-4711-1@nordlink.example");
});

void test("the remembered state is bounded: the oldest processed keys go first", () => {
  let s = emptyMailState();
  for (let i = 0; i < MAX_RECENT + 5; i++) s = rememberMail(s, `k${i}`, {});
  assert.equal(s.recent.length, MAX_RECENT);
  assert.equal(s.recent[0], "k5");
});
