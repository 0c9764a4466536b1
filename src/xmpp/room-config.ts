/**
 * Room configuration from the server's own owner form (pure). Servers name the same setting
 * differently (Prosody's archiving field is `muc#roomconfig_enablearchiving`, ejabberd's `mam`) and
 * refuse a submission with a field they do not know, so the bot reads the form the room offers
 * (XEP-0045 §10.1.3), fills in only the fields offered, and says which wanted settings this server
 * cannot give. This is the one place that knows servers' field names.
 *
 * After the submission the room is checked through disco#info (XEP-0045 §6.4 features such as
 * `muc_persistent`, §15.5.4 room info), because a server may accept a value and not apply it.
 */
import type { DataFormField, DiscoInfo } from "./stanzas.js";

/** What the bot wants of a room it owns, in its own words. */
export type RoomWishes = {
  name?: string | undefined;
  description?: string | undefined;
  /**
   * A customers' read-only room: moderated and open, and occupants without affiliation join as
   * visitors (who read but cannot speak). `false`: an ordinary, unmoderated room. Unset: moderation
   * is left as the server has it.
   */
  readOnly?: boolean | undefined;
};

export const RoomSettings = ["persistent", "archived", "whois", "name", "description", "moderated", "open", "visitorsByDefault"] as const;
export type RoomSetting = (typeof RoomSettings)[number];

type Want = {
  setting: RoomSetting;
  /** Owner-form fields that carry this setting, by server: the first one offered is used. */
  fields: readonly string[];
  value: string;
  /** Said at start-up when no field is offered; `undefined`: nothing is lost without it. */
  consequence: string | undefined;
};

export type MissingSetting = { setting: RoomSetting; consequence: string };

/** What disco#info must show once the configuration is applied. */
export type RoomExpectation =
  | { setting: RoomSetting; kind: "feature"; present: string; absent: string }
  | { setting: RoomSetting; kind: "name"; value: string }
  | { setting: RoomSetting; kind: "description"; value: string }
  /** No disco#info counterpart (e.g. ejabberd's `members_by_default`): read the owner form back. */
  | { setting: RoomSetting; kind: "form"; field: string; value: string };

export type RoomConfigPlan = {
  /** The fields to submit (FORM_TYPE first), only fields the server offered. */
  submit: { var: string; value: string }[];
  /** Whether any offered field differs from what the room has now. */
  changes: boolean;
  missing: MissingSetting[];
  expect: RoomExpectation[];
};

export const ROOMCONFIG_FORM_TYPE = "http://jabber.org/protocol/muc#roomconfig";

/** The XEP-0045 §6.4 disco features each boolean setting shows as (set, unset). */
const FEATURE_OF: Partial<Record<RoomSetting, { on: string; off: string }>> = {
  persistent: { on: "muc_persistent", off: "muc_temporary" },
  moderated: { on: "muc_moderated", off: "muc_unmoderated" },
  open: { on: "muc_open", off: "muc_membersonly" },
};

function wants(w: RoomWishes): Want[] {
  const list: Want[] = [
    {
      setting: "persistent",
      fields: ["muc#roomconfig_persistentroom"],
      value: "1",
      consequence: "cannot be made persistent on this server: it disappears, with its history, when the last occupant leaves",
    },
    {
      setting: "archived",
      // Prosody (mod_muc_mam) | ejabberd (mod_mam's room option).
      fields: ["muc#roomconfig_enablearchiving", "mam"],
      value: "1",
      consequence: "cannot be archived on this server: replies to earlier messages after a restart may fail",
    },
    {
      setting: "whois",
      // NOC rooms show real JIDs to all, so peer bots and people can check who speaks; customers'
      // rooms stay semi-anonymous (the bot, as owner, sees JIDs anyway). XEP-0045 §15.5.3.
      fields: ["muc#roomconfig_whois"],
      value: w.readOnly ? "moderators" : "anyone",
      consequence: w.readOnly
        ? "cannot be made semi-anonymous on this server: customers may see engineers' addresses"
        : "cannot be made non-anonymous on this server: occupants (peer bots too) cannot see who speaks",
    },
  ];
  if (w.name) list.push({ setting: "name", fields: ["muc#roomconfig_roomname"], value: w.name, consequence: "cannot be given a name on this server" });
  if (w.description)
    list.push({ setting: "description", fields: ["muc#roomconfig_roomdesc"], value: w.description, consequence: "cannot be given a description on this server" });
  if (w.readOnly !== undefined) {
    list.push({
      setting: "moderated",
      fields: ["muc#roomconfig_moderatedroom"],
      value: w.readOnly ? "1" : "0",
      consequence: w.readOnly ? "cannot be moderated on this server: customers could post in it" : undefined,
    });
  }
  if (w.readOnly) {
    // Anyone may join to read; a server without the field has no members-only rooms to avoid.
    list.push({ setting: "open", fields: ["muc#roomconfig_membersonly"], value: "0", consequence: undefined });
    // ejabberd gives newcomers voice in a moderated room while this is 1; Prosody has no such
    // field (its moderated rooms make unaffiliated occupants visitors).
    list.push({ setting: "visitorsByDefault", fields: ["members_by_default"], value: "0", consequence: undefined });
  }
  return list;
}

const BOOLEAN_TRUE = new Set(["1", "true"]);
/** A field's current value in the form's terms; booleans as "1"/"0" (XEP-0004 §3.3 allows both spellings). */
function currentValue(f: DataFormField): string {
  const v = f.values[0] ?? "";
  if (f.type === "boolean") return BOOLEAN_TRUE.has(v) ? "1" : "0";
  return v;
}

/** Plans the submission of `wishes` into the owner form `offered`. */
export function planRoomConfig(offered: readonly DataFormField[], wishes: RoomWishes): RoomConfigPlan {
  const byVar = new Map(offered.map((f) => [f.var, f]));
  const submit: { var: string; value: string }[] = [{ var: "FORM_TYPE", value: ROOMCONFIG_FORM_TYPE }];
  const missing: MissingSetting[] = [];
  const expect: RoomExpectation[] = [];
  let changes = false;
  for (const want of wants(wishes)) {
    const field = want.fields.map((v) => byVar.get(v)).find((f) => f !== undefined);
    // A list field that does not offer the value cannot carry it either (XEP-0004 §3.3 list-single).
    const usable = field && !(field.type === "list-single" && field.options.length > 0 && !field.options.includes(want.value));
    if (!field || !usable) {
      if (want.consequence) missing.push({ setting: want.setting, consequence: want.consequence });
      continue;
    }
    submit.push({ var: field.var, value: want.value });
    if (currentValue(field) !== want.value) changes = true;
    expect.push(expectationOf(want, field.var));
  }
  return { submit, changes, missing, expect };
}

function expectationOf(want: Want, field: string): RoomExpectation {
  const feature = FEATURE_OF[want.setting];
  if (feature) {
    // `open` is carried by the members-only field: "0" means open.
    const on = want.setting === "open" ? want.value === "0" : want.value === "1";
    return { setting: want.setting, kind: "feature", present: on ? feature.on : feature.off, absent: on ? feature.off : feature.on };
  }
  if (want.setting === "whois") {
    const anyone = want.value === "anyone";
    return { setting: "whois", kind: "feature", present: anyone ? "muc_nonanonymous" : "muc_semianonymous", absent: anyone ? "muc_semianonymous" : "muc_nonanonymous" };
  }
  if (want.setting === "archived") return { setting: "archived", kind: "feature", present: "urn:xmpp:mam:2", absent: "" };
  if (want.setting === "name") return { setting: "name", kind: "name", value: want.value };
  if (want.setting === "description") return { setting: "description", kind: "description", value: want.value };
  return { setting: want.setting, kind: "form", field, value: want.value };
}

export type RoomMismatch = { setting: RoomSetting; expected: string; actual: string };

/**
 * What the room shows that differs from what was asked. `form`: the owner form read back, for
 * settings disco#info does not show (omit when there are none).
 */
export function verifyRoom(expect: readonly RoomExpectation[], info: DiscoInfo, form?: readonly DataFormField[]): RoomMismatch[] {
  const out: RoomMismatch[] = [];
  const features = new Set(info.features);
  for (const e of expect) {
    if (e.kind === "feature") {
      if (!features.has(e.present) || (e.absent !== "" && features.has(e.absent)))
        out.push({ setting: e.setting, expected: e.present, actual: features.has(e.absent) ? e.absent : `no ${e.present}` });
    } else if (e.kind === "name") {
      const actual = info.identities.find((i) => i.category === "conference")?.name ?? info.form.get("muc#roomconfig_roomname") ?? "";
      if (actual !== e.value) out.push({ setting: "name", expected: e.value, actual });
    } else if (e.kind === "description") {
      const actual = info.form.get("muc#roominfo_description") ?? "";
      // Only a room that reports its description can be checked (XEP-0045 §15.5.4 makes it optional).
      if (info.form.has("muc#roominfo_description") && actual !== e.value) out.push({ setting: "description", expected: e.value, actual });
    } else {
      const field = form?.find((f) => f.var === e.field);
      const actual = field ? currentValue(field) : "(not in the form)";
      if (actual !== e.value) out.push({ setting: e.setting, expected: `${e.field}=${e.value}`, actual: `${e.field}=${actual}` });
    }
  }
  return out;
}

/** Whether checking `expect` needs the owner form read back. */
export const needsFormReadback = (expect: readonly RoomExpectation[]): boolean => expect.some((e) => e.kind === "form");
