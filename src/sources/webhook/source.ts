/**
 * A webhook source: `POST /hooks/<id>` on the bot's HTTP listener. The caller is checked first
 * (401 without credentials, 403 with wrong ones), then the content type (415) and size (413), then
 * the body is turned into ticket versions (400 with the reason when it cannot be), and the reply is
 * 202 only once the intake committed the whole batch; a failed commit is 503, nothing applied, and
 * the caller retries (Alertmanager does on 5xx, not on 4xx).
 */
import { MAX_ID_CHARS } from "../../model/limits.js";
import type { WebhookConfig } from "../../../config/schema.js";
import type { HttpReply, HttpRequest, HttpRoutes } from "../../http/listener.js";
import type { Logger, LogLine } from "../../log/logger.js";
import type { SourceHealth, SourceRuntime, TicketSource } from "../types.js";
import { checkBearer, checkHmac, type AuthVerdict } from "./auth.js";
import { alertmanagerVersions, as2Versions, jsonVersions, type FormatContext, type FormatResult } from "./formats.js";

export type WebhookSourceDeps = {
  /** The listener to mount on (the composition root's one HttpListener). */
  http: HttpRoutes;
  /** The resolved secret: bearer token or HMAC key, as `config.auth` says. */
  secret: string;
  log: Logger;
  /** Partner_IDs this bot publishes (noc.id, feeds', RT's): AS2 callers may not speak for them. */
  ownPartners?: ReadonlySet<string> | undefined;
};

export const webhookPath = (id: string): string => `/hooks/${id}`;

const JSON_TYPE = /^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i;

export function createWebhookSource(config: WebhookConfig, deps: WebhookSourceDeps): TicketSource {
  let unmount: (() => void) | undefined;
  let runtime: SourceRuntime | undefined;
  const health: SourceHealth = { ok: true };
  const log = deps.log.child({ source: config.id });

  const reject = (status: number, error: string, extra: Record<string, string> = {}): HttpReply => {
    log.warn({ status, reason: error }, "webhook request refused");
    return { status, body: { error }, headers: extra };
  };

  const authorize = (req: HttpRequest, body: Buffer | undefined): AuthVerdict =>
    "bearer" in config.auth
      ? checkBearer(header(req, "authorization"), deps.secret)
      : body === undefined
        ? header(req, config.auth.hmac.header) === undefined
          ? "missing"
          : "ok" // checked once the body is read
        : checkHmac(header(req, config.auth.hmac.header), body, deps.secret);

  const parse = (body: unknown, ctx: FormatContext): FormatResult => {
    switch (config.format) {
      case "alertmanager":
        return alertmanagerVersions(body, config, ctx);
      case "as2":
        return as2Versions(body, config, ctx);
      case "json":
        return jsonVersions(body, config, ctx);
    }
  };

  const handle = async (req: HttpRequest): Promise<HttpReply> => {
    const rt = runtime;
    if (!rt) return { status: 503, body: { error: "not started" } };
    const challenge: Record<string, string> = "bearer" in config.auth ? { "WWW-Authenticate": 'Bearer realm="ttrelay"' } : {};
    // Credentials before anything else is read: an unknown caller learns nothing about the format.
    const early = authorize(req, undefined);
    if (early === "missing") return reject(401, "credentials required", challenge);
    if (early === "wrong") return reject(403, "credentials not accepted");
    const type = header(req, "content-type") ?? "";
    if (!JSON_TYPE.test(type)) return reject(415, `content type must be application/json (got ${type || "none"})`);
    const read = await req.body(config.maxBytes);
    if (!read.ok) return reject(read.error.status, read.error.message);
    const late = authorize(req, read.value);
    if (late === "missing") return reject(401, `a ${"hmac" in config.auth ? config.auth.hmac.header : "Authorization"} header of the form sha256=<hex> is required`);
    if (late === "wrong") return reject(403, "signature does not match the body");
    let body: unknown;
    try {
      body = JSON.parse(read.value.toString("utf8"));
    } catch (e) {
      return reject(400, `body is not JSON: ${(e as Error).message}`);
    }
    health.lastAttempt = rt.now().toISOString();
    const result = parse(body, { sourceId: config.id, known: (id) => rt.ticket(id)?.ticket, ownPartners: deps.ownPartners ?? new Set(), now: rt.now() });
    if (!result.ok) return reject(result.error.status, result.error.message);
    const logs: LogLine[] = [
      { level: "info", msg: "webhook taken in", fields: { source: config.id, tickets: result.value.versions.map((v) => v.ticket.TT_ID.slice(0, MAX_ID_CHARS)) } },
      ...result.value.notes.map((n): LogLine => ({ level: "warn", msg: n, fields: { source: config.id } })),
    ];
    const submitted = await rt.intake.submit({ source: config.id, versions: result.value.versions, logs });
    if (!submitted.committed) {
      health.ok = false;
      health.lastError = submitted.error;
      log.error({ err: submitted.error }, "webhook not taken in: the store write failed");
      return { status: 503, body: { error: "not stored; nothing was changed, try again" }, headers: { "Retry-After": "10" } };
    }
    health.ok = true;
    health.lastSuccess = rt.now().toISOString();
    delete health.lastError;
    // Nothing of it could be taken (every ticket refused, e.g. a value too long): the sender's error.
    const refused = submitted.outcomes.filter((o) => o.outcome === "refused");
    if (refused.length > 0 && refused.length === submitted.outcomes.length) return reject(400, refused.map((o) => `${o.ttId}: ${o.reason ?? "refused"}`).join("; "));
    return { status: 202, body: { accepted: submitted.outcomes } };
  };

  return {
    id: config.id,
    start(rt: SourceRuntime): Promise<void> {
      runtime = rt;
      unmount = deps.http.route("POST", webhookPath(config.id), handle);
      return Promise.resolve();
    },
    stop(): Promise<void> {
      unmount?.();
      unmount = undefined;
      runtime = undefined;
      return Promise.resolve();
    },
    health: () => health,
  };
}

function header(req: HttpRequest, name: string): string | undefined {
  const v = req.headers[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}
