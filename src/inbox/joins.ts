/** When every configured room has been joined once: the bot is ready. */
export class JoinTracker {
  readonly #waiting: Set<string>;
  #resolve: () => void = () => undefined;
  readonly ready: Promise<void>;

  constructor(rooms: readonly string[]) {
    this.#waiting = new Set(rooms.map((r) => r.toLowerCase()));
    this.ready = new Promise<void>((r) => (this.#resolve = r));
    if (this.#waiting.size === 0) this.#resolve();
  }

  joined(room: string): void {
    this.#waiting.delete(room.toLowerCase());
    if (this.#waiting.size === 0) this.#resolve();
  }
}
