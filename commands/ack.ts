/** `ack <ticket> [note…]`: "I am on it" (History + Contact_Engineers; see src/model/transitions.ts). */
import { z } from "zod";
import { acknowledge } from "../src/model/transitions.js";
import { freeText } from "../src/dispatch/parse.js";
import { RefArg, TextArg, changeTicket, defineCommand } from "../src/dispatch/ports.js";

export default defineCommand({
  name: "ack",
  aliases: ["acknowledge"],
  usage: "ack <ticket> [note…]",
  summary: "acknowledge a ticket: you are on it",
  role: "engineer",
  mutates: true,
  args: z.strictObject({ ticket: RefArg, note: TextArg }),
  parseArgs: (argv, rest) => ({ ticket: argv[0], note: freeText(rest, 1) }),
  run: (ctx) =>
    changeTicket(
      ctx,
      ctx.args.ticket,
      "acknowledged",
      (t) => acknowledge(t, ctx.actor.jid, ctx.args.note, ctx.now),
      (t) => `*${t.TT_ID}* acknowledged by ${ctx.actor.jid}.`,
    ),
});
