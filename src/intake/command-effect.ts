/**
 * An accepted command's change → what to store and post (pure given the incident port): the ticket
 * saved only if nobody changed it meanwhile, re-correlated (a link can move it to another incident),
 * and announced as an AS2 Update with the engineer as actor to every room of the ticket, so peer
 * bots in shared rooms see it too.
 */
import type { ProposedChange } from "../dispatch/dispatch.js";
import type { Actor } from "../model/activity.js";
import type { RenderOptions } from "../render/ticket-message.js";
import type { OutboxEntry, StoredTicket } from "../store/types.js";
import { err, ok, type Result } from "../util/result.js";
import { announceChange, incidentStatusNotices } from "./announce.js";
import type { IncidentPort } from "./incidents.js";
import { changeHash } from "../sources/feed/plan.js";

export type CommandEffect = { stored: StoredTicket; outbox: OutboxEntry[] };

export function planCommandEffect(
  ctx: { engineer: Actor; render: RenderOptions; incidents: IncidentPort; now: Date },
  change: ProposedChange,
  current: StoredTicket | undefined,
): Result<CommandEffect, string> {
  if (!current) return err(`${change.previous.TT_ID} is no longer known here (archived?); nothing was changed.`);
  // Optimistic check: the command worked on the ticket as it was; a feed poll may have changed it since.
  if (changeHash(current.ticket) !== changeHash(change.previous))
    return err(`${current.ticket.TT_ID} changed while your command ran; nothing was changed. Please look at it again and retry.`);
  const nowIso = ctx.now.toISOString();
  const assignment = ctx.incidents.assign(change.ticket, current.rooms, ctx.now);
  const stored: StoredTicket = {
    ...current,
    ticket: change.ticket,
    hash: changeHash(change.ticket),
    lastChange: nowIso,
    incident: assignment.incidentId,
    correlation: assignment.explanation,
  };
  const announce = { actor: ctx.engineer, render: ctx.render, incidents: ctx.incidents, now: ctx.now };
  const { outbox } = announceChange(announce, stored, current.ticket, "Update", assignment);
  return ok({ stored, outbox: [...outbox, ...incidentStatusNotices(announce, assignment, change.ticket.TT_ID)] });
}
