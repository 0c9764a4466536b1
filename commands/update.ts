/** `update <ticket> <text…>`: a free-text update in History; Opened/Reopened become Updated. */
import { z } from "zod";
import { addUpdate } from "../src/model/transitions.js";
import { repeatedUpdateAt } from "../src/dispatch/history.js";
import { freeText } from "../src/dispatch/parse.js";
import { RefArg, RequiredTextArg, changeTicket, defineCommand, formatWhen } from "../src/dispatch/ports.js";

export default defineCommand({
  name: "update",
  aliases: ["note"],
  usage: "update <ticket> <text…>",
  summary: "add an update to a ticket's history",
  role: "engineer",
  mutates: true,
  args: z.strictObject({ ticket: RefArg, text: RequiredTextArg }),
  parseArgs: (argv, rest) => ({ ticket: argv[0], text: freeText(rest, 1) }),
  run: (ctx) =>
    changeTicket(
      ctx,
      ctx.args.ticket,
      "updated",
      (t) => addUpdate(t, ctx.actor.jid, ctx.args.text, ctx.now),
      (t) => `*${t.TT_ID}* updated (${t.TT_Status}).`,
      // The same words just sent again (a client resending, a double Enter): once is enough.
      (t) => {
        const at = repeatedUpdateAt(t, ctx.actor.jid, ctx.args.text, ctx.now);
        return at === undefined ? undefined : `*${t.TT_ID}* already has this update from you, at ${formatWhen(at, ctx.timeZone)}; nothing changed.`;
      },
    ),
});
