/** One webhook source per configured endpoint, mounted on the bot's HTTP listener. */
import type { WebhookConfig } from "../../../config/schema.js";
import type { HttpRoutes } from "../../http/listener.js";
import type { Logger } from "../../log/logger.js";
import type { TicketSource } from "../types.js";
import { createWebhookSource } from "./source.js";

export function webhookSources(
  configs: readonly WebhookConfig[],
  secret: (key: string) => string | undefined,
  deps: { http: HttpRoutes | undefined; log: Logger; ownPartners: ReadonlySet<string> },
): TicketSource[] {
  const http = deps.http;
  if (!http) return []; // the config schema requires `http` when webhooks are configured
  return configs.map((c) => createWebhookSource(c, { http, secret: secret(`webhook:${c.id}`) ?? "", log: deps.log, ownPartners: deps.ownPartners }));
}
