/**
 * The static command registry: every command of ttrelay, registered once at start-up.
 * `createRegistry` throws on a duplicate name or alias (case-insensitive) or on a name that could
 * not be typed, so a mistake stops the bot at start-up instead of shadowing a command at run time.
 */
import { isCommandName } from "../src/dispatch/parse.js";
import type { Command, Registry } from "../src/dispatch/ports.js";
import ack from "./ack.js";
import assign from "./assign.js";
import close from "./close.js";
import help from "./help.js";
import link from "./link.js";
import list from "./list.js";
import reopen from "./reopen.js";
import show from "./show.js";
import status from "./status.js";
import unlink from "./unlink.js";
import update from "./update.js";
import updates from "./updates.js";

/** In the order `help` lists them: the read-only ones first, then the changes. */
export const commands: readonly Command[] = [status, list, show, ack, update, assign, close, reopen, link, unlink, updates, help];

export function createRegistry(list: readonly Command[]): Registry {
  const byName = new Map<string, Command>();
  for (const command of list) {
    for (const name of [command.name, ...command.aliases]) {
      if (!isCommandName(name)) throw new Error(`command name "${name}" (of ${command.name}) cannot be typed: use letters, digits, "-" or "_"`);
      const key = name.toLowerCase();
      const taken = byName.get(key);
      if (taken !== undefined) throw new Error(`command name "${name}" of ${command.name} is already used by ${taken.name}`);
      byName.set(key, command);
    }
  }
  const all = [...list];
  return {
    lookup: (name) => byName.get(name.toLowerCase()),
    list: () => all,
  };
}

export const registry: Registry = createRegistry(commands);
