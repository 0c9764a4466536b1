/**
 * `npm run bench`: every benchmark in its own process (so memory figures are its own), one after
 * the other (the machine has two cores; running them together would measure each other).
 * `npm run bench -- correlate` runs one. Issue 13's figures first: P1 latency, P2 pipeline vs the
 * same stanzas sent raw, P3 store, P4 first poll of a big feed.
 */
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { ensureBuilt } from "./support/build.js";

const benches = ["latency", "pipeline", "store", "first-poll", "first-poll-cpu", "correlate", "rooms", "webhook"] as const;
const wanted = process.argv.slice(2);
// Once for all of them: the bot they spawn is the compiled one (bench/support/build.ts).
ensureBuilt();
let failed = 0;
for (const name of benches) {
  if (wanted.length > 0 && !wanted.includes(name)) continue;
  console.log(`\n### bench/${name}.ts`);
  const file = fileURLToPath(new URL(`./${name}.ts`, import.meta.url));
  const r = spawnSync(process.execPath, ["--expose-gc", "--import", "tsx", file], { stdio: "inherit", env: process.env });
  if (r.status !== 0) failed++;
}
process.exit(failed > 0 ? 1 : 0);
