/**
 * The ceiling for bench/pipeline.ts: a bare @xmpp/client loop in its own process (as the bot runs in
 * its own), joined to the rooms, sending pre-built room messages one after the other as fast as the
 * connection takes them. Its rooms are configured as the bot configures its own. Driven over Node's
 * IPC channel: "ready" once joined, "warm:<n>" → "warmed", "go" → "sent".
 */
import { readFileSync } from "node:fs";
import { client, xml } from "@xmpp/client";
import type { Element } from "@xmpp/xml";
import { planRoomConfig } from "../../src/xmpp/room-config.js";
import { NS, ownerFormRequest, ownerFormSubmit, readDataForm, readSelfPresence, roomMessage, type OutgoingRoomMessage } from "../../src/xmpp/stanzas.js";

export type RawSenderInput = { service: string; domain: string; username: string; password: string; nick: string; rooms: string[]; messages: OutgoingRoomMessage[] };

const input = JSON.parse(readFileSync(process.argv[2] ?? "", "utf8")) as RawSenderInput;
const xmpp = client({ service: input.service, domain: input.domain, username: input.username, password: input.password, resource: "raw" });
xmpp.on("error", () => undefined);
const waiting = new Map<string, () => void>();
xmpp.on("stanza", (stanza: Element) => {
  const self = readSelfPresence(stanza);
  if (self) waiting.get(self.room)?.();
});
await xmpp.start();
await xmpp.send(xml("presence"));
for (const room of input.rooms) {
  const joined = new Promise<void>((resolve) => waiting.set(room.toLowerCase(), resolve));
  await xmpp.send(xml("presence", { to: `${room}/${input.nick}` }, xml("x", { xmlns: NS.muc }, xml("history", { maxstanzas: "0" }))));
  await joined;
  // Configured as the bot configures the rooms it creates (persistent, archived, real JIDs shown):
  // Prosody's work per message depends on it (it stores a copy with the sender's JID where JIDs show).
  const caller = xmpp.iqCaller as unknown as { request(iq: Element, timeoutMs?: number): Promise<Element> };
  const offered = readDataForm(await caller.request(ownerFormRequest(room, `cfg-form-${room}`), 10_000));
  await caller.request(ownerFormSubmit(room, `cfg-${room}`, planRoomConfig(offered, { name: "bench room" }).submit), 10_000);
}
// Built before the clock starts: the loop measures sending, not building.
const stanzas = input.messages.map((m) => roomMessage(m));
process.on("message", (m: string) => {
  // A warm-up round (as the bot gets one, see bench/pipeline.ts): the first n messages again, under other ids.
  if (m.startsWith("warm:"))
    void (async () => {
      const n = Number(m.slice(5));
      for (let i = 0; i < n; i++) {
        const source = input.messages[i % input.messages.length];
        if (source) await xmpp.send(roomMessage({ ...source, id: `${source.id}-warm-${i}` }));
      }
      process.send?.("warmed");
    })();
  if (m === "go")
    void (async () => {
      const t0 = performance.now();
      for (const s of stanzas) await xmpp.send(s);
      process.send?.({ sent: stanzas.length, ms: performance.now() - t0 });
    })();
  if (m === "stop") void xmpp.stop().finally(() => process.exit(0));
});
process.send?.("ready");
