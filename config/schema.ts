/**
 * The one config schema of ttrelay: parsed once at start-up, the single source of truth for the
 * JSON Schema in config/ttrelay.schema.json (regenerate with `npm run schema`).
 */
import { z } from "zod";
import { validate as validateCron } from "node-cron";
import { TicketFields, TicketShortDescriptions, TicketTypes, type TicketField } from "../src/model/ticket.js";
import { CorrelationConfigSchema, defaultCorrelationConfig } from "../src/correlate/rules.js";
import { AclConfigSchema } from "../src/dispatch/authorize.js";
import { isKnownZone } from "../src/translate/dates.js";
import { RuleFlags, regexProblem } from "../src/util/safe-regex.js";

/** Ticket fields a feed may map: all but those computed from others (RFC 6137 §3.2.4.1). */
export const MappableFields = TicketFields.filter((f) => f !== "TT_ID" && f !== "Partner_ID") as [TicketField, ...TicketField[]];

/** A bare JID (`local@domain`), as used for the bot's account and for rooms. */
export const BareJid = z
  .string()
  .regex(/^[^@/\s]+@[^@/\s]+$/, "must be a bare JID like name@example.net (no resource, no spaces)")
  .transform((s) => s.toLowerCase());

/**
 * Secrets never live only in the JSON: they come from an environment variable or a file
 * (a `value` is accepted for throw-away demo configs only and is reported by check-config).
 */
export const Secret = z.union([
  z.strictObject({ env: z.string().min(1).describe("name of the environment variable holding the secret") }),
  z.strictObject({ file: z.string().min(1).describe("path of a file whose content (trimmed) is the secret") }),
  z.strictObject({ value: z.string().min(1).describe("inline secret: only for local demos, never for deployments") }),
], {
  // A bare string (the password itself) is the usual mistake: say what a secret looks like.
  error: (issue) => (issue.code === "invalid_union" ? 'a secret is {"env": "VARIABLE"}, {"file": "/path/to/file"} or, for local demos only, {"value": "…"}' : undefined),
});
export type Secret = z.infer<typeof Secret>;

const XmppConfig = z.strictObject({
  jid: BareJid.describe("the bot's account"),
  password: Secret,
  resource: z.string().min(1).default("ttrelay"),
  service: z
    .string()
    .regex(/^xmpps?:\/\/[^\s]+$/, "must look like xmpp://host:port or xmpps://host:port")
    .optional()
    .describe("where to connect; default: the JID's domain via DNS SRV"),
  nick: z.string().min(1).max(64).default("ttrelay").describe("nickname in rooms"),
  keepalive: z
    .strictObject({
      idleMs: z.number().int().min(500).max(3_600_000).default(60_000).describe("ping the server (XEP-0199) after this long without incoming data"),
      timeoutMs: z.number().int().min(500).max(300_000).default(20_000).describe("no answer for this long (or stuck connecting): reconnect"),
      roomPingMs: z.number().int().min(500).max(86_400_000).default(300_000).describe("self-ping (XEP-0410) rooms quiet for this long; rejoin those that lost the bot"),
    })
    .default({ idleMs: 60_000, timeoutMs: 20_000, roomPingMs: 300_000 })
    .describe("noticing a frozen server or a room that forgot the bot"),
});

const RoomConfig = z.strictObject({
  jid: BareJid.describe("room JID, on any server (federation is fine)"),
  nick: z.string().min(1).max(64).optional().describe("nickname in this room; default xmpp.nick"),
  password: Secret.optional(),
  name: z.string().max(200).optional().describe("room title applied when the bot owns the room"),
  description: z
    .string()
    .max(1000)
    .optional()
    .describe("room description applied when the bot owns the room; with subject false, also the subject of a room that has none"),
  readOnly: z
    .boolean()
    .optional()
    .describe("a customers' room: moderated and open, so customers join as visitors who read but cannot post"),
  members: z.array(BareJid).default([]).describe("real JIDs (engineers) given membership, i.e. voice, when the bot owns the room"),
  subject: z
    .boolean()
    .default(true)
    .describe("keep the room's subject showing the state of its tickets across every NOC (open faults, worst impact, maintenance now and next); at most once a minute"),
});

/**
 * Item fields a feed offers by name (rss-parser's normalised view of RSS 0.9x/1.0/2.0 and Atom) and
 * the channel's own fields. Any other element of an item is reached by its path as written in the
 * document: `content:encoded`, `dc:subject`, `aws:details/aws:region`, an attribute with `@`
 * (`enclosure@url`), and an element chosen by an attribute with `[name=value]`
 * (`link[rel=related]@href`, `category[domain=severity]`). See src/sources/feed/parse.ts.
 */
export const ItemFields = [
  "title",
  "link",
  "guid",
  "id",
  "content",
  "contentSnippet",
  "summary",
  "description",
  "categories",
  "creator",
  "author",
  "pubDate",
  "isoDate",
  "updated",
  "channel.title",
  "channel.link",
  "channel.description",
  "channel.id",
] as const;
export type ItemField = (typeof ItemFields)[number];

const itemFieldSet: ReadonlySet<string> = new Set(ItemFields);
/** A path into the item's XML: prefixed names, "/" steps, one "[attr=value]" filter per step, "@attr" last. */
const ITEM_PATH = /^[A-Za-z_][\w.-]*(?::[A-Za-z_][\w.-]*)?(?:\[[A-Za-z_][\w:.-]*=[^\]]*\])?(?:\/[A-Za-z_][\w.-]*(?::[A-Za-z_][\w.-]*)?(?:\[[A-Za-z_][\w:.-]*=[^\]]*\])?)*(?:@[A-Za-z_][\w:.-]*)?$/;

/** Whether a feed has a field of this name: a named field, or a path (which must say more than a bare word). */
export function isFeedFieldName(name: string): boolean {
  if (itemFieldSet.has(name)) return true;
  return /[:/@[]/.test(name) && ITEM_PATH.test(name);
}

/** How to read a date: see src/translate/dates.ts. */
export const DateRuleOptions = z.strictObject({
  format: z
    .union([z.string().min(1), z.array(z.string().min(1)).min(1)])
    .transform((f) => (Array.isArray(f) ? f : [f]))
    .optional()
    .describe("luxon format string(s) tried first, e.g. \"dd.MM.yyyy HH:mm\"; must include the year"),
  dayFirst: z.boolean().optional().describe("numeric dates: true = day/month/year (UK, Europe), false = month/day/year (US); unset = refuse when ambiguous"),
  zone: z
    .string()
    .refine(isKnownZone, "is not a zone: use an IANA name like Europe/Oslo, UTC, or an offset like +01:00")
    .optional()
    .describe("zone of times that carry none (default UTC)"),
});
export type DateRuleOptions = z.infer<typeof DateRuleOptions>;

/** A regular expression RE2 can run, checked with the flags of the same object (see src/util/safe-regex.ts). */
const regexField = z.string().describe("regular expression (RE2 syntax: no back-references, no look-around)");

const regexChecked = <T extends { regex?: string | undefined; flags: string }>(r: T, ctx: z.RefinementCtx): void => {
  if (r.regex === undefined || !RuleFlags.test(r.flags)) return;
  const problem = regexProblem(r.regex, r.flags);
  if (problem !== undefined) ctx.addIssue({ code: "custom", path: ["regex"], message: problem });
};

/** A condition on a rule: a source field (`from`) or an already mapped ticket field (`field`). */
export const RuleCondition = z
  .strictObject({
    from: z.string().min(1).optional().describe("a field (or path) of what the source received"),
    field: z.enum(TicketFields as [TicketField, ...TicketField[]]).optional().describe("an NTTDM field mapped by other rules (its final value)"),
    regex: regexField.optional().describe("the value must match (RE2)"),
    flags: z.string().regex(RuleFlags, "may only contain the flags i, m, s, u").default("i"),
    equals: z
      .union([z.string(), z.array(z.string()).min(1)])
      .optional()
      .describe("the value must be one of these (ignoring case, spaces, '_' and '-')"),
    present: z.boolean().optional().describe("true: the field must have a value; false: it must have none"),
    not: z.boolean().default(false).describe("negates the condition"),
  })
  .superRefine((c, ctx) => {
    if ((c.from === undefined) === (c.field === undefined))
      ctx.addIssue({ code: "custom", path: [], message: "a condition names exactly one of `from` (a source field) or `field` (a ticket field)" });
    if (c.regex === undefined && c.equals === undefined && c.present === undefined)
      ctx.addIssue({ code: "custom", path: [], message: "a condition needs `regex`, `equals` or `present`" });
    regexChecked(c, ctx);
  });
export type RuleCondition = z.infer<typeof RuleCondition>;

/**
 * One way to get a ticket field's value out of what a source received: a record of named values
 * (feed item fields and paths; e-mail subject/from/header:X; webhook JSON paths). Rules for a field
 * are tried in order; the first that yields a value wins. The rule language is the same for every
 * source: only the field names differ, and each source's schema checks them (see `checkMappingFields`).
 */
export const MappingRule = z
  .strictObject({
    from: z.string().min(1).optional().describe("the field to read (a name or a path, depending on the source)"),
    html: z
      .union([z.boolean(), z.literal("entities")])
      .default(false)
      .describe("true: the field is HTML, read as plain text (tags dropped, entities decoded); \"entities\": only decode entities"),
    regex: regexField.optional().describe("applied to the field; the capture `group` gives the value (RE2 syntax)"),
    flags: z.string().regex(RuleFlags, "may only contain the flags i, m, s, u").default("i"),
    group: z.union([z.number().int().min(0), z.string().min(1)]).default(1).describe("capture group number or name"),
    all: z.boolean().default(false).describe("collect every match (for list fields)"),
    template: z
      .string()
      .min(1)
      .optional()
      .describe("build the value: {1} {name} are captures, {title} a source field, {field?} may be empty, {{ and }} are braces"),
    map: z
      .record(z.string(), z.string())
      .optional()
      .describe("translate the captured text (case-insensitive key) into the field's value"),
    reverse: z.boolean().default(false).describe("reverse the order of several values (History from a source that lists the newest first)"),
    hash: z.boolean().default(false).describe("use a short hash of the value (a stable id for items that have none)"),
    date: DateRuleOptions.optional().describe("how to read a date (date fields only)"),
    when: z
      .union([RuleCondition, z.array(RuleCondition).min(1)])
      .transform((w) => (Array.isArray(w) ? w : [w]))
      .optional()
      .describe("the rule applies only when every condition holds"),
    value: z.union([z.string(), z.array(z.string())]).optional().describe("a static value (also the fallback when `from` yields nothing)"),
    then: z
      .literal("default")
      .optional()
      .describe("after this rule, try the built-in rules for the field (a rule of its own: { \"then\": \"default\" })"),
  })
  .superRefine((r, ctx) => {
    if (r.from === undefined && r.value === undefined && r.template === undefined && r.then === undefined)
      ctx.addIssue({ code: "custom", path: [], message: "a rule needs `from` (a field), `template`, `value` (a static value) or `then`" });
    if (r.regex !== undefined && r.from === undefined)
      ctx.addIssue({ code: "custom", path: ["regex"], message: "`regex` needs `from`: the field it is applied to" });
    regexChecked(r, ctx);
  });
export type MappingRule = z.infer<typeof MappingRule>;
export type MappingRuleInput = z.input<typeof MappingRule>;

/** NTTDM field name → rule(s). */
export const Mapping = z
  .partialRecord(z.enum(MappableFields), z.union([MappingRule, z.array(MappingRule).min(1)]))
  .default({})
  .describe("NTTDM field name → rule(s); the first rule that yields a value wins");
export type Mapping = z.infer<typeof Mapping>;

/** Placeholders of a template that name source fields (not captures, not ticket fields). */
export function templateFields(template: string): string[] {
  return [...template.replace(/\{\{|\}\}/g, "").matchAll(/\{([^{}]+)\}/g)]
    .map((m) => (m[1] ?? "").replace(/\?$/, ""))
    .filter((name) => !/^\d+$/.test(name));
}

/**
 * Checks every field a mapping reads against what the source offers (each source knows its own
 * names). Template placeholders may also be capture names of the rule's regex.
 */
export function checkMappingFields(mapping: Mapping, isField: (name: string) => boolean, source: string, ctx: z.RefinementCtx, base: PropertyKey[]): void {
  for (const [field, rules] of Object.entries(mapping)) {
    const list = Array.isArray(rules) ? rules : rules === undefined ? [] : [rules];
    list.forEach((rule, i) => {
      const at = Array.isArray(rules) ? [...base, field, i] : [...base, field];
      const unknown = (name: string, path: PropertyKey[]): void =>
        ctx.addIssue({ code: "custom", path: [...at, ...path], message: `${source} has no field "${name}"` });
      if (rule.from !== undefined && !isField(rule.from)) unknown(rule.from, ["from"]);
      // Also called on input zod already found wrong elsewhere: `when` may still be one object then.
      const when: unknown = rule.when;
      const conditions = (Array.isArray(when) ? when : when === undefined ? [] : [when]) as { from?: unknown }[];
      conditions.forEach((c, j) => {
        if (typeof c.from === "string" && !isField(c.from)) unknown(c.from, ["when", ...(Array.isArray(when) && conditions.length > 1 ? [j] : []), "from"]);
      });
      if (rule.template !== undefined) {
        const captures = new Set(rule.regex ? [...rule.regex.matchAll(/\(\?P?<([A-Za-z_]\w*)>/g)].map((m) => m[1] ?? "") : []);
        for (const name of templateFields(rule.template)) if (!captures.has(name) && !isField(name)) unknown(name, ["template"]);
      }
    });
  }
}

const FeedConfig = z
  .strictObject({
    id: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, "letters, digits, '.', '_' or '-' only")
      .describe("short name used in logs and routes"),
    url: z
      .string()
      .url()
      .refine((u) => /^https?:/i.test(u) || /^file:/i.test(u), "must be http(s):// (or file:// for local tests)"),
    schedule: z
      .string()
      .refine((s) => validateCron(s), "is not a valid cron expression (five or six fields, e.g. '*/2 * * * *')")
      .default("*/2 * * * *"),
    partnerId: z
      .string()
      .regex(/^[^_\s]+$/, "may not contain '_' or spaces (RFC 6137 §3.2.4.1: TT_ID = Partner_ID_Original_ID)")
      .describe("NTTDM Partner_ID of the NOC publishing this feed"),
    timeoutMs: z.number().int().min(1000).max(300_000).default(15_000),
    maxBytes: z
      .number()
      .int()
      .min(1024)
      .max(100 * 1024 * 1024)
      .default(5 * 1024 * 1024)
      .describe("largest feed document accepted"),
    maxItemChars: z.number().int().min(256).max(1_000_000).default(20_000).describe("items longer than this are cut and logged"),
    redirectHosts: z
      .array(z.string().regex(/^(?:\*\.)?[A-Za-z0-9.-]+(?::\d+)?$/, "a host name, optionally with a port or a leading '*.'"))
      .default([])
      .describe("hosts other than the feed's own that redirects may lead to (default: the same host only, and http → https)"),
    itemsPerTicket: z
      .enum(["one", "many"])
      .default("one")
      .describe("\"many\": the feed lists several items per ticket (a changes feed), applied oldest first as updates; \"one\": items that map to one ticket are a mistake, told and kept apart"),
    dates: DateRuleOptions.optional().describe("how this feed writes dates (rules' own `date` options win)"),
    mapping: Mapping,
  })
  .superRefine((feed, ctx) => checkMappingFields(feed.mapping, isFeedFieldName, "a feed item", ctx, ["mapping"]));
export type FeedConfig = z.infer<typeof FeedConfig>;
export type FeedConfigInput = z.input<typeof FeedConfig>;
export { FeedConfig as FeedConfigSchema };

// ---------------------------------------------------------------------------------------------
// E-mail and webhook sources, and the bot's one HTTP listener (issue 12).
// ---------------------------------------------------------------------------------------------

const SourceId = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, "letters, digits, '.', '_' or '-' only")
  .describe("short name used in logs, routes (`when.feeds`) and, for webhooks, the URL /hooks/<id>");

const PartnerId = z.string().regex(/^[^_\s]+$/, "may not contain '_' or spaces (RFC 6137 §3.2.4.1: TT_ID = Partner_ID_Original_ID)");

/**
 * Rules over named values for mail and webhook sources: the same rule language as feeds
 * (`MappingRule`); only the names differ. Mail: `subject`, `from`, `date`, `text`, `html` (the HTML
 * body as text), `messageId`, `header:<name>`; Alertmanager: `status`, `alertname`, `fingerprint`,
 * `startsAt`, `endsAt`, `generatorURL`, `labels.<name>`, `annotations.<name>`; generic JSON: the
 * names its `fields` define.
 */
export const ValueRule = MappingRule;
export type ValueRule = MappingRule;

export const ValueMapping = z
  .partialRecord(z.enum(MappableFields), z.union([MappingRule, z.array(MappingRule).min(1)]))
  .describe("NTTDM field name → rule(s) over the source's named values");
export type ValueMapping = z.infer<typeof ValueMapping>;

/** The names a plain-text mail offers its rules. */
export const isMailField = (name: string): boolean => ["subject", "from", "date", "text", "html", "messageId"].includes(name) || /^header:[A-Za-z0-9-]+$/i.test(name);
/** The names an Alertmanager alert offers its rules. */
export const isAlertField = (name: string): boolean =>
  ["status", "alertname", "fingerprint", "startsAt", "endsAt", "generatorURL"].includes(name) || /^(labels|annotations)\.[A-Za-z_][A-Za-z0-9_]*$/.test(name);

const AddressPattern = z
  .string()
  .min(3)
  .regex(/^[^\s@]*@[^\s@]+$|^[^\s@]+$/, "must be an address like noc@carrier.example, a pattern like *@carrier.example, or a List-Id like maint.carrier.example")
  .transform((s) => s.toLowerCase());

const DomainName = z
  .string()
  .regex(/^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$/, "must be a domain name like carrier.example")
  .transform((s) => s.toLowerCase());

/** One organisation allowed to send tickets by mail, and how its mails become tickets. */
const MailSender = z
  .strictObject({
    name: z.string().min(1).max(100).describe("for logs"),
    match: z
      .strictObject({
        from: z.array(AddressPattern).min(1).optional().describe("From addresses ('*' wildcard)"),
        listId: z.array(AddressPattern).min(1).optional().describe("List-Id identifiers ('*' wildcard), for mails relayed by a list"),
        header: z
          .strictObject({
            name: z.string().regex(/^[A-Za-z0-9-]+$/, "must be a header name like X-Original-Sender"),
            values: z.array(AddressPattern).min(1),
          })
          .optional()
          .describe("a header your mail system adds, e.g. X-Original-Sender"),
      })
      .refine((m) => m.from !== undefined || m.listId !== undefined || m.header !== undefined, { message: "give at least one of from, listId, header" })
      .describe("how mails of this sender are recognised; the first sender that matches is used"),
    partnerId: PartnerId.describe("NTTDM Partner_ID of the tickets this sender's mails make"),
    dkim: z
      .strictObject({
        domains: z
          .array(DomainName)
          .min(1)
          .optional()
          .describe("signing domains (d=) accepted; default the domain of the matched address"),
      })
      .optional()
      .describe("require a passing DKIM signature (RFC 6376) of the sender's domain; unsigned or failing mails are refused"),
    bcop: z
      .strictObject({
        providers: z.array(z.string().min(1)).min(1).describe("X-MAINTNOTE-PROVIDER values this sender may speak for (case-insensitive)"),
        service: z.string().min(1).optional().describe("Affected_Service of its maintenance tickets (routes select by it)"),
        location: z.string().min(1).default("Unknown").describe("Location when the event has no LOCATION"),
        ticketType: z.enum(TicketTypes).default("Operational"),
        shortDescription: z.enum(TicketShortDescriptions).default("Other"),
      })
      .optional()
      .describe("Maintenance Notification BCOP iCalendar parts are read for these providers"),
    mapping: ValueMapping.optional().describe("plain-text mails: rules over subject, from, date, text, html, messageId, header:<name>; without it, plain mails of this sender are refused"),
  })
  .refine((s) => s.bcop !== undefined || s.mapping !== undefined, { message: "a sender needs `bcop` or `mapping` (or both): otherwise none of its mails can become a ticket" })
  .superRefine((s, ctx) => {
    if (s.mapping) checkMappingFields(s.mapping, isMailField, "a mail", ctx, ["mapping"]);
  });
export type MailSenderConfig = z.infer<typeof MailSender>;

const ImapConfig = z.strictObject({
  host: z.string().min(1),
  port: z.number().int().min(1).max(65535).default(993),
  secure: z.boolean().default(true).describe("TLS from the first byte (port 993); false: plain, upgraded by STARTTLS when offered"),
  user: z.string().min(1),
  password: Secret,
  mailbox: z.string().min(1).default("INBOX"),
  moveTo: z.string().min(1).optional().describe("mailbox processed messages are moved to (created if missing)"),
  pollSeconds: z.number().int().min(5).max(3600).default(60).describe("how often the mailbox is checked besides IDLE"),
  idle: z.boolean().default(true).describe("use IMAP IDLE (RFC 2177) where the server offers it"),
  rejectUnauthorized: z.boolean().default(true).describe("check the server's TLS certificate"),
});
export type ImapConfig = z.infer<typeof ImapConfig>;

export const MailSourceConfig = z
  .strictObject({
    id: SourceId,
    imap: ImapConfig.optional(),
    maildir: z.string().min(1).optional().describe("a Maildir the bot watches (new/ → cur/); `ttrelay ingest-mail` delivers into it"),
    maxBytes: z.number().int().min(1024).max(100 * 1024 * 1024).default(10 * 1024 * 1024).describe("larger messages are refused"),
    maxAttachments: z.number().int().min(0).max(1000).default(20),
    maxAttachmentBytes: z.number().int().min(0).default(5 * 1024 * 1024).describe("largest single attachment"),
    senders: z.array(MailSender).min(1).describe("who may send; mails of anyone else are logged and never posted"),
  })
  .refine((m) => (m.imap === undefined) !== (m.maildir === undefined), { message: "give exactly one of `imap` and `maildir` (use two sources for both)" });
export type MailSourceConfig = z.infer<typeof MailSourceConfig>;

/** How a webhook caller proves who it is. */
const WebhookAuth = z.union([
  z.strictObject({ bearer: Secret.describe("the token expected in `Authorization: Bearer <token>`") }),
  z.strictObject({
    hmac: z.strictObject({
      secret: Secret,
      header: z.string().regex(/^[A-Za-z0-9-]+$/).default("X-Hub-Signature-256").describe("header carrying `sha256=<hex HMAC-SHA256 of the body>`"),
    }),
  }),
]);
export type WebhookAuth = z.infer<typeof WebhookAuth>;

const WebhookCommon = {
  id: SourceId,
  auth: WebhookAuth,
  maxBytes: z.number().int().min(256).max(50 * 1024 * 1024).default(1024 * 1024).describe("largest body accepted (413 beyond)"),
};

export const WebhookConfig = z.discriminatedUnion("format", [
  z.strictObject({
    ...WebhookCommon,
    format: z.literal("alertmanager").describe("Prometheus Alertmanager webhook (version 4)"),
    partnerId: PartnerId.describe("Partner_ID of the tickets (one per alert fingerprint)"),
    mapping: ValueMapping.default({}).describe("rules over status, alertname, fingerprint, startsAt, endsAt, generatorURL, labels.<name>, annotations.<name>"),
  }),
  z.strictObject({
    ...WebhookCommon,
    format: z.literal("as2").describe("Activity Streams 2.0 ticket activities, as peer bots post them in rooms"),
    partners: z.array(PartnerId).min(1).describe("the Partner_IDs this caller may speak for"),
  }),
  z.strictObject({
    ...WebhookCommon,
    format: z.literal("json").describe("any JSON body, mapped by JSON paths and rules"),
    partnerId: PartnerId,
    items: z
      .string()
      .regex(/^\$(\.[A-Za-z_$][\w$-]*|\[\d+\])*(\[\*\])?$/, "must be a JSON path like $ or $.alerts[*]")
      .default("$")
      .describe("where the tickets are: `$` (the body is one), or an array like `$.events[*]`"),
    fields: z
      .record(
        z.string().regex(/^[A-Za-z][\w.-]*$/, "value names are letters, digits, '.', '_' or '-'"),
        z.string().regex(/^\$(\.[A-Za-z_$][\w$-]*|\[\d+\]|\[\*\])*$/, "must be a JSON path like $.ticket.id, $.tags[0] or $.tags[*]"),
      )
      .describe("named values read from each item by JSON path (relative to the item), for the rules"),
    mapping: ValueMapping.describe("rules over the named values; Original_ID is required"),
  }),
]).superRefine((w, ctx) => {
  if (w.format === "alertmanager") checkMappingFields(w.mapping, isAlertField, "an Alertmanager alert", ctx, ["mapping"]);
  if (w.format === "json") checkMappingFields(w.mapping, (name) => Object.hasOwn(w.fields, name), "this webhook's `fields`", ctx, ["mapping"]);
});
export type WebhookConfig = z.infer<typeof WebhookConfig>;

export const HttpConfig = z.strictObject({
  address: z
    .string()
    .min(1)
    .default("127.0.0.1")
    .describe("address to listen on; loopback by default: put a TLS-terminating proxy in front for the outside"),
  port: z.number().int().min(0).max(65535).default(8470).describe("0: any free port (tests)"),
});
export type HttpConfig = z.infer<typeof HttpConfig>;

const RouteConfig = z.strictObject({
  rooms: z.array(BareJid).min(1),
  when: z
    .strictObject({
      feeds: z.array(z.string()).min(1).optional(),
      partners: z.array(z.string()).min(1).optional(),
      services: z
        .array(z.string())
        .min(1)
        .optional()
        .describe("Affected_Service values; '*' is a wildcard, case-insensitive"),
      types: z.array(z.string()).min(1).optional().describe("TT_Type values"),
    })
    .default({})
    .describe("all given conditions must hold; an empty `when` matches every ticket"),
});
export type RouteConfig = z.infer<typeof RouteConfig>;

/** Request Tracker 5 (REST 2.0): a source of tickets and the place commands and peers write back to. */
const RtConfig = z.strictObject({
  url: z.string().url().describe("RT's web base URL, e.g. https://rt.noc.example.net"),
  auth: z.strictObject({
    scheme: z.enum(["token", "basic"]).default("token"),
    secret: Secret.describe("the token, or user:password for basic auth"),
  }),
  user: z.string().min(1).describe("the RT user the bot acts as: its own changes, polled back, are not re-posted"),
  queue: z.string().min(1).describe("the queue whose tickets are relayed (polled by LastUpdated)"),
  schedule: z
    .string()
    .refine((s) => validateCron(s), "is not a valid cron expression (five or six fields, e.g. '*/2 * * * *')")
    .default("*/1 * * * *"),
  timeZone: z.string().default("UTC").describe("the RT user's time zone (RT reads TicketSQL dates in it)"),
  timeoutMs: z.number().int().min(1000).max(120_000).default(15_000),
  mapping: z
    .looseObject({})
    .default({})
    .describe("custom fields, status maps and defaults (see src/ticket-systems/rt/map.ts RtMappingSchema); partnerId defaults to noc.id"),
  peers: z
    .strictObject({
      queue: z.string().min(1).describe("queue where tickets of peer NOCs affecting our services are created"),
      services: z.array(z.string().min(1)).min(1).describe("Affected_Service values ('*' wildcard) this NOC follows in RT"),
      remoteIdField: z.string().min(1).default("NTTDM TT_ID").describe("RT custom field holding the peer's TT_ID"),
    })
    .optional(),
});
export type RtConfig = z.infer<typeof RtConfig>;

export const ConfigSchema = z
  .strictObject({
    $schema: z.string().optional(),
    noc: z.strictObject({
      id: z.string().regex(/^[^_\s]+$/, "may not contain '_' or spaces").describe("this NOC's Partner_ID"),
      name: z.string().min(1),
      url: z.string().url().optional(),
    }),
    xmpp: XmppConfig,
    rooms: z.array(RoomConfig).min(1, "at least one room is needed (where would tickets go?)"),
    feeds: z.array(FeedConfig).default([]),
    routes: z.array(RouteConfig).min(1, "at least one route is needed: which tickets go to which rooms"),
    store: z
      .strictObject({
        path: z.string().min(1).default("data/ttrelay.json"),
        archivePath: z.string().min(1).optional().describe("closed tickets are appended here; default <path>.archive.jsonl"),
        archiveAfterHours: z.number().min(0).default(24),
      })
      .default({ path: "data/ttrelay.json", archiveAfterHours: 24 }),
    rt: RtConfig.optional(),
    mail: z.array(MailSourceConfig).default([]).describe("partners' e-mail: IMAP mailboxes and Maildirs"),
    webhooks: z.array(WebhookConfig).default([]).describe("push endpoints /hooks/<id> on the HTTP listener"),
    http: HttpConfig.optional().describe("the bot's one HTTP listener (webhooks, health, metrics); needed when webhooks are configured"),
    peerBots: z
      .array(
        z.strictObject({
          jids: z.array(z.string().min(3)).min(1).describe("real JIDs (patterns with '*') of a peer NOC's bot"),
          partners: z.array(z.string().regex(/^[^_\s]+$/, "may not contain '_' or spaces")).min(1).describe("the Partner_IDs it may speak for"),
        }),
      )
      .default([])
      .describe("other NOCs' bots whose ticket activities in shared rooms are taken in; anyone else's are ignored"),
    acl: AclConfigSchema.prefault({}).describe("who may run which chat commands; deny by default"),
    correlation: CorrelationConfigSchema.default(defaultCorrelationConfig).describe("how related tickets are grouped into incidents"),
    maintenance: z
      .strictObject({
        remindBeforeMinutes: z
          .array(z.number().int().min(1).max(7 * 24 * 60))
          .max(10)
          .default([60, 15])
          .describe("reminders of a planned maintenance, minutes before its window starts (plus one at the start and one at the planned end)"),
      })
      .default({ remindBeforeMinutes: [60, 15] })
      .describe("scheduled tickets (planned maintenance): reminders in their thread, in every room of the ticket"),
    render: z
      .strictObject({
        maxLongDescription: z.number().int().min(0).max(10_000).default(600),
        timeZone: z.string().default("UTC"),
      })
      .default({ maxLongDescription: 600, timeZone: "UTC" }),
    log: z
      .strictObject({ level: z.enum(["trace", "debug", "info", "warn", "error", "fatal"]).default("info") })
      .default({ level: "info" }),
  })
  .superRefine((cfg, ctx) => {
    const seenRooms = new Set<string>();
    cfg.rooms.forEach((r, i) => {
      if (seenRooms.has(r.jid)) ctx.addIssue({ code: "custom", path: ["rooms", i, "jid"], message: `room ${r.jid} is listed twice` });
      seenRooms.add(r.jid);
    });
    const feedIds = new Set<string>(cfg.rt ? ["rt"] : []);
    const feedUrls = new Set<string>();
    cfg.feeds.forEach((f, i) => {
      if (feedIds.has(f.id)) ctx.addIssue({ code: "custom", path: ["feeds", i, "id"], message: `feed id ${f.id} is used twice` });
      // One fetch per feed however many rooms read it: rooms are chosen by routes, not by listing a feed twice.
      if (feedUrls.has(f.url))
        ctx.addIssue({ code: "custom", path: ["feeds", i, "url"], message: `feed URL is listed twice; route it to more rooms instead` });
      feedIds.add(f.id);
      feedUrls.add(f.url);
    });
    // Mail and webhook sources share the id space of feeds: routes select them by `when.feeds`.
    for (const [key, list] of [["mail", cfg.mail], ["webhooks", cfg.webhooks]] as const) {
      list.forEach((source, i) => {
        if (feedIds.has(source.id)) ctx.addIssue({ code: "custom", path: [key, i, "id"], message: `source id ${source.id} is used twice` });
        feedIds.add(source.id);
      });
    }
    if (cfg.webhooks.length > 0 && cfg.http === undefined)
      ctx.addIssue({ code: "custom", path: ["http"], message: "webhooks need the HTTP listener: add \"http\": {\"port\": …}" });
    for (const issue of routeReferenceIssues(cfg)) ctx.addIssue({ code: "custom", ...issue });
  });

/**
 * Routes naming rooms or sources that are not configured. Reads the document loosely, so the same
 * check runs on a valid config (in the schema) and on one zod rejected for other reasons (so every
 * problem is reported at once, see src/config/load.ts).
 */
export function routeReferenceIssues(raw: unknown): { path: (string | number)[]; message: string }[] {
  const at = (v: unknown, key: string | number): unknown => (v !== null && typeof v === "object" && Object.hasOwn(v, key) ? (v as Record<string | number, unknown>)[key] : undefined);
  const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
  const str = (v: unknown): string | undefined => (typeof v === "string" ? v : undefined);
  const rooms = new Set(list(at(raw, "rooms")).map((r) => str(at(r, "jid"))?.toLowerCase()));
  // Feeds, mail and webhook sources share one id space; RT's tickets come from "rt".
  const sources = new Set([...list(at(raw, "feeds")), ...list(at(raw, "mail")), ...list(at(raw, "webhooks"))].map((f) => str(at(f, "id"))));
  if (at(raw, "rt") !== undefined) sources.add("rt");
  const issues: { path: (string | number)[]; message: string }[] = [];
  list(at(raw, "routes")).forEach((route, i) => {
    list(at(route, "rooms")).forEach((room, j) => {
      const jid = str(room)?.toLowerCase();
      if (jid !== undefined && !rooms.has(jid)) issues.push({ path: ["routes", i, "rooms", j], message: `room ${jid} is not in "rooms"` });
    });
    list(at(at(route, "when"), "feeds")).forEach((feed, j) => {
      const id = str(feed);
      if (id !== undefined && !sources.has(id)) issues.push({ path: ["routes", i, "when", "feeds", j], message: `feed ${id} is not in "feeds"` });
    });
  });
  return issues;
}

export type Config = z.infer<typeof ConfigSchema>;
export type ConfigInput = z.input<typeof ConfigSchema>;
export type RoomConfig = z.infer<typeof RoomConfig>;
