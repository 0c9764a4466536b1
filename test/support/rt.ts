/**
 * Launcher for private, throw-away Request Tracker 5 servers (Debian's request-tracker5 with
 * rt5-db-sqlite and rt5-standalone; install with scripts/install-rt.sh).
 *
 * Used by the integration tests. Every instance lives in its own temp dir and touches nothing
 * outside it: no file under /etc/request-tracker5 is written, the system database is only read.
 *
 * Per-instance config. RT 5 honours two environment variables (lib/RT/Config.pm, LoadConfig):
 * `RT_SITE_CONFIG` names the site config file read instead of RT_SiteConfig.pm, and
 * `RT_SITE_CONFIG_DIR` replaces BOTH snippet dirs (/usr/share/request-tracker5/etc/RT_SiteConfig.d
 * and /etc/request-tracker5/RT_SiteConfig.d). The snippets are read AFTER the site config file and
 * win, so leaving the system dir in place would let Debian's 51-dbconfig-common.pm put
 * `$DatabaseName` back to the system DB. We therefore point RT_SITE_CONFIG_DIR at an empty dir of
 * the instance and write every setting into one file named by RT_SITE_CONFIG. Both variables are
 * passed to rt-server and to every Perl helper we run against the instance.
 *
 * Clean database per instance. The Debian package creates the SQLite DB during the install at
 * /var/lib/dbconfig-common/sqlite3/request-tracker5/rtdb (dbconfig-common's path; `$DatabaseName`
 * must be absolute for SQLite, a relative one is taken under /var/lib/request-tracker5). We copy
 * that file into the instance dir (a few ms, ~0.4 MB) and set `$DatabaseName` to the copy, so every
 * instance starts from the freshly installed state and the system DB is never written. The root
 * password chosen at install time is irrelevant: we set root's password in the copy ourselves.
 *
 * Mason's caches are package variables, not config options, but the site config is evaluated in
 * `package RT`, so it can point `$RT::MasonDataDir`/`$RT::MasonSessionDir` at the instance dir too.
 *
 * Admin operations: users and queues through REST2 (basic auth as root). REST2 in 5.0.3 can create
 * a custom field but not apply it to a queue, and has no endpoint for rights or auth tokens, so
 * those go through a small Perl helper (`RT::LoadConfig(); RT::Init();` then the RT API).
 */
import { spawn, execFile } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { closeSync, openSync, rmSync } from "node:fs";
import { access, copyFile, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { z } from "zod";
import { freePort } from "../../src/demo/prosody.js";

/** Where Debian's request-tracker5 puts things. */
const RT_HOME = "/usr/share/request-tracker5";
const RT_SERVER = `${RT_HOME}/libexec/rt-server`;
const RT_LIB = `${RT_HOME}/lib`;
/** The SQLite DB dbconfig-common creates during `apt-get install rt5-db-sqlite`. */
export const DEBIAN_RT_DATABASE = "/var/lib/dbconfig-common/sqlite3/request-tracker5/rtdb";

const LOOPBACK = "127.0.0.1";
/** REST2 answers a client whose User-Agent contains "Mozilla" with a 302 to the login page. */
const USER_AGENT = "ttrelay-devserver";
/** rt-server answers after 1–3 s on an idle machine; CI machines can be much slower. */
const DEFAULT_START_TIMEOUT_MS = 60_000;
/** The Starlet master stops its workers and exits within ~1 s of SIGTERM; past this we SIGKILL. */
const STOP_GRACE_MS = 5_000;
const START_ATTEMPTS = 3;
const ADMIN_TIMEOUT_MS = 60_000;

/**
 * Rights a bot needs to work tickets: see and create them, reply, comment, change fields and
 * custom fields. Granted by `createUser` unless told otherwise.
 */
export const TicketWorkerRights = [
  "SeeQueue",
  "ShowTicket",
  "CreateTicket",
  "ModifyTicket",
  "ReplyToTicket",
  "CommentOnTicket",
  "ShowTicketComments",
  "SeeCustomField",
  "ModifyCustomField",
] as const;

export interface StartRequestTrackerOptions {
  /** Port for rt-server on 127.0.0.1; default a free one. */
  port?: number;
  /** root's password in this instance; default random. */
  rootPassword?: string;
  /** Use (and keep) this directory instead of a fresh temp dir. */
  dir?: string;
  /** SQLite DB to copy as the instance's starting state; default the one the Debian install made. */
  templateDatabase?: string;
  /** With `dir`: keep the database an earlier run left there (a restart of the same RT), if any. */
  keepDatabase?: boolean;
  /** RT's `$LogToSTDERR` level (debug|info|notice|warning|error); default "info". Goes to `logFile`. */
  logLevel?: string;
  /** How long to wait for REST2 to answer; default 60 s. */
  startTimeoutMs?: number;
}

export interface CreateUserOptions {
  email?: string;
  /** Privileged users may use the staff UI; default true. */
  privileged?: boolean;
  /** Rights to grant; default `TicketWorkerRights`; `[]` grants none. */
  rights?: readonly string[];
  /** Grant the rights on this queue (name) only; default globally. */
  queue?: string;
}

export interface CreateCustomFieldOptions {
  /** RT custom field type; default "Freeform". */
  type?: "Freeform" | "Text" | "Wikitext" | "Select" | "Date" | "DateTime";
  /** 0 = unlimited; default 1. */
  maxValues?: number;
  /** Values offered by a "Select" field. */
  values?: readonly string[];
}

export interface RtInstance {
  /** Web base URL, "http://127.0.0.1:PORT"; REST2 is under `${url}/REST/2.0`. */
  url: string;
  port: number;
  /** PID of the rt-server master; also its process group id. */
  pid: number;
  rootPassword: string;
  /** The instance's directory (config, database copy, caches, log). */
  dir: string;
  /** rt-server's stdout/stderr, including RT's log. */
  logFile: string;
  /** The instance's SQLite database. */
  databaseFile: string;
  /** Create a user (REST2) and grant it rights (Perl). */
  createUser(name: string, password: string, opts?: CreateUserOptions): Promise<{ id: number; name: string }>;
  /** Create a queue (REST2). */
  createQueue(name: string): Promise<{ id: number; name: string }>;
  /** Create a ticket custom field and apply it to `queue` (Perl: REST2 cannot apply CFs). */
  createCustomField(name: string, queue: string, opts?: CreateCustomFieldOptions): Promise<{ id: number; name: string }>;
  /** A new auth token for `user`, to send as `Authorization: token …` (Perl: REST2 has no endpoint). */
  createToken(user: string, description?: string): Promise<string>;
  /** Stop the server and, unless the caller supplied `dir`, delete its directory. Idempotent. */
  stop(): Promise<void>;
}

/** Are rt-server and the SQLite template DB there? Tests use this to fail with a useful message. */
export async function requestTrackerAvailable(templateDatabase = DEBIAN_RT_DATABASE): Promise<boolean> {
  try {
    await access(RT_SERVER);
    await access(templateDatabase);
    return true;
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------
// Config

/** A Perl single-quoted string literal. */
function perlString(value: string): string {
  return `'${value.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;
}

interface Layout {
  dir: string;
  siteConfig: string;
  /** Deliberately empty: see RT_SITE_CONFIG_DIR in the header comment. */
  siteConfigDir: string;
  database: string;
  masonData: string;
  masonSessions: string;
  adminScript: string;
  logFile: string;
}

function layoutOf(dir: string): Layout {
  return {
    dir,
    siteConfig: join(dir, "RT_SiteConfig.pm"),
    siteConfigDir: join(dir, "RT_SiteConfig.d"),
    database: join(dir, "rtdb.sqlite"),
    masonData: join(dir, "mason_data"),
    masonSessions: join(dir, "session_data"),
    adminScript: join(dir, "ttrelay-rt-admin.pl"),
    logFile: join(dir, "rt-server.log"),
  };
}

function renderSiteConfig(layout: Layout, port: number, logLevel: string): string {
  const url = `http://${LOOPBACK}:${String(port)}`;
  const set = (name: string, value: string): string => `Set($${name}, ${value});`;
  return [
    "# Generated by ttrelay's devserver launcher (test/support/rt.ts); throw-away instance, do not edit.",
    "# Read via RT_SITE_CONFIG; RT_SITE_CONFIG_DIR points at an empty dir so no system snippet overrides it.",
    set("rtname", perlString("ttrelay.test")),
    set("Organization", perlString("ttrelay.test")),
    set("CorrespondAddress", perlString("rt@ttrelay.test")),
    set("CommentAddress", perlString("rt-comment@ttrelay.test")),
    // TicketSQL dates are read in the user's time zone, which defaults to this.
    set("Timezone", perlString("UTC")),
    set("DatabaseType", perlString("SQLite")),
    set("DatabaseName", perlString(layout.database)),
    set("WebDomain", perlString(LOOPBACK)),
    set("WebPort", String(port)),
    set("WebPath", perlString("")),
    set("WebBaseURL", perlString(url)),
    set("LogToSTDERR", perlString(logLevel)),
    set("LogToSyslog", "undef"),
    set("LogToFile", "undef"),
    // Scrips' mail goes to a temp file, never to the system MTA.
    set("MailCommand", perlString("testfile")),
    set("CanonicalizeURLsInFeeds", "1"),
    // Every REST2 request checks its password or token against a bcrypt hash: ~250 ms at RT's
    // default cost of 12. Throw-away accounts don't need that; 4 is bcrypt's minimum. (Hashes made
    // at a higher cost still verify; RT only re-hashes ones BELOW the configured cost.)
    set("BcryptCost", "4"),
    `$RT::MasonDataDir = ${perlString(layout.masonData)};`,
    `$RT::MasonSessionDir = ${perlString(layout.masonSessions)};`,
    "1;",
    "",
  ].join("\n");
}

/**
 * The Perl helper: one subcommand per run, arguments in argv (never interpolated into code), one
 * result line "TTRELAY-RESULT {json}" on stdout. RT's own log goes to stderr.
 */
const ADMIN_SCRIPT = String.raw`# Generated by ttrelay's devserver launcher (test/support/rt.ts).
use strict;
use warnings;
use lib '${RT_LIB}';
use JSON::PP ();
use RT;
RT::LoadConfig();
RT::Init();

sub done { print "TTRELAY-RESULT ", JSON::PP->new->canonical->encode($_[0]), "\n"; exit 0; }
sub fail { print STDERR "ttrelay-rt-admin: $_[0]\n"; exit 2; }

my ($cmd, @args) = @ARGV;
fail("no command") unless defined $cmd;

if ($cmd eq 'set-password') {
    my ($name, $password) = @args;
    my $user = RT::User->new(RT->SystemUser);
    $user->Load($name);
    fail("no user $name") unless $user->Id;
    my ($ok, $msg) = $user->SetPassword($password);
    fail("SetPassword: $msg") unless $ok;
    done({ id => $user->Id + 0 });
}
elsif ($cmd eq 'grant') {
    my ($name, $queue, @rights) = @args;
    my $user = RT::User->new(RT->SystemUser);
    $user->Load($name);
    fail("no user $name") unless $user->Id;
    my $object = RT->System;
    if (length $queue) {
        $object = RT::Queue->new(RT->SystemUser);
        $object->Load($queue);
        fail("no queue $queue") unless $object->Id;
    }
    for my $right (@rights) {
        my ($ok, $msg) = $user->PrincipalObj->GrantRight(Right => $right, Object => $object);
        fail("GrantRight $right: $msg") unless $ok;
    }
    done({ granted => scalar @rights });
}
elsif ($cmd eq 'custom-field') {
    my ($name, $queue, $type, $max, @values) = @args;
    my $q = RT::Queue->new(RT->SystemUser);
    $q->Load($queue);
    fail("no queue $queue") unless $q->Id;
    my $cf = RT::CustomField->new(RT->SystemUser);
    my ($id, $msg) = $cf->Create(
        Name       => $name,
        Type       => $type,
        MaxValues  => $max,
        LookupType => RT::Ticket->CustomFieldLookupType,
    );
    fail("CustomField Create: $msg") unless $id;
    for my $value (@values) {
        my ($ok, $vmsg) = $cf->AddValue(Name => $value);
        fail("AddValue $value: $vmsg") unless $ok;
    }
    my ($ok, $amsg) = $cf->AddToObject($q);
    fail("AddToObject: $amsg") unless $ok;
    done({ id => $id + 0 });
}
elsif ($cmd eq 'token') {
    my ($name, $description) = @args;
    my $user = RT::User->new(RT->SystemUser);
    $user->Load($name);
    fail("no user $name") unless $user->Id;
    my $token = RT::AuthToken->new(RT->SystemUser);
    my ($id, $msg, $auth) = $token->Create(Owner => $user->Id, Description => $description);
    fail("AuthToken Create: $msg") unless $id && defined $auth;
    done({ id => $id + 0, token => $auth });
}
fail("unknown command $cmd");
`;

// ---------------------------------------------------------------------------
// Process management

/**
 * Process groups still running, with the temp dir to delete (undefined for a caller's dir); killed
 * and deleted synchronously if Node exits or is signalled without stopping them.
 */
const liveGroups = new Map<number, string | undefined>();
let hooksInstalled = false;

function killAllGroups(): void {
  for (const [pgid, dir] of liveGroups) {
    signalGroup(pgid, "SIGKILL");
    // Unlinking files the dying processes still hold open is fine on Linux.
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  }
  liveGroups.clear();
}

/**
 * rt-server runs in its own process group (so one signal reaches the master and its workers), which
 * also means a Ctrl-C on the terminal no longer reaches it, and Node does not run 'exit' handlers
 * when a signal kills it. So we kill the groups on exit AND on the usual termination signals, then
 * re-raise the signal if nobody else handles it, so Node still dies of it.
 */
function trackGroup(pgid: number, ownDir: string | undefined): void {
  liveGroups.set(pgid, ownDir);
  if (hooksInstalled) return;
  hooksInstalled = true;
  // 'exit' handlers must be synchronous; process.kill is.
  process.once("exit", killAllGroups);
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    const onSignal = (): void => {
      killAllGroups();
      process.off(signal, onSignal);
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
    };
    process.on(signal, onSignal);
  }
}

/** Signal a whole process group; false if it no longer exists. */
function signalGroup(pgid: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    return false;
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Is any process of the group still running? A zombie does not count: kill(-pgid, 0) succeeds on
 * zombies, and workers orphaned by the master are reaped by PID 1 only when it gets round to it
 * (in some containers, seconds later). So on Linux we read /proc; elsewhere we fall back to kill.
 */
async function groupAlive(pgid: number): Promise<boolean> {
  let pids: string[];
  try {
    pids = (await readdir("/proc")).filter((name) => /^\d+$/.test(name));
  } catch {
    return signalGroup(pgid, 0);
  }
  for (const pid of pids) {
    const stat = await readFile(`/proc/${pid}/stat`, "utf8").catch(() => "");
    // "pid (comm) state ppid pgrp …"; comm may contain spaces and parentheses, so cut at the last ")".
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    if (fields[2] === String(pgid) && fields[0] !== "Z") return true;
  }
  return false;
}

/** Wait until no process of the group is left; false on timeout. */
async function waitForGroupGone(pgid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (await groupAlive(pgid)) {
    if (Date.now() > deadline) return false;
    await sleep(50);
  }
  return true;
}

async function killGroup(child: ChildProcess, pgid: number): Promise<void> {
  // SIGTERM to the group: the Starlet master and its workers all get it.
  if (signalGroup(pgid, "SIGTERM") && !(await waitForGroupGone(pgid, STOP_GRACE_MS))) {
    signalGroup(pgid, "SIGKILL");
    await waitForGroupGone(pgid, STOP_GRACE_MS);
  }
  // Let Node see the master's exit (and so reap it) before we report it stopped.
  if (child.exitCode === null && child.signalCode === null) {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, STOP_GRACE_MS);
      child.once("exit", () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
  liveGroups.delete(pgid);
}

async function tail(file: string, lines = 40): Promise<string> {
  try {
    const text = await readFile(file, "utf8");
    return text.trimEnd().split("\n").slice(-lines).join("\n");
  } catch {
    return "(no output)";
  }
}

class StartError extends Error {
  constructor(
    message: string,
    /** The port was taken; retrying on another may help. */
    readonly portClash: boolean,
  ) {
    super(message);
    this.name = "RequestTrackerStartError";
  }
}

/** Poll `GET /REST/2.0/` until it answers 401 (no credentials) or 200. */
async function waitUntilReady(child: ChildProcess, layout: Layout, port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const url = `http://${LOOPBACK}:${String(port)}/REST/2.0/`;
  let last: string;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      const log = await tail(layout.logFile);
      throw new StartError(
        `rt-server exited during startup (code ${String(child.exitCode)}, signal ${String(child.signalCode)})\n--- ${layout.logFile} ---\n${log}`,
        // rt-server says "RT couldn't start up a web server on port N" (Starlet: "Address already in use").
        /couldn't start up a web server|address already in use/i.test(log),
      );
    }
    try {
      const res = await fetch(url, { headers: { "User-Agent": USER_AGENT }, signal: AbortSignal.timeout(3_000), redirect: "manual" });
      await res.arrayBuffer();
      if (res.status === 401 || res.status === 200) return;
      last = `HTTP ${String(res.status)}`;
    } catch (e) {
      last = e instanceof Error ? e.message : String(e);
    }
    if (Date.now() > deadline) {
      throw new StartError(
        `rt-server did not answer GET ${url} with 401 within ${String(timeoutMs)} ms (last: ${last})\n--- ${layout.logFile} ---\n${await tail(layout.logFile)}`,
        false,
      );
    }
    await sleep(100);
  }
}

function rtEnv(layout: Layout): NodeJS.ProcessEnv {
  return { ...process.env, RT_SITE_CONFIG: layout.siteConfig, RT_SITE_CONFIG_DIR: layout.siteConfigDir };
}

const AdminResult = z.looseObject({ id: z.number().int().optional(), token: z.string().optional() });

/** Run one subcommand of the Perl helper against the instance; returns its parsed result line. */
function runAdmin(layout: Layout, args: string[]): Promise<z.infer<typeof AdminResult>> {
  return new Promise((resolve, reject) => {
    execFile(
      "perl",
      [layout.adminScript, ...args],
      { env: rtEnv(layout), cwd: layout.dir, timeout: ADMIN_TIMEOUT_MS, maxBuffer: 4 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const line = stdout.split("\n").find((l) => l.startsWith("TTRELAY-RESULT "));
        if (error || line === undefined) {
          const why = error ? error.message : "no result line";
          // Never echo argv: it may hold a password.
          reject(new Error(`RT admin helper "${args[0] ?? ""}" failed: ${why}\n${stderr.trim().split("\n").slice(-15).join("\n")}`));
          return;
        }
        try {
          resolve(AdminResult.parse(JSON.parse(line.slice("TTRELAY-RESULT ".length))));
        } catch (e) {
          reject(e instanceof Error ? e : new Error(String(e)));
        }
      },
    );
  });
}

const CreatedResponse = z.looseObject({ id: z.union([z.string(), z.number()]) });
const UserRecord = z.looseObject({ id: z.number().int() });

/** A REST2 call as root; dev-server plumbing, so RT's failures throw. */
async function rest(url: string, rootPassword: string, method: string, path: string, body: unknown): Promise<unknown> {
  const res = await fetch(`${url}/REST/2.0${path}`, {
    method,
    headers: {
      "User-Agent": USER_AGENT,
      Accept: "application/json",
      "Content-Type": "application/json",
      Authorization: `Basic ${Buffer.from(`root:${rootPassword}`).toString("base64")}`,
    },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(30_000),
    redirect: "manual",
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`RT ${method} ${path}: HTTP ${String(res.status)}: ${text.slice(0, 500)}`);
  return JSON.parse(text) as unknown;
}

// ---------------------------------------------------------------------------
// Public API

interface ResolvedOptions {
  port: number;
  rootPassword: string;
  dir: string | undefined;
  templateDatabase: string;
  keepDatabase: boolean;
  logLevel: string;
  startTimeoutMs: number;
}

async function startOnce(o: ResolvedOptions): Promise<RtInstance> {
  const ownsDir = o.dir === undefined;
  const dir = o.dir ?? (await mkdtemp(join(tmpdir(), "rt5-")));
  const layout = layoutOf(dir);
  const removeDir = async (): Promise<void> => {
    if (ownsDir) await rm(dir, { recursive: true, force: true });
  };

  let child: ChildProcess | undefined;
  let pgid: number | undefined;
  try {
    await Promise.all([layout.siteConfigDir, layout.masonData, layout.masonSessions].map((d) => mkdir(d, { recursive: true })));
    // A fresh copy each start (a caller-supplied dir must not carry an earlier run's tickets),
    // unless the caller restarts the same RT and keeps its data.
    const kept = o.keepDatabase && (await access(layout.database).then(() => true, () => false));
    if (!kept) {
      await copyFile(o.templateDatabase, layout.database);
      await rm(`${layout.database}-journal`, { force: true });
    }
    await writeFile(layout.siteConfig, renderSiteConfig(layout, o.port, o.logLevel));
    await writeFile(layout.adminScript, ADMIN_SCRIPT);

    // Set root's password while the server starts (both take ~1 s; SQLite serialises the writes).
    const passwordSet = runAdmin(layout, ["set-password", "root", o.rootPassword]);
    passwordSet.catch(() => undefined); // awaited below; don't let an early rejection go unhandled

    const out = openSync(layout.logFile, "a");
    try {
      // detached: setsid, so the master and its workers form one group we can signal as a whole.
      child = spawn(
        RT_SERVER,
        ["--server", "Starlet", "--host", LOOPBACK, "--port", String(o.port), "--max-workers", "2"],
        { cwd: dir, env: rtEnv(layout), detached: true, stdio: ["ignore", out, out] },
      );
    } finally {
      closeSync(out);
    }
    const spawned = child;
    // Don't let a forgotten server keep Node alive; the exit hook kills it.
    spawned.unref();
    await new Promise<void>((resolve, reject) => {
      spawned.once("spawn", resolve);
      spawned.once("error", reject);
    });
    const pid = spawned.pid;
    if (pid === undefined) throw new Error("startRequestTracker: spawned rt-server has no pid");
    pgid = pid;
    trackGroup(pid, ownsDir ? dir : undefined);

    await Promise.all([waitUntilReady(spawned, layout, o.port, o.startTimeoutMs), passwordSet]);

    const url = `http://${LOOPBACK}:${String(o.port)}`;
    const asRoot = (method: string, path: string, body: unknown): Promise<unknown> => rest(url, o.rootPassword, method, path, body);
    let stopping: Promise<void> | undefined;
    return {
      url,
      port: o.port,
      pid,
      rootPassword: o.rootPassword,
      dir,
      logFile: layout.logFile,
      databaseFile: layout.database,
      async createUser(name, password, opts = {}) {
        await asRoot("POST", "/user", {
          Name: name,
          Password: password,
          EmailAddress: opts.email ?? `${name}@ttrelay.test`,
          Privileged: opts.privileged === false ? 0 : 1,
        });
        const rights = opts.rights ?? TicketWorkerRights;
        if (rights.length > 0) await runAdmin(layout, ["grant", name, opts.queue ?? "", ...rights]);
        // REST2 answers POST /user with the name as "id"; GET /user/NAME has the number.
        const user = UserRecord.parse(await asRoot("GET", `/user/${encodeURIComponent(name)}`, undefined));
        return { id: user.id, name };
      },
      async createQueue(name) {
        const created = CreatedResponse.parse(await asRoot("POST", "/queue", { Name: name }));
        return { id: Number(created.id), name };
      },
      async createCustomField(name, queue, opts = {}) {
        const result = await runAdmin(layout, [
          "custom-field",
          name,
          queue,
          opts.type === undefined ? "Freeform" : opts.type,
          String(opts.maxValues ?? 1),
          ...(opts.values ?? []),
        ]);
        if (result.id === undefined) throw new Error("createCustomField: helper returned no id");
        return { id: result.id, name };
      },
      async createToken(user, description = "ttrelay test") {
        const result = await runAdmin(layout, ["token", user, description]);
        if (result.token === undefined) throw new Error("createToken: helper returned no token");
        return result.token;
      },
      stop(): Promise<void> {
        stopping ??= (async () => {
          await killGroup(spawned, pid);
          await removeDir();
        })();
        return stopping;
      },
    };
  } catch (e) {
    // A failed start must not leave a server (or its dir) behind.
    if (child !== undefined && pgid !== undefined) await killGroup(child, pgid);
    await removeDir();
    throw e;
  }
}

/** Start one throw-away RT 5 on 127.0.0.1 with a clean copy of the installed database. */
export async function startRequestTracker(opts: StartRequestTrackerOptions = {}): Promise<RtInstance> {
  const templateDatabase = opts.templateDatabase ?? DEBIAN_RT_DATABASE;
  if (!(await requestTrackerAvailable(templateDatabase))) {
    throw new Error(`startRequestTracker: RT 5 is not installed (need ${RT_SERVER} and ${templateDatabase}); run scripts/install-rt.sh`);
  }
  if (opts.port !== undefined && (!Number.isInteger(opts.port) || opts.port <= 0 || opts.port > 65535)) {
    throw new Error(`startRequestTracker: invalid port ${String(opts.port)}`);
  }
  if (opts.rootPassword !== undefined && opts.rootPassword.length < 5) {
    // RT refuses passwords shorter than $MinimumPasswordLength (5).
    throw new Error("startRequestTracker: rootPassword must have at least 5 characters");
  }
  const rootPassword = opts.rootPassword ?? randomBytes(12).toString("hex");
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce({
        port: opts.port ?? (await freePort()),
        rootPassword,
        dir: opts.dir,
        templateDatabase,
        keepDatabase: opts.keepDatabase ?? false,
        logLevel: opts.logLevel ?? "info",
        startTimeoutMs: opts.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS,
      });
    } catch (e) {
      const retry = e instanceof StartError && e.portClash && opts.port === undefined && attempt < START_ATTEMPTS;
      if (!retry) throw e;
    }
  }
}
