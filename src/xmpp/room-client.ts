/**
 * Adapter: one XMPP account in many rooms (XEP-0045), on any server. Joins every configured room
 * when online (again after each reconnect), configures rooms it creates, sends room messages, and
 * reports what the rooms say back. It decides nothing: the pipeline does.
 */
import { client, xml, type Client } from "@xmpp/client";
import type { Element } from "@xmpp/xml";
import type { Logger } from "../log/logger.js";
import type { StanzaWire } from "./mam.js";
import {
  affiliationRequest,
  attr,
  bare,
  chatMessage,
  joinPresence,
  NS,
  readOccupantPresence,
  resourceOf,
  type Occupant,
  readRoomMessage,
  readSelfPresence,
  readStanzaError,
  roomConfigForm,
  roomMessage,
  type IncomingRoomMessage,
  type OutgoingRoomMessage,
} from "./stanzas.js";

export type RoomSpec = {
  jid: string;
  nick: string;
  password?: string | undefined;
  name?: string | undefined;
  description?: string | undefined;
  /** Customers' room: moderated, not members-only (applied when the bot owns the room). */
  readOnly?: boolean | undefined;
  /** Real JIDs given membership (voice in a moderated room), applied when the bot owns the room. */
  members?: readonly string[] | undefined;
};

/** A one-to-one message to the bot: direct (from an account) or private from a room occupant. */
export type IncomingChat = { from: string; body: string; thread: string | undefined; delayed: boolean };

export type RoomClientOptions = {
  service: string | undefined;
  jid: string;
  password: string;
  resource: string;
  rooms: readonly RoomSpec[];
  /** History asked for on join (XEP-0045 §7.2.14): enough to recognise recent own posts. */
  maxHistory?: number;
  joinTimeoutMs?: number;
  rejoinDelayMs?: number;
  /** How long to wait for the room's subject (the end of its history) before counting as joined. */
  subjectTimeoutMs?: number;
  /**
   * Runs once the room's history and subject are in, before the room counts as joined: the bot's
   * own posts the history did not replay are recognised in the room's archive (src/xmpp/mam.ts).
   */
  beforeJoined?: ((room: string, nick: string) => Promise<void>) | undefined;
};

export type RoomEvents = {
  /** A room message (including the bot's own echoes and history replays: see `delayed`, `nick`). */
  message(msg: IncomingRoomMessage, ownNick: boolean): void;
  /** The room refused a message the bot sent (RFC 6120 §8.3). */
  sendError(id: string, room: string, reason: string): void;
  joined(room: string): void;
  /** A direct message from an account (`from` is its full JID). */
  direct?(chat: IncomingChat): void;
  /** A private message from a room occupant (XEP-0045 §7.5); `occupant` as the room told us. */
  privateMessage?(room: string, occupant: Occupant | undefined, nick: string, chat: IncomingChat): void;
};

export interface RoomPort {
  isJoined(room: string): boolean;
  send(message: OutgoingRoomMessage): Promise<void>;
}

/** What the bot knows of who is in its rooms: the only source of real JIDs for authorization. */
export interface OccupantDirectory {
  occupant(room: string, nick: string): Occupant | undefined;
}

export class RoomClient implements RoomPort, OccupantDirectory {
  readonly #occupants = new Map<string, Map<string, Occupant>>();
  readonly #xmpp: Client;
  readonly #opts: Required<Omit<RoomClientOptions, "service" | "beforeJoined">> & Pick<RoomClientOptions, "service" | "beforeJoined">;
  readonly #rooms: Map<string, RoomSpec>;
  readonly #joined = new Set<string>();
  readonly #joinWaiters = new Map<string, (result: JoinResult) => void>();
  readonly #selfAffiliation = new Map<string, string | undefined>();
  readonly #subjectWaiters = new Map<string, () => void>();
  readonly #rejoinTimers = new Map<string, NodeJS.Timeout>();
  #stopping = false;

  constructor(
    options: RoomClientOptions,
    private readonly events: RoomEvents,
    private readonly log: Logger,
  ) {
    this.#opts = { maxHistory: 50, joinTimeoutMs: 15_000, rejoinDelayMs: 60_000, subjectTimeoutMs: 5_000, ...options };
    this.#rooms = new Map(options.rooms.map((r) => [r.jid.toLowerCase(), r]));
    const [local, domain] = options.jid.split("@") as [string, string];
    this.#xmpp = client({
      ...(options.service ? { service: options.service } : {}),
      domain,
      username: local,
      password: options.password,
      resource: options.resource,
    });
    this.#xmpp.on("error", (e: Error) => this.log.warn({ err: e.message }, "xmpp connection error"));
    this.#xmpp.on("offline", () => this.log.info("xmpp offline"));
    this.#xmpp.on("status", (status: string) => {
      if (status === "disconnect" || status === "offline") this.#joined.clear();
    });
    this.#xmpp.on("online", (address: { toString(): string }) => {
      this.log.info({ jid: address.toString() }, "xmpp online");
      void this.#onOnline();
    });
    this.#xmpp.on("stanza", (stanza: Element) => this.#onStanza(stanza));
  }

  /** Connects; resolves once authenticated (rooms are joined in the background, see `joined`). */
  async start(): Promise<void> {
    await this.#xmpp.start();
  }

  async stop(): Promise<void> {
    this.#stopping = true;
    for (const t of this.#rejoinTimers.values()) clearTimeout(t);
    this.#rejoinTimers.clear();
    try {
      await this.#xmpp.send(roomlessUnavailable());
    } catch {
      // already offline: nothing to say goodbye on
    }
    await this.#xmpp.stop().catch(() => undefined);
  }

  isJoined(room: string): boolean {
    return this.#joined.has(room.toLowerCase());
  }

  /** Rooms joined now. */
  joinedCount(): number {
    return this.#joined.size;
  }

  /** The XMPP stream is up (authenticated, resource bound). */
  isOnline(): boolean {
    return this.#xmpp.status === "online";
  }

  async send(message: OutgoingRoomMessage): Promise<void> {
    await this.#xmpp.send(roomMessage(message));
  }

  async #onOnline(): Promise<void> {
    await this.#xmpp.send(roomlessPresence());
    await Promise.all([...this.#rooms.values()].map((room) => this.#join(room)));
  }

  async #join(room: RoomSpec): Promise<void> {
    if (this.#stopping) return;
    const key = room.jid.toLowerCase();
    // The room sends its history, then its subject (XEP-0045 §7.2.15): only after the subject has
    // the bot seen which of its queued posts the room already shows, so only then is it "joined".
    const subjectSeen = new Promise<void>((resolve) => {
      this.#subjectWaiters.set(key, resolve);
      setTimeout(resolve, this.#opts.subjectTimeoutMs).unref();
    });
    const outcome = new Promise<JoinResult>((resolve) => {
      this.#joinWaiters.set(key, resolve);
      setTimeout(() => resolve({ ok: false, reason: `no answer within ${this.#opts.joinTimeoutMs} ms` }), this.#opts.joinTimeoutMs).unref();
    });
    try {
      await this.#xmpp.send(joinPresence(room.jid, room.nick, { password: room.password, maxHistory: this.#opts.maxHistory }));
    } catch (e) {
      this.#joinWaiters.delete(key);
      this.log.warn({ room: room.jid, err: (e as Error).message }, "could not send join");
      return;
    }
    const result = await outcome;
    this.#joinWaiters.delete(key);
    this.#selfAffiliation.set(key, result.affiliation);
    if (!result.ok) {
      this.log.error({ room: room.jid, reason: result.reason, retryInMs: this.#opts.rejoinDelayMs }, "could not join room");
      this.#scheduleRejoin(room);
      return;
    }
    // Rooms the bot owns get their configuration from config at every start (and on creation).
    if (result.created || result.affiliation === "owner") await this.#configureRoom(room, result.created ?? false);
    else if (room.readOnly !== undefined || (room.members?.length ?? 0) > 0)
      this.log.warn({ room: room.jid, affiliation: result.affiliation }, "cannot apply the room configuration: the bot is not the room's owner");
    await subjectSeen;
    this.#subjectWaiters.delete(key);
    await this.#opts.beforeJoined?.(key, room.nick);
    this.#joined.add(key);
    this.log.info({ room: room.jid, nick: room.nick, created: result.created ?? false }, "joined room");
    this.events.joined(key);
  }

  #scheduleRejoin(room: RoomSpec): void {
    if (this.#stopping) return;
    const key = room.jid.toLowerCase();
    clearTimeout(this.#rejoinTimers.get(key));
    this.#rejoinTimers.set(
      key,
      setTimeout(() => {
        this.#rejoinTimers.delete(key);
        if (this.#xmpp.status === "online") void this.#join(room);
      }, this.#opts.rejoinDelayMs),
    );
  }

  /**
   * Configures a room the bot owns (XEP-0045 §10.1.3): persistent and archived; a customers' room
   * moderated and open, so customers join as visitors; engineers from config get membership (voice).
   */
  async #configureRoom(room: RoomSpec, created: boolean): Promise<void> {
    // @types/xmpp__client's iqCaller type does not resolve under NodeNext; this is its documented shape.
    const caller = this.#xmpp.iqCaller as unknown as { request(iq: Element, timeoutMs?: number): Promise<Element> };
    try {
      await caller.request(roomConfigForm(room.jid, `cfg-${Date.now().toString(36)}`, { name: room.name, description: room.description, readOnly: room.readOnly }));
      this.log.info({ room: room.jid, created, readOnly: room.readOnly ?? false }, created ? "configured new room (persistent, archived)" : "applied room configuration");
    } catch (e) {
      this.log.error({ room: room.jid, err: (e as Error).message }, "could not configure the room");
    }
    const members = room.members ?? [];
    if (members.length === 0) return;
    try {
      await caller.request(affiliationRequest(room.jid, `aff-${Date.now().toString(36)}`, members.map((jid) => ({ jid, affiliation: "member" }))));
      this.log.info({ room: room.jid, members: members.length }, "granted room membership");
    } catch (e) {
      this.log.error({ room: room.jid, err: (e as Error).message }, "could not grant room membership");
    }
  }

  /** Iq requests and the incoming stanzas, for protocol modules beside this one (src/xmpp/mam.ts). */
  get wire(): StanzaWire {
    // @types/xmpp__client's iqCaller type does not resolve under NodeNext; this is its documented shape.
    const caller = this.#xmpp.iqCaller as unknown as { request(iq: Element, timeoutMs?: number): Promise<Element> };
    return {
      request: (iq, timeoutMs) => caller.request(iq, timeoutMs),
      listen: (listener) => {
        this.#xmpp.on("stanza", listener);
        return () => void this.#xmpp.off("stanza", listener);
      },
    };
  }

  /** The client's iq handler registry (for ad-hoc commands and service discovery). */
  get iqCallee(): unknown {
    const client: { iqCallee: unknown } = this.#xmpp;
    return client.iqCallee;
  }

  /** The full JID the server bound for this session ("" before it is online). */
  fullJid(): string {
    return this.#xmpp.jid?.toString() ?? "";
  }

  /** The bot's own nickname in a room (config may give each room its own). */
  nickIn(room: string): string | undefined {
    return this.#rooms.get(room.toLowerCase())?.nick;
  }

  occupant(room: string, nick: string): Occupant | undefined {
    return this.#occupants.get(room.toLowerCase())?.get(nick);
  }

  /** A one-to-one message (command replies in direct or private chats). */
  async sendChat(to: string, body: string, thread?: string): Promise<void> {
    await this.#xmpp.send(chatMessage(to, body, thread));
  }

  #onStanza(stanza: Element): void {
    if (this.#stopping) return; // our own goodbye echoes back as "unavailable": not a kick
    const from = attr(stanza, "from");
    if (!from) return;
    const room = bare(from);
    const spec = this.#rooms.get(room);
    if (!spec) {
      if (stanza.is("message")) this.#onChat(stanza, from);
      return;
    }

    if (stanza.is("presence")) {
      const occupant = readOccupantPresence(stanza);
      if (occupant) this.#noteOccupant(occupant.room, occupant.occupant, occupant.gone);
      const self = readSelfPresence(stanza);
      if (self) {
        this.#joinWaiters.get(room)?.({ ok: true, created: self.created, affiliation: self.affiliation });
        return;
      }
      const error = readStanzaError(stanza);
      if (error) {
        this.#joinWaiters.get(room)?.({ ok: false, reason: `${error.condition}${error.text ? `: ${error.text}` : ""}` });
        return;
      }
      // Kicked, banned or room destroyed (XEP-0045 §9.2, §10.9): our own unavailable presence.
      if (attr(stanza, "type") === "unavailable" && from === `${spec.jid}/${spec.nick}`) {
        this.#joined.delete(room);
        this.#occupants.delete(room);
        this.log.warn({ room }, "left the room (kicked, banned or room destroyed); rejoining later");
        this.#scheduleRejoin(spec);
      }
      return;
    }

    if (stanza.is("message")) {
      const error = readStanzaError(stanza);
      if (error) {
        const id = attr(stanza, "id");
        if (id) this.events.sendError(id, room, `${error.condition}${error.text ? `: ${error.text}` : ""}`);
        return;
      }
      const type = attr(stanza, "type");
      if (type === "groupchat" && stanza.getChild("subject") !== undefined && stanza.getChild("body") === undefined) {
        this.#subjectWaiters.get(room)?.();
        return;
      }
      if (type === "chat" || type === "normal" || type === undefined) {
        // A private message from an occupant (XEP-0045 §7.5); invitations and other room notices have no body.
        const nick = resourceOf(from);
        const chat = readChat(stanza, from);
        if (nick !== undefined && chat) this.events.privateMessage?.(room, this.occupant(room, nick), nick, chat);
        return;
      }
      const msg = readRoomMessage(stanza);
      if (msg) this.events.message(msg, msg.nick === spec.nick);
    }
  }

  #onChat(stanza: Element, from: string): void {
    const type = attr(stanza, "type");
    if (type !== "chat" && type !== "normal" && type !== undefined) return;
    const chat = readChat(stanza, from);
    if (chat) this.events.direct?.(chat);
  }

  #noteOccupant(room: string, occupant: Occupant, gone: boolean): void {
    let byNick = this.#occupants.get(room);
    if (!byNick) {
      byNick = new Map();
      this.#occupants.set(room, byNick);
    }
    if (gone) byNick.delete(occupant.nick);
    else byNick.set(occupant.nick, occupant);
  }
}

type JoinResult = { ok: boolean; reason?: string; created?: boolean; affiliation?: string | undefined };

/** The body of a one-to-one message; carbons, receipts and chat states have none and are skipped. */
function readChat(stanza: Element, from: string): IncomingChat | undefined {
  const body = stanza.getChildText("body");
  if (body === null) return undefined;
  return { from, body, thread: stanza.getChildText("thread") ?? undefined, delayed: stanza.getChild("delay", NS.delay) !== undefined };
}

/** Initial presence (RFC 6121 §4.2) and the goodbye that makes rooms show the bot as gone. */
const roomlessPresence = (): Element => xml("presence");
const roomlessUnavailable = (): Element => xml("presence", { type: "unavailable" });
