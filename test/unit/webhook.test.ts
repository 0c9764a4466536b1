import { test } from "node:test";
import assert from "node:assert/strict";
import { WebhookConfig } from "../../config/schema.js";
import { checkBearer, checkHmac, hmacSignature } from "../../src/sources/webhook/auth.js";
import { asRuleInput, jsonPath } from "../../src/sources/webhook/json-path.js";
import { alertmanagerVersions, type FormatContext } from "../../src/sources/webhook/formats.js";
import type { Ticket } from "../../src/model/ticket.js";

void test("bearer tokens: absent or malformed is 'missing', another token 'wrong'", () => {
  const rows: [string | undefined, string][] = [
    [undefined, "missing"],
    ["", "missing"],
    ["Basic dXNlcjpwYXNz", "missing"],
    ["Bearer", "missing"],
    ["Bearer s3cret", "ok"],
    ["bearer   s3cret", "ok"],
    ["Bearer s3cre", "wrong"],
    ["Bearer s3cret2", "wrong"],
  ];
  for (const [header, verdict] of rows) assert.equal(checkBearer(header, "s3cret"), verdict, String(header));
});

void test("HMAC-SHA256 of the exact body bytes, sha256=<hex>", () => {
  const body = Buffer.from('{"a":1}');
  const good = hmacSignature(body, "k");
  assert.match(good, /^sha256=[0-9a-f]{64}$/);
  const rows: [string | undefined, Buffer, string][] = [
    [good, body, "ok"],
    [good.toUpperCase().replace("SHA256=", "sha256="), body, "ok"],
    [good, Buffer.from('{"a":2}'), "wrong"],
    [hmacSignature(body, "other"), body, "wrong"],
    [good.slice(0, -2), body, "missing"],
    ["sha1=" + good.slice(7), body, "missing"],
    [undefined, body, "missing"],
  ];
  for (const [header, b, verdict] of rows) assert.equal(checkHmac(header, b, "k"), verdict, String(header));
});

void test("JSON paths: members, indexes, wildcards; anything else finds nothing", () => {
  const doc = { a: { b: [{ c: 1 }, { c: 2 }], "x-y": "z" }, list: ["p", "q"] };
  const rows: [string, unknown[]][] = [
    ["$", [doc]],
    ["$.a.x-y", ["z"]],
    ["$.a.b[1].c", [2]],
    ["$.a.b[*].c", [1, 2]],
    ["$.list[*]", ["p", "q"]],
    ["$.list", [["p", "q"]]],
    ["$.nope", []],
    ["$.a.b[9]", []],
    ["a.b", []],
    ["$.a..b", []],
    ["$.constructor", []],
  ];
  for (const [path, expected] of rows) assert.deepEqual(jsonPath(doc, path), expected, path);
  assert.equal(asRuleInput(["z"]), "z");
  assert.deepEqual(asRuleInput([["p", "q"]]), ["p", "q"]);
  assert.deepEqual(asRuleInput([1, 2]), ["1", "2"]);
  assert.equal(asRuleInput([{ o: 1 }]), undefined);
});

const config = WebhookConfig.parse({ id: "alerts", format: "alertmanager", partnerId: "MON", auth: { bearer: { env: "T" } } });
if (config.format !== "alertmanager") throw new Error("unreachable");
const ctx = (known: Ticket | undefined = undefined): FormatContext => ({ sourceId: "alerts", known: () => known, ownPartners: new Set(), now: new Date("2026-11-28T10:00:00Z") });
const payload = (alerts: Record<string, unknown>[]): Record<string, unknown> => ({
  version: "4",
  groupKey: "{}:{alertname=\"LinkDown\"}",
  truncatedAlerts: 0,
  status: "firing",
  receiver: "ttrelay",
  groupLabels: {},
  commonLabels: {},
  commonAnnotations: {},
  externalURL: "http://am.example",
  alerts,
});
const alert = (over: Record<string, unknown> = {}): Record<string, unknown> => ({
  status: "firing",
  labels: { alertname: "LinkDown", severity: "warning" },
  annotations: {},
  startsAt: "2026-11-28T09:00:00.123456789Z",
  endsAt: "0001-01-01T00:00:00Z",
  generatorURL: "",
  fingerprint: "0123456789abcdef",
  ...over,
});

void test("Alertmanager: firing opens, resolved closes at endsAt, firing after resolved reopens; ordered by start/end", () => {
  const opened = alertmanagerVersions(payload([alert()]), config, ctx());
  assert.ok(opened.ok);
  const o = opened.value.versions[0]!;
  assert.equal(o.ticket.TT_ID, "MON_0123456789abcdef");
  assert.equal(o.ticket.TT_Status, "Opened");
  assert.equal(o.ticket.TT_Title, "LinkDown");
  assert.equal(o.ticket.TT_Priority, "Medium");
  assert.equal(o.ticket.Start_Datetime, "2026-11-28T09:00:00Z");
  assert.deepEqual([o.provenance.published, o.ordered], ["2026-11-28T09:00:00Z", true]);

  const resolved = alertmanagerVersions(payload([alert({ status: "resolved", endsAt: "2026-11-28T09:30:00Z" })]), config, ctx(o.ticket));
  assert.ok(resolved.ok);
  const c = resolved.value.versions[0]!.ticket;
  assert.deepEqual([c.TT_Status, c.TT_Close_Datetime, c.End_Datetime], ["Closed", "2026-11-28T09:30:00Z", "2026-11-28T09:30:00Z"]);
  assert.equal(resolved.value.versions[0]?.provenance.published, "2026-11-28T09:30:00Z");

  const again = alertmanagerVersions(payload([alert({ startsAt: "2026-11-28T11:00:00Z" })]), config, ctx(c));
  assert.ok(again.ok);
  const r = again.value.versions[0]!.ticket;
  assert.equal(r.TT_Status, "Reopened");
  assert.equal(r.TT_Close_Datetime, undefined, "the old close time is gone");
  assert.equal(r.Start_Datetime, "2026-11-28T11:00:00Z");
});

void test("Alertmanager: an unknown severity gives no priority (not an error); malformed alerts reject the whole request", () => {
  const odd = alertmanagerVersions(payload([alert({ labels: { alertname: "X", severity: "page" } })]), config, ctx());
  assert.ok(odd.ok);
  assert.equal(odd.value.versions[0]?.ticket.TT_Priority, undefined);
  const bad = alertmanagerVersions(payload([alert(), alert({ fingerprint: "not hex!" })]), config, ctx());
  assert.equal(bad.ok, false);
  if (!bad.ok) assert.match(bad.error.message, /alerts\.1\.fingerprint: must be Alertmanager's hex fingerprint/);
  const noEnd = alertmanagerVersions(payload([alert({ status: "resolved", endsAt: "soon" })]), config, ctx());
  assert.equal(noEnd.ok, false);
  // Date.parse reads 2026-02-30 as 2 March: not a day of the calendar, so not a time at all.
  const feb30 = alertmanagerVersions(payload([alert({ startsAt: "2026-02-30T09:00:00Z" })]), config, ctx());
  assert.equal(feb30.ok, false);
  if (!feb30.ok) assert.match(feb30.error.message, /alerts\.0\.startsAt: must be an RFC 3339 date-time on a real calendar day/);
  const endFeb30 = alertmanagerVersions(payload([alert({ status: "resolved", endsAt: "2026-02-30T09:30:00Z" })]), config, ctx());
  assert.equal(endFeb30.ok, false);
  const truncated = alertmanagerVersions({ ...payload([alert()]), truncatedAlerts: 3 }, config, ctx());
  assert.ok(truncated.ok);
  assert.match(truncated.value.notes[0] ?? "", /left out 3 alert/);
});
