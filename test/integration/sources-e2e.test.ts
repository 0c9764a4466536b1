// The new sources end to end, all real: a partner's BCOP maintenance mails appended to a Dovecot
// mailbox, a Prometheus Alertmanager pushing to the bot's webhook, the bot on a Prosody, and a
// second client in the room checking what it shows; /health, /ready and /metrics answer.
import { test, after, before } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Element } from "@xmpp/xml";
import { ImapFlow } from "imapflow";
import { ConfigSchema } from "../../config/schema.js";
import { prosodyAvailable, startProsody, type ProsodyInstance } from "../../src/demo/prosody.js";
import { startWatcher, type SeenMessage, type Watcher } from "../../src/demo/watcher.js";
import { startBot, type RunningBot } from "../../src/main.js";
import { TicketActivitySchema } from "../../src/model/activity.js";
import { startAlertmanager, type AlertmanagerInstance } from "../support/alertmanager.js";
import { startDovecot, type DovecotInstance } from "../support/dovecot.js";
import { bcopMail } from "../fixtures/mail.js";
import { captureLogger } from "../helpers/log-capture.js";
import { shown } from "../helpers/messages.js";

assert.ok(await prosodyAvailable(), "prosody is not installed: run `apt-get install -y prosody` (.ci/run does)");
process.env.TTRELAY_E2E_PASSWORD = "e2e-bot";
process.env.TTRELAY_E2E_IMAP = "noc-secret";
process.env.TTRELAY_E2E_HOOK = "am-token";

let prosody: ProsodyInstance;
let dovecot: DovecotInstance;
let am: AlertmanagerInstance | undefined;
let dir: string;
let bot: RunningBot | undefined;
let watcher: Watcher | undefined;

before(async () => {
  prosody = await startProsody({ domain: "e2e.test", mucRoomLocking: true });
  for (const [user, pw] of [["ttrelay", "e2e-bot"], ["watcher", "watcher-pw"]] as const) await prosody.register(user, pw);
  dovecot = await startDovecot({ users: [{ name: "noc", password: "noc-secret" }] });
  dir = await mkdtemp(join(tmpdir(), "ttrelay-e2e-"));
});

after(async () => {
  await am?.stop();
  await bot?.stop().catch(() => undefined);
  await watcher?.stop();
  await dovecot?.stop();
  await prosody?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function append(message: string): Promise<void> {
  const c = new ImapFlow({ host: dovecot.host, port: dovecot.port, secure: false, auth: { user: "noc", pass: "noc-secret" }, logger: false });
  await c.connect();
  try {
    await c.append("INBOX", message);
  } finally {
    await c.logout();
  }
}

const fromBot = (re: RegExp) => (m: SeenMessage): boolean => !m.delayed && m.nick === "ttrelay" && re.test(shown(m));
const activityOf = (m: SeenMessage) => TicketActivitySchema.parse(JSON.parse(m.json ?? "null"));

void test("a BCOP maintenance mail in the mailbox becomes a planned maintenance in the room; later notices update or cancel it, older ones are ignored; an Alertmanager alert opens and resolves a ticket; the operations endpoints answer", { timeout: 120_000 }, async () => {
  const room = `maintenance@${prosody.mucDomain}`;
  const config = ConfigSchema.parse({
    noc: { id: "EXN", name: "ExampleNet NOC" },
    xmpp: { jid: `ttrelay@${prosody.domain}`, password: { env: "TTRELAY_E2E_PASSWORD" }, service: prosody.service, nick: "ttrelay" },
    rooms: [{ jid: room }],
    mail: [
      {
        id: "nordlink-mail",
        imap: { host: dovecot.host, port: dovecot.port, secure: false, user: "noc", password: { env: "TTRELAY_E2E_IMAP" }, pollSeconds: 3600 },
        senders: [{ name: "Nordlink", match: { from: ["*@nordlink.example"] }, partnerId: "NORDLINK", bcop: { providers: ["nordlink.example"] } }],
      },
    ],
    webhooks: [{ id: "alerts", format: "alertmanager", partnerId: "MON", auth: { bearer: { env: "TTRELAY_E2E_HOOK" } }, mapping: { Affected_Service: { from: "labels.service" } } }],
    http: { port: 0 },
    routes: [{ rooms: [room] }],
    store: { path: join(dir, "store.json") },
  });
  bot = await startBot(config, { log: captureLogger().log, startPolling: false });
  await bot.ready;
  assert.ok(bot.http, "the HTTP listener runs");
  const base = `http://${bot.http.address}:${bot.http.port}`;
  watcher = await startWatcher({ service: prosody.service, domain: prosody.domain, username: "watcher", password: "watcher-pw", resource: "e2e" });
  await watcher.join(room, "checker");
  const w = watcher;

  // Operations: alive, ready (XMPP up, room joined, store writable, sources fine).
  const health = await fetch(`${base}/health`);
  assert.equal(health.status, 200);
  assert.equal(((await health.json()) as { status: string }).status, "alive");
  let ready: { ready: boolean; checks: Record<string, { ok: boolean }> } | undefined;
  for (let i = 0; i < 50; i++) {
    const r = await fetch(`${base}/ready`);
    ready = (await r.json()) as typeof ready;
    if (r.status === 200) break;
    await new Promise((res) => setTimeout(res, 100));
  }
  assert.equal(ready?.ready, true, JSON.stringify(ready));
  assert.equal(ready?.checks.xmpp?.ok, true);
  assert.equal(ready?.checks.store?.ok, true);

  // 1. A confirmed maintenance (SEQUENCE 0) for two circuits.
  await append(bcopMail({ sequence: 0, status: "CONFIRMED" }));
  const planned = await w.waitFor(fromBot(/^\*NORDLINK_NL-MW-4711\* new/), 20_000, "the maintenance in the room (IDLE)");
  const ticket = activityOf(planned).object["nttdm:ticket"];
  assert.equal(ticket.Type, "Scheduled");
  assert.deepEqual(ticket.Network_Link_Circuit, ["NL-CIR-1001", "NL-CIR-1002"]);
  assert.equal(ticket.Time_Window_Start, "2026-12-01T01:00:00Z");
  assert.equal(ticket.Time_Window_End, "2026-12-01T05:00:00Z");
  assert.match(shown(planned), /NL-CIR-1001/);
  assert.match(shown(planned), /2026-12-01 01:00 UTC/, "the window is shown");

  // 2. The window moves (SEQUENCE 1): an update. The notice of SEQUENCE 0 again (a resend): nothing.
  await append(bcopMail({ sequence: 1, status: "CONFIRMED", start: "2026-12-02T01:00:00Z", end: "2026-12-02T05:00:00Z", stamp: "2026-11-21T09:00:00Z" }));
  const moved = await w.waitFor((m) => fromBot(/^\*NORDLINK_NL-MW-4711\* /)(m) && m !== planned, 20_000, "the moved window");
  assert.equal(activityOf(moved).object["nttdm:ticket"].Time_Window_Start, "2026-12-02T01:00:00Z");
  await append(bcopMail({ sequence: 0, status: "CONFIRMED" }, { messageId: "nl-4711-resend@nordlink.example" }));

  // 3. Cancelled (SEQUENCE 2): the ticket is cancelled.
  await append(bcopMail({ sequence: 2, status: "CANCELLED", stamp: "2026-11-22T09:00:00Z" }));
  const cancelled = await w.waitFor((m) => fromBot(/^\*NORDLINK_NL-MW-4711\* /)(m) && m !== planned && m !== moved, 20_000, "the cancellation");
  assert.equal(activityOf(cancelled).object["nttdm:ticket"].TT_Status, "Cancelled");
  const aboutIt = w.messages.filter(fromBot(/^\*NORDLINK_NL-MW-4711\* /));
  assert.equal(aboutIt.length, 3, `create, move, cancel; the older resend said nothing: ${aboutIt.map((m) => shown(m).split("\n")[0]).join(" | ")}`);

  // 4. Alertmanager: a firing alert opens a ticket, its resolution closes it.
  am = await startAlertmanager({ webhookUrl: `${base}/hooks/alerts`, bearerToken: "am-token" });
  const alert = { labels: { alertname: "LinkDown", instance: "sto-r1:9100", service: "IP transit", severity: "critical" }, annotations: { summary: "Link sto-r1 down" }, startsAt: new Date(Date.now() - 60_000).toISOString() };
  await am.postAlerts([alert]);
  const firing = await w.waitFor(fromBot(/^\*MON_[0-9a-f]{16}\* new/), 30_000, "the alert in the room");
  const alertId = activityOf(firing).object["nttdm:ticket"].TT_ID;
  await am.postAlerts([{ ...alert, endsAt: new Date(Date.now() - 1000).toISOString() }]);
  const resolved = await w.waitFor((m) => fromBot(new RegExp(`^\\*${alertId}\\* `))(m) && m !== firing, 30_000, "the resolution in the room");
  assert.equal(activityOf(resolved).object["nttdm:ticket"].TT_Status, "Closed");

  // 5. Metrics: the sources' batches, tickets by status, the outbox.
  const metrics = await (await fetch(`${base}/metrics`)).text();
  assert.match(metrics, /ttrelay_intake_batches_total\{source="nordlink-mail",result="committed"\} [1-9]/);
  assert.match(metrics, /ttrelay_intake_batches_total\{source="alerts",result="committed"\} [1-9]/);
  assert.match(metrics, /ttrelay_tickets\{status="Cancelled",origin="own"\} 1/);
  assert.match(metrics, /ttrelay_tickets\{status="Closed",origin="own"\} 1/);
  assert.match(metrics, /ttrelay_outbox_depth \d+/);
  assert.match(metrics, /ttrelay_messages_sent_total\{room="maintenance@conference\.e2e\.test"\} [1-9]/);
  assert.match(metrics, /ttrelay_echo_latency_seconds_count [1-9]/);
  assert.match(metrics, /ttrelay_xmpp_online 1/);
});

void test("a planned maintenance's reminder arrives at the configured time, once across a restart; a cancellation cancels what is left", { timeout: 150_000 }, async () => {
  const room = `reminders@${prosody.mucDomain}`;
  const start = new Date(Math.ceil((Date.now() + 75_000) / 1000) * 1000);
  const end = new Date(start.getTime() + 3600_000);
  const config = ConfigSchema.parse({
    noc: { id: "EXN", name: "ExampleNet NOC" },
    xmpp: { jid: `ttrelay@${prosody.domain}`, password: { env: "TTRELAY_E2E_PASSWORD" }, service: prosody.service, nick: "ttrelay", resource: "reminders" },
    rooms: [{ jid: room }],
    mail: [
      {
        id: "nordlink-mail",
        imap: { host: dovecot.host, port: dovecot.port, secure: false, user: "noc", password: { env: "TTRELAY_E2E_IMAP" }, mailbox: "Reminders", pollSeconds: 3600 },
        senders: [{ name: "Nordlink", match: { from: ["*@nordlink.example"] }, partnerId: "NORDLINK", bcop: { providers: ["nordlink.example"] } }],
      },
    ],
    maintenance: { remindBeforeMinutes: [1] },
    routes: [{ rooms: [room] }],
    store: { path: join(dir, "reminders.json") },
  });
  const c = new ImapFlow({ host: dovecot.host, port: dovecot.port, secure: false, auth: { user: "noc", pass: "noc-secret" }, logger: false });
  await c.connect();
  await c.mailboxCreate("Reminders").catch(() => undefined);
  await c.logout();
  const appendTo = async (message: string): Promise<void> => {
    const imap = new ImapFlow({ host: dovecot.host, port: dovecot.port, secure: false, auth: { user: "noc", pass: "noc-secret" }, logger: false });
    await imap.connect();
    try {
      await imap.append("Reminders", message);
    } finally {
      await imap.logout();
    }
  };
  let reminderBot = await startBot(config, { log: captureLogger().log, startPolling: false });
  await reminderBot.ready;
  const w = await startWatcher({ service: prosody.service, domain: prosody.domain, username: "watcher", password: "watcher-pw", resource: "reminders" });
  // The room's subject, as a client sees it change (XEP-0045 §8.1).
  const subjects: string[] = [];
  w.client.on("stanza", (st: Element) => {
    const subject = st.is("message") ? st.getChildText("subject") : null;
    if (subject !== null && st.getChild("body") === undefined) subjects.push(subject);
  });
  try {
    await w.join(room, "checker");
    const id = "NL-MW-5000";
    await appendTo(bcopMail({ maintenanceId: id, sequence: 0, status: "CONFIRMED", start: start.toISOString(), end: end.toISOString(), stamp: new Date().toISOString() }));
    await w.waitFor(fromBot(new RegExp(`^\\*NORDLINK_${id}\\* new`)), 20_000, "the maintenance");
    const reminder = await w.waitFor((m) => !m.delayed && m.nick === "ttrelay" && /^Reminder: planned maintenance \*NORDLINK_NL-MW-5000\* starts in 1 min/.test(shown(m)), 40_000, "the reminder one minute before");
    const lead = start.getTime() - Date.now();
    assert.ok(lead > 50_000 && lead <= 61_000, `said about a minute before the start (${lead} ms before)`);
    assert.equal(reminder.thread !== undefined, true, "in the ticket's thread");
    // A restart: the reminder is not said again.
    await reminderBot.stop();
    reminderBot = await startBot(config, { log: captureLogger().log, startPolling: false });
    await reminderBot.ready;
    await new Promise((r) => setTimeout(r, 2000));
    assert.equal(w.messages.filter((m) => !m.delayed && /starts in 1 min/.test(shown(m))).length, 1, "said once");
    // Cancelled before the start: no "has started" comes.
    await appendTo(bcopMail({ maintenanceId: id, sequence: 1, status: "CANCELLED", start: start.toISOString(), end: end.toISOString(), stamp: new Date().toISOString() }));
    await w.waitFor((m) => fromBot(new RegExp(`^\\*NORDLINK_${id}\\* `))(m) && activityOf(m).object["nttdm:ticket"].TT_Status === "Cancelled", 20_000, "the cancellation");
    await new Promise((r) => setTimeout(r, Math.max(0, start.getTime() - Date.now()) + 3000));
    assert.equal(w.messages.filter((m) => /has started/.test(shown(m))).length, 0, "a cancelled maintenance does not start");
    // The room's subject showed the service's state: the maintenance coming.
    assert.ok(subjects.some((x) => x.startsWith("reminders: no open faults")), `the subject says all is quiet at first: ${JSON.stringify(subjects)}`);
    assert.ok(subjects.some((x) => x.includes(`next maintenance: NORDLINK_${id}`)), `the subject announced the maintenance: ${JSON.stringify(subjects)}`);
  } finally {
    await w.stop();
    await reminderBot.stop();
  }
});
