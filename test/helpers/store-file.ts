/** A bot's store as tests look at it from outside: read without opening it for writing, or changed while the bot is stopped. */
import assert from "node:assert/strict";
import { FileStore } from "../../src/store/file-store.js";
import type { ChangeSet, OutboxEntry, StoreState } from "../../src/store/types.js";

export async function readStore(path: string): Promise<StoreState & { outboxList: OutboxEntry[] }> {
  const r = await FileStore.read(path);
  assert.ok(r.ok, r.ok ? "" : r.error);
  return { ...r.value, outboxList: [...r.value.outbox.values()] };
}

/** Commits `changes` to a store no bot has open (what a crash at the wrong moment would have left). */
export async function changeStore(path: string, changes: ChangeSet): Promise<void> {
  const r = await FileStore.open(path);
  assert.ok(r.ok, r.ok ? "" : r.error);
  await r.value.commit(changes);
  await r.value.close();
}
