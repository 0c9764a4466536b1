/**
 * Feed item → NTTDM ticket (pure). Each NOC words its feed differently, so the feed's mapping rules
 * (config) decide where each field comes from; the defaults below fill what a plain RSS feed has.
 */
import type { FeedConfig, MappingRule } from "../../config/schema.js";
import type { FeedItem } from "../sources/feed/parse.js";
import {
  CloseFields,
  MandatoryFields,
  TicketFields,
  TicketListFields,
  TicketImpactAssessments,
  TicketPriorities,
  TicketShortDescriptions,
  TicketSources,
  TicketStatuses,
  TicketTypes,
  TroubleTypes,
  datetimeToMillis,
  makeTicketId,
  validateTicket,
  type Ticket,
  type TicketField,
} from "../model/ticket.js";
import { ok, err, type Result } from "../util/result.js";
import { applyRules, describeRules, type RuleValue } from "./rules.js";

export type TranslateProblem = { field: string; message: string };

const rule = (from: MappingRule["from"], regex?: string): MappingRule => ({ from, regex, flags: "i", group: 1, all: false });
const fixed = (value: string): MappingRule => ({ value, flags: "i", group: 1, all: false });

/** A ticket-number query parameter of a guid/link URL: `…/Ticket/Display.html?id=1234` gives 1234. */
const QUERY_ID = "[?&](?:id|tt|ticket|ticket_id|ticketid)=([A-Za-z0-9][A-Za-z0-9._:-]*)";
/** Else the last path segment (or the whole guid): `TT_1234` keeps its prefix (as TT-1234). */
const TAIL = "([A-Za-z0-9][A-Za-z0-9._:-]*)/*$";

/**
 * What a feed with no mapping gets. Values the RFC has for "we do not know" (Undefined Problem,
 * Unknown) stand in for mandatory fields a plain feed cannot carry.
 */
export const DEFAULT_MAPPING: Partial<Record<TicketField, MappingRule[]>> = {
  Original_ID: [rule("guid", QUERY_ID), rule("guid", TAIL), rule("id", QUERY_ID), rule("id", TAIL), rule("link", QUERY_ID), rule("link", TAIL)],
  TT_Title: [rule("title")],
  TT_Long_Description: [rule("contentSnippet"), rule("summary"), rule("description"), rule("content")],
  TT_Open_Datetime: [rule("isoDate"), rule("pubDate")],
  // Atom says when an entry last changed (<updated>); RSS only when it was published.
  TT_Last_Update_Time: [rule("updated"), rule("isoDate"), rule("pubDate")],
  TT_Status: [fixed("Opened")],
  TT_Type: [fixed("Operational")],
  Type: [fixed("Unscheduled")],
  TT_Short_Description: [fixed("Undefined Problem")],
  TT_Impact_Assessment: [fixed("Unknown")],
  Location: [fixed("Unknown")],
  History: [fixed("")],
};

const CLOSED_SETS: Partial<Record<TicketField, readonly string[]>> = {
  TT_Type: TicketTypes,
  Type: TroubleTypes,
  TT_Priority: TicketPriorities,
  TT_Status: TicketStatuses,
  TT_Source: TicketSources,
  TT_Short_Description: TicketShortDescriptions,
  TT_Impact_Assessment: TicketImpactAssessments,
};

const LIST_FIELDS: ReadonlySet<string> = new Set(TicketListFields);
const KNOWN_FIELDS: ReadonlySet<string> = new Set(TicketFields);
const DATE_FIELDS: ReadonlySet<string> = new Set(TicketFields.filter((f) => /Date|Time_Window|_Time$/.test(f)));
const OPEN_MANDATORY: ReadonlySet<string> = new Set(MandatoryFields.filter((f) => !(CloseFields as readonly string[]).includes(f)));
/** Computed here, never mapped (RFC 6137 §3.2.4.1). */
const COMPUTED: ReadonlySet<string> = new Set(["Partner_ID", "TT_ID"]);

/** "no connectivity", "NO_CONNECTIVITY" and "No-Connectivity" all mean "No connectivity". */
const squash = (s: string): string => s.toLowerCase().replace(/[\s_-]+/g, "");

export function canonicalClosedValue(allowed: readonly string[], value: string): string | undefined {
  const wanted = squash(value);
  return allowed.find((a) => squash(a) === wanted);
}

/** An explicit zone at the end of a date: "GMT", "UTC", "UT", "Z", "EST"…"PDT" (RFC 822), "+0100", "-05:00". */
const ZONE_AT_END = /(?:\b(?:UTC?|GMT|Z|[ECMP][SD]T)|[+-]\d{2}:?\d{2})$/i;

/**
 * Dates in feeds come as RFC 3339, RFC 822 (RSS pubDate) or "2026-11-28 10:00 UTC"; NTTDM wants
 * RFC 3339 (§2.2.3). Dates without a zone are read as UTC, the NOC convention.
 */
export function normaliseDatetime(value: string): string | undefined {
  const trimmed = value.trim();
  if (datetimeToMillis(trimmed) !== undefined) return trimmed;
  const isoish = /^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)\s*(UTC|GMT|Z)?$/i.exec(trimmed);
  // Date.parse reads a zone-less "Sat, 28 Nov 2026 10:00:00" or "11/28/2026 10:00" in the HOST's
  // time zone; say UTC explicitly so the result does not depend on where the bot runs.
  const zoned = ZONE_AT_END.test(trimmed.replace(/\s*\([^)]*\)$/, ""));
  const candidate = isoish ? `${isoish[1]}T${isoish[2]}Z` : zoned ? trimmed : `${trimmed} UTC`;
  const ms = Date.parse(candidate);
  if (Number.isNaN(ms)) return undefined;
  return new Date(ms).toISOString().replace(".000Z", "Z");
}

/** Original_ID may not contain "_" (§3.2.4.1): a NOC's "TT_1234" becomes "TT-1234", consistently. */
export function sanitiseIdPart(value: string): string {
  return value.trim().replace(/_/g, "-").replace(/\s+/g, "-");
}

export function itemToTicket(item: FeedItem, feed: FeedConfig, now: Date): Result<Ticket, TranslateProblem[]> {
  const problems: TranslateProblem[] = [];
  const candidate: Record<string, unknown> = {};
  const fields = new Set<string>([...Object.keys(DEFAULT_MAPPING), ...Object.keys(feed.mapping)]);

  for (const field of fields) {
    if (!KNOWN_FIELDS.has(field) || COMPUTED.has(field)) {
      problems.push({ field, message: COMPUTED.has(field) ? "is computed, not mapped" : "is not an RFC 6137 ticket field" });
      continue;
    }
    const configured = feed.mapping[field as TicketField];
    const rules = configured ?? DEFAULT_MAPPING[field as TicketField] ?? [];
    const raw = applyRules(rules, item.values);
    if (raw === undefined) {
      // A mandatory field the feed's own rules cannot find is the item's problem, named with the rules
      // tried; an optional field (End_Datetime while still open…) may simply not be there yet.
      if (configured !== undefined && OPEN_MANDATORY.has(field))
        problems.push({ field, message: `no value (rules: ${describeRules(configured)})` });
      continue;
    }
    const value = normaliseField(field as TicketField, raw);
    if (!value.ok) problems.push({ field, message: value.error });
    else if (value.value !== undefined) candidate[field] = value.value;
  }

  // Times the feed could not give: the moment we first saw the item stands in (and is said so in History).
  const nowIso = now.toISOString().replace(/\.\d{3}Z$/, "Z");
  candidate.TT_Open_Datetime ??= nowIso;
  candidate.TT_Last_Update_Time ??= candidate.TT_Open_Datetime;
  candidate.Start_Datetime ??= candidate.TT_Open_Datetime;

  const originalId = typeof candidate.Original_ID === "string" ? sanitiseIdPart(candidate.Original_ID) : undefined;
  if (originalId === undefined || originalId === "") {
    problems.push({ field: "Original_ID", message: "no ticket id found in the item (map Original_ID)" });
    return err(problems);
  }
  candidate.Original_ID = originalId;
  candidate.Partner_ID = feed.partnerId;
  candidate.TT_ID = makeTicketId(feed.partnerId, originalId);
  if (problems.length > 0) return err(problems);

  const validated = validateTicket(candidate, "open");
  if (!validated.ok) return err(validated.error.map((i) => ({ field: i.path || "ticket", message: i.message })));
  return ok(validated.value);
}

function normaliseField(field: TicketField, raw: RuleValue): Result<string | string[] | undefined, string> {
  if (LIST_FIELDS.has(field)) {
    const list = (Array.isArray(raw) ? raw : raw.split(/\s*[,;]\s*/)).map((v) => v.trim()).filter((v) => v !== "");
    return ok(list.length > 0 ? [...new Set(list)] : undefined);
  }
  const value = (Array.isArray(raw) ? raw[0] : raw) ?? "";
  const closed = CLOSED_SETS[field];
  if (closed) {
    const canonical = canonicalClosedValue(closed, value);
    return canonical !== undefined
      ? ok(canonical)
      : err(`"${clip(value)}" is not one of ${closed.join(", ")} (add a "map" to the rule)`);
  }
  if (DATE_FIELDS.has(field)) {
    const dt = normaliseDatetime(value);
    return dt !== undefined ? ok(dt) : err(`"${clip(value)}" is not a date and time`);
  }
  return ok(value);
}

const clip = (s: string): string => (s.length > 60 ? s.slice(0, 57) + "…" : s);
