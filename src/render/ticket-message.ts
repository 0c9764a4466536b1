/**
 * Activity → the human body of a room message (pure). A markdown template, filled with escaped
 * ticket values, is rendered by markdown-it into XEP-0393 styling. The ticket id comes first so a
 * NOC engineer scanning a busy room (or a notification) sees which ticket it is at once. Values
 * from outside are one line each, capped, with bidi overrides removed and styling directives
 * neutralised (outside.ts); they are never put inside a span of the bot's own.
 */
import type { TicketActivity } from "../model/activity.js";
import { datetimeToMillis, isFinalStatus, type Ticket, type TicketStatus } from "../model/ticket.js";
import { oneLineOf, outsideLine, outsideLines } from "./outside.js";
import { escapeMarkdown, inlineAlone, markdownToStyled } from "./xep0393.js";

export type RenderOptions = { maxLongDescription: number; timeZone: string };

/** What an Update changed, shown on its own line so an engineer sees the news without diffing. */
export type FieldChange = { field: string; before: string | undefined; after: string | undefined };

/** What an engineer reads for each NTTDM field (RFC 6137 §3.2): every field, so no RFC name leaks into a room. */
export const FIELD_LABELS: Readonly<Record<keyof Ticket, string>> = {
  lang: "language",
  Partner_ID: "partner",
  Original_ID: "original id",
  TT_ID: "ticket id",
  TT_Title: "title",
  TT_Type: "ticket type",
  TT_Priority: "priority",
  TT_Status: "status",
  TT_Source: "source",
  TT_Open_Datetime: "open time",
  TT_Close_Datetime: "close time",
  TT_Short_Description: "problem",
  TT_Long_Description: "description",
  Type: "type",
  TT_Impact_Assessment: "impact",
  Start_Datetime: "start",
  Detect_Datetime: "detected",
  Report_Datetime: "reported",
  End_Datetime: "end",
  TT_Last_Update_Time: "last update",
  Time_Window_Start: "window start",
  Time_Window_End: "window end",
  Work_Plan_Start_Datetime: "work plan start",
  Work_Plan_End_Datetime: "work plan end",
  Related_External_Tickets: "external tickets",
  Additional_Data: "additional data",
  Related_Activity: "related",
  History: "history",
  Affected_Community: "community",
  Affected_Service: "service",
  Location: "location",
  Network_Node: "nodes",
  Network_Link_Circuit: "circuits",
  End_Line_Location_A: "line end A",
  End_Line_Location_B: "line end B",
  Open_Engineer: "opened by",
  Contact_Engineers: "engineers",
  Close_Engineer: "closed by",
  Hash: "hash",
};

const labelOf = (field: string): string => (Object.hasOwn(FIELD_LABELS, field) ? FIELD_LABELS[field as keyof Ticket] : field);

/** Fields worth naming in a "Changed:" line; the update time changes every time and says nothing. */
export function changedFields(before: Ticket, after: Ticket): FieldChange[] {
  const show = (v: Ticket[keyof Ticket]): string | undefined => (v === undefined ? undefined : Array.isArray(v) ? v.join(", ") : v);
  const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])] as (keyof Ticket)[];
  return keys
    .filter((k) => k !== "TT_Last_Update_Time" && show(before[k]) !== show(after[k]))
    .map((k) => ({ field: k, before: show(before[k]), after: show(after[k]) }));
}

/** Long texts: their change is named, not shown (History's news has a line of its own). */
const NAMED_ONLY: ReadonlySet<string> = new Set(["TT_Long_Description", "Additional_Data", "Hash"]);
/** Fields that are lists (shown joined with ", "): a change is told as what was added or removed. */
const LIST_FIELDS: ReadonlySet<string> = new Set(["Contact_Engineers", "Related_Activity", "Related_External_Tickets", "Network_Node", "Network_Link_Circuit"]);
const isTimeField = (field: string): boolean => /Datetime|_Time|Window/.test(field);
const items = (v: string | undefined): string[] => (v === undefined || v === "" ? [] : v.split(", "));

/**
 * One change, as an engineer says it: "impact No connectivity → On backup"; a first value
 * "engineers: alice@…"; a value taken away "closed by: none (was alice@…)"; to a list "engineers:
 * added bob@…"; long texts only "description changed". `undefined`: not worth a word (History,
 * whose new line is shown as "History: …" wherever changes are).
 */
function describeChange(c: FieldChange, timeZone: string): string | undefined {
  const label = labelOf(c.field);
  if (c.field === "History") return lastLine(c.before ?? "") === lastLine(c.after ?? "") ? "history changed" : undefined;
  if (NAMED_ONLY.has(c.field)) return `${label} changed`;
  const fmt = (v: string): string => (isTimeField(c.field) ? formatTime(v, timeZone) : oneLineOf(v, 80));
  const before = c.before === undefined || c.before === "" ? undefined : c.before;
  const after = c.after === undefined || c.after === "" ? undefined : c.after;
  if (after === undefined) return before === undefined ? undefined : `${label}: none (was ${fmt(before)})`;
  if (before === undefined) return `${label}: ${fmt(after)}`;
  if (c.field === "TT_Title") return `${label} → ${fmt(after)}`;
  if (LIST_FIELDS.has(c.field)) {
    const [was, now] = [items(before), items(after)];
    const added = now.filter((x) => !was.includes(x));
    const removed = was.filter((x) => !now.includes(x));
    if (added.length > 0 && removed.length === 0) return `${label}: added ${fmt(added.join(", "))}`;
    if (removed.length > 0 && added.length === 0) return `${label}: removed ${fmt(removed.join(", "))}`;
  }
  return `${label} ${fmt(before)} → ${fmt(after)}`;
}

/** The changes worth a word, each as `describeChange` says it. */
export function describeChanges(changes: readonly FieldChange[], timeZone: string, separator = ", "): string {
  return changes
    .map((c) => describeChange(c, timeZone))
    .filter((d): d is string => d !== undefined)
    .join(separator);
}

/** `{{name}}` placeholders; a line whose placeholders are all empty is dropped. */
export const DEFAULT_TEMPLATE = [
  "{{heading}} {{verb}} · {{planned}} · {{status}} · {{impact}}",
  "{{title}}",
  "Service: {{service}} · Location: {{location}} · Type: {{type}} ({{trouble}}) / {{problem}}",
  "Nodes: {{nodes}} · Circuits: {{circuits}}",
  "Start: {{start}} · End: {{end}} · Window: {{window}}",
  "Priority: {{priority}} · Related: {{related}}",
  "Changed: {{changes}}",
  "History: {{history}}",
  "{{link}}",
].join("\n");

/** The verb of a status (what a NOC says when a ticket gets it). */
function statusVerb(status: TicketStatus): string {
  if (status === "Closed" || status === "Opened/Closed") return "closed";
  if (status === "Updated" || status === "Opened") return "update";
  return status.toLowerCase();
}

/**
 * The "verb" shown after the id: what happened, in the words a NOC uses. Given the list of
 * changes, an Update says what this update did: a status change names the new status, anything
 * else is an "update" (an ack of a Solved ticket is not "solved" again). Without it, the status.
 */
export function verbFor(activity: TicketActivity, changes?: readonly FieldChange[]): string {
  if (activity.type === "Create") return "new";
  if (changes !== undefined && changes.length > 0 && !changes.some((c) => c.field === "TT_Status")) return "update";
  return statusVerb(activity.object["nttdm:ticket"].TT_Status);
}

/** The status, unless the verb already says it ("closed · Closed" says it twice). */
function statusAfterVerb(verb: string, status: TicketStatus): string {
  const said = verb === status.toLowerCase() || (verb === "closed" && status === "Closed") || (verb === "update" && status === "Updated");
  return said ? "" : status;
}

/** A bold id, unless the id itself carries a "*" that would close the span early (see outside.ts). */
/** A ticket id in bold, for markdown templates; outside text, so never bold when it holds a `*`. */
export function heading(ttId: string): string {
  const id = escapeMarkdown(outsideLine(ttId, 120));
  return ttId.includes("*") ? id : `**${id}**`;
}

/** "2026-12-02 01:00 – 05:00 UTC": the day and the zone once when both ends share them. */
export function formatWindow(start: string | undefined, end: string | undefined, timeZone: string): string {
  if (start === undefined && end === undefined) return "";
  const a = formatTime(start, timeZone) || "?";
  const b = formatTime(end, timeZone) || "?";
  const [aDay, aTime, aZone] = a.split(" ");
  const [bDay, bTime, bZone] = b.split(" ");
  if (aDay !== undefined && aDay === bDay && aZone === bZone && aTime && bTime) return `${aDay} ${aTime} – ${bTime} ${aZone ?? ""}`.trim();
  return `${a} – ${b}`;
}

/** An RFC 3339 date-time (RFC 6137 §2.2.3) anywhere in a line; `datetimeToMillis` checks it. */
const RFC3339_IN_TEXT = /\b\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2})/g;
const LEADING_RFC3339 = /^(\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2}))(?=\s|$)/;

/**
 * A History line with its RFC 3339 times shown like every other time in rooms ("2026-12-01 09:41
 * UTC"): the leading one (§3.2.6.4 lines start with it here) and any in the text ("reopened (was
 * Closed since …)"). The stored History keeps its RFC 3339 text.
 */
export function historyForRoom(line: string, timeZone: string): string {
  return line.trim().replace(RFC3339_IN_TEXT, (iso) => (datetimeToMillis(iso) === undefined ? iso : formatTime(iso, timeZone)));
}

/** The instant a History line starts with, if it starts with an RFC 3339 time. */
export function historyLineTime(line: string): number | undefined {
  const m = LEADING_RFC3339.exec(line.trim());
  return m?.[1] === undefined ? undefined : datetimeToMillis(m[1]);
}

/**
 * History lines in time order, for showing (the stored text stays as it came: a feed may add a
 * line dated before lines the bot wrote). A line without a leading time stays with the line before
 * it (a continuation, or free text before the first dated line, which stays first); dated lines are
 * ordered by their time, equal times in the order written.
 */
export function historyInTimeOrder(history: string): string[] {
  const entries: { at: number; index: number; lines: string[] }[] = [];
  for (const line of history.split(/\r?\n/u)) {
    if (line.trim() === "") continue;
    const at = historyLineTime(line);
    const last = entries.at(-1);
    if (at === undefined && last !== undefined) last.lines.push(line);
    else entries.push({ at: at ?? Number.NEGATIVE_INFINITY, index: entries.length, lines: [line] });
  }
  return entries.sort((a, b) => a.at - b.at || a.index - b.index).flatMap((e) => e.lines);
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

/**
 * Times shown, by zone and minute (what is shown): the tickets of one outage start within minutes
 * of each other, and formatToParts costs ≈15 µs, several times per message. Bounded.
 */
const shownTimes = new Map<string, string>();
const SHOWN_TIMES_MAX = 4096;

export function formatTime(iso: string | undefined, timeZone: string): string {
  if (iso === undefined) return "";
  const ms = new Date(iso).getTime();
  if (Number.isNaN(ms)) return iso;
  const key = `${timeZone} ${Math.floor(ms / 60_000)}`;
  const known = shownTimes.get(key);
  if (known !== undefined) return known;
  const parts = formatterFor(timeZone).formatToParts(new Date(ms));
  const get = (type: Intl.DateTimeFormatPartTypes): string => parts.find((p) => p.type === type)?.value ?? "";
  const shown = `${get("year")}-${get("month")}-${get("day")} ${get("hour")}:${get("minute")} ${get("timeZoneName")}`;
  if (shownTimes.size >= SHOWN_TIMES_MAX) shownTimes.clear();
  shownTimes.set(key, shown);
  return shown;
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
  // Everything from outside: one line, capped, directives neutralised, then escaped for markdown-it.
  const o = (v: string | undefined, max?: number): string => (v === undefined ? "" : escapeMarkdown(outsideLine(v, max)));
  const list = (xs: readonly string[] | undefined): string => (xs && xs.length > 0 ? o(xs.join(", "), 300) : "");
  const scheduled = t.Type === "Scheduled";
  const window = formatWindow(t.Time_Window_Start, t.Time_Window_End, options.timeZone);
  const verb = verbFor(activity, changes);
  return {
    heading: heading(t.TT_ID),
    id: o(t.TT_ID),
    verb: escapeMarkdown(verb),
    // Scheduled work (RFC 6137 §3.2.5.3 Type) leads with what it is and when.
    planned: scheduled ? escapeMarkdown(`Planned maintenance${window ? ` ${window}` : ""}`) : "",
    status: escapeMarkdown(statusAfterVerb(verb, t.TT_Status)),
    impact: o(t.TT_Impact_Assessment),
    title: o(t.TT_Title),
    service: o(t.Affected_Service),
    location: t.Location === "Unknown" ? "" : o(t.Location),
    // TT_Type (§3.2.4.3: Operational, Informational…) and Type (§3.2.5.3: Scheduled or not), both.
    type: o(t.TT_Type),
    trouble: o(t.Type),
    problem: t.TT_Short_Description === "Undefined Problem" ? "" : o(t.TT_Short_Description),
    nodes: list(t.Network_Node),
    circuits: list(t.Network_Link_Circuit),
    start: o(formatTime(t.Start_Datetime, options.timeZone)),
    end: o(formatTime(t.End_Datetime, options.timeZone)),
    window: scheduled ? "" : o(window),
    priority: o(t.TT_Priority),
    related: list([...(t.Related_External_Tickets ?? []), ...(t.Related_Activity ?? [])]),
    changes: o(describeChanges(changes, options.timeZone), 400),
    // The latest History entry is what an update is usually about (RFC 6137 §3.2.6.4).
    history: o(historyForRoom(lastLine(t.History), options.timeZone), 300),
    // A bare URL in angle brackets: markdown-it keeps it as a link, rendered as the URL itself.
    link: activity.object.url && /^https?:\/\/[^\s<>]+$/i.test(activity.object.url) ? `<${activity.object.url}>` : "",
  };
}

/** Fills the template: segments separated by " · " with an empty value are dropped, then empty lines. */
export function fillTemplate(template: string, values: Record<string, string>): string {
  const lines: string[] = [];
  for (const line of templateLines(template)) {
    if (typeof line === "string") {
      lines.push(line);
      continue;
    }
    let filled = "";
    let any = false;
    for (const seg of line) {
      if (seg.names.length > 0 && !seg.names.some((n) => (values[n] ?? "") !== "")) continue;
      let text = seg.parts[0] ?? "";
      for (let k = 0; k < seg.names.length; k++) text += (values[seg.names[k] ?? ""] ?? "") + (seg.parts[k + 1] ?? "");
      filled += (any ? " · " : "") + text;
      any = true;
    }
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

/**
 * A template line: as it is (no placeholder; "" for a blank one), or its " · " segments, each the
 * text around its placeholders (`parts[k]` before `names[k]`, one more part than names).
 */
type TemplateLine = string | { parts: string[]; names: string[] }[];
const PLACEHOLDER = /\{\{(\w+)\}\}/g;

/** Templates come from the config (a few): each is taken apart once, not for every message. */
const parsedTemplates = new Map<string, TemplateLine[]>();
function templateLines(template: string): TemplateLine[] {
  let parsed = parsedTemplates.get(template);
  if (parsed === undefined) {
    parsed = template.split("\n").map((line): TemplateLine => {
      if (!line.includes("{{")) return line.trim() === "" ? "" : line;
      return line.split(" · ").map((seg) => {
        const parts: string[] = [];
        const names: string[] = [];
        let from = 0;
        for (const m of seg.matchAll(PLACEHOLDER)) {
          parts.push(seg.slice(from, m.index));
          names.push(m[1] ?? "");
          from = m.index + m[0].length;
        }
        parts.push(seg.slice(from));
        return { parts, names };
      });
    });
    if (parsedTemplates.size >= 64) parsedTemplates.clear();
    parsedTemplates.set(template, parsed);
  }
  return parsed;
}

/**
 * Template structures rendered so far (the filled template with a marker per value), bounded: the
 * rendering, or null where the whole must be rendered (a marker next to markup, or one markdown-it
 * did something to). Both depend on the structure only.
 */
const skeletons = new Map<string, string | null>();
const MAX_SKELETONS = 500;
const MARKER = /\uE000(\d+)\uE001/g;
/** Next to these a value's own markup could pair with the template's (emphasis, links, escapes). */
const BINDING = /[*_~`\\[\]!<>&\uE000\uE001]/;

/**
 * `markdownToStyled(fillTemplate(template, values))`, with markdown-it run once per structure
 * instead of once per ticket (a third of announcing a ticket): the template is filled with a
 * marker (private-use characters, plain text to markdown-it) for every value, rendered, and
 * cached; then each marker is replaced by what its value shows alone (`inlineAlone`). Where that
 * could differ from rendering the whole — a value whose look depends on its neighbours, or one
 * placed right next to markup — the whole is rendered as before.
 */
export function renderTemplate(template: string, values: Record<string, string>): string {
  const whole = (): string => markdownToStyled(fillTemplate(template, values));
  const shown: string[] = [];
  const marked: Record<string, string> = {};
  for (const [name, value] of Object.entries(values)) {
    if (value === "") {
      marked[name] = "";
      continue;
    }
    const alone = inlineAlone(value);
    if (alone === undefined) return whole();
    marked[name] = `\uE000${shown.length}\uE001`;
    shown.push(alone);
  }
  const skeleton = fillTemplate(template, marked);
  let styled = skeletons.get(skeleton);
  if (styled === undefined) {
    styled = styledSkeleton(skeleton);
    if (skeletons.size >= MAX_SKELETONS) skeletons.clear();
    skeletons.set(skeleton, styled);
  }
  return styled === null ? whole() : styled.replace(MARKER, (_, i: string) => shown[Number(i)] ?? "");
}

/** The skeleton rendered, or null where its values must be rendered with it (see `skeletons`). */
function styledSkeleton(skeleton: string): string | null {
  for (const m of skeleton.matchAll(MARKER)) {
    const before = skeleton[m.index - 1];
    const after = skeleton[m.index + m[0].length];
    if ((before !== undefined && BINDING.test(before)) || (after !== undefined && BINDING.test(after))) return null;
  }
  const styled = markdownToStyled(skeleton);
  // Every marker must come out once, as it went in (else markdown-it did something to it).
  return [...styled.matchAll(MARKER)].length === [...skeleton.matchAll(MARKER)].length ? styled : null;
}

const lastLine = (text: string): string => text.trim().split(/\r?\n/).filter((l) => l.trim() !== "").pop() ?? "";

/** Most lines of free text shown in a room message; the rest is cut with "[…]". */
export const MAX_QUOTED_LINES = 20;

/**
 * The NOC's free text is quoted as it is (XEP-0393 §5.1.2 block quote), outside markdown: its
 * spacing (traceroutes, tables) and blank lines survive, and it cannot be taken for our fields.
 * Each line is cleaned like any outside text (controls, bidi overrides, directives) and capped.
 */
export function quoteFreeText(text: string, max: number): string {
  const capped = capText(text, max);
  if (capped === "") return "";
  const lines = outsideLines(capped).map((line) => (line.length > 500 ? line.slice(0, 499) + "…" : line));
  const shown = lines.length > MAX_QUOTED_LINES ? [...lines.slice(0, MAX_QUOTED_LINES), "[…]"] : lines;
  return shown.map((line) => (line.trim() === "" ? ">" : `> ${line}`)).join("\n");
}

/** The full card: for a Create, for `show`, and on request. */
export function renderActivity(activity: TicketActivity, options: RenderOptions, changes: readonly FieldChange[] = [], template = DEFAULT_TEMPLATE): string {
  const fields = renderTemplate(template, placeholders(activity, options, changes));
  const long = activity.object["nttdm:ticket"].TT_Long_Description;
  const quoted = long ? quoteFreeText(long, options.maxLongDescription) : "";
  return quoted ? `${fields}\n${quoted}` : fields;
}

/** Fields whose change an engineer following the thread cares about, in this order. */
const COMPACT_FIELDS = [
  "TT_Status",
  "TT_Impact_Assessment",
  "TT_Priority",
  "Type",
  "Time_Window_Start",
  "Time_Window_End",
  "End_Datetime",
  "Affected_Service",
  "Location",
  "Network_Node",
  "Network_Link_Circuit",
  "TT_Short_Description",
  "TT_Title",
  "Related_Activity",
  "Related_External_Tickets",
  "Contact_Engineers",
  "TT_Long_Description",
] as const;

/**
 * An Update in a ticket's thread, short (issue 11.9): the id, the status, what changed and the
 * new History line; the full card stays for Create and `show`. A final status is one line.
 * `before` is the ticket as it was; the activity carries the ticket as it is now.
 *
 *   *EXN_1043* Updated · status Opened → Updated · impact No connectivity → At risk
 *   History: 2026-11-28 11:50 UTC alice: carrier on site
 *
 *   *EXN_1043* closed (was Updated) · Fibre cut Stockholm-Copenhagen · 2026-11-28 13:05 UTC alice: spliced
 */
export function renderCompactUpdate(activity: TicketActivity, before: Ticket, options: RenderOptions): string {
  const t = activity.object["nttdm:ticket"];
  const order = new Map<string, number>(COMPACT_FIELDS.map((f, i) => [f, i]));
  const shown = changedFields(before, t)
    .filter((c) => order.has(c.field) && c.field !== "TT_Status")
    .sort((a, b) => (order.get(a.field) ?? 0) - (order.get(b.field) ?? 0));
  const history = before.History !== t.History ? historyForRoom(lastLine(t.History), options.timeZone) : "";
  const o = (v: string, max?: number): string => escapeMarkdown(outsideLine(v, max));
  const statusChanged = before.TT_Status !== t.TT_Status;

  if (isFinalStatus(t.TT_Status) && statusChanged) {
    const parts = [`${heading(t.TT_ID)} ${escapeMarkdown(statusVerb(t.TT_Status))} (was ${escapeMarkdown(before.TT_Status)})`, o(t.TT_Title, 120), ...(history ? [o(history, 200)] : [])];
    return markdownToStyled(parts.join(" · "));
  }
  const window = formatWindow(t.Time_Window_Start, t.Time_Window_End, options.timeZone);
  const planned = t.Type === "Scheduled" ? `Planned maintenance${window ? ` ${window}` : ""} · ` : "";
  const head = [
    `${heading(t.TT_ID)} ${escapeMarkdown(planned + t.TT_Status)}`,
    ...(statusChanged ? [escapeMarkdown(`status ${before.TT_Status} → ${t.TT_Status}`)] : []),
    ...shown.flatMap((c) => {
      const said = describeChange(c, options.timeZone);
      return said === undefined ? [] : [o(said, 160)];
    }),
  ];
  const lines = [head.join(" · ")];
  if (history) lines.push(`History: ${o(history, 300)}`);
  return markdownToStyled(lines.join("\n"));
}
