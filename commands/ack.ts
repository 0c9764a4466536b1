/** `ack <ticket> [note…]`: "I am on it" (History + Contact_Engineers; see src/model/transitions.ts). */
import { z } from "zod";
import { acknowledge } from "../src/model/transitions.js";
import { acknowledgedAt } from "../src/dispatch/history.js";
import { freeText } from "../src/dispatch/parse.js";
import { RefArg, TextArg, changeTicket, commandAs, defineCommand, formatWhen } from "../src/dispatch/ports.js";

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
      // A second ack by the same engineer: no History line, no room post, no write-back.
      (t) => {
        const since = acknowledgedAt(t, ctx.actor.jid);
        if (since === undefined) return undefined;
        const note = ctx.args.note === "" ? "" : ` Your note was not added: ${commandAs(ctx.actor.via, `update ${t.TT_ID} <text>`)} adds one.`;
        return `*${t.TT_ID}* is already acknowledged by you at ${formatWhen(since, ctx.timeZone)}; nothing changed.${note}`;
      },
    ),
});
