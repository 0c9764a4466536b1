/**
 * `link <ticket> <ticket|incident>`: adds a TT_ID to Related_Activity (RFC 6137 §3.2.6.3). For an
 * incident, its oldest other member is linked: Related_Activity holds TT_IDs, and the correlation
 * engine moves a ticket that newly references a member of another incident into that incident.
 */
import { z } from "zod";
import { link } from "../src/model/transitions.js";
import { positional } from "../src/dispatch/parse.js";
import { RefArg, changeTicket, defineCommand, fail, findTicket, resolveIn } from "../src/dispatch/ports.js";

export default defineCommand({
  name: "link",
  usage: "link <ticket> <ticket|incident>",
  summary: "relate a ticket to another ticket or to an incident (Related_Activity)",
  role: "engineer",
  mutates: true,
  args: z.strictObject({ ticket: RefArg, other: RefArg }),
  parseArgs: (argv) => positional(argv, ["ticket", "other"]),
  run: (ctx) => {
    const found = findTicket(ctx, ctx.args.ticket);
    if (!found.ok) return found.error;
    const self = found.value;
    const other = resolveIn(ctx, ctx.args.other, "any");
    if (!other.ok) return other.error;

    let target = other.value.id;
    let via = "";
    if (other.value.kind === "incident") {
      const incident = ctx.incidents?.incident(other.value.id);
      if (incident === undefined) return fail("not-found", `I don't know incident ${other.value.id}.`);
      if (self.incident === incident.id) return fail("conflict", `${self.ticket.TT_ID} is already in incident ${incident.id}.`);
      const member = incident.tickets.find((id) => id !== self.ticket.TT_ID);
      if (member === undefined) return fail("conflict", `Incident ${incident.id} has no other ticket to link to.`);
      target = member;
      via = ` (incident ${incident.id})`;
    }
    return changeTicket(
      ctx,
      self.ticket.TT_ID,
      "linked",
      (t) => link(t, target, ctx.actor.jid, ctx.now),
      (t) => `*${t.TT_ID}* linked to ${target}${via}.`,
    );
  },
});
