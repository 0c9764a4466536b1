/**
 * `show <ticket|incident>`: a ticket in full (fields, history, why it was correlated), or an
 * incident with its tickets and why each joined.
 */
import { z } from "zod";
import type { Ticket } from "../src/model/ticket.js";
import { historyForRoom, historyInTimeOrder, quoteFreeText } from "../src/render/ticket-message.js";
import { positional } from "../src/dispatch/parse.js";
import { count } from "../src/render/plural.js";
import { RefArg, capLines, defineCommand, fail, formatWhen, reply, resolveIn, ticketLine, type BaseContext, type CommandResult, type TicketView } from "../src/dispatch/ports.js";

/** History lines shown (the newest). */
export const MAX_HISTORY_LINES = 20;
const MAX_DESCRIPTION = 600;
const MAX_MEMBERS = 20;

/** " · "-joined segments, empty ones dropped. */
const segments = (...parts: (string | false | undefined)[]): string => parts.filter((p): p is string => typeof p === "string" && p !== "").join(" · ");
const list = (xs: readonly string[] | undefined): string => (xs ?? []).join(", ");
const labelled = (label: string, value: string | undefined): string | undefined => (value === undefined || value.trim() === "" ? undefined : `${label}: ${value}`);

function showTicket(ctx: BaseContext, view: TicketView): string {
  const t: Ticket = view.ticket;
  const when = (iso: string | undefined): string | undefined => (iso === undefined ? undefined : formatWhen(iso, ctx.timeZone));
  const lines = [
    segments(`*${t.TT_ID}*`, t.TT_Status, t.TT_Impact_Assessment, t.TT_Priority && `priority ${t.TT_Priority}`),
    `*${t.TT_Title}*`,
    segments(`${t.TT_Type} / ${t.Type}`, t.TT_Short_Description, labelled("Source", t.TT_Source)),
    segments(labelled("Service", t.Affected_Service), labelled("Location", t.Location), labelled("Community", t.Affected_Community)),
    segments(labelled("Nodes", list(t.Network_Node)), labelled("Circuits", list(t.Network_Link_Circuit))),
    segments(labelled("Opened", when(t.TT_Open_Datetime)), labelled("Start", when(t.Start_Datetime)), labelled("End", when(t.End_Datetime)), labelled("Closed", when(t.TT_Close_Datetime))),
    segments(labelled("Window", t.Time_Window_Start && `${when(t.Time_Window_Start) ?? ""} – ${when(t.Time_Window_End) ?? "?"}`), labelled("Last update", when(t.TT_Last_Update_Time))),
    segments(labelled("Opened by", t.Open_Engineer), labelled("Contacts", list(t.Contact_Engineers)), labelled("Closed by", t.Close_Engineer)),
    segments(labelled("Related", list(t.Related_Activity)), labelled("External", list(t.Related_External_Tickets))),
    segments(labelled("Incident", view.incident), labelled("From", view.source), view.link),
  ].filter((l) => l !== "");
  if (view.correlation) lines.push(`Correlation: ${view.correlation}`);
  // Shown in time order with times as everywhere else; the stored History is left as it is.
  const history = historyInTimeOrder(t.History).map((l) => historyForRoom(l, ctx.timeZone));
  if (history.length > 0) {
    const shown = history.slice(-MAX_HISTORY_LINES);
    const skipped = history.length - shown.length;
    lines.push(`History${skipped > 0 ? ` (last ${shown.length} of ${history.length})` : ""}:`, quoteFreeText(shown.join("\n"), 4000));
  }
  if (t.TT_Long_Description) lines.push("Description:", quoteFreeText(t.TT_Long_Description, MAX_DESCRIPTION));
  return lines.join("\n");
}

function showIncident(ctx: BaseContext, id: string): CommandResult {
  const incident = ctx.incidents?.incident(id);
  if (incident === undefined) return fail("not-found", `I don't know incident ${id}.`);
  const header = segments(`*${incident.id}*`, incident.status, `since ${formatWhen(incident.openedAt, ctx.timeZone)}`, labelled("NOCs", list(incident.partners)));
  const members = incident.tickets.map((ttId) => {
    const view = ctx.tickets.ticket(ttId);
    if (view === undefined) return `• ${ttId} (no longer stored)`;
    const why = view.correlation ? `\n  ${view.correlation.split("\n").join("\n  ")}` : "";
    return `• ${ticketLine(view.ticket)}${why}`;
  });
  return reply([header, `${count(incident.tickets.length, "ticket")}:`, ...capLines(members, MAX_MEMBERS)].join("\n"));
}

export default defineCommand({
  name: "show",
  aliases: ["info"],
  usage: "show <ticket|incident>",
  summary: "a ticket in full with its history and correlation, or an incident's tickets",
  role: "customer",
  mutates: false,
  args: z.strictObject({ ref: RefArg }),
  parseArgs: (argv) => positional(argv, ["ref"]),
  run: (ctx) => {
    const r = resolveIn(ctx, ctx.args.ref, "any");
    if (!r.ok) return r.error;
    if (r.value.kind === "incident") return showIncident(ctx, r.value.id);
    const view = ctx.tickets.ticket(r.value.id);
    return view === undefined ? fail("not-found", `I don't know ticket ${r.value.id}.`) : reply(showTicket(ctx, view));
  },
});
