/**
 * One mail → what the source hands to the intake: ticket versions, or a named refusal or problem.
 * `messageToVersions` is pure; `processMail` adds the two steps that are not (the in-memory MIME
 * parse and the DKIM check, whose DNS look-up is injected), and is what the IMAP and Maildir
 * adapters and `ttrelay replay --mail` call.
 */
import { createHash } from "node:crypto";
import type { MailSourceConfig } from "../../../config/schema.js";
import type { LogLine } from "../../log/logger.js";
import type { Ticket } from "../../model/ticket.js";
import type { TicketVersion } from "../types.js";
import { looksLikeBcop, parseBcopCalendar, type BcopEvent } from "./bcop.js";
import { bcopEventToVersion } from "./bcop-ticket.js";
import type { DkimVerifier } from "./dkim.js";
import { readMail, type MailMessage, type MailProblem } from "./message.js";
import { plainMailToVersion } from "./plain.js";
import { checkDkim, claimedSender, identifySender, requiredDkimDomains, type SenderMatch } from "./senders.js";
import { rememberMail, type MailState } from "./state.js";

export type MailDecision =
  /** Versions to submit; `problems` are parts of the mail that could not be used (a bad VEVENT). */
  | { kind: "versions"; key: string; versions: TicketVersion[]; problems: MailProblem[]; threads: Record<string, string>; summary: MailSummary }
  /** The sender is not configured, or not authenticated: logged, never posted. */
  | { kind: "refused"; key: string; problem: MailProblem; summary: MailSummary }
  /** The mail cannot be used (too large, malformed, no fields): logged with its named problem. */
  | { kind: "problem"; key: string; problem: MailProblem; summary: MailSummary }
  /** Processed before (same Message-ID): nothing to do. */
  | { kind: "duplicate"; key: string; summary: MailSummary };

/** What the log says about a mail. */
export type MailSummary = { messageId?: string | undefined; sender: string; subject?: string | undefined; senderName?: string | undefined };

export type MailContext = {
  source: MailSourceConfig;
  state: MailState;
  known: (ttId: string) => Ticket | undefined;
  now: Date;
};

/** The key a mail is remembered by: its Message-ID, else a hash of its bytes. */
export const mailKey = (msg: Pick<MailMessage, "messageId">, raw: Buffer): string =>
  msg.messageId ? `mid:${msg.messageId}` : `sha256:${createHash("sha256").update(raw).digest("hex")}`;

export async function processMail(raw: Buffer, ctx: MailContext, verifyDkim: DkimVerifier): Promise<MailDecision> {
  const read = await readMail(raw, ctx.source);
  if (!read.ok) return { kind: "problem", key: mailKey({}, raw), problem: read.error, summary: { sender: "(unknown)" } };
  const msg = read.value;
  const key = mailKey(msg, raw);
  const summary: MailSummary = { messageId: msg.messageId, sender: claimedSender(msg), subject: msg.subject.slice(0, 200) };
  if (ctx.state.recent.includes(key)) return { kind: "duplicate", key, summary };
  const match = identifySender(msg, ctx.source.senders);
  if (!match) return { kind: "refused", key, summary, problem: { code: "unknown-sender", message: `${summary.sender} is not a configured sender` } };
  summary.senderName = match.sender.name;
  if (requiredDkimDomains(match).length > 0) {
    const checked = checkDkim(match, await verifyDkim(raw));
    if (!checked.ok) return { kind: "refused", key, summary, problem: checked.error };
  }
  return messageToVersions(msg, match, key, ctx, summary);
}

/** An authorised mail → its versions (pure). */
export function messageToVersions(msg: MailMessage, match: SenderMatch, key: string, ctx: MailContext, summary: MailSummary): MailDecision {
  const problems: MailProblem[] = [];
  const events: BcopEvent[] = [];
  const bcopParts = msg.calendars.filter(looksLikeBcop);
  if (match.sender.bcop) {
    for (const [i, text] of bcopParts.entries()) {
      const parsed = parseBcopCalendar(text);
      const where = bcopParts.length > 1 ? `calendar part ${i + 1}: ` : "";
      if (!parsed.ok) problems.push({ code: "bad-icalendar", message: where + parsed.error.message });
      else {
        events.push(...parsed.value.events);
        for (const p of parsed.value.problems)
          problems.push({ code: p.code === "bad-icalendar" ? "bad-icalendar" : "missing-fields", message: `${where}VEVENT ${(p.event ?? 0) + 1}: ${p.message}` });
      }
    }
  }
  if (match.sender.bcop && bcopParts.length > 0) {
    const versions: TicketVersion[] = [];
    for (const event of newestPerMaintenance(events)) {
      const v = bcopEventToVersion(event, { sourceId: ctx.source.id, sender: match.sender, known: ctx.known, messageId: msg.messageId });
      if (v.ok) versions.push(v.value);
      else problems.push({ code: v.error.code === "provider-not-allowed" ? "provider-not-allowed" : "missing-fields", message: `maintenance ${event.maintenanceId}: ${v.error.message}` });
    }
    if (versions.length === 0)
      return { kind: "problem", key, summary, problem: problems[0] ?? { code: "bad-icalendar", message: "the calendar has no maintenance events" } };
    return { kind: "versions", key, versions, problems, threads: {}, summary };
  }
  // No BCOP part (or a sender not configured for BCOP): the mail's text, through the sender's rules.
  const plain = plainMailToVersion(msg, match, key, { sourceId: ctx.source.id, known: ctx.known, threads: ctx.state.threads, now: ctx.now });
  if (!plain.ok) return { kind: "problem", key, summary, problem: plain.error };
  const threads = msg.messageId ? { [msg.messageId]: plain.value.ttId } : {};
  return { kind: "versions", key, versions: [plain.value.version], problems, threads, summary };
}

/** Several VEVENTs of one maintenance in one mail: the newest (SEQUENCE, then DTSTAMP) stands. */
function newestPerMaintenance(events: readonly BcopEvent[]): BcopEvent[] {
  const byId = new Map<string, BcopEvent>();
  for (const e of events) {
    const before = byId.get(e.maintenanceId);
    if (!before || e.sequence > before.sequence || (e.sequence === before.sequence && Date.parse(e.stamp) > Date.parse(before.stamp))) byId.set(e.maintenanceId, e);
  }
  return [...byId.values()];
}

/** The state after a mail, and the lines to log once it is committed. */
export function afterMail(state: MailState, decision: MailDecision, sourceId: string): { state: MailState; logs: LogLine[] } {
  const fields = { source: sourceId, ...decision.summary };
  switch (decision.kind) {
    case "duplicate":
      return { state, logs: [{ level: "debug", msg: "mail already processed", fields }] };
    case "refused":
      return {
        state: rememberMail(state, decision.key, {}),
        logs: [{ level: "warn", msg: "mail refused", fields: { ...fields, code: decision.problem.code, reason: decision.problem.message } }],
      };
    case "problem":
      return {
        state: rememberMail(state, decision.key, {}),
        logs: [{ level: "warn", msg: "mail not used", fields: { ...fields, code: decision.problem.code, reason: decision.problem.message } }],
      };
    case "versions":
      return {
        state: rememberMail(state, decision.key, decision.threads),
        logs: [
          { level: "info", msg: "mail read", fields: { ...fields, tickets: decision.versions.map((v) => v.ticket.TT_ID) } },
          ...decision.problems.map((p): LogLine => ({ level: "warn", msg: "part of a mail not used", fields: { ...fields, code: p.code, reason: p.message } })),
        ],
      };
  }
}
