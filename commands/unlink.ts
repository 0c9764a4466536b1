/** `unlink <ticket> [<ticket>]`: removes one Related_Activity entry, or all of them. */
import { z } from "zod";
import { unlink } from "../src/model/transitions.js";
import { positional } from "../src/dispatch/parse.js";
import { RefArg, changeTicket, defineCommand, resolveIn } from "../src/dispatch/ports.js";

export default defineCommand({
  name: "unlink",
  usage: "unlink <ticket> [<ticket>]",
  summary: "remove a ticket's relation to another ticket (or all of them)",
  role: "engineer",
  mutates: true,
  args: z.strictObject({ ticket: RefArg, other: RefArg.optional() }),
  parseArgs: (argv) => positional(argv, ["ticket", "other"]),
  run: (ctx) => {
    let other: string | undefined;
    if (ctx.args.other !== undefined) {
      // A linked ticket may have been archived or belong to an unknown NOC: fall back to the text.
      const r = resolveIn(ctx, ctx.args.other, "ticket");
      other = r.ok ? r.value.id : ctx.args.other;
    }
    return changeTicket(
      ctx,
      ctx.args.ticket,
      "unlinked",
      (t) => unlink(t, other, ctx.actor.jid, ctx.now),
      (t) => `*${t.TT_ID}* unlinked${other === undefined ? " from everything" : ` from ${other}`}.`,
    );
  },
});
