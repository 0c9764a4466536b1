/**
 * Raw RFC 5322 message → what the mail source needs from it (mailparser does the MIME work; in
 * memory, no I/O). Caps are checked here: the raw size before parsing, attachments after.
 */
import { simpleParser, type AddressObject, type HeaderValue, type ParsedMail } from "mailparser";
import { convert as htmlToText } from "html-to-text";
import { ok, err, type Result } from "../../util/result.js";
import type { NamedValues } from "../rule-values.js";

export type MailLimits = { maxBytes: number; maxAttachments: number; maxAttachmentBytes: number };

export type MailMessage = {
  messageId?: string | undefined;
  /** In-Reply-To and References, without angle brackets, most recent last (RFC 5322 §3.6.4). */
  thread: string[];
  subject: string;
  from?: { address: string; name?: string | undefined } | undefined;
  /** RFC 3339, if the Date header could be read. */
  date?: string | undefined;
  listId?: string | undefined;
  text?: string | undefined;
  /** The HTML body turned into text. */
  htmlText?: string | undefined;
  /** Every header, lower-case name → decoded value(s). */
  headers: Readonly<Record<string, string | string[]>>;
  /** The text of each text/calendar part. */
  calendars: string[];
  size: number;
};

export const MailProblemCodes = [
  "too-large",
  "malformed-mime",
  "too-many-attachments",
  "attachment-too-large",
  "unknown-sender",
  "dkim-failed",
  "bad-icalendar",
  "missing-fields",
  "no-mapping",
  "provider-not-allowed",
] as const;
export type MailProblemCode = (typeof MailProblemCodes)[number];

/** A named problem of one message: never posted, logged with this. */
export type MailProblem = { code: MailProblemCode; message: string };

const unbracket = (id: string): string => id.trim().replace(/^<|>$/g, "");

export async function readMail(raw: Buffer, limits: MailLimits): Promise<Result<MailMessage, MailProblem>> {
  if (raw.length > limits.maxBytes) return err({ code: "too-large", message: `message of ${raw.length} bytes is larger than ${limits.maxBytes}` });
  let parsed: ParsedMail;
  try {
    parsed = await simpleParser(raw, { skipImageLinks: true, skipTextToHtml: true, skipTextLinks: true });
  } catch (e) {
    return err({ code: "malformed-mime", message: `cannot parse the message: ${(e as Error).message}` });
  }
  // mailparser reads almost anything; a "message" without a header section is not one.
  if (parsed.headers.size === 0 || (!parsed.headers.has("from") && !parsed.headers.has("date") && !parsed.headers.has("message-id")))
    return err({ code: "malformed-mime", message: "no RFC 5322 header section (From, Date, Message-ID all missing)" });
  const attachments = parsed.attachments.filter((a) => a.contentType !== "text/calendar");
  if (attachments.length > limits.maxAttachments)
    return err({ code: "too-many-attachments", message: `${attachments.length} attachments, more than ${limits.maxAttachments}` });
  const big = parsed.attachments.find((a) => a.size > limits.maxAttachmentBytes);
  if (big)
    return err({ code: "attachment-too-large", message: `attachment ${big.filename ?? big.contentType} of ${big.size} bytes is larger than ${limits.maxAttachmentBytes}` });

  const headers: Record<string, string | string[]> = {};
  for (const [key, value] of parsed.headers) {
    const v = headerText(value);
    if (v !== undefined) headers[key] = v;
  }
  const list = parsed.headers.get("list");
  const listId = isRecord(list) && isRecord(list.id) && typeof list.id.id === "string" ? list.id.id.toLowerCase() : undefined;
  if (listId !== undefined) headers["list-id"] = listId;
  const from = firstAddress(parsed.from);
  const references = typeof parsed.references === "string" ? [parsed.references] : (parsed.references ?? []);
  const thread = [...references, ...(parsed.inReplyTo ? [parsed.inReplyTo] : [])].map(unbracket).filter((id) => id !== "");
  const date = parsed.date && !Number.isNaN(parsed.date.getTime()) ? parsed.date.toISOString().replace(/\.\d{3}Z$/, "Z") : undefined;
  return ok({
    messageId: parsed.messageId ? unbracket(parsed.messageId) : undefined,
    thread: [...new Set(thread)],
    subject: parsed.subject ?? "",
    from,
    date,
    listId,
    text: parsed.text?.trim() || undefined,
    htmlText: typeof parsed.html === "string" ? htmlToText(parsed.html, { wordwrap: false }).trim() || undefined : undefined,
    headers,
    calendars: parsed.attachments.filter((a) => a.contentType === "text/calendar").map((a) => a.content.toString("utf8")),
    size: raw.length,
  });
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null;
}

function firstAddress(a: AddressObject | AddressObject[] | undefined): MailMessage["from"] {
  const first = (Array.isArray(a) ? a[0] : a)?.value[0];
  return first?.address ? { address: first.address.toLowerCase(), ...(first.name ? { name: first.name } : {}) } : undefined;
}

function headerText(value: HeaderValue): string | string[] | undefined {
  if (typeof value === "string") return value;
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? undefined : value.toISOString();
  if (Array.isArray(value)) return value.map((v) => (typeof v === "string" ? v : "text" in v ? v.text : v.value));
  if (isRecord(value) && typeof value.text === "string") return value.text;
  if (isRecord(value) && typeof value.value === "string") return value.value;
  return undefined;
}

/**
 * The named values plain-text rules read: subject, from, date, text, html (as text), messageId and
 * every header as `header:<lower-case name>`.
 */
export function mailValues(msg: MailMessage): NamedValues {
  const values: Record<string, string | string[] | undefined> = {
    subject: msg.subject,
    from: msg.from ? (msg.from.name ? `${msg.from.name} <${msg.from.address}>` : msg.from.address) : undefined,
    date: msg.date,
    text: msg.text ?? msg.htmlText,
    html: msg.htmlText,
    messageId: msg.messageId,
  };
  for (const [name, v] of Object.entries(msg.headers)) values[`header:${name}`] = v;
  return values;
}
