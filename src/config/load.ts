/** Reads, parses and validates the config file once; every problem is reported with its JSON path. */
import { readFile } from "node:fs/promises";
import { ConfigSchema, type Config, type Secret } from "../../config/schema.js";
import { ok, err, type Result } from "../util/result.js";

export type ConfigProblem = { path: string; message: string };

/** `$.feeds[0].url` style paths, the way editors and jq users read them. */
export function formatPath(path: readonly PropertyKey[]): string {
  return (
    "$" +
    path
      .map((p) => (typeof p === "number" ? `[${p}]` : /^[A-Za-z_$][\w$]*$/.test(String(p)) ? `.${String(p)}` : `[${JSON.stringify(String(p))}]`))
      .join("")
  );
}

/** Pure: JSON text → config or the full list of problems. */
export function parseConfigText(text: string): Result<Config, ConfigProblem[]> {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    return err([{ path: "$", message: `not valid JSON: ${(e as Error).message}` }]);
  }
  const parsed = ConfigSchema.safeParse(raw);
  if (!parsed.success) {
    return err(parsed.error.issues.map((i) => ({ path: formatPath(i.path), message: humanMessage(i) })));
  }
  return ok(parsed.data);
}

/** zod's wording for a missing key ("expected string, received undefined") reads oddly to an admin. */
function humanMessage(issue: { code: string; message: string }): string {
  // zod 4 leaves `issue.input` out unless asked (reportInput), so a missing key is told by the message.
  if (issue.code === "invalid_type" && /, received undefined$/.test(issue.message)) return `is required (${issue.message.replace(/^Invalid input: /, "").replace(/, received undefined$/, "")})`;
  return issue.message;
}

/** Warnings that do not stop the bot but an admin should see (check-config prints them). */
export function configWarnings(cfg: Config): ConfigProblem[] {
  const warnings: ConfigProblem[] = [];
  if ("value" in cfg.xmpp.password)
    warnings.push({ path: "$.xmpp.password", message: "inline password: use {\"env\": …} or {\"file\": …} outside demos" });
  cfg.feeds.forEach((f, i) => {
    // Loopback only: the host must END there ("http://localhost.example.com" is not local).
    if (/^http:/i.test(f.url) && !/^http:\/\/(?:localhost|127(?:\.\d{1,3}){3}|\[::1\])(?=[:/?#]|$)/i.test(f.url))
      warnings.push({ path: `$.feeds[${i}].url`, message: "plain http: feed content can be altered in transit" });
  });
  return warnings;
}

export async function loadConfig(file: string): Promise<Result<Config, ConfigProblem[]>> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (e) {
    return err([{ path: "$", message: `cannot read ${file}: ${(e as Error).message}` }]);
  }
  return parseConfigText(text);
}

/** Resolves a secret from the environment or a file; errors name where it was looked for. */
export async function resolveSecret(secret: Secret, path: string, env: NodeJS.ProcessEnv = process.env): Promise<Result<string, ConfigProblem>> {
  if ("value" in secret) return ok(secret.value);
  if ("env" in secret) {
    const v = env[secret.env];
    return v ? ok(v) : err({ path, message: `environment variable ${secret.env} is not set` });
  }
  try {
    const v = (await readFile(secret.file, "utf8")).trim();
    return v ? ok(v) : err({ path, message: `secret file ${secret.file} is empty` });
  } catch (e) {
    return err({ path, message: `cannot read secret file ${secret.file}: ${(e as Error).message}` });
  }
}
