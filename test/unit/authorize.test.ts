import { test } from "node:test";
import assert from "node:assert/strict";
import {
  AclConfigSchema,
  authorize,
  buildAcl,
  grantFor,
  matchJid,
  type ActorIdentity,
  type AuthDecision,
  type CommandPolicy,
} from "../../src/dispatch/authorize.js";

const OPS = "ops@conference.noc.example.net";
const SHARED = "shared@conference.geant.example";

const acl = buildAcl(
  AclConfigSchema.parse({
    admins: ["boss@noc.example.net"],
    engineers: ["*@noc.example.net"],
    customers: ["*@customer.example.com", "carol@isp.example"],
    rooms: {
      [OPS]: { engineers: ["dave@partner.example"], affiliations: ["owner", "admin", "member"] },
      "Shared@Conference.GEANT.example": { engineers: ["erin@geant.example"], affiliations: ["owner"], nocs: ["GEANT", "GRNET"] },
    },
  }),
  { botJid: "TTRelay@noc.example.net/bot", ownNoc: "GRNET" },
);

const ack: CommandPolicy = { name: "ack", role: "engineer", mutates: true };
const status: CommandPolicy = { name: "status", role: "customer", mutates: false };
const purge: CommandPolicy = { name: "purge", role: "admin", mutates: true };
/** Declared as a customer command but changes tickets: mutating always needs an engineer. */
const sneaky: CommandPolicy = { name: "sneaky", role: "customer", mutates: true };

const inOps = (jid: string | undefined, extra: Partial<ActorIdentity> = {}): ActorIdentity => ({ jid, via: "groupchat", room: OPS, ...extra });
const inShared = (jid: string | undefined, extra: Partial<ActorIdentity> = {}): ActorIdentity => ({ jid, via: "groupchat", room: SHARED, ...extra });
const dm = (jid: string | undefined): ActorIdentity => ({ jid, via: "direct" });

type Expect = "engineer" | "admin" | "customer" | "deny" | "ignore";

function outcome(d: AuthDecision): Expect {
  return d.kind === "allow" ? d.role : d.kind;
}

void test("authorize: actor × command × channel", () => {
  const table: [string, ActorIdentity, CommandPolicy, string | undefined, Expect][] = [
    // engineers by global pattern
    ["engineer in a room", inOps("alice@noc.example.net"), ack, undefined, "engineer"],
    ["engineer, own NOC's ticket", inOps("alice@noc.example.net"), ack, "GRNET", "engineer"],
    ["engineer, own NOC's ticket (case)", inOps("alice@noc.example.net"), ack, "grnet", "engineer"],
    ["engineer, another NOC's ticket", inOps("alice@noc.example.net"), ack, "EXN", "deny"],
    ["engineer reading another NOC's ticket", inOps("alice@noc.example.net"), status, "EXN", "engineer"],
    ["engineer by direct message", dm("alice@noc.example.net"), ack, "GRNET", "engineer"],
    ["engineer, full JID with resource and capitals", inOps("Alice@NOC.example.net/phone"), ack, undefined, "engineer"],
    ["engineer in an unconfigured room", { jid: "alice@noc.example.net", via: "groupchat", room: "other@muc.example" }, ack, undefined, "engineer"],
    ["engineer in a MUC private message", { jid: "alice@noc.example.net", via: "muc-private", room: OPS }, ack, undefined, "engineer"],
    ["engineer by ad-hoc command", { jid: "alice@noc.example.net", via: "adhoc" }, ack, undefined, "engineer"],
    ["engineer needs admin", inOps("alice@noc.example.net"), purge, undefined, "deny"],
    // lookalike domains
    ["subdomain lookalike", inOps("alice@noc.example.net.evil.com"), ack, undefined, "deny"],
    ["prefix lookalike", inOps("alice@evilnoc.example.net"), ack, undefined, "deny"],
    // spoofed nicknames: the nick says one thing, the real JID another
    ["nick of an engineer, stranger's JID", inOps("mallory@evil.example", { nick: "alice" }), ack, undefined, "deny"],
    ["nick of the bot, stranger's JID", inOps("mallory@evil.example", { nick: "ttrelay" }), ack, undefined, "deny"],
    ["nick of a stranger, engineer's JID", inOps("alice@noc.example.net", { nick: "mallory" }), ack, undefined, "engineer"],
    // real JID unknown (semi-anonymous room): no, whatever the affiliation or nick
    ["unknown JID, owner affiliation", inOps(undefined, { affiliation: "owner", nick: "alice" }), ack, undefined, "deny"],
    ["unknown JID, read-only", inOps(undefined), status, undefined, "deny"],
    ["empty JID", inOps(""), status, undefined, "deny"],
    ["domain-only JID", dm("noc.example.net"), status, undefined, "deny"],
    // the bot itself
    ["the bot", inOps("ttrelay@noc.example.net"), ack, undefined, "ignore"],
    ["the bot, other resource and case", dm("TTRELAY@noc.example.net/other"), status, undefined, "ignore"],
    // room affiliation grants engineer in that room only
    ["member of ops", inOps("frank@elsewhere.example", { affiliation: "member" }), ack, "GRNET", "engineer"],
    ["member of ops, other NOC", inOps("frank@elsewhere.example", { affiliation: "member" }), ack, "EXN", "deny"],
    ["participant of ops (no affiliation)", inOps("frank@elsewhere.example", { affiliation: "none" }), ack, undefined, "deny"],
    ["outcast of ops", inOps("frank@elsewhere.example", { affiliation: "outcast" }), status, undefined, "deny"],
    ["member of shared (only owners count there)", inShared("frank@elsewhere.example", { affiliation: "member" }), ack, undefined, "deny"],
    ["owner of shared", inShared("frank@elsewhere.example", { affiliation: "owner" }), ack, "GEANT", "engineer"],
    ["affiliation does not follow into a direct message", { jid: "frank@elsewhere.example", via: "direct", affiliation: "owner" }, ack, undefined, "deny"],
    // room patterns: that room, and direct messages (with that room's NOCs)
    ["room engineer in their room", inOps("dave@partner.example"), ack, "GRNET", "engineer"],
    ["room engineer in another room", inShared("dave@partner.example"), ack, undefined, "deny"],
    ["room engineer by direct message", dm("dave@partner.example"), ack, "GRNET", "engineer"],
    ["room engineer by direct message, other NOC", dm("dave@partner.example"), ack, "GEANT", "deny"],
    ["shared engineer, listed NOC", inShared("erin@geant.example"), ack, "GEANT", "engineer"],
    ["shared engineer, other listed NOC", inShared("erin@geant.example"), ack, "GRNET", "engineer"],
    ["shared engineer, unlisted NOC", inShared("erin@geant.example"), ack, "EXN", "deny"],
    ["shared engineer in ops", inOps("erin@geant.example"), status, undefined, "deny"],
    // customers: read-only, direct messages only
    ["customer, status by DM", dm("carol@isp.example"), status, undefined, "customer"],
    ["customer by pattern", dm("bob@customer.example.com"), status, undefined, "customer"],
    ["customer in a room", inOps("carol@isp.example"), status, undefined, "deny"],
    ["customer by MUC private message", { jid: "carol@isp.example", via: "muc-private", room: OPS }, status, undefined, "deny"],
    // an ad-hoc command's answer is private, as a direct message is (XEP-0050)
    ["customer by ad-hoc", { jid: "carol@isp.example", via: "adhoc" }, status, undefined, "customer"],
    ["customer by ad-hoc through a room", { jid: "carol@isp.example", via: "adhoc", room: OPS, nick: "carol" }, status, undefined, "customer"],
    ["customer by ad-hoc, mutating command", { jid: "carol@isp.example", via: "adhoc" }, ack, "GRNET", "deny"],
    ["customer, mutating command", dm("carol@isp.example"), ack, "GRNET", "deny"],
    ["customer, mutating command declared for customers", dm("carol@isp.example"), sneaky, undefined, "deny"],
    // admins
    ["admin, any NOC", inShared("boss@noc.example.net"), ack, "EXN", "admin"],
    ["admin command", dm("boss@noc.example.net"), purge, undefined, "admin"],
    // strangers
    ["stranger by DM", dm("zed@random.example"), status, undefined, "deny"],
  ];
  for (const [label, actor, command, partner, expected] of table) {
    const d = authorize(acl, actor, command, partner);
    assert.equal(outcome(d), expected, label);
    if (d.kind === "deny") {
      assert.match(d.reason, /^Sorry, /u, `${label}: polite`);
      assert.ok(d.logReason.length > 0, `${label}: log reason`);
    }
  }
});

void test("refusals say what to do", () => {
  const reason = (d: AuthDecision): string => (d.kind === "deny" ? d.reason : assert.fail(`expected deny, got ${d.kind}`));
  assert.match(reason(authorize(acl, inOps("carol@isp.example"), status)), /direct message only/u);
  assert.match(reason(authorize(acl, dm("carol@isp.example"), ack)), /“ack” is for NOC engineers/u);
  assert.match(reason(authorize(acl, inOps(undefined), ack)), /can't see your real address/u);
  assert.match(reason(authorize(acl, dm("zed@random.example"), status)), /I don't know zed@random\.example/u);
  assert.match(reason(authorize(acl, inOps("alice@noc.example.net"), ack, "EXN")), /belongs to NOC EXN; you may change tickets of GRNET only/u);
});

void test("grantFor: NOC scopes are unions of the rules that apply", () => {
  assert.deepEqual(grantFor(acl, dm("alice@noc.example.net")), { role: "engineer", nocs: ["GRNET"] });
  assert.deepEqual(grantFor(acl, dm("boss@noc.example.net")), { role: "admin", nocs: "any" });
  // erin by DM: the shared room's pattern applies, with its NOCs.
  assert.deepEqual(grantFor(acl, dm("erin@geant.example")), { role: "engineer", nocs: ["GEANT", "GRNET"] });
  assert.equal(grantFor(acl, dm("zed@random.example")), undefined);
});

void test("deny by default: an empty ACL allows nobody", () => {
  const empty = buildAcl(AclConfigSchema.parse({}), { botJid: "bot@x.example", ownNoc: "GRNET" });
  for (const actor of [dm("alice@noc.example.net"), inOps("alice@noc.example.net", { affiliation: "owner" })]) {
    assert.equal(authorize(empty, actor, status).kind, "deny");
  }
});

void test("AclConfigSchema: patterns are validated and lower-cased, unknown keys rejected", () => {
  const parsed = AclConfigSchema.parse({ engineers: [" Alice@X.ORG "], rooms: { [OPS]: { affiliations: ["member"] } } });
  assert.deepEqual(parsed.engineers, ["alice@x.org"]);
  assert.deepEqual(parsed.rooms[OPS], { engineers: [], affiliations: ["member"], admins: [] });
  for (const bad of [
    { engineers: ["alice"] },
    { engineers: ["alice@x.org/phone"] },
    { engineers: ["a b@x.org"] },
    { customers: ["@x.org"] },
    { rooms: { [OPS]: { affiliations: ["participant"] } } },
    { rooms: { [OPS]: { nocs: [] } } },
    { nocs: ["BAD_ID"] },
    { engineer: ["typo@x.org"] },
  ]) {
    assert.equal(AclConfigSchema.safeParse(bad).success, false, JSON.stringify(bad));
  }
});

void test("matchJid: * within a part, anchored, case-insensitive", () => {
  const table: [string, string, boolean][] = [
    ["*@noc.example.net", "alice@noc.example.net", true],
    ["*@noc.example.net", "ALICE@NOC.EXAMPLE.NET", true],
    ["*@noc.example.net", "alice@noc.example.net.evil", false],
    ["*@noc.example.net", "noc.example.net", false],
    ["*@*.example.net", "a@noc.example.net", true],
    ["*@*.example.net", "a@example.net", false],
    ["alice@x.org", "alice@x.org", true],
    ["alice@x.org", "alice@xxorg", false], // "." is literal
    ["ops-*@x.org", "ops-1@x.org", true],
  ];
  for (const [pattern, jid, expected] of table) assert.equal(matchJid(pattern, jid), expected, `${pattern} ~ ${jid}`);
});

void test("matchJid: many stars against a long JID finish (linear-time matching, issue 9.2)", () => {
  const started = process.hrtime.bigint();
  assert.equal(matchJid("*a*a*a*a*@x.org", "a".repeat(1000) + "@y.org"), false);
  assert.equal(matchJid("*a*a*a*a*@x.org", "a".repeat(1000) + "@x.org"), true);
  // The backtracking engine needed minutes for 300 characters; this is a bound, not a benchmark.
  assert.ok(process.hrtime.bigint() - started < 5_000_000_000n);
});
