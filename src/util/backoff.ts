/** The one backoff of the bot: `baseMs` for the first attempt, doubling, capped at `maxMs`. */
export function backoffMs(attempt: number, opts: { baseMs: number; maxMs: number }): number {
  const n = Math.max(1, Math.floor(attempt));
  // 2 ** 40 is already far past any cap: no overflow to Infinity for a long outage.
  return Math.min(opts.maxMs, opts.baseMs * 2 ** Math.min(n - 1, 40));
}
