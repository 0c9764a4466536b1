/** The operations endpoints on the bot's HTTP listener: /health (alive), /ready (doing its job), /metrics. */
import type { HttpRoutes } from "../http/listener.js";
import type { SourceHealth } from "../sources/types.js";
import type { StoreHealth } from "../store/file-store.js";
import { readiness } from "./health.js";
import type { PromMetrics } from "./metrics.js";

export type OpsDeps = {
  xmpp: { isOnline(): boolean; isJoined(room: string): boolean };
  rooms: readonly string[];
  /** Rooms whose unconfirmed messages wait for their archive to answer (src/xmpp/mam.ts). */
  held?: ((room: string) => boolean) | undefined;
  store: { readonly health: StoreHealth };
  sources: readonly { id: string; health?(): SourceHealth }[];
  metrics: PromMetrics;
  startedAt: Date;
  now: () => Date;
};

export function mountOps(http: HttpRoutes, deps: OpsDeps): void {
  http.route("GET", "/health", () => ({ status: 200, body: { status: "alive", since: deps.startedAt.toISOString(), uptimeSeconds: Math.round((deps.now().getTime() - deps.startedAt.getTime()) / 1000) } }));
  http.route("GET", "/ready", () => {
    const r = readiness({
      xmppOnline: deps.xmpp.isOnline(),
      rooms: deps.rooms.map((jid) => ({ jid, joined: deps.xmpp.isJoined(jid), held: deps.held?.(jid) })),
      storeWritable: deps.store.health.writable,
      storeError: deps.store.health.lastError,
      sources: deps.sources.map((s) => ({ id: s.id, health: s.health?.() })),
    });
    return { status: r.ready ? 200 : 503, body: r };
  });
  http.route("GET", "/metrics", async () => ({ status: 200, body: await deps.metrics.text(), contentType: deps.metrics.contentType }));
}
