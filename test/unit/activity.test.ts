import { test } from "node:test";
import assert from "node:assert/strict";
import {
  AS2_CONTEXT,
  NTTDM_NS,
  TicketActivitySchema,
  nocActor,
  ticketActivity,
  ticketObjectId,
  type TicketActivity,
} from "../../src/model/activity.js";
import { ticketContentHash } from "../../src/model/ticket.js";
import { sampleClosedTicket, sampleTicket } from "../fixtures/tickets.js";

const actor = nocActor({ id: "GRNET", name: "GRNET NOC", url: "https://noc.grnet.example/" });
const published = new Date("2008-12-16T08:05:00.000Z");

void test("nocActor: an Organization with a URN id; url only when given", () => {
  assert.deepEqual(actor, { type: "Organization", id: "urn:ttrelay:noc:GRNET", name: "GRNET NOC", url: "https://noc.grnet.example/" });
  assert.deepEqual(nocActor({ id: "A B", name: "x" }), { type: "Organization", id: "urn:ttrelay:noc:A%20B", name: "x" });
});

void test("ticketActivity: the exact Create activity for the RFC example ticket", () => {
  const ticket = sampleTicket();
  const expected: TicketActivity = {
    "@context": [AS2_CONTEXT, { nttdm: NTTDM_NS }],
    id: `urn:ttrelay:activity:01_5985:create:${ticketContentHash(ticket).slice(0, 12)}:${published.getTime().toString(36)}`,
    type: "Create",
    actor,
    object: {
      type: "nttdm:TroubleTicket",
      id: "urn:nttdm:01_5985",
      name: "Forth Link Failure",
      url: "https://noc.grnet.example/tt/5985",
      "nttdm:ticket": ticket,
    },
    published: "2008-12-16T08:05:00.000Z",
    summary: "GRNET NOC opened 01_5985: Forth Link Failure",
  };
  assert.deepEqual(ticketActivity("Create", ticket, actor, published, "https://noc.grnet.example/tt/5985"), expected);
});

const validCases: { name: string; input: TicketActivity }[] = [
  { name: "Create, open ticket, with link", input: ticketActivity("Create", sampleTicket(), actor, published, "https://noc.grnet.example/tt/5985") },
  { name: "Update, closed ticket, no link", input: ticketActivity("Update", sampleClosedTicket(), actor, published) },
  { name: "title of 2000 characters: summary capped", input: ticketActivity("Create", sampleTicket({ TT_Title: "x".repeat(2000) }), actor, published) },
  { name: "actor without url", input: ticketActivity("Create", sampleTicket(), nocActor({ id: "01", name: "NOC" }), published) },
];

for (const { name, input } of validCases) {
  void test(`ticketActivity output validates with TicketActivitySchema: ${name}`, () => {
    const r = TicketActivitySchema.safeParse(input);
    assert.ok(r.success, JSON.stringify(r.error?.issues));
    // The wire form (JSON text) validates too, and reads back to the same activity.
    const wire = TicketActivitySchema.safeParse(JSON.parse(JSON.stringify(input)));
    assert.ok(wire.success);
    assert.deepEqual(wire.data, input);
  });
}

void test("ticketActivity: summary is capped at 1000 characters", () => {
  const a = ticketActivity("Create", sampleTicket({ TT_Title: "x".repeat(2000) }), actor, published);
  assert.equal(a.summary?.length, 1000);
  assert.ok(a.summary?.startsWith("GRNET NOC opened 01_5985: xxx"));
});

void test("ticketActivity: id is stable for the same content and time, differs when the ticket or the time changes", () => {
  const id = (a: TicketActivity): string => a.id;
  const base = ticketActivity("Update", sampleTicket(), actor, published);
  const cases: { name: string; input: TicketActivity; expected: "same" | "different" }[] = [
    { name: "rebuilt with the same published time", input: ticketActivity("Update", sampleTicket(), actor, new Date(published.getTime())), expected: "same" },
    // A ticket that flips back to an earlier state later is a new activity, never mistaken for the old post.
    { name: "same content published later", input: ticketActivity("Update", sampleTicket(), actor, new Date(published.getTime() + 1000)), expected: "different" },
    { name: "keys in another order", input: ticketActivity("Update", Object.fromEntries(Object.entries(sampleTicket()).reverse()) as ReturnType<typeof sampleTicket>, actor, published), expected: "same" },
    { name: "with a link", input: ticketActivity("Update", sampleTicket(), actor, published, "https://x.example/1"), expected: "same" },
    { name: "status changed", input: ticketActivity("Update", sampleTicket({ TT_Status: "Updated" }), actor, published), expected: "different" },
    { name: "update time changed", input: ticketActivity("Update", sampleTicket({ TT_Last_Update_Time: "2008-12-16T11:00:00+02:00" }), actor, published), expected: "different" },
    { name: "Create instead of Update", input: ticketActivity("Create", sampleTicket(), actor, published), expected: "different" },
    { name: "another ticket", input: ticketActivity("Update", sampleTicket({ Original_ID: "5986" }), actor, published), expected: "different" },
  ];
  for (const { name, input, expected } of cases) assert.equal(id(input) === id(base) ? "same" : "different", expected, name);
  assert.match(id(base), /^urn:ttrelay:activity:01_5985:update:[0-9a-f]{12}:[0-9a-z]+$/);
});

void test("ticketObjectId: URN with the TT_ID percent-encoded", () => {
  assert.equal(ticketObjectId("01_5985"), "urn:nttdm:01_5985");
  assert.equal(ticketObjectId("EXN_urn:uuid:1 2"), "urn:nttdm:EXN_urn%3Auuid%3A1%202");
});

/** A valid activity as plain JSON, to break one thing at a time. */
const good = (): Record<string, unknown> => JSON.parse(JSON.stringify(ticketActivity("Create", sampleTicket(), actor, published))) as Record<string, unknown>;
const withObject = (changes: Record<string, unknown>): Record<string, unknown> => {
  const a = good();
  a.object = { ...(a.object as object), ...changes };
  return a;
};
const withTicket = (changes: Record<string, unknown>): Record<string, unknown> => {
  const a = good();
  const object = a.object as Record<string, unknown>;
  object["nttdm:ticket"] = { ...(object["nttdm:ticket"] as object), ...changes };
  return a;
};
const without = (key: string): Record<string, unknown> => {
  const a = good();
  delete a[key];
  return a;
};

const invalidCases: { name: string; input: unknown; expected: string }[] = [
  { name: "missing actor", input: without("actor"), expected: "actor" },
  { name: "actor without name", input: { ...good(), actor: { type: "Organization", id: "urn:x" } }, expected: "actor.name" },
  { name: "actor of an unknown type", input: { ...good(), actor: { type: "Robot", id: "urn:x", name: "x" } }, expected: "actor.type" },
  { name: "@context is a bare string", input: { ...good(), "@context": AS2_CONTEXT }, expected: "@context" },
  { name: "@context with another AS2 IRI", input: { ...good(), "@context": ["http://www.w3.org/ns/activitystreams", { nttdm: NTTDM_NS }] }, expected: "@context.0" },
  { name: "@context with another nttdm namespace", input: { ...good(), "@context": [AS2_CONTEXT, { nttdm: "urn:other" }] }, expected: "@context.1.nttdm" },
  { name: "@context missing", input: without("@context"), expected: "@context" },
  { name: "type Delete", input: { ...good(), type: "Delete" }, expected: "type" },
  { name: "missing id", input: without("id"), expected: "id" },
  { name: "published without offset", input: { ...good(), published: "2008-12-16T08:05:00" }, expected: "published" },
  { name: "object of another type", input: withObject({ type: "Note" }), expected: "object.type" },
  { name: "ticket missing", input: withObject({ "nttdm:ticket": undefined }), expected: "object.nttdm:ticket" },
  { name: "ticket with a bad status", input: withTicket({ TT_Status: "open" }), expected: "object.nttdm:ticket.TT_Status" },
  { name: "ticket with a wrong TT_ID", input: withTicket({ TT_ID: "01-5985" }), expected: "object.nttdm:ticket.TT_ID" },
  { name: "ticket with an unknown field", input: withTicket({ Severity: "high" }), expected: "object.nttdm:ticket" },
  { name: "closed ticket without close time", input: withTicket({ TT_Status: "Closed", History: "done" }), expected: "object.nttdm:ticket.TT_Close_Datetime" },
  { name: "summary over 1000 characters", input: { ...good(), summary: "x".repeat(1001) }, expected: "summary" },
  { name: "not an object", input: "Create", expected: "" },
];

for (const { name, input, expected } of invalidCases) {
  void test(`TicketActivitySchema rejects: ${name}`, () => {
    const r = TicketActivitySchema.safeParse(input);
    assert.equal(r.success, false);
    const paths = (r.error?.issues ?? []).map((i) => i.path.map(String).join("."));
    assert.ok(paths.includes(expected), `expected an issue at "${expected}", got ${JSON.stringify(paths)}`);
  });
}
