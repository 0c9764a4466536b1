/** Every Partner_ID this bot publishes itself: peers (and AS2 callers) quoting them are not news, nor may they speak for them. */
import type { Config } from "../../config/schema.js";

export function ownPartnerIds(config: Pick<Config, "noc" | "feeds" | "mail" | "webhooks">, more: readonly string[] = []): ReadonlySet<string> {
  const ids = new Set([config.noc.id, ...config.feeds.map((f) => f.partnerId), ...more]);
  for (const m of config.mail) for (const s of m.senders) ids.add(s.partnerId);
  for (const w of config.webhooks) if ("partnerId" in w) ids.add(w.partnerId);
  return ids;
}
