/**
 * Request Tracker 5 REST2 adapter (`/REST/2.0`), behind the small `RtPort` interface.
 *
 * Every answer is validated with zod here, at the edge, and every failure of RT or of the network
 * comes back as a typed `RtError` value; nothing here throws for RT's faults (only a bad client
 * configuration throws, at construction).
 *
 * RT 5.0.3 behaviours this adapter deals with (seen against a real server, see
 * test/integration/rt.test.ts):
 * - A User-Agent containing "Mozilla" gets a 302 to the login page instead of a 401, so we always
 *   send our own (and refuse a Mozilla one).
 * - POST /ticket answers `"id": "7"` (a string); GET /ticket/7 has `"id": 7`. Unset dates are
 *   "1970-01-01T00:00:00Z". A search asked for `CustomFields` of a ticket whose queue has none
 *   answers `""`, not `[]`.
 * - Unknown custom fields are ignored on create and update (still 201/200; RT only logs an error),
 *   so `createTicket`/`update` read the ticket back and report the names that did not stick.
 * - An invalid status is not an HTTP error either: PUT and comment/correspond answer 200/201 with
 *   a message like "Status 'x' isn't a valid status for this ticket." So a requested status change
 *   is verified by reading the ticket back; a mismatch is a `rejected` error carrying RT's messages.
 * - The ETag of a ticket is the id of its latest transaction, so a comment or a reply by anyone
 *   also invalidates it; a stale If-Match gets 412 (`conflict`).
 * - Collections report `total: null` (and so no `next_page`) when the user may not see every
 *   record, e.g. a ticket's history for a non-superuser: we then page on while pages are full.
 * - For a ticket that does not exist, GET /ticket/N/history answers 200 with no items and
 *   POST /ticket/N/comment|correspond 400 "Message could not be recorded": both become `not-found`.
 * - `GET /attachment/N` sends `Content` base64-encoded, but a collection asked for
 *   `fields=Content` (`GET /transaction/N/attachments`) sends it as decoded text; that is what
 *   `transactionContent` reads (one request per transaction, however many parts it has).
 * - TicketSQL dates are read in the searching user's time zone, explicit offsets notwithstanding
 *   (see `ticketSqlDatetime` in map.ts): give the client that zone (`timeZone`, default UTC).
 */
import { z } from "zod";
import { classifyFetchError } from "../../util/net-error.js";
import { err, ok, type Result } from "../../util/result.js";
import { updatedSinceQuery, type RtTicket, type RtUpdate } from "./map.js";

export type { RtTicket, RtUpdate } from "./map.js";

// ---------------------------------------------------------------------------------------------
// Public types
// ---------------------------------------------------------------------------------------------

export const RtErrorKinds = ["unreachable", "timeout", "auth", "not-found", "conflict", "invalid-response", "rejected"] as const;
export type RtErrorKind = (typeof RtErrorKinds)[number];
/**
 * - unreachable: no connection, or RT failed (5xx): temporary, retry later.
 * - timeout: no complete answer within `timeoutMs`.
 * - auth: 401 (bad credentials), 403 (no right), or a redirect to the login page.
 * - not-found: 404, e.g. no such ticket.
 * - conflict: 412, the ticket changed since the ETag was read.
 * - invalid-response: RT answered, but not what REST2 documents (HTML, bad JSON, other shape).
 * - rejected: RT refused the request (other 4xx) or accepted it without doing it (bad status, ...).
 */
export type RtError = { kind: RtErrorKind; status?: number; message: string };

/** Credentials, given as a secret string: a token for `token`, "user:password" for `basic`. */
export type RtAuth = { scheme: "token" | "basic"; secret: string };

export interface RtClientOptions {
  /** RT's web base URL, e.g. "https://rt.example.net" or "http://127.0.0.1:8080"; REST2 is below it. */
  url: string;
  auth: RtAuth;
  /** Per request, connection to end of body; default 15 s. */
  timeoutMs?: number;
  /** Must not contain "Mozilla" (RT would redirect to its login page). */
  userAgent?: string;
  /** IANA zone RT reads TicketSQL dates in: the RT user's zone, else RT's $Timezone. Default "UTC". */
  timeZone?: string;
  /** Page size of searches, 1–100 (RT's maximum); default 50. */
  perPage?: number;
  /** For tests. */
  fetch?: typeof fetch;
}

export interface NewRtTicket {
  /** Queue name (or id). */
  queue: string;
  subject: string;
  /** The ticket's first message, plain text. */
  content: string;
  status?: string;
  /** User name. */
  owner?: string;
  /** E-mail addresses or user names. */
  requestors?: string[];
  /** Custom field name → value(s). The fields must exist and apply to the queue; see `ignoredCustomFields`. */
  customFields?: Record<string, string | string[]>;
}

export interface CreatedRtTicket {
  id: number;
  /** Custom fields given to `createTicket` that the ticket does not carry afterwards (unknown, not applied, refused). */
  ignoredCustomFields: string[];
  /** Set when the read-back to check custom fields failed: the ticket exists, the check did not run. */
  verifyError?: RtError;
}

export type RtTicketWithEtag = RtTicket & {
  /** The ETag header as RT sent it (quotes included); give it back to `update`. */
  etag: string;
};

export interface RtPage {
  tickets: RtTicket[];
  /** The next page to ask for, if there may be more. */
  next?: number;
}

export interface RtPosted {
  /** The transaction RT recorded (from the Location header). */
  transactionId?: number;
  /** RT's messages, e.g. "Correspondence added", "Status changed from 'new' to 'open'". */
  messages: string[];
}

export interface RtUpdated {
  messages: string[];
  /** The ticket as read back after the update, with its new ETag. */
  ticket: RtTicketWithEtag;
}

/** One entry of a ticket's history. */
export interface RtTransaction {
  id: number;
  /** RT's transaction type: Create, Correspond, Comment, Status, Set, CustomField, ... */
  type: string;
  /** User name of whoever made the change (the bot's own changes show its user). */
  creator: string;
  created: string;
  /** For field changes: which field, and the values around it. */
  field?: string;
  oldValue?: string;
  newValue?: string;
}

export interface RtPort {
  createTicket(ticket: NewRtTicket): Promise<Result<CreatedRtTicket, RtError>>;
  getTicket(id: number): Promise<Result<RtTicketWithEtag, RtError>>;
  /**
   * Tickets of `queue` with LastUpdated after `sinceIso` (RFC 3339, offset required), oldest
   * update first, `page` from 1. Offset paging: a ticket updated while you page moves to the end
   * and shifts the rest, so for polling prefer keyset style, i.e. ask page 1 again with `sinceIso`
   * set to the last LastUpdated seen (RT compares whole seconds, so dedupe by id + LastUpdated).
   */
  searchUpdatedSince(queue: string, sinceIso: string, page?: number): Promise<Result<RtPage, RtError>>;
  /** An internal comment; optionally a status change, verified. */
  comment(id: number, text: string, status?: string): Promise<Result<RtPosted, RtError>>;
  /** A reply to the requestors; optionally a status change, verified. */
  correspond(id: number, text: string, status?: string): Promise<Result<RtPosted, RtError>>;
  /** Change fields if the ticket still has `etag` (else `conflict`); changes are verified by reading back. */
  update(id: number, fields: RtUpdate, etag: string): Promise<Result<RtUpdated, RtError>>;
  /** Every transaction of the ticket, oldest first. */
  history(id: number): Promise<Result<RtTransaction[], RtError>>;
  /** The text of a transaction's attachments (a comment's or reply's content), decoded. */
  transactionContent(txnId: number): Promise<Result<string[], RtError>>;
}

// ---------------------------------------------------------------------------------------------
// Response schemas (REST2 as RT 5.0.3 sends it)
// ---------------------------------------------------------------------------------------------

/** Ids come as numbers or as digit strings depending on the endpoint. */
const Id = z.union([z.number().int().nonnegative(), z.string().regex(/^\d+$/).transform(Number)]);

/** A link to another record: users are named by name ("root", "Nobody"), others by number. */
const Ref = z.looseObject({ id: z.union([z.string(), z.number().transform(String)]) });

const EPOCH = "1970-01-01T00:00:00Z";
/** RT's W3CDTF in UTC; the epoch means "not set". */
const RtDate = z.string().regex(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/, "expected YYYY-MM-DDTHH:MM:SSZ");

const CfValue = z.union([
  z.string(),
  z.number().transform(String),
  // Image/Binary fields: a download link; the file name is the best text we have.
  z.looseObject({ filename: z.string() }).transform((o) => o.filename),
]);
const CustomFieldList = z.union([
  z.array(z.looseObject({ name: z.string(), values: z.array(CfValue.nullable()).default([]) })),
  // A search's `CustomFields` for a ticket whose queue has none.
  z.literal(""),
]);

const TicketRecord = z.looseObject({
  id: Id,
  Queue: Ref,
  Subject: z.string().nullable(),
  Status: z.string(),
  Owner: Ref,
  Creator: Ref,
  Created: RtDate,
  LastUpdated: RtDate,
  Resolved: RtDate.optional(),
  CustomFields: CustomFieldList.optional(),
});
type TicketRecord = z.output<typeof TicketRecord>;

const TransactionRecord = z.looseObject({
  id: Id,
  Type: z.string(),
  Creator: Ref,
  Created: RtDate,
  Field: z.string().nullable().optional(),
  OldValue: z.string().nullable().optional(),
  NewValue: z.string().nullable().optional(),
});

const collectionOf = <T extends z.ZodType>(item: T) =>
  z.looseObject({
    // RT pushes null for a record it could not serialise.
    items: z.array(item.nullable()),
    page: z.number().int(),
    per_page: z.number().int(),
    count: z.number().int(),
    total: z.number().int().nullable().optional(),
    next_page: z.string().optional(),
  });

const AttachmentContent = z.looseObject({ Content: z.string().nullable().optional() });

const Created = z.looseObject({ id: Id });
const Messages = z.array(z.string());
const ErrorBody = z.looseObject({ message: z.string() });

// ---------------------------------------------------------------------------------------------
// Conversion
// ---------------------------------------------------------------------------------------------

function toTicket(r: TicketRecord): RtTicket {
  const customFields: Record<string, string[]> = {};
  if (Array.isArray(r.CustomFields)) {
    for (const cf of r.CustomFields) {
      const values = cf.values.filter((v): v is string => v !== null);
      customFields[cf.name] = [...(customFields[cf.name] ?? []), ...values];
    }
  }
  const ticket: RtTicket = {
    id: r.id,
    queueId: Number(r.Queue.id),
    subject: r.Subject ?? "",
    status: r.Status,
    owner: r.Owner.id,
    creator: r.Creator.id,
    created: r.Created,
    lastUpdated: r.LastUpdated,
    customFields,
  };
  if (r.Resolved !== undefined && r.Resolved !== EPOCH) ticket.resolved = r.Resolved;
  return ticket;
}

const asList = (v: string | string[]): string[] => (Array.isArray(v) ? v : [v]).filter((s) => s !== "");

/** Requested custom fields whose values the ticket does not show. */
function customFieldsNotStuck(requested: Record<string, string | string[]>, ticket: RtTicket): string[] {
  return Object.entries(requested)
    .filter(([name, want]) => {
      const wanted = asList(want);
      if (wanted.length === 0) return false;
      const have = ticket.customFields[name];
      return have === undefined || !wanted.every((v) => have.includes(v));
    })
    .map(([name]) => name);
}

function describeIssues(e: z.ZodError): string {
  return e.issues
    .slice(0, 3)
    .map((i) => `${i.path.join(".") || "(body)"}: ${i.message}`)
    .join("; ");
}

/** A short, single-line excerpt of an error body; HTML reduced to its title or text. */
function excerpt(body: string, isHtml: boolean): string {
  let text = body;
  if (isHtml) {
    const title = /<title[^>]*>([^<]*)<\/title>/i.exec(body)?.[1];
    text = title ?? body.replace(/<script[\s\S]*?<\/script>|<style[\s\S]*?<\/style>/gi, " ").replace(/<[^>]*>/g, " ");
  }
  text = text.replace(/\s+/g, " ").trim();
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}

function kindForStatus(status: number): RtErrorKind {
  if (status === 401 || status === 403) return "auth";
  if (status >= 300 && status < 400) return "auth"; // REST2 redirects browsers (and only them) to the login page
  if (status === 404) return "not-found";
  if (status === 412 || status === 409) return "conflict";
  if (status >= 500) return "unreachable";
  if (status >= 400) return "rejected";
  return "invalid-response";
}

// ---------------------------------------------------------------------------------------------
// The client
// ---------------------------------------------------------------------------------------------

const DEFAULT_TIMEOUT_MS = 15_000;
const DEFAULT_USER_AGENT = "ttrelay (RT REST2 client)";
const HISTORY_PAGE = 100;
/** 100 pages of 100: beyond that something is off (or the ticket is not one a bot should relay). */
const HISTORY_MAX_PAGES = 100;
const TICKET_FIELDS = "Queue,Subject,Status,Owner,Creator,Created,LastUpdated,Resolved,CustomFields";
const HISTORY_FIELDS = "Type,Creator,Created,Field,OldValue,NewValue";

interface Answer {
  status: number;
  headers: Headers;
  json: unknown;
}

interface CallOptions {
  query?: Record<string, string | string[]>;
  body?: unknown;
  ifMatch?: string;
}

export function createRtClient(opts: RtClientOptions): RtPort {
  let base: URL;
  try {
    base = new URL(opts.url);
  } catch {
    throw new TypeError(`createRtClient: not a URL: ${JSON.stringify(opts.url)}`);
  }
  if (base.protocol !== "http:" && base.protocol !== "https:") throw new TypeError("createRtClient: url must be http(s)");
  const apiRoot = `${base.origin}${base.pathname.replace(/\/+$/, "")}/REST/2.0`;
  const userAgent = opts.userAgent ?? DEFAULT_USER_AGENT;
  if (/mozilla/i.test(userAgent)) throw new TypeError('createRtClient: a User-Agent with "Mozilla" gets RT\'s login redirect');
  const perPage = opts.perPage ?? 50;
  if (!Number.isInteger(perPage) || perPage < 1 || perPage > 100) throw new TypeError("createRtClient: perPage must be 1-100");
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const timeZone = opts.timeZone ?? "UTC";
  const doFetch = opts.fetch ?? fetch;
  // Kept in this closure only; never part of a message.
  const authorization =
    opts.auth.scheme === "token" ? `token ${opts.auth.secret}` : `Basic ${Buffer.from(opts.auth.secret, "utf8").toString("base64")}`;

  async function call(method: "GET" | "POST" | "PUT", path: string, o: CallOptions = {}): Promise<Result<Answer, RtError>> {
    const url = new URL(`${apiRoot}${path}`);
    for (const [key, value] of Object.entries(o.query ?? {})) {
      for (const v of Array.isArray(value) ? value : [value]) url.searchParams.append(key, v);
    }
    const what = `${method} ${path}`;
    const headers: Record<string, string> = { Authorization: authorization, "User-Agent": userAgent, Accept: "application/json" };
    if (o.body !== undefined) headers["Content-Type"] = "application/json; charset=utf-8";
    if (o.ifMatch !== undefined) headers["If-Match"] = o.ifMatch;

    let res: Response;
    let text: string;
    try {
      // One signal for the whole exchange: the body read is covered too.
      res = await doFetch(url, {
        method,
        headers,
        body: o.body === undefined ? undefined : JSON.stringify(o.body),
        redirect: "manual",
        signal: AbortSignal.timeout(timeoutMs),
      });
      text = await res.text();
    } catch (e) {
      const failure = classifyFetchError(e);
      if (failure.kind === "timeout") return err({ kind: "timeout", message: `RT did not answer ${what} within ${String(timeoutMs)} ms` });
      return err({ kind: "unreachable", message: `RT unreachable for ${what}: ${failure.detail}` });
    }

    const type = res.headers.get("content-type") ?? "";
    const isJson = /\bjson\b/i.test(type);
    const isHtml = /html/i.test(type) || /^\s*<(!doctype|html)/i.test(text);
    if (res.status < 200 || res.status > 299) {
      let message = isHtml ? `RT answered HTML (${excerpt(text, true)})` : excerpt(text, false);
      if (isJson) {
        try {
          const body = ErrorBody.safeParse(JSON.parse(text));
          if (body.success) message = body.data.message.trim();
        } catch {
          // keep the excerpt
        }
      }
      if (res.status >= 300 && res.status < 400) message = `RT redirected ${what} to ${res.headers.get("location") ?? "?"} (login page?)`;
      return err({ kind: kindForStatus(res.status), status: res.status, message: `${what}: ${message || `HTTP ${String(res.status)}`}` });
    }
    if (isHtml || !isJson) {
      return err({
        kind: "invalid-response",
        status: res.status,
        message: `${what}: expected JSON, got ${type || "no content type"}${isHtml ? ` (${excerpt(text, true)})` : ""}`,
      });
    }
    try {
      return ok({ status: res.status, headers: res.headers, json: JSON.parse(text) as unknown });
    } catch {
      return err({ kind: "invalid-response", status: res.status, message: `${what}: body is not JSON (${excerpt(text, false)})` });
    }
  }

  function parse<S extends z.ZodType>(schema: S, answer: Answer, what: string): Result<z.output<S>, RtError> {
    const r = schema.safeParse(answer.json);
    if (r.success) return ok(r.data);
    return err({ kind: "invalid-response", status: answer.status, message: `${what}: unexpected shape: ${describeIssues(r.error)}` });
  }

  async function getTicket(id: number): Promise<Result<RtTicketWithEtag, RtError>> {
    const what = `GET /ticket/${String(id)}`;
    const answer = await call("GET", `/ticket/${String(id)}`);
    if (!answer.ok) return answer;
    const record = parse(TicketRecord, answer.value, what);
    if (!record.ok) return record;
    const etag = answer.value.headers.get("etag");
    if (etag === null) return err({ kind: "invalid-response", status: answer.value.status, message: `${what}: no ETag header` });
    return ok({ ...toTicket(record.value), etag });
  }

  /** POST a comment or reply; with a status, check it took (RT answers 201 even when it did not). */
  async function post(kind: "comment" | "correspond", id: number, text: string, status?: string): Promise<Result<RtPosted, RtError>> {
    const path = `/ticket/${String(id)}/${kind}`;
    const body: Record<string, string> = { Content: text, ContentType: "text/plain" };
    if (status !== undefined) body.Status = status;
    const answer = await call("POST", path, { body });
    if (!answer.ok) {
      // For a ticket that does not exist RT says 400 "Message could not be recorded".
      if (answer.error.kind === "rejected") {
        const exists = await getTicket(id);
        if (!exists.ok && exists.error.kind === "not-found") {
          return err({ ...exists.error, message: `no ticket ${String(id)} (${answer.error.message})` });
        }
      }
      return answer;
    }
    const messages = parse(Messages, answer.value, `POST ${path}`);
    if (!messages.ok) return messages;
    const location = answer.value.headers.get("location") ?? "";
    const txn = /\/transaction\/(\d+)\/?$/.exec(location)?.[1];
    const posted: RtPosted = { messages: messages.value };
    if (txn !== undefined) posted.transactionId = Number(txn);
    if (status !== undefined) {
      const after = await getTicket(id);
      if (!after.ok) return after;
      if (after.value.status !== status) {
        return err({
          kind: "rejected",
          status: answer.value.status,
          message: `${kind} added to ticket ${String(id)}, but its status is "${after.value.status}", not "${status}": ${messages.value.join("; ")}`,
        });
      }
    }
    return ok(posted);
  }

  return {
    async createTicket(t) {
      const body: Record<string, unknown> = { Queue: t.queue, Subject: t.subject, Content: t.content, ContentType: "text/plain" };
      if (t.status !== undefined) body.Status = t.status;
      if (t.owner !== undefined) body.Owner = t.owner;
      if (t.requestors !== undefined) body.Requestor = t.requestors;
      if (t.customFields !== undefined) body.CustomFields = t.customFields;
      const answer = await call("POST", "/ticket", { body });
      if (!answer.ok) return answer;
      const created = parse(Created, answer.value, "POST /ticket");
      if (!created.ok) return created;
      const id = created.value.id;
      if (t.customFields === undefined || Object.keys(t.customFields).length === 0) return ok({ id, ignoredCustomFields: [] });
      // RT drops unknown custom fields silently: read back what stuck. The ticket exists whatever
      // happens now, so a failed check is reported alongside, not as an error (a retry would duplicate it).
      const back = await getTicket(id);
      if (!back.ok) return ok({ id, ignoredCustomFields: [], verifyError: back.error });
      return ok({ id, ignoredCustomFields: customFieldsNotStuck(t.customFields, back.value) });
    },

    getTicket,

    async searchUpdatedSince(queue, sinceIso, page = 1) {
      if (!Number.isInteger(page) || page < 1) return err({ kind: "rejected", message: `page must be a positive integer, got ${String(page)}` });
      const query = updatedSinceQuery(queue, sinceIso, timeZone);
      if (!query.ok) return err({ kind: "rejected", message: `searchUpdatedSince: ${query.error}` });
      const answer = await call("GET", "/tickets", {
        query: {
          query: query.value,
          fields: TICKET_FIELDS,
          per_page: String(perPage),
          page: String(page),
          // Oldest update first; id breaks ties so pages stay stable.
          orderby: ["LastUpdated", "id"],
          order: ["ASC", "ASC"],
        },
      });
      if (!answer.ok) return answer;
      const list = parse(collectionOf(TicketRecord), answer.value, "GET /tickets");
      if (!list.ok) return list;
      const c = list.value;
      const tickets = c.items.filter((i): i is TicketRecord => i !== null).map(toTicket);
      const more = c.next_page !== undefined || ((c.total ?? null) === null && c.count === c.per_page && c.count > 0);
      return ok(more ? { tickets, next: c.page + 1 } : { tickets });
    },

    comment: (id, text, status) => post("comment", id, text, status),
    correspond: (id, text, status) => post("correspond", id, text, status),

    async update(id, fields, etag) {
      const path = `/ticket/${String(id)}`;
      const answer = await call("PUT", path, { body: fields, ifMatch: etag });
      if (!answer.ok) {
        if (answer.error.kind === "conflict") {
          return err({ ...answer.error, message: `ticket ${String(id)} changed since ETag ${etag} was read (${answer.error.message})` });
        }
        return answer;
      }
      const messages = parse(Messages, answer.value, `PUT ${path}`);
      if (!messages.ok) return messages;
      const after = await getTicket(id);
      if (!after.ok) return after;
      const t = after.value;
      const off: string[] = [];
      if (fields.Subject !== undefined && t.subject !== fields.Subject) off.push("Subject");
      if (fields.Status !== undefined && t.status !== fields.Status) off.push("Status");
      if (fields.Owner !== undefined && t.owner !== fields.Owner) off.push("Owner");
      if (fields.CustomFields !== undefined) off.push(...customFieldsNotStuck(fields.CustomFields, t).map((n) => `custom field "${n}"`));
      if (off.length > 0) {
        return err({
          kind: "rejected",
          status: answer.value.status,
          message: `ticket ${String(id)}: RT did not apply ${off.join(", ")}${messages.value.length > 0 ? `: ${messages.value.join("; ")}` : ""}`,
        });
      }
      return ok({ messages: messages.value, ticket: t });
    },

    async history(id) {
      const path = `/ticket/${String(id)}/history`;
      const out: RtTransaction[] = [];
      for (let page = 1; ; page++) {
        if (page > HISTORY_MAX_PAGES) {
          return err({ kind: "invalid-response", message: `GET ${path}: more than ${String(HISTORY_MAX_PAGES * HISTORY_PAGE)} transactions` });
        }
        const answer = await call("GET", path, {
          query: { fields: HISTORY_FIELDS, per_page: String(HISTORY_PAGE), page: String(page), orderby: "id", order: "ASC" },
        });
        if (!answer.ok) return answer;
        const list = parse(collectionOf(TransactionRecord), answer.value, `GET ${path}`);
        if (!list.ok) return list;
        const c = list.value;
        for (const item of c.items) {
          if (item === null) continue;
          const txn: RtTransaction = { id: item.id, type: item.Type, creator: item.Creator.id, created: item.Created };
          if (item.Field) txn.field = item.Field;
          if (item.OldValue !== undefined && item.OldValue !== null && item.OldValue !== "") txn.oldValue = item.OldValue;
          if (item.NewValue !== undefined && item.NewValue !== null && item.NewValue !== "") txn.newValue = item.NewValue;
          out.push(txn);
        }
        // total is null for users who may not see every transaction: then no next_page either.
        const more = c.next_page !== undefined || ((c.total ?? null) === null && c.count === c.per_page && c.count > 0);
        if (!more) break;
      }
      if (out.length === 0) {
        // RT answers 200 with an empty list for a ticket that does not exist (or that the user
        // may not see); a visible ticket always has its Create. Tell the two apart.
        const ticket = await getTicket(id);
        if (!ticket.ok) return ticket;
      }
      return ok(out.sort((a, b) => a.id - b.id));
    },

    async transactionContent(txnId) {
      const path = `/transaction/${String(txnId)}/attachments`;
      const answer = await call("GET", path, { query: { fields: "Content", per_page: "100" } });
      if (!answer.ok) return answer;
      const list = parse(collectionOf(AttachmentContent), answer.value, `GET ${path}`);
      if (!list.ok) return list;
      return ok(list.value.items.flatMap((i) => (i?.Content ? [i.Content] : [])));
    },
  };
}
