import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import jsonld from "jsonld";
import {
  AS2_CONTEXT,
  activityJson,
  NTTDM_CONTEXT,
  NTTDM_NS,
  TicketActivitySchema,
  activitySummary,
  incidentOf,
  nocActor,
  readTicketActivity,
  withIncident,
  ticketActivity,
  ticketObjectId,
  type ActivityType,
  type TicketActivity,
} from "../../src/model/activity.js";
import { ticketContentHash, type Ticket } from "../../src/model/ticket.js";
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
    "@context": [AS2_CONTEXT, { ...NTTDM_CONTEXT, nttdm: NTTDM_NS }],
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

// ---------------------------------------------------------------------------------------------
// JSON-LD: the NTTDM terms survive expansion (issue 11.7)
// ---------------------------------------------------------------------------------------------

/** The AS2 context, written for these tests from the term list W3C publishes: no network in tests. */
const as2Context: unknown = JSON.parse(readFileSync(new URL("../fixtures/activitystreams-context.jsonld", import.meta.url), "utf8"));
const documentLoader = (url: string): Promise<{ contextUrl: null; documentUrl: string; document: unknown }> => {
  if (url === AS2_CONTEXT || url === `${AS2_CONTEXT}.jsonld`) return Promise.resolve({ contextUrl: null, documentUrl: url, document: as2Context });
  return Promise.reject(new Error(`no network in tests: ${url}`));
};
const N = "urn:ietf:params:xml:ns:nttdm-1.0#";
const AS = "https://www.w3.org/ns/activitystreams#";
type Expanded = Record<string, unknown[]>;
const node = (v: unknown): Expanded => v as Expanded;

void test("JSON-LD expansion keeps TT_ID, TT_Status, impact, times and circuits (in order), and the incident IRI", async () => {
  const ticket = sampleClosedTicket({ Network_Link_Circuit: ["FORTH-2", "FORTH-1"] });
  const activity = withIncident(ticketActivity("Update", ticket, actor, published, "https://noc.grnet.example/tt/5985"), "INC-0123456789ab");
  const [expanded] = (await jsonld.expand(JSON.parse(JSON.stringify(activity)) as jsonld.JsonLdDocument, { documentLoader: documentLoader as never })) as unknown[];
  const top = node(expanded);
  assert.deepEqual(top["@type"], [`${AS}Update`]);
  assert.deepEqual(top[`${AS}context`], [{ "@id": "urn:ttrelay:incident:INC-0123456789ab" }]);
  const object = node(top[`${AS}object`]?.[0]);
  assert.deepEqual(object["@type"], [`${N}TroubleTicket`]);
  const t = node(object[`${N}ticket`]?.[0]);
  assert.deepEqual(t[`${N}TT_ID`], [{ "@value": "01_5985" }]);
  assert.deepEqual(t[`${N}TT_Status`], [{ "@value": "Closed" }]);
  assert.deepEqual(t[`${N}TT_Impact_Assessment`], [{ "@value": "No connectivity" }]);
  assert.deepEqual(t[`${N}TT_Open_Datetime`], [{ "@type": "http://www.w3.org/2001/XMLSchema#dateTime", "@value": "2008-12-16T10:01:15+02:00" }]);
  assert.deepEqual(t[`${N}TT_Close_Datetime`], [{ "@type": "http://www.w3.org/2001/XMLSchema#dateTime", "@value": "2008-12-16T15:05:00+02:00" }]);
  assert.deepEqual(t[`${N}Network_Link_Circuit`], [{ "@list": [{ "@value": "FORTH-2" }, { "@value": "FORTH-1" }] }]);
  // Every field of the ticket is there under its NTTDM IRI.
  for (const field of Object.keys(ticket)) assert.ok(t[`${N}${field}`] !== undefined, `${field} survives expansion`);
});

void test("without the extension context the AS2 context drops the NTTDM fields (why it is embedded)", async () => {
  const activity = JSON.parse(JSON.stringify(ticketActivity("Create", sampleTicket(), actor, published))) as Record<string, unknown>;
  activity["@context"] = AS2_CONTEXT;
  const [expanded] = (await jsonld.expand(activity, { documentLoader: documentLoader as never })) as unknown[];
  assert.equal(JSON.stringify(expanded).includes(`${N}TT_ID`), false);
});

void test("readTicketActivity: peers are read by meaning, not by byte shape", () => {
  const canonical = withIncident(ticketActivity("Create", sampleTicket(), actor, published, "https://noc.grnet.example/tt/5985"), "INC-0123456789ab");
  const wire = (): Record<string, unknown> => JSON.parse(JSON.stringify(canonical)) as Record<string, unknown>;
  const objectOf = (a: Record<string, unknown>): Record<string, unknown> => a.object as Record<string, unknown>;
  const cases: { name: string; input: () => unknown }[] = [
    { name: "as posted", input: wire },
    { name: "contexts reordered", input: () => ({ ...wire(), "@context": [{ nttdm: NTTDM_NS }, AS2_CONTEXT] }) },
    { name: "the earlier namespace and a bare incident id", input: () => ({ ...wire(), "@context": [AS2_CONTEXT, { nttdm: "urn:ietf:rfc:6137#" }], context: "INC-0123456789ab" }) },
    { name: "full-IRI types", input: () => ({ ...wire(), type: `${AS}Create`, object: { ...objectOf(wire()), type: `${N}TroubleTicket` } }) },
    { name: "as: compact types and @id/@type keywords", input: () => { const w = wire(); const { id, type, ...rest } = w; return { ...rest, "@id": id, "@type": `as:${String(type)}` }; } },
    { name: "context as an object", input: () => ({ ...wire(), context: { type: "Collection", id: "urn:ttrelay:incident:INC-0123456789ab" } }) },
    {
      name: "another prefix for the namespace, and full-IRI ticket keys",
      input: () => {
        const w = wire();
        const o = objectOf(w);
        const t = o["nttdm:ticket"] as Record<string, unknown>;
        const { TT_Status, ...rest } = t;
        return { ...w, "@context": [AS2_CONTEXT, { tt: NTTDM_NS }], object: { ...o, "nttdm:ticket": undefined, type: "tt:TroubleTicket", "tt:ticket": { ...rest, [`${N}TT_Status`]: TT_Status } } };
      },
    },
  ];
  for (const { name, input } of cases) {
    const r = readTicketActivity(input());
    assert.ok(r.ok, `${name}: ${r.ok ? "" : r.error}`);
    assert.deepEqual(r.value, canonical, name);
    assert.equal(incidentOf(r.value), "INC-0123456789ab", name);
  }
});

void test("readTicketActivity rejects what means something else, naming where", () => {
  const base = (): Record<string, unknown> => JSON.parse(JSON.stringify(ticketActivity("Create", sampleTicket(), actor, published))) as Record<string, unknown>;
  const cases: { name: string; input: unknown; expected: RegExp }[] = [
    { name: "no AS2 context", input: { ...base(), "@context": [{ nttdm: NTTDM_NS }] }, expected: /^@context: must include the Activity Streams 2\.0 context/ },
    { name: "another namespace for the prefix", input: { ...base(), "@context": [AS2_CONTEXT, { nttdm: "urn:other#" }] }, expected: /^object\.type: / },
    { name: "a Delete", input: { ...base(), type: "Delete" }, expected: /^type: / },
    { name: "a bad status", input: (() => { const b = base(); ((b.object as Record<string, unknown>)["nttdm:ticket"] as Record<string, unknown>).TT_Status = "open"; return b; })(), expected: /^object\.nttdm:ticket\.TT_Status: / },
    { name: "not an object", input: [1, 2], expected: /^\(root\): not a JSON object$/ },
  ];
  for (const { name, input, expected } of cases) {
    const r = readTicketActivity(input);
    assert.equal(r.ok, false, name);
    if (!r.ok) assert.match(r.error, expected, name);
  }
  // A context that is not one of ours (another tool's) is left out, not an error.
  const other = readTicketActivity({ ...base(), context: "https://tracker.example.org/incidents/7" });
  assert.ok(other.ok);
  assert.equal(other.value.context, undefined);
});

void test("activitySummary: what the activity is for the ticket's state", () => {
  const cases: { name: string; input: [ActivityType, Partial<Ticket>]; expected: string }[] = [
    { name: "a new ticket", input: ["Create", { TT_Status: "Opened" }], expected: "GRNET NOC opened 01_5985: Forth Link Failure" },
    { name: "first seen closed", input: ["Create", { TT_Status: "Closed" }], expected: "GRNET NOC reported 01_5985 (closed): Forth Link Failure" },
    { name: "first seen in progress", input: ["Create", { TT_Status: "Updated" }], expected: "GRNET NOC reported 01_5985: Forth Link Failure" },
    { name: "first seen opened and closed", input: ["Create", { TT_Status: "Opened/Closed" }], expected: "GRNET NOC reported 01_5985 (opened/closed): Forth Link Failure" },
    { name: "an update", input: ["Update", { TT_Status: "Updated" }], expected: "GRNET NOC updated 01_5985: Forth Link Failure" },
    { name: "an update that solves it", input: ["Update", { TT_Status: "Solved" }], expected: "GRNET NOC updated 01_5985 (solved): Forth Link Failure" },
  ];
  for (const { name, input, expected } of cases) {
    assert.equal(activitySummary(input[0], sampleTicket(input[1]), actor), expected, name);
    assert.equal(ticketActivity(input[0], sampleTicket(input[1]), actor, published).summary, expected, `${name}: the activity's summary`);
  }
});

void test("activityJson: the text JSON.stringify gives, for the bot's activities and any other", () => {
  const actor = nocActor({ id: "EXN", name: "ExampleNet NOC" });
  const at = new Date("2026-12-02T10:00:00Z");
  const own = ticketActivity("Update", sampleClosedTicket(), actor, at, "https://noc.example.net/tt/1");
  const activities: TicketActivity[] = [
    ticketActivity("Create", sampleTicket(), actor, at),
    own,
    withIncident(own, "INC-0123456789ab"),
    // A peer's, with a context of its own; and ours with "@context" not first.
    { ...own, "@context": [AS2_CONTEXT, { ...NTTDM_CONTEXT, nttdm: NTTDM_NS }] },
    (({ id, ...rest }) => ({ id, ...rest }))(own),
  ];
  for (const a of activities) assert.equal(activityJson(a), JSON.stringify(a));
  // The shared context cannot be changed behind the text written for it.
  assert.throws(() => (own["@context"] as unknown as string[]).push("x"), TypeError);
});
