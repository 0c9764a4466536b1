import { test } from "node:test";
import assert from "node:assert/strict";
import { MAX_ID_CHARS, MAX_LIST_ITEMS, MAX_TEXT_CHARS, oversizedField } from "../../src/model/limits.js";
import { fitRoomMessage, roomMessage, type OutgoingRoomMessage } from "../../src/xmpp/stanzas.js";
import { sampleTicket } from "../fixtures/tickets.js";

void test("oversizedField: a value over its limit is named, with its length; history and values within limits pass", () => {
  const long = (n: number): string => "x".repeat(n);
  const cases: { name: string; ticket: ReturnType<typeof sampleTicket>; expected: string | undefined }[] = [
    { name: "a usual ticket", ticket: sampleTicket(), expected: undefined },
    { name: "an id at its limit", ticket: sampleTicket({ Original_ID: long(MAX_ID_CHARS - 4) }), expected: undefined },
    { name: "a 100k Original_ID", ticket: { ...sampleTicket(), Original_ID: long(100_000) }, expected: `Original_ID is 100000 characters long; at most ${MAX_ID_CHARS}` },
    { name: "a title of a whole page", ticket: { ...sampleTicket(), TT_Title: long(5_000) }, expected: "TT_Title is 5000 characters long; at most 1000" },
    { name: "a long description within its limit", ticket: { ...sampleTicket(), TT_Long_Description: long(MAX_TEXT_CHARS) }, expected: undefined },
    { name: "a description over its limit", ticket: { ...sampleTicket(), TT_Long_Description: long(MAX_TEXT_CHARS + 1) }, expected: `TT_Long_Description is ${MAX_TEXT_CHARS + 1} characters long; at most ${MAX_TEXT_CHARS}` },
    { name: "too many circuits", ticket: { ...sampleTicket(), Network_Link_Circuit: Array.from({ length: MAX_LIST_ITEMS + 1 }, (_, i) => `C-${i}`) }, expected: `Network_Link_Circuit has ${MAX_LIST_ITEMS + 1} values; at most ${MAX_LIST_ITEMS}` },
    { name: "one circuit name too long", ticket: { ...sampleTicket(), Network_Link_Circuit: ["C-1", long(300)] }, expected: `Network_Link_Circuit[1] is 300 characters long; at most ${MAX_ID_CHARS}` },
    { name: "a long history (the bot's own)", ticket: { ...sampleTicket(), History: long(200_000) }, expected: undefined },
  ];
  for (const c of cases) assert.equal(oversizedField(c.ticket), c.expected, c.name);
});

void test("fitRoomMessage: under the limit as it is; over it without the payload; still over it, the text cut and said so", () => {
  const base: OutgoingRoomMessage = { room: "r@conference.example.net", id: "ttr-1", body: "*EXN_1* new", json: '{"a":1}', thread: "INC-1" };
  const bytes = (m: OutgoingRoomMessage): number => Buffer.byteLength(roomMessage(m).toString(), "utf8");
  const cases: { name: string; message: OutgoingRoomMessage; max: number; cut: string | undefined }[] = [
    { name: "small", message: base, max: 2_000, cut: undefined },
    { name: "past the quick bound but within the limit when measured", message: { ...base, body: "x".repeat(1_000), json: undefined }, max: 2_000, cut: undefined },
    { name: "a long reply target counts too", message: { ...base, body: "x", json: `{"d":"${"y".repeat(300)}"}`, replyTo: { id: "s".repeat(1_200), to: "r@c/n" } }, max: 1_700, cut: "payload" },
    { name: "a big payload", message: { ...base, json: JSON.stringify({ d: "&<".repeat(3_000) }) }, max: 2_000, cut: "payload" },
    { name: "a big body of escaped and multi-byte text", message: { ...base, body: "é&<😀".repeat(2_000), json: undefined }, max: 2_000, cut: "body" },
  ];
  for (const c of cases) {
    const fitted = fitRoomMessage(c.message, c.max);
    assert.equal(fitted.cut, c.cut, c.name);
    assert.ok(bytes(fitted.message) <= c.max, `${c.name}: ${bytes(fitted.message)} bytes`);
    assert.equal(fitted.message.thread, c.message.thread, `${c.name}: the thread is kept`);
    if (c.cut === "body") {
      assert.match(fitted.message.body, /… \(cut: too long for one message\)$/, c.name);
      assert.ok(!fitted.message.body.includes("\uFFFD"), `${c.name}: cut at a character boundary`);
    }
  }
});
