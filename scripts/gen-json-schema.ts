/**
 * Writes config/ttrelay.schema.json from the zod schema (the single source of truth) so editors can
 * complete and check config files. `npm run schema`; a unit test fails when the file is stale.
 */
import { writeFile } from "node:fs/promises";
import { configJsonSchema } from "../src/config/json-schema.js";

const target = new URL("../config/ttrelay.schema.json", import.meta.url);
await writeFile(target, configJsonSchema());
console.log(`wrote ${target.pathname}`);
