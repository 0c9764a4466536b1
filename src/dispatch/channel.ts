/**
 * How commands are written on each channel they reach the bot by (pure): a room needs a prefix, a
 * direct or private chat takes the bare words, an ad-hoc form (XEP-0050) is picked by name. Replies
 * that name a command say it the way the asker would give it there.
 */
import type { Via } from "./authorize.js";

/** The prefix shown in usage lines and hints: "!" works in every client ("/" is eaten by some). */
export const PREFIX = "!";

/** What starts a command where the asker is: "!" in a room; nothing in a direct or private chat or a form. */
export const prefixFor = (via: Via): string => (via === "groupchat" ? PREFIX : "");

/**
 * A command as the asker would give it where they asked, for hints in replies. `invocation` is
 * written as in a usage line, without prefix ("status <service>"). In a room: `!status <service>`;
 * in a direct or private chat, where the bare words are what one types: “status <service>”; in an
 * ad-hoc form (XEP-0050), where one picks a command and fills in its form: the “status” command.
 */
export function commandAs(via: Via, invocation: string): string {
  if (via === "groupchat") return `${PREFIX}${invocation}`;
  if (via !== "adhoc") return `“${invocation}”`;
  const [name = "", ...args] = invocation.split(" ");
  return `the “${name}” command${args.length > 0 ? ` (${args.join(" ")})` : ""}`;
}


/**
 * Why a command that works for one room only (a room setting) cannot run where it was asked: in a
 * direct chat, or through an ad-hoc request to the bot's own JID, there is no room to apply it to.
 */
export function roomOnlyRefusal(name: string, via: Via): string {
  const where = via === "adhoc" ? "open my commands from that room's participant list" : "send it to me privately through that room";
  return `“${name}” is set per room: say ${PREFIX}${name} in the room it is for, or ${where}.`;
}
