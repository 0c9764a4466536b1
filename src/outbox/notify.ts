/**
 * Telling one person something the bot noticed later (a ticket-system write delayed or failed):
 * in the room the command came from, through the durable outbox (addressed by nick); else by a
 * direct message to their account.
 */
import { randomUUID } from "node:crypto";
import type { Logger } from "../log/logger.js";
import { ChangeSet, type TicketStore } from "../store/types.js";

export type Notify = { room?: string | undefined; to: string };

export type NotifierDeps = {
  store: TicketStore;
  sendChat: (to: string, body: string, thread?: string) => Promise<void>;
  /** Wakes the outbox delivery. */
  queued: () => void;
  log: Logger;
  now: () => Date;
};

export function createNotifier(deps: NotifierDeps): (notify: Notify, text: string, thread?: string) => void {
  return (notify, text, thread) => {
    if (notify.room) {
      const id = `note-${randomUUID()}`;
      const entry = { id, room: notify.room, body: `${notify.to}: ${text}`, ...(thread ? { thread } : {}), createdAt: deps.now().toISOString(), attempts: 0 };
      deps.store.commit(new ChangeSet().put("outbox", id, entry)).then(deps.queued, (e: unknown) =>
        deps.log.error({ err: (e as Error).message, room: notify.room, to: notify.to }, "store write failed: a notice was not queued"),
      );
    } else void deps.sendChat(notify.to, text, thread).catch((e: unknown) => deps.log.warn({ err: (e as Error).message, to: notify.to }, "could not send a notice"));
  };
}
