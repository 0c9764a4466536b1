/**
 * A second, independent XMPP client that sits in a room and records what the room shows: used by
 * the demo to print arriving tickets and by the integration tests to check them. It shares no code
 * path with the bot's room client on purpose (only the stanza readers).
 */
import { client, xml, type Client } from "@xmpp/client";
import type { Element } from "@xmpp/xml";
import { decodeUtf8AcrossChunks, withoutStreamManagement } from "../xmpp/connection.js";
import { attr, bare, NS, readRoomMessage, readSelfPresence, readStanzaError, type IncomingRoomMessage } from "../xmpp/stanzas.js";

export type SeenMessage = IncomingRoomMessage & { stanza: Element };

export type Watcher = {
  messages: SeenMessage[];
  join(room: string, nick: string): Promise<void>;
  /** Resolves with the first message (already seen or arriving) that matches; rejects after the timeout. */
  waitFor(match: (m: SeenMessage) => boolean, timeoutMs?: number, what?: string): Promise<SeenMessage>;
  send(stanza: Element): Promise<void>;
  /** Sends an iq and resolves with the result (rejects on an error answer). */
  /** An iq request and its answer (rejects on an error answer, or after `timeoutMs`: 10 s). */
  iq(stanza: Element, timeoutMs?: number): Promise<Element>;
  onMessage(listener: (m: SeenMessage) => void): void;
  client: Client;
  stop(): Promise<void>;
};

export async function startWatcher(opts: { service: string; domain: string; username: string; password: string; resource?: string }): Promise<Watcher> {
  const xmpp = client({ service: opts.service, domain: opts.domain, username: opts.username, password: opts.password, resource: opts.resource ?? "watcher" });
  // The same connection as the bot's (UTF-8 across chunks, no XEP-0198): see src/xmpp/connection.ts.
  decodeUtf8AcrossChunks(xmpp);
  withoutStreamManagement(xmpp);
  const messages: SeenMessage[] = [];
  const listeners: ((m: SeenMessage) => void)[] = [];
  const joinWaiters = new Map<string, { resolve: () => void; reject: (e: Error) => void }>();
  xmpp.on("error", () => undefined); // reported through failed waits; the watcher must never crash a test or the demo
  xmpp.on("stanza", (stanza: Element) => {
    const self = readSelfPresence(stanza);
    if (self) {
      joinWaiters.get(self.room)?.resolve();
      return;
    }
    if (stanza.is("presence") && attr(stanza, "type") === "error") {
      const error = readStanzaError(stanza);
      joinWaiters.get(bare(attr(stanza, "from") ?? ""))?.reject(new Error(`join refused: ${error?.condition ?? "unknown"}`));
      return;
    }
    const msg = readRoomMessage(stanza);
    if (!msg) return;
    const seen: SeenMessage = { ...msg, stanza };
    messages.push(seen);
    for (const l of listeners) l(seen);
  });
  await xmpp.start();
  await xmpp.send(xml("presence"));

  return {
    messages,
    client: xmpp,
    async join(room, nick) {
      const joined = new Promise<void>((resolve, reject) => {
        joinWaiters.set(room.toLowerCase(), { resolve, reject });
        setTimeout(() => reject(new Error(`no answer joining ${room}`)), 10_000).unref();
      });
      await xmpp.send(xml("presence", { to: `${room}/${nick}` }, xml("x", { xmlns: NS.muc })));
      await joined;
    },
    waitFor(match, timeoutMs = 10_000, what = "a matching room message") {
      const already = messages.find(match);
      if (already) return Promise.resolve(already);
      return new Promise<SeenMessage>((resolve, reject) => {
        const timer = setTimeout(() => {
          const i = listeners.indexOf(listener);
          if (i >= 0) listeners.splice(i, 1);
          reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; saw ${messages.length} message(s): ${messages.map((m) => JSON.stringify((m.body ?? "").slice(0, 60))).join(", ")}`));
        }, timeoutMs);
        const listener = (m: SeenMessage): void => {
          if (!match(m)) return;
          clearTimeout(timer);
          const i = listeners.indexOf(listener);
          if (i >= 0) listeners.splice(i, 1);
          resolve(m);
        };
        listeners.push(listener);
      });
    },
    async send(stanza) {
      await xmpp.send(stanza);
    },
    iq(stanza, timeoutMs = 10_000) {
      // @types/xmpp__client's iqCaller type does not resolve under NodeNext; this is its documented shape.
      const caller = xmpp.iqCaller as unknown as { request(iq: Element, timeoutMs?: number): Promise<Element> };
      return caller.request(stanza, timeoutMs);
    },
    onMessage(listener) {
      listeners.push(listener);
    },
    async stop() {
      await xmpp.stop().catch(() => undefined);
    },
  };
}
