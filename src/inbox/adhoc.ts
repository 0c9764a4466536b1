/** The chat commands behind XEP-0050 ad-hoc commands: listed per requester, run as chat commands are. */
import type { Acl } from "../dispatch/authorize.js";
import { authorize } from "../dispatch/authorize.js";
import type { Registry } from "../dispatch/ports.js";
import type { AdhocDeps } from "../xmpp/adhoc.js";
import type { CommandService } from "./commands.js";

export function adhocCommands(acl: Acl, registry: Registry, commands: Pick<CommandService, "handle">, ownJid: () => string): AdhocDeps {
  return {
    commands: registry.list(),
    ownJid,
    allowed: (jid, c) => authorize(acl, { jid, via: "adhoc" }, { name: c.name, role: c.role, mutates: c.mutates }).kind === "allow",
    async run(text, jid) {
      let answer = "";
      const result = await commands.handle(text, { jid, via: "adhoc" }, (body) => Promise.resolve(void (answer = body)));
      return { text: answer || "Done.", ok: result.kind === "reply" && result.audit.outcome === "accepted" };
    },
  };
}
