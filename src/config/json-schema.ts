/** JSON Schema (draft 2020-12) of the config file, generated from the zod schema. */
import { z } from "zod";
import { ConfigSchema } from "../../config/schema.js";

export function configJsonSchema(): string {
  // "input": what a person writes (defaults may be left out), not what the parser returns.
  const schema = z.toJSONSchema(ConfigSchema, { io: "input", unrepresentable: "any" });
  return JSON.stringify({ ...schema, title: "ttrelay configuration" }, null, 2) + "\n";
}
