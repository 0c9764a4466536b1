/**
 * Chat text → reply, proposed change and audit record (pure given its inputs; never throws).
 *
 *   parse → (the bot itself? ignore) → lookup → authorize (role, channel) → validate arguments →
 *   run → authorize the change (the ticket's Partner_ID) → validate the changed ticket
 *
 * The caller sends `reply`, saves `change.ticket`, posts the AS2 activity (`engineerActor` as
 * actor) and writes `audit`. Nothing is changed unless `outcome` is "accepted" and `change` is set.
 *
 * Unknown commands: answered when the bot was addressed by nickname or in a direct message. In a
 * room an unknown `/x`, `//x` or `!x` is answered only when it is a likely typo of one of ours
 * ("did you mean !status?"); any other is ignored (audited as "ignored"): rooms are shared with
 * other bots, whose commands are not ours to refuse, and with peer ttrelay bots, which would each
 * answer the same "unknown command".
 *
 * Replies name commands the way the asker gives them where they asked (`commandAs`): `!help` in a
 * room, “help” in a direct chat, the “help” command in an ad-hoc form.
 */
import type { Actor } from "../model/activity.js";
import { validateTicket } from "../model/ticket.js";
import { authorize, bareJid, type Acl, type ActorIdentity, type Role, type Via } from "./authorize.js";
import { parseCommandText } from "./parse.js";
import { likelyTypo } from "./suggest.js";
import {
  commandAs,
  commandWords,
  roomOnlyRefusal,
  usageLine,
  worksHere,
  type CommandActor,
  type CommandEffect,
  type CommandResult,
  type IncidentQuery,
  type Registry,
  type SettingsQuery,
  type TicketChange,
  type TicketQuery,
} from "./ports.js";

export type DispatchDeps = {
  /** The bot's nickname in the room (or its default nick), for "ttrelay: ack X". */
  botNick: string;
  acl: Acl;
  registry: Registry;
  tickets: TicketQuery;
  incidents?: IncidentQuery | undefined;
  settings?: SettingsQuery | undefined;
  now: Date;
  /** For times in replies; default "UTC". */
  timeZone?: string | undefined;
};

export const AuditOutcomes = ["accepted", "refused", "invalid", "failed", "ignored"] as const;
export type AuditOutcome = (typeof AuditOutcomes)[number];

export type AuditRecord = {
  /** RFC 3339 time. */
  at: string;
  /** Real bare JID, if known. */
  actor: string | undefined;
  /** The nickname used (never trusted; for reading the log). */
  nick?: string | undefined;
  room?: string | undefined;
  via: Via;
  /** The command name as resolved ("" when there was none). */
  command: string;
  argv: string[];
  outcome: AuditOutcome;
  /** Why, for the log (not shown to the user). */
  reason: string;
  role?: Role | undefined;
  /** The ticket changed (accepted changes) or refused. */
  ticket?: string | undefined;
};

/** A change to save and post, with who made it. */
export type ProposedChange = TicketChange & { actor: string };

export type DispatchResult =
  /** Not a command: say nothing, log nothing. */
  | { kind: "none" }
  /** A command not to answer (the bot's own message; another bot's command in a room). */
  | { kind: "ignored"; audit: AuditRecord }
  | { kind: "reply"; reply: string; audit: AuditRecord; change?: ProposedChange | undefined; effects?: readonly CommandEffect[] | undefined; cause?: unknown };

/** Audit argv: at most this many arguments of at most this many characters. */
const AUDIT_MAX_ARGS = 20;
const AUDIT_MAX_ARG = 200;

/** The AS2 actor for a change made by an engineer over XMPP (RFC 5122 `xmpp:` URI). */
export function engineerActor(jid: string, name?: string): Actor {
  const bare = bareJid(jid);
  return { type: "Person", id: `xmpp:${bare}`, name: (name?.trim() || bare).slice(0, 200) };
}

export function dispatch(text: string, context: ActorIdentity, deps: DispatchDeps): DispatchResult {
  const parsed = parseCommandText(text, deps.botNick, context.via === "groupchat" ? "groupchat" : "direct");
  if (parsed === undefined) return { kind: "none" };

  const base = {
    at: deps.now.toISOString(),
    actor: context.jid === undefined ? undefined : bareJid(context.jid),
    nick: context.nick,
    room: context.room,
    via: context.via,
  };
  const audit = (command: string, argv: readonly string[], outcome: AuditOutcome, reason: string, extra: Partial<AuditRecord> = {}): AuditRecord => ({
    ...base,
    command,
    argv: argv.slice(0, AUDIT_MAX_ARGS).map((a) => (a.length > AUDIT_MAX_ARG ? `${a.slice(0, AUDIT_MAX_ARG)}…` : a)),
    outcome,
    reason,
    ...extra,
  });
  const answer = (reply: string, record: AuditRecord, change?: ProposedChange, cause?: unknown): DispatchResult => ({
    kind: "reply",
    reply,
    audit: record,
    ...(change === undefined ? {} : { change }),
    ...(cause === undefined ? {} : { cause }),
  });

  // The bot's own messages (room echoes, another resource of its account) are never commands.
  if (base.actor !== undefined && base.actor === deps.acl.self) {
    return { kind: "ignored", audit: audit(parsed.ok ? parsed.value.name : "", [], "ignored", "message from the bot itself") };
  }
  if (!parsed.ok) return answer(parsed.error.human, audit("", [], "invalid", parsed.error.code));

  const { name, argv, rest, prefix } = parsed.value;
  const command = deps.registry.lookup(name);
  if (command === undefined) {
    const typed = name.slice(0, 32);
    const near = likelyTypo(typed, commandWords(deps.registry));
    if (context.via === "groupchat" && prefix !== "nick" && near === undefined) {
      return { kind: "ignored", audit: audit(typed, argv, "ignored", "unknown command in a room") };
    }
    const help = commandAs(context.via, "help");
    const human =
      typed === ""
        ? `Yes? Try ${help} to see what I can do.`
        : `Unknown command “${typed}”.${near === undefined ? "" : ` Did you mean ${commandAs(context.via, near)}?`} Try ${help} for the list.`;
    return answer(human, audit(typed, argv, "invalid", near === undefined ? "unknown command" : `unknown command (near ${near})`));
  }

  const policy = { name: command.name, role: command.role, mutates: command.mutates };
  const decision = authorize(deps.acl, context, policy);
  if (decision.kind === "ignore") return { kind: "ignored", audit: audit(command.name, argv, "ignored", decision.logReason) };
  if (decision.kind === "deny") return answer(decision.reason, audit(command.name, argv, "refused", decision.logReason));

  if (!worksHere(command, context)) return answer(roomOnlyRefusal(command.name, context.via), audit(command.name, argv, "invalid", "needs a room", { role: decision.role }));

  const bound = command.bind(argv, rest);
  if (!bound.ok) return answer(`${usageLine(command, context.via)} (${bound.error})`, audit(command.name, argv, "invalid", bound.error, { role: decision.role }));

  const actor: CommandActor = {
    jid: base.actor ?? "",
    role: decision.role,
    via: context.via,
    room: context.room,
    nick: context.nick,
    nocs: decision.nocs,
  };
  let result: CommandResult;
  try {
    result = bound.value.run({
      actor,
      now: deps.now,
      timeZone: deps.timeZone ?? "UTC",
      tickets: deps.tickets,
      incidents: deps.incidents,
      registry: deps.registry,
      settings: deps.settings,
    });
  } catch (e) {
    const reason = e instanceof Error ? e.message : String(e);
    return answer(
      `Sorry, something went wrong while running “${command.name}”. Nothing was changed; the error has been logged.`,
      audit(command.name, argv, "failed", `exception: ${reason}`, { role: decision.role }),
      undefined,
      e,
    );
  }

  if (!result.ok) {
    const outcome: AuditOutcome = result.code === "bad-args" ? "invalid" : result.code === "forbidden" ? "refused" : "failed";
    return answer(result.human, audit(command.name, argv, outcome, `${result.code}: ${result.human}`, { role: decision.role }));
  }
  const change = result.change;
  if (change === undefined) {
    const done = answer(result.reply, audit(command.name, argv, "accepted", "ok", { role: decision.role }));
    return result.effects && result.effects.length > 0 && done.kind === "reply" ? { ...done, effects: result.effects } : done;
  }

  const ticket = change.previous.TT_ID;
  // Second look, now that the ticket is known: is it one of the actor's NOCs?
  const onTicket = authorize(deps.acl, context, policy, change.previous.Partner_ID);
  if (onTicket.kind !== "allow") {
    const reason = onTicket.kind === "deny" ? onTicket.reason : "Sorry, I can't do that.";
    return answer(reason, audit(command.name, argv, "refused", onTicket.logReason, { role: decision.role, ticket }));
  }
  if (change.ticket.TT_ID !== ticket) {
    return answer(
      `Sorry, something went wrong while running “${command.name}”. Nothing was changed; the error has been logged.`,
      audit(command.name, argv, "failed", `change renames ${ticket} to ${change.ticket.TT_ID}`, { role: decision.role, ticket }),
    );
  }
  const valid = validateTicket(change.ticket, "open");
  if (!valid.ok) {
    const issue = valid.error[0];
    return answer(
      `Sorry, that change would make ${ticket} invalid, so I did not make it.`,
      audit(command.name, argv, "failed", `invalid result: ${issue ? `${issue.path}: ${issue.message}` : "?"}`, { role: decision.role, ticket }),
    );
  }
  return answer(result.reply, audit(command.name, argv, "accepted", change.verb, { role: decision.role, ticket }), {
    ...change,
    ticket: valid.value,
    actor: actor.jid,
  });
}
