/**
 * Chat commands end to end: dispatch (pure: parse → authorize → validate → run) → the change saved
 * and announced (durably, through the outbox) → the reply sent where the command came from → the
 * audit record written. Shared by room messages, direct and private messages, and ad-hoc commands.
 */
import { registry as defaultRegistry } from "../../commands/index.js";
import { Affiliations, type Acl, type Affiliation, type ActorIdentity } from "../dispatch/authorize.js";
import { dispatch, engineerActor, type DispatchResult, type ProposedChange } from "../dispatch/dispatch.js";
import type { RtWrite, StoredTicket } from "../store/types.js";
import type { Registry } from "../dispatch/ports.js";
import { RateLimiter } from "../dispatch/rate-limit.js";
import type { Logger } from "../log/logger.js";
import type { RenderOptions } from "../render/ticket-message.js";
import type { LowStore } from "../store/lowdb-store.js";
import { planCommandEffect } from "../intake/command-effect.js";
import type { IncidentBook } from "../intake/incidents.js";

export type Reply = (body: string, thread?: string) => Promise<void>;

export type CommandServiceDeps = {
  acl: Acl;
  botNick: string;
  store: LowStore;
  incidents: IncidentBook;
  render: RenderOptions;
  log: Logger;
  now: () => Date;
  /** Called after a change was queued (to kick the outbox). */
  afterChange: () => void;
  registry?: Registry;
  /** RT writes for a change of a ticket that lives in this NOC's RT (queued with the change). */
  rtWrites?: ((change: ProposedChange, stored: StoredTicket, notify: RtWrite["notify"]) => RtWrite[]) | undefined;
  /** Called after RT writes were queued. */
  afterRtQueue?: (() => void) | undefined;
  rateLimiter?: RateLimiter | undefined;
};

/** The room's word for the occupant's affiliation, if it is one we know (anything else: none). */
export function asAffiliation(value: string | undefined): Affiliation | undefined {
  return (Affiliations as readonly string[]).includes(value ?? "") ? (value as Affiliation) : undefined;
}

export class CommandService {
  readonly #limiter: RateLimiter;
  readonly #limitedLogged = new Map<string, number>();

  constructor(private readonly deps: CommandServiceDeps) {
    this.#limiter = deps.rateLimiter ?? new RateLimiter();
  }

  /** Runs one message as a command, if it is one. Resolves with what was decided (for tests and ad-hoc). */
  /** `botNick`: the bot's nickname where the message was said (rooms may give it its own). */
  async handle(text: string, identity: ActorIdentity, reply: Reply, botNick = this.deps.botNick): Promise<DispatchResult> {
    const { store, log } = this.deps;
    const now = this.deps.now();
    const result = dispatch(text, identity, {
      botNick,
      acl: this.deps.acl,
      registry: this.deps.registry ?? defaultRegistry,
      tickets: { ticket: (id) => store.ticket(id), tickets: () => Object.values(store.data.tickets) },
      incidents: this.deps.incidents,
      now,
      timeZone: this.deps.render.timeZone,
    });
    if (result.kind === "none") return result;
    // Past a burst, a sender's commands are dropped unanswered and unwritten (logged once a minute).
    const sender = identity.jid ?? `${identity.room ?? ""}/${identity.nick ?? ""}`;
    if (!this.#limiter.take(sender, now.getTime())) {
      if (now.getTime() - (this.#limitedLogged.get(sender) ?? 0) > 60_000) {
        this.#limitedLogged.set(sender, now.getTime());
        log.warn({ actor: identity.jid, nick: identity.nick, room: identity.room, via: identity.via }, "too many commands from one sender: ignoring them for a while");
      }
      return { kind: "ignored", audit: { ...result.audit, outcome: "ignored", reason: "rate limited" } };
    }

    let replyText = result.kind === "reply" ? result.reply : undefined;
    let thread: string | undefined;
    let queuedRt = false;
    const audit = { ...result.audit };
    if (result.kind === "reply" && result.change) {
      const effect = planCommandEffect(
        { engineer: engineerActor(result.change.actor, identity.nick), render: this.deps.render, incidents: this.deps.incidents, now },
        result.change,
        store.ticket(result.change.ticket.TT_ID),
      );
      if (!effect.ok) {
        replyText = effect.error;
        audit.outcome = "failed";
        audit.reason = `not applied: ${effect.error}`;
      } else {
        const notify: RtWrite["notify"] =
          identity.via === "groupchat" && identity.room ? { room: identity.room, to: identity.nick ?? "" } : identity.jid ? { to: identity.jid } : undefined;
        const rtWrites = this.deps.rtWrites?.(result.change, effect.value.stored, notify) ?? [];
        // Saved with its announcements and RT writes in one write, before anything is sent.
        store.update((d) => {
          d.tickets[effect.value.stored.ticket.TT_ID] = effect.value.stored;
          d.outbox.push(...effect.value.outbox);
          d.rtOutbox.push(...rtWrites);
        });
        if (rtWrites.length > 0) queuedRt = true;
        thread = effect.value.outbox[0]?.thread;
      }
    }
    if (result.kind === "reply" && result.cause !== undefined)
      log.error({ err: result.cause instanceof Error ? result.cause.stack : JSON.stringify(result.cause), command: audit.command }, "command crashed");
    try {
      await store.audit(audit);
      // The audit line is on disk already; the store is rewritten only when a ticket changed.
      if (audit.outcome === "accepted" && result.kind === "reply" && result.change) await store.commit();
    } catch (e) {
      log.error({ err: (e as Error).message }, "store write failed: the command's change may be lost");
      replyText = "Sorry, I could not save that change; nothing was changed. The error has been logged.";
    }
    log[audit.outcome === "accepted" ? "info" : "warn"](
      { actor: audit.actor, nick: audit.nick, room: audit.room, via: audit.via, command: audit.command, outcome: audit.outcome, reason: audit.reason, ticket: audit.ticket },
      "chat command",
    );
    if (audit.outcome === "accepted" && result.kind === "reply" && result.change) this.deps.afterChange();
    if (queuedRt && audit.outcome === "accepted") this.deps.afterRtQueue?.();
    if (replyText !== undefined) {
      try {
        await reply(replyText, thread);
      } catch (e) {
        log.warn({ err: (e as Error).message, command: audit.command }, "could not send the command's reply");
      }
    }
    // With the audit as it ended (a change that could not be saved is "failed", not "accepted").
    return { ...result, audit };
  }
}
