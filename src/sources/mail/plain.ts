/**
 * A plain-text mail → a ticket version through the sender's mapping rules (pure). Mails of one
 * thread update one ticket: the ticket is the one a rule names (Original_ID), else the one an earlier
 * mail of the thread made (References / In-Reply-To, RFC 5322 §3.6.4), else a new one.
 */
import { createHash } from "node:crypto";
import type { ValueRule } from "../../../config/schema.js";
import { describeRules } from "../../translate/rules.js";
import { isFinalStatus, makeTicketId, parseTicketId, type Ticket, type TicketField } from "../../model/ticket.js";
import { sanitiseIdPart } from "../../translate/item-to-ticket.js";
import { ok, err, type Result } from "../../util/result.js";
import { fixedRule, fromRule, ruleValue, valuesToTicket, isoSeconds } from "../rule-values.js";
import type { TicketVersion } from "../types.js";
import { mailValues, type MailMessage, type MailProblem } from "./message.js";
import type { SenderMatch } from "./senders.js";

/** What a mail with no rule for a field gets (a new ticket; a reply keeps the stored values). */
export const MAIL_DEFAULTS: Partial<Record<TicketField, ValueRule[]>> = {
  TT_Title: [fromRule("subject")],
  TT_Long_Description: [fromRule("text")],
  TT_Open_Datetime: [fromRule("date")],
  Start_Datetime: [fromRule("date")],
  TT_Status: [fixedRule("Opened")],
  TT_Type: [fixedRule("Operational")],
  Type: [fixedRule("Unscheduled")],
  TT_Source: [fixedRule("Other NOC")],
  TT_Short_Description: [fixedRule("Undefined Problem")],
  TT_Impact_Assessment: [fixedRule("Unknown")],
  Location: [fixedRule("Unknown")],
};

export type PlainContext = {
  sourceId: string;
  known: (ttId: string) => Ticket | undefined;
  /** Message-ID → TT_ID of mails seen before. */
  threads: Readonly<Record<string, string>>;
  now: Date;
};

export type PlainResult = { version: TicketVersion; ttId: string };

/** A stable Original_ID for a thread no rule names: from the first message's id. */
export const threadOriginalId = (messageKey: string): string => `M${createHash("sha256").update(messageKey).digest("hex").slice(0, 12)}`;

export function plainMailToVersion(msg: MailMessage, match: SenderMatch, messageKey: string, ctx: PlainContext): Result<PlainResult, MailProblem> {
  const mapping = match.sender.mapping;
  if (!mapping) return err({ code: "no-mapping", message: `sender ${match.sender.name} has no mapping rules for plain-text mails (only bcop)` });
  const values = mailValues(msg);
  const partnerId = match.sender.partnerId;
  const named = mapping.Original_ID ? ruleValue(mapping.Original_ID, values) : undefined;
  const namedId = (Array.isArray(named) ? named[0] : named)?.trim();
  // The latest earlier mail of the thread that made a ticket of this same partner.
  const earlier = [...msg.thread]
    .reverse()
    .map((id) => parseTicketId(ctx.threads[id] ?? ""))
    .find((parts) => parts?.partnerId === partnerId);
  // A configured Original_ID rule that finds nothing, outside a known thread, is this mail's problem.
  if (!namedId && !earlier && mapping.Original_ID)
    return err({ code: "missing-fields", message: `Original_ID: no value (rules: ${describeRules(mapping.Original_ID)}) and no earlier mail of the thread` });
  const originalId = namedId ? sanitiseIdPart(namedId) : (earlier?.originalId ?? threadOriginalId(messageKey));
  const ttId = makeTicketId(partnerId, originalId);
  const base = ctx.known(ttId);
  const statusFromRules = mapping.TT_Status ? ruleValue(mapping.TT_Status, values) : undefined;
  const updated = msg.date ?? isoSeconds(ctx.now);
  const who = msg.from?.address ?? match.identity;
  const ticket = valuesToTicket({
    values,
    mapping,
    defaults: MAIL_DEFAULTS,
    overrides: {
      Original_ID: originalId,
      TT_Last_Update_Time: updated,
      ...(base && statusFromRules === undefined && !isFinalStatus(base.TT_Status) ? { TT_Status: "Updated" } : {}),
      ...(mapping.History ? {} : { History: `${updated} ${who}: ${msg.subject}`.slice(0, 500) }),
    },
    partnerId,
    base,
    now: ctx.now,
  });
  if (!ticket.ok)
    return err({ code: "missing-fields", message: ticket.error.map((p) => `${p.field}: ${p.message}`).join("; ") });
  const fed = new Set<string>([...Object.keys(mapping), ...Object.keys(MAIL_DEFAULTS)]);
  return ok({
    ttId,
    version: {
      ticket: ticket.value,
      provenance: { source: ctx.sourceId, item: msg.messageId ?? messageKey, published: msg.date },
      keepFirst: ["TT_Open_Datetime"],
      fed,
    },
  });
}
