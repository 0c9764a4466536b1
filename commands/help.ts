/** `help [command]`: the commands the asker may use, or one command's usage. */
import { z } from "zod";
import { positional } from "../src/dispatch/parse.js";
import { roleRank } from "../src/dispatch/authorize.js";
import { PREFIX, defineCommand, fail, reply, usageLine } from "../src/dispatch/ports.js";

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
    const name = ctx.args.command?.replace(/^(\/\/|\/|!)/u, "");
    if (name !== undefined) {
      const command = registry.lookup(name);
      if (command === undefined) return fail("not-found", `There is no command “${name.slice(0, 32)}”. Say ${PREFIX}help for the list.`);
      const aliases = command.aliases.length > 0 ? `\nAlso: ${command.aliases.map((a) => PREFIX + a).join(", ")}` : "";
      const who = command.role === "customer" ? "" : `\nFor ${command.role === "admin" ? "administrators" : "NOC engineers"}.`;
      return reply(`${usageLine(command)}\n${command.summary}${aliases}${who}`);
    }
    const mine = registry.list().filter((c) => roleRank(c.role) <= roleRank(actor.role));
    const lines = mine.map((c) => `• ${PREFIX}${c.usage}: ${c.summary}`);
    return reply(
      [
        "*Commands*",
        ...lines,
        `Start a command with ${PREFIX} (or / or //, or my nickname and a colon); in a direct message no prefix is needed.`,
        "A ticket is its full id (EXN_1043) or a short form (1043, exn-1043); an incident is INC-….",
      ].join("\n"),
    );
  },
});
