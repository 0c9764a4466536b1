/**
 * Origin-ids that only this bot can make (XEP-0359 §4). The outbox id of a post is derivable from
 * the activity and the room (it must be stable, so planning the same thing twice queues it once),
 * so it cannot be what proves an echo is ours: anyone who once held the bot's nick (a squatter while
 * it was away, kept in the room's history) could post the id of a message the bot is about to send
 * and have the real one taken as delivered. On the wire the origin-id is the outbox id with a keyed
 * MAC (HMAC-SHA-256 under a key kept in the store); an echo counts only if the MAC checks.
 */
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { z } from "zod";
import type { Logger } from "../log/logger.js";
import { ChangeSet, type TicketStore } from "../store/types.js";

/** The MAC's length in base64url characters: 96 bits, well past guessing within a room's lifetime. */
const MAC_CHARS = 16;

/** A new random key (kept in the store once made, so a restart recognises its earlier posts). */
export const newOriginKey = (): string => randomBytes(32).toString("base64url");

const mac = (key: string, id: string): string => createHmac("sha256", key).update(id).digest("base64url").slice(0, MAC_CHARS);

/** The origin-id sent for an outbox entry. */
export const signOriginId = (key: string, id: string): string => `${id}.${mac(key, id)}`;

/** The outbox id an origin-id stands for, if this bot made it; undefined for anyone else's. */
export function verifyOriginId(key: string, originId: string | undefined): string | undefined {
  if (originId === undefined) return undefined;
  const dot = originId.lastIndexOf(".");
  if (dot <= 0) return undefined;
  const id = originId.slice(0, dot);
  const given = Buffer.from(originId.slice(dot + 1));
  const expected = Buffer.from(mac(key, id));
  return given.length === expected.length && timingSafeEqual(given, expected) ? id : undefined;
}

const KEY_RECORD = "xmpp:origin-key";
const KeyRecord = z.object({ key: z.string().min(16) });

/** The key kept in the store (made and written on first start; a damaged one is replaced, with a warning). */
export async function keptOriginKey(store: Pick<TicketStore, "get" | "commit">, log?: Logger): Promise<string> {
  const stored = store.get("sources", KEY_RECORD);
  const parsed = KeyRecord.safeParse(stored);
  if (parsed.success) return parsed.data.key;
  if (stored !== undefined) log?.warn({ record: KEY_RECORD }, "the stored origin-id key is not valid: a new one is made (posts sent before may be sent once more)");
  const key = newOriginKey();
  await store.commit(new ChangeSet().put("sources", KEY_RECORD, { key }));
  return key;
}
