/** The secrets a start needs, resolved once (a missing one stops start-up with where it was looked for). */
import type { Config } from "../../config/schema.js";
import type { RoomSpec } from "../xmpp/room-client.js";
import { ok, err, type Result } from "../util/result.js";
import { resolveSecret } from "./load.js";

export type StartSecrets = { xmppPassword: string; rtSecret?: string | undefined; rooms: RoomSpec[] };

export async function resolveStartSecrets(config: Config): Promise<Result<StartSecrets, string>> {
  const password = await resolveSecret(config.xmpp.password, "$.xmpp.password");
  if (!password.ok) return err(`${password.error.path}: ${password.error.message}`);
  const rooms: RoomSpec[] = [];
  for (const [i, room] of config.rooms.entries()) {
    const roomPassword = room.password ? await resolveSecret(room.password, `$.rooms[${i}].password`) : undefined;
    if (roomPassword && !roomPassword.ok) return err(`${roomPassword.error.path}: ${roomPassword.error.message}`);
    rooms.push({
      jid: room.jid,
      nick: room.nick ?? config.xmpp.nick,
      password: roomPassword?.value,
      name: room.name,
      description: room.description,
      readOnly: room.readOnly,
      members: room.members,
    });
  }
  let rtSecret: string | undefined;
  if (config.rt) {
    const secret = await resolveSecret(config.rt.auth.secret, "$.rt.auth.secret");
    if (!secret.ok) return err(`${secret.error.path}: ${secret.error.message}`);
    rtSecret = secret.value;
  }
  return ok({ xmppPassword: password.value, rtSecret, rooms });
}
