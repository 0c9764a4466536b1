/**
 * The bot's own posts in a room's archive (XEP-0313 Message Archive Management, urn:xmpp:mam:2),
 * read on every (re)join before the room counts as joined: an outbox entry the room shows is
 * delivered, not sent again. The join history (XEP-0045 §7.2.15) replays only the last 20 messages
 * (Prosody's default), so without an archive at most that many may be unconfirmed at once; with one
 * the outbox can keep a large window per room (src/outbox/delivery.ts).
 *
 * Stanzas (XEP-0313 §4): an iq set to the room's bare JID with a `query`, a data form whose
 * `start` field (§4.1.2, XEP-0082 DateTime) limits the results to what came since the oldest
 * unconfirmed entry, and RSM paging (XEP-0059: `max`, `after` the last UID of the previous page).
 * Each match comes as a message with `<result queryid id>` wrapping `<forwarded>` (XEP-0297) and the
 * original `<message>`; the iq result carries `<fin complete='true'>` on the last page. Prosody's
 * mod_muc_mam ignores the `with` field and pages at most 50 results, so no `with` is sent and
 * every page up to `complete` is read. A room offers an archive when its disco#info lists the
 * feature urn:xmpp:mam:2 (mod_muc_mam does only where archiving is on).
 */
import { xml } from "@xmpp/client";
import type { Element } from "@xmpp/xml";
import type { Logger } from "../log/logger.js";
import type { OutboxEntry } from "../store/types.js";
import { err, ok, type Result } from "../util/result.js";
import { attr, bare, readRoomMessage, type IncomingRoomMessage } from "./stanzas.js";

export const MAM = "urn:xmpp:mam:2";
const RSM = "http://jabber.org/protocol/rsm";
const FORWARD = "urn:xmpp:forward:0";
const DISCO_INFO = "http://jabber.org/protocol/disco#info";
const DATA_FORMS = "jabber:x:data";

/** What this module needs of the connection: iq requests and every incoming stanza. */
export type StanzaWire = {
  request(iq: Element, timeoutMs?: number): Promise<Element>;
  /** Calls `listener` with every incoming stanza until the returned function is called. */
  listen(listener: (stanza: Element) => void): () => void;
  /**
   * The outbox id a post's origin-id stands for, if this bot signed it (src/xmpp/origin.ts);
   * undefined for anyone else's. Without it, posts under the bot's nick count as its own.
   */
  ownPost?: ((originId: string | undefined) => string | undefined) | undefined;
};

// ---------------------------------------------------------------------------------------------
// Stanzas (pure)
// ---------------------------------------------------------------------------------------------

/** XEP-0030 §3.1: what the room offers. */
export const roomInfoRequest = (room: string, id: string): Element => xml("iq", { type: "get", to: room, id }, xml("query", { xmlns: DISCO_INFO }));

/** Does the disco#info result list the archive feature? */
export function offersArchive(info: Element): boolean {
  const query = info.getChild("query", DISCO_INFO);
  return (query?.getChildren("feature") ?? []).some((f) => attr(f, "var") === MAM);
}

/** One page of the room's archive since `start` (XEP-0313 §4.1.2, §4.3), after the UID `after`. */
export function archiveQuery(room: string, id: string, queryId: string, start: Date, after: string | undefined, max: number): Element {
  const field = (name: string, value: string, type?: string): Element => xml("field", { var: name, ...(type ? { type } : {}) }, xml("value", {}, value));
  return xml(
    "iq",
    { type: "set", to: room, id },
    xml(
      "query",
      { xmlns: MAM, queryid: queryId },
      xml("x", { xmlns: DATA_FORMS, type: "submit" }, field("FORM_TYPE", MAM, "hidden"), field("start", start.toISOString().replace(/\.\d{3}Z$/, "Z"))),
      xml("set", { xmlns: RSM }, xml("max", {}, String(max)), ...(after === undefined ? [] : [xml("after", {}, after)])),
    ),
  );
}

/**
 * A result message of query `queryId` from `room`, as the room message it forwards: marked
 * delayed (it is history), with the archive UID as its stanza-id when the stored copy has none
 * (XEP-0313 §4.2: the UID is the room's stanza-id).
 */
export function readArchived(stanza: Element, room: string, queryId: string): IncomingRoomMessage | undefined {
  if (!stanza.is("message") || bare(attr(stanza, "from") ?? "") !== room) return undefined;
  const result = stanza.getChild("result", MAM);
  if (!result || attr(result, "queryid") !== queryId) return undefined;
  const inner = result.getChild("forwarded", FORWARD)?.getChild("message");
  if (!inner) return undefined;
  const msg = readRoomMessage(inner);
  if (!msg || msg.room !== room) return undefined;
  return { ...msg, delayed: true, stanzaId: msg.stanzaId ?? attr(result, "id") };
}

/** The iq result that ends a page: whether it was the last, and the last UID to page on from. */
export function readFin(iq: Element): { complete: boolean; last: string | undefined } | undefined {
  const fin = iq.getChild("fin", MAM);
  if (!fin) return undefined;
  const last = fin.getChild("set", RSM)?.getChildText("last") ?? undefined;
  return { complete: attr(fin, "complete") === "true", last: last === "" ? undefined : last };
}

// ---------------------------------------------------------------------------------------------
// Queries (over the wire)
// ---------------------------------------------------------------------------------------------

export type ArchiveReadOptions = { pageSize?: number; maxPages?: number; timeoutMs?: number };

let counter = 0;
const nextId = (prefix: string): string => `${prefix}-${Date.now().toString(36)}-${(counter++).toString(36)}`;

/**
 * The server's own trouble, whatever error type it gives: Prosody's mod_muc_mam answers a storage
 * failure with internal-server-error of type "cancel", where ejabberd says "wait".
 */
const SERVER_TROUBLE = new Set(["internal-server-error", "resource-constraint", "remote-server-timeout"]);

/**
 * Whether a failed request may succeed later: no answer in time, no connection, an error of type
 * "wait" (RFC 6120 §8.3.2: "retry after waiting"), or the server's own trouble. Any other error is
 * the server's answer.
 */
export function isTransient(e: unknown): boolean {
  if (!(e instanceof Error) || e.name !== "StanzaError") return true;
  const { type, condition } = e as Error & { type?: unknown; condition?: unknown };
  return type === "wait" || (typeof condition === "string" && SERVER_TROUBLE.has(condition));
}

/** What went wrong, for the log (@xmpp/events' TimeoutError has no message of its own). */
function reasonOf(e: unknown, timeoutMs?: number): string {
  if (!(e instanceof Error)) return String(e);
  if (e.name === "TimeoutError") return timeoutMs === undefined ? "no answer in time" : `no answer in ${timeoutMs} ms`;
  return e.message || e.name;
}

/** A room's archive as far as its disco#info tells: offered, not offered, or unknown (no answer yet). */
export type ArchiveOffer = { known: true; archive: boolean; refused?: string | undefined } | { known: false; reason: string };

/** Does the room offer an archive? A refused disco is a no; one that got no answer is not known. */
export async function archiveOffer(wire: StanzaWire, room: string, timeoutMs = 15_000): Promise<ArchiveOffer> {
  try {
    return { known: true, archive: offersArchive(await wire.request(roomInfoRequest(room, nextId("info")), timeoutMs)) };
  } catch (e) {
    return isTransient(e) ? { known: false, reason: `room info: ${reasonOf(e, timeoutMs)}` } : { known: true, archive: false, refused: `room info: ${reasonOf(e)}` };
  }
}

/** Why an archive read failed, and whether trying again later may help (see `isTransient`). */
export type ArchiveReadFailure = { reason: string; transient: boolean };

/**
 * Every post of the bot in the room's archive since `since`, oldest first, with its outbox id as
 * `originId`: those whose origin-id it signed (under whatever nick: a stand-in one while its own was
 * taken), or, on a wire that cannot tell, those under `nick`.
 */
export async function postsInArchive(wire: StanzaWire, room: string, nick: string, since: Date, opts: ArchiveReadOptions = {}): Promise<Result<IncomingRoomMessage[], ArchiveReadFailure>> {
  const own = (msg: IncomingRoomMessage): IncomingRoomMessage | undefined => {
    if (!wire.ownPost) return msg.nick === nick ? msg : undefined;
    const id = wire.ownPost(msg.originId);
    return id === undefined ? undefined : { ...msg, originId: id };
  };
  const pageSize = opts.pageSize ?? 50;
  const maxPages = opts.maxPages ?? 2000;
  const found: IncomingRoomMessage[] = [];
  let after: string | undefined;
  for (let page = 0; page < maxPages; page++) {
    const queryId = nextId("mam");
    let seen = 0;
    const stop = wire.listen((stanza) => {
      const msg = readArchived(stanza, room, queryId);
      if (!msg) return;
      seen++;
      const ours = own(msg);
      if (ours) found.push(ours);
    });
    let fin: ReturnType<typeof readFin>;
    try {
      fin = readFin(await wire.request(archiveQuery(room, nextId("q"), queryId, since, after, pageSize), opts.timeoutMs ?? 15_000));
    } catch (e) {
      return err({ reason: `archive query failed: ${reasonOf(e, opts.timeoutMs ?? 15_000)}`, transient: isTransient(e) });
    } finally {
      stop();
    }
    if (!fin) return err({ reason: "archive query answered without <fin/>", transient: false });
    // The last page, or a page that moved nowhere (a server that never says complete).
    if (fin.complete || fin.last === undefined || fin.last === after || seen === 0) return ok(found);
    after = fin.last;
  }
  return err({ reason: `archive has more than ${maxPages} pages since ${since.toISOString()}`, transient: false });
}

// ---------------------------------------------------------------------------------------------
// Recognising the bot's own posts on join
// ---------------------------------------------------------------------------------------------

/** Unconfirmed posts per room where the archive can recognise them all after a crash. */
export const ARCHIVE_WINDOW = 1000;

/** The query starts this much before the oldest unconfirmed entry was queued (clock skew). */
const SKEW_MS = 10 * 60_000;

/** A room whose archive cannot be read yet is asked again after this, doubling up to a minute. */
const DOUBT_RETRY_MS = 5_000;
const DOUBT_RETRY_MAX_MS = 60_000;
/** How long a room's messages are held at most while its archive does not answer (across rejoins). */
const DOUBT_LIMIT_MS = 10 * 60_000;

export type ArchiveRecognitionDeps = {
  wire: () => StanzaWire;
  /** Whether the connection is up (authenticated): a room in doubt is asked again only then. */
  isOnline?: (() => boolean) | undefined;
  /** The room's outbox entries not confirmed yet. */
  pending: (room: string) => readonly OutboxEntry[];
  /** A post of ours the archive shows: handled like its echo (the inbox, own nick). */
  recognised: (msg: IncomingRoomMessage) => void;
  /** The room's window changed outside a join (its archive was read late): delivery may go on. */
  settled?: ((room: string) => void) | undefined;
  /** The window of a room without an archive: what its join history replays. */
  historyWindow: number;
  log: Logger;
  read?: ArchiveReadOptions | undefined;
  attempts?: number | undefined;
  retryDelayMs?: number | undefined;
  /** While in doubt: the first wait before asking again, its cap, and how long to hold at most. */
  doubt?: { retryMs?: number; retryMaxMs?: number; limitMs?: number } | undefined;
  now?: (() => number) | undefined;
};

/** What one look at a room found. */
type Resolution =
  | { kind: "archive" }
  | { kind: "no-archive" }
  /** disco#info did not answer, but nothing is pending: there is nothing to recognise. */
  | { kind: "unknown-nothing-pending" }
  | { kind: "refused"; what: "room info" | "archive"; reason: string }
  | { kind: "unanswered"; reason: string };

/** A room whose messages are held: from the start of its check until that settles. */
type Hold = { since: number; attempt: number; timer: NodeJS.Timeout | undefined; announced: boolean };

export class ArchiveRecognition {
  /** Rooms whose archive was read at their last join. */
  readonly #archived = new Set<string>();
  /**
   * Rooms being checked, or whose archive did not answer: their window is 0. A hold outlives a
   * rejoin (its start, and so the limit, is kept) and ends only when a check settles.
   */
  readonly #held = new Map<string, Hold>();
  /** Bumped at every join of a room: a late answer for an earlier join is ignored. */
  readonly #generation = new Map<string, number>();
  #stopped = false;

  constructor(private readonly deps: ArchiveRecognitionDeps) {}

  /**
   * Messages a room may have in flight (see src/outbox/delivery.ts). None while it is held: what
   * it has queued may have been posted before a crash, and only its archive can tell. New messages
   * wait too, behind the old ones, so that the room shows them in order.
   */
  windowFor(room: string): number {
    const key = room.toLowerCase();
    if (this.#held.has(key)) return 0;
    return this.#archived.has(key) ? ARCHIVE_WINDOW : this.deps.historyWindow;
  }

  /** Is the room holding its messages until its archive answers? */
  isHeld(room: string): boolean {
    return this.#held.get(room.toLowerCase())?.announced === true;
  }

  /** Stops asking rooms in doubt (at shutdown). */
  stop(): void {
    this.#stopped = true;
    for (const h of this.#held.values()) clearTimeout(h.timer);
  }

  /**
   * Before the room counts as joined: does it keep an archive, and which of the pending entries
   * does it show? Never throws. A room that refuses the question is treated as one without an
   * archive (the join history recognises what it replays, and the window is the history's). One
   * that does not answer (a server busy after a restart, the server's own trouble) holds its
   * messages and is asked again, for up to ten minutes in all: sending them unrecognised could
   * post them twice.
   */
  async beforeJoined(room: string, nick: string): Promise<void> {
    const key = room.toLowerCase();
    const generation = (this.#generation.get(key) ?? 0) + 1;
    this.#generation.set(key, generation);
    const earlier = this.#held.get(key);
    clearTimeout(earlier?.timer);
    const hold: Hold = { since: earlier?.since ?? this.#now(), attempt: 0, timer: undefined, announced: earlier?.announced ?? false };
    this.#held.set(key, hold);
    const found = await this.#resolve(room, key, nick, this.deps.attempts ?? 3);
    if (this.#stopped || this.#generation.get(key) !== generation) return; // a newer check owns the room
    this.#after(room, key, nick, generation, hold, found);
  }

  #now(): number {
    return (this.deps.now ?? Date.now)();
  }

  /** A check's outcome: the room settles, or stays held and is asked again later. */
  #after(room: string, key: string, nick: string, generation: number, hold: Hold, found: Resolution): void {
    const o = this.deps.doubt ?? {};
    const heldMs = this.#now() - hold.since;
    const limitMs = o.limitMs ?? DOUBT_LIMIT_MS;
    if (found.kind !== "unanswered") return this.#settle(room, key, hold, found);
    if (heldMs >= limitMs) return this.#settle(room, key, hold, { kind: "refused", what: "archive", reason: `no answer for ${Math.round(heldMs / 1000)} s (last: ${found.reason})` });
    const waitMs = Math.min((o.retryMs ?? DOUBT_RETRY_MS) * 2 ** hold.attempt, o.retryMaxMs ?? DOUBT_RETRY_MAX_MS, limitMs - heldMs);
    const log = { room, pending: this.deps.pending(key).length, reason: found.reason, retryInMs: waitMs, heldMs };
    if (!hold.announced) this.deps.log.warn(log, "room archive did not answer: holding the room's messages (those queued may have been posted before a restart) and asking again");
    else this.deps.log.info(log, "room archive still did not answer: asking again");
    hold.announced = true;
    hold.timer = setTimeout(() => void this.#askAgain(room, key, nick, generation, hold), waitMs);
    hold.timer.unref();
  }

  async #askAgain(room: string, key: string, nick: string, generation: number, hold: Hold): Promise<void> {
    if (this.#stopped || this.#generation.get(key) !== generation) return;
    hold.attempt++;
    // Offline, a request would fail (or, before authentication, be refused): wait for the
    // connection, whose rejoin starts a check of its own.
    const found: Resolution = this.deps.isOnline?.() === false ? { kind: "unanswered", reason: "not connected" } : await this.#resolve(room, key, nick, 1).catch((e: unknown): Resolution => ({ kind: "unanswered", reason: reasonOf(e) }));
    if (this.#stopped || this.#generation.get(key) !== generation) return;
    this.#after(room, key, nick, generation, hold, found);
    if (!this.#held.has(key)) this.deps.settled?.(key);
  }

  #settle(room: string, key: string, hold: Hold, found: Exclude<Resolution, { kind: "unanswered" }>): void {
    this.#held.delete(key);
    if (found.kind === "archive") this.#archived.add(key);
    else this.#archived.delete(key);
    const heldMs = this.#now() - hold.since;
    if (found.kind === "refused")
      this.deps.log.error(
        { room, pending: this.deps.pending(key).length, what: found.what, reason: found.reason, window: this.deps.historyWindow, ...(hold.announced ? { heldMs } : {}) },
        "room archive could not be read: own posts are recognised from the join history only, and messages beyond it may be sent twice",
      );
    else if (hold.announced && found.kind === "unknown-nothing-pending")
      this.deps.log.info({ room, heldMs }, "room held no more messages of ours: it is released without its archive");
    else if (hold.announced) this.deps.log.info({ room, heldMs, archive: found.kind === "archive" }, "room archive answered: the room's held messages go on");
  }

  /** One look at the room: its disco#info, then (with pending entries) its archive, `attempts` times. */
  async #resolve(room: string, key: string, nick: string, attempts: number): Promise<Resolution> {
    const wire = this.deps.wire();
    this.deps.log.debug({ room }, "asking the room whether it keeps an archive");
    const offer = await archiveOffer(wire, key, this.deps.read?.timeoutMs);
    if (this.#stopped) return { kind: "unanswered", reason: "stopped" };
    const pending = this.deps.pending(key);
    if (!offer.known) return pending.length > 0 ? { kind: "unanswered", reason: offer.reason } : { kind: "unknown-nothing-pending" };
    if (offer.refused !== undefined && pending.length > 0) return { kind: "refused", what: "room info", reason: offer.refused };
    if (!offer.archive) return { kind: "no-archive" };
    if (pending.length === 0) return { kind: "archive" };
    let oldest = Infinity;
    for (const e of pending) {
      const t = Date.parse(e.createdAt);
      if (t < oldest) oldest = t;
    }
    const since = new Date((Number.isFinite(oldest) ? oldest : this.#now()) - SKEW_MS);
    let read: Result<IncomingRoomMessage[], ArchiveReadFailure> = err({ reason: "not read", transient: true });
    for (let attempt = 1; attempt <= attempts; attempt++) {
      read = await postsInArchive(wire, key, nick, since, this.deps.read);
      if (read.ok || !read.error.transient || this.#stopped) break;
      if (attempt < attempts) await new Promise((r) => setTimeout(r, (this.deps.retryDelayMs ?? 1000) * attempt).unref());
    }
    if (this.#stopped) return { kind: "unanswered", reason: "stopped" };
    if (!read.ok) return read.error.transient ? { kind: "unanswered", reason: read.error.reason } : { kind: "refused", what: "archive", reason: read.error.reason };
    const ids = new Set(pending.map((e) => e.id));
    let recognised = 0;
    for (const msg of read.value) {
      if (msg.originId === undefined || !ids.has(msg.originId)) continue;
      recognised++;
      this.deps.recognised(msg);
    }
    this.deps.log.info({ room, since: since.toISOString(), pending: pending.length, recognised, archived: read.value.length }, "own posts recognised in the room's archive");
    return { kind: "archive" };
  }
}
