/**
 * Request Tracker 5 behind the ticket-system port: which writes a change asks of RT (pure, from
 * ./plan.ts) and the REST2 operations the durable queue runs (./client.ts).
 */
import type { RtConfig } from "../../../config/schema.js";
import type { Logger } from "../../log/logger.js";
import type { UpstreamWrite } from "../../store/types.js";
import { err, ok, type Result } from "../../util/result.js";
import type { SystemError, TicketSystem, WriteBackChange, WriteBackPlan } from "../port.js";
import type { RtPort } from "./client.js";
import type { RtMapping } from "./map.js";
import { RT_SOURCE, carriesWrite, rtCursor, rtWritesForCommand, rtWritesForPeer, withWriteTrailer } from "./plan.js";

const MAX_PAGES = 20;
/**
 * How many of the bot's latest comments on a ticket an uncertain retry reads back. A ticket's
 * writes go strictly in order, so nothing the bot wrote to the ticket can come after the attempt
 * in question: its comment, if RT took it, is the bot's newest (a few spare for another writer
 * using the same RT user). Counted, not timed: RT's clock and ours need not agree.
 */
const RECHECK_COMMENTS = 5;

export class RtSystem implements TicketSystem {
  readonly id = RT_SOURCE;
  readonly label = "Request Tracker";

  constructor(
    private readonly config: RtConfig,
    private readonly mapping: RtMapping,
    private readonly client: RtPort,
    private readonly log: Logger,
  ) {}

  plan(change: WriteBackChange): WriteBackPlan {
    const { version, before, after, now } = change;
    if (version.command) {
      if (!before || rtCursor(after) === undefined) return { writes: [] };
      const command = { ticket: after.ticket, previous: before.ticket, verb: version.command.verb, actor: version.command.by };
      return { writes: rtWritesForCommand(command, after, this.mapping, version.command.notify, now) };
    }
    if (!version.remote) return { writes: [] };
    // An RT ticket made for this peer ticket before it was archived is written to, not made again.
    const kept = change.link?.system === RT_SOURCE && !rtCursor(after) ? change.link : undefined;
    const upstream = kept ? { system: RT_SOURCE, id: kept.id } : undefined;
    const stored = upstream ? { ...after, upstream } : after;
    return { writes: rtWritesForPeer(this.config, this.mapping, stored, before, change.pending, now), ...(upstream ? { upstream } : {}) };
  }

  async create(write: UpstreamWrite): Promise<Result<string, SystemError>> {
    const c = write.create;
    if (!c) return err({ kind: "rejected", message: "create without ticket data" });
    const created = await this.client.createTicket({ queue: c.queue, subject: c.subject, content: write.text, customFields: c.customFields });
    if (!created.ok) return created;
    if (created.value.ignoredCustomFields.length > 0)
      this.log.error(
        { ticket: write.ticketId, rt: created.value.id, fields: created.value.ignoredCustomFields, queue: c.queue },
        "RT ignored custom fields (unknown or not applied to the queue): the RT ticket is not linked back to the peer's ticket",
      );
    return ok(String(created.value.id));
  }

  async comment(ref: string, write: UpstreamWrite): Promise<Result<void, SystemError>> {
    const id = Number(ref);
    const text = withWriteTrailer(write.text, write.id);
    const posted = write.op === "correspond" ? await this.client.correspond(id, text) : await this.client.comment(id, text);
    return posted.ok ? ok(undefined) : posted;
  }

  /** Status change with If-Match; on a conflict the ticket is read again and the change tried once more. */
  async setStatus(ref: string, status: string): Promise<Result<void, SystemError>> {
    const id = Number(ref);
    for (let attempt = 1; ; attempt++) {
      const current = await this.client.getTicket(id);
      if (!current.ok) return current;
      if (current.value.status === status) return ok(undefined);
      const updated = await this.client.update(id, { Status: status }, current.value.etag);
      if (updated.ok) return ok(undefined);
      if (updated.error.kind !== "conflict" || attempt >= 2) return updated;
    }
  }

  /** After a create whose answer never came: an RT ticket by the bot's user carrying the peer's TT_ID. */
  async findCreated(write: UpstreamWrite, since: string): Promise<Result<string | undefined, SystemError>> {
    const field = this.config.peers?.remoteIdField;
    const queue = write.create?.queue;
    if (!field || !queue) return ok(undefined);
    const from = new Date(Date.parse(since) - 10_000).toISOString();
    for (let page = 1; page <= MAX_PAGES; page++) {
      const found = await this.client.searchUpdatedSince(queue, from, page);
      if (!found.ok) return found;
      const match = found.value.tickets.find((t) => t.creator === this.config.user && (t.customFields[field] ?? []).includes(write.ticketId));
      if (match) return ok(String(match.id));
      if (found.value.next === undefined) return ok(undefined);
    }
    return ok(undefined);
  }

  /** After a comment whose answer never came: one of the bot's latest comments carries this write's trailer. */
  async hasComment(ref: string, write: UpstreamWrite, _since: string): Promise<Result<boolean, SystemError>> {
    const history = await this.client.history(Number(ref));
    if (!history.ok) return history;
    const kind = write.op === "correspond" ? "Correspond" : "Comment";
    const latest = history.value.filter((t) => t.type === kind && t.creator === this.config.user).slice(-RECHECK_COMMENTS).reverse();
    for (const t of latest) {
      const content = await this.client.transactionContent(t.id);
      if (!content.ok) return content;
      if (content.value.some((c) => carriesWrite(c, write.id))) return ok(true);
    }
    return ok(false);
  }
}
