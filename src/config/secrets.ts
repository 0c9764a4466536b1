/** Every secret a config names, listed once: check-config warns about them, start-up resolves them. */
import type { Config, Secret } from "../../config/schema.js";
import type { RoomSpec } from "../xmpp/room-client.js";
import { ok, err, type Result } from "../util/result.js";

export type SecretProblem = { path: string; message: string };
import { readFile } from "node:fs/promises";

/** `key`: what the secret is for ("xmpp", "room:<jid>", "rt", "mail:<id>", "webhook:<id>"). */
export type SecretRef = { key: string; path: string; secret: Secret };

export function configSecrets(cfg: Config): SecretRef[] {
  const refs: SecretRef[] = [{ key: "xmpp", path: "$.xmpp.password", secret: cfg.xmpp.password }];
  cfg.rooms.forEach((r, i) => r.password && refs.push({ key: `room:${r.jid}`, path: `$.rooms[${i}].password`, secret: r.password }));
  if (cfg.rt) refs.push({ key: "rt", path: "$.rt.auth.secret", secret: cfg.rt.auth.secret });
  cfg.mail.forEach((m, i) => m.imap && refs.push({ key: `mail:${m.id}`, path: `$.mail[${i}].imap.password`, secret: m.imap.password }));
  cfg.webhooks.forEach((w, i) =>
    refs.push(
      "bearer" in w.auth
        ? { key: `webhook:${w.id}`, path: `$.webhooks[${i}].auth.bearer`, secret: w.auth.bearer }
        : { key: `webhook:${w.id}`, path: `$.webhooks[${i}].auth.hmac.secret`, secret: w.auth.hmac.secret },
    ),
  );
  return refs;
}

export type StartSecrets = {
  xmppPassword: string;
  rooms: RoomSpec[];
  /** Every resolved secret by its key (see `SecretRef`). */
  byKey: ReadonlyMap<string, string>;
};

export async function resolveStartSecrets(config: Config): Promise<Result<StartSecrets, string>> {
  const byKey = new Map<string, string>();
  for (const ref of configSecrets(config)) {
    const r = await resolveSecret(ref.secret, ref.path);
    if (!r.ok) return err(`${r.error.path}: ${r.error.message}`);
    byKey.set(ref.key, r.value);
  }
  const rooms: RoomSpec[] = config.rooms.map((room) => ({
    jid: room.jid,
    nick: room.nick ?? config.xmpp.nick,
    password: byKey.get(`room:${room.jid}`),
    name: room.name,
    description: room.description,
    readOnly: room.readOnly,
    members: room.members,
    stateSubject: room.subject,
  }));
  return ok({ xmppPassword: byKey.get("xmpp") ?? "", rooms, byKey });
}

/** Resolves a secret from the environment or a file; errors name where it was looked for. */
export async function resolveSecret(secret: Secret, path: string, env: NodeJS.ProcessEnv = process.env): Promise<Result<string, SecretProblem>> {
  if ("value" in secret) return ok(secret.value);
  if ("env" in secret) {
    const v = Object.hasOwn(env, secret.env) ? env[secret.env] : undefined;
    return v ? ok(v) : err({ path, message: `environment variable ${secret.env} is not set` });
  }
  try {
    const v = (await readFile(secret.file, "utf8")).trim();
    return v ? ok(v) : err({ path, message: `secret file ${secret.file} is empty` });
  } catch (e) {
    return err({ path, message: `cannot read secret file ${secret.file}: ${(e as Error).message}` });
  }
}
