/**
 * Adapter: peer bots' activities as a ticket source. The room inbox hands each room message with a
 * payload here; a valid one becomes a version for the intake. A message is seen once (or again in a
 * history replay), so one whose commit failed is tried again shortly, with backoff.
 */
import type { Config } from "../../../config/schema.js";
import { matchJid } from "../../dispatch/authorize.js";
import type { Logger } from "../../log/logger.js";
import { nocActor, type Actor } from "../../model/activity.js";
import type { StoreReader } from "../../store/types.js";
import { backoffMs } from "../../util/backoff.js";
import type { IncomingRoomMessage } from "../../xmpp/stanzas.js";
import type { SourceRuntime, TicketSource } from "../types.js";
import { readPeerActivity, type PeerContext } from "./activity.js";

const MAX_RETRIES = 8;

export class PeerSource implements TicketSource {
  readonly id = "peers";
  #runtime: SourceRuntime | undefined;
  #ctx: PeerContext;
  #timers = new Set<NodeJS.Timeout>();

  constructor(
    config: Pick<Config, "peerBots">,
    self: Actor,
    selfJid: string,
    ownPartners: ReadonlySet<string>,
    private readonly log: Logger,
    peerTicketCount: (partner: string) => number,
  ) {
    this.#ctx = {
      self,
      ownPartners,
      trusted: (jid, partner) => config.peerBots.some((p) => p.partners.includes(partner) && p.jids.some((pattern) => matchJid(pattern, jid))),
      knownBot: (jid) => jid === selfJid || config.peerBots.some((p) => p.jids.some((pattern) => matchJid(pattern, jid))),
      peerTicketCount,
      now: () => this.#runtime?.now() ?? new Date(),
    };
  }

  start(runtime: SourceRuntime): Promise<void> {
    this.#runtime = runtime;
    return Promise.resolve();
  }

  stop(): Promise<void> {
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    return Promise.resolve();
  }

  /** A room message carrying a payload, from `senderJid` as the room reported it (never from the nick). */
  async receive(msg: IncomingRoomMessage, senderJid: string | undefined, attempt = 0): Promise<void> {
    const runtime = this.#runtime;
    if (!runtime) return;
    const reading = readPeerActivity(this.#ctx, msg, senderJid, (id) => runtime.ticket(id));
    for (const line of reading.logs) this.log[line.level](line.fields, line.msg);
    if (!reading.version) return;
    const result = await runtime.intake.submit({ source: `peer:${msg.room}`, versions: [reading.version], logFields: reading.who });
    if (result.committed || attempt >= MAX_RETRIES) {
      if (!result.committed) this.log.error({ ...reading.who, ticket: reading.version.ticket.TT_ID, err: result.error }, "peer activity dropped: it could not be stored");
      return;
    }
    const t = setTimeout(() => {
      this.#timers.delete(t);
      void this.receive(msg, senderJid, attempt + 1);
    }, backoffMs(attempt + 1, { baseMs: 1_000, maxMs: 60_000 }));
    t.unref();
    this.#timers.add(t);
  }
}

/** The peer source for this bot; `own`: every Partner_ID it publishes itself. */
export function peerSourceFor(config: Pick<Config, "peerBots" | "noc" | "xmpp">, own: ReadonlySet<string>, store: StoreReader, log: Logger): PeerSource {
  const count = (partner: string): number => {
    let n = 0;
    for (const t of store.values("tickets")) if (t.remote && t.ticket.Partner_ID === partner) n++;
    return n;
  };
  return new PeerSource(config, nocActor(config.noc), config.xmpp.jid, own, log, count);
}
