/**
 * The contract between the dispatcher and the commands in commands/: what a command sees (small
 * read-only ports), how it is declared (`defineCommand`: data plus a `run` that RETURNS its reply
 * and the change it proposes), and a few helpers the commands share.
 *
 * A command never sends, saves or audits: `dispatch` authorizes, the caller saves `change.ticket`,
 * posts the AS2 activity (the engineer as actor) and writes the audit record.
 */
import { z } from "zod";
import { err, ok, type Result } from "../util/result.js";
import { isFinalStatus, type Ticket } from "../model/ticket.js";
import type { TransitionError } from "../model/transitions.js";
import { formatTime } from "../render/ticket-message.js";
import type { NocScope, Role, Via } from "./authorize.js";
import { prefixFor } from "./channel.js";
import { MAX_REF_LENGTH, resolveRef, type RefKind, type ResolvedRef, type TicketRefLookup } from "./ticket-ref.js";

// ---------------------------------------------------------------------------------------------
// Read-only ports
// ---------------------------------------------------------------------------------------------

/** A stored ticket as commands see it; the store's `StoredTicket` fits. */
export type TicketView = {
  readonly ticket: Ticket;
  /** The incident (local id) it belongs to, if correlated. */
  readonly incident?: string | undefined;
  /** Why it was put there (`explainDecision`), for `show`. */
  readonly correlation?: string | undefined;
  /** Where it came from: a feed id, "peer:<room>", … */
  readonly source?: string | undefined;
  /** The NOC's web page for it. */
  readonly link?: string | undefined;
};

export interface TicketQuery {
  /** By exact TT_ID. */
  ticket(ttId: string): TicketView | undefined;
  /** Every known ticket (open and recently closed, all NOCs). */
  tickets(): Iterable<TicketView>;
}

/** An incident as commands see it; `Incident` of src/correlate fits. */
export type IncidentView = {
  readonly id: string;
  /** Member TT_IDs, oldest first. */
  readonly tickets: readonly string[];
  readonly status: "open" | "closed";
  readonly openedAt: string;
  readonly partners?: readonly string[] | undefined;
};

/** `CorrelationIndex` fits as is. */
export interface IncidentQuery {
  incident(incidentId: string): IncidentView | undefined;
  incidentIds(): Iterable<string>;
}

// ---------------------------------------------------------------------------------------------
// Commands
// ---------------------------------------------------------------------------------------------

/** Who runs the command, as authorization established it. */
export type CommandActor = {
  /** Real bare JID: written into History, Contact_Engineers, Close_Engineer. */
  readonly jid: string;
  readonly role: Role;
  readonly via: Via;
  readonly room?: string | undefined;
  readonly nick?: string | undefined;
  /** Partner_IDs whose tickets the actor may change ("any" for admins). */
  readonly nocs: NocScope;
};

export type BaseContext = {
  readonly actor: CommandActor;
  readonly now: Date;
  /** IANA time zone for times in replies (config render.timeZone). */
  readonly timeZone: string;
  readonly tickets: TicketQuery;
  readonly incidents?: IncidentQuery | undefined;
  readonly registry: Registry;
  readonly settings?: SettingsQuery | undefined;
};

export type CommandContext<A> = BaseContext & { readonly args: A };

/** What a change was, in a word: for the activity summary and the audit log. */
export const ChangeVerbs = [
  "acknowledged",
  "updated",
  "closed",
  "solved",
  "cancelled",
  "superseded",
  "reopened",
  "assigned",
  "linked",
  "unlinked",
] as const;
export type ChangeVerb = (typeof ChangeVerbs)[number];

export type TicketChange = { ticket: Ticket; previous: Ticket; verb: ChangeVerb };

/**
 * What a command may change besides a ticket, as data: the dispatcher passes effects on untouched,
 * and src/inbox/effects.ts has one handler per kind (a new kind is one member here and one handler).
 */
export type CommandEffect =
  /** A setting of one room (e.g. how updates are shown there), kept in the store. */
  { kind: "room-setting"; room: string; name: RoomSettingName; value: string };

export const RoomSettingNames = ["updates"] as const;
export type RoomSettingName = (typeof RoomSettingNames)[number];

/** Success: the reply (XEP-0393 text) and, for a mutating command, the change to save and post. */
export type CommandOutcome = { ok: true; reply: string; change?: TicketChange | undefined; effects?: readonly CommandEffect[] | undefined };

/** What an ad-hoc form's defaults may depend on: forms are made per requester. */
export type FormContext = { readonly room?: string | undefined; readonly settings?: SettingsQuery | undefined };

/** Room settings as commands see them (read-only). */
export interface SettingsQuery {
  roomSetting(room: string, name: RoomSettingName): string | undefined;
}

export const FailureCodes = ["bad-args", "not-found", "forbidden", "conflict"] as const;
export type FailureCode = (typeof FailureCodes)[number];
/** Failure: `human` is shown to the user as is. */
export type CommandFailure = { ok: false; code: FailureCode; human: string };

export type CommandResult = CommandOutcome | CommandFailure;

export type CommandSpec<S extends z.ZodType> = {
  name: string;
  aliases?: readonly string[];
  /** Without the prefix: "ack <ticket> [note…]". */
  usage: string;
  /** One line for `help`. */
  summary: string;
  /** The least role that may run it. */
  role: Role;
  /** Changes something, a ticket or a setting (engineers only; tickets only of their NOCs). */
  mutates: boolean;
  /**
   * Works for one room only (a room setting): said in that room or sent through it (a private
   * message or an ad-hoc request to the bot's occupant JID). Elsewhere it is refused, and not offered.
   */
  needsRoom?: boolean;
  args: S;
  /** Values its ad-hoc form starts with, by field var (see `fieldsFromUsage` in src/xmpp/adhoc.ts). */
  formDefaults?(ctx: FormContext): Readonly<Record<string, string>>;
  /** argv and the raw text after the name → the input `args` validates. Must not throw. */
  parseArgs(argv: readonly string[], rest: string): unknown;
  run(ctx: CommandContext<z.output<S>>): CommandResult;
};

/** A command bound to validated arguments, ready to run. */
export type BoundCommand = { readonly args: unknown; run(ctx: BaseContext): CommandResult };

/** A declared command, its argument type erased behind `bind`. */
export interface Command {
  readonly name: string;
  readonly aliases: readonly string[];
  readonly usage: string;
  readonly summary: string;
  readonly role: Role;
  readonly mutates: boolean;
  readonly needsRoom: boolean;
  formDefaults(ctx: FormContext): Readonly<Record<string, string>>;
  /** Parses and validates; the error says briefly what is wrong ("missing ticket"). */
  bind(argv: readonly string[], rest: string): Result<BoundCommand, string>;
}

/** Whether `command` can work where the actor is: a room-only command needs a room. */
export const worksHere = (command: Pick<Command, "needsRoom">, actor: { room?: string | undefined }): boolean => !command.needsRoom || actor.room !== undefined;

/** Every name and alias, for "did you mean …?". */
export const commandWords = (registry: Registry): string[] => registry.list().flatMap((c) => [c.name, ...c.aliases]);

export interface Registry {
  /** By name or alias, case-insensitive. */
  lookup(name: string): Command | undefined;
  /** Every command once, in registration order. */
  list(): readonly Command[];
}

export { PREFIX, commandAs, prefixFor, roomOnlyRefusal } from "./channel.js";

export function defineCommand<S extends z.ZodType>(spec: CommandSpec<S>): Command & { readonly spec: CommandSpec<S> } {
  return {
    spec,
    name: spec.name,
    aliases: spec.aliases ?? [],
    usage: spec.usage,
    summary: spec.summary,
    role: spec.role,
    mutates: spec.mutates,
    needsRoom: spec.needsRoom ?? false,
    formDefaults: (ctx) => spec.formDefaults?.(ctx) ?? {},
    bind(argv, rest) {
      let input: unknown;
      try {
        input = spec.parseArgs(argv, rest);
      } catch {
        return err("could not read the arguments");
      }
      const parsed = spec.args.safeParse(input);
      if (!parsed.success) return err(describeIssue(parsed.error.issues[0], input));
      const args = parsed.data;
      return ok({ args, run: (ctx: BaseContext) => spec.run({ ...ctx, args }) });
    },
  };
}

function describeIssue(issue: z.core.$ZodIssue | undefined, input: unknown): string {
  if (issue === undefined) return "invalid arguments";
  if (issue.code === "unrecognized_keys") return "too many arguments";
  const key = issue.path[0];
  if (typeof key === "string") {
    if (key === "extra") return "too many arguments";
    const given = input !== null && typeof input === "object" ? (input as Record<string, unknown>)[key] : undefined;
    if (given === undefined && issue.code === "invalid_type") return `missing ${key}`;
    if (issue.code === "too_big") return `${key} is too long`;
    if (issue.code === "too_small") return `missing ${key}`;
  }
  return issue.message;
}

// ---------------------------------------------------------------------------------------------
// Helpers for commands
// ---------------------------------------------------------------------------------------------

export const reply = (text: string, change?: TicketChange): CommandOutcome => (change === undefined ? { ok: true, reply: text } : { ok: true, reply: text, change });
export const fail = (code: FailureCode, human: string): CommandFailure => ({ ok: false, code, human });

/** Longest free text (note, update, reason) accepted, in characters. */
export const MAX_TEXT = 2000;

/** A ticket or incident reference as typed; resolved by the command (`findTicket`, `resolveIn`). */
export const RefArg = z.string().trim().min(1).max(MAX_REF_LENGTH);
/** Optional free text ("" when absent). */
export const TextArg = z.string().trim().max(MAX_TEXT).default("");
/** Required free text. */
export const RequiredTextArg = z.string().trim().min(1).max(MAX_TEXT);

/** The usage line as shown to users, with the prefix the channel needs ("!" in rooms only). */
export const usageLine = (command: Pick<Command, "usage">, via: Via = "groupchat"): string => `Usage: ${prefixFor(via)}${command.usage}`;

/** Adapts the ports to what `resolveRef` needs. */
export function refLookup(tickets: TicketQuery, incidents?: IncidentQuery): TicketRefLookup {
  return {
    hasTicket: (id) => tickets.ticket(id) !== undefined,
    ticketIds: function* () {
      for (const v of tickets.tickets()) yield v.ticket.TT_ID;
    },
    hasIncident: (id) => incidents?.incident(id) !== undefined,
    incidentIds: () => incidents?.incidentIds() ?? [],
  };
}

/** Resolves a reference typed by the user; errors become command failures. */
export function resolveIn(ctx: BaseContext, ref: string, kind: RefKind): Result<ResolvedRef, CommandFailure> {
  const r = resolveRef(ref, refLookup(ctx.tickets, ctx.incidents), kind, ctx.actor.via);
  if (r.ok) return r;
  return err(fail(r.error.code === "not-found" || r.error.code === "wrong-kind" ? "not-found" : "bad-args", r.error.human));
}

/** The ticket a reference names. */
export function findTicket(ctx: BaseContext, ref: string): Result<TicketView, CommandFailure> {
  const r = resolveIn(ctx, ref, "ticket");
  if (!r.ok) return r;
  const view = ctx.tickets.ticket(r.value.id);
  return view === undefined ? err(fail("not-found", `I don't know ticket ${r.value.id}.`)) : ok(view);
}

/** Maps a transition error to a command failure. */
export function transitionFailure(e: TransitionError): CommandFailure {
  return fail(e.code === "bad-args" ? "bad-args" : "conflict", e.human);
}

/**
 * The common path of a mutating command: resolve the ticket, apply the pure transition, reply with
 * `describe(after)` and propose the change. `alreadyDone` says, for a ticket that already is as the
 * command would make it (a repeated ack), what to reply instead: then nothing is changed, posted
 * or written back. A final ticket always goes to the transition, which says why it can't change.
 */
export function changeTicket(
  ctx: BaseContext,
  ref: string,
  verb: ChangeVerb,
  transition: (ticket: Ticket) => Result<Ticket, TransitionError>,
  describe: (after: Ticket) => string,
  alreadyDone?: (ticket: Ticket) => string | undefined,
): CommandResult {
  const found = findTicket(ctx, ref);
  if (!found.ok) return found.error;
  const previous = found.value.ticket;
  const done = isFinalStatus(previous.TT_Status) ? undefined : alreadyDone?.(previous);
  if (done !== undefined) return reply(done);
  const next = transition(previous);
  if (!next.ok) return transitionFailure(next.error);
  return reply(describe(next.value), { ticket: next.value, previous, verb });
}

/** Times in replies as in room messages ("2024-05-01 12:00 CEST"); "—" when absent. */
export function formatWhen(iso: string | undefined, timeZone: string): string {
  return iso === undefined ? "—" : formatTime(iso, timeZone);
}

/** One line per ticket for lists: "*EXN_1043* Updated · No connectivity · Title (service)". */
export function ticketLine(t: Ticket): string {
  const service = t.Affected_Service ? ` (${t.Affected_Service})` : "";
  return `*${t.TT_ID}* ${t.TT_Status} · ${t.TT_Impact_Assessment} · ${t.TT_Title}${service}`;
}

/** At most `max` lines, then "… and N more". */
export function capLines(lines: readonly string[], max: number): string[] {
  return lines.length <= max ? [...lines] : [...lines.slice(0, max), `… and ${lines.length - max} more`];
}
