/**
 * Noticing a dead or frozen server. TCP alone does not: a server that stops reading (SIGSTOP, a
 * hung VM, a dropped route) leaves the socket open and every send "succeeds" into the kernel.
 *
 * - An idle connection (nothing received for `idleMs`) gets a XEP-0199 ping to the server; if
 *   nothing at all comes back within `timeoutMs`, the socket is dropped and @xmpp/client's
 *   reconnect starts over (any bytes count as an answer, even an error: the server is alive).
 * - A connection attempt stuck before "online" (the TCP handshake is answered by the kernel of a
 *   frozen server, the stream header never) is dropped too after `timeoutMs`, so reconnect retries.
 * - Rooms quiet for `roomPingMs` get a XEP-0410 self-ping (see RoomClient): a room can lose the
 *   bot without a word, e.g. when the server hosting it restarted.
 */
import type { Logger } from "../log/logger.js";

export type KeepaliveOptions = {
  /** Ping the server after this long without incoming bytes. */
  idleMs: number;
  /** No bytes for this long after the ping (or stuck connecting this long): drop and reconnect. */
  timeoutMs: number;
  /** Self-ping rooms quiet for this long (checked this often). */
  roomPingMs: number;
};

export const defaultKeepalive: KeepaliveOptions = { idleMs: 60_000, timeoutMs: 20_000, roomPingMs: 300_000 };

export type WatchdogPorts = {
  status(): string;
  lastReceivedAt(): number;
  /** Sends a ping and waits at most `timeoutMs` for its answer (rejections are ignored). */
  ping(timeoutMs: number): Promise<void>;
  /** Ends the connection so that it is made again. */
  drop(): void;
  /** Self-pings the rooms quiet for `quietMs`. */
  checkRooms(quietMs: number): Promise<void>;
  now(): number;
};

/** States between "the socket is being made" and "online" (@xmpp/connection `_status`). */
const CONNECTING = new Set(["connecting", "connect", "opening", "open"]);

export class ConnectionWatchdog {
  readonly #opts: KeepaliveOptions;
  #timer: NodeJS.Timeout | undefined;
  #pinging = false;
  #checkingRooms = false;
  #statusSince = 0;
  #lastStatus = "";
  #lastRoomCheck = 0;

  constructor(
    private readonly ports: WatchdogPorts,
    options: Partial<KeepaliveOptions>,
    private readonly log: Logger,
  ) {
    this.#opts = { ...defaultKeepalive, ...options };
  }

  start(): void {
    const tickMs = Math.max(100, Math.min(this.#opts.idleMs, this.#opts.timeoutMs, this.#opts.roomPingMs) / 4);
    this.#lastRoomCheck = this.ports.now();
    this.#timer = setInterval(() => this.#tick(), tickMs);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  #tick(): void {
    const now = this.ports.now();
    const status = this.ports.status();
    if (status !== this.#lastStatus) {
      this.#lastStatus = status;
      this.#statusSince = now;
    }
    if (CONNECTING.has(status) && now - this.#statusSince > this.#opts.timeoutMs) {
      this.log.warn({ status, forMs: now - this.#statusSince }, "the XMPP connection is stuck before going online: starting over");
      this.#statusSince = now;
      this.ports.drop();
      return;
    }
    if (status !== "online") return;
    if (!this.#pinging && now - this.ports.lastReceivedAt() >= this.#opts.idleMs) void this.#ping(now);
    if (!this.#checkingRooms && now - this.#lastRoomCheck >= this.#opts.roomPingMs) {
      this.#lastRoomCheck = now;
      this.#checkingRooms = true;
      void this.ports.checkRooms(this.#opts.roomPingMs).finally(() => (this.#checkingRooms = false));
    }
  }

  async #ping(sentAt: number): Promise<void> {
    this.#pinging = true;
    try {
      await this.ports.ping(this.#opts.timeoutMs);
      if (this.ports.lastReceivedAt() >= sentAt || this.ports.status() !== "online") return;
      this.log.warn({ timeoutMs: this.#opts.timeoutMs }, "the XMPP server did not answer a ping in time: reconnecting");
      this.ports.drop();
    } finally {
      this.#pinging = false;
    }
  }
}
