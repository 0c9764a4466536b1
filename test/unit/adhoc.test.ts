import { test } from "node:test";
import assert from "node:assert/strict";
import { xml } from "@xmpp/client";
import { commandForm, fieldsFromUsage, formToCommandText, readSubmittedForm } from "../../src/xmpp/adhoc.js";

const describe = (usage: string): string =>
  fieldsFromUsage(usage)
    .map((f) => `${f.var}:${f.type}${f.required ? "!" : ""}${f.options ? `(${f.options.join("/")})` : ""}${f.rest ? "…" : ""}`)
    .join(" ");

void test("ad-hoc form fields follow each command's usage line", () => {
  const cases: { input: string; expected: string }[] = [
    { input: "status [service]", expected: "service:text-single" },
    { input: "list [open|mine|today]", expected: "which:list-single(open/mine/today)" },
    { input: "show <ticket|incident>", expected: "ticket:text-single!" },
    { input: "ack <ticket> [note…]", expected: "ticket:text-single! note:text-multi…" },
    { input: "update <ticket> <text…>", expected: "ticket:text-single! text:text-multi!…" },
    { input: "assign <ticket> <engineer|me>", expected: "ticket:text-single! engineer:text-single!" },
    {
      input: "close <ticket> [solved|closed|cancelled <ticket>|superseded <master>] [reason…]",
      expected: "ticket:text-single! outcome:list-single(solved/closed/cancelled/superseded) master:text-single reason:text-multi…",
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
    ["note", "text-multi", false],
  ]);
  const submitted = xml("x", { xmlns: "jabber:x:data", type: "submit" }, xml("field", { var: "note" }, xml("value", {}, "a"), xml("value", {}, "b")), xml("field", { var: "ticket" }, xml("value", {}, "EXN_1")));
  assert.deepEqual([...readSubmittedForm(submitted)], [["note", "a\nb"], ["ticket", "EXN_1"]]);
  assert.deepEqual([...readSubmittedForm(undefined)], []);
});
