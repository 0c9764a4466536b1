/**
 * `status [service…]`: open tickets for a service, grouped by incident, across all NOCs. The
 * service matches Affected_Service ignoring case and spacing; with no exact match, a part of the
 * name matches ("transit" finds "IP Transit"). Without a service: open tickets per service.
 */
import { z } from "zod";
import { isFinalStatus } from "../src/model/ticket.js";
import { normaliseService } from "../src/correlate/engine.js";
import { freeText } from "../src/dispatch/parse.js";
import { capLines, commandAs, defineCommand, formatWhen, reply, ticketLine, type TicketView } from "../src/dispatch/ports.js";
import { maintenanceNowAndNext, windowOf } from "../src/maintenance/windows.js";
import { count } from "../src/render/plural.js";

const MAX_LINES = 30;
const NO_SERVICE = "(no service)";

/** "In maintenance now" and "planned in the next 24 h" lines (scheduled tickets, RFC 6137 §3.2.4.4). */
function maintenanceLines(views: readonly TicketView[], now: Date, timeZone: string): string[] {
  const { now: current, next } = maintenanceNowAndNext(views, now.getTime());
  const line = (v: TicketView): string => {
    const w = windowOf(v.ticket);
    const when = w ? `${formatWhen(new Date(w.start).toISOString(), timeZone)} – ${formatWhen(new Date(w.end).toISOString(), timeZone)}` : "";
    return `  • *${v.ticket.TT_ID}* ${v.ticket.Affected_Service ?? "(no service)"}: ${v.ticket.TT_Title} (${when})`;
  };
  return [
    ...(current.length > 0 ? ["*In maintenance now:*", ...capLines(current.map(line), 10)] : []),
    ...(next.length > 0 ? ["*Planned in the next 24 h:*", ...capLines(next.map(line), 10)] : []),
  ];
}

function byLastUpdate(a: TicketView, b: TicketView): number {
  return b.ticket.TT_Last_Update_Time.localeCompare(a.ticket.TT_Last_Update_Time) || a.ticket.TT_ID.localeCompare(b.ticket.TT_ID);
}

export default defineCommand({
  name: "status",
  usage: "status [service]",
  summary: "open tickets and incidents, for one service or per service",
  role: "customer",
  mutates: false,
  args: z.strictObject({ service: z.string().trim().max(200) }),
  parseArgs: (_argv, rest) => ({ service: freeText(rest, 0) }),
  run: (ctx) => {
    const open = [...ctx.tickets.tickets()].filter((v) => !isFinalStatus(v.ticket.TT_Status));
    const wanted = normaliseService(ctx.args.service);

    if (wanted === "") {
      if (open.length === 0) return reply("No open tickets. All quiet.");
      const perService = new Map<string, { tickets: number; incidents: Set<string> }>();
      for (const v of open) {
        const name = v.ticket.Affected_Service?.trim() || NO_SERVICE;
        const entry = perService.get(name) ?? { tickets: 0, incidents: new Set<string>() };
        entry.tickets++;
        entry.incidents.add(v.incident ?? v.ticket.TT_ID);
        perService.set(name, entry);
      }
      const incidents = new Set(open.map((v) => v.incident ?? v.ticket.TT_ID)).size;
      const lines = [...perService]
        .sort(([a, x], [b, y]) => y.tickets - x.tickets || a.localeCompare(b))
        .map(([name, e]) => `• ${name}: ${count(e.tickets, "open ticket")} in ${count(e.incidents.size, "incident")}`);
      return reply(
        [
          `*${count(open.length, "open ticket")}* in ${count(incidents, "incident")}:`,
          ...capLines(lines, MAX_LINES),
          ...maintenanceLines(open, ctx.now, ctx.timeZone),
          `For one service: ${commandAs(ctx.actor.via, "status <service>")}.`,
        ].join("\n"),
      );
    }

    const service = (v: TicketView): string => normaliseService(v.ticket.Affected_Service ?? "");
    let matching = open.filter((v) => service(v) === wanted);
    if (matching.length === 0) matching = open.filter((v) => service(v).includes(wanted));
    if (matching.length === 0) return reply(`No open tickets for “${ctx.args.service}”.`);

    const groups = new Map<string, TicketView[]>();
    for (const v of [...matching].sort(byLastUpdate)) {
      const key = v.incident ?? `ticket:${v.ticket.TT_ID}`;
      groups.set(key, [...(groups.get(key) ?? []), v]);
    }
    const partners = [...new Set(matching.map((v) => v.ticket.Partner_ID))].sort();
    const services = [...new Set(matching.map((v) => v.ticket.Affected_Service ?? ""))].sort().join(", ");
    const lines: string[] = [];
    for (const [key, members] of groups) {
      if (key.startsWith("ticket:")) {
        for (const v of members) lines.push(ticketLine(v.ticket));
        continue;
      }
      const incident = ctx.incidents?.incident(key);
      const since = incident === undefined ? "" : `, since ${formatWhen(incident.openedAt, ctx.timeZone)}`;
      lines.push(`*${key}* (${count(members.length, "open ticket")}${since})`);
      for (const v of members) lines.push(`  • ${ticketLine(v.ticket)}`);
    }
    const header = `*${services}*: ${count(matching.length, "open ticket")} in ${count(groups.size, "incident")} (NOCs: ${partners.join(", ")})`;
    return reply([header, ...capLines(lines, MAX_LINES), ...maintenanceLines(matching, ctx.now, ctx.timeZone)].join("\n"));
  },
});
