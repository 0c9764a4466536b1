/** JIDs (RFC 7622) through @xmpp/jid, the client library's own parser: one helper for the whole bot. */
import { jid } from "@xmpp/jid";
import { wildcardMatch } from "./glob.js";

/**
 * Every room message is addressed by a handful of JIDs (the rooms, their occupants): their bare
 * forms are kept (a pure function of the text; bounded, cleared when full). Parsing them again for
 * each stanza was 3 % of the bot's time while it drained a backlog.
 */
const bareMemo = new Map<string, string>();
const BARE_MEMO_MAX = 10_000;

/** The bare JID, lower-cased (`Alice@X.org/phone` → `alice@x.org`); "" for what is no JID at all. */
export function bareJid(address: string): string {
  let known = bareMemo.get(address);
  if (known === undefined) {
    known = parseBare(address);
    if (bareMemo.size >= BARE_MEMO_MAX) bareMemo.clear();
    bareMemo.set(address, known);
  }
  return known;
}

function parseBare(address: string): string {
  const trimmed = address.trim();
  if (trimmed === "") return "";
  try {
    // Unescaped (XEP-0106): "o'brien@x" and "o\\27brien@x" are the same person to an ACL.
    return jid(trimmed).bare().toString(true);
  } catch {
    return "";
  }
}

/**
 * A `local@domain` pattern against a bare JID, case-insensitive; `*` matches any run of characters
 * within its part (it never crosses the "@"). Linear in the JID's length whatever the pattern.
 */
export function matchJid(pattern: string, address: string): boolean {
  const at = pattern.indexOf("@");
  const bare = address.toLowerCase();
  const split = bare.indexOf("@");
  if (at < 0 || split < 0 || bare.indexOf("@", split + 1) >= 0) return false;
  return wildcardMatch(pattern.slice(0, at), bare.slice(0, split)) && wildcardMatch(pattern.slice(at + 1), bare.slice(split + 1));
}
