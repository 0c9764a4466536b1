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

/** Whether the room offers an archive; an unanswered or refused disco counts as no. */
export async function roomHasArchive(wire: StanzaWire, room: string, timeoutMs = 15_000): Promise<boolean> {
  try {
    return offersArchive(await wire.request(roomInfoRequest(room, nextId("info")), timeoutMs));
  } catch {
    return false;
  }
}

/**
 * Every post of the bot in the room's archive since `since`, oldest first, with its outbox id as
 * `originId`: those whose origin-id it signed (under whatever nick: a stand-in one while its own was
 * taken), or, on a wire that cannot tell, those under `nick`.
 */
export async function postsInArchive(wire: StanzaWire, room: string, nick: string, since: Date, opts: ArchiveReadOptions = {}): Promise<Result<IncomingRoomMessage[], string>> {
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
      return err(`archive query failed: ${(e as Error).message}`);
    } finally {
      stop();
    }
    if (!fin) return err("archive query answered without <fin/>");
    // The last page, or a page that moved nowhere (a server that never says complete).
    if (fin.complete || fin.last === undefined || fin.last === after || seen === 0) return ok(found);
    after = fin.last;
  }
  return err(`archive has more than ${maxPages} pages since ${since.toISOString()}`);
}

// ---------------------------------------------------------------------------------------------
// Recognising the bot's own posts on join
// ---------------------------------------------------------------------------------------------

/** Unconfirmed posts per room where the archive can recognise them all after a crash. */
export const ARCHIVE_WINDOW = 1000;

/** The query starts this much before the oldest unconfirmed entry was queued (clock skew). */
const SKEW_MS = 10 * 60_000;

export type ArchiveRecognitionDeps = {
  wire: () => StanzaWire;
  /** The room's outbox entries not confirmed yet. */
  pending: (room: string) => readonly OutboxEntry[];
  /** A post of ours the archive shows: handled like its echo (the inbox, own nick). */
  recognised: (msg: IncomingRoomMessage) => void;
  /** The window of a room without an archive: what its join history replays. */
  historyWindow: number;
  log: Logger;
  read?: ArchiveReadOptions | undefined;
  attempts?: number | undefined;
  retryDelayMs?: number | undefined;
};

export class ArchiveRecognition {
  /** Rooms whose archive was read at their last join. */
  readonly #archived = new Set<string>();

  constructor(private readonly deps: ArchiveRecognitionDeps) {}

  /** Messages a room may have in flight (see src/outbox/delivery.ts). */
  windowFor(room: string): number {
    return this.#archived.has(room.toLowerCase()) ? ARCHIVE_WINDOW : this.deps.historyWindow;
  }

  /**
   * Before the room counts as joined: does it keep an archive, and which of the pending entries
   * does it show? Never throws: a room whose archive cannot be read is treated as one without
   * (the join history recognises what it replays, and the window is the history's again).
   */
  async beforeJoined(room: string, nick: string): Promise<void> {
    const key = room.toLowerCase();
    const wire = this.deps.wire();
    if (!(await roomHasArchive(wire, key))) {
      this.#archived.delete(key);
      return;
    }
    const pending = this.deps.pending(key);
    if (pending.length > 0) {
      const oldest = Math.min(...pending.map((e) => Date.parse(e.createdAt)).filter((t) => !Number.isNaN(t)));
      const since = new Date((Number.isFinite(oldest) ? oldest : Date.now()) - SKEW_MS);
      const attempts = this.deps.attempts ?? 3;
      let read: Result<IncomingRoomMessage[], string> = err("not read");
      for (let attempt = 1; attempt <= attempts; attempt++) {
        read = await postsInArchive(wire, key, nick, since, this.deps.read);
        if (read.ok) break;
        if (attempt < attempts) await new Promise((r) => setTimeout(r, (this.deps.retryDelayMs ?? 1000) * attempt));
      }
      if (!read.ok) {
        this.#archived.delete(key);
        this.deps.log.error(
          { room, pending: pending.length, reason: read.error, window: this.deps.historyWindow },
          "room archive could not be read: own posts are recognised from the join history only, and messages beyond it may be sent twice",
        );
        return;
      }
      const ids = new Set(pending.map((e) => e.id));
      let recognised = 0;
      for (const msg of read.value) {
        if (msg.originId === undefined || !ids.has(msg.originId)) continue;
        recognised++;
        this.deps.recognised(msg);
      }
      this.deps.log.info({ room, since: since.toISOString(), pending: pending.length, recognised, archived: read.value.length }, "own posts recognised in the room's archive");
    }
    this.#archived.add(key);
  }
}
