/**
 * Adapter: one XMPP account in many rooms (XEP-0045), on any server. Joins every configured room
 * when online (again after each reconnect), configures the rooms it owns from the server's own
 * owner form and checks the result, sends room messages, reports what the rooms say back, keeps
 * the connection and its rooms alive (XEP-0199 pings, XEP-0410 self-pings), answers presence
 * subscriptions, and tells who sent a one-to-one stanza (never a room JID). It decides nothing
 * about tickets: the pipeline does.
 */
import { randomUUID } from "node:crypto";
import { client, xml, type Client } from "@xmpp/client";
import type { Element } from "@xmpp/xml";
import type { ActorIdentity, Via } from "../dispatch/authorize.js";
import type { Logger } from "../log/logger.js";
import { backoffMs } from "../util/backoff.js";
import { capsElement } from "./caps.js";
import { decodeUtf8AcrossChunks, lastReceivedAt, withoutStreamManagement } from "./connection.js";
import { ConnectionWatchdog, type KeepaliveOptions } from "./keepalive.js";
import { needsFormReadback, planRoomConfig, verifyRoom } from "./room-config.js";
import type { StanzaWire } from "./mam.js";
import { domainOf, senderIdentity } from "./sender.js";
import { newOriginKey, signOriginId, verifyOriginId } from "./origin.js";
import {
  affiliationRequest,
  attr,
  bare,
  chatMessage,
  discoInfoRequest,
  joinPresence,
  NS,
  ownerFormRequest,
  ownerFormSubmit,
  pingRequest,
  readDataForm,
  readDiscoInfo,
  readOccupantPresence,
  readRoomMessage,
  fitRoomMessage,
  MAX_STANZA_BYTES,
  readSelfPresence,
  readStanzaError,
  readUnavailable,
  resourceOf,
  roomMessage,
  subscriptionPresence,
  type IncomingRoomMessage,
  type Occupant,
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
  /** The subject is kept showing the room's state by the bot (src/rooms/subjects.ts): no other subject is offered. */
  stateSubject?: boolean | undefined;
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
  /** How long to wait for the answer to a request (room forms, disco, pings) before giving up. */
  iqTimeoutMs?: number;
  /** Pings of an idle connection, and self-pings of quiet rooms. */
  keepalive?: Partial<KeepaliveOptions> | undefined;
  /**
   * Whose presence subscriptions are accepted (the bot subscribes back, so their client sees its
   * full JID and caps and can list its ad-hoc commands). Everyone else is refused. Default: nobody.
   */
  acceptsContact?: ((jid: string) => boolean) | undefined;
  /**
   * The key that signs the origin-ids of the bot's posts (see origin.ts). Keep it across restarts
   * (the store does), or posts made before a restart are not recognised in the room's history and
   * are sent again. Default: a new key for this run.
   */
  originKey?: string | undefined;
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
  /**
   * The room was created by the bot's join (XEP-0045 §10.1.1, status 201). Whatever the bot kept
   * from an earlier life of the room (the stanza-ids its replies point at) no longer exists there.
   */
  roomRecreated?(room: string): void;
  /** A direct message from an account; `actor` is who sent it (never a room or occupant JID). */
  direct?(chat: IncomingChat, actor: ActorIdentity): void;
  /** A private message from a room occupant (XEP-0045 §7.5); `actor` carries the real JID the room reported, if any. */
  privateMessage?(chat: IncomingChat, actor: ActorIdentity): void;
};

export interface RoomPort {
  isJoined(room: string): boolean;
  send(message: OutgoingRoomMessage): Promise<void>;
  /** Several messages in one write, in order (a backlog draining); `send` one by one when absent. */
  sendMany?(messages: readonly OutgoingRoomMessage[]): Promise<void>;
}

/** What the bot knows of who is in its rooms: the only source of real JIDs for authorization. */
export interface OccupantDirectory {
  occupant(room: string, nick: string): Occupant | undefined;
}

type JoinResult = { ok: boolean; reason?: string; created?: boolean; affiliation?: string | undefined };

/** The first wait before a join that got no answer is tried again (then doubling, up to `rejoinDelayMs`). */
const UNANSWERED_REJOIN_MS = 5_000;

/** A unique iq id: @xmpp/iq matches answers by id, so ids must never repeat (not even within a millisecond). */
const iqId = (kind: string): string => `${kind}-${randomUUID()}`;

/** How long a domain's answer to "are you a MUC service?" is kept. */
const DOMAIN_KIND_TTL_MS = 3_600_000;

export class RoomClient implements RoomPort, OccupantDirectory {
  readonly #occupants = new Map<string, Map<string, Occupant>>();
  readonly #xmpp: Client;
  readonly #opts: Required<Omit<RoomClientOptions, "service" | "keepalive" | "acceptsContact" | "originKey" | "beforeJoined">> & Pick<RoomClientOptions, "service" | "acceptsContact" | "beforeJoined">;
  readonly #originKey: string;
  /** The nick config gives each room (the one in `#rooms` may be a stand-in while it is taken). */
  readonly #wantedNicks: Map<string, string>;
  readonly #rooms: Map<string, RoomSpec>;
  readonly #joined = new Set<string>();
  /** Rooms whose join presence went out in this session and whose self-presence has not come back. */
  readonly #joining = new Set<string>();
  readonly #joinWaiters = new Map<string, (result: JoinResult) => void>();
  readonly #subjectWaiters = new Map<string, () => void>();
  /** The subject each room last showed (XEP-0045 §8.1), "" when it has none. */
  readonly #subjects = new Map<string, string>();
  readonly #rejoinTimers = new Map<string, NodeJS.Timeout>();
  /** Joins in a row that got no answer, per room (the wait before the next one grows with them). */
  readonly #unanswered = new Map<string, number>();
  /** Rooms where an earlier session of ours left while our join was waiting for its answer. */
  readonly #earlierSessionLeft = new Set<string>();
  /** When each room last sent us anything (XEP-0410: self-ping only quiet rooms). */
  readonly #roomHeardAt = new Map<string, number>();
  /** Settings each room's server cannot give, already reported (once per room and process). */
  readonly #reportedMissing = new Set<string>();
  readonly #mucDomains = new Map<string, { muc: boolean | undefined; until: number }>();
  readonly #watchdog: ConnectionWatchdog;
  #stopping = false;
  /** Counts the connection's losses: a join begun on an earlier connection must not count as joined. */
  #connection = 0;

  constructor(
    options: RoomClientOptions,
    private readonly events: RoomEvents,
    private readonly log: Logger,
  ) {
    this.#opts = { maxHistory: 50, joinTimeoutMs: 15_000, rejoinDelayMs: 60_000, subjectTimeoutMs: 5_000, iqTimeoutMs: 15_000, ...options };
    this.#originKey = options.originKey ?? newOriginKey();
    this.#rooms = new Map(options.rooms.map((r) => [r.jid.toLowerCase(), r]));
    this.#wantedNicks = new Map(options.rooms.map((r) => [r.jid.toLowerCase(), r.nick]));
    for (const r of this.#rooms.keys()) this.#mucDomains.set(domainOf(r), { muc: true, until: Number.POSITIVE_INFINITY });
    const [local, domain] = options.jid.split("@") as [string, string];
    this.#mucDomains.set(domain.toLowerCase(), { muc: false, until: Number.POSITIVE_INFINITY }); // our own server
    this.#xmpp = client({
      ...(options.service ? { service: options.service } : {}),
      domain,
      username: local,
      password: options.password,
      resource: options.resource,
    });
    // Before start (see connection.ts): UTF-8 decoded across TCP chunks; no XEP-0198.
    decodeUtf8AcrossChunks(this.#xmpp);
    withoutStreamManagement(this.#xmpp);
    this.#xmpp.on("error", (e: Error) => this.log.warn({ err: e.message }, "xmpp connection error"));
    this.#xmpp.on("offline", () => this.log.info("xmpp offline"));
    this.#xmpp.on("status", (status: string) => {
      if (status === "disconnect" || status === "offline") {
        this.#connection++;
        this.#joined.clear();
        this.#joining.clear();
      }
    });
    this.#xmpp.on("online", (address: { toString(): string }) => {
      this.log.info({ jid: address.toString() }, "xmpp online");
      void this.#onOnline();
    });
    this.#xmpp.on("stanza", (stanza: Element) => this.#onStanza(stanza));
    this.#watchdog = new ConnectionWatchdog(
      {
        status: () => this.#xmpp.status,
        lastReceivedAt: () => lastReceivedAt(this.#xmpp),
        ping: async (timeoutMs) => {
          await this.#request(pingRequest(domain, iqId("ping")), "ping (XEP-0199)", undefined, timeoutMs).catch(() => undefined);
        },
        drop: () => dropSocket(this.#xmpp),
        checkRooms: (quietMs) => this.#selfPingRooms(quietMs),
        now: Date.now,
      },
      options.keepalive ?? {},
      log,
    );
  }

  /** Connects; resolves once authenticated (rooms are joined in the background, see `joined`). */
  async start(): Promise<void> {
    await this.#xmpp.start();
    this.#watchdog.start();
  }

  async stop(): Promise<void> {
    this.#stopping = true;
    this.#watchdog.stop();
    for (const t of this.#rejoinTimers.values()) clearTimeout(t);
    this.#rejoinTimers.clear();
    try {
      await this.#xmpp.send(xml("presence", { type: "unavailable" }));
    } catch {
      // already offline: nothing to say goodbye on
    }
    await this.#xmpp.stop().catch(() => undefined);
  }

  isJoined(room: string): boolean {
    return this.#joined.has(room.toLowerCase());
  }

  /** Changes the room's subject (XEP-0045 §8.1); resolves with the stanza's id (an error comes back with it). */
  async setSubject(room: string, subject: string): Promise<string> {
    const id = `subject-${randomUUID()}`;
    await this.#xmpp.send(xml("message", { to: room, type: "groupchat", id }, xml("subject", {}, subject)));
    return id;
  }

  /** The room's subject as it last told us. */
  subjectOf(room: string): string | undefined {
    return this.#subjects.get(room.toLowerCase());
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
    await this.#xmpp.send(this.#stanzaOf(message));
  }

  /**
   * The messages as one write (@xmpp/connection-tcp's sendMany: the stanzas serialised together):
   * one system call instead of one per message, and the server reads them in one go rather than
   * waking up for each.
   */
  async sendMany(messages: readonly OutgoingRoomMessage[]): Promise<void> {
    if (messages.length === 0) return;
    const stanzas = messages.map((m) => this.#stanzaOf(m));
    // @types/xmpp__client leaves sendMany out; it is on every @xmpp/client (client-core).
    await (this.#xmpp as unknown as { sendMany(elements: Element[]): Promise<void> }).sendMany(stanzas);
  }

  #stanzaOf(message: OutgoingRoomMessage): Element {
    const fitted = fitRoomMessage({ ...message, originId: signOriginId(this.#originKey, message.id) });
    if (fitted.cut) this.log.warn({ room: message.room, id: message.id, cut: fitted.cut, bytes: MAX_STANZA_BYTES }, fitted.cut === "payload" ? "room message too big for one stanza: sent without its JSON payload" : "room message too big for one stanza: its text was cut");
    return roomMessage(fitted.message);
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
      ownPost: (originId) => verifyOriginId(this.#originKey, originId),
    };
  }

  /** The client's iq handler registry (for ad-hoc commands and service discovery). */
  get iqCallee(): unknown {
    const c: { iqCallee: unknown } = this.#xmpp;
    return c.iqCallee;
  }

  /** The full JID the server bound for this session ("" before it is online). */
  fullJid(): string {
    return this.#xmpp.jid?.toString() ?? "";
  }

  /** The bot's own nickname in a room (config may give each room its own). */
  nickIn(room: string): string | undefined {
    return this.#rooms.get(room.toLowerCase())?.nick;
  }

  /** The address a requester reaches the bot at: its occupant JID in our room they write from, else its full JID. */
  addressFor(requester: string): string {
    const room = bare(requester);
    const spec = this.#rooms.get(room);
    return spec ? `${spec.jid}/${spec.nick}` : this.fullJid();
  }

  occupant(room: string, nick: string): Occupant | undefined {
    return this.#occupants.get(room.toLowerCase())?.get(nick);
  }

  /**
   * Who sent a one-to-one stanza from `from`: through one of our rooms, the occupant's real JID as
   * the room reported it (or none); from a room we are not in, none; else the sender's bare JID.
   * Whether an unknown domain is a MUC service is asked once (disco#info) and remembered.
   */
  async identify(from: string, via: Via): Promise<ActorIdentity> {
    const domain = domainOf(from);
    const known = this.#mucDomains.get(domain);
    if (from.includes("@") && (!known || known.until < Date.now()) && !this.#rooms.has(bare(from))) await this.#learnDomain(domain);
    return senderIdentity(from, via, {
      isOurRoom: (room) => this.#rooms.has(room),
      occupant: (room, nick) => this.occupant(room, nick),
      isMucService: (d) => this.#mucDomains.get(d)?.muc,
    });
  }

  async #learnDomain(domain: string): Promise<void> {
    try {
      const info = readDiscoInfo(await this.#request(discoInfoRequest(domain, iqId("disco")), "disco#info of a sender's domain", undefined, 5_000));
      const muc = info.identities.some((i) => i.category === "conference") || info.features.includes(NS.muc);
      this.#mucDomains.set(domain, { muc, until: Date.now() + DOMAIN_KIND_TTL_MS });
    } catch (e) {
      // Unknown: treated as a MUC service (no real JID), asked again in a minute.
      this.#mucDomains.set(domain, { muc: undefined, until: Date.now() + 60_000 });
      this.log.warn({ domain, err: errorText(e) }, "could not tell whether a sender's domain is a chat-room service: its messages are refused for now");
    }
  }

  /** A one-to-one message (command replies in direct or private chats). */
  async sendChat(to: string, body: string, thread?: string): Promise<void> {
    // Same limit as room messages (a long !list or !show must not close the stream).
    const fitted = fitRoomMessage({ room: to, id: "chat", body, thread });
    await this.#xmpp.send(chatMessage(to, fitted.message.body, thread));
  }

  /** An iq request with a unique id; a timeout is logged with the room and what was asked. */
  async #request(iq: Element, what: string, room: string | undefined, timeoutMs = this.#opts.iqTimeoutMs): Promise<Element> {
    // @types/xmpp__client's iqCaller type does not resolve under NodeNext; this is its documented shape.
    const caller = this.#xmpp.iqCaller as unknown as { request(iq: Element, timeoutMs?: number): Promise<Element> };
    try {
      return await caller.request(iq, timeoutMs);
    } catch (e) {
      if (e instanceof Error && e.name === "TimeoutError") {
        this.log.warn({ room, request: what, to: attr(iq, "to"), id: attr(iq, "id"), timeoutMs }, "no answer to a request in time");
        throw new Error(`no answer to ${what} within ${timeoutMs} ms`, { cause: e });
      }
      throw e;
    }
  }

  async #onOnline(): Promise<void> {
    // Initial presence (RFC 6121 §4.2) with entity capabilities (XEP-0115), so contacts' clients
    // learn the bot's features and ad-hoc commands.
    await this.#xmpp.send(xml("presence", {}, capsElement()));
    void this.#reviewContacts();
    await Promise.all([...this.#rooms.values()].map((room) => this.#join(room)));
  }

  async #join(spec: RoomSpec, nickTaken = 0): Promise<void> {
    if (this.#stopping) return;
    const key = spec.jid.toLowerCase();
    if (this.#joining.has(key)) return;
    const connection = this.#connection;
    // Every join first asks for the configured nick again; one taken by someone else gets a
    // trailing "_" (up to three), so a squatter cannot keep the bot out of a room (XEP-0045 §7.2.9).
    const wanted = this.#wantedNicks.get(key) ?? spec.nick;
    const room: RoomSpec = { ...spec, nick: nickTaken === 0 ? wanted : `${wanted}${"_".repeat(nickTaken)}` };
    this.#rooms.set(key, room);
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
    this.#joining.add(key);
    try {
      await this.#xmpp.send(joinPresence(room.jid, room.nick, { password: room.password, maxHistory: this.#opts.maxHistory, caps: capsElement() }));
    } catch (e) {
      this.#joinWaiters.delete(key);
      this.#joining.delete(key);
      this.log.warn({ room: room.jid, err: errorText(e) }, "could not send join");
      return;
    }
    const result = await outcome;
    // Lost with the connection: the join on the new one owns the room's waiters now.
    if (connection !== this.#connection) return;
    this.#joinWaiters.delete(key);
    this.#joining.delete(key);
    if (!result.ok) {
      if ((result.reason ?? "").startsWith("conflict") && nickTaken < 3) {
        const next = `${wanted}${"_".repeat(nickTaken + 1)}`;
        this.log.warn({ room: room.jid, nick: room.nick, instead: next }, "the bot's nick is taken in the room by someone else: joining under another one (ask the room's owner to remove whoever holds it)");
        return this.#join(room, nickTaken + 1);
      }
      // No answer (a server busy, or one still holding an earlier session of ours under the same
      // full JID: ejabberd answers only once that session's presence has ended) is tried again
      // soon, then less often; at once if the earlier session left meanwhile. A refusal waits.
      const unanswered = result.reason?.startsWith("no answer") === true;
      const tries = unanswered ? (this.#unanswered.get(key) ?? 0) + 1 : 0;
      if (unanswered) this.#unanswered.set(key, tries);
      const retryInMs = this.#earlierSessionLeft.delete(key) ? 0 : unanswered ? backoffMs(tries, { baseMs: UNANSWERED_REJOIN_MS, maxMs: this.#opts.rejoinDelayMs }) : this.#opts.rejoinDelayMs;
      this.log.error({ room: room.jid, reason: result.reason, retryInMs }, "could not join room");
      this.#scheduleRejoin(room, retryInMs);
      return;
    }
    this.#unanswered.delete(key);
    this.#earlierSessionLeft.delete(key);
    this.#roomHeardAt.set(key, Date.now());
    if (result.created) this.events.roomRecreated?.(key);
    // Rooms the bot owns get their configuration from config at every start (and on creation).
    if (result.created || result.affiliation === "owner") await this.#configureRoom(room, result.created ?? false);
    else if (room.readOnly !== undefined || (room.members?.length ?? 0) > 0)
      this.log.warn({ room: room.jid, affiliation: result.affiliation }, "cannot apply the room configuration: the bot is not the room's owner");
    // A room just created has no history to wait for.
    if (!result.created) await subjectSeen;
    this.#subjectWaiters.delete(key);
    if ((result.created || result.affiliation === "owner") && room.description && !room.stateSubject) await this.#offerSubject(room);
    await this.#opts.beforeJoined?.(key, room.nick);
    // The connection was lost meanwhile: the join on the new one decides (its archive check, its
    // window); this one's presence is gone with the old stream.
    if (connection !== this.#connection || this.#stopping) {
      this.log.debug({ room: room.jid }, "a join begun before the connection was lost is dropped");
      return;
    }
    this.#joined.add(key);
    this.log.info({ room: room.jid, nick: room.nick, created: result.created ?? false }, "joined room");
    this.events.joined(key);
  }

  /**
   * A room the bot owns and that has no subject gets its description as subject, set by the bot:
   * clients show an empty subject from the room itself as "changed by Unknown" (Gajim) or
   * "subject cleared" (Profanity). A subject people set is never replaced.
   */
  async #offerSubject(room: RoomSpec): Promise<void> {
    const key = room.jid.toLowerCase();
    if ((this.#subjects.get(key) ?? "") !== "" || !room.description) return;
    try {
      await this.#xmpp.send(xml("message", { to: room.jid, type: "groupchat", id: iqId("subject") }, xml("subject", {}, room.description)));
      this.#subjects.set(key, room.description);
    } catch (e) {
      this.log.warn({ room: room.jid, err: errorText(e) }, "could not set the room's subject");
    }
  }

  #scheduleRejoin(room: RoomSpec, delayMs = this.#opts.rejoinDelayMs): void {
    if (this.#stopping) return;
    const key = room.jid.toLowerCase();
    clearTimeout(this.#rejoinTimers.get(key));
    this.#rejoinTimers.set(
      key,
      setTimeout(() => {
        this.#rejoinTimers.delete(key);
        if (this.#xmpp.status === "online") void this.#join(room);
      }, delayMs),
    );
  }

  /**
   * Configures a room the bot owns (XEP-0045 §10.1.3) from the form the room offers: persistent,
   * archived, named; a customers' room moderated and open so customers join as visitors; engineers
   * from config get membership (voice). Then checks with disco#info that the room shows it.
   */
  async #configureRoom(room: RoomSpec, created: boolean): Promise<void> {
    const log = { room: room.jid };
    try {
      const offered = readDataForm(await this.#request(ownerFormRequest(room.jid, iqId("cfg-form")), "the room configuration form", room.jid));
      const plan = planRoomConfig(offered, { name: room.name, description: room.description, readOnly: room.readOnly });
      if (!this.#reportedMissing.has(room.jid)) {
        this.#reportedMissing.add(room.jid);
        for (const m of plan.missing) this.log.warn({ ...log, setting: m.setting }, `room ${room.jid} ${m.consequence}`);
      }
      // A new room is locked until its owner submits the form (XEP-0045 §10.1.2), even unchanged.
      if (created || plan.changes) {
        await this.#request(ownerFormSubmit(room.jid, iqId("cfg-submit"), plan.submit), "the room configuration", room.jid);
        this.log.info({ ...log, created, readOnly: room.readOnly ?? false, fields: plan.submit.length - 1 }, created ? "configured new room" : "applied room configuration");
      }
      await this.#grantMembership(room);
      const info = readDiscoInfo(await this.#request(discoInfoRequest(room.jid, iqId("cfg-check")), "disco#info of the room (configuration check)", room.jid));
      const form = needsFormReadback(plan.expect)
        ? readDataForm(await this.#request(ownerFormRequest(room.jid, iqId("cfg-reread")), "the room configuration form (check)", room.jid))
        : undefined;
      for (const m of verifyRoom(plan.expect, info, form))
        this.log.warn({ ...log, setting: m.setting, expected: m.expected, actual: m.actual }, `room ${room.jid} does not show the configuration it was given (${m.setting}: expected ${m.expected}, shows ${m.actual})`);
    } catch (e) {
      this.log.error({ ...log, err: errorText(e) }, "could not configure the room");
    }
  }

  async #grantMembership(room: RoomSpec): Promise<void> {
    const members = room.members ?? [];
    if (members.length === 0) return;
    try {
      await this.#request(affiliationRequest(room.jid, iqId("aff"), members.map((jid) => ({ jid, affiliation: "member" }))), "membership for engineers", room.jid);
      this.log.info({ room: room.jid, members: members.length }, "granted room membership");
    } catch (e) {
      this.log.error({ room: room.jid, err: errorText(e) }, "could not grant room membership");
    }
  }

  /**
   * XEP-0410 self-ping of every joined room quiet for `quietMs`: a room that answers "not joined"
   * (e.g. it restarted and forgot the bot without a word) is joined again at once.
   */
  async #selfPingRooms(quietMs: number): Promise<void> {
    const now = Date.now();
    await Promise.all(
      [...this.#joined].map(async (key) => {
        const spec = this.#rooms.get(key);
        if (!spec || now - (this.#roomHeardAt.get(key) ?? 0) < quietMs) return;
        const verdict = await this.#selfPing(spec);
        if (verdict !== "not-joined" || !this.#joined.has(key)) return;
        this.#joined.delete(key);
        this.#occupants.delete(key);
        this.log.warn({ room: spec.jid }, "the room no longer has the bot (self-ping): joining again");
        void this.#join(spec);
      }),
    );
  }

  async #selfPing(spec: RoomSpec): Promise<"joined" | "not-joined" | "unknown"> {
    try {
      await this.#request(pingRequest(`${spec.jid}/${spec.nick}`, iqId("self-ping")), "self-ping (XEP-0410)", spec.jid);
      return "joined";
    } catch (e) {
      const condition = (e as { condition?: unknown }).condition;
      if (typeof condition !== "string") return "unknown"; // no answer: try again later
      // XEP-0410 §4: these say the ping reached our own occupant (who does not speak ping).
      if (condition === "service-unavailable" || condition === "feature-not-implemented") return "joined";
      // The room or our server cannot be reached now: no verdict.
      if (condition === "remote-server-not-found" || condition === "remote-server-timeout") return "unknown";
      return "not-joined";
    }
  }

  /**
   * Presence subscriptions (RFC 6121 §3.1.3): people the ACL knows are accepted and subscribed to
   * in return; everyone else, and anyone writing through a room, is refused.
   */
  async #onSubscription(stanza: Element, from: string, type: string): Promise<void> {
    const who = bare(from);
    if (type === "unsubscribe") {
      await this.#xmpp.send(subscriptionPresence(who, "unsubscribed")).catch(() => undefined);
      return;
    }
    if (type !== "subscribe") return;
    const actor = await this.identify(from, "direct");
    const accepted = actor.jid !== undefined && (this.#opts.acceptsContact?.(actor.jid) ?? false);
    this.log.info({ from: who, accepted }, accepted ? "accepted a presence subscription" : "refused a presence subscription (unknown to the ACL)");
    if (!accepted) {
      await this.#xmpp.send(subscriptionPresence(who, "unsubscribed")).catch(() => undefined);
      return;
    }
    await this.#xmpp.send(subscriptionPresence(who, "subscribed"));
    // Subscribing back lets the bot's contact show up as online in both directions; a request the
    // contact already approved is ignored by the server (RFC 6121 §3.1.2).
    await this.#xmpp.send(subscriptionPresence(who, "subscribe"));
  }

  /** At start-up: contacts the ACL no longer knows lose their subscription to the bot's presence. */
  async #reviewContacts(): Promise<void> {
    try {
      const roster = await this.#request(xml("iq", { type: "get", id: iqId("roster") }, xml("query", { xmlns: NS.roster })), "the roster", undefined);
      for (const item of roster.getChild("query", NS.roster)?.getChildren("item") ?? []) {
        const jid = bare(attr(item, "jid") ?? "");
        const sub = attr(item, "subscription");
        if ((sub !== "from" && sub !== "both") || jid === "") continue;
        const actor = await this.identify(jid, "direct");
        if (actor.jid !== undefined && (this.#opts.acceptsContact?.(actor.jid) ?? false)) continue;
        await this.#xmpp.send(subscriptionPresence(jid, "unsubscribed"));
        this.log.info({ contact: jid }, "revoked a presence subscription (no longer in the ACL)");
      }
    } catch (e) {
      this.log.warn({ err: errorText(e) }, "could not review the roster");
    }
  }

  #onStanza(stanza: Element): void {
    if (this.#stopping) return; // our own goodbye echoes back as "unavailable": not a kick
    const from = attr(stanza, "from");
    if (!from) return;
    const room = bare(from);
    const spec = this.#rooms.get(room);
    if (stanza.is("presence")) {
      const type = attr(stanza, "type");
      if (type === "subscribe" || type === "unsubscribe" || type === "subscribed" || type === "unsubscribed") {
        void this.#onSubscription(stanza, from, type).catch((e: unknown) => this.log.warn({ from, err: errorText(e) }, "could not answer a presence subscription"));
        return;
      }
    }
    if (!spec) {
      if (stanza.is("message")) this.#onChat(stanza, from, "direct");
      return;
    }
    this.#roomHeardAt.set(room, Date.now());

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
      const gone = readUnavailable(stanza);
      if (gone && gone.nick === spec.nick) this.#onOwnNickGone(spec, gone);
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
        this.#subjects.set(room, stanza.getChildText("subject") ?? "");
        this.#subjectWaiters.get(room)?.();
        return;
      }
      if (type === "chat" || type === "normal" || type === undefined) {
        // A private message from an occupant (XEP-0045 §7.5); invitations and other room notices have no body.
        if (resourceOf(from) !== undefined) this.#onChat(stanza, from, "muc-private");
        return;
      }
      const msg = readRoomMessage(stanza);
      if (!msg) return;
      // Only an origin-id this bot signed names an outbox entry; anyone else's is no origin-id here.
      // A signed one is ours whatever nick it came under (a stand-in nick before a restart).
      const originId = verifyOriginId(this.#originKey, msg.originId);
      this.events.message({ ...msg, originId }, msg.nick === spec.nick || originId !== undefined);
    }
  }

  /**
   * An unavailable presence for our nick: kicked, banned, room destroyed (XEP-0045 §9.2, §10.9) —
   * or not us at all. A session the server replaced (a crash, with XEP-0198 keeping the old one up
   * to 300 s) leaves the room under the same nick, and the room tells the new session: that comes
   * before our own join is answered, or names another full JID. Neither is a reason to rejoin.
   */
  #onOwnNickGone(spec: RoomSpec, gone: NonNullable<ReturnType<typeof readUnavailable>>): void {
    const key = spec.jid.toLowerCase();
    const otherSession = gone.itemJid !== undefined && gone.itemJid.includes("/") && gone.itemJid !== this.fullJid();
    if (this.#joining.has(key) || !this.#joined.has(key) || otherSession) {
      this.log.debug({ room: spec.jid, about: gone.itemJid, codes: gone.codes }, "an earlier session under our nick left the room");
      // After a crash, ejabberd leaves our join unanswered until the killed session (same full
      // JID) has worked off its queue and left, up to a minute later: its departure says the way
      // is clear, so a join that failed is tried again now, and one still waiting right after it fails.
      if (!this.#joined.has(key) && !otherSession) {
        if (this.#joining.has(key)) this.#earlierSessionLeft.add(key);
        else if (this.#rejoinTimers.has(key)) this.#scheduleRejoin(spec, 0);
      }
      return;
    }
    this.#joined.delete(key);
    this.#occupants.delete(key);
    this.log.warn({ room: key, codes: gone.codes, destroyed: gone.destroyed }, "left the room (kicked, banned or room destroyed); rejoining later");
    this.#scheduleRejoin(spec);
  }

  #onChat(stanza: Element, from: string, via: "direct" | "muc-private"): void {
    const type = attr(stanza, "type");
    if (type !== "chat" && type !== "normal" && type !== undefined) return;
    const chat = readChat(stanza, from);
    if (!chat) return;
    void this.identify(from, via).then((actor) => {
      if (actor.via === "muc-private" || actor.room !== undefined) this.events.privateMessage?.(chat, { ...actor, via: "muc-private" });
      else this.events.direct?.(chat, actor);
    });
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

/** The body of a one-to-one message; carbons, receipts and chat states have none and are skipped. */
function readChat(stanza: Element, from: string): IncomingChat | undefined {
  const body = stanza.getChildText("body");
  if (body === null) return undefined;
  return { from, body, thread: stanza.getChildText("thread") ?? undefined, delayed: stanza.getChild("delay", NS.delay) !== undefined };
}

const errorText = (e: unknown): string => {
  const condition = (e as { condition?: unknown }).condition;
  return typeof condition === "string" ? condition : e instanceof Error ? e.message : String(e);
};

/**
 * Ends the TCP connection at once, without the closing handshake a frozen server would never
 * answer: the socket's "close" makes @xmpp/client's reconnect start over.
 */
function dropSocket(xmpp: Client): void {
  const socket = (xmpp as unknown as { socket?: { socket?: { destroy?(): void }; destroy?(): void } | null }).socket;
  const raw = socket?.socket ?? socket; // @xmpp/tls wraps the TLS socket
  raw?.destroy?.();
}
