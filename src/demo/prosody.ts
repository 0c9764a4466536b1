/**
 * Launcher for private, throw-away Prosody servers.
 *
 * Used by the integration tests and by the bot's demo mode. Every instance
 * lives entirely in its own temp dir (config, data, log, pidfile, plugins),
 * listens on loopback only, on free ports, with TLS off, so several instances
 * can run side by side without touching the system Prosody.
 *
 * Two instances can federate (s2s) with each other. Prosody resolves peers
 * itself through lua-unbound (SRV, then A/AAAA on port 5269), ignoring
 * /etc/hosts, so it could never find a peer on a non-default port; we ship a
 * tiny plugin that routes the peer's domains straight to 127.0.0.1:PORT.
 */
import { spawn, execFile } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { constants as fsConstants, openSync, closeSync } from "node:fs";
import { access, copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer, connect, isIP } from "node:net";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";

/** Where a peer server can be reached for s2s. */
export interface PeerAddress {
  /** The peer's XMPP domain, e.g. "noc-b.test". */
  domain: string;
  /** The peer's s2s port. */
  port: number;
  /** IP literal of the peer; defaults to 127.0.0.1. A name would go back to DNS. */
  host?: string;
  /** The peer's MUC component; defaults to "conference." + domain. */
  mucDomain?: string;
}

export interface StartProsodyOptions {
  /** The VirtualHost. When federating use names like "noc-a.test", not `*.localhost`. */
  domain: string;
  /** Servers this one may federate with; their domains are routed statically. */
  peers?: PeerAddress[];
  /** Use (and keep) this directory instead of a fresh temp dir. */
  dir?: string;
  /** Minimum level written to `prosody.log` (debug|info|warn|error); default "info". */
  logLevel?: string;
  s2sPort?: number;
  c2sPort?: number;
  /**
   * Prosody (per XEP-0045) locks a newly created room until its owner submits
   * the room config. Throw-away servers default to `false` so the first join
   * yields a usable room; pass `true` to exercise the real owner flow.
   */
  mucRoomLocking?: boolean;
  /** How long to wait for Prosody to report ready; default 10 s. */
  startTimeoutMs?: number;
  /**
   * SCRAM iterations for accounts registered (default 1000: fast logins for throw-away accounts).
   * Accounts a person uses need at least 4096: Gajim refuses fewer, silently.
   */
  scramIterations?: number;
  /**
   * A certificate (PEM files) for `domain` and its MUC: c2s offers STARTTLS to streams for
   * `domain`, as clients that insist on TLS (Dino) need. Streams to `plainHosts` stay plain.
   */
  tls?: { certificate: string; key: string };
  /** More VirtualHosts, without TLS (their names must not end in `domain`, or the cert would apply). */
  plainHosts?: string[];
}

export interface ProsodyInstance {
  domain: string;
  mucDomain: string;
  host: "127.0.0.1";
  c2sPort: number;
  s2sPort: number;
  /** The instance's directory (config, data, log). */
  dir: string;
  /** Path of the generated Prosody config. */
  configFile: string;
  /** Path of the Prosody log. */
  logFile: string;
  pid: number;
  /** `service` option for @xmpp/client: "xmpp://127.0.0.1:PORT". */
  service: string;
  /** Create (or re-password) `user@host` (host: `domain` or one of `plainHosts`). Works whether or not the server runs. */
  register(user: string, password: string, host?: string): Promise<void>;
  /** Stop the server and, unless the caller supplied `dir`, delete its directory. Idempotent. */
  stop(): Promise<void>;
}

const LOOPBACK = "127.0.0.1";
const PLUGIN_NAME = "ttrelay_devserver";
const ROUTES_OPTION = "ttrelay_static_routes";
const READY_FILE_OPTION = "ttrelay_ready_file";
const EXPECTED_PORTS_OPTION = "ttrelay_expected_ports";
const DEFAULT_START_TIMEOUT_MS = 10_000;
/** Prosody normally exits within ~0.1 s of SIGTERM; past this we SIGKILL. */
const STOP_GRACE_MS = 3_000;
/** Only auto-picked ports are retried: another process may grab one between freePort() and Prosody's bind. */
export const START_ATTEMPTS = 3;

/** Bind port 0 on loopback, read the port the kernel chose, release it. */
export async function freePort(): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.once("error", reject);
    srv.listen(0, LOOPBACK, () => {
      const addr = srv.address();
      if (addr === null || typeof addr === "string") {
        srv.close();
        reject(new Error("freePort: unexpected server address"));
        return;
      }
      const { port } = addr;
      srv.close(() => resolve(port));
    });
  });
}

let cachedBinary: Promise<string | undefined> | undefined;

/** Path of the prosody binary, looked up without running it (`prosody --version` would start a server). */
function findProsodyBinary(): Promise<string | undefined> {
  cachedBinary ??= (async () => {
    const dirs = (process.env.PATH ?? "").split(delimiter).filter((d) => d !== "");
    const candidates = [...dirs.map((d) => join(d, "prosody")), "/usr/bin/prosody"];
    for (const candidate of candidates) {
      try {
        await access(candidate, fsConstants.X_OK);
        return candidate;
      } catch {
        // not here; try the next one
      }
    }
    return undefined;
  })();
  return cachedBinary;
}

/** prosodyctl sits beside prosody; fall back to PATH lookup by name. */
async function findProsodyctl(): Promise<string> {
  const prosody = await findProsodyBinary();
  if (prosody !== undefined) {
    const sibling = join(prosody, "..", "prosodyctl");
    try {
      await access(sibling, fsConstants.X_OK);
      return sibling;
    } catch {
      // fall through
    }
  }
  return "prosodyctl";
}

/** Is a Prosody binary installed? Tests use this to skip rather than fail. */
export async function prosodyAvailable(): Promise<boolean> {
  return (await findProsodyBinary()) !== undefined;
}

// ---------------------------------------------------------------------------
// Config generation

/** Quote a string as a Lua string literal (config values may contain paths). */
function lua(value: string): string {
  let out = "";
  for (const ch of value) {
    const code = ch.charCodeAt(0);
    if (ch === "\\" || ch === '"') out += `\\${ch}`;
    // Lua's \ddd is a decimal byte escape, which covers every control char.
    else if (code < 0x20 || code === 0x7f) out += `\\${String(code).padStart(3, "0")}`;
    else out += ch;
  }
  return `"${out}"`;
}

const DOMAIN_RE = /^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*$/i;

function checkDomain(domain: string): void {
  if (!DOMAIN_RE.test(domain)) throw new Error(`startProsody: invalid domain ${JSON.stringify(domain)}`);
}

function checkPort(name: string, port: number): void {
  if (!Number.isInteger(port) || port <= 0 || port > 65535) {
    throw new Error(`startProsody: invalid ${name} ${String(port)}`);
  }
}

interface Layout {
  dir: string;
  configFile: string;
  logFile: string;
  stdioFile: string;
  dataDir: string;
  certsDir: string;
  pluginDir: string;
  readyFile: string;
}

function layoutOf(dir: string): Layout {
  return {
    dir,
    configFile: join(dir, "prosody.cfg.lua"),
    logFile: join(dir, "prosody.log"),
    // Prosody's own stdout/stderr (startup errors before logging is set up).
    stdioFile: join(dir, "prosody.stdio.log"),
    dataDir: join(dir, "data"),
    certsDir: join(dir, "certificates"),
    pluginDir: join(dir, "plugins"),
    // Written by our plugin once Prosody is up (see PLUGIN_SOURCE).
    readyFile: join(dir, "ready"),
  };
}

/**
 * Our Prosody plugin, loaded from the instance's plugin dir. Two jobs:
 *
 * 1. Static s2s routes. It wraps net.resolvers.service.new, which mod_s2s
 *    calls (through the module table, so replacing the field takes effect)
 *    for every outgoing s2s connection. For configured hosts it returns a
 *    basic resolver on an IP literal, which yields that one target without
 *    any DNS query.
 * 2. A readiness report. Prosody does not exit when it cannot bind a port (it
 *    logs "Failed to open server port" and runs on), and a port that accepts
 *    may belong to another process that grabbed it first, e.g. another
 *    instance with the same domain. So on "server-started" (fired once all
 *    hosts and listeners are up) the plugin asks portmanager which service
 *    owns each expected port and writes the answer to a file the launcher
 *    waits for. This works whatever the log level.
 *
 * set_global() makes it load once per process rather than once per
 * VirtualHost, so the resolver wrapper is never stacked.
 */
const PLUGIN_SOURCE = `-- Generated by ttrelay's devserver launcher (src/demo/prosody.ts).
module:set_global();

local service = require "net.resolvers.service";
local basic = require "net.resolvers.basic";
local portmanager = require "core.portmanager";

local routes = module:get_option("${ROUTES_OPTION}", {});
local ready_file = module:get_option_string("${READY_FILE_OPTION}");
local expected_ports = module:get_option("${EXPECTED_PORTS_OPTION}", {});

local original_new = service.new;
service.new = function (hostname, srv_name, conn_type, extra)
\tlocal route = routes[hostname];
\tif route then
\t\tmodule:log("debug", "static s2s route for %s -> %s:%d", hostname, route[1], route[2]);
\t\treturn basic.new(route[1], route[2], conn_type, extra);
\tend
\treturn original_new(hostname, srv_name, conn_type, extra);
end

function module.unload()
\tservice.new = original_new;
end

module:hook_global("server-started", function ()
\tif not ready_file then return; end
\tlocal lines = {};
\tfor _, want in ipairs(expected_ports) do
\t\tlocal svc = portmanager.get_service_at(want[2], want[3]);
\t\tlocal ok = svc ~= nil and svc.name == want[1];
\t\tlines[#lines + 1] = ("%s %s %d %s"):format(want[1], want[2], want[3], ok and "ok" or "missing");
\tend
\t-- Write then rename, so the launcher never reads half a file.
\tlocal f = assert(io.open(ready_file .. ".tmp", "w"));
\tf:write(table.concat(lines, "\\n"), "\\n");
\tf:close();
\tassert(os.rename(ready_file .. ".tmp", ready_file));
end);
`;

interface ConfigInput {
  layout: Layout;
  domain: string;
  mucDomain: string;
  c2sPort: number;
  s2sPort: number;
  httpPort: number;
  logLevel: string;
  mucRoomLocking: boolean;
  peers: PeerAddress[];
  scramIterations: number;
  tls: boolean;
  plainHosts: string[];
}

function renderConfig(c: ConfigInput): string {
  const routes = c.peers.flatMap((p) => {
    const ip = p.host ?? LOOPBACK;
    const entry = `{ ${lua(ip)}, ${String(p.port)} }`;
    return [p.domain, p.mucDomain ?? `conference.${p.domain}`].map((h) => `\t[${lua(h)}] = ${entry};`);
  });
  // Lean on purpose: the fewer modules, the fewer extra children in stanzas.
  const modules = [
    "roster",
    "saslauth",
    "disco",
    "ping",
    // s2s without TLS can only authenticate peers by dialback.
    "dialback",
    PLUGIN_NAME,
  ];
  return [
    "-- Generated by ttrelay's devserver launcher; throw-away server, do not edit.",
    // The tests/demo run as root in containers; the server owns nothing outside its dir.
    "run_as_root = true",
    `pidfile = ${lua(join(c.layout.dir, "prosody.pid"))}`,
    `data_path = ${lua(c.layout.dataDir)}`,
    `certificates = ${lua(c.layout.certsDir)}`,
    `plugin_paths = { ${lua(c.layout.pluginDir)} }`,
    `log = { { levels = { min = ${lua(c.logLevel)} }, to = "file", filename = ${lua(c.layout.logFile)} } }`,
    "",
    `interfaces = { ${lua(LOOPBACK)} }`,
    `c2s_ports = { ${String(c.c2sPort)} }`,
    `s2s_ports = { ${String(c.s2sPort)} }`,
    // Nothing here uses HTTP, but pin the port anyway so a module that does can't clash on 5280.
    `http_ports = { ${String(c.httpPort)} }`,
    "https_ports = { }",
    "c2s_direct_tls_ports = { }",
    "s2s_direct_tls_ports = { }",
    "",
    "c2s_require_encryption = false",
    "s2s_require_encryption = false",
    "s2s_secure_auth = false",
    'authentication = "internal_hashed"',
    // Prosody's default of 10000 SCRAM iterations costs ~1 s per @xmpp/client login.
    `default_iteration_count = ${String(c.scramIterations)}`,
    // On shutdown Prosody waits up to close_timeout (+1 s) for peers to close
    // their streams; 5 s by default, longer than our SIGKILL grace period.
    "c2s_close_timeout = 1",
    "s2s_close_timeout = 1",
    "",
    `modules_enabled = { ${modules.map(lua).join(", ")} }`,
    `${ROUTES_OPTION} = {`,
    ...routes,
    "}",
    `${READY_FILE_OPTION} = ${lua(c.layout.readyFile)}`,
    `${EXPECTED_PORTS_OPTION} = {`,
    `\t{ "c2s", ${lua(LOOPBACK)}, ${String(c.c2sPort)} };`,
    `\t{ "s2s", ${lua(LOOPBACK)}, ${String(c.s2sPort)} };`,
    "}",
    "",
    `VirtualHost ${lua(c.domain)}`,
    // STARTTLS for this host only (added to the global modules); the plain hosts below offer none.
    // Its people also get a message archive (XEP-0313): Dino 0.4.2 crashes joining a room when the
    // account's server has none (a NULL stream flag in its MAM module).
    ...(c.tls ? ['\tmodules_enabled = { "tls", "mam" }'] : []),
    "",
    ...c.plainHosts.flatMap((h) => [`VirtualHost ${lua(h)}`, ""]),
    `Component ${lua(c.mucDomain)} "muc"`,
    '\tmodules_enabled = { "muc_mam" }',
    "\tmuc_log_by_default = true",
    // Any user, local or remote, may create rooms (needed for the federation case).
    "\trestrict_room_creation = false",
    `\tmuc_room_locking = ${c.mucRoomLocking ? "true" : "false"}`,
    "",
  ].join("\n");
}

// ---------------------------------------------------------------------------
// Process management

/** Children still running; killed synchronously if Node exits without stopping them. */
const liveChildren = new Set<ChildProcess>();
let exitHookInstalled = false;

function trackChild(child: ChildProcess): void {
  liveChildren.add(child);
  child.once("exit", () => liveChildren.delete(child));
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    // 'exit' handlers must be synchronous; process.kill is. The temp dir is
    // left behind in this case (tmp cleaners get it), the process is not.
    process.once("exit", () => {
      for (const c of liveChildren) c.kill("SIGKILL");
    });
  }
}

function hasExited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

function waitForExit(child: ChildProcess, timeoutMs: number): Promise<boolean> {
  if (hasExited(child)) return Promise.resolve(true);
  return new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => {
      child.off("exit", onExit);
      resolve(false);
    }, timeoutMs);
    const onExit = (): void => {
      clearTimeout(timer);
      resolve(true);
    };
    child.once("exit", onExit);
  });
}

async function killChild(child: ChildProcess): Promise<void> {
  // No pid: the spawn itself failed, there is nothing to kill.
  if (child.pid === undefined || hasExited(child)) return;
  child.kill("SIGTERM");
  if (await waitForExit(child, STOP_GRACE_MS)) return;
  child.kill("SIGKILL");
  await waitForExit(child, STOP_GRACE_MS);
}

async function tail(file: string, lines = 30): Promise<string> {
  try {
    const text = await readFile(file, "utf8");
    return text.trimEnd().split("\n").slice(-lines).join("\n");
  } catch {
    return "(no output)";
  }
}

/** Whether something accepts TCP connections on this loopback port. */
export function canConnect(port: number): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    const sock = connect({ host: LOOPBACK, port });
    sock.once("connect", () => {
      sock.destroy();
      resolve(true);
    });
    sock.once("error", () => {
      sock.destroy();
      resolve(false);
    });
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export class StartError extends Error {
  constructor(
    message: string,
    /** A port was already taken; retrying with fresh ports may help. */
    readonly portClash: boolean,
  ) {
    super(message);
    this.name = "ProsodyStartError";
  }
}

async function diagnostics(layout: Layout): Promise<string> {
  return `--- prosody.log ---\n${await tail(layout.logFile)}\n--- stdout/stderr ---\n${await tail(layout.stdioFile)}`;
}

/**
 * Wait for our plugin's readiness report (see PLUGIN_SOURCE), then check the
 * c2s port really accepts. Fails fast if Prosody exits, and says which port
 * could not be bound if one was taken.
 */
async function waitUntilReady(child: ChildProcess, layout: Layout, c2sPort: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (hasExited(child)) {
      throw new StartError(
        `prosody exited during startup (code ${String(child.exitCode)}, signal ${String(child.signalCode)})\n` +
          (await diagnostics(layout)),
        false,
      );
    }
    const report = await readFile(layout.readyFile, "utf8").catch(() => undefined);
    if (report !== undefined) {
      const missing = report.split("\n").filter((line) => line.endsWith(" missing"));
      if (missing.length > 0) {
        throw new StartError(
          `prosody could not bind: ${missing.map((l) => l.replace(/ missing$/, "")).join("; ")}\n` +
            (await diagnostics(layout)),
          true,
        );
      }
      if (await canConnect(c2sPort)) return;
    }
    if (Date.now() > deadline) {
      throw new StartError(
        `prosody was not ready on 127.0.0.1:${String(c2sPort)} within ${String(timeoutMs)} ms\n` +
          (await diagnostics(layout)),
        false,
      );
    }
    await sleep(20);
  }
}

function run(file: string, args: string[]): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    execFile(file, args, { timeout: 15_000 }, (err, stdout, stderr) => {
      if (err) {
        reject(new Error(`${file} ${args.join(" ")} failed: ${err.message}\n${stdout}${stderr}`));
      } else {
        resolve();
      }
    });
  });
}

// ---------------------------------------------------------------------------
// Public API

interface ResolvedOptions {
  domain: string;
  mucDomain: string;
  peers: PeerAddress[];
  dir: string | undefined;
  logLevel: string;
  c2sPort: number;
  s2sPort: number;
  mucRoomLocking: boolean;
  startTimeoutMs: number;
  scramIterations: number;
  tls: { certificate: string; key: string } | undefined;
  plainHosts: string[];
}

async function startOnce(o: ResolvedOptions): Promise<ProsodyInstance> {
  const binary = await findProsodyBinary();
  if (binary === undefined) throw new Error("startProsody: prosody is not installed (not on PATH nor /usr/bin/prosody)");

  const ownsDir = o.dir === undefined;
  const dir = o.dir ?? (await mkdtemp(join(tmpdir(), `prosody-${o.domain}-`)));
  const layout = layoutOf(dir);
  const removeDir = async (): Promise<void> => {
    if (ownsDir) await rm(dir, { recursive: true, force: true });
  };

  let child: ChildProcess | undefined;
  try {
    // Prosody wants the certificates dir even with TLS off.
    await Promise.all([layout.dataDir, layout.certsDir, layout.pluginDir].map((d) => mkdir(d, { recursive: true })));
    await writeFile(join(layout.pluginDir, `mod_${PLUGIN_NAME}.lua`), PLUGIN_SOURCE);
    // Prosody finds a host's certificate in its certificates dir by name (core/certmanager.lua).
    if (o.tls) {
      await copyFile(o.tls.certificate, join(layout.certsDir, `${o.domain}.crt`));
      await copyFile(o.tls.key, join(layout.certsDir, `${o.domain}.key`));
    }
    // A caller-supplied dir may hold the report of an earlier run.
    await rm(layout.readyFile, { force: true });
    await writeFile(
      layout.configFile,
      renderConfig({
        layout,
        domain: o.domain,
        mucDomain: o.mucDomain,
        c2sPort: o.c2sPort,
        s2sPort: o.s2sPort,
        httpPort: await freePort(),
        logLevel: o.logLevel,
        mucRoomLocking: o.mucRoomLocking,
        peers: o.peers,
        scramIterations: o.scramIterations,
        tls: o.tls !== undefined,
        plainHosts: o.plainHosts,
      }),
    );

    const stdio = openSync(layout.stdioFile, "a");
    try {
      // -F: stay in the foreground so the PID we hold is the server's.
      // Not detached: a Ctrl-C on the terminal reaches Prosody too.
      child = spawn(binary, ["--config", layout.configFile, "-F"], { stdio: ["ignore", stdio, stdio] });
    } finally {
      closeSync(stdio);
    }
    const spawned = child;
    trackChild(spawned);
    // Don't let a forgotten server keep Node alive; the exit hook kills it.
    spawned.unref();
    await new Promise<void>((resolve, reject) => {
      spawned.once("spawn", resolve);
      spawned.once("error", reject);
    });
    const pid = spawned.pid;
    if (pid === undefined) throw new Error("startProsody: spawned prosody has no pid");

    await waitUntilReady(spawned, layout, o.c2sPort, o.startTimeoutMs);

    let stopping: Promise<void> | undefined;
    const configFile = layout.configFile;
    const ctl = await findProsodyctl();
    return {
      domain: o.domain,
      mucDomain: o.mucDomain,
      host: LOOPBACK,
      c2sPort: o.c2sPort,
      s2sPort: o.s2sPort,
      dir,
      configFile,
      logFile: layout.logFile,
      pid,
      service: `xmpp://${LOOPBACK}:${String(o.c2sPort)}`,
      async register(user: string, password: string, host = o.domain): Promise<void> {
        // prosodyctl writes straight into data_path; the running server reads
        // accounts from storage on each login, so no restart is needed.
        await run(ctl, ["--config", configFile, "register", user, host, password]);
      },
      stop(): Promise<void> {
        stopping ??= (async () => {
          await killChild(spawned);
          await removeDir();
        })();
        return stopping;
      },
    };
  } catch (err) {
    // A failed start must not leave a server (or its dir) behind.
    if (child !== undefined) await killChild(child);
    await removeDir();
    throw err;
  }
}

/** Start one throw-away Prosody on loopback. Ports not given are picked free. */
export async function startProsody(opts: StartProsodyOptions): Promise<ProsodyInstance> {
  checkDomain(opts.domain);
  for (const h of opts.plainHosts ?? []) {
    checkDomain(h);
    if (opts.tls && (h === opts.domain || h.endsWith(`.${opts.domain}`))) throw new Error(`startProsody: plain host ${h} would get ${opts.domain}'s certificate`);
  }
  for (const p of opts.peers ?? []) {
    checkDomain(p.domain);
    if (p.mucDomain !== undefined) checkDomain(p.mucDomain);
    checkPort("peer port", p.port);
    // basic.new only skips DNS for IP literals.
    if (p.host !== undefined && isIP(p.host) === 0) throw new Error(`startProsody: peer host must be an IP literal, got ${p.host}`);
  }
  if (opts.c2sPort !== undefined) checkPort("c2sPort", opts.c2sPort);
  if (opts.s2sPort !== undefined) checkPort("s2sPort", opts.s2sPort);

  const portsFixed = opts.c2sPort !== undefined && opts.s2sPort !== undefined;
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce({
        domain: opts.domain,
        mucDomain: `conference.${opts.domain}`,
        peers: opts.peers ?? [],
        dir: opts.dir,
        logLevel: opts.logLevel ?? "info",
        c2sPort: opts.c2sPort ?? (await freePort()),
        s2sPort: opts.s2sPort ?? (await freePort()),
        mucRoomLocking: opts.mucRoomLocking ?? false,
        startTimeoutMs: opts.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS,
        scramIterations: opts.scramIterations ?? 1000,
        tls: opts.tls,
        plainHosts: opts.plainHosts ?? [],
      });
    } catch (err) {
      const retry = err instanceof StartError && err.portClash && !portsFixed && attempt < START_ATTEMPTS;
      if (!retry) throw err;
    }
  }
}
