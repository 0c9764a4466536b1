/**
 * Who sent a mail, and may they (pure). Only configured senders are heard; a sender that must sign
 * is heard only with a passing DKIM signature (RFC 6376) of its domain. Deny when in doubt.
 */
import type { MailSenderConfig } from "../../../config/schema.js";
import { matchJid } from "../../dispatch/authorize.js";
import { ok, err, type Result } from "../../util/result.js";
import type { MailMessage, MailProblem } from "./message.js";

export type SenderMatch = {
  sender: MailSenderConfig;
  /** What identified it, and the address or List-Id that matched. */
  via: "header" | "list-id" | "from";
  identity: string;
};

/** One checked DKIM signature: its signing domain (d=) and result. */
export type DkimSignature = { domain: string; result: string };

const address = (value: string): string | undefined => /<([^<>\s]+@[^<>\s]+)>/.exec(value)?.[1] ?? (/^\S+@\S+$/.test(value.trim()) ? value.trim() : undefined);

/**
 * The first configured sender the mail matches. A configured header (set by the own mail system,
 * such as X-Original-Sender) is asked first, then List-Id, then From.
 */
export function identifySender(msg: MailMessage, senders: readonly MailSenderConfig[]): SenderMatch | undefined {
  for (const sender of senders) {
    const h = sender.match.header;
    if (h) {
      const raw = msg.headers[h.name.toLowerCase()];
      for (const v of Array.isArray(raw) ? raw : raw === undefined ? [] : [raw]) {
        const a = address(v)?.toLowerCase();
        if (a && h.values.some((p) => matchJid(p, a))) return { sender, via: "header", identity: a };
      }
    }
    // A List-Id is a dotted name, not an address: matched as the domain part of one.
    const listId = msg.listId;
    if (listId && sender.match.listId?.some((p) => matchJid(`list@${p}`, `list@${listId}`))) return { sender, via: "list-id", identity: listId };
    const from = msg.from?.address;
    if (from && sender.match.from?.some((p) => matchJid(p, from))) return { sender, via: "from", identity: from };
  }
  return undefined;
}

/** Who the mail says it is from, for the log of a refused mail. */
export const claimedSender = (msg: MailMessage): string => msg.from?.address ?? msg.listId ?? "(no From)";

/** The signing domains a sender's mail must carry a passing signature of; empty: no DKIM required. */
export function requiredDkimDomains(match: SenderMatch): string[] {
  const dkim = match.sender.dkim;
  if (!dkim) return [];
  if (dkim.domains) return dkim.domains;
  const domain = match.identity.includes("@") ? match.identity.slice(match.identity.lastIndexOf("@") + 1) : match.identity;
  return [domain.toLowerCase()];
}

/**
 * A signature counts for a required domain when its d= is that domain, a subdomain of it, or a
 * parent of it with at least two labels (relaxed alignment, as DMARC reads it, RFC 7489 §3.1.1).
 */
const aligned = (signing: string, required: string): boolean =>
  signing === required || signing.endsWith(`.${required}`) || (required.endsWith(`.${signing}`) && signing.includes("."));

export function checkDkim(match: SenderMatch, signatures: readonly DkimSignature[]): Result<void, MailProblem> {
  const required = requiredDkimDomains(match);
  if (required.length === 0) return ok(undefined);
  const passing = signatures.filter((s) => s.result === "pass");
  if (passing.some((s) => required.some((r) => aligned(s.domain.toLowerCase(), r)))) return ok(undefined);
  const seen = signatures.length === 0 ? "the mail is not signed" : `signatures: ${signatures.map((s) => `${s.domain} ${s.result}`).join(", ")}`;
  return err({ code: "dkim-failed", message: `sender ${match.sender.name} must have a passing DKIM signature of ${required.join(" or ")}; ${seen}` });
}
