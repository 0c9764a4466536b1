/**
 * `close <ticket> [solved|closed|cancelled <ticket>|superseded <master>] [reason…]`.
 * Without an outcome word: closed. Cancelled and superseded name the other ticket (RFC 6137
 * §2.2.1.1: the relationship goes in Related_Activity).
 */
import { z } from "zod";
import { CloseOutcomes, OutcomeStatus, closeTicket, type CloseOutcome } from "../src/model/transitions.js";
import { freeText } from "../src/dispatch/parse.js";
import { RefArg, TextArg, changeTicket, defineCommand, resolveIn } from "../src/dispatch/ports.js";

/** Words accepted for each outcome (a Map: user text never reaches Object.prototype). */
const OUTCOME_WORDS: ReadonlyMap<string, CloseOutcome> = new Map([
  ["closed", "closed"],
  ["close", "closed"],
  ["solved", "solved"],
  ["solve", "solved"],
  ["cancelled", "cancelled"],
  ["canceled", "cancelled"],
  ["cancel", "cancelled"],
  ["superseded", "superseded"],
  ["supersede", "superseded"],
]);

const needsOther = (o: CloseOutcome): boolean => o === "cancelled" || o === "superseded";

export default defineCommand({
  name: "close",
  usage: "close <ticket> [solved|closed|cancelled <ticket>|superseded <master>] [reason…]",
  summary: "close, solve, cancel (duplicate of another ticket) or supersede a ticket",
  role: "engineer",
  mutates: true,
  args: z
    .strictObject({ ticket: RefArg, outcome: z.enum(CloseOutcomes), master: RefArg.optional(), reason: TextArg })
    .superRefine((a, ctx) => {
      if (needsOther(a.outcome) && a.master === undefined) {
        ctx.addIssue({
          code: "custom",
          path: ["master"],
          message: a.outcome === "superseded" ? "superseded needs the master ticket" : "cancelled needs the ticket it duplicates",
        });
      }
    }),
  parseArgs: (argv, rest) => {
    const outcome = OUTCOME_WORDS.get((argv[1] ?? "").toLowerCase());
    if (outcome === undefined) return { ticket: argv[0], outcome: "closed", reason: freeText(rest, 1) };
    if (needsOther(outcome)) return { ticket: argv[0], outcome, master: argv[2], reason: freeText(rest, 3) };
    return { ticket: argv[0], outcome, reason: freeText(rest, 2) };
  },
  run: (ctx) => {
    const { outcome, reason } = ctx.args;
    let master: string | undefined;
    if (ctx.args.master !== undefined) {
      const r = resolveIn(ctx, ctx.args.master, "ticket");
      if (!r.ok) return r.error;
      master = r.value.id;
    }
    return changeTicket(
      ctx,
      ctx.args.ticket,
      outcome,
      (t) => closeTicket(t, ctx.actor.jid, { outcome, master, reason }, ctx.now),
      (t) => `*${t.TT_ID}* is now ${OutcomeStatus[outcome]}${master === undefined ? "" : ` (→ ${master})`}.`,
    );
  },
});
