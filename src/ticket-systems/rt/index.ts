/** Request Tracker from config: the REST2 client, the field mapping, and the ticket-system adapter. */
import type { RtConfig } from "../../../config/schema.js";
import type { Logger } from "../../log/logger.js";
import { ok, err, type Result } from "../../util/result.js";
import { createRtClient, type RtPort } from "./client.js";
import type { RtMapping } from "./map.js";
import { rtMapping } from "./plan.js";
import { RtSystem } from "./system.js";

export type Rt = { config: RtConfig; client: RtPort; mapping: RtMapping; system: RtSystem };

export function rtFromConfig(config: RtConfig, nocId: string, secret: string, log: Logger): Result<Rt, string> {
  const mapping = rtMapping(config, nocId);
  if (!mapping.ok) return err(mapping.error);
  const client = createRtClient({ url: config.url, auth: { scheme: config.auth.scheme, secret }, timeoutMs: config.timeoutMs, timeZone: config.timeZone });
  return ok({ config, client, mapping: mapping.value, system: new RtSystem(config, mapping.value, client, log) });
}
