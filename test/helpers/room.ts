/** Small helpers the XMPP integration tests share: say something in a room, wait for the bot. */
import { xml } from "@xmpp/client";
import type { SeenMessage, Watcher } from "../../src/demo/watcher.js";
import { shown } from "./messages.js";

/** A groupchat message from a real client. */
export const say = (c: Watcher, room: string, body: string): Promise<void> => c.send(xml("message", { to: room, type: "groupchat" }, xml("body", {}, body)));

/** A live message of the bot (nick "ttrelay") whose text, the incident prefix set aside, matches. */
export const fromBot = (re: RegExp) => (m: SeenMessage): boolean => !m.delayed && m.nick === "ttrelay" && re.test(shown(m));

/** Polls `probe` until it gives a value. */
export async function eventually<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
