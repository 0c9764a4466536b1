/** Builds bot configs for integration tests from the demo's ExampleNet mapping. */
import { readFileSync } from "node:fs";
import { ConfigSchema, type Config, type ConfigInput } from "../../config/schema.js";

type DemoConfig = { feeds: [{ mapping: NonNullable<ConfigInput["feeds"]>[number]["mapping"] }] };

export const examplenetMapping = (JSON.parse(readFileSync(new URL("../../config/demo/demo.template.json", import.meta.url), "utf8")) as DemoConfig).feeds[0].mapping;

export function botConfig(input: {
  jid: string;
  service: string;
  rooms: string[];
  feeds: { id: string; url: string; partnerId?: string; timeoutMs?: number; schedule?: string }[];
  storePath: string;
  routes?: ConfigInput["routes"];
  passwordEnv?: string;
}): Config {
  return ConfigSchema.parse({
    noc: { id: "EXN", name: "ExampleNet NOC" },
    xmpp: { jid: input.jid, password: { env: input.passwordEnv ?? "TTRELAY_TEST_PASSWORD" }, service: input.service, nick: "ttrelay" },
    rooms: input.rooms.map((jid) => ({ jid, name: "test room" })),
    feeds: input.feeds.map((f) => ({ partnerId: "EXN", mapping: examplenetMapping, ...f })),
    routes: input.routes ?? [{ rooms: input.rooms }],
    store: { path: input.storePath },
    log: { level: "debug" },
  } satisfies ConfigInput);
}
