/** Prometheus metrics (prom-client): the bot's events (`Telemetry`) and its state, read when scraped. */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import type { StoreReader } from "../store/types.js";
import type { Telemetry } from "./telemetry.js";

export type MetricsState = {
  store: Pick<StoreReader, "values">;
  xmppOnline: () => boolean;
  roomsJoined: () => number;
  now: () => number;
};

export class PromMetrics implements Telemetry {
  readonly registry = new Registry();
  readonly #polls: Counter<"source" | "result">;
  readonly #batches: Counter<"source" | "result">;
  readonly #sent: Counter<"room">;
  readonly #echo: Histogram;
  readonly #commands: Counter<"outcome">;

  constructor(state: MetricsState) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: "ttrelay_process_" });
    this.#polls = new Counter({ name: "ttrelay_source_polls_total", help: "Polls and pushes per source, by result (ok, failed)", labelNames: ["source", "result"], registers });
    this.#batches = new Counter({ name: "ttrelay_intake_batches_total", help: "Batches taken in per source, by result (committed, failed)", labelNames: ["source", "result"], registers });
    this.#sent = new Counter({ name: "ttrelay_messages_sent_total", help: "Room messages sent (re-sends included)", labelNames: ["room"], registers });
    this.#echo = new Histogram({
      name: "ttrelay_echo_latency_seconds",
      help: "Time from sending a room message to its echo from the room",
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    });
    this.#commands = new Counter({ name: "ttrelay_commands_total", help: "Chat commands by outcome", labelNames: ["outcome"], registers });
    new Gauge({
      name: "ttrelay_tickets",
      help: "Live tickets by TT_Status (RFC 6137 §3.2.4.6) and origin (own or peer)",
      labelNames: ["status", "origin"],
      registers,
      collect() {
        this.reset();
        const counts = new Map<string, number>();
        for (const t of state.store.values("tickets")) {
          const key = `${t.ticket.TT_Status}\n${t.remote ? "peer" : "own"}`;
          counts.set(key, (counts.get(key) ?? 0) + 1);
        }
        for (const [key, n] of counts) {
          const [status = "", origin = ""] = key.split("\n");
          this.set({ status, origin }, n);
        }
      },
    });
    new Gauge({
      name: "ttrelay_outbox_depth",
      help: "Room messages queued and not yet echoed",
      registers,
      collect() {
        let n = 0;
        for (const _ of state.store.values("outbox")) n++;
        this.set(n);
      },
    });
    new Gauge({
      name: "ttrelay_outbox_oldest_age_seconds",
      help: "Age of the oldest queued room message (0 when none)",
      registers,
      collect() {
        let oldest = Infinity;
        for (const e of state.store.values("outbox")) oldest = Math.min(oldest, Date.parse(e.createdAt));
        this.set(oldest === Infinity ? 0 : Math.max(0, (state.now() - oldest) / 1000));
      },
    });
    new Gauge({
      name: "ttrelay_ticket_system_queue_depth",
      help: "Writes to ticket systems (RT) queued, by state (pending, failed)",
      labelNames: ["state"],
      registers,
      collect() {
        let pending = 0;
        let failed = 0;
        for (const w of state.store.values("writes")) {
          if (w.failed) failed++;
          else pending++;
        }
        this.set({ state: "pending" }, pending);
        this.set({ state: "failed" }, failed);
      },
    });
    new Gauge({ name: "ttrelay_xmpp_online", help: "1 when the XMPP connection is up", registers, collect() { this.set(state.xmppOnline() ? 1 : 0); } });
    new Gauge({ name: "ttrelay_rooms_joined", help: "Rooms the bot is in now", registers, collect() { this.set(state.roomsJoined()); } });
  }

  poll(source: string, ok: boolean): void {
    this.#polls.inc({ source, result: ok ? "ok" : "failed" });
  }

  batch(source: string, committed: boolean): void {
    this.#batches.inc({ source, result: committed ? "committed" : "failed" });
  }

  sent(room: string): void {
    this.#sent.inc({ room });
  }

  echoed(ms: number): void {
    this.#echo.observe(ms / 1000);
  }

  command(outcome: string): void {
    this.#commands.inc({ outcome });
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
