import { test } from "node:test";
import assert from "node:assert/strict";
import { xml } from "@xmpp/client";
import type { Element } from "@xmpp/xml";
import { registry } from "../../commands/index.js";
import type { ActorIdentity } from "../../src/dispatch/authorize.js";
import { commandForm, fieldsFromUsage, formToCommandText, readSubmittedForm, registerAdhocCommands, type AdhocDeps } from "../../src/xmpp/adhoc.js";

const describe = (usage: string): string =>
  fieldsFromUsage(usage)
    .map((f) => `${f.var}:${f.type}${f.required ? "!" : ""}${f.options ? `(${f.options.join("/")})` : ""}${f.rest ? "…" : ""}`)
    .join(" ");

void test("ad-hoc form fields follow each command's usage line", () => {
  const cases: { input: string; expected: string }[] = [
    { input: "status [service]", expected: "service:text-single" },
    { input: "list [open|mine|today]", expected: "which:list-single(open/mine/today)" },
    { input: "show <ticket|incident>", expected: "ticket:text-single!" },
    { input: "ack <ticket> [note…]", expected: "ticket:text-single! note:text-single…" },
    { input: "update <ticket> <text…>", expected: "ticket:text-single! text:text-single!…" },
    { input: "assign <ticket> <engineer|me>", expected: "ticket:text-single! engineer:text-single!" },
    {
      input: "close <ticket> [solved|closed|cancelled <ticket>|superseded <master>] [reason…]",
      expected: "ticket:text-single! outcome:list-single(solved/closed/cancelled/superseded) master:text-single reason:text-single…",
    },
    { input: "link <ticket> <ticket|incident>", expected: "ticket:text-single! ticket2:text-single!" },
    { input: "unlink <ticket> [<ticket>]", expected: "ticket:text-single! ticket2:text-single" },
    { input: "help [command]", expected: "command:text-single" },
  ];
  for (const { input, expected } of cases) assert.equal(describe(input), expected, input);
});

void test("a submitted form becomes the command line a chat message would carry", () => {
  const close = { name: "close", usage: "close <ticket> [solved|closed|cancelled <ticket>|superseded <master>] [reason…]" };
  const cases: { name: string; input: [string, string][]; expected: string }[] = [
    { name: "all fields", input: [["ticket", "EXN_70"], ["outcome", "superseded"], ["master", "EXN_1"], ["reason", "dup of\nthe other"]], expected: "close EXN_70 superseded EXN_1 dup of the other" },
    { name: "empty optional fields left out", input: [["ticket", "EXN_70"], ["outcome", ""], ["master", ""]], expected: "close EXN_70" },
    { name: "a value with spaces stays one argument", input: [["ticket", "EXN 70"]], expected: 'close "EXN 70"' },
  ];
  for (const { name, input, expected } of cases) assert.equal(formToCommandText(close, new Map(input)), expected, name);
});

void test("forms are XEP-0004 forms and submitted values are read back", () => {
  const form = commandForm({ name: "ack", usage: "ack <ticket> [note…]", summary: "acknowledge a ticket" });
  assert.equal(form.attrs.type, "form");
  assert.deepEqual(form.getChildren("field").map((f): [string, string, boolean] => [String(f.attrs.var), String(f.attrs.type), f.getChild("required") !== undefined]), [
    ["ticket", "text-single", true],
    ["note", "text-single", false],
  ]);
  const submitted = xml("x", { xmlns: "jabber:x:data", type: "submit" }, xml("field", { var: "note" }, xml("value", {}, "a"), xml("value", {}, "b")), xml("field", { var: "ticket" }, xml("value", {}, "EXN_1")));
  assert.deepEqual([...readSubmittedForm(submitted)], [["note", "a\nb"], ["ticket", "EXN_1"]]);
  assert.deepEqual([...readSubmittedForm(undefined)], []);
});

void test("form defaults: a list field always starts with a value (the command's default, else its first option)", () => {
  const valuesOf = (form: Element): Record<string, string | undefined> =>
    Object.fromEntries(form.getChildren("field").map((f) => [String(f.attrs.var), f.getChild("value")?.getText()]));
  const close = registry.lookup("close");
  const list = registry.lookup("list");
  const updates = registry.lookup("updates");
  if (!close || !list || !updates) assert.fail("commands missing");
  const cases: { name: string; input: Element; expected: Record<string, string | undefined> }[] = [
    { name: "close: the outcome a bare close has", input: commandForm(close, close.formDefaults({})), expected: { ticket: undefined, outcome: "closed", master: undefined, reason: undefined } },
    { name: "list: open", input: commandForm(list, list.formDefaults({})), expected: { which: "open" } },
    { name: "updates: the room's current setting", input: commandForm(updates, updates.formDefaults({ room: "r@c", settings: { roomSetting: () => "full" } })), expected: { choice: "full" } },
    { name: "updates: compact where nothing is set", input: commandForm(updates, updates.formDefaults({ room: "r@c" })), expected: { choice: "compact" } },
    { name: "no declared default, or one not among the options: the first option", input: commandForm(list, { which: "bogus" }), expected: { which: "open" } },
  ];
  for (const { name, input, expected } of cases) assert.deepEqual(valuesOf(input), expected, name);
  // Every declared default names a field of the command's form, and a list default is one of its options.
  for (const c of registry.list()) {
    const fields = fieldsFromUsage(c.usage);
    for (const [name, value] of Object.entries(c.formDefaults({ room: "r@c" }))) {
      const f = fields.find((x) => x.var === name);
      assert.ok(f, `${c.name}: default for a field it has (${name})`);
      if (f.options) assert.ok(f.options.includes(value), `${c.name}: ${value} is an option of ${name}`);
    }
  }
});

type Handler = (ctx: { stanza: Element; element: Element }) => Element | Promise<Element>;
function adhocHandlers(overrides: Partial<AdhocDeps> = {}): Map<string, Handler> {
  const handlers = new Map<string, Handler>();
  const callee = { get: (ns: string, name: string, h: Handler) => handlers.set(`get ${ns} ${name}`, h), set: (ns: string, name: string, h: Handler) => handlers.set(`set ${ns} ${name}`, h) };
  const deps: AdhocDeps = {
    commands: registry.list(),
    identify: (from) => Promise.resolve<ActorIdentity>(from.startsWith("ops@") ? { jid: "alice@x", via: "adhoc", room: "ops@c", nick: "alice" } : { jid: "alice@x", via: "adhoc" }),
    run: () => Promise.resolve({ text: "*EXN_1* acknowledged by alice@x.", ok: true }),
    ownJid: (r) => r,
    allowed: () => true,
    unavailable: (actor, c) => (c.needsRoom && actor.room === undefined ? "set per room" : undefined),
    formDefaults: () => ({}),
    ...overrides,
  };
  registerAdhocCommands(callee, deps);
  return handlers;
}
const NS = "http://jabber.org/protocol/commands";

void test("ad-hoc: a room-only command is listed and run only through a room; notes are plain text", async () => {
  const h = adhocHandlers();
  const list = h.get("get http://jabber.org/protocol/disco#items query");
  const exec = h.get(`set ${NS} command`);
  if (!list || !exec) assert.fail("handlers not registered");
  const nodes = async (from: string): Promise<string[]> =>
    (await list({ stanza: xml("iq", { from }), element: xml("query", { node: NS }) })).getChildren("item").map((i) => String(i.attrs.node));
  assert.ok(!(await nodes("alice@x/laptop")).includes("updates"), "not offered on the bot's own JID");
  assert.ok((await nodes("ops@c/alice")).includes("updates"), "offered through the room");

  const asked = await exec({ stanza: xml("iq", { from: "alice@x/laptop" }), element: xml("command", { node: "updates", action: "execute" }) });
  assert.equal(asked.attrs.status, "completed");
  assert.deepEqual([asked.getChild("note")?.attrs.type, asked.getChildText("note")], ["error", "set per room"]);
  const form = await exec({ stanza: xml("iq", { from: "ops@c/alice" }), element: xml("command", { node: "updates", action: "execute" }) });
  assert.equal(form.attrs.status, "executing");

  const done = await exec({ stanza: xml("iq", { from: "alice@x/laptop" }), element: xml("command", { node: "ack", action: "complete" }, xml("x", { xmlns: "jabber:x:data", type: "submit" })) });
  assert.equal(done.getChildText("note"), "EXN_1 acknowledged by alice@x.", "no *bold* in a note");
  // Steps a one-stage command does not have are refused, never run (XEP-0050 §4.6).
  for (const action of ["prev", "next", "frobnicate"]) {
    const wrong = await exec({ stanza: xml("iq", { from: "alice@x/laptop" }), element: xml("command", { node: "ack", action }, xml("x", { xmlns: "jabber:x:data", type: "submit" })) });
    assert.equal(wrong.name, "error", action);
    assert.ok(wrong.getChild("bad-request", "urn:ietf:params:xml:ns:xmpp-stanzas"), action);
    assert.ok(wrong.getChild("bad-action", NS), action);
  }
});
