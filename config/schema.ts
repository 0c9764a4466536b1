/**
 * The one config schema of ttrelay: parsed once at start-up, the single source of truth for the
 * JSON Schema in config/ttrelay.schema.json (regenerate with `npm run schema`).
 */
import { z } from "zod";
import { validate as validateCron } from "node-cron";
import { TicketFields, type TicketField } from "../src/model/ticket.js";
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
    const roomJids = new Set(cfg.rooms.map((r) => r.jid));
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
    cfg.routes.forEach((route, i) => {
      route.rooms.forEach((room, j) => {
        if (!roomJids.has(room))
          ctx.addIssue({ code: "custom", path: ["routes", i, "rooms", j], message: `room ${room} is not in "rooms"` });
      });
      route.when.feeds?.forEach((feed, j) => {
        if (!feedIds.has(feed))
          ctx.addIssue({ code: "custom", path: ["routes", i, "when", "feeds", j], message: `feed ${feed} is not in "feeds"` });
      });
    });
  });

export type Config = z.infer<typeof ConfigSchema>;
export type ConfigInput = z.input<typeof ConfigSchema>;
export type RoomConfig = z.infer<typeof RoomConfig>;
