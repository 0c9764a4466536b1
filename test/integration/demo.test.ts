// The README's first command, minus the setup: the embedded demo (private Prosody, sample feed
// served locally, the bot, a watcher printing what the room shows) runs and shows tickets arriving.
import { test } from "node:test";
import assert from "node:assert/strict";
import { runDemo } from "../../src/devserver/demo.js";
import { captureLogger } from "../helpers/log-capture.js";

void test("the demo relays the sample feed into its room: summary, new tickets, then updates", { timeout: 60_000 }, async () => {
  const lines: string[] = [];
  const logs = captureLogger("info");
  const code = await runDemo({ stepSeconds: 1, exitAfterSeconds: 22, watch: true, log: logs.log, out: (l) => lines.push(l) });
  assert.equal(code, 0);
  const shown = lines.join("\n");
  assert.match(shown, /account {3}watcher@demo\.localhost {3}password watch-the-tickets/);
  assert.match(shown, /room {6}tickets@conference\.demo\.localhost/);
  assert.match(shown, /Now following feed \*examplenet\*: 2 ticket\(s\) already listed, 1 open \(EXN_1042\)/);
  for (const id of ["EXN_1043", "EXN_1044", "EXN_1045", "EXN_1046"]) assert.match(shown, new RegExp(`\\*${id}\\* new · `), `${id} was posted`);
  assert.match(shown, /\*EXN_1042\* closed · Closed/);
  assert.equal(logs.lines.filter((l) => l.level >= 40).length, 0, `no warnings or errors: ${JSON.stringify(logs.lines.filter((l) => l.level >= 40))}`);
});
