/**
 * Fixes to the connection of @xmpp/client 0.14, applied to one client instance before it starts.
 * Each replaces a method on the instance, not on the prototype: upstream binds `this._onData` and
 * `this._onElement` when it first subscribes its socket and parser listeners, so the instance's own
 * methods are the ones that run, and no other client in the process is touched.
 *
 * UTF-8 across TCP chunks: upstream's `Connection.prototype._onData` (node_modules/@xmpp/connection/
 * index.js) does `this.parser.write(data.toString("utf8"))` for every chunk, so a character whose
 * bytes arrive in two chunks becomes two U+FFFD. A `StringDecoder` keeps the incomplete bytes of one
 * chunk for the next. One decoder per socket: `_attachSocket` runs for each new TCP connection and
 * again for the TLS socket after STARTTLS (RFC 6120 §5.4.3.3: the stream restarts on a fresh byte
 * stream), and bytes left over from an old socket must not prefix the new one.
 *
 * Stream management (XEP-0198) off: upstream's implementation (node_modules/@xmpp/stream-management)
 * fires "online" before it sends `<enable/>`, and resets its count of received stanzas in a promise
 * continuation after `<enabled/>`; answers to the first presence and requests, arriving around
 * `<enabled/>`, are counted wrong, and ejabberd then closes the stream ("Client acknowledged more
 * stanzas than sent by server"). The bot needs none of what it offers: room posts are confirmed by
 * their echo (the outbox), rooms are rejoined after a reconnect, and the keepalive notices a dead
 * server. Without it a crashed bot also leaves no session behind that the server keeps for
 * resumption (300 s on ejabberd) under the bot's nick. The `<sm/>` feature is removed from the
 * server's stream features before upstream's negotiation sees it.
 */
import { StringDecoder } from "node:string_decoder";
import type { Element } from "@xmpp/xml";

const NS_STREAM = "http://etherx.jabber.org/streams";
const NS_SM = "urn:xmpp:sm:3";

/** The parts of @xmpp/connection's Connection this module touches (its own types are loose). */
type ConnectionInternals = {
  parser: { write(text: string): void } | null;
  _onData(data: Buffer | string): void;
  _attachSocket(socket: unknown): void;
  /** Milliseconds timestamp of the last bytes received (see `lastReceivedAt`). */
  lastReceivedAt?: number;
};

/** Decode incoming bytes with one StringDecoder per socket, and note when bytes last arrived. */
export function decodeUtf8AcrossChunks(client: object, now: () => number = Date.now): void {
  const conn = client as ConnectionInternals;
  const attachSocket = conn._attachSocket.bind(conn);
  let decoder = new StringDecoder("utf8");
  conn._attachSocket = (socket: unknown): void => {
    decoder = new StringDecoder("utf8");
    attachSocket(socket);
  };
  conn._onData = (data: Buffer | string): void => {
    conn.lastReceivedAt = now();
    const text = typeof data === "string" ? data : decoder.write(data);
    // A chunk that ended inside a character leaves nothing to parse yet.
    if (text !== "") conn.parser?.write(text);
  };
}

/** Never negotiate XEP-0198 stream management on this client (see above). */
export function withoutStreamManagement(client: object): void {
  const conn = client as { _onElement(element: Element): void };
  const onElement = conn._onElement.bind(conn);
  conn._onElement = (element: Element): void => {
    if (element.is("features", NS_STREAM)) element.remove("sm", NS_SM);
    onElement(element);
  };
}

/** When bytes last came in on this client's connection (0: never). Read timeouts use it. */
export const lastReceivedAt = (client: object): number => (client as ConnectionInternals).lastReceivedAt ?? 0;
