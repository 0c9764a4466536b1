/**
 * IMAP mailbox adapter (imapflow): new messages are read by UID in order, each handed to the mail
 * pipeline, remembered by UIDVALIDITY + UID in the same commit (RFC 3501 §2.3.1.1: a UID means the
 * same message only while UIDVALIDITY is unchanged), then optionally moved to a folder. Between
 * passes the client sits in IDLE (RFC 2177) when the server offers it, so a new message is read at
 * once; a timer polls as well, for servers without IDLE and for missed notifications.
 */
import { ImapFlow } from "imapflow";
import type { ImapConfig, MailSourceConfig } from "../../../config/schema.js";
import type { Logger } from "../../log/logger.js";
import type { SourceHealth, SourceRuntime, TicketSource } from "../types.js";
import { dkimVerifier, type DkimVerifier } from "./dkim.js";
import { MailPipeline, reconnectDelay, Wakeup } from "./pipeline.js";
import type { MailState } from "./state.js";

export type ImapMailSourceDeps = {
  /** The resolved `imap.password` secret. */
  password: string;
  log: Logger;
  /** Default: mailauth with the system resolver. */
  verifyDkim?: DkimVerifier | undefined;
};

export type ImapMailSource = TicketSource & {
  /** Runs one pass now (tests; `/ready` could too) and resolves when it is done. */
  checkNow(): Promise<void>;
};

export function createImapMailSource(config: MailSourceConfig, deps: ImapMailSourceDeps): ImapMailSource {
  const imap = config.imap;
  if (!imap) throw new Error(`mail source ${config.id} has no imap section`);
  return new ImapSource(config, imap, deps);
}

class ImapSource implements ImapMailSource {
  readonly id: string;
  private pipeline: MailPipeline | undefined;
  private client: ImapFlow | undefined;
  private running = false;
  private loop: Promise<void> | undefined;
  private readonly wakeup = new Wakeup();
  private passDone: (() => void)[] = [];
  private readonly log: Logger;
  private readonly fallbackHealth: SourceHealth = { ok: false };

  constructor(
    private readonly config: MailSourceConfig,
    private readonly imap: ImapConfig,
    private readonly deps: ImapMailSourceDeps,
  ) {
    this.id = config.id;
    this.log = deps.log.child({ source: config.id });
  }

  start(runtime: SourceRuntime): Promise<void> {
    this.pipeline = new MailPipeline(this.config, runtime, this.deps.verifyDkim ?? dkimVerifier(), this.log);
    this.running = true;
    this.loop = this.run();
    return Promise.resolve();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.wakeup.wake();
    const client = this.client;
    if (client) await client.logout().catch(() => client.close());
    await this.loop;
    for (const done of this.passDone.splice(0)) done();
  }

  health(): SourceHealth {
    return this.pipeline?.health ?? this.fallbackHealth;
  }

  checkNow(): Promise<void> {
    return new Promise<void>((resolve) => {
      this.passDone.push(resolve);
      this.wakeup.nudge();
    });
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (this.running) {
      try {
        await this.session(() => (failures = 0));
      } catch (e) {
        if (!this.running) break;
        failures++;
        const health = this.health();
        health.ok = false;
        health.lastError = (e as Error).message;
        this.log.warn({ err: (e as Error).message, retryInMs: reconnectDelay(failures) }, "IMAP session failed; reconnecting");
      }
      if (this.running) await this.wakeup.wait(reconnectDelay(failures));
    }
  }

  /** One connection: log in, open the mailbox, passes until stopped or the connection drops. */
  private async session(connected: () => void): Promise<void> {
    const client = new ImapFlow({
      host: this.imap.host,
      port: this.imap.port,
      secure: this.imap.secure,
      auth: { user: this.imap.user, pass: this.deps.password },
      tls: { rejectUnauthorized: this.imap.rejectUnauthorized },
      logger: false,
      disableAutoIdle: !this.imap.idle,
      // Into IDLE soon after a pass, so new mail is announced at once (imapflow's default is 15 s).
      autoIdleDelay: 1000,
    });
    let closed = false;
    client.on("error", (e: Error) => this.log.warn({ err: e.message }, "IMAP connection error"));
    client.on("close", () => {
      closed = true;
      this.wakeup.wake();
    });
    // New mail while idling (RFC 2177): read it now rather than at the next poll.
    client.on("exists", () => this.wakeup.wake());
    this.client = client;
    try {
      await client.connect();
      connected();
      if (this.imap.moveTo) await this.ensureMailbox(client, this.imap.moveTo);
      // Opened without imapflow's mailbox lock: this client is ours alone, and imapflow enters IDLE
      // by itself only while no lock is held.
      await client.mailboxOpen(this.imap.mailbox);
      this.log.info({ mailbox: this.imap.mailbox, idle: this.imap.idle && client.capabilities.has("IDLE") }, "IMAP mailbox open");
      while (this.running && !closed) {
        // checkNow() callers waiting before this pass began are answered by it; later ones get another.
        const asked = this.passDone.splice(0);
        await this.pass(client);
        for (const done of asked) done();
        if (this.running && !closed && this.passDone.length === 0) await this.wakeup.wait(this.imap.pollSeconds * 1000);
      }
      if (closed && this.running) throw new Error("the server closed the connection");
    } finally {
      this.client = undefined;
      if (!closed) await client.logout().catch(() => client.close());
    }
  }

  private async ensureMailbox(client: ImapFlow, path: string): Promise<void> {
    const list = await client.list();
    if (!list.some((m) => m.path === path)) await client.mailboxCreate(path);
  }

  /** Every message after the last UID taken in, in UID order, one commit each. */
  private async pass(client: ImapFlow): Promise<void> {
    const pipeline = this.pipeline;
    const mailbox = client.mailbox;
    if (!pipeline || !mailbox) return;
    const uidValidity = String(mailbox.uidValidity);
    const before = pipeline.state().imap;
    const lastUid = before?.uidValidity === uidValidity ? before.lastUid : 0;
    if (before && before.uidValidity !== uidValidity)
      this.log.warn({ was: before.uidValidity, now: uidValidity }, "the mailbox's UIDVALIDITY changed: its messages are read again (known Message-IDs are skipped)");
    // "N:*" also matches the highest UID when it is below N (RFC 3501 §6.4.8): filter.
    const found = await client.search({ uid: `${lastUid + 1}:*` }, { uid: true });
    const uids = (found || []).filter((u) => u > lastUid).sort((a, b) => a - b);
    for (const uid of uids) {
      if (!this.running) return;
      const position = (s: MailState): MailState => ({ ...s, imap: { uidValidity, lastUid: uid } });
      const meta = await client.fetchOne(String(uid), { size: true, envelope: true }, { uid: true });
      if (!meta) continue; // expunged meanwhile
      let handled;
      if ((meta.size ?? 0) > this.config.maxBytes) {
        // Not downloaded at all.
        handled = await pipeline.handle(
          {
            kind: "problem",
            key: `imap:${uidValidity}:${uid}`,
            problem: { code: "too-large", message: `message of ${meta.size} bytes is larger than ${this.config.maxBytes}` },
            summary: { sender: meta.envelope?.from?.[0]?.address ?? "(unknown)", messageId: meta.envelope?.messageId, subject: meta.envelope?.subject },
          },
          position,
        );
      } else {
        const msg = await client.fetchOne(String(uid), { source: true }, { uid: true });
        if (!msg || !msg.source) continue;
        handled = await pipeline.handle(msg.source, position);
      }
      if (!handled.committed) return; // tried again at the next pass, from this UID
      if (this.imap.moveTo) {
        try {
          await client.messageMove(String(uid), this.imap.moveTo, { uid: true });
        } catch (e) {
          // The UID is remembered: the message is not read twice, only left where it was.
          this.log.warn({ uid, err: (e as Error).message }, `could not move the message to ${this.imap.moveTo}`);
        }
      }
    }
  }
}
