import { test } from "node:test";
import assert from "node:assert/strict";
import { newOriginKey, signOriginId, verifyOriginId } from "../../src/xmpp/origin.js";

void test("origin-ids: only what this key signed names an outbox entry", () => {
  const key = newOriginKey();
  const other = newOriginKey();
  const signed = signOriginId(key, "ttr-abc");
  const cases: { name: string; wire: string | undefined; expected: string | undefined }[] = [
    { name: "our own", wire: signed, expected: "ttr-abc" },
    { name: "an id with dots of its own", wire: signOriginId(key, "a.b.c"), expected: "a.b.c" },
    { name: "the bare outbox id (derivable by anyone)", wire: "ttr-abc", expected: undefined },
    { name: "signed with another key", wire: signOriginId(other, "ttr-abc"), expected: undefined },
    { name: "our MAC on another id", wire: `ttr-abd${signed.slice(signed.lastIndexOf("."))}`, expected: undefined },
    { name: "a MAC cut short", wire: signed.slice(0, -1), expected: undefined },
    { name: "a MAC made longer", wire: `${signed}A`, expected: undefined },
    { name: "only a dot and a MAC", wire: signed.slice(signed.lastIndexOf(".")), expected: undefined },
    { name: "nothing", wire: undefined, expected: undefined },
    { name: "empty", wire: "", expected: undefined },
  ];
  for (const c of cases) assert.equal(verifyOriginId(key, c.wire), c.expected, c.name);
});
