import { test } from "node:test";
import assert from "node:assert/strict";
import { parseConfigText } from "../../src/config/load.js";

const ROOM = "noc@conference.example.net";
const base = (extra: Record<string, unknown>): Record<string, unknown> => ({
  noc: { id: "EXN", name: "ExampleNet NOC" },
  xmpp: { jid: "ttrelay@example.net", password: { env: "P" } },
  rooms: [{ jid: ROOM }],
  routes: [{ rooms: [ROOM] }],
  ...extra,
});
const sender = { name: "Nordlink", match: { from: ["*@nordlink.example"] }, partnerId: "NORDLINK", bcop: { providers: ["nordlink.example"] } };
const hook = { id: "alerts", format: "alertmanager", partnerId: "MON", auth: { bearer: { env: "T" } } };

function problems(input: Record<string, unknown>): string[] {
  const r = parseConfigText(JSON.stringify(input));
  return r.ok ? [] : r.error.map((p) => `${p.path}: ${p.message}`);
}

void test("mail, webhook and listener sections parse, and routes may select their sources by id", () => {
  const r = parseConfigText(
    JSON.stringify(
      base({
        mail: [{ id: "nl-mail", maildir: "/var/lib/ttrelay/maildir", senders: [sender] }],
        webhooks: [hook],
        http: {},
        routes: [{ rooms: [ROOM], when: { feeds: ["nl-mail", "alerts"] } }],
      }),
    ),
  );
  assert.ok(r.ok, JSON.stringify(r));
  assert.equal(r.value.http?.address, "127.0.0.1", "loopback by default");
  assert.equal(r.value.mail[0]?.maxBytes, 10 * 1024 * 1024);
  assert.equal(r.value.mail[0]?.senders[0]?.bcop?.location, "Unknown");
});

void test("every problem of the new sections is named by its JSON path", () => {
  const rows: [Record<string, unknown>, RegExp][] = [
    [{ mail: [{ id: "m", senders: [sender] }] }, /^\$\.mail\[0\]: give exactly one of `imap` and `maildir`/],
    [{ mail: [{ id: "m", maildir: "/x", imap: { host: "h", user: "u", password: { env: "X" } }, senders: [sender] }] }, /^\$\.mail\[0\]: give exactly one/],
    [{ mail: [{ id: "m", maildir: "/x", senders: [] }] }, /^\$\.mail\[0\]\.senders: /],
    [{ mail: [{ id: "m", maildir: "/x", senders: [{ ...sender, match: {} }] }] }, /^\$\.mail\[0\]\.senders\[0\]\.match: give at least one of from, listId, header/],
    [{ mail: [{ id: "m", maildir: "/x", senders: [{ ...sender, bcop: undefined }] }] }, /^\$\.mail\[0\]\.senders\[0\]: a sender needs `bcop` or `mapping`/],
    [{ mail: [{ id: "m", maildir: "/x", senders: [{ ...sender, partnerId: "NORD_LINK" }] }] }, /^\$\.mail\[0\]\.senders\[0\]\.partnerId: may not contain '_'/],
    [{ mail: [{ id: "m", maildir: "/x", senders: [{ ...sender, mapping: { TT_Status: { from: "subject", regex: "(" } } }] }] }, /^\$\.mail\[0\]\.senders\[0\]\.mapping\.TT_Status\.regex: is not a regular expression RE2 can run/],
    [{ mail: [{ id: "m", maildir: "/x", senders: [{ ...sender, dkim: { domains: ["not a domain"] } }] }] }, /^\$\.mail\[0\]\.senders\[0\]\.dkim\.domains\[0\]: must be a domain name/],
    [{ webhooks: [hook] }, /^\$\.http: webhooks need the HTTP listener/],
    [{ webhooks: [{ ...hook, format: "xml" }], http: {} }, /^\$\.webhooks\[0\]\.format: /],
    [{ webhooks: [{ ...hook, auth: { bearer: "plain-text" } }], http: {} }, /^\$\.webhooks\[0\]\.auth/],
    [{ webhooks: [{ id: "j", format: "json", partnerId: "X", auth: hook.auth, fields: { id: "key" }, mapping: {} }], http: {} }, /^\$\.webhooks\[0\]\.fields\.id: must be a JSON path/],
    [{ webhooks: [hook, hook], http: {} }, /^\$\.webhooks\[1\]\.id: source id alerts is used twice/],
    [{ mail: [{ id: "alerts", maildir: "/x", senders: [sender] }], webhooks: [hook], http: {} }, /^\$\.webhooks\[0\]\.id: source id alerts is used twice/],
    [{ http: { port: 70000 } }, /^\$\.http\.port: /],
    // The same rule language as feeds, with each source's own field names checked.
    [{ mail: [{ id: "m", maildir: "/x", senders: [{ ...sender, mapping: { TT_Title: { from: "subjekt" } } }] }] }, /^\$\.mail\[0\]\.senders\[0\]\.mapping\.TT_Title\.from: a mail has no field "subjekt"/],
    [{ webhooks: [{ ...hook, mapping: { Location: { from: "label.site" } } }], http: {} }, /^\$\.webhooks\[0\]\.mapping\.Location\.from: an Alertmanager alert has no field "label\.site"/],
    [{ webhooks: [{ id: "j", format: "json", partnerId: "X", auth: hook.auth, fields: { id: "$.key" }, mapping: { Original_ID: { template: "J-{ident}" } } }], http: {} }, /^\$\.webhooks\[0\]\.mapping\.Original_ID\.template: this webhook's `fields` has no field "ident"/],
  ];
  for (const [extra, expected] of rows) {
    const found = problems(base(extra));
    assert.ok(found.some((p) => expected.test(p)), `${JSON.stringify(extra)} → ${JSON.stringify(found)}`);
  }
});
