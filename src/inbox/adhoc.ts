/** The chat commands behind XEP-0050 ad-hoc commands: listed per requester, run as chat commands are. */
import type { Acl, ActorIdentity } from "../dispatch/authorize.js";
import { authorize } from "../dispatch/authorize.js";
import { roomOnlyRefusal, worksHere, type Registry } from "../dispatch/ports.js";
import type { AdhocDeps } from "../xmpp/adhoc.js";
import type { CommandService } from "./commands.js";

/** What the room client tells about a requester: who it is, and where it reaches the bot. */
export type AdhocAddressing = {
  identify(from: string, via: "adhoc"): Promise<ActorIdentity>;
  addressFor(requester: string): string;
};

export function adhocCommands(acl: Acl, registry: Registry, commands: Pick<CommandService, "handle" | "formDefaults">, rooms: AdhocAddressing): AdhocDeps {
  return {
    commands: registry.list(),
    identify: (from) => rooms.identify(from, "adhoc"),
    ownJid: (requester) => rooms.addressFor(requester),
    allowed: (actor, c) => authorize(acl, actor, { name: c.name, role: c.role, mutates: c.mutates }).kind === "allow",
    // A room setting works only when asked through that room (the bot's occupant JID there).
    unavailable: (actor, c) => (worksHere(c, actor) ? undefined : roomOnlyRefusal(c.name, "adhoc")),
    formDefaults: (actor, c) => commands.formDefaults(c, actor),
    async run(text, actor) {
      let answer = "";
      const result = await commands.handle(text, actor, (body) => Promise.resolve(void (answer = body)));
      return { text: answer || "Done.", ok: result.kind === "reply" && result.audit.outcome === "accepted" };
    },
  };
}
