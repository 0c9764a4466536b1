/** `assign <ticket> <engineer…>`: the engineer becomes the first contact (Contact_Engineers). */
import { z } from "zod";
import { assign, oneLine } from "../src/model/transitions.js";
import { freeText } from "../src/dispatch/parse.js";
import { RefArg, changeTicket, defineCommand } from "../src/dispatch/ports.js";

export default defineCommand({
  name: "assign",
  usage: "assign <ticket> <engineer|me>",
  summary: "make an engineer (a JID or a name; “me” is you) the ticket's first contact",
  role: "engineer",
  mutates: true,
  args: z.strictObject({ ticket: RefArg, engineer: z.string().trim().min(1).max(200) }),
  parseArgs: (argv, rest) => ({ ticket: argv[0], engineer: freeText(rest, 1) }),
  run: (ctx) => {
    const engineer = ctx.args.engineer.toLowerCase() === "me" ? ctx.actor.jid : ctx.args.engineer;
    return changeTicket(
      ctx,
      ctx.args.ticket,
      "assigned",
      (t) => assign(t, engineer, ctx.actor.jid, ctx.now),
      (t) => `*${t.TT_ID}* assigned to ${engineer}.`,
      // Already the first contact: nothing to change.
      (t) => {
        const first = t.Contact_Engineers?.[0];
        return first !== undefined && first.trim().toLowerCase() === oneLine(engineer).toLowerCase() ? `*${t.TT_ID}* is already assigned to ${first}; nothing changed.` : undefined;
      },
    );
  },
});
