import { test } from "node:test";
import assert from "node:assert/strict";
import { planRoomConfig, verifyRoom, needsFormReadback, type RoomWishes } from "../../src/xmpp/room-config.js";
import type { DataFormField, DiscoInfo } from "../../src/xmpp/stanzas.js";

const field = (v: string, type: string, value = "", options: string[] = []): DataFormField => ({ var: v, type, values: value === "" ? [] : [value], options });

/** The owner form of a new room as Prosody 0.12 (mod_muc + mod_muc_mam) offers it (trimmed). */
const prosodyForm: DataFormField[] = [
  field("FORM_TYPE", "hidden", "http://jabber.org/protocol/muc#roomconfig"),
  field("muc#roomconfig_roomname", "text-single"),
  field("muc#roomconfig_roomdesc", "text-single"),
  field("muc#roomconfig_persistentroom", "boolean"),
  field("muc#roomconfig_membersonly", "boolean"),
  field("muc#roomconfig_moderatedroom", "boolean"),
  field("muc#roomconfig_whois", "list-single", "moderators", ["moderators", "anyone"]),
  field("muc#roomconfig_enablearchiving", "boolean", "1"),
];

/** The same as ejabberd 23.01 offers it (trimmed): archiving is `mam`, and `members_by_default`. */
const ejabberdForm: DataFormField[] = [
  field("FORM_TYPE", "hidden", "http://jabber.org/protocol/muc#roomconfig"),
  field("muc#roomconfig_roomname", "text-single"),
  field("muc#roomconfig_roomdesc", "text-single"),
  field("muc#roomconfig_persistentroom", "boolean", "0"),
  field("muc#roomconfig_whois", "list-single", "moderators", ["moderators", "anyone"]),
  field("muc#roomconfig_membersonly", "boolean", "0"),
  field("muc#roomconfig_moderatedroom", "boolean", "1"),
  field("members_by_default", "boolean", "1"),
  field("mam", "boolean", "1"),
];

/** A minimal server: no archiving, no whois, no persistence. */
const bareForm: DataFormField[] = [field("FORM_TYPE", "hidden", "http://jabber.org/protocol/muc#roomconfig"), field("muc#roomconfig_roomname", "text-single"), field("muc#roomconfig_moderatedroom", "boolean", "0")];

const submitted = (form: DataFormField[], wishes: RoomWishes): string =>
  planRoomConfig(form, wishes)
    .submit.slice(1)
    .map((f) => `${f.var}=${f.value}`)
    .join(" ");

void test("the submission carries only fields the server offered, under the server's own names", () => {
  const cases: { name: string; form: DataFormField[]; wishes: RoomWishes; expected: string }[] = [
    {
      name: "Prosody, NOC room",
      form: prosodyForm,
      wishes: { name: "IP transit" },
      expected: "muc#roomconfig_persistentroom=1 muc#roomconfig_enablearchiving=1 muc#roomconfig_whois=anyone muc#roomconfig_roomname=IP transit",
    },
    {
      name: "ejabberd, NOC room: archiving is `mam`",
      form: ejabberdForm,
      wishes: { name: "IP transit", description: "tickets" },
      expected: "muc#roomconfig_persistentroom=1 mam=1 muc#roomconfig_whois=anyone muc#roomconfig_roomname=IP transit muc#roomconfig_roomdesc=tickets",
    },
    {
      name: "Prosody, customers' room: no members_by_default field there",
      form: prosodyForm,
      wishes: { readOnly: true },
      expected: "muc#roomconfig_persistentroom=1 muc#roomconfig_enablearchiving=1 muc#roomconfig_whois=moderators muc#roomconfig_moderatedroom=1 muc#roomconfig_membersonly=0",
    },
    {
      name: "ejabberd, customers' room: newcomers are visitors only with members_by_default=0",
      form: ejabberdForm,
      wishes: { readOnly: true },
      expected: "muc#roomconfig_persistentroom=1 mam=1 muc#roomconfig_whois=moderators muc#roomconfig_moderatedroom=1 muc#roomconfig_membersonly=0 members_by_default=0",
    },
    { name: "a room that must not be moderated", form: ejabberdForm, wishes: { readOnly: false }, expected: "muc#roomconfig_persistentroom=1 mam=1 muc#roomconfig_whois=anyone muc#roomconfig_moderatedroom=0" },
    { name: "a minimal server", form: bareForm, wishes: { name: "x", readOnly: true }, expected: "muc#roomconfig_roomname=x muc#roomconfig_moderatedroom=1" },
  ];
  for (const c of cases) assert.equal(submitted(c.form, c.wishes), c.expected, c.name);
  assert.deepEqual(planRoomConfig(prosodyForm, {}).submit[0], { var: "FORM_TYPE", value: "http://jabber.org/protocol/muc#roomconfig" });
});

void test("wanted settings a server does not offer are named with what that costs", () => {
  const cases: { name: string; form: DataFormField[]; wishes: RoomWishes; expected: string[] }[] = [
    { name: "Prosody offers everything", form: prosodyForm, wishes: { name: "a", description: "b", readOnly: true }, expected: [] },
    { name: "ejabberd offers everything", form: ejabberdForm, wishes: { name: "a", description: "b", readOnly: true }, expected: [] },
    {
      name: "a minimal server",
      form: bareForm,
      wishes: { name: "a", description: "b", readOnly: true },
      expected: [
        "persistent: cannot be made persistent on this server: it disappears, with its history, when the last occupant leaves",
        "archived: cannot be archived on this server: replies to earlier messages after a restart may fail",
        "whois: cannot be made semi-anonymous on this server: customers may see engineers' addresses",
        "description: cannot be given a description on this server",
      ],
    },
    {
      name: "a whois list without `anyone`",
      form: [field("muc#roomconfig_whois", "list-single", "moderators", ["moderators"]), ...prosodyForm.filter((f) => f.var !== "muc#roomconfig_whois")],
      wishes: {},
      expected: ["whois: cannot be made non-anonymous on this server: occupants (peer bots too) cannot see who speaks"],
    },
  ];
  for (const c of cases)
    assert.deepEqual(
      planRoomConfig(c.form, c.wishes).missing.map((m) => `${m.setting}: ${m.consequence}`),
      c.expected,
      c.name,
    );
});

void test("a room that already has its configuration is not submitted again", () => {
  const configured = ejabberdForm.map((f) =>
    f.var === "muc#roomconfig_persistentroom" ? { ...f, values: ["1"] } : f.var === "muc#roomconfig_whois" ? { ...f, values: ["anyone"] } : f,
  );
  assert.equal(planRoomConfig(configured, {}).changes, false);
  assert.equal(planRoomConfig(configured, { name: "new name" }).changes, true);
  // XEP-0004 booleans may be spelled "true"/"false".
  assert.equal(planRoomConfig(configured.map((f) => (f.var === "mam" ? { ...f, values: ["true"] } : f)), {}).changes, false);
  assert.equal(planRoomConfig(ejabberdForm, {}).changes, true);
});

const info = (features: string[], name?: string, description?: string): DiscoInfo => ({
  identities: [{ category: "conference", type: "text", name }],
  features,
  form: new Map(description === undefined ? [] : [["muc#roominfo_description", description]]),
});

void test("the room is checked against what was asked: every difference is named", () => {
  const plan = planRoomConfig(ejabberdForm, { name: "Customers", description: "read here", readOnly: true });
  const good = info(["muc_persistent", "urn:xmpp:mam:2", "muc_semianonymous", "muc_moderated", "muc_open"], "Customers", "read here");
  const cases: { name: string; info: DiscoInfo; form?: DataFormField[]; expected: string[] }[] = [
    { name: "all as asked", info: good, form: ejabberdForm.map((f) => (f.var === "members_by_default" ? { ...f, values: ["0"] } : f)), expected: [] },
    {
      name: "temporary, unarchived, unmoderated, voice for all",
      info: info(["muc_temporary", "muc_semianonymous", "muc_unmoderated", "muc_open"], "Customers", "read here"),
      form: ejabberdForm,
      expected: [
        "persistent: muc_persistent ≠ muc_temporary",
        "archived: urn:xmpp:mam:2 ≠ no urn:xmpp:mam:2",
        "moderated: muc_moderated ≠ muc_unmoderated",
        "visitorsByDefault: members_by_default=0 ≠ members_by_default=1",
      ],
    },
    { name: "wrong name and description", info: info(good.features, "Other", "other"), form: ejabberdForm.map((f) => (f.var === "members_by_default" ? { ...f, values: ["0"] } : f)), expected: ["name: Customers ≠ Other", "description: read here ≠ other"] },
  ];
  for (const c of cases)
    assert.deepEqual(
      verifyRoom(plan.expect, c.info, c.form).map((m) => `${m.setting}: ${m.expected} ≠ ${m.actual}`),
      c.expected,
      c.name,
    );
  assert.equal(needsFormReadback(plan.expect), true, "members_by_default has no disco feature");
  assert.equal(needsFormReadback(planRoomConfig(prosodyForm, { readOnly: true }).expect), false);
  // A room that does not report its description is not blamed for it.
  assert.deepEqual(verifyRoom(planRoomConfig(prosodyForm, { description: "x" }).expect, info(["muc_persistent", "urn:xmpp:mam:2", "muc_nonanonymous"])), []);
});
