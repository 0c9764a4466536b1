import { test } from "node:test";
import assert from "node:assert/strict";
import { MAX_COMMAND_BYTES, freeText, parseCommandText, positional, skipArgs, tokenize, type ParseContext } from "../../src/dispatch/parse.js";

const NICK = "ttrelay";

type Expect = { name: string; argv: string[]; rest?: string; prefix?: string } | "none" | { error: string };

function check(text: string, context: ParseContext, expected: Expect): void {
  const r = parseCommandText(text, NICK, context);
  const label = `${context}: ${JSON.stringify(text.length > 60 ? `${text.slice(0, 60)}…` : text)}`;
  if (expected === "none") {
    assert.equal(r, undefined, label);
    return;
  }
  assert.ok(r !== undefined, `${label}: expected a command`);
  if ("error" in expected) {
    assert.ok(!r.ok, `${label}: expected an error`);
    assert.equal(r.error.code, expected.error, label);
    return;
  }
  if (!r.ok) assert.fail(`${label}: unexpected error ${r.error.code}`);
  assert.equal(r.value.name, expected.name, label);
  assert.deepEqual(r.value.argv, expected.argv, label);
  if (expected.rest !== undefined) assert.equal(r.value.rest, expected.rest, label);
  if (expected.prefix !== undefined) assert.equal(r.value.prefix, expected.prefix, label);
}

const ack = (prefix: string): Expect => ({ name: "ack", argv: ["EXN_1043"], rest: "EXN_1043", prefix });

void test("every prefix form, in a room and in a direct message", () => {
  const forms: [string, string][] = [
    ["/ack EXN_1043", "/"],
    ["//ack EXN_1043", "//"],
    ["!ack EXN_1043", "!"],
    ["ttrelay: ack EXN_1043", "nick"],
    ["ttrelay, ack EXN_1043", "nick"],
    ["TTRelay: ack EXN_1043", "nick"],
    ["TTRELAY,ack EXN_1043", "nick"],
    ["ttrelay: !ack EXN_1043", "nick"],
    ["ttrelay: /ack EXN_1043", "nick"],
    ["  !ack   EXN_1043  ", "!"],
    ["!ACK EXN_1043", "!"],
  ];
  for (const context of ["groupchat", "direct"] as const) {
    for (const [text, prefix] of forms) check(text, context, ack(prefix));
  }
  check("ack EXN_1043", "direct", ack("none"));
});

void test("not a command: said nothing about", () => {
  const table: [string, ParseContext][] = [
    ["ack EXN_1043", "groupchat"], // bare word in a room
    ["hello all, the link is back", "groupchat"],
    ["/me is looking at EXN_1043", "groupchat"], // XEP-0245 action
    ["/usr/bin is full again", "groupchat"],
    ["! ack EXN_1043", "groupchat"], // name must follow the prefix
    ["!!!", "groupchat"],
    ["!1043", "groupchat"],
    ["/", "groupchat"],
    ["ttrelayx: ack", "groupchat"], // another nick
    ["ttrelay is great", "groupchat"], // mentioned, not addressed
    ["", "direct"],
    ["   \n ", "direct"],
    ["> !ack EXN_1043", "groupchat"], // only a quote
  ];
  for (const [text, context] of table) check(text, context, "none");
});

void test("quoted reply fallback lines are skipped", () => {
  check("> EXN_1043 new · Opened\n> Forth Link Failure\n!ack EXN_1043", "groupchat", ack("!"));
  check("> quoted\n\n> more\nttrelay: ack EXN_1043", "groupchat", ack("nick"));
});

void test("addressed by nickname or in a direct message: any first word is the name", () => {
  check("ttrelay: thanks!", "groupchat", { name: "thanks", argv: [] });
  check("ttrelay: help?", "groupchat", { name: "help", argv: [] });
  check("ttrelay:", "groupchat", { name: "", argv: [], prefix: "nick" });
  check("/usr/bin is full", "direct", { name: "/usr/bin", argv: ["is", "full"], prefix: "none" });
  check("status IP Transit", "direct", { name: "status", argv: ["IP", "Transit"], rest: "IP Transit" });
});

void test("argv: whitespace splits, double quotes group, rest is raw", () => {
  check('!close EXN_1043 superseded GRNET_5985 "merged into the core outage"', "groupchat", {
    name: "close",
    argv: ["EXN_1043", "superseded", "GRNET_5985", "merged into the core outage"],
    rest: 'EXN_1043 superseded GRNET_5985 "merged into the core outage"',
  });
  check("!update EXN_1043 fibre cut\n  crew on site", "groupchat", {
    name: "update",
    argv: ["EXN_1043", "fibre", "cut", "crew", "on", "site"],
    rest: "EXN_1043 fibre cut\n  crew on site",
  });
  check("!assign EXN_1043 “Bob Smith”", "groupchat", { name: "assign", argv: ["EXN_1043", "Bob Smith"] });
  check("!assign EXN_1043 „Bob Smith“", "groupchat", { name: "assign", argv: ["EXN_1043", "Bob Smith"] });
  check("!ack EXN_1043 don't worry", "groupchat", { name: "ack", argv: ["EXN_1043", "don't", "worry"] });
});

void test("tokenize: quotes, escapes, joins, unterminated quotes, empty strings", () => {
  const table: [string, string[]][] = [
    ["a b  c", ["a", "b", "c"]],
    ['"a b" c', ["a b", "c"]],
    ['a"b c"d', ["ab cd"]],
    ['"say \\"hi\\"" x', ['say "hi"', "x"]],
    ['"back\\\\slash"', ["back\\slash"]],
    ['"unterminated rest', ["unterminated rest"]],
    ['"" x', ["", "x"]],
    ["", []],
    ["\t\n", []],
  ];
  for (const [input, expected] of table) assert.deepEqual(tokenize(input).map((t) => t.value), expected, JSON.stringify(input));
});

void test("skipArgs / freeText / positional", () => {
  assert.equal(skipArgs('EXN_1043 "a b" the rest  here ', 2), "the rest  here");
  assert.equal(skipArgs("EXN_1043", 1), "");
  assert.equal(skipArgs("EXN_1043", 3), "");
  assert.equal(skipArgs(" x y ", 0), "x y");
  assert.equal(freeText('EXN_1043 "quoted note"', 1), "quoted note");
  assert.equal(freeText('EXN_1043 "a" and "b"', 1), '"a" and "b"');
  assert.equal(freeText("EXN_1043 plain note", 1), "plain note");
  assert.deepEqual(positional(["a"], ["x", "y"]), { x: "a" });
  assert.deepEqual(positional(["a", "b", "c"], ["x", "y"]), { x: "a", y: "b", extra: ["c"] });
});

void test("long and binary text: refused once known to be a command, ignored otherwise", () => {
  const long = "!update EXN_1043 " + "x".repeat(MAX_COMMAND_BYTES);
  check(long, "groupchat", { error: "too-long" });
  check("x".repeat(MAX_COMMAND_BYTES * 2), "groupchat", "none");
  check("x".repeat(MAX_COMMAND_BYTES * 2), "direct", { error: "too-long" });
  // Exactly at the limit (in UTF-8 bytes, not characters) is fine; one more byte is not.
  const head = "!update EXN_1043 ";
  check(head + "a".repeat(MAX_COMMAND_BYTES - head.length), "groupchat", { name: "update", argv: ["EXN_1043", "a".repeat(MAX_COMMAND_BYTES - head.length)] });
  check(head + "é".repeat(Math.ceil((MAX_COMMAND_BYTES - head.length) / 2) + 1), "groupchat", { error: "too-long" });

  const binary: string[] = ["!ack EXN_1043\u0000", "!ack \u0007EXN_1043", "!ack EXN_1043\u001b[31m", "!ack EXN\u007f", "!ack EXN\u0085", "!ack \ud800x", "!ack \udc00", "!ack \uffff", "!ack a\rb"];
  for (const text of binary) check(text, "groupchat", { error: "control-characters" });
  check("hello\u0000 there", "groupchat", "none");
  // \t, \n and CRLF are fine; a real surrogate pair (emoji) too.
  check("!update EXN_1043\tline\r\nnext 🔥", "groupchat", { name: "update", argv: ["EXN_1043", "line", "next", "🔥"] });
});

void test("errors carry a polite text and never throw on odd input", () => {
  const r = parseCommandText("!ack " + "y".repeat(5000), NICK, "groupchat");
  assert.ok(r !== undefined && !r.ok);
  assert.match(r.error.human, /too long for a command \(5005 bytes; the limit is 4096\)/u);
  const odd = ["\u0000", "!", "//", "ttrelay", "ttrelay:", "\"", '!a "', "!a \\", "ttrelay, ,"];
  for (const text of odd) for (const ctx of ["groupchat", "direct"] as const) assert.doesNotThrow(() => parseCommandText(text, NICK, ctx));
  // An empty nick never matches.
  assert.equal(parseCommandText(": ack X", "", "groupchat"), undefined);
});
