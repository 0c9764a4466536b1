/**
 * A private Prometheus Alertmanager (Debian's prometheus-alertmanager) for the webhook tests: own
 * config and storage in a temp dir, API and UI on a free loopback port, clustering off, run in the
 * foreground and stopped by its PID. It sends its webhook to the URL the test gives; alerts are fed
 * through its API v2 (`POST /api/v2/alerts`), as Prometheus would.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, openSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "../../src/demo/prosody.js";

const ALERTMANAGER = "/usr/bin/prometheus-alertmanager";

export type AlertmanagerInstance = {
  url: string;
  pid: number;
  dir: string;
  /** Posts alerts to API v2; `endsAt` in the past resolves them. */
  postAlerts(alerts: AlertInput[]): Promise<void>;
  stop(): Promise<void>;
};

export type AlertInput = { labels: Record<string, string>; annotations?: Record<string, string>; startsAt?: string; endsAt?: string; generatorURL?: string };

export type StartAlertmanagerOptions = {
  /** Where the webhook goes (the bot's /hooks/<id>). */
  webhookUrl: string;
  bearerToken?: string;
};

export async function startAlertmanager(opts: StartAlertmanagerOptions): Promise<AlertmanagerInstance> {
  const dir = await mkdtemp(join(tmpdir(), "ttrelay-alertmanager-"));
  const port = await freePort();
  // Short waits so a test sees a notification within seconds; resolved alerts are sent too.
  const config = [
    "route:",
    "  receiver: ttrelay",
    "  group_by: ['alertname']",
    "  group_wait: 1s",
    "  group_interval: 1s",
    "  repeat_interval: 1h",
    "receivers:",
    "  - name: ttrelay",
    "    webhook_configs:",
    `      - url: ${JSON.stringify(opts.webhookUrl)}`,
    "        send_resolved: true",
    ...(opts.bearerToken ? ["        http_config:", "          authorization:", "            type: Bearer", `            credentials: ${JSON.stringify(opts.bearerToken)}`] : []),
    "",
  ].join("\n");
  const file = join(dir, "alertmanager.yml");
  await writeFile(file, config);
  const out = openSync(join(dir, "alertmanager.log"), "a");
  let child: ChildProcess;
  try {
    child = spawn(
      ALERTMANAGER,
      [
        `--config.file=${file}`,
        `--storage.path=${join(dir, "data")}`,
        `--web.listen-address=127.0.0.1:${port}`,
        "--cluster.listen-address=", // no gossip port: a single private instance
        "--log.level=info",
      ],
      { stdio: ["ignore", out, out] },
    );
  } finally {
    closeSync(out);
  }
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`alertmanager exited: ${await readFile(join(dir, "alertmanager.log"), "utf8")}`);
    const ready = await fetch(`${url}/-/ready`).then((r) => r.ok, () => false);
    if (ready) break;
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error("alertmanager did not become ready in 30 s");
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    pid: child.pid ?? 0,
    dir,
    async postAlerts(alerts) {
      const r = await fetch(`${url}/api/v2/alerts`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(alerts) });
      if (!r.ok) throw new Error(`alertmanager refused the alerts: ${r.status} ${await r.text()}`);
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
        await exited;
        clearTimeout(timer);
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}
