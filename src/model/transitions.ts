/**
 * The TT_STATUS state machine of RFC 6137 (§2.2.1.1, Figure 2) and the pure ticket transitions
 * behind the chat commands. Nothing here reads the clock or does I/O: the caller passes `now`,
 * saves the result and posts the activity.
 *
 * Figure 2, read arrow by arrow ("Allowed transitions for TT_STATUS are only those indicated in
 * Figure 2"). Two lines carry an arrowhead at both ends and so are read both ways: Reopened <->
 * Superseded/Inactive/Cancelled and Reopened <-> Closed. There is NO Solved -> Reopened and NO
 * Solved -> Updated arrow: a Solved ticket goes on to Closed (or Superseded/Inactive/Cancelled), and
 * can be reopened once closed. Opened/Closed is entered only when a ticket is first received (it
 * has no incoming arrow); its only way out is Reopened. Staying in the same status is not a
 * transition: repeated updates of an "Updated" ticket keep it "Updated".
 *
 * Decisions where the RFC is silent (documented here, tested in test/unit/transitions.test.ts):
 * - History (§3.2.6.4, Free text) gets one line per action: "<RFC 3339 UTC time> <actor>: <what>".
 *   Newlines in user text become " / " so one action stays one line.
 * - NTTDM has no acknowledgement field. An ack is a History line ("acknowledged") plus the actor in
 *   Contact_Engineers (§3.2.8.2, the engineers handling the ticket). It leaves TT_Status alone.
 * - Only `addUpdate` moves the status to "Updated" (from Opened/Reopened; Updated stays, Solved
 *   stays Solved since Figure 2 has no Solved -> Updated). Ack, assign, link and unlink are
 *   bookkeeping about people and references and keep the status.
 * - A ticket in a final status ("(X)" in Figure 2) is not changed by anything but `reopen`.
 * - Close outcomes: "closed" -> Closed, "solved" -> Solved, "cancelled" -> Cancelled, "superseded"
 *   -> Superseded. Final outcomes set TT_Close_Datetime (§3.2.4.8) and Close_Engineer (§3.2.8.3) and
 *   End_Datetime (§3.2.5.8) if absent (a NOC-given end is kept). Solved is not final: it sets
 *   End_Datetime if absent (the trouble is over), but not the close fields.
 * - Superseded and Cancelled both need the other ticket (Superseded: "The RELATED_ACTIVITY field
 *   SHOULD include the master ticket reference"; Cancelled: "a relationship between them is defined
 *   via the RELATED_ACTIVITY field"). It is put FIRST in Related_Activity, where `masterOf`
 *   (src/correlate/rules.ts) looks for it.
 * - Reopen removes TT_Close_Datetime, Close_Engineer and End_Datetime (the trouble is not over)
 *   and records the previous status and close time in History ("Data in the History field are very
 *   important in this case", §2.2.1.1).
 * - Assign puts the engineer first in Contact_Engineers (NTTDM has no assignee field).
 * - Every result is checked with `validateTicket(t, "open")`; a ticket that would not validate is
 *   an error, never returned.
 */
import { err, ok, type Result } from "../util/result.js";
import { isFinalStatus, parseTicketId, validateTicket, type Ticket, type TicketStatus } from "./ticket.js";

// ---------------------------------------------------------------------------------------------
// Figure 2 as data
// ---------------------------------------------------------------------------------------------

/** Every arrow of Figure 2 (§2.2.1.1), as [from, to]. Nothing else is allowed. */
export const StatusTransitions = [
  // Opened: to Updated, Solved, Closed, and the Superseded/Inactive/Cancelled box.
  ["Opened", "Updated"],
  ["Opened", "Solved"],
  ["Opened", "Closed"],
  ["Opened", "Superseded"],
  ["Opened", "Inactive"],
  ["Opened", "Cancelled"],
  // Updated: to Solved, Closed, and the Superseded/Inactive/Cancelled box.
  ["Updated", "Solved"],
  ["Updated", "Closed"],
  ["Updated", "Superseded"],
  ["Updated", "Inactive"],
  ["Updated", "Cancelled"],
  // Solved: to Closed, and the Superseded/Inactive/Cancelled box.
  ["Solved", "Closed"],
  ["Solved", "Superseded"],
  ["Solved", "Inactive"],
  ["Solved", "Cancelled"],
  // Reopened: to Updated, Solved, Closed, and the Superseded/Inactive/Cancelled box.
  ["Reopened", "Updated"],
  ["Reopened", "Solved"],
  ["Reopened", "Closed"],
  ["Reopened", "Superseded"],
  ["Reopened", "Inactive"],
  ["Reopened", "Cancelled"],
  // Final states: back to Reopened only.
  ["Closed", "Reopened"],
  ["Superseded", "Reopened"],
  ["Inactive", "Reopened"],
  ["Cancelled", "Reopened"],
  ["Opened/Closed", "Reopened"],
] as const satisfies readonly (readonly [TicketStatus, TicketStatus])[];

const transitionSet: ReadonlySet<string> = new Set(StatusTransitions.map(([from, to]) => `${from}->${to}`));

/** True if Figure 2 has an arrow from `from` to `to` (a status is never a transition to itself). */
export function canTransition(from: TicketStatus, to: TicketStatus): boolean {
  return transitionSet.has(`${from}->${to}`);
}

/** The statuses Figure 2 allows after `from`, in the table's order. */
export function allowedTransitions(from: TicketStatus): TicketStatus[] {
  return StatusTransitions.filter(([f]) => f === from).map(([, to]) => to);
}

// ---------------------------------------------------------------------------------------------
// Errors and helpers
// ---------------------------------------------------------------------------------------------

/**
 * Why a transition was not made. `human` is for the chat user.
 * - conflict: the ticket's state does not allow it (final, already linked, Figure 2 forbids it);
 * - bad-args: the request itself is wrong (empty text, a ticket linked to itself);
 * - invalid: the result would not be a valid ticket (a bug or a damaged input ticket).
 */
export type TransitionError = { code: "conflict" | "bad-args" | "invalid"; human: string };

export const CloseOutcomes = ["closed", "solved", "cancelled", "superseded"] as const;
export type CloseOutcome = (typeof CloseOutcomes)[number];

/** The TT_Status each close outcome leads to. */
export const OutcomeStatus = {
  closed: "Closed",
  solved: "Solved",
  cancelled: "Cancelled",
  superseded: "Superseded",
} as const satisfies Record<CloseOutcome, TicketStatus>;

export type CloseRequest = { outcome: CloseOutcome; master?: string | undefined; reason?: string | undefined };

/** RFC 3339 UTC time with whole seconds: "2024-05-01T10:00:00Z" (§2.2.3). */
export function formatDatetime(now: Date): string {
  return now.toISOString().replace(/\.\d{3}Z$/u, "Z");
}

/** User text for one History line: trimmed, line breaks (with the spaces around them) as " / ". */
export function oneLine(text: string): string {
  return text.trim().replace(/\s*[\r\n]+\s*/gu, " / ");
}

/** "<time> <actor>: <what>" (§3.2.6.4). */
export function historyLine(now: Date, actor: string, what: string): string {
  return `${formatDatetime(now)} ${oneLine(actor)}: ${oneLine(what)}`;
}

function appendHistory(history: string, line: string): string {
  const trimmed = history.replace(/\s+$/u, "");
  return trimmed === "" ? line : `${trimmed}\n${line}`;
}

const withText = (what: string, text: string | undefined): string => {
  const t = text === undefined ? "" : oneLine(text);
  return t === "" ? what : `${what}: ${t}`;
};

const sameName = (a: string, b: string): boolean => a.trim().toLowerCase() === b.trim().toLowerCase();

function conflict(human: string): Refusal {
  return err({ code: "conflict", human });
}
function badArgs(human: string): Refusal {
  return err({ code: "bad-args", human });
}
type Refusal = Result<never, TransitionError>;

/** Refuses any change to a final ticket ("final states stay final unless reopened"). */
function refuseFinal(t: Ticket, doing: string): Refusal | undefined {
  if (!isFinalStatus(t.TT_Status)) return undefined;
  return conflict(`${t.TT_ID} is ${t.TT_Status}, a final status: I can't ${doing} it. Reopen it first if the trouble is back.`);
}

/** Common tail of every transition: History line, TT_Last_Update_Time, validation. */
function finish(before: Ticket, changes: Partial<Ticket>, remove: readonly (keyof Ticket)[], actor: string, what: string, now: Date): Result<Ticket, TransitionError> {
  const next: Ticket = { ...before, ...changes };
  for (const key of remove) Reflect.deleteProperty(next, key);
  next.History = appendHistory(before.History, historyLine(now, actor, what));
  next.TT_Last_Update_Time = formatDatetime(now);
  const checked = validateTicket(next, "open");
  if (!checked.ok) {
    const first = checked.error[0];
    return err({ code: "invalid", human: `The change to ${before.TT_ID} would not be a valid ticket (${first ? `${first.path}: ${first.message}` : "unknown problem"}).` });
  }
  return ok(checked.value);
}

function requireActor(actor: string): Refusal | undefined {
  return actor.trim() === "" ? badArgs("Who is doing this? The actor is missing.") : undefined;
}

// ---------------------------------------------------------------------------------------------
// Transitions
// ---------------------------------------------------------------------------------------------

/**
 * Acknowledge: "I am on it". History "acknowledged[: note]" and the actor added to
 * Contact_Engineers (once). Status unchanged; a final ticket is refused.
 */
export function acknowledge(ticket: Ticket, actor: string, note: string | undefined, now: Date): Result<Ticket, TransitionError> {
  const refused = requireActor(actor) ?? refuseFinal(ticket, "acknowledge");
  if (refused) return refused;
  const engineers = ticket.Contact_Engineers ?? [];
  const contact = engineers.some((e) => sameName(e, actor)) ? engineers : [...engineers, actor.trim()];
  return finish(ticket, { Contact_Engineers: contact }, [], actor, withText("acknowledged", note), now);
}

/** A free-text update (History). Opened/Reopened become Updated; Updated and Solved keep their status. */
export function addUpdate(ticket: Ticket, actor: string, text: string, now: Date): Result<Ticket, TransitionError> {
  const refused = requireActor(actor) ?? refuseFinal(ticket, "update");
  if (refused) return refused;
  if (oneLine(text) === "") return badArgs("The update text is empty.");
  const status: TicketStatus = canTransition(ticket.TT_Status, "Updated") ? "Updated" : ticket.TT_Status;
  return finish(ticket, { TT_Status: status }, [], actor, oneLine(text), now);
}

/** Closes (or solves, cancels, supersedes) a ticket, following Figure 2. */
export function closeTicket(ticket: Ticket, actor: string, request: CloseRequest, now: Date): Result<Ticket, TransitionError> {
  const refusedActor = requireActor(actor);
  if (refusedActor) return refusedActor;
  const target = OutcomeStatus[request.outcome];
  if (ticket.TT_Status === target) return conflict(`${ticket.TT_ID} is already ${target}.`);
  if (!canTransition(ticket.TT_Status, target)) {
    const allowed = allowedTransitions(ticket.TT_Status);
    return conflict(
      isFinalStatus(ticket.TT_Status)
        ? `${ticket.TT_ID} is already ${ticket.TT_Status}, a final status. Reopen it first if it needs another outcome.`
        : `${ticket.TT_ID} is ${ticket.TT_Status}; RFC 6137 does not allow ${ticket.TT_Status} → ${target} (allowed: ${allowed.join(", ")}).`,
    );
  }

  const changes: Partial<Ticket> = { TT_Status: target };
  const nowText = formatDatetime(now);
  let what: string = request.outcome;
  if (request.outcome === "superseded" || request.outcome === "cancelled") {
    const master = request.master?.trim() ?? "";
    if (master === "") {
      return badArgs(
        request.outcome === "superseded"
          ? `Superseded by which ticket? Name the master ticket (RFC 6137: Related_Activity should include it).`
          : `Cancelled in favour of which ticket? Name the ticket it duplicates (RFC 6137: the relationship goes in Related_Activity).`,
      );
    }
    if (master === ticket.TT_ID) return badArgs(`${ticket.TT_ID} can't be ${request.outcome} by itself.`);
    if (parseTicketId(master) === undefined) return badArgs(`"${master}" is not a ticket id (PARTNER_ORIGINAL, RFC 6137 §3.2.4.1).`);
    changes.Related_Activity = [master, ...(ticket.Related_Activity ?? []).filter((r) => r.trim() !== master)];
    what = request.outcome === "superseded" ? `superseded by ${master}` : `cancelled as a duplicate of ${master}`;
  }
  if (ticket.End_Datetime === undefined) changes.End_Datetime = nowText;
  if (isFinalStatus(target)) {
    changes.TT_Close_Datetime = nowText;
    changes.Close_Engineer = actor.trim();
  }
  return finish(ticket, changes, [], actor, withText(what, request.reason), now);
}

/** Reopens a final ticket (Figure 2: every final status leads to Reopened, and only there). */
export function reopen(ticket: Ticket, actor: string, reason: string | undefined, now: Date): Result<Ticket, TransitionError> {
  const refusedActor = requireActor(actor);
  if (refusedActor) return refusedActor;
  if (ticket.TT_Status === "Reopened") return conflict(`${ticket.TT_ID} is already Reopened.`);
  if (!canTransition(ticket.TT_Status, "Reopened")) {
    return conflict(
      ticket.TT_Status === "Solved"
        ? `${ticket.TT_ID} is Solved, not closed, and RFC 6137 has no Solved → Reopened step. Post an update instead, or close it first.`
        : `${ticket.TT_ID} is ${ticket.TT_Status}, not closed: there is nothing to reopen.`,
    );
  }
  const since = ticket.TT_Close_Datetime === undefined ? "" : ` since ${ticket.TT_Close_Datetime}`;
  return finish(
    ticket,
    { TT_Status: "Reopened" },
    ["TT_Close_Datetime", "Close_Engineer", "End_Datetime"],
    actor,
    withText(`reopened (was ${ticket.TT_Status}${since})`, reason),
    now,
  );
}

/** Makes `engineer` the first contact (Contact_Engineers, §3.2.8.2). Status unchanged. */
export function assign(ticket: Ticket, engineer: string, actor: string, now: Date): Result<Ticket, TransitionError> {
  const refused = requireActor(actor) ?? refuseFinal(ticket, "assign");
  if (refused) return refused;
  const name = oneLine(engineer);
  if (name === "") return badArgs("Assign to whom? The engineer is missing.");
  const engineers = ticket.Contact_Engineers ?? [];
  if (engineers[0] !== undefined && sameName(engineers[0], name)) return conflict(`${ticket.TT_ID} is already assigned to ${engineers[0]}.`);
  const contact = [name, ...engineers.filter((e) => !sameName(e, name))];
  return finish(ticket, { Contact_Engineers: contact }, [], actor, `assigned to ${name}`, now);
}

/** Adds `other` (a TT_ID) to Related_Activity (§3.2.6.3). Status unchanged. */
export function link(ticket: Ticket, other: string, actor: string, now: Date): Result<Ticket, TransitionError> {
  const refused = requireActor(actor) ?? refuseFinal(ticket, "link");
  if (refused) return refused;
  const target = other.trim();
  if (parseTicketId(target) === undefined) return badArgs(`"${target}" is not a ticket id (PARTNER_ORIGINAL, RFC 6137 §3.2.4.1).`);
  if (target === ticket.TT_ID) return badArgs(`${ticket.TT_ID} can't be linked to itself.`);
  const related = ticket.Related_Activity ?? [];
  if (related.some((r) => r.trim() === target)) return conflict(`${ticket.TT_ID} is already linked to ${target}.`);
  return finish(ticket, { Related_Activity: [...related, target] }, [], actor, `linked to ${target}`, now);
}

/**
 * Removes `other` from Related_Activity, or every entry when `other` is undefined. Status
 * unchanged; the field is removed when it becomes empty.
 */
export function unlink(ticket: Ticket, other: string | undefined, actor: string, now: Date): Result<Ticket, TransitionError> {
  const refused = requireActor(actor) ?? refuseFinal(ticket, "unlink");
  if (refused) return refused;
  const related = ticket.Related_Activity ?? [];
  if (related.length === 0) return conflict(`${ticket.TT_ID} is not linked to anything.`);
  const target = other?.trim();
  const removed = target === undefined ? related : related.filter((r) => r.trim() === target);
  if (removed.length === 0) return conflict(`${ticket.TT_ID} is not linked to ${target ?? "?"} (links: ${related.join(", ")}).`);
  const kept = related.filter((r) => !removed.includes(r));
  const what = `unlinked from ${removed.join(", ")}`;
  return kept.length === 0 ? finish(ticket, {}, ["Related_Activity"], actor, what, now) : finish(ticket, { Related_Activity: kept }, [], actor, what, now);
}
