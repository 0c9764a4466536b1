/**
 * `updates [compact|full]`: how ticket updates are shown in this room. Compact (the default): a
 * short line in the ticket's thread saying what changed; full: the whole ticket card each time.
 * A room setting (a command effect, not a ticket change), kept across restarts.
 */
import { z } from "zod";
import { commandAs, defineCommand, fail, roomOnlyRefusal, type CommandResult } from "../src/dispatch/ports.js";

const Modes = ["compact", "full"] as const;
const DEFAULT_MODE = "compact";

export default defineCommand({
  name: "updates",
  usage: "updates [compact|full]",
  summary: "show ticket updates in this room compact (a line in the ticket's thread) or as full cards",
  role: "engineer",
  mutates: true,
  needsRoom: true,
  // The form starts at the room's current setting: submitted untouched, it changes nothing.
  formDefaults: ({ room, settings }) => ({ choice: (room === undefined ? undefined : settings?.roomSetting(room, "updates")) ?? DEFAULT_MODE }),
  args: z.strictObject({ mode: z.enum(Modes).optional(), extra: z.undefined().optional() }),
  parseArgs: (argv) => ({ mode: argv[0]?.toLowerCase(), ...(argv.length > 1 ? { extra: argv[1] } : {}) }),
  run: (ctx): CommandResult => {
    const room = ctx.actor.room;
    // The dispatcher refuses it without a room already (needsRoom); this keeps `room` a string.
    if (room === undefined) return fail("bad-args", roomOnlyRefusal("updates", ctx.actor.via));
    const current = ctx.settings?.roomSetting(room, "updates") ?? DEFAULT_MODE;
    const describe = (mode: string): string => (mode === "full" ? "as full ticket cards" : "compact, as a line in the ticket's thread");
    const mode = ctx.args.mode;
    const other = current === "full" ? "compact" : "full";
    if (mode === undefined) return { ok: true, reply: `Ticket updates in this room are shown ${describe(current)}. Change it with ${commandAs(ctx.actor.via, `updates ${other}`)}.` };
    if (mode === current) return { ok: true, reply: `Ticket updates in this room are already shown ${describe(mode)}.` };
    return { ok: true, reply: `From now on, ticket updates in this room are shown ${describe(mode)}.`, effects: [{ kind: "room-setting", room, name: "updates", value: mode }] };
  },
});
