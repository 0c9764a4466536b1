/**
 * What the bot counts as it works, behind one small port: the adapters report events (a poll, a
 * message sent, an echo, a command), and the metrics adapter (./metrics.ts) turns them into
 * Prometheus series. Without metrics configured, the no-op port is used.
 */
export interface Telemetry {
  /** A source finished a poll or a push: `ok` false when it failed (fetch, parse or store). */
  poll(source: string, ok: boolean): void;
  /** The intake took a batch from a source: `committed` false when its write failed. */
  batch(source: string, committed: boolean): void;
  /** A room message was sent (not yet echoed). */
  sent(room: string): void;
  /** The room echoed a message back, `ms` after it was sent. */
  echoed(ms: number): void;
  /** A chat command ended (accepted, refused, invalid, failed, ignored). */
  command(outcome: string): void;
}

export const noTelemetry: Telemetry = { poll: () => undefined, batch: () => undefined, sent: () => undefined, echoed: () => undefined, command: () => undefined };
