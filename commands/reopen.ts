/** `reopen <ticket> [reason…]`: a final ticket back to Reopened (RFC 6137 Figure 2). */
import { z } from "zod";
import { reopen } from "../src/model/transitions.js";
import { freeText } from "../src/dispatch/parse.js";
import { RefArg, TextArg, changeTicket, defineCommand } from "../src/dispatch/ports.js";

export default defineCommand({
  name: "reopen",
  usage: "reopen <ticket> [reason…]",
  summary: "reopen a closed, cancelled, superseded or inactive ticket",
  role: "engineer",
  mutates: true,
  args: z.strictObject({ ticket: RefArg, reason: TextArg }),
  parseArgs: (argv, rest) => ({ ticket: argv[0], reason: freeText(rest, 1) }),
  run: (ctx) =>
    changeTicket(
      ctx,
      ctx.args.ticket,
      "reopened",
      (t) => reopen(t, ctx.actor.jid, ctx.args.reason, ctx.now),
      (t) => `*${t.TT_ID}* reopened by ${ctx.actor.jid}.`,
    ),
});
