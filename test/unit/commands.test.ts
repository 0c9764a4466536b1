import { test } from "node:test";
import assert from "node:assert/strict";
import { z } from "zod";
import { commands, createRegistry, registry } from "../../commands/index.js";
import { AclConfigSchema, buildAcl, type ActorIdentity } from "../../src/dispatch/authorize.js";
import { dispatch, engineerActor, type DispatchDeps, type DispatchResult } from "../../src/dispatch/dispatch.js";
import { defineCommand, reply, type IncidentQuery, type IncidentView, type TicketQuery, type TicketView } from "../../src/dispatch/ports.js";
import { validateTicket, type Ticket } from "../../src/model/ticket.js";
import { sampleClosedTicket, sampleTicket } from "../fixtures/tickets.js";

const now = new Date("2024-05-01T10:00:00.000Z");
const NOW = "2024-05-01T10:00:00Z";
const ALICE = "alice@noc.example.net";
const INC = "INC-aaaa11112222";
const OPS = "ops@conference.noc.example.net";

const grnet = (original: string, overrides: Partial<Ticket> = {}): Ticket => sampleTicket({ Partner_ID: "GRNET", Original_ID: original, Affected_Service: "IP Transit", ...overrides });

const views: TicketView[] = [
  { ticket: grnet("5985"), incident: INC, correlation: `opens new incident ${INC}: no stored ticket shares enough with it (threshold 5)`, source: "grnet-feed", link: "https://noc.grnet.example/tt/5985" },
  {
    ticket: grnet("6000", { TT_Status: "Updated", Contact_Engineers: [ALICE], Related_Activity: ["EXN_1043"], TT_Last_Update_Time: "2008-12-16T11:00:00+02:00" }),
    incident: INC,
    correlation: `joins incident ${INC} (score 6 >= threshold 5):\n  - shares circuit "forth-2" with GRNET_5985 (+6)`,
  },
  { ticket: grnet("7000", { TT_Open_Datetime: "2024-05-01T08:00:00Z", Start_Datetime: "2024-05-01T07:55:00Z", TT_Last_Update_Time: "2024-05-01T08:00:00Z", Affected_Service: "DNS" }) },
  { ticket: sampleClosedTicket({ Partner_ID: "GRNET", Original_ID: "5000", Affected_Service: "IP Transit" }) },
  { ticket: sampleTicket({ Partner_ID: "EXN", Original_ID: "1043", Affected_Service: "IP Transit", TT_Title: "Peering down" }) },
];
const incidents: IncidentView[] = [{ id: INC, tickets: ["GRNET_5985", "GRNET_6000"], status: "open", openedAt: "2008-12-16T10:01:15+02:00", partners: ["GRNET"] }];

function queries(list: readonly TicketView[], incs: readonly IncidentView[]): { tickets: TicketQuery; incidents: IncidentQuery } {
  const byId = new Map(list.map((v) => [v.ticket.TT_ID, v]));
  const incById = new Map(incs.map((i) => [i.id, i]));
  return {
    tickets: { ticket: (id) => byId.get(id), tickets: () => byId.values() },
    incidents: { incident: (id) => incById.get(id), incidentIds: () => incById.keys() },
  };
}

const acl = buildAcl(AclConfigSchema.parse({ engineers: ["*@noc.example.net"], customers: ["carol@isp.example"] }), {
  botJid: "ttrelay@noc.example.net",
  ownNoc: "GRNET",
});
const deps: DispatchDeps = { botNick: "ttrelay", acl, registry, ...queries(views, incidents), now, timeZone: "UTC" };

const alice: ActorIdentity = { jid: `${ALICE}/laptop`, via: "groupchat", room: OPS, nick: "alice" };
const carolDm: ActorIdentity = { jid: "carol@isp.example", via: "direct" };

type Reply = Extract<DispatchResult, { kind: "reply" }>;
function run(text: string, actor: ActorIdentity = alice, d: DispatchDeps = deps): Reply {
  const r = dispatch(text, actor, d);
  if (r.kind !== "reply") assert.fail(`${text}: expected a reply, got ${r.kind}`);
  return r;
}
function accepted(text: string, actor: ActorIdentity = alice): Reply & { change: NonNullable<Reply["change"]> } {
  const r = run(text, actor);
  assert.equal(r.audit.outcome, "accepted", `${text}: ${r.reply}`);
  if (r.change === undefined) assert.fail(`${text}: expected a change`);
  assert.ok(validateTicket(r.change.ticket, "open").ok);
  return { ...r, change: r.change };
}
const lastHistory = (t: Ticket): string => t.History.split("\n").at(-1) ?? "";

// ---------------------------------------------------------------------------------------------
// Happy paths
// ---------------------------------------------------------------------------------------------

void test("ack: History, Contact_Engineers, reply, audit", () => {
  const r = accepted("!ack 5985 on it");
  assert.equal(r.reply, `*GRNET_5985* acknowledged by ${ALICE}.`);
  assert.equal(r.change.verb, "acknowledged");
  assert.equal(r.change.actor, ALICE);
  assert.equal(r.change.previous.TT_ID, "GRNET_5985");
  assert.equal(lastHistory(r.change.ticket), `${NOW} ${ALICE}: acknowledged: on it`);
  assert.deepEqual(r.audit, {
    at: now.toISOString(),
    actor: ALICE,
    nick: "alice",
    room: OPS,
    via: "groupchat",
    command: "ack",
    argv: ["5985", "on", "it"],
    outcome: "accepted",
    reason: "acknowledged",
    role: "engineer",
    ticket: "GRNET_5985",
  });
  // Every prefix form and the alias reach the same command.
  for (const text of ["/ack GRNET_5985", "//ack grnet-5985", "ttrelay: ack 5985", "TTRELAY, acknowledge 5985"]) {
    assert.equal(accepted(text).change.verb, "acknowledged", text);
  }
});

void test("update: free text with quotes and newlines, status Updated", () => {
  const r = accepted('!update GRNET_5985 "crew on site"');
  assert.equal(lastHistory(r.change.ticket), `${NOW} ${ALICE}: crew on site`);
  assert.equal(r.change.ticket.TT_Status, "Updated");
  const multi = accepted("!update 5985 line one\nline two");
  assert.equal(lastHistory(multi.change.ticket), `${NOW} ${ALICE}: line one / line two`);
});

void test("close: closed, solved, superseded with a master, cancelled", () => {
  const closed = accepted("!close 5985 transmitter replaced");
  assert.equal(closed.change.ticket.TT_Status, "Closed");
  assert.equal(closed.change.ticket.Close_Engineer, ALICE);
  assert.equal(lastHistory(closed.change.ticket), `${NOW} ${ALICE}: closed: transmitter replaced`);
  assert.equal(closed.reply, "*GRNET_5985* is now Closed.");

  const solved = accepted("!close 5985 solved");
  assert.equal(solved.change.ticket.TT_Status, "Solved");
  assert.equal(solved.change.verb, "solved");

  const sup = accepted("!close 5985 superseded 6000 merged into one");
  assert.equal(sup.change.ticket.TT_Status, "Superseded");
  assert.deepEqual(sup.change.ticket.Related_Activity, ["GRNET_6000"]);
  assert.equal(lastHistory(sup.change.ticket), `${NOW} ${ALICE}: superseded by GRNET_6000: merged into one`);
  assert.equal(sup.reply, "*GRNET_5985* is now Superseded (→ GRNET_6000).");

  const can = accepted("!close 5985 CANCELLED GRNET_6000");
  assert.equal(can.change.ticket.TT_Status, "Cancelled");

  const again = run("!close 5000");
  assert.equal(again.audit.outcome, "failed");
  assert.equal(again.reply, "GRNET_5000 is already Closed.");
  assert.equal(again.change, undefined);
});

void test("reopen: a closed ticket", () => {
  const r = accepted("!reopen 5000 flapping again");
  assert.equal(r.change.ticket.TT_Status, "Reopened");
  assert.equal(r.change.ticket.TT_Close_Datetime, undefined);
  assert.equal(r.reply, `*GRNET_5000* reopened by ${ALICE}.`);
});

void test("assign: me, a name with spaces", () => {
  assert.deepEqual(accepted("!assign 5985 me").change.ticket.Contact_Engineers?.[0], ALICE);
  const bob = accepted("!assign 5985 Bob Smith");
  assert.equal(bob.change.ticket.Contact_Engineers?.[0], "Bob Smith");
  assert.equal(bob.reply, "*GRNET_5985* assigned to Bob Smith.");
});

void test("link: to a ticket, to an incident (its oldest member); unlink", () => {
  const t = accepted("!link 5985 7000");
  assert.deepEqual(t.change.ticket.Related_Activity, ["GRNET_7000"]);
  const inc = accepted(`!link 7000 ${INC}`);
  assert.deepEqual(inc.change.ticket.Related_Activity, ["GRNET_5985"]);
  assert.equal(inc.reply, `*GRNET_7000* linked to GRNET_5985 (incident ${INC}).`);
  const already = run(`!link 5985 inc-aaaa`);
  assert.equal(already.reply, `GRNET_5985 is already in incident ${INC}.`);

  const un = accepted("!unlink 6000");
  assert.equal(un.change.ticket.Related_Activity, undefined);
  assert.equal(un.reply, "*GRNET_6000* unlinked from everything.");
  const one = accepted("!unlink 6000 EXN_1043");
  assert.equal(one.reply, "*GRNET_6000* unlinked from EXN_1043.");
  assert.equal(run("!unlink 5985").audit.outcome, "failed");
});

void test("status: per service overview, one service grouped by incident, nothing", () => {
  const all = run("!status", alice);
  assert.equal(all.audit.outcome, "accepted");
  assert.equal(all.change, undefined);
  assert.equal(
    all.reply,
    ["*4 open tickets* in 3 incidents:", "• IP Transit: 3 open tickets in 2 incidents", "• DNS: 1 open ticket in 1 incident", "For one service: !status <service>."].join("\n"),
  );
  const ip = run("!status ip  TRANSIT").reply;
  assert.match(ip, /^\*IP Transit\*: 3 open tickets in 2 incidents \(NOCs: EXN, GRNET\)/u);
  assert.match(ip, new RegExp(`\\*${INC}\\* \\(2 open tickets, since 2008-12-16 08:01 UTC\\)`, "u"));
  assert.match(ip, / {2}• \*GRNET_6000\* Updated/u);
  assert.match(ip, /\*EXN_1043\* Opened · No connectivity · Peering down \(IP Transit\)/u);
  assert.doesNotMatch(ip, /GRNET_5000/u, "closed tickets are not listed");
  assert.match(run("!status transit").reply, /^\*IP Transit\*/u, "a part of the name matches");
  assert.equal(run('!status "ip transit"').reply, ip, "quotes are optional");
  assert.equal(run("!status VoIP").reply, "No open tickets for “VoIP”.");
  // Customers may ask by direct message.
  assert.equal(run("status dns", carolDm).audit.outcome, "accepted");
});

void test("show: a ticket with history and correlation; an incident", () => {
  const t = run("!show 5985").reply;
  for (const part of [
    "*GRNET_5985* · Opened · No connectivity · priority High",
    "*Forth Link Failure*",
    "Service: IP Transit · Location: HERAKLION",
    "Nodes: FORTH · Circuits: FORTH-2",
    `Incident: ${INC} · From: grnet-feed · https://noc.grnet.example/tt/5985`,
    `Correlation: opens new incident ${INC}`,
    "History:\n> Link down, detected by monitoring",
    "Description:\n> Forth Link Failure",
  ]) {
    assert.ok(t.includes(part), `show contains ${JSON.stringify(part)}:\n${t}`);
  }
  const i = run(`!show ${INC.toLowerCase()}`).reply;
  assert.match(i, new RegExp(`^\\*${INC}\\* · open · since 2008-12-16 08:01 UTC · NOCs: GRNET\\n2 tickets:`, "u"));
  assert.match(i, /• \*GRNET_6000\* Updated .*\n {2}joins incident/u);
});

void test("list: open (default), mine, today", () => {
  const open = run("!list").reply;
  assert.match(open, /^\*4 open tickets:\*/u);
  assert.ok(open.indexOf("GRNET_7000") < open.indexOf("GRNET_6000"), "newest update first");
  assert.equal(run("!list mine").reply, "*Your open ticket (1):*\n• *GRNET_6000* Updated · No connectivity · Forth Link Failure (IP Transit)");
  assert.equal(run("!list TODAY").reply, "*1 ticket opened or updated today:*\n• *GRNET_7000* Opened · No connectivity · Forth Link Failure (DNS)");
  assert.equal(run("list mine", carolDm).reply, "You have no open tickets.");
});

void test("help: the commands the asker may use; one command", () => {
  const engineerHelp = run("!help").reply;
  for (const c of commands) assert.ok(engineerHelp.includes(`!${c.usage}`), `engineer help lists ${c.name}`);
  const customerHelp = run("help", carolDm).reply;
  for (const c of commands) assert.equal(customerHelp.includes(`• ${c.usage}:`), c.role === "customer", `customer help and ${c.name}`);
  assert.equal(run("!help ack").reply, "Usage: !ack <ticket> [note…]\nacknowledge a ticket: you are on it\nAlso: !acknowledge\nFor NOC engineers.");
  assert.equal(run("!help !close").reply.split("\n")[0], "Usage: !close <ticket> [solved|closed|cancelled <ticket>|superseded <master>] [reason…]");
  const nope = run("!help frobnicate");
  assert.equal(nope.reply, "There is no command “frobnicate”. Try !help for the list.");
  assert.equal(nope.audit.outcome, "failed");
});

// ---------------------------------------------------------------------------------------------
// Wrong calls and unknown tickets: answered, nothing changed
// ---------------------------------------------------------------------------------------------

void test("wrong arguments answer with the usage line", () => {
  const table: [string, string][] = [
    ["!ack", "Usage: !ack <ticket> [note…] (missing ticket)"],
    ["!update 5985", "Usage: !update <ticket> <text…> (missing text)"],
    ["!close 5985 superseded", "Usage: !close <ticket> [solved|closed|cancelled <ticket>|superseded <master>] [reason…] (superseded needs the master ticket)"],
    ["!close 5985 cancel", "Usage: !close <ticket> [solved|closed|cancelled <ticket>|superseded <master>] [reason…] (cancelled needs the ticket it duplicates)"],
    ["!reopen", "Usage: !reopen <ticket> [reason…] (missing ticket)"],
    ["!assign 5985", "Usage: !assign <ticket> <engineer|me> (missing engineer)"],
    ["!link 5985", "Usage: !link <ticket> <ticket|incident> (missing other)"],
    ["!link 5985 6000 7000", "Usage: !link <ticket> <ticket|incident> (too many arguments)"],
    ["!unlink 5985 6000 7000", "Usage: !unlink <ticket> [<ticket>] (too many arguments)"],
    ["!show", "Usage: !show <ticket|incident> (missing ref)"],
    ["!show 5985 6000", "Usage: !show <ticket|incident> (too many arguments)"],
    ["!list everything", 'Usage: !list [open|mine|today] (Invalid option: expected one of "open"|"mine"|"today")'],
    ["!help ack close", "Usage: !help [command] (too many arguments)"],
    [`!ack "${"x".repeat(250)}"`, "Usage: !ack <ticket> [note…] (ticket is too long)"],
  ];
  for (const [text, expected] of table) {
    const r = run(text);
    assert.equal(r.reply, expected, text);
    assert.equal(r.audit.outcome, "invalid", text);
    assert.equal(r.change, undefined, text);
  }
});

void test("unknown, ambiguous and wrong-kind ticket ids", () => {
  const unknown = run("!ack 99999");
  assert.equal(unknown.reply, "I don't know any ticket “99999”. Try !list to see the open tickets.");
  assert.equal(unknown.audit.outcome, "failed");
  assert.equal(unknown.change, undefined);
  assert.match(run("!close 5985 superseded 424242").reply, /I don't know any ticket “424242”/u);
  assert.match(run(`!ack ${INC}`).reply, /is an incident; this needs a ticket id/u);
  assert.match(run("!show INC-ffff00001111").reply, /I don't know any ticket or incident/u);

  const twin = { ...deps, ...queries([...views, { ticket: sampleTicket({ Partner_ID: "GEANT", Original_ID: "5985" }) }], incidents) };
  const amb = run("!ack 5985", alice, twin);
  assert.equal(amb.reply, "“5985” could be GEANT_5985, GRNET_5985. Please give the full id.");
  assert.equal(amb.audit.outcome, "invalid");
});

void test("refusals: another NOC's ticket, customers, strangers, spoofed nicknames", () => {
  const other = run("!ack EXN_1043");
  assert.equal(other.audit.outcome, "refused");
  assert.equal(other.audit.ticket, "EXN_1043");
  assert.equal(other.change, undefined);
  assert.match(other.reply, /belongs to NOC EXN; you may change tickets of GRNET only/u);

  const customerInRoom = run("!status", { jid: "carol@isp.example", via: "groupchat", room: OPS, nick: "carol" });
  assert.match(customerInRoom.reply, /direct message only/u);
  assert.equal(customerInRoom.audit.outcome, "refused");
  assert.match(run("ack 5985", carolDm).reply, /“ack” is for NOC engineers/u);

  const spoof = run("!ack 5985", { jid: "mallory@evil.example/x", via: "groupchat", room: OPS, nick: "alice" });
  assert.equal(spoof.audit.outcome, "refused");
  assert.equal(spoof.audit.actor, "mallory@evil.example");
  assert.equal(spoof.change, undefined);
  const anonymous = run("!ack 5985", { jid: undefined, via: "groupchat", room: OPS, nick: "alice", affiliation: "owner" });
  assert.equal(anonymous.audit.outcome, "refused");
});

void test("the bot itself, unknown commands, not-commands, bad text", () => {
  const self = dispatch("!ack 5985", { jid: "ttrelay@noc.example.net/ttrelay", via: "groupchat", room: OPS, nick: "ttrelay" }, deps);
  assert.equal(self.kind, "ignored");
  assert.equal(dispatch("!ack 5985\u0000", { jid: "ttrelay@noc.example.net", via: "direct" }, deps).kind, "ignored");

  const otherBot = dispatch("!weather Athens", alice, deps);
  assert.equal(otherBot.kind, "ignored", "an unknown !command in a room may be another bot's");
  assert.ok(otherBot.kind === "ignored" && otherBot.audit.outcome === "ignored");
  assert.equal(run("ttrelay: weather").reply, "Unknown command “weather”. Try !help for the list.");
  assert.equal(run("weather", carolDm).reply, "Unknown command “weather”. Try “help” for the list.");
  assert.equal(run("ttrelay:").reply, "Yes? Try !help to see what I can do.");

  assert.deepEqual(dispatch("the link is back", alice, deps), { kind: "none" });
  assert.deepEqual(dispatch("/me looks at it", alice, deps), { kind: "none" });

  const long = run("!update 5985 " + "x".repeat(5000));
  assert.equal(long.audit.outcome, "invalid");
  assert.match(long.reply, /too long for a command/u);
  assert.deepEqual(long.audit.argv, []);
  assert.match(run("!ack 5985 \u001b[2J").reply, /control character \(U\+001B\)/u);
});

void test("a command that throws: a polite answer, nothing changed, the error kept", () => {
  const boom = defineCommand({
    name: "boom",
    usage: "boom",
    summary: "throws",
    role: "customer",
    mutates: false,
    args: z.strictObject({}),
    parseArgs: () => ({}),
    run: () => {
      throw new Error("kaput");
    },
  });
  const r = run("!boom", alice, { ...deps, registry: createRegistry([boom]) });
  assert.equal(r.audit.outcome, "failed");
  assert.equal(r.audit.reason, "exception: kaput");
  assert.match(r.reply, /^Sorry, something went wrong while running “boom”\. Nothing was changed/u);
  assert.ok(r.cause instanceof Error);
});

// ---------------------------------------------------------------------------------------------
// Registry
// ---------------------------------------------------------------------------------------------

const stub = (name: string, aliases: string[] = []): ReturnType<typeof defineCommand> =>
  defineCommand({ name, aliases, usage: name, summary: name, role: "customer", mutates: false, args: z.strictObject({}), parseArgs: () => ({}), run: () => reply("ok") });

void test("registry: lookup by name or alias, any case; duplicates and untypable names throw", () => {
  assert.equal(registry.lookup("ACK")?.name, "ack");
  assert.equal(registry.lookup("acknowledge")?.name, "ack");
  assert.equal(registry.lookup("ls")?.name, "list");
  assert.equal(registry.lookup("nope"), undefined);
  assert.equal(registry.lookup("constructor"), undefined);
  assert.deepEqual(
    registry.list().map((c) => c.name),
    ["status", "list", "show", "ack", "update", "assign", "close", "reopen", "link", "unlink", "updates", "help"],
  );
  assert.throws(() => createRegistry([stub("ack"), stub("ack")]), /"ack" of ack is already used by ack/u);
  assert.throws(() => createRegistry([stub("ack"), stub("Ack")]), /already used/u);
  assert.throws(() => createRegistry([stub("ack", ["a"]), stub("a")]), /"a" of a is already used by ack/u);
  assert.throws(() => createRegistry([stub("x", ["x"])]), /already used/u);
  assert.throws(() => createRegistry([stub("two words")]), /cannot be typed/u);
  assert.throws(() => createRegistry([stub("?")]), /cannot be typed/u);
  assert.doesNotThrow(() => createRegistry(commands));
});

void test("every command: read-only ones are customer commands, mutating ones need engineers", () => {
  for (const c of commands) {
    assert.equal(c.role, c.mutates ? "engineer" : "customer", c.name);
    assert.ok(c.usage.startsWith(c.name), `${c.name}: usage starts with the name`);
  }
});

void test("engineerActor: the AS2 actor for a change", () => {
  assert.deepEqual(engineerActor("Alice@NOC.example.net/laptop", "alice"), { type: "Person", id: "xmpp:alice@noc.example.net", name: "alice" });
  assert.deepEqual(engineerActor("alice@noc.example.net"), { type: "Person", id: "xmpp:alice@noc.example.net", name: "alice@noc.example.net" });
});

void test("status: services in maintenance now and planned in the next 24 h; updates: a room setting, as an effect", () => {
  const planned = (original: string, start: string, end: string): TicketView => ({
    ticket: sampleTicket({ Partner_ID: "NL", Original_ID: original, Type: "Scheduled", Affected_Service: "IP Transit", TT_Title: `Fibre work ${original}`, Time_Window_Start: start, Time_Window_End: end }),
  });
  const list = [...views, planned("1", "2024-05-01T09:00:00Z", "2024-05-01T11:00:00Z"), planned("2", "2024-05-01T22:00:00Z", "2024-05-02T02:00:00Z"), planned("3", "2024-05-09T22:00:00Z", "2024-05-10T02:00:00Z")];
  const d: DispatchDeps = { ...deps, ...queries(list, incidents) };
  const all = run("!status", alice, d).reply;
  assert.match(all, /\*In maintenance now:\*\n {2}• \*NL_1\* IP Transit: Fibre work 1 \(2024-05-01 09:00 UTC – 2024-05-01 11:00 UTC\)/);
  assert.match(all, /\*Planned in the next 24 h:\*\n {2}• \*NL_2\* IP Transit: Fibre work 2/);
  assert.doesNotMatch(all, /NL_3/, "a week ahead is not in the next 24 h");
  assert.match(run("!status ip transit", alice, d).reply, /In maintenance now:\*\n {2}• \*NL_1\*/);
  assert.doesNotMatch(run("!status dns", alice, d).reply, /maintenance/, "another service: none");

  const settings = { roomSetting: (room: string) => (room === OPS ? "full" : undefined) };
  const shown = run("!updates", alice, { ...deps, settings });
  assert.match(shown.reply, /shown as full ticket cards/);
  assert.equal(shown.effects, undefined);
  const change = run("!updates compact", alice, { ...deps, settings });
  assert.deepEqual(change.effects, [{ kind: "room-setting", room: OPS, name: "updates", value: "compact" }]);
  assert.equal(change.audit.outcome, "accepted");
  const dm = run("updates full", { jid: ALICE, via: "direct" });
  assert.equal(dm.reply, "“updates” is set per room: say !updates in the room it is for, or send it to me privately through that room.");
  assert.equal(dm.audit.outcome, "invalid");
  assert.equal(dm.effects, undefined);
  assert.equal(run("!updates sideways").audit.outcome, "invalid");
});

// ---------------------------------------------------------------------------------------------
// Typos, channels, repeats
// ---------------------------------------------------------------------------------------------

const CLOSE_USAGE = "Usage: !close <ticket> [solved|closed|cancelled <ticket>|superseded <master>] [reason…]";

void test("close: a typo of an outcome is refused with a did-you-mean; exact outcomes and ordinary reasons work", () => {
  const refused: { input: string; expected: string }[] = [
    { input: "!close 5985 solvd", expected: `${CLOSE_USAGE} (“solvd” is not an outcome: did you mean solved? To give it as the reason, put the reason in quotes)` },
    { input: "!close 5985 cancled 6000", expected: `${CLOSE_USAGE} (“cancled” is not an outcome: did you mean cancelled? To give it as the reason, put the reason in quotes)` },
    { input: "!close 5985 Sovled fibre spliced", expected: `${CLOSE_USAGE} (“Sovled” is not an outcome: did you mean solved? To give it as the reason, put the reason in quotes)` },
    { input: "!close 5985 superceded 6000", expected: `${CLOSE_USAGE} (“superceded” is not an outcome: did you mean superseded? To give it as the reason, put the reason in quotes)` },
    { input: "!close 5985 closd", expected: `${CLOSE_USAGE} (“closd” is not an outcome: did you mean closed? To give it as the reason, put the reason in quotes)` },
  ];
  for (const { input, expected } of refused) {
    const r = run(input);
    assert.equal(r.reply, expected, input);
    assert.equal(r.audit.outcome, "invalid", input);
    assert.equal(r.change, undefined, input);
  }
  const accepted_: { input: string; status: string; history: string }[] = [
    { input: "!close 5985 frobbed reason", status: "Closed", history: "closed: frobbed reason" },
    { input: "!close 5985 resolved by the carrier", status: "Closed", history: "closed: resolved by the carrier" },
    { input: "!close 5985 canceled 6000", status: "Cancelled", history: "cancelled as a duplicate of GRNET_6000" },
    { input: '!close 5985 "closes itself"', status: "Closed", history: "closed: closes itself" },
    { input: '!close 5985 "solvd" said the carrier', status: "Closed", history: 'closed: "solvd" said the carrier' },
    { input: "!close 5985 SOLVED", status: "Solved", history: "solved" },
  ];
  for (const { input, status, history } of accepted_) {
    const r = accepted(input);
    assert.equal(r.change.ticket.TT_Status, status, input);
    assert.equal(lastHistory(r.change.ticket), `${NOW} ${ALICE}: ${history}`, input);
  }
});

void test("replies name commands the way the channel takes them: !x in a room, “x” in a direct chat, the “x” command in a form", () => {
  const dm: ActorIdentity = { jid: ALICE, via: "direct" };
  const priv: ActorIdentity = { jid: ALICE, via: "muc-private", room: OPS, nick: "alice" };
  const form: ActorIdentity = { jid: ALICE, via: "adhoc" };
  const cases: { name: string; input: [string, ActorIdentity]; expected: string }[] = [
    { name: "status hint, room", input: ["!status", alice], expected: "For one service: !status <service>." },
    { name: "status hint, direct", input: ["status", dm], expected: "For one service: “status <service>”." },
    { name: "status hint, ad-hoc", input: ["status", form], expected: "For one service: the “status” command (<service>)." },
    { name: "unknown ticket, direct", input: ["ack 99999", dm], expected: "I don't know any ticket “99999”. Try “list” to see the open tickets." },
    { name: "unknown ticket, ad-hoc", input: ["ack 99999", form], expected: "I don't know any ticket “99999”. Try the “list” command to see the open tickets." },
    { name: "incident for a ticket, private", input: [`ack ${INC}`, priv], expected: `${INC} is an incident; this needs a ticket id. Try “show ${INC}” to see its tickets.` },
    { name: "usage, direct", input: ["ack", dm], expected: "Usage: ack <ticket> [note…] (missing ticket)" },
    { name: "help one, direct", input: ["help ack", dm], expected: "Usage: ack <ticket> [note…]\nacknowledge a ticket: you are on it\nAlso: acknowledge\nFor NOC engineers." },
    { name: "unknown, direct", input: ["frobnicate", dm], expected: "Unknown command “frobnicate”. Try “help” for the list." },
    { name: "updates in the room", input: ["!updates", alice], expected: "Ticket updates in this room are shown compact, as a line in the ticket's thread. Change it with !updates full." },
    { name: "updates, private through the room", input: ["updates", priv], expected: "Ticket updates in this room are shown compact, as a line in the ticket's thread. Change it with “updates full”." },
    { name: "updates, ad-hoc without a room", input: ["updates full", form], expected: "“updates” is set per room: say !updates in the room it is for, or open my commands from that room's participant list." },
  ];
  for (const { name, input, expected } of cases) {
    const r = run(...input);
    const shown = name.startsWith("status hint") ? (r.reply.split("\n").at(-1) ?? "") : r.reply;
    assert.equal(shown, expected, name);
  }
  const help = (who: ActorIdentity): string => run(who.via === "groupchat" ? "!help" : "help", who).reply;
  assert.match(help(alice), /^• !ack <ticket> \[note…\]: /mu);
  assert.match(help(alice), /^Start a command with ! /mu);
  assert.match(help(dm), /^• ack <ticket> \[note…\]: /mu);
  assert.doesNotMatch(help(dm), /^• !/mu, "no ! in a direct chat");
  assert.match(help(dm), /^• updates \[compact\|full\]: .* \(in a room\)$/mu);
  assert.match(help(dm), /^Here no prefix is needed/mu);
  assert.doesNotMatch(help(form), /^• !/mu, "no ! in a form");
  assert.doesNotMatch(help(priv), /\(in a room\)/u, "through a room, updates works");
});

void test("unknown commands: in a room, answered only when they are a likely typo of ours; elsewhere always", () => {
  const table: { input: [string, ActorIdentity]; expected: string | undefined }[] = [
    { input: ["!weather Athens", alice], expected: undefined },
    { input: ["!updaet 5985 on site", alice], expected: "Unknown command “updaet”. Did you mean !update? Try !help for the list." },
    { input: ["!stauts", alice], expected: "Unknown command “stauts”. Did you mean !status? Try !help for the list." },
    { input: ["//shwo 5985", alice], expected: "Unknown command “shwo”. Did you mean !show? Try !help for the list." },
    { input: ["!akc 5985", alice], expected: undefined },
    { input: ["ttrelay: weather", alice], expected: "Unknown command “weather”. Try !help for the list." },
    { input: ["stauts", carolDm], expected: "Unknown command “stauts”. Did you mean “status”? Try “help” for the list." },
  ];
  for (const { input, expected } of table) {
    const r = dispatch(input[0], input[1], deps);
    if (expected === undefined) {
      assert.equal(r.kind, "ignored", input[0]);
      continue;
    }
    assert.ok(r.kind === "reply", input[0]);
    assert.equal(r.reply, expected, input[0]);
    assert.equal(r.audit.outcome, "invalid", input[0]);
  }
  assert.equal(run("!help stauts").reply, "There is no command “stauts”. Did you mean !status? Try !help for the list.");
});

void test("repeats: a second ack, assign or identical update by the same engineer changes nothing", () => {
  const t0 = "2024-05-01T09:55:00Z";
  const acked = grnet("8000", { TT_Status: "Updated", Contact_Engineers: [ALICE], History: `${t0} ${ALICE}: acknowledged: on it` });
  const reopened = grnet("8001", { TT_Status: "Reopened", Contact_Engineers: [ALICE], History: `${t0} ${ALICE}: acknowledged\n2024-05-01T09:58:00Z bob@noc.example.net: reopened (was Closed since 2024-05-01T09:57:00Z)` });
  const byBob = grnet("8002", { TT_Status: "Updated", Contact_Engineers: [ALICE, "bob@noc.example.net"], History: `${t0} bob@noc.example.net: acknowledged` });
  const assigned = grnet("8003", { TT_Status: "Updated", Contact_Engineers: ["Bob Smith", ALICE], History: `${t0} ${ALICE}: assigned to Bob Smith` });
  const updated = grnet("8004", { TT_Status: "Updated", History: `2024-05-01T09:58:00Z ${ALICE}: carrier on site` });
  const oldUpdate = grnet("8005", { TT_Status: "Updated", History: `2024-05-01T09:00:00Z ${ALICE}: carrier on site` });
  const d: DispatchDeps = { ...deps, ...queries([...views, ...[acked, reopened, byBob, assigned, updated, oldUpdate].map((ticket) => ({ ticket }))], incidents) };

  const noOps: { input: [string, ActorIdentity]; expected: string }[] = [
    { input: ["!ack 8000", alice], expected: "*GRNET_8000* is already acknowledged by you at 2024-05-01 09:55 UTC; nothing changed." },
    { input: ["ack 8000 more words", { jid: ALICE, via: "direct" }], expected: "*GRNET_8000* is already acknowledged by you at 2024-05-01 09:55 UTC; nothing changed. Your note was not added: “update GRNET_8000 <text>” adds one." },
    { input: ["!assign 8003 bob smith", alice], expected: "*GRNET_8003* is already assigned to Bob Smith; nothing changed." },
    { input: ["!update 8004 carrier on site", alice], expected: "*GRNET_8004* already has this update from you, at 2024-05-01 09:58 UTC; nothing changed." },
  ];
  for (const { input, expected } of noOps) {
    const r = run(input[0], input[1], d);
    assert.equal(r.reply, expected, input[0]);
    assert.equal(r.change, undefined, `${input[0]}: no change to post or write back`);
    assert.equal(r.audit.outcome, "accepted", input[0]);
  }
  const changes = ["!ack 8001", "!ack 8002", "!assign 8003 me", "!update 8004 carrier left", "!update 8005 carrier on site"];
  for (const text of changes) assert.ok(run(text, alice, d).change !== undefined, `${text} is a real change`);
  assert.equal(run("!ack 5000", alice, d).audit.outcome, "failed", "a closed ticket still says why it can't be acked");
});
