#!/usr/bin/env node
// Entry point of the `ttrelay` command: runs the compiled CLI (npm run build makes dist/).
import { main } from "../dist/src/cli.js";

main(process.argv).catch((e) => {
  process.stderr.write(`ttrelay: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
