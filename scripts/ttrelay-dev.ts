/** Runs the CLI from the TypeScript sources (tests, development): `node --import tsx scripts/ttrelay-dev.ts …`. */
import { main } from "../src/cli.js";

await main(process.argv);
