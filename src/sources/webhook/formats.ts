/**
 * Webhook bodies → ticket versions (pure), one function per format. Every body is validated with
 * zod; any item that cannot become a ticket rejects the whole request (400 with the reasons), so a
 * request is taken in entirely or not at all.
 */
import { z } from "zod";
import type { ValueRule, WebhookConfig } from "../../../config/schema.js";
import { TicketActivitySchema } from "../../model/activity.js";
import { datetimeToMillis, isFinalStatus, type Ticket, type TicketField } from "../../model/ticket.js";
import { ok, err, type Result } from "../../util/result.js";
import { fixedRule, fromRule, valuesToTicket, type NamedValues } from "../rule-values.js";
import type { TicketVersion } from "../types.js";
import { asRuleInput, jsonPath } from "./json-path.js";
import { count } from "../../render/plural.js";

export type FormatContext = {
  sourceId: string;
  known: (ttId: string) => Ticket | undefined;
  /** Partner_IDs this bot publishes itself (an AS2 caller may not speak for them). */
  ownPartners: ReadonlySet<string>;
  now: Date;
};

/** `status` 400 is bad input; 403 is a caller speaking for a NOC it may not. */
export type FormatProblem = { status: 400 | 403; message: string };
export type FormatResult = Result<{ versions: TicketVersion[]; notes: string[] }, FormatProblem>;

const issueText = (e: z.ZodError): string =>
  e.issues
    .slice(0, 5)
    .map((i) => `${i.path.join(".") || "(body)"}: ${i.message}`)
    .join("; ");

// ---------------------------------------------------------------------------------------------
// Prometheus Alertmanager, webhook payload version 4
// ---------------------------------------------------------------------------------------------

const Labels = z.record(z.string(), z.string());
const AlertSchema = z.object({
  status: z.enum(["firing", "resolved"]),
  labels: Labels,
  annotations: Labels.default({}),
  // Calendar-checked (Date.parse takes 2026-02-30 for 2 March).
  startsAt: z.string().refine((s) => datetimeToMillis(s) !== undefined, { message: "must be an RFC 3339 date-time on a real calendar day" }),
  endsAt: z.string(),
  generatorURL: z.string().default(""),
  fingerprint: z.string().regex(/^[0-9a-f]{1,64}$/, "must be Alertmanager's hex fingerprint"),
});
export const AlertmanagerPayloadSchema = z.object({
  version: z.literal("4"),
  groupKey: z.string(),
  truncatedAlerts: z.number().int().min(0).default(0),
  status: z.enum(["firing", "resolved"]),
  receiver: z.string(),
  groupLabels: Labels.default({}),
  commonLabels: Labels.default({}),
  commonAnnotations: Labels.default({}),
  externalURL: z.string().default(""),
  alerts: z.array(AlertSchema).max(1000),
});
export type AlertmanagerPayload = z.infer<typeof AlertmanagerPayloadSchema>;

/** What an alert gets without configured rules: the conventional labels and annotations. */
export const ALERT_DEFAULTS: Partial<Record<TicketField, ValueRule[]>> = {
  Original_ID: [fromRule("fingerprint")],
  TT_Title: [fromRule("annotations.summary"), fromRule("alertname")],
  TT_Long_Description: [fromRule("annotations.description")],
  TT_Priority: [{ ...fromRule("labels.severity", "^(critical|high|warning|medium|info|low)$"), map: { critical: "High", high: "High", warning: "Medium", medium: "Medium", info: "Low", low: "Low" } }],
  Affected_Service: [fromRule("labels.service")],
  Network_Node: [fromRule("labels.instance")],
  Location: [fromRule("labels.location"), fixedRule("Unknown")],
  TT_Type: [fixedRule("Operational")],
  Type: [fixedRule("Unscheduled")],
  TT_Source: [fixedRule("Monitoring")],
  TT_Short_Description: [fixedRule("Undefined Problem")],
  TT_Impact_Assessment: [fixedRule("Unknown")],
};

export function alertValues(alert: z.infer<typeof AlertSchema>, payload: AlertmanagerPayload): NamedValues {
  const values: Record<string, string> = {
    status: alert.status,
    fingerprint: alert.fingerprint,
    startsAt: alert.startsAt,
    endsAt: alert.endsAt,
    generatorURL: alert.generatorURL,
    receiver: payload.receiver,
    externalURL: payload.externalURL,
  };
  if (alert.labels.alertname) values.alertname = alert.labels.alertname;
  for (const [k, v] of Object.entries(alert.labels)) values[`labels.${k}`] = v;
  for (const [k, v] of Object.entries(alert.annotations)) values[`annotations.${k}`] = v;
  return values;
}

const rfc3339 = (s: string): string => new Date(datetimeToMillis(s) ?? Number.NaN).toISOString().replace(/\.\d{3}Z$/, "Z");

export function alertmanagerVersions(body: unknown, config: Extract<WebhookConfig, { format: "alertmanager" }>, ctx: FormatContext): FormatResult {
  const parsed = AlertmanagerPayloadSchema.safeParse(body);
  if (!parsed.success) return err({ status: 400, message: `not an Alertmanager webhook (version 4): ${issueText(parsed.error)}` });
  const payload = parsed.data;
  const versions: TicketVersion[] = [];
  const problems: string[] = [];
  for (const alert of payload.alerts) {
    const resolved = alert.status === "resolved";
    if (resolved && datetimeToMillis(alert.endsAt) === undefined) {
      problems.push(`alert ${alert.fingerprint}: resolved without a valid endsAt`);
      continue;
    }
    const startsAt = rfc3339(alert.startsAt);
    const endsAt = resolved ? rfc3339(alert.endsAt) : undefined;
    const values = alertValues(alert, payload);
    const ttId = `${config.partnerId}_${alert.fingerprint}`;
    const base = ctx.known(ttId);
    // firing → Opened (a fingerprint that fires again after it resolved: Reopened); resolved → Closed.
    const status = resolved ? "Closed" : base === undefined ? "Opened" : isFinalStatus(base.TT_Status) ? "Reopened" : base.TT_Status;
    const t = valuesToTicket({
      values,
      mapping: config.mapping,
      defaults: { ...ALERT_DEFAULTS, TT_Open_Datetime: [fixedRule(startsAt)], Start_Datetime: [fixedRule(startsAt)] },
      overrides: {
        TT_Status: status,
        TT_Last_Update_Time: endsAt ?? startsAt,
        History: `${endsAt ?? startsAt} ${resolved ? "resolved" : "firing"}`,
        ...(status === "Reopened" ? { Start_Datetime: startsAt } : {}),
        ...(endsAt ? { TT_Close_Datetime: endsAt, End_Datetime: endsAt } : {}),
      },
      omit: resolved ? [] : ["TT_Close_Datetime", "End_Datetime"],
      partnerId: config.partnerId,
      base,
      now: ctx.now,
    });
    if (!t.ok) {
      problems.push(`alert ${alert.fingerprint}: ${t.error.map((p) => `${p.field}: ${p.message}`).join("; ")}`);
      continue;
    }
    versions.push({
      ticket: t.value,
      provenance: { source: ctx.sourceId, item: alert.fingerprint, published: endsAt ?? startsAt },
      // Alertmanager resends the same alert on every group interval, and retries out of order:
      // only a later start (fired again) or end (resolved) changes the ticket.
      ordered: true,
      keepFirst: ["TT_Open_Datetime"],
      ...(alert.generatorURL ? { link: alert.generatorURL } : {}),
      fed: new Set([...Object.keys(ALERT_DEFAULTS), ...Object.keys(config.mapping)]),
    });
  }
  if (problems.length > 0) return err({ status: 400, message: problems.join("; ") });
  const notes = payload.truncatedAlerts > 0 ? [`Alertmanager left out ${count(payload.truncatedAlerts, "alert")} of group ${payload.groupKey} (max_alerts)`] : [];
  return ok({ versions, notes });
}

// ---------------------------------------------------------------------------------------------
// AS2 ticket activities (what peer bots post in rooms), from a NOC without XMPP
// ---------------------------------------------------------------------------------------------

export function as2Versions(body: unknown, config: Extract<WebhookConfig, { format: "as2" }>, ctx: FormatContext): FormatResult {
  const list = Array.isArray(body) ? (body as unknown[]) : [body];
  if (list.length === 0 || list.length > 100) return err({ status: 400, message: "expected one activity or a list of 1 to 100" });
  const versions: TicketVersion[] = [];
  for (const [i, item] of list.entries()) {
    const where = list.length > 1 ? `activity ${i + 1}: ` : "";
    const parsed = TicketActivitySchema.safeParse(item);
    if (!parsed.success) return err({ status: 400, message: `${where}not a valid ticket activity: ${issueText(parsed.error)}` });
    const activity = parsed.data;
    const ticket = activity.object["nttdm:ticket"];
    if (ctx.ownPartners.has(ticket.Partner_ID)) return err({ status: 403, message: `${where}${ticket.Partner_ID} is this NOC's own Partner_ID` });
    // The secret says who calls; the config says which NOCs it may speak for (deny when in doubt).
    if (!config.partners.includes(ticket.Partner_ID)) return err({ status: 403, message: `${where}this webhook may not speak for ${ticket.Partner_ID} (partners)` });
    versions.push({
      ticket,
      provenance: { source: ctx.sourceId, item: activity.id, published: activity.published },
      ordered: true,
      merge: "replace",
      actor: activity.actor,
      ...(activity.object.url ? { link: activity.object.url } : {}),
      ...(activity.context ? { context: activity.context } : {}),
    });
  }
  return ok({ versions, notes: [] });
}

// ---------------------------------------------------------------------------------------------
// Generic JSON: named values by JSON path, then the rules
// ---------------------------------------------------------------------------------------------

export const JSON_DEFAULTS: Partial<Record<TicketField, ValueRule[]>> = {
  TT_Status: [fixedRule("Opened")],
  TT_Type: [fixedRule("Operational")],
  Type: [fixedRule("Unscheduled")],
  TT_Short_Description: [fixedRule("Undefined Problem")],
  TT_Impact_Assessment: [fixedRule("Unknown")],
  Location: [fixedRule("Unknown")],
  History: [fixedRule("")],
};

export function jsonValues(item: unknown, fields: Readonly<Record<string, string>>): NamedValues {
  const values: Record<string, string | string[] | undefined> = {};
  for (const [name, path] of Object.entries(fields)) values[name] = asRuleInput(jsonPath(item, path));
  return values;
}

export function jsonVersions(body: unknown, config: Extract<WebhookConfig, { format: "json" }>, ctx: FormatContext): FormatResult {
  const items = config.items === "$" ? [body] : jsonPath(body, config.items);
  if (items.length === 0) return err({ status: 400, message: `no items at ${config.items}` });
  if (items.length > 1000) return err({ status: 400, message: `${items.length} items: at most 1000 per request` });
  const versions: TicketVersion[] = [];
  const problems: string[] = [];
  items.forEach((item, i) => {
    const t = valuesToTicket({ values: jsonValues(item, config.fields), mapping: config.mapping, defaults: JSON_DEFAULTS, partnerId: config.partnerId, now: ctx.now });
    if (!t.ok) problems.push(`${items.length > 1 ? `item ${i + 1}: ` : ""}${t.error.map((p) => `${p.field}: ${p.message}`).join("; ")}`);
    else versions.push({ ticket: t.value, provenance: { source: ctx.sourceId, item: t.value.Original_ID, published: t.value.TT_Last_Update_Time }, keepFirst: ["TT_Open_Datetime"] });
  });
  if (problems.length > 0) return err({ status: 400, message: problems.join("; ") });
  return ok({ versions, notes: [] });
}
