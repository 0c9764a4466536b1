/**
 * Request Tracker sync, the pure half: RT tickets polled back → ticket changes to announce (without
 * the bot's own changes echoing back), and ticket changes (commands, peers) → RT writes to queue.
 */
import { createHash } from "node:crypto";
import type { RtConfig } from "../../../config/schema.js";
import { keepLocalChanges } from "../../model/merge.js";
import { makeTicketId, OpenTicketSchema, type Ticket } from "../../model/ticket.js";
import { routeTicket } from "../../route/route.js";
import type { StoredTicket, UpstreamWrite } from "../../store/types.js";
import type { UpstreamRef } from "../../sources/types.js";
import { backoffMs } from "../../util/backoff.js";
import { wildcardMatch } from "../../route/route.js";
import { ok, err, type Result } from "../../util/result.js";
import type { RtTransaction } from "./client.js";
import { RtMappingSchema, rtToTicket, ttStatusToRtStatus, type RtMapping, type RtTicket } from "./map.js";

/** The source id of tickets read from RT (used in routes' `feeds` and in the store). */
export const RT_SOURCE = "rt";

/** RT's own automatic changes (e.g. a status moved by a reply) that follow ours. */
const SYSTEM_USERS = new Set(["RT_System"]);

/** RT has no data for these mandatory NTTDM fields: the RFC's "don't know" values stand in. */
const RT_DEFAULTS = {
  TT_Type: "Operational",
  Type: "Unscheduled",
  TT_Short_Description: "Undefined Problem",
  TT_Impact_Assessment: "Unknown",
  Location: "Unknown",
};

export function rtMapping(config: RtConfig, nocId: string): Result<RtMapping, string> {
  const given: unknown = config.mapping.defaults;
  // Only an object is merged over the built-in defaults; anything else goes to the schema as is, to be reported.
  const defaults = given === undefined ? RT_DEFAULTS : typeof given === "object" && given !== null && !Array.isArray(given) ? { ...RT_DEFAULTS, ...given } : given;
  const parsed = RtMappingSchema.safeParse({ partnerId: nocId, ...config.mapping, defaults });
  if (parsed.success) {
    // Each default must be a valid value of its NTTDM field, or every polled ticket would be refused.
    for (const [field, value] of Object.entries(parsed.data.defaults)) {
      const shape: Record<string, { safeParse(v: unknown): { success: boolean; error?: { issues: { message: string }[] } } }> = OpenTicketSchema.shape;
      const check = shape[field]?.safeParse(value);
      if (check && !check.success) return err(`$.rt.mapping.defaults.${field}: ${check.error?.issues[0]?.message ?? "invalid"}`);
    }
    return ok(parsed.data);
  }
  const issue = parsed.error.issues[0];
  const path = (issue?.path ?? []).map((p) => `.${String(p)}`).join("");
  return err(`$.rt.mapping${path}: ${issue?.message ?? "invalid"}`);
}

/** History (RFC 6137 §3.2.6.4) from RT's transactions: one line per transaction, oldest first. */
export function historyFromTransactions(txns: readonly RtTransaction[]): string {
  return txns
    .filter((t) => t.type !== "EmailRecord")
    .map((t) => {
      const change = t.field ? ` ${t.field}${t.oldValue !== undefined || t.newValue !== undefined ? ` ${t.oldValue ?? "—"} → ${t.newValue ?? "—"}` : ""}` : "";
      return `${t.created} ${t.creator}: ${t.type}${change}`;
    })
    .join("\n");
}

export type PolledRtTicket = { rt: RtTicket; history: readonly RtTransaction[] };

/** Where the bot's view of an RT ticket stands: RT's id, its LastUpdated and last transaction seen. */
export type RtCursor = { id: number; lastUpdated?: string | undefined; lastTxn?: number | undefined };

/** The RT cursor of a stored ticket, if it has an RT ticket behind it or made for it. */
export function rtCursor(stored: Pick<StoredTicket, "upstream"> | undefined): RtCursor | undefined {
  const up = stored?.upstream;
  if (up?.system !== RT_SOURCE) return undefined;
  const id = Number(up.id);
  if (!Number.isInteger(id) || id <= 0) return undefined;
  const lastUpdated = up.cursor?.lastUpdated;
  const lastTxn = up.cursor?.lastTxn;
  return { id, ...(typeof lastUpdated === "string" ? { lastUpdated } : {}), ...(typeof lastTxn === "number" ? { lastTxn } : {}) };
}

/** The stored form of an RT cursor. */
export function rtUpstream(c: RtCursor): UpstreamRef {
  const cursor: Record<string, string | number> = {};
  if (c.lastUpdated !== undefined) cursor.lastUpdated = c.lastUpdated;
  if (c.lastTxn !== undefined) cursor.lastTxn = c.lastTxn;
  return { system: RT_SOURCE, id: String(c.id), ...(Object.keys(cursor).length > 0 ? { cursor } : {}) };
}

/** A change made from chat, as RT write-back needs it. */
export type CommandChange = { ticket: Ticket; previous: Ticket; verb: string; actor: string };

export type RtPollItem =
  | { kind: "skip"; ttId: string; why: string }
  /** Only the bot's own changes since last time: recorded silently (no echo). */
  | { kind: "own"; stored: StoredTicket }
  | { kind: "change"; type: "Create" | "Update"; stored: StoredTicket; before: Ticket | undefined }
  | { kind: "invalid"; ttId: string; problems: string[] };

/** Decides, per polled RT ticket, what it means for us (pure). */
export function planRtPoll(
  ctx: { config: RtConfig; mapping: RtMapping; routes: Parameters<typeof routeTicket>[2]; now: Date; pending?: ReadonlySet<string> },
  polled: readonly PolledRtTicket[],
  known: (ttId: string) => StoredTicket | undefined,
): RtPollItem[] {
  const nowIso = ctx.now.toISOString();
  return polled.map(({ rt, history }): RtPollItem => {
    const ttId = makeTicketId(ctx.mapping.partnerId, String(rt.id));
    const remoteField = ctx.config.peers?.remoteIdField;
    // A ticket the bot created for a peer NOC's ticket is that peer's, not ours to relay.
    if (remoteField && rt.creator === ctx.config.user && (rt.customFields[remoteField] ?? []).some((v) => v.trim() !== ""))
      return { kind: "skip", ttId, why: "created by the bot for a peer's ticket" };
    const before = known(ttId);
    const seen = rtCursor(before);
    if (seen?.lastUpdated === rt.lastUpdated) return { kind: "skip", ttId, why: "unchanged since the last poll" };
    // Our own writes for it are still queued (RT was down): RT's view is older than ours. Looked at
    // again once they are delivered, when the human's change and ours are both in RT.
    if (before && ctx.pending?.has(ttId)) return { kind: "skip", ttId, why: "RT writes for it are still queued" };
    const lastTxn = history.reduce((m, t) => Math.max(m, t.id), seen?.lastTxn ?? 0);
    const fresh = history.filter((t) => t.id > (seen?.lastTxn ?? 0));
    const rtLink = rtUpstream({ id: rt.id, lastUpdated: rt.lastUpdated, lastTxn });
    // Our own writes coming back: every new transaction is the bot's, or RT's automatic follow-up
    // to one of ours (RT_System alone, e.g. a scheduled change, is news).
    const ours = (t: RtTransaction): boolean => t.creator === ctx.config.user;
    if (before && fresh.length > 0 && fresh.some(ours) && fresh.every((t) => ours(t) || SYSTEM_USERS.has(t.creator)))
      return { kind: "own", stored: { ...before, upstream: rtLink } };
    const mapped = rtToTicket(rt, ctx.mapping, { previous: before?.ticket.TT_Status, history: historyFromTransactions(history) });
    if (!mapped.ok) return { kind: "invalid", ttId, problems: mapped.error.map((i) => `${i.path || "ticket"}: ${i.message}`) };
    const ticket = before ? keepWhatRtCannotHold(mapped.value, before.ticket, rt, ctx.mapping) : mapped.value;
    const rooms = routeTicket(ticket, RT_SOURCE, ctx.routes);
    const stored: StoredTicket = {
      ...(before ?? {}),
      ticket,
      hash: "",
      source: RT_SOURCE,
      link: `${ctx.config.url.replace(/\/+$/, "")}/Ticket/Display.html?id=${rt.id}`,
      firstSeen: before?.firstSeen ?? nowIso,
      lastChange: nowIso,
      rooms: [...new Set([...(before?.rooms ?? []), ...rooms])],
      upstream: rtLink,
    };
    return { kind: "change", type: before ? "Update" : "Create", stored, before: before?.ticket };
  });
}

/**
 * A human's change in RT must not wipe what the room knows and RT cannot hold (`keepLocalChanges`),
 * and a status RT cannot tell apart (Solved and Closed are both "resolved") stays as it was.
 */
export function keepWhatRtCannotHold(mapped: Ticket, before: Ticket, rt: RtTicket, mapping: RtMapping): Ticket {
  const merged = keepLocalChanges(mapped, before, new Set(Object.values(mapping.customFields)));
  const sameRtStatus = ttStatusToRtStatus(before.TT_Status, mapping) === rt.status;
  return sameRtStatus ? { ...merged, TT_Status: before.TT_Status } : merged;
}

/**
 * Every comment the bot writes ends with a trailer line naming its write (`ttrelay-write: rtw-…`):
 * after an attempt whose answer never came, the retry reads the bot's latest comments back and
 * looks for this line, so one write is never taken for another (an earlier command's comment) and
 * never made twice. Write ids are unique per write (a hash of ticket, verb, time and text).
 */
export const WRITE_TRAILER = "ttrelay-write:";

/** The text RT gets for a write: its own text, then the trailer naming it. */
export function withWriteTrailer(text: string, writeId: string): string {
  return `${text.replace(/\s+$/, "")}\n\n${WRITE_TRAILER} ${writeId}`;
}

/** Does this comment's content (as RT gives it back) carry the trailer of `writeId`? */
export function carriesWrite(content: string, writeId: string): boolean {
  return content.split(/\r?\n/).some((line) => line.trim() === `${WRITE_TRAILER} ${writeId}`);
}

const writeId = (...parts: string[]): string => "rtw-" + createHash("sha256").update(parts.join("\n")).digest("hex").slice(0, 20);

const lastLine = (text: string): string => text.trim().split(/\r?\n/).filter((l) => l.trim() !== "").pop() ?? "";

/**
 * A command's change on a ticket that lives in this NOC's RT → one internal comment carrying the
 * History line the command wrote (who, when, what), with the RT status the new TT_Status maps to.
 */
export function rtWritesForCommand(
  change: CommandChange,
  stored: StoredTicket,
  mapping: RtMapping,
  notify: UpstreamWrite["notify"],
  now: Date,
): UpstreamWrite[] {
  const rt = rtCursor(stored);
  if (!rt) return [];
  const statusChanged = change.previous.TT_Status !== change.ticket.TT_Status;
  const line = lastLine(change.ticket.History) || `${change.verb} by ${change.actor}`;
  return [
    {
      id: writeId(change.ticket.TT_ID, change.verb, now.toISOString(), line),
      ticketId: change.ticket.TT_ID,
      op: "comment",
      system: RT_SOURCE,
      ref: String(rt.id),
      text: `[ttrelay] ${line}`,
      ...(statusChanged ? { status: ttStatusToRtStatus(change.ticket.TT_Status, mapping) } : {}),
      ...(notify ? { notify } : {}),
      createdAt: now.toISOString(),
      attempts: 0,
    },
  ];
}

/** Does this peer ticket concern a service this NOC follows in RT? */
export function followsPeerTicket(config: RtConfig, ticket: Ticket): boolean {
  const service = ticket.Affected_Service;
  return config.peers !== undefined && service !== undefined && config.peers.services.some((p) => wildcardMatch(p, service));
}

/**
 * A peer NOC's ticket on a service we follow → a linked RT ticket in the peers' queue (created
 * once, the peer's TT_ID in a custom field), then its status changes and closure as comments.
 */
export function rtWritesForPeer(
  config: RtConfig,
  mapping: RtMapping,
  stored: StoredTicket,
  before: StoredTicket | undefined,
  pending: readonly UpstreamWrite[],
  now: Date,
): UpstreamWrite[] {
  const peers = config.peers;
  if (!peers || !followsPeerTicket(config, stored.ticket)) return [];
  const t = stored.ticket;
  const createPending = pending.some((w) => w.ticketId === t.TT_ID && w.op === "create" && !w.failed);
  const nowIso = now.toISOString();
  const rt = rtCursor(stored);
  if (!rt && !createPending) {
    const head = [
      `${stored.remote?.name ?? t.Partner_ID} reports ${t.TT_ID}: ${t.TT_Title}`,
      `Status: ${t.TT_Status} · Impact: ${t.TT_Impact_Assessment} · Service: ${t.Affected_Service ?? "—"}`,
      t.Network_Link_Circuit?.length ? `Circuits: ${t.Network_Link_Circuit.join(", ")}` : "",
      t.Network_Node?.length ? `Nodes: ${t.Network_Node.join(", ")}` : "",
      stored.link ? `Link: ${stored.link}` : "",
    ].filter((l) => l !== "");
    // The header lines, then (after one blank line) the long description, if there is one.
    const description = t.TT_Long_Description?.trim() ?? "";
    const content = [...head, ...(description === "" ? [] : ["", description])].join("\n");
    return [
      {
        id: writeId(t.TT_ID, "create"),
        system: RT_SOURCE,
        ticketId: t.TT_ID,
        op: "create",
        text: content,
        create: { queue: peers.queue, subject: `[${t.TT_ID}] ${t.TT_Title}`.slice(0, 200), customFields: { [peers.remoteIdField]: t.TT_ID } },
        // RT creates tickets "new": any other status the peer's ticket already has is set right after.
        ...(ttStatusToRtStatus(t.TT_Status, mapping) !== "new" ? { status: ttStatusToRtStatus(t.TT_Status, mapping) } : {}),
        createdAt: nowIso,
        attempts: 0,
      },
    ];
  }
  // Known and unchanged: nothing to say. Not known but linked: it came back after being archived.
  if (before ? before.ticket.TT_Status === t.TT_Status : !rt) return [];
  const change = before ? `status ${before.ticket.TT_Status} → ${t.TT_Status}` : `reported again, status ${t.TT_Status}`;
  return [
    {
      id: writeId(t.TT_ID, "status", t.TT_Status, nowIso),
      ticketId: t.TT_ID,
      op: "comment",
      system: RT_SOURCE,
      ...(rt ? { ref: String(rt.id) } : {}),
      text: `[ttrelay] ${stored.remote?.name ?? t.Partner_ID}: ${t.TT_ID} ${change}${lastLine(t.History) ? ` (${lastLine(t.History)})` : ""}`,
      status: ttStatusToRtStatus(t.TT_Status, mapping),
      createdAt: nowIso,
      attempts: 0,
    },
  ];
}

/** Backoff for RT writes: 5 s, 10 s, 20 s … capped at 10 min. */
export const rtRetryDelayMs = (attempts: number): number => backoffMs(attempts, { baseMs: 5_000, maxMs: 600_000 });
