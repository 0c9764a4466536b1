/**
 * Chat commands end to end: dispatch (pure: parse → authorize → validate → run) → the change goes
 * through the intake like any source's (saved with its announcements and ticket-system writes in
 * one write) and other effects are written → the reply is sent where the command came from → the
 * audit record is written with how it really ended. Shared by room messages, direct and private
 * messages, and ad-hoc commands.
 */
import { registry as defaultRegistry } from "../../commands/index.js";
import { Affiliations, type Acl, type Affiliation, type ActorIdentity } from "../dispatch/authorize.js";
import { dispatch, engineerActor, type DispatchResult } from "../dispatch/dispatch.js";
import type { Command, Registry } from "../dispatch/ports.js";
import { RateLimiter } from "../dispatch/rate-limit.js";
import type { IncidentBook } from "../intake/incidents.js";
import { changeHash } from "../intake/plan.js";
import type { Logger } from "../log/logger.js";
import type { Telemetry } from "../ops/telemetry.js";
import type { IntakeService } from "../intake/intake.js";
import type { IntakeResult, SourceBatch, TicketVersion } from "../sources/types.js";
import type { TicketStore } from "../store/types.js";
import { planEffects, settingsOf } from "./effects.js";

export type Reply = (body: string, thread?: string) => Promise<void>;

export type CommandServiceDeps = {
  acl: Acl;
  botNick: string;
  store: TicketStore;
  intake: Pick<IntakeService, "exclusive">;
  incidents: IncidentBook;
  timeZone: string;
  log: Logger;
  now: () => Date;
  registry?: Registry;
  rateLimiter?: RateLimiter | undefined;
  telemetry?: Telemetry | undefined;
};

/** The room's word for the occupant's affiliation, if it is one we know (anything else: none). */
export function asAffiliation(value: string | undefined): Affiliation | undefined {
  return (Affiliations as readonly string[]).includes(value ?? "") ? (value as Affiliation) : undefined;
}

const NOT_SAVED = "Sorry, I could not save that change; nothing was changed. The error has been logged.";

export class CommandService {
  readonly #limiter: RateLimiter;
  readonly #limitedLogged = new Map<string, number>();

  constructor(private readonly deps: CommandServiceDeps) {
    this.#limiter = deps.rateLimiter ?? new RateLimiter();
  }

  /** What a command's ad-hoc form starts with for this requester (e.g. the room's current setting). */
  formDefaults(command: Command, identity: ActorIdentity): Readonly<Record<string, string>> {
    return command.formDefaults({ room: identity.room, settings: settingsOf(this.deps.store) });
  }

  /**
   * Runs one message as a command, if it is one. Resolves with what was decided (for tests and
   * ad-hoc). `botNick`: the bot's nickname where the message was said (rooms may give it its own).
   */
  async handle(text: string, identity: ActorIdentity, reply: Reply, botNick = this.deps.botNick): Promise<DispatchResult> {
    // Run with the intake to itself: the command sees every change made before it, and its own
    // change is planned on the ticket it saw. The reply is sent after, outside.
    const { result, replyText, thread } = await this.deps.intake.exclusive((submit) => this.#run(text, identity, botNick, submit));
    if (result.kind !== "none") this.deps.telemetry?.command(result.audit.outcome);
    if (replyText !== undefined) {
      try {
        await reply(replyText, thread);
      } catch (e) {
        this.deps.log.warn({ err: (e as Error).message, command: result.kind === "none" ? "" : result.audit.command }, "could not send the command's reply");
      }
    }
    return result;
  }

  async #run(
    text: string,
    identity: ActorIdentity,
    botNick: string,
    submit: (batch: SourceBatch) => Promise<IntakeResult>,
  ): Promise<{ result: DispatchResult; replyText?: string | undefined; thread?: string | undefined }> {
    const { store, log } = this.deps;
    const now = this.deps.now();
    const result = dispatch(text, identity, {
      botNick,
      acl: this.deps.acl,
      registry: this.deps.registry ?? defaultRegistry,
      tickets: { ticket: (id) => store.ticket(id), tickets: () => store.values("tickets") },
      incidents: this.deps.incidents,
      settings: settingsOf(store),
      now,
      timeZone: this.deps.timeZone,
    });
    if (result.kind === "none") return { result };
    // Past a burst, a sender's commands are dropped unanswered and unwritten (logged once a minute).
    const sender = identity.jid ?? `${identity.room ?? ""}/${identity.nick ?? ""}`;
    if (!this.#limiter.take(sender, now.getTime())) {
      if (now.getTime() - (this.#limitedLogged.get(sender) ?? 0) > 60_000) {
        this.#limitedLogged.set(sender, now.getTime());
        log.warn({ actor: identity.jid, nick: identity.nick, room: identity.room, via: identity.via }, "too many commands from one sender: ignoring them for a while");
      }
      return { result: { kind: "ignored", audit: { ...result.audit, outcome: "ignored", reason: "rate limited" } } };
    }

    let replyText = result.kind === "reply" ? result.reply : undefined;
    let thread: string | undefined;
    const audit = { ...result.audit };
    if (result.kind === "reply" && result.change && audit.outcome === "accepted") {
      const change = result.change;
      const notify = identity.via === "groupchat" && identity.room ? { room: identity.room, to: identity.nick ?? "" } : identity.jid ? { to: identity.jid } : undefined;
      const version: TicketVersion = {
        ticket: change.ticket,
        provenance: { source: "command", item: `${change.verb}:${change.actor}`, published: now.toISOString() },
        // The command made its change from the stored ticket, unless a poll changed it meanwhile.
        merge: "replace",
        expectHash: changeHash(change.previous),
        actor: engineerActor(change.actor, identity.nick),
        command: { verb: change.verb, by: change.actor, ...(notify ? { notify } : {}) },
      };
      const submitted = await submit({ source: "command", versions: [version], logFields: { via: identity.via, actor: change.actor } });
      const outcome = submitted.committed ? submitted.outcomes[0] : undefined;
      if (!submitted.committed) {
        replyText = NOT_SAVED;
        audit.outcome = "failed";
        audit.reason = `not saved: ${submitted.error}`;
      } else if (outcome?.outcome === "conflict" || outcome?.outcome === "refused") {
        replyText = outcome.reason ?? NOT_SAVED;
        audit.outcome = "failed";
        audit.reason = `not applied: ${outcome.reason ?? outcome.outcome}`;
      } else thread = outcome?.thread;
    }
    if (result.kind === "reply" && result.effects && result.effects.length > 0 && audit.outcome === "accepted") {
      try {
        await store.commit(planEffects(result.effects, { actor: audit.actor ?? "", now }));
      } catch (e) {
        replyText = NOT_SAVED;
        audit.outcome = "failed";
        audit.reason = `not saved: ${(e as Error).message}`;
      }
    }
    if (result.kind === "reply" && result.cause !== undefined)
      log.error({ err: result.cause instanceof Error ? result.cause.stack : JSON.stringify(result.cause), command: audit.command }, "command crashed");
    try {
      // Written once it is known how the command ended: a change that could not be saved is "failed".
      await store.audit(audit);
    } catch (e) {
      log.error({ err: (e as Error).message, audit }, "audit log not written");
    }
    log[audit.outcome === "accepted" ? "info" : "warn"](
      { actor: audit.actor, nick: audit.nick, room: audit.room, via: audit.via, command: audit.command, outcome: audit.outcome, reason: audit.reason, ticket: audit.ticket },
      "chat command",
    );
    return { result: { ...result, audit }, replyText, thread };
  }
}
