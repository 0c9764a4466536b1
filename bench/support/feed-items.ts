/**
 * A big NOC feed as the benchmarks read it: `n` items (newest first), one every 90 days / n, most
 * of them history (closed three hours after they started), spread over `rooms` services (routes
 * send each service to one room) and over 20,000 circuits, two per ticket.
 */
import type { FixtureItem } from "../../test/fixtures/feeds.js";

const T0 = Date.parse("2026-09-01T00:00:00Z");
const SPAN_MS = 90 * 24 * 3600_000;
const CIRCUITS = 20_000;

const utc = (ms: number): string => new Date(ms).toISOString().slice(0, 16).replace("T", " ") + " UTC";

export function feedItems(n: number, rooms: number, openEvery = 5): FixtureItem[] {
  return Array.from({ length: n }, (_, i) => {
    const id = n - i;
    const start = T0 + Math.floor((id * SPAN_MS) / n);
    const closed = id % openEvery !== 0;
    return {
      id,
      service: `Transit R${id % rooms}`,
      circuits: `EXN-C-${(id * 7919) % CIRCUITS}, EXN-C-${(id * 104_729 + 13) % CIRCUITS}`,
      start: utc(start),
      pubDate: new Date(start + 300_000).toUTCString(),
      ...(closed ? { status: "Closed", end: utc(start + 3 * 3600_000), closed: utc(start + 3 * 3600_000), history: "Fibre spliced, service restored." } : {}),
    };
  });
}
