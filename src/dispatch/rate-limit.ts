/**
 * Token buckets per sender (pure given the time): a person or script sending commands in a loop
 * gets no answers and causes no writes beyond the bucket, while normal use never notices it.
 */
export class RateLimiter {
  readonly #buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    private readonly capacity = 20,
    /** Milliseconds to earn one token back. */
    private readonly refillMs = 3_000,
  ) {}

  /** Takes a token for `key`; false when the bucket is empty. */
  take(key: string, nowMs: number): boolean {
    const b = this.#buckets.get(key) ?? { tokens: this.capacity, at: nowMs };
    const earned = Math.floor((nowMs - b.at) / this.refillMs);
    const tokens = Math.min(this.capacity, b.tokens + Math.max(0, earned));
    const at = earned > 0 ? b.at + earned * this.refillMs : b.at;
    if (tokens <= 0) {
      this.#buckets.set(key, { tokens: 0, at });
      return false;
    }
    this.#buckets.set(key, { tokens: tokens - 1, at });
    // Full buckets carry no information: forgetting them keeps the map as small as the abuse.
    if (this.#buckets.size > 10_000) for (const [k, v] of this.#buckets) if (v.tokens >= this.capacity - 1) this.#buckets.delete(k);
    return true;
  }
}
