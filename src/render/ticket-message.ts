/**
 * Activity → the human body of a room message (pure). A markdown template, filled with escaped
 * ticket values, is rendered by markdown-it into XEP-0393 styling. The ticket id comes first so a
 * NOC engineer scanning a busy room (or a notification) sees which ticket it is at once.
 */
import type { TicketActivity } from "../model/activity.js";
import { isFinalStatus, type Ticket } from "../model/ticket.js";
import { escapeMarkdown, markdownToStyled } from "./xep0393.js";

export type RenderOptions = { maxLongDescription: number; timeZone: string };

/** What an Update changed, shown on its own line so an engineer sees the news without diffing. */
export type FieldChange = { field: string; before: string | undefined; after: string | undefined };

/** Names an engineer reads quickly; fields not listed show their RFC name. */
const FIELD_LABELS: Record<string, string> = {
  TT_Status: "status",
  TT_Impact_Assessment: "impact",
  TT_Priority: "priority",
  TT_Title: "title",
  Type: "type",
  TT_Short_Description: "problem",
  Affected_Service: "service",
  End_Datetime: "end",
  TT_Close_Datetime: "closed",
  TT_Open_Datetime: "opened",
  Time_Window_Start: "window start",
  Time_Window_End: "window end",
  Location: "location",
  Start_Datetime: "start",
  TT_Long_Description: "description",
  History: "history",
  Network_Node: "nodes",
  Network_Link_Circuit: "circuits",
};

/** Fields worth naming in a "Changed:" line; the update time changes every time and says nothing. */
export function changedFields(before: Ticket, after: Ticket): FieldChange[] {
  const show = (v: Ticket[keyof Ticket]): string | undefined => (v === undefined ? undefined : Array.isArray(v) ? v.join(", ") : v);
  const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])] as (keyof Ticket)[];
  return keys
    .filter((k) => k !== "TT_Last_Update_Time" && show(before[k]) !== show(after[k]))
    .map((k) => ({ field: k, before: show(before[k]), after: show(after[k]) }));
}

/** Short values are shown as "old → new"; long texts only by name. */
export function describeChanges(changes: readonly FieldChange[], timeZone: string): string {
  return changes
    .map((c) => {
      const label = FIELD_LABELS[c.field] ?? c.field;
      if (["TT_Long_Description", "History", "TT_Title", "Additional_Data"].includes(c.field)) return label;
      const fmt = (v: string | undefined): string => (v === undefined ? "—" : /Date|_Time|Window/.test(c.field) ? formatTime(v, timeZone) : v);
      return `${label} ${fmt(c.before)} → ${fmt(c.after)}`;
    })
    .join(", ");
}

/** `{{name}}` placeholders; a line whose placeholders are all empty is dropped. */
export const DEFAULT_TEMPLATE = [
  "**{{id}}** {{verb}} · {{status}} · {{impact}}",
  "**{{title}}**",
  "Service: {{service}} · Location: {{location}} · Type: {{type}} / {{problem}}",
  "Nodes: {{nodes}} · Circuits: {{circuits}}",
  "Start: {{start}} · End: {{end}} · Window: {{window}}",
  "Priority: {{priority}} · Related: {{related}}",
  "Changed: {{changes}}",
  "History: {{history}}",
  "{{link}}",
].join("\n");

/** The "verb" shown after the id: what happened, in the words a NOC uses. */
export function verbFor(activity: TicketActivity): string {
  if (activity.type === "Create") return "new";
  const status = activity.object["nttdm:ticket"].TT_Status;
  if (isFinalStatus(status)) return status === "Closed" || status === "Opened/Closed" ? "closed" : status.toLowerCase();
  if (status === "Solved" || status === "Reopened") return status.toLowerCase();
  return "update";
}

/** Intl formatters are costly to build (≈0.1 ms each): one per time zone, reused. */
const formatters = new Map<string, Intl.DateTimeFormat>();
function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat("en-GB", {
      timeZone,
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      hourCycle: "h23",
      timeZoneName: "short",
    });
    formatters.set(timeZone, f);
  }
  return f;
}

export function formatTime(iso: string | undefined, timeZone: string): string {
  if (iso === undefined) return "";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const parts = formatterFor(timeZone).formatToParts(d);
  const get = (type: Intl.DateTimeFormatPartTypes): string => parts.find((p) => p.type === type)?.value ?? "";
  return `${get("year")}-${get("month")}-${get("day")} ${get("hour")}:${get("minute")} ${get("timeZoneName")}`;
}

/** Caps text at a word boundary and says so, so the reader knows to follow the link. */
export function capText(text: string, max: number): string {
  const flat = text.replace(/\r\n?/g, "\n").replace(/\n{3,}/g, "\n\n").trim();
  if (flat.length <= max) return flat;
  const cut = flat.slice(0, max);
  const space = cut.lastIndexOf(" ");
  return (space > max * 0.6 ? cut.slice(0, space) : cut).trimEnd() + " […]";
}

function placeholders(activity: TicketActivity, options: RenderOptions, changes: readonly FieldChange[]): Record<string, string> {
  const t: Ticket = activity.object["nttdm:ticket"];
  const e = escapeMarkdown;
  const list = (xs: readonly string[] | undefined): string => (xs && xs.length > 0 ? e(xs.join(", ")) : "");
  const window =
    t.Time_Window_Start || t.Time_Window_End
      ? `${formatTime(t.Time_Window_Start, options.timeZone) || "?"} – ${formatTime(t.Time_Window_End, options.timeZone) || "?"}`
      : "";
  return {
    id: e(t.TT_ID),
    verb: e(verbFor(activity)),
    status: e(t.TT_Status),
    impact: e(t.TT_Impact_Assessment),
    title: e(t.TT_Title),
    service: e(t.Affected_Service ?? ""),
    location: t.Location === "Unknown" ? "" : e(t.Location),
    type: e(t.TT_Type),
    problem: t.TT_Short_Description === "Undefined Problem" ? "" : e(t.TT_Short_Description),
    nodes: list(t.Network_Node),
    circuits: list(t.Network_Link_Circuit),
    start: e(formatTime(t.Start_Datetime, options.timeZone)),
    end: e(formatTime(t.End_Datetime, options.timeZone)),
    window: e(window),
    priority: e(t.TT_Priority ?? ""),
    related: list([...(t.Related_External_Tickets ?? []), ...(t.Related_Activity ?? [])]),
    changes: e(describeChanges(changes, options.timeZone)),
    // The latest History entry is what an update is usually about (RFC 6137 §3.2.6.4).
    history: e(capText(lastLine(t.History), 300)),
    // A bare URL in angle brackets: markdown-it keeps it as a link, rendered as the URL itself.
    link: activity.object.url ? `<${activity.object.url}>` : "",
    // Quoted, line by line, so the free text cannot be mistaken for the bot's own fields.
  };
}

/** Fills the template: segments separated by " · " with an empty value are dropped, then empty lines. */
export function fillTemplate(template: string, values: Record<string, string>): string {
  const lines: string[] = [];
  for (const line of template.split("\n")) {
    if (!line.includes("{{")) {
      lines.push(line.trim() === "" ? "" : line);
      continue;
    }
    const segments = line.split(" · ").filter((seg) => {
      const names = [...seg.matchAll(/\{\{(\w+)\}\}/g)].map((m) => m[1] ?? "");
      return names.length === 0 || names.some((n) => (values[n] ?? "") !== "");
    });
    const filled = segments.join(" · ").replace(/\{\{(\w+)\}\}/g, (_, n: string) => values[n] ?? "");
    // "A / " with nothing after the slash reads badly: drop the dangling separator.
    const text = filled.replace(/ \/ (?=$| ·)/g, "").trim();
    // A line whose placeholders are all empty is dropped, not left behind as a blank line.
    if (text !== "") lines.push(text);
  }
  // Blank lines (the template's own) separate parts: never two in a row, none first or last.
  const kept = lines.filter((line, i) => line !== "" || (i > 0 && lines[i - 1] !== ""));
  while (kept.at(-1) === "") kept.pop();
  return kept.join("\n");
}

const lastLine = (text: string): string => text.trim().split(/\r?\n/).filter((l) => l.trim() !== "").pop() ?? "";

/**
 * The NOC's free text is quoted as it is (XEP-0393 §5.1.2 block quote), outside markdown: its
 * spacing (traceroutes, tables) and blank lines survive, and it cannot be taken for our fields.
 */
export function quoteFreeText(text: string, max: number): string {
  const capped = capText(text, max);
  return capped === "" ? "" : capped.split("\n").map((line) => (line.trim() === "" ? ">" : `> ${line.trimEnd()}`)).join("\n");
}

export function renderActivity(activity: TicketActivity, options: RenderOptions, changes: readonly FieldChange[] = [], template = DEFAULT_TEMPLATE): string {
  const fields = markdownToStyled(fillTemplate(template, placeholders(activity, options, changes)));
  const long = activity.object["nttdm:ticket"].TT_Long_Description;
  const quoted = long ? quoteFreeText(long, options.maxLongDescription) : "";
  return quoted ? `${fields}\n${quoted}` : fields;
}
