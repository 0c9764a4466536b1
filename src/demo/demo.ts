/**
 * `ttrelay demo`: the bot's main job on an embedded default. A private Prosody on free loopback
 * ports, a demo room, the bundled sample feed served by a local HTTP server and revealed step by
 * step, and the bot relaying it; a watcher prints what the room shows.
 */
import { randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseConfigText } from "../config/load.js";
import type { Logger } from "../log/logger.js";
import { startBot } from "../main.js";
import { demoStages, startFeedServer } from "./feed-server.js";
import { makeThrowawayCertificates, type ThrowawayCertificates } from "./certificates.js";
import { prosodyAvailable, startProsody } from "./prosody.js";
import { startWatcher } from "./watcher.js";

export type DemoInfo = {
  service: string;
  domain: string;
  room: string;
  botJid: string;
  /** Where people's clients connect (127.0.0.1) and the port. */
  host: string;
  c2sPort: number;
  /** With `standardPorts`: the throw-away CA that signed the server's certificate. */
  ca?: string | undefined;
};

export type DemoOptions = {
  stepSeconds: number;
  exitAfterSeconds: number | undefined;
  watch: boolean;
  log: Logger;
  out: (line: string) => void;
  /** Called once the bot is in its room (tests act as the engineer from here). */
  onReady?: (info: DemoInfo) => Promise<void>;
  /**
   * For clients that find their server themselves and insist on TLS (Dino): people's accounts on
   * `localhost`, served on 127.0.0.1:5222 (a free port if 5222 is taken) with STARTTLS and a
   * throw-away certificate. The bot and the console stay on a plain host of their own.
   */
  standardPorts?: boolean;
};

/** The standard c2s port (RFC 6120 §14.7). */
const STANDARD_C2S_PORT = 5222;

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once("error", () => resolve(false));
    srv.listen(port, "127.0.0.1", () => srv.close(() => resolve(true)));
  });
}

const asset = (name: string): URL => new URL(`../../../config/demo/${name}`, import.meta.url);

/** Works from the sources (tsx) and from the build (dist/src/demo). */
async function readAsset(name: string): Promise<string> {
  for (const url of [asset(name), new URL(`../../config/demo/${name}`, import.meta.url)]) {
    try {
      return await readFile(url, "utf8");
    } catch {
      // try the next layout
    }
  }
  throw new Error(`cannot find config/demo/${name}`);
}

export async function runDemo(opts: DemoOptions): Promise<number> {
  const { out, log } = opts;
  if (!(await prosodyAvailable())) {
    out("The demo needs Prosody: run `sudo apt-get install -y prosody` (or use scripts/demo.sh, which does).");
    return 1;
  }
  const dir = await mkdtemp(join(tmpdir(), "ttrelay-demo-"));
  const cleanups: (() => Promise<void>)[] = [async () => rm(dir, { recursive: true, force: true })];
  const cleanup = async (): Promise<void> => {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
  };
  try {
    // People's accounts need ≥ 4096 SCRAM iterations: Gajim refuses fewer, without a word.
    const server: DemoServer = opts.standardPorts ? await tlsServer(dir, out) : { domain: "demo.localhost", botHost: "demo.localhost", tls: undefined, c2sPort: undefined };
    const prosody = await startProsody({
      domain: server.domain,
      mucRoomLocking: true,
      scramIterations: 4096,
      ...(server.tls ? { tls: server.tls, plainHosts: [server.botHost], ...(server.c2sPort ? { c2sPort: server.c2sPort } : {}) } : {}),
    });
    cleanups.push(() => prosody.stop());
    const botPassword = randomBytes(12).toString("base64url");
    const watcherPassword = "watch-the-tickets";
    await prosody.register("ttrelay", botPassword, server.botHost);
    await prosody.register("watcher", watcherPassword);
    await prosody.register("engineer", "engineer-demo");
    // The console's own account, on the bot's plain host (it reads the room as the terminal shows it).
    const consolePassword = randomBytes(12).toString("base64url");
    await prosody.register("console", consolePassword, server.botHost);
    const botJid = `ttrelay@${server.botHost}`;

    const stages = demoStages(await readAsset("sample-feed.xml"), await readAsset("sample-updates.xml"));
    const feeds = await startFeedServer({ "/examplenet.rss": { body: stages[0] ?? "" } });
    cleanups.push(() => feeds.close());
    let stage = 0;
    const stepTimer = setInterval(() => {
      if (stage + 1 >= stages.length) return;
      stage++;
      feeds.set("/examplenet.rss", { body: stages[stage] ?? "" });
      log.info({ stage: `${stage + 1}/${stages.length}` }, "demo feed changed");
    }, opts.stepSeconds * 1000);
    cleanups.push(() => Promise.resolve(clearInterval(stepTimer)));

    const room = `tickets@${prosody.mucDomain}`;
    // A template: the demo fills in what it started (check-config on the template itself fails).
    const configText = (await readAsset("demo.template.json"))
      .replace(/^\s*"\$schema": "[^"]*",\n/m, "")
      .replaceAll("${BOT_JID}", botJid)
      .replaceAll("${SERVICE}", prosody.service)
      .replaceAll("${ROOM_JID}", room)
      .replaceAll("${FEED_URL}", feeds.url("/examplenet.rss"))
      .replaceAll("${STORE_PATH}", join(dir, "ttrelay.json").replaceAll("\\", "/"))
      .replaceAll("${ENGINEER_JID}", `engineer@${prosody.domain}`)
      .replaceAll("${WATCHER_JID}", `watcher@${prosody.domain}`);
    const configFile = join(dir, "ttrelay-demo.json");
    await writeFile(configFile, configText);
    // Poll at least twice per step, so every step of the sample shows as its own change.
    const pollSeconds = Math.max(1, Math.min(30, Math.floor(opts.stepSeconds / 2)));
    const config = parseConfigText(configText.replace('"*/10 * * * * *"', `"*/${pollSeconds} * * * * *"`));
    if (!config.ok) throw new Error(`demo config invalid: ${config.error.map((p) => `${p.path}: ${p.message}`).join("; ")}`);
    process.env.TTRELAY_DEMO_PASSWORD = botPassword;
    const hookToken = `demo-${randomBytes(6).toString("hex")}`;
    process.env.TTRELAY_DEMO_HOOK_TOKEN = hookToken;

    const bot = await startBot(config.value, { log });
    cleanups.push(() => bot.stop());
    await bot.ready;

    if (opts.watch) {
      const watcher = await startWatcher({ service: prosody.service, domain: server.botHost, username: "console", password: consolePassword, resource: "demo-console" });
      cleanups.push(() => watcher.stop());
      watcher.onMessage((m) => {
        if (!m.body) return;
        const when = m.delayed ? " (posted before this console joined)" : "";
        out(`\n── ${room} · ${m.nick ?? "?"}${when} ──────────────\n${m.body}\n`);
      });
      await watcher.join(room, "console");
    }

    const connect = server.tls
      ? [
          `Any Jabber client (Gajim, Dino, Conversations, Profanity, Poezio…) finds the server by itself:`,
          `  account   watcher@${prosody.domain}   password ${watcherPassword}   (also: engineer@${prosody.domain} / engineer-demo)`,
          `  server    ${prosody.host}   port ${prosody.c2sPort}${prosody.c2sPort === STANDARD_C2S_PORT ? " (the standard port)" : " (5222 was taken: set it by hand)"}, STARTTLS`,
          `  The certificate is made for this demo and signed by a throw-away CA: ${server.tls.ca}`,
          `  Gajim and Profanity ask whether to trust it; Dino needs the CA in the system store for the demo's lifetime:`,
          `    sudo cp ${server.tls.ca} /usr/local/share/ca-certificates/ttrelay-demo.crt && sudo update-ca-certificates   (undo: rm it, update-ca-certificates --fresh)`,
          `  room      ${room}   (the bot is ${botJid}: send it direct messages there)`,
        ]
      : [
          "Watch it from any Jabber client (Gajim, Profanity, Poezio…) with a manual server setting (Dino needs --standard-ports):",
          `  account   watcher@${prosody.domain}   password ${watcherPassword}   (also: engineer@${prosody.domain} / engineer-demo)`,
          `  server    ${prosody.host}   port ${prosody.c2sPort}   (plain connection: the server only listens on loopback)`,
          `  room      ${room}   (the bot is ${botJid}: send it direct messages there)`,
          `  Profanity: profanity, then  /connect watcher@${prosody.domain} server ${prosody.host} port ${prosody.c2sPort} tls disable  and  /join ${room}`,
        ];
    out(
      [
        "",
        "ttrelay demo is running: the sample ExampleNet feed is relayed into a room on a private Prosody.",
        ...connect,
        `The feed shows 2 tickets first (announced in one summary line), then one new ticket every ${opts.stepSeconds} s, then updates.`,
        `As engineer@${prosody.domain}, work tickets from the room: !ack EXN_1043 on it · !update 1043 crew on site · !close 1043 solved · !help`,
        `  or with ad-hoc commands: the bot's entry in the room's participant list, or add ${botJid} as a contact (Gajim: "Execute Command…")`,
        `As watcher@${prosody.domain} (a customer), send the bot a direct message: status · show EXN_1043`,
        ...(bot.http
          ? [
              `A webhook source listens too (health: curl http://${bot.http.address}:${bot.http.port}/health · metrics: …/metrics):`,
              `  curl -sS -H 'Authorization: Bearer ${hookToken}' -H 'Content-Type: application/json' \\`,
              `       --data '{"events":[{"key":"A-1","summary":"BGP session down in Lund","service":"IP transit","state":"firing"}]}' http://${bot.http.address}:${bot.http.port}/hooks/alerts`,
              `  (then "state":"resolved","ended":"'$(date -u +%FT%TZ)'" closes it; the ticket shows in the room)`,
            ]
          : []),
        `Config used: ${configFile}. Stop with Ctrl-C.`,
        "",
      ].join("\n"),
    );

    const done = new Promise<void>((resolve) => {
      process.once("SIGINT", resolve);
      process.once("SIGTERM", resolve);
      if (opts.exitAfterSeconds !== undefined) setTimeout(resolve, opts.exitAfterSeconds * 1000).unref();
    });
    if (opts.onReady) await opts.onReady({ service: prosody.service, domain: prosody.domain, room, botJid, host: prosody.host, c2sPort: prosody.c2sPort, ca: server.tls?.ca });
    await done;
    out("stopping the demo…");
    return 0;
  } finally {
    await cleanup();
  }
}

/**
 * The TLS set-up: people on `localhost` (which every system resolves, so clients that look the
 * server up themselves find 127.0.0.1), on the standard port when it is free, with a certificate
 * for localhost and its MUC. The bot and the console are on `bot.internal`, a host without a
 * certificate (not under localhost, which would lend it localhost's): @xmpp/client verifies
 * STARTTLS against Node's CA list only, and the throw-away CA is not in it.
 */
type DemoServer = { domain: string; botHost: string; tls: ThrowawayCertificates | undefined; c2sPort: number | undefined };

async function tlsServer(dir: string, out: (line: string) => void): Promise<DemoServer> {
  const tls = await makeThrowawayCertificates(dir, ["localhost", "conference.localhost"]);
  const free = await portIsFree(STANDARD_C2S_PORT);
  if (!free) out(`Port ${STANDARD_C2S_PORT} on 127.0.0.1 is taken: the demo listens on a free port instead (printed below).`);
  return { domain: "localhost", botHost: "bot.internal", tls, c2sPort: free ? STANDARD_C2S_PORT : undefined };
}
