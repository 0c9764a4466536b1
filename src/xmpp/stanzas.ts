/** Stanza builders and readers (pure). Each cites the XEP that defines the element. */
import { xml } from "@xmpp/client";
import type { Element } from "@xmpp/xml";
import { bareJid } from "../util/jid.js";

export const NS = {
  muc: "http://jabber.org/protocol/muc",
  mucUser: "http://jabber.org/protocol/muc#user",
  mucOwner: "http://jabber.org/protocol/muc#owner",
  dataForms: "jabber:x:data",
  delay: "urn:xmpp:delay",
  sid: "urn:xmpp:sid:0",
  json: "urn:xmpp:json:0",
  reply: "urn:xmpp:reply:0",
  stanzas: "urn:ietf:params:xml:ns:xmpp-stanzas",
  discoInfo: "http://jabber.org/protocol/disco#info",
  discoItems: "http://jabber.org/protocol/disco#items",
  commands: "http://jabber.org/protocol/commands",
  ping: "urn:xmpp:ping",
  caps: "http://jabber.org/protocol/caps",
  styling: "urn:xmpp:styling:0",
  roster: "jabber:iq:roster",
} as const;

/** Drops absent optional children. */
const present = (...els: (Element | null)[]): Element[] => els.filter((e): e is Element => e !== null);

/** Attribute as a string (ltx types attributes loosely). */
export function attr(el: Element, name: string): string | undefined {
  const v: unknown = el.attrs[name];
  return typeof v === "string" ? v : undefined;
}

/** Bare JID of a full JID (`room@host/nick` → `room@host`), lower-cased for comparison. */
/** The bare JID of an address (one helper for the bot: src/util/jid.ts). */
export const bare = (address: string): string => bareJid(address);
export const resourceOf = (jid: string): string | undefined => {
  const i = jid.indexOf("/");
  return i < 0 ? undefined : jid.slice(i + 1);
};

/**
 * Join presence (XEP-0045 §7.2). `maxstanzas` of history lets the bot see its own recent posts after
 * a restart (recognised by origin-id), so an outbox entry that did arrive is not sent again.
 */
export function joinPresence(room: string, nick: string, opts: { password?: string | undefined; maxHistory: number; caps?: Element | undefined }): Element {
  return xml(
    "presence",
    { to: `${room}/${nick}` },
    xml("x", { xmlns: NS.muc }, ...present(xml("history", { maxstanzas: String(opts.maxHistory) }), opts.password ? xml("password", {}, opts.password) : null)),
    ...present(opts.caps ?? null),
  );
}

/** Asks a room for its owner configuration form (XEP-0045 §10.1.3). */
export function ownerFormRequest(room: string, id: string): Element {
  return xml("iq", { type: "get", to: room, id }, xml("query", { xmlns: NS.mucOwner }));
}

/** Submits owner configuration fields (XEP-0045 §10.1.3, XEP-0004 §3.2 type "submit"). */
export function ownerFormSubmit(room: string, id: string, fields: readonly { var: string; value: string }[]): Element {
  return xml(
    "iq",
    { type: "set", to: room, id },
    xml("query", { xmlns: NS.mucOwner }, xml("x", { xmlns: NS.dataForms, type: "submit" }, ...fields.map((f) => xml("field", { var: f.var }, xml("value", {}, f.value))))),
  );
}

/** One field of a XEP-0004 data form, as offered. */
export type DataFormField = { var: string; type: string | undefined; values: string[]; options: string[] };

/** The fields of the first data form in `parent` (an iq, a query or the form itself); fixed fields have no var and are skipped. */
export function readDataForm(parent: Element | undefined): DataFormField[] {
  const x = parent?.is("x", NS.dataForms) ? parent : (parent?.getChild("x", NS.dataForms) ?? parent?.getChildElements().find((c) => c.getName() === "query")?.getChild("x", NS.dataForms));
  const fields: DataFormField[] = [];
  for (const f of x?.getChildren("field") ?? []) {
    const name = attr(f, "var");
    if (!name) continue;
    fields.push({
      var: name,
      type: attr(f, "type"),
      values: f.getChildren("value").map((v) => v.getText()),
      options: f.getChildren("option").map((o) => o.getChildText("value") ?? ""),
    });
  }
  return fields;
}

export const discoInfoRequest = (to: string, id: string, node?: string): Element =>
  xml("iq", { type: "get", to, id }, xml("query", { xmlns: NS.discoInfo, ...(node ? { node } : {}) }));

export type DiscoIdentity = { category: string; type: string; name: string | undefined };
/** A disco#info answer (XEP-0030 §3.1) with its extended form's single values (XEP-0128). */
export type DiscoInfo = { identities: DiscoIdentity[]; features: string[]; form: Map<string, string> };

export function readDiscoInfo(iq: Element): DiscoInfo {
  const query = iq.getChild("query", NS.discoInfo);
  const form = new Map<string, string>();
  for (const f of readDataForm(query)) form.set(f.var, f.values.join("\n"));
  return {
    identities: (query?.getChildren("identity") ?? []).map((i) => ({ category: attr(i, "category") ?? "", type: attr(i, "type") ?? "", name: attr(i, "name") })),
    features: (query?.getChildren("feature") ?? []).map((f) => attr(f, "var") ?? "").filter((v) => v !== ""),
    form,
  };
}

/** XEP-0199 ping; to an own occupant JID it is a XEP-0410 self-ping. */
export const pingRequest = (to: string, id: string): Element => xml("iq", { type: "get", to, id }, xml("ping", { xmlns: NS.ping }));

/** Presence subscription handling (RFC 6121 §3): subscribe, subscribed, unsubscribe, unsubscribed. */
export const subscriptionPresence = (to: string, type: "subscribe" | "subscribed" | "unsubscribed"): Element => xml("presence", { to, type });

/** Grants affiliations (XEP-0045 §9.3 membership, §10.6 admin) in one request. */
export function affiliationRequest(room: string, id: string, items: readonly { jid: string; affiliation: string }[]): Element {
  return xml(
    "iq",
    { type: "set", to: room, id },
    xml("query", { xmlns: "http://jabber.org/protocol/muc#admin" }, ...items.map((i) => xml("item", { jid: i.jid, affiliation: i.affiliation }))),
  );
}

/** A one-to-one message (RFC 6121 §5.2.2), e.g. a command's reply; optionally in a thread. */
export function chatMessage(to: string, body: string, thread?: string): Element {
  return xml("message", { to, type: "chat" }, ...present(xml("body", {}, body), thread ? xml("thread", {}, thread) : null));
}

export type Occupant = { nick: string; jid: string | undefined; affiliation: string | undefined; role: string | undefined };

/**
 * An occupant's presence in a room (XEP-0045 §7.2.3): the real JID is only there when the room
 * reveals it to us (non-anonymous room, or we are a moderator). `gone` for unavailable presence.
 */
export function readOccupantPresence(stanza: Element): { room: string; occupant: Occupant; gone: boolean } | undefined {
  if (!stanza.is("presence") || attr(stanza, "type") === "error") return undefined;
  const from = attr(stanza, "from");
  const x = stanza.getChild("x", NS.mucUser);
  const nick = from ? resourceOf(from) : undefined;
  if (!from || !x || nick === undefined) return undefined;
  const item = x.getChild("item");
  const jid = item ? attr(item, "jid") : undefined;
  return {
    room: bare(from),
    occupant: { nick, jid: jid ? bare(jid) : undefined, affiliation: item ? attr(item, "affiliation") : undefined, role: item ? attr(item, "role") : undefined },
    gone: attr(stanza, "type") === "unavailable",
  };
}

/**
 * An unavailable presence from an occupant JID (XEP-0045 §7.14 leaving, §9.2 kick 307, §9.1 ban
 * 301, §9.4/§9.7 affiliation change 321/322, §10.9 destruction): the status codes, the full JID
 * the room says it is about (when the room shows it to us) and whether the room was destroyed.
 */
export function readUnavailable(stanza: Element): { room: string; nick: string; codes: string[]; itemJid: string | undefined; destroyed: boolean } | undefined {
  if (!stanza.is("presence") || attr(stanza, "type") !== "unavailable") return undefined;
  const from = attr(stanza, "from");
  const nick = from ? resourceOf(from) : undefined;
  const x = stanza.getChild("x", NS.mucUser);
  if (!from || nick === undefined || !x) return undefined;
  const item = x.getChild("item");
  return {
    room: bare(from),
    nick,
    codes: x.getChildren("status").map((st) => attr(st, "code") ?? ""),
    itemJid: item ? attr(item, "jid") : undefined,
    destroyed: x.getChild("destroy") !== undefined,
  };
}

export type OutgoingRoomMessage = {
  room: string;
  id: string;
  body: string;
  json?: string | undefined;
  /** XEP-0201 thread id (the incident). */
  thread?: string | undefined;
  /** XEP-0461: the room-assigned stanza-id of the message replied to, and its sender's occupant JID. */
  replyTo?: { id: string; to: string } | undefined;
  /** XEP-0359 origin-id, when it is not the id (the room client signs it: see origin.ts). */
  originId?: string | undefined;
};

/**
 * A groupchat message. The id doubles as XEP-0359 origin-id so the echo, or a history replay
 * after a restart, is matched to the outbox entry. The activity rides along as XEP-0335 JSON.
 */
export function roomMessage(m: OutgoingRoomMessage): Element {
  return xml(
    "message",
    { to: m.room, type: "groupchat", id: m.id },
    ...present(
      xml("body", {}, m.body),
      xml("origin-id", { xmlns: NS.sid, id: m.originId ?? m.id }),
      m.thread ? xml("thread", {}, m.thread) : null,
      m.replyTo ? xml("reply", { xmlns: NS.reply, to: m.replyTo.to, id: m.replyTo.id }) : null,
      m.json ? xml("json", { xmlns: NS.json }, m.json) : null,
    ),
  );
}

/**
 * Servers close the whole stream on a stanza over their limit (RFC 6120 §4.9.3.14 policy-violation;
 * ejabberd's c2s `max_stanza_size` is 65536 bytes by default), and the bot would send the same one
 * again after reconnecting, for ever. So a message stays under this, with room for what the server
 * adds (from, stanza-id, delay).
 */
export const MAX_STANZA_BYTES = 60_000;

const CUT_NOTE = "\n… (cut: too long for one message)";

/**
 * The message made to fit `maxBytes` (pure): first without its JSON payload (clients show the body;
 * peers read the ticket with `!show`), then with the body cut at a character boundary and said so.
 */
export function fitRoomMessage(m: OutgoingRoomMessage, maxBytes = MAX_STANZA_BYTES): { message: OutgoingRoomMessage; cut: "payload" | "body" | undefined } {
  // Hot path: a UTF-16 unit is at most 6 bytes on the wire (`&quot;`; a 3-byte character), so an
  // ordinary message is known to fit without serialising it once more just to measure it.
  const bound = (m.body.length + (m.json?.length ?? 0) + (m.thread?.length ?? 0) + m.room.length + m.id.length + (m.originId?.length ?? 0) + (m.replyTo ? m.replyTo.id.length + m.replyTo.to.length : 0)) * 6 + 1_024;
  if (bound <= maxBytes) return { message: m, cut: undefined };
  const size = (x: OutgoingRoomMessage): number => Buffer.byteLength(roomMessage(x).toString(), "utf8");
  if (size(m) <= maxBytes) return { message: m, cut: undefined };
  const bare: OutgoingRoomMessage = { ...m, json: undefined };
  if (size(bare) <= maxBytes) return { message: bare, cut: "payload" };
  const chars = [...m.body];
  // Escaping (&amp; …) and multi-byte characters make bytes ≠ characters: shrink until it fits.
  let keep = Math.min(chars.length, maxBytes);
  for (;;) {
    const cut: OutgoingRoomMessage = { ...bare, body: chars.slice(0, keep).join("") + CUT_NOTE };
    const over = size(cut) - maxBytes;
    if (over <= 0 || keep === 0) return { message: cut, cut: "body" };
    keep = Math.max(0, keep - Math.max(over, Math.ceil(keep / 20)));
  }
}

export type IncomingRoomMessage = {
  room: string;
  nick: string | undefined;
  body: string | undefined;
  originId: string | undefined;
  /** The id the room assigned (XEP-0359 stanza-id with by = the room). */
  stanzaId: string | undefined;
  /** Delayed delivery (XEP-0203): a history replay, never acted upon. */
  delayed: boolean;
  json: string | undefined;
  /** XEP-0421 occupant-id, when the room offers it. */
  occupantId: string | undefined;
  /** XEP-0201 thread. */
  thread: string | undefined;
  /** XEP-0461 reply target. */
  replyTo: { id: string; to: string | undefined } | undefined;
};

export function readRoomMessage(stanza: Element): IncomingRoomMessage | undefined {
  if (!stanza.is("message") || attr(stanza, "type") !== "groupchat") return undefined;
  const from = attr(stanza, "from");
  if (!from) return undefined;
  const room = bare(from);
  const stanzaIdEl = stanza.getChildren("stanza-id", NS.sid).find((el) => bare(attr(el, "by") ?? "") === room);
  return {
    room,
    nick: resourceOf(from),
    body: stanza.getChildText("body") ?? undefined,
    originId: stanza.getChild("origin-id", NS.sid) ? attr(stanza.getChild("origin-id", NS.sid) as Element, "id") : undefined,
    stanzaId: stanzaIdEl ? attr(stanzaIdEl, "id") : undefined,
    delayed: stanza.getChild("delay", NS.delay) !== undefined,
    json: stanza.getChildText("json", NS.json) ?? undefined,
    occupantId: (() => {
      const el = stanza.getChild("occupant-id", "urn:xmpp:occupant-id:0");
      return el ? attr(el, "id") : undefined;
    })(),
    thread: stanza.getChildText("thread") ?? undefined,
    replyTo: (() => {
      const el = stanza.getChild("reply", NS.reply);
      const id = el ? attr(el, "id") : undefined;
      return el && id ? { id, to: attr(el, "to") } : undefined;
    })(),
  };
}

export type StanzaErrorInfo = { type: string | undefined; condition: string; text: string | undefined };

/** RFC 6120 §8.3: the defined condition and optional text of an error stanza. */
export function readStanzaError(stanza: Element): StanzaErrorInfo | undefined {
  if (attr(stanza, "type") !== "error") return undefined;
  const error = stanza.getChild("error");
  if (!error) return { type: undefined, condition: "undefined-condition", text: undefined };
  const condition = error.getChildElements().find((c) => c.getNS() === NS.stanzas && c.getName() !== "text");
  return {
    type: attr(error, "type"),
    condition: condition?.getName() ?? "undefined-condition",
    text: error.getChildText("text", NS.stanzas) ?? undefined,
  };
}

/** Self-presence in a room (XEP-0045 §7.2.2: status 110) and whether the room was just created (201). */
export function readSelfPresence(stanza: Element): { room: string; created: boolean; role: string | undefined; affiliation: string | undefined } | undefined {
  if (!stanza.is("presence") || attr(stanza, "type") === "error" || attr(stanza, "type") === "unavailable") return undefined;
  const x = stanza.getChild("x", NS.mucUser);
  if (!x) return undefined;
  const codes = x.getChildren("status").map((s) => attr(s, "code"));
  if (!codes.includes("110")) return undefined;
  const item = x.getChild("item");
  return {
    room: bare(attr(stanza, "from") ?? ""),
    created: codes.includes("201"),
    role: item ? attr(item, "role") : undefined,
    affiliation: item ? attr(item, "affiliation") : undefined,
  };
}
