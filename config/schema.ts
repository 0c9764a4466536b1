/**
 * The one config schema of ttrelay: parsed once at start-up, the single source of truth for the
 * JSON Schema in config/ttrelay.schema.json (regenerate with `npm run schema`).
 */
import { z } from "zod";
import { validate as validateCron } from "node-cron";
import { TicketFields, TicketShortDescriptions, TicketTypes, type TicketField } from "../src/model/ticket.js";
import { CorrelationConfigSchema, defaultCorrelationConfig } from "../src/correlate/rules.js";
import { AclConfigSchema } from "../src/dispatch/authorize.js";

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
]);
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
});

const RoomConfig = z.strictObject({
  jid: BareJid.describe("room JID, on any server (federation is fine)"),
  nick: z.string().min(1).max(64).optional().describe("nickname in this room; default xmpp.nick"),
  password: Secret.optional(),
  name: z.string().max(200).optional().describe("room title applied when the bot owns the room"),
  description: z.string().max(1000).optional(),
  readOnly: z
    .boolean()
    .optional()
    .describe("a customers' room: moderated and open, so customers join as visitors who read but cannot post"),
  members: z.array(BareJid).default([]).describe("real JIDs (engineers) given membership, i.e. voice, when the bot owns the room"),
});

/** Item fields rss-parser exposes for RSS 0.9x/1.0/2.0 and Atom. */
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
] as const;
export type ItemField = (typeof ItemFields)[number];

/**
 * One way to get a ticket field's value out of a feed item. Rules for a field are tried in order;
 * the first that yields a value wins.
 */
export const MappingRule = z
  .strictObject({
    from: z.enum(ItemFields).optional().describe("item field to read"),
    regex: z
      .string()
      .refine(isValidRegex, "is not a valid JavaScript regular expression")
      .optional()
      .describe("regular expression applied to the item field; the capture group gives the value"),
    flags: z
      .string()
      .regex(/^[imsu]*$/, "may only contain the flags i, m, s, u")
      .default("i"),
    group: z.union([z.number().int().min(0), z.string().min(1)]).default(1).describe("capture group number or name"),
    all: z.boolean().default(false).describe("collect every match (for list fields)"),
    map: z
      .record(z.string(), z.string())
      .optional()
      .describe("translate the captured text (case-insensitive key) into the field's value"),
    value: z.union([z.string(), z.array(z.string())]).optional().describe("a static value"),
  })
  .refine((r) => r.from !== undefined || r.value !== undefined, {
    message: "a rule needs `from` (an item field) or `value` (a static value)",
  })
  .refine((r) => r.regex === undefined || r.from !== undefined, {
    message: "`regex` needs `from`: the item field it is applied to",
    path: ["regex"],
  });
export type MappingRule = z.infer<typeof MappingRule>;

function isValidRegex(source: string): boolean {
  try {
    new RegExp(source);
    return true;
  } catch {
    return false;
  }
}

const FeedConfig = z.strictObject({
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
    .default(5 * 1024 * 1024)
    .describe("largest feed document accepted"),
  maxItemChars: z.number().int().min(256).max(1_000_000).default(20_000).describe("items longer than this are cut and logged"),
  mapping: z
    .partialRecord(z.enum(MappableFields), z.union([MappingRule, z.array(MappingRule).min(1)]))
    .default({})
    .describe("NTTDM field name → rule(s)"),
});
export type FeedConfig = z.infer<typeof FeedConfig>;

// ---------------------------------------------------------------------------------------------
// E-mail and webhook sources, and the bot's one HTTP listener (issue 12).
// ---------------------------------------------------------------------------------------------

const SourceId = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, "letters, digits, '.', '_' or '-' only")
  .describe("short name used in logs, routes (`when.feeds`) and, for webhooks, the URL /hooks/<id>");

const PartnerId = z.string().regex(/^[^_\s]+$/, "may not contain '_' or spaces (RFC 6137 §3.2.4.1: TT_ID = Partner_ID_Original_ID)");

/**
 * Where a rule over named values reads from: for mail `subject`, `from`, `date`, `text`, `html`
 * (the HTML body as text), `messageId`, `header:<name>`; for webhooks the names the source defines
 * (`labels.<name>`, `annotations.<name>`, a generic JSON field's name).
 */
export const ValueRule = z
  .strictObject({
    from: z.string().min(1).optional().describe("named value to read"),
    regex: z
      .string()
      .refine(isValidRegex, "is not a valid JavaScript regular expression")
      .optional()
      .describe("regular expression applied to the value; the capture group gives the field"),
    flags: z
      .string()
      .regex(/^[imsu]*$/, "may only contain the flags i, m, s, u")
      .default("i"),
    group: z.union([z.number().int().min(0), z.string().min(1)]).default(1).describe("capture group number or name"),
    all: z.boolean().default(false).describe("collect every match (for list fields)"),
    map: z.record(z.string(), z.string()).optional().describe("translate the captured text (case-insensitive key) into the field's value"),
    value: z.union([z.string(), z.array(z.string())]).optional().describe("a static value"),
  })
  .refine((r) => r.from !== undefined || r.value !== undefined, { message: "a rule needs `from` (a named value) or `value` (a static value)" })
  .refine((r) => r.regex === undefined || r.from !== undefined, { message: "`regex` needs `from`: the value it is applied to", path: ["regex"] });
export type ValueRule = z.infer<typeof ValueRule>;

export const ValueMapping = z
  .partialRecord(z.enum(MappableFields), z.union([ValueRule, z.array(ValueRule).min(1)]))
  .describe("NTTDM field name → rule(s) over the source's named values");
export type ValueMapping = z.infer<typeof ValueMapping>;

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
  .refine((s) => s.bcop !== undefined || s.mapping !== undefined, { message: "a sender needs `bcop` or `mapping` (or both): otherwise none of its mails can become a ticket" });
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
]);
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
    rooms: z.array(RoomConfig).min(1),
    feeds: z.array(FeedConfig).default([]),
    routes: z.array(RouteConfig).min(1),
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
