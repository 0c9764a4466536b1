/**
 * `list [open|mine|today]` (default open): open = not in a final status; mine = open and you are
 * among the engineers (Contact_Engineers, Open_Engineer, Close_Engineer) by real JID; today = opened
 * or updated today (in the configured time zone), whatever the status. Newest update first.
 */
import { z } from "zod";
import { isFinalStatus, type Ticket } from "../src/model/ticket.js";
import { positional } from "../src/dispatch/parse.js";
import { count } from "../src/render/plural.js";
import { capLines, defineCommand, reply, ticketLine, type TicketView } from "../src/dispatch/ports.js";

export const ListFilters = ["open", "mine", "today"] as const;
const DEFAULT_FILTER = "open";
const MAX_LINES = 25;

function dayIn(iso: string, timeZone: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return "";
  try {
    return new Intl.DateTimeFormat("en-CA", { timeZone, year: "numeric", month: "2-digit", day: "2-digit" }).format(d);
  } catch {
    return d.toISOString().slice(0, 10);
  }
}

const engineersOf = (t: Ticket): string[] => [...(t.Contact_Engineers ?? []), t.Open_Engineer ?? "", t.Close_Engineer ?? ""].map((e) => e.trim().toLowerCase());

export default defineCommand({
  name: "list",
  aliases: ["ls"],
  usage: "list [open|mine|today]",
  summary: "list open tickets, yours, or today's",
  role: "customer",
  mutates: false,
  formDefaults: () => ({ which: DEFAULT_FILTER }),
  args: z.strictObject({ filter: z.enum(ListFilters).default(DEFAULT_FILTER) }),
  parseArgs: (argv) => {
    const args = positional(argv, ["filter"]);
    if (typeof args["filter"] === "string") args["filter"] = args["filter"].toLowerCase();
    return args;
  },
  run: (ctx) => {
    const { filter } = ctx.args;
    const today = dayIn(ctx.now.toISOString(), ctx.timeZone);
    const me = ctx.actor.jid.toLowerCase();
    const keep = (v: TicketView): boolean => {
      const t = v.ticket;
      if (filter === "today") return dayIn(t.TT_Last_Update_Time, ctx.timeZone) === today || dayIn(t.TT_Open_Datetime, ctx.timeZone) === today;
      if (isFinalStatus(t.TT_Status)) return false;
      return filter === "open" || engineersOf(t).includes(me);
    };
    const found = [...ctx.tickets.tickets()]
      .filter(keep)
      .sort((a, b) => b.ticket.TT_Last_Update_Time.localeCompare(a.ticket.TT_Last_Update_Time) || a.ticket.TT_ID.localeCompare(b.ticket.TT_ID));
    const n = found.length;
    const header = {
      open: n === 0 ? "No open tickets." : `*${count(n, "open ticket")}:*`,
      mine: n === 0 ? "You have no open tickets." : `*Your open ${n === 1 ? "ticket" : "tickets"} (${n}):*`,
      today: n === 0 ? "No tickets opened or updated today." : `*${count(n, "ticket")} opened or updated today:*`,
    }[filter];
    return reply([header, ...capLines(found.map((v) => `• ${ticketLine(v.ticket)}`), MAX_LINES)].join("\n"));
  },
});
