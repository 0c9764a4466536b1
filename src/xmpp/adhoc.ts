/**
 * The chat commands as XEP-0050 ad-hoc commands with XEP-0004 forms, listed through service
 * discovery (XEP-0030), so Gajim and other clients show them as forms. A submitted form becomes the
 * same command text a chat message would carry and goes through the same dispatch and checks.
 */
import { randomUUID } from "node:crypto";
import { xml } from "@xmpp/client";
import type { Element } from "@xmpp/xml";
import type { ActorIdentity } from "../dispatch/authorize.js";
import type { Command } from "../dispatch/ports.js";
import { BOT_CAPS_VER, BOT_FEATURES, BOT_IDENTITY, CAPS_NODE } from "./caps.js";
import { unstyle } from "../render/xep0393.js";
import { attr } from "./stanzas.js";

export const NS_COMMANDS = "http://jabber.org/protocol/commands";
const NS_DATA = "jabber:x:data";
const NS_DISCO_INFO = "http://jabber.org/protocol/disco#info";
const NS_DISCO_ITEMS = "http://jabber.org/protocol/disco#items";

export type FormField = {
  var: string;
  label: string;
  /**
   * Free text is text-single too: a note or reason becomes one History line anyway, and
   * text-multi is handled unevenly (Profanity 0.13 sets it with `/fieldN add …`; a plain
   * `/fieldN …`, what its hint suggests for the other fields, leaves it empty).
   */
  type: "text-single" | "list-single";
  required: boolean;
  options?: string[];
  /** Free text: taken as the rest of the command line, unquoted. */
  rest?: boolean;
};

/**
 * Form fields from a command's usage line: `<x>` required, `[x]` optional, `[a|b|c]` a choice,
 * `…` free text; "cancelled <ticket>|superseded <master>" gives a choice plus a field for the ticket.
 */
export function fieldsFromUsage(usage: string): FormField[] {
  const tokens = usage.match(/<[^>]*>|\[[^\]]*\]/g) ?? [];
  const fields: FormField[] = [];
  const seen = new Set<string>();
  const add = (f: FormField): void => {
    let name = f.var;
    for (let n = 2; seen.has(name); n++) name = `${f.var}${n}`;
    seen.add(name);
    fields.push({ ...f, var: name });
  };
  for (const token of tokens) {
    const required = token.startsWith("<");
    const inner = token.slice(1, -1).trim();
    const rest = inner.endsWith("…");
    const words = inner.replace(/…$/, "").split("|").map((w) => w.trim());
    const plainChoice = words.length > 1 && words.every((w) => /^[a-z]+$/.test(w));
    const choiceWithArg = words.length > 1 && words.some((w) => /^[a-z]+ <[^>]+>$/.test(w));
    // `[open|mine|today]` is a choice; `<engineer|me>` or `<ticket|incident>` is one text field.
    if (plainChoice && !required) {
      add({ var: words.includes("open") ? "which" : "choice", label: words.join(" / "), type: "list-single", required, options: words });
    } else if (choiceWithArg) {
      add({ var: "outcome", label: "Outcome", type: "list-single", required, options: words.map((w) => w.split(" ")[0] ?? w) });
      add({ var: "master", label: "Other ticket (for cancelled / superseded)", type: "text-single", required: false });
    } else {
      const name = (inner.replace(/[<>…]/g, "").split("|")[0] ?? "value").trim();
      add({ var: name, label: name[0]?.toUpperCase() + name.slice(1), type: "text-single", required, rest });
    }
  }
  return fields;
}

/** A value on a command line: quoted when it has spaces so that it stays one argument. */
const arg = (v: string): string => (/\s/.test(v) ? `"${v.replace(/"/g, "'")}"` : v);

/** The command text a submitted form stands for (without prefix: dispatched as a direct message). */
export function formToCommandText(command: Pick<Command, "name" | "usage">, values: ReadonlyMap<string, string>): string {
  const parts = [command.name];
  for (const f of fieldsFromUsage(command.usage)) {
    const v = (values.get(f.var) ?? "").trim();
    if (v === "") continue;
    parts.push(f.rest ? v.replace(/\s*\n\s*/g, " ") : arg(v));
  }
  return parts.join(" ");
}

/**
 * The command's form (XEP-0004 §3.3). `defaults` pre-fill fields by var (XEP-0004 §3.2: a form's
 * `<value/>` is the default): a list-single field always gets one, the command's own default or
 * else its first option, so clients show a chosen value (Profanity prints an unset list as empty)
 * and an untouched form does what the chat command without that word does.
 */
export function commandForm(command: Pick<Command, "name" | "usage" | "summary">, defaults: Readonly<Record<string, string>> = {}): Element {
  return xml(
    "x",
    { xmlns: NS_DATA, type: "form" },
    xml("title", {}, `${command.name}: ${command.summary}`),
    xml("instructions", {}, `Same as the chat command: !${command.usage}`),
    ...fieldsFromUsage(command.usage).map((f) => {
      const given = defaults[f.var];
      const value = f.options === undefined ? given : given !== undefined && f.options.includes(given) ? given : f.options[0];
      return xml(
        "field",
        { var: f.var, type: f.type, label: f.label },
        ...(f.required ? [xml("required")] : []),
        ...(value === undefined || value === "" ? [] : [xml("value", {}, value)]),
        ...(f.options ?? []).map((o) => xml("option", { label: o }, xml("value", {}, o))),
      );
    }),
  );
}

/** Field values of a submitted form (XEP-0004 §3.5); multi-line values joined with newlines. */
export function readSubmittedForm(x: Element | undefined): Map<string, string> {
  const values = new Map<string, string>();
  for (const field of x?.getChildren("field") ?? []) {
    const name = attr(field, "var");
    if (name) values.set(name, field.getChildren("value").map((v) => v.getText()).join("\n"));
  }
  return values;
}

type IqContext = { stanza: Element; element: Element };
type IqCallee = {
  get(ns: string, name: string, handler: (ctx: IqContext) => Element | Promise<Element>): void;
  set(ns: string, name: string, handler: (ctx: IqContext) => Element | Promise<Element>): void;
};

export type AdhocDeps = {
  commands: readonly Command[];
  /**
   * Who sent the iq: the bare JID its server stamped in `from`, or, through one of the bot's rooms
   * (Gajim's participant list sends to the bot's occupant JID), the real JID the room reported for
   * that occupant. A room JID is never an actor: such requests get `jid: undefined`.
   */
  identify(from: string): Promise<ActorIdentity>;
  /** Runs the command text for that actor (the same dispatch and checks as a chat message). */
  run(text: string, actor: ActorIdentity): Promise<{ text: string; ok: boolean }>;
  /** The address the requester reaches the bot at (its occupant JID when asked through a room). */
  ownJid(requester: string): string;
  /** Whether the actor may run the command: only those are listed, and others refused at once. */
  allowed(actor: ActorIdentity, command: Command): boolean;
  /**
   * Why the command cannot work through the address it was asked at (a room setting asked of the
   * bot's own JID), or `undefined`. Such commands are not listed there, and refused with this note.
   */
  unavailable(actor: ActorIdentity, command: Command): string | undefined;
  /** The values a new form starts with, by field var (e.g. the room's current setting). */
  formDefaults(actor: ActorIdentity, command: Command): Readonly<Record<string, string>>;
};

const stanzaError = (type: string, condition: string, text?: string, specific?: Element): Element =>
  xml(
    "error",
    { type },
    xml(condition, { xmlns: "urn:ietf:params:xml:ns:xmpp-stanzas" }),
    ...(text ? [xml("text", { xmlns: "urn:ietf:params:xml:ns:xmpp-stanzas" }, text)] : []),
    ...(specific ? [specific] : []),
  );

/** The actions a one-stage command takes (XEP-0050 §3.4): it offers only "complete". */
const RUN_ACTIONS: readonly string[] = ["execute", "complete"];

/** The bot's disco#info (XEP-0030 §3.1); also under its caps node (XEP-0115 §6.2). */
function botInfo(node: string | undefined): Element {
  return xml(
    "query",
    { xmlns: NS_DISCO_INFO, ...(node ? { node } : {}) },
    xml("identity", { category: BOT_IDENTITY.category, type: BOT_IDENTITY.type, name: BOT_IDENTITY.name }),
    ...BOT_FEATURES.map((f) => xml("feature", { var: f })),
  );
}

/** Registers the disco and command handlers on the client's iq callee. */
export function registerAdhocCommands(iqCallee: unknown, deps: AdhocDeps): void {
  // @types/xmpp__client's iqCallee type does not resolve under NodeNext; this is its documented shape.
  const callee = iqCallee as IqCallee;
  const byNode = new Map(deps.commands.map((c) => [c.name, c]));
  const capsNode = `${CAPS_NODE}#${BOT_CAPS_VER}`;

  callee.get(NS_DISCO_INFO, "query", ({ element }) => {
    const node = attr(element, "node");
    if (node === undefined || node === capsNode) return botInfo(node);
    if (node === NS_COMMANDS) return xml("query", { xmlns: NS_DISCO_INFO, node }, xml("identity", { category: "automation", type: "command-list", name: "ttrelay commands" }));
    const command = byNode.get(node);
    if (!command) return stanzaError("cancel", "item-not-found");
    // XEP-0050 §2.3: a command node is a command and takes data forms.
    return xml(
      "query",
      { xmlns: NS_DISCO_INFO, node },
      xml("identity", { category: "automation", type: "command-node", name: command.summary }),
      xml("feature", { var: NS_COMMANDS }),
      xml("feature", { var: NS_DATA }),
    );
  });

  callee.get(NS_DISCO_ITEMS, "query", async ({ stanza, element }) => {
    const node = attr(element, "node");
    if (node !== NS_COMMANDS) return xml("query", { xmlns: NS_DISCO_ITEMS, ...(node ? { node } : {}) });
    const from = attr(stanza, "from") ?? "";
    const actor = await deps.identify(from);
    const jid = deps.ownJid(from);
    // XEP-0050 §2.2: list what this requester may execute (running is checked again anyway).
    const visible = deps.commands.filter((c) => deps.allowed(actor, c) && deps.unavailable(actor, c) === undefined);
    return xml("query", { xmlns: NS_DISCO_ITEMS, node }, ...visible.map((c) => xml("item", { jid, node: c.name, name: c.summary })));
  });

  callee.set(NS_COMMANDS, "command", async ({ stanza, element }) => {
    const node = attr(element, "node") ?? "";
    const command = byNode.get(node);
    if (!command) return stanzaError("cancel", "item-not-found");
    const action = attr(element, "action") ?? "execute";
    const sessionid = attr(element, "sessionid") ?? `adhoc-${randomUUID()}`;
    if (action === "cancel") return xml("command", { xmlns: NS_COMMANDS, node, sessionid, status: "canceled" });
    // "prev"/"next" (or anything else) are not steps of a one-stage command: refused, never run
    // (XEP-0050 §4.6, bad-action).
    if (!RUN_ACTIONS.includes(action)) return stanzaError("modify", "bad-request", `“${action}” is not an action of this command; use complete or cancel.`, xml("bad-action", { xmlns: NS_COMMANDS }));
    const from = attr(stanza, "from");
    if (!from) return stanzaError("modify", "bad-request");
    const actor = await deps.identify(from);
    // XEP-0050 §4.4: a requester who may not run the command is refused before any form.
    if (!deps.allowed(actor, command)) {
      const why =
        actor.jid === undefined
          ? "I can't see your real address (JID) through this room, so I can't run commands for you here."
          : `Sorry, you may not run “${command.name}”.`;
      return stanzaError("auth", "forbidden", why);
    }
    const completed = (ok: boolean, text: string): Element =>
      // XEP-0050 §6.3: a refusal or a wrong call is an "error" note, so clients show it as one. A
      // note is plain text (clients show it as is): the chat styling is taken off.
      xml("command", { xmlns: NS_COMMANDS, node, sessionid, status: "completed" }, xml("note", { type: ok ? "info" : "error" }, unstyle(text)));
    const elsewhere = deps.unavailable(actor, command);
    if (elsewhere !== undefined) return completed(false, elsewhere);
    const submitted = element.getChild("x", NS_DATA);
    if (action === "execute" && (!submitted || attr(submitted, "type") !== "submit")) {
      // First step (XEP-0050 §3.3): the form.
      const form = commandForm(command, deps.formDefaults(actor, command));
      return xml("command", { xmlns: NS_COMMANDS, node, sessionid, status: "executing" }, xml("actions", { execute: "complete" }, xml("complete")), form);
    }
    const reply = await deps.run(formToCommandText(command, readSubmittedForm(submitted)), actor);
    return completed(reply.ok, reply.text);
  });
}
