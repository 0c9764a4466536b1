/** `help [command]`: the commands the asker may use here, or one command's usage. */
import { z } from "zod";
import { positional } from "../src/dispatch/parse.js";
import { roleRank, type Via } from "../src/dispatch/authorize.js";
import { PREFIX, commandAs, commandWords, defineCommand, fail, prefixFor, reply, usageLine, worksHere } from "../src/dispatch/ports.js";
import { likelyTypo } from "../src/dispatch/suggest.js";

/** How to give a command, said for the channel the asker used. */
const HOW_TO: Record<Via, string> = {
  groupchat: `Start a command with ${PREFIX} (or / or //, or my nickname and a colon); in a direct message no prefix is needed.`,
  direct: `Here no prefix is needed; in a room, start a command with ${PREFIX} (or //, or my nickname and a colon).`,
  "muc-private": `Here no prefix is needed; in the room, start a command with ${PREFIX} (or //, or my nickname and a colon).`,
  adhoc: `Each of these is a form here too; in a room, start a command with ${PREFIX}, and in a direct message just say it.`,
};

export default defineCommand({
  name: "help",
  usage: "help [command]",
  summary: "list the commands, or explain one",
  role: "customer",
  mutates: false,
  args: z.strictObject({ command: z.string().trim().min(1).max(64).optional() }),
  parseArgs: (argv) => positional(argv, ["command"]),
  run: (ctx) => {
    const { registry, actor } = ctx;
    const prefix = prefixFor(actor.via);
    const name = ctx.args.command?.replace(/^(\/\/|\/|!)/u, "");
    if (name !== undefined) {
      const command = registry.lookup(name);
      if (command === undefined) {
        const near = likelyTypo(name, commandWords(registry));
        const guess = near === undefined ? "" : ` Did you mean ${commandAs(actor.via, near)}?`;
        return fail("not-found", `There is no command “${name.slice(0, 32)}”.${guess} Try ${commandAs(actor.via, "help")} for the list.`);
      }
      const aliases = command.aliases.length > 0 ? `\nAlso: ${command.aliases.map((a) => prefix + a).join(", ")}` : "";
      const who = command.role === "customer" ? "" : `\nFor ${command.role === "admin" ? "administrators" : "NOC engineers"}${command.needsRoom ? ", in the room it is for" : ""}.`;
      return reply(`${usageLine(command, actor.via)}\n${command.summary}${aliases}${who}`);
    }
    const mine = registry.list().filter((c) => roleRank(c.role) <= roleRank(actor.role));
    const lines = mine.map((c) => `• ${prefix}${c.usage}: ${c.summary}${worksHere(c, actor) ? "" : " (in a room)"}`);
    return reply(
      [
        "*Commands*",
        ...lines,
        HOW_TO[actor.via],
        "A ticket is its full id (EXN_1043) or a short form (1043, exn-1043); an incident is INC-….",
      ].join("\n"),
    );
  },
});
