/**
 * `close <ticket> [solved|closed|cancelled <ticket>|superseded <master>] [reason…]`.
 * Without an outcome word: closed. Cancelled and superseded name the other ticket (RFC 6137
 * §2.2.1.1: the relationship goes in Related_Activity).
 */
import { z } from "zod";
import { CloseOutcomes, OutcomeStatus, closeTicket, type CloseOutcome } from "../src/model/transitions.js";
import { freeText, tokenize } from "../src/dispatch/parse.js";
import { RefArg, TextArg, changeTicket, defineCommand, resolveIn } from "../src/dispatch/ports.js";
import { likelyTypo } from "../src/dispatch/suggest.js";

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

/** When no outcome word is given: closed. */
export const DEFAULT_OUTCOME: CloseOutcome = "closed";

const needsOther = (o: CloseOutcome): boolean => o === "cancelled" || o === "superseded";

export default defineCommand({
  name: "close",
  usage: "close <ticket> [solved|closed|cancelled <ticket>|superseded <master>] [reason…]",
  summary: "close, solve, cancel (duplicate of another ticket) or supersede a ticket",
  role: "engineer",
  mutates: true,
  formDefaults: () => ({ outcome: DEFAULT_OUTCOME }),
  args: z
    .strictObject({
      ticket: RefArg,
      outcome: z.enum(CloseOutcomes),
      master: RefArg.optional(),
      reason: TextArg,
      // A first word that is a typo of an outcome ("solvd"): refused, never taken for the reason.
      misspelt: z.strictObject({ typed: z.string(), meant: z.enum(CloseOutcomes) }).optional(),
    })
    .superRefine((a, ctx) => {
      if (a.misspelt !== undefined) {
        ctx.addIssue({
          code: "custom",
          path: ["misspelt"],
          message: `“${a.misspelt.typed.slice(0, 32)}” is not an outcome: did you mean ${a.misspelt.meant}? To give it as the reason, put the reason in quotes`,
        });
      }
      if (needsOther(a.outcome) && a.master === undefined) {
        ctx.addIssue({
          code: "custom",
          path: ["master"],
          message: a.outcome === "superseded" ? "superseded needs the master ticket" : "cancelled needs the ticket it duplicates",
        });
      }
    }),
  parseArgs: (argv, rest) => {
    const word = argv[1] ?? "";
    const outcome = OUTCOME_WORDS.get(word.toLowerCase());
    if (outcome === undefined) {
      // Only a bare word can be a typo: a reason in quotes ("closes the loop") is taken as it is.
      const second = tokenize(rest)[1];
      const bare = second !== undefined && rest.slice(second.start, second.end) === word;
      const near = bare ? likelyTypo(word, OUTCOME_WORDS.keys()) : undefined;
      const misspelt = near === undefined ? {} : { misspelt: { typed: word, meant: OUTCOME_WORDS.get(near) } };
      return { ticket: argv[0], outcome: DEFAULT_OUTCOME, reason: freeText(rest, 1), ...misspelt };
    }
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
