// The README's first command, minus the setup: the embedded demo (private Prosody, sample feed
// served locally, the bot, a watcher printing what the room shows) runs and shows tickets arriving,
// and the demo's engineer account can work a ticket from the room as the README says.
import { test } from "node:test";
import assert from "node:assert/strict";
import { xml } from "@xmpp/client";
import { runDemo } from "../../src/demo/demo.js";
import { startWatcher } from "../../src/demo/watcher.js";
import { captureLogger } from "../helpers/log-capture.js";
import { probeStartTls, scramIterations } from "../support/xmpp-probe.js";
import { shown } from "../helpers/messages.js";

void test("the demo relays the sample feed into its room; the engineer acks a ticket from the room", { timeout: 90_000 }, async () => {
  const lines: string[] = [];
  const logs = captureLogger("info");
  let acked = "";
  let hookStatus = 0;
  const iterations: number[] = [];
  const code = await runDemo({
    stepSeconds: 2,
    exitAfterSeconds: 30,
    watch: true,
    log: logs.log,
    out: (l) => lines.push(l),
    async onReady(info) {
      const engineer = await startWatcher({ service: info.service, domain: info.domain, username: "engineer", password: "engineer-demo", resource: "gajim" });
      try {
        // Accounts a person uses: Gajim refuses salts of fewer than 4096 iterations, silently.
        for (const user of ["watcher", "engineer"]) iterations.push(await scramIterations(info.c2sPort, info.domain, user));
        await engineer.join(info.room, "engineer");
        await engineer.waitFor((m) => shown(m).startsWith("*EXN_1043* new"), 20_000, "EXN_1043 in the demo room");
        await engineer.send(xml("message", { to: info.room, type: "groupchat" }, xml("body", {}, "!ack EXN_1043 on it")));
        const reply = await engineer.waitFor((m) => !m.delayed && m.nick === "ttrelay" && (m.body ?? "").startsWith("engineer: "), 10_000, "the reply to !ack");
        acked = reply.body ?? "";
        // The curl line the demo prints, as a user would copy it: a ticket from the webhook, in the room.
        const printed = lines.join("\n");
        const token = /Authorization: Bearer (demo-[0-9a-f]+)/.exec(printed)?.[1];
        const url = /--data '.*' (http:\/\/127\.0\.0\.1:\d+\/hooks\/alerts)/.exec(printed)?.[1];
        const data = /--data '(.*)' http/.exec(printed)?.[1];
        assert.ok(token && url && data, `the demo prints a webhook call: ${printed}`);
        const hook = await fetch(url, { method: "POST", headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" }, body: data });
        hookStatus = hook.status;
        await engineer.waitFor((m) => !m.delayed && shown(m).startsWith("*EXNMON_A-1* new"), 10_000, "the webhook's ticket in the room");
      } finally {
        await engineer.stop();
      }
    },
  });
  assert.equal(code, 0);
  assert.ok(iterations.length === 2 && iterations.every((i) => i >= 4096), `SCRAM iterations of watcher and engineer: ${iterations.join(", ")}`);
  const out = lines.join("\n");
  assert.match(out, /account {3}watcher@demo\.localhost {3}password watch-the-tickets/);
  assert.match(out, /room {6}tickets@conference\.demo\.localhost {3}\(the bot is ttrelay@demo\.localhost/);
  assert.match(out, /Now following feed \*examplenet\*: 2 tickets already listed, 1 open \(EXN_1042\)/);
  for (const id of ["EXN_1043", "EXN_1044", "EXN_1045", "EXN_1046"]) assert.match(out, new RegExp(`\\*${id}\\* new · `), `${id} was posted`);
  assert.match(out, /\*EXN_1042\* closed \(was /);
  assert.equal(hookStatus, 202, "the printed webhook call is taken in");
  assert.match(acked, /^engineer: .*EXN_1043/, `the engineer's !ack was accepted: ${acked}`);
  assert.doesNotMatch(acked, /sorry/i);
  assert.ok(logs.find("chat command", { command: "ack", outcome: "accepted", actor: "engineer@demo.localhost" }), "audited as accepted");
  assert.equal(logs.lines.filter((l) => l.level >= 40).length, 0, `no warnings or errors: ${JSON.stringify(logs.lines.filter((l) => l.level >= 40))}`);
});

void test("demo --standard-ports: people on localhost:5222 (if free) with STARTTLS and a certificate the printed CA signed", { timeout: 60_000 }, async () => {
  const lines: string[] = [];
  const logs = captureLogger("info");
  let probe: Awaited<ReturnType<typeof probeStartTls>> | undefined;
  let port = 0;
  let iterations = 0;
  const code = await runDemo({
    stepSeconds: 2,
    exitAfterSeconds: 1,
    watch: true,
    standardPorts: true,
    log: logs.log,
    out: (l) => lines.push(l),
    async onReady(info) {
      port = info.c2sPort;
      assert.ok(info.ca, "the CA is named");
      probe = await probeStartTls(info.c2sPort, "localhost", info.ca);
      iterations = await scramIterations(info.c2sPort, "localhost", "watcher");
      // The relay works as in the plain demo: the console (a plain host of its own) sees the room.
      for (let i = 0; i < 100 && !lines.some((l) => /Now following feed/.test(l)); i++) await new Promise((r) => setTimeout(r, 100));
    },
  });
  assert.equal(code, 0);
  const out = lines.join("\n");
  assert.deepEqual({ ...probe, error: probe?.error ?? "none" }, { offered: true, authorized: true, error: "none", names: "DNS:localhost, DNS:conference.localhost" });
  assert.ok(iterations >= 4096, `SCRAM iterations: ${iterations}`);
  if (port === 5222) assert.match(out, /server {4}127\.0\.0\.1 {3}port 5222 \(the standard port\), STARTTLS/);
  else assert.match(out, /Port 5222 on 127\.0\.0\.1 is taken: the demo listens on a free port instead/);
  assert.match(out, /account {3}watcher@localhost {3}password watch-the-tickets/);
  assert.match(out, /signed by a throw-away CA: \/.*ca\.crt/);
  assert.match(out, /Now following feed \*examplenet\*/);
  assert.equal(logs.lines.filter((l) => l.level >= 40).length, 0, `no warnings or errors: ${JSON.stringify(logs.lines.filter((l) => l.level >= 40))}`);
});
