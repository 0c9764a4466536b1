/**
 * What the bot is, for service discovery (XEP-0030) and entity capabilities (XEP-0115), so clients
 * adapt: Gajim lists ad-hoc commands of a contact whose caps name XEP-0050, clients that know
 * XEP-0461 show replies, XEP-0393 styling is announced, and peers see the XEP-0335 payload. Pure.
 */
import { createHash } from "node:crypto";
import { xml } from "@xmpp/client";
import type { Element } from "@xmpp/xml";
import { NS } from "./stanzas.js";

export type Identity = { category: string; type: string; name: string };

export const BOT_IDENTITY: Identity = { category: "client", type: "bot", name: "ttrelay" };

/** Every feature the bot implements (each its XEP), in no particular order. */
export const BOT_FEATURES = [
  NS.discoInfo, // XEP-0030
  NS.discoItems, // XEP-0030
  NS.commands, // XEP-0050 ad-hoc commands
  NS.dataForms, // XEP-0004 data forms
  NS.caps, // XEP-0115
  NS.ping, // XEP-0199 (answered by @xmpp/client)
  NS.reply, // XEP-0461 replies to the incident's first message
  NS.json, // XEP-0335 JSON containers (the AS2 activity)
  NS.styling, // XEP-0393 message styling
  NS.sid, // XEP-0359 origin-id
  NS.muc, // XEP-0045
] as const;

/**
 * The node of the caps element: XEP-0115 §4 asks for a URI naming the software. ttrelay has no
 * website; `.invalid` (RFC 2606) keeps this from ever pointing at someone else's.
 */
export const CAPS_NODE = "https://ttrelay.invalid/caps";

/**
 * The verification string (XEP-0115 §5.1): identities `category/type/lang/name<` sorted, then
 * features `var<` sorted, SHA-1, base64. No extended forms.
 */
export function capsVer(identities: readonly Identity[], features: readonly string[]): string {
  const ids = identities.map((i) => `${i.category}/${i.type}//${i.name}<`).sort();
  const feats = [...new Set(features)].sort().map((f) => `${f}<`);
  return createHash("sha1").update([...ids, ...feats].join(""), "utf8").digest("base64");
}

export const BOT_CAPS_VER = capsVer([BOT_IDENTITY], BOT_FEATURES);

/** The `<c/>` element carried in every presence the bot sends (XEP-0115 §4). */
export const capsElement = (): Element => xml("c", { xmlns: NS.caps, hash: "sha-1", node: CAPS_NODE, ver: BOT_CAPS_VER });
