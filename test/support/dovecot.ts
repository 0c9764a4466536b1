/**
 * A private, throw-away Dovecot IMAP server (Debian's dovecot-imapd) for the mail tests: its own
 * config, users file, mail and runtime dirs in a temp dir, listening on a free loopback port, run in
 * the foreground (`dovecot -F -c FILE`) and stopped by its PID. Nothing under /etc/dovecot is read
 * (the config is passed with -c) and no system service is involved.
 *
 * Root-safe: Dovecot refuses mail access as UID 0, so mailboxes belong to `nobody` (the temp dir's
 * mail tree is chowned to it when the tests run as root); logins and auth run as Debian's dovecot
 * and dovenull users, which the package creates.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, openSync } from "node:fs";
import { chmod, chown, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "../../src/demo/prosody.js";

const DOVECOT = "/usr/sbin/dovecot";
const NOBODY = 65534;

export type DovecotUser = { name: string; password: string };

export type DovecotInstance = {
  host: string;
  port: number;
  pid: number;
  dir: string;
  logFile: string;
  users: DovecotUser[];
  /** Stops the server (SIGTERM by PID, SIGKILL after 5 s) and removes its directory. */
  stop(): Promise<void>;
  /** Stops it but keeps the directory (mail stays), for a restart with `startDovecot({ dir })`. */
  halt(): Promise<void>;
};

export type StartDovecotOptions = { users?: DovecotUser[]; dir?: string; port?: number };

function config(dir: string, port: number): string {
  return `# Private test instance written by test/support/dovecot.ts
instance_name = ttrelay-test-${port}
base_dir = ${dir}/run
state_dir = ${dir}/state
log_path = ${dir}/dovecot.log
info_log_path = ${dir}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
# Plain logins on loopback only (listen above): no TLS in these tests.
disable_plaintext_auth = no
auth_mechanisms = plain login
default_internal_user = dovecot
default_login_user = dovenull
first_valid_uid = ${NOBODY}
last_valid_uid = ${NOBODY}
mail_location = maildir:~/Maildir
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u ${dir}/users
}
userdb {
  driver = passwd-file
  args = username_format=%u ${dir}/users
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = ${port}
  }
  inet_listener imaps {
    port = 0
  }
}
service stats {
  inet_listener http {
    port = 0
  }
}
namespace inbox {
  inbox = yes
  separator = /
}
protocol imap {
  mail_max_userip_connections = 50
}
`;
}

async function waitForGreeting(port: number, deadline: number): Promise<void> {
  while (Date.now() < deadline) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect({ host: "127.0.0.1", port }, () => undefined);
      s.once("data", (d) => {
        s.destroy();
        resolve(d.toString().startsWith("* OK"));
      });
      s.once("error", () => resolve(false));
      s.setTimeout(1000, () => {
        s.destroy();
        resolve(false);
      });
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`dovecot did not greet on 127.0.0.1:${port}`);
}

export async function startDovecot(opts: StartDovecotOptions = {}): Promise<DovecotInstance> {
  const dir = opts.dir ?? (await mkdtemp(join(tmpdir(), "ttrelay-dovecot-")));
  const port = opts.port ?? (await freePort());
  const users = opts.users ?? [{ name: "noc", password: "noc-secret" }];
  // Dovecot's auth process (user dovecot) reads the users file; mkdtemp makes the dir 0700.
  await chmod(dir, 0o755);
  for (const sub of ["run", "state", "home"]) await mkdir(join(dir, sub), { recursive: true });
  const lines = users.map((u) => `${u.name}:{PLAIN}${u.password}:${NOBODY}:${NOBODY}::${dir}/home/${u.name}::`);
  for (const u of users) {
    await mkdir(join(dir, "home", u.name), { recursive: true });
    if (process.getuid?.() === 0) await chown(join(dir, "home", u.name), NOBODY, NOBODY);
  }
  await writeFile(join(dir, "users"), lines.join("\n") + "\n", { mode: 0o644 });
  const confFile = join(dir, "dovecot.conf");
  await writeFile(confFile, config(dir, port));
  const logFile = join(dir, "dovecot.log");
  const out = openSync(join(dir, "stdout.log"), "a");
  let child: ChildProcess;
  try {
    child = spawn(DOVECOT, ["-F", "-c", confFile], { stdio: ["ignore", out, out] });
  } finally {
    closeSync(out);
  }
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  try {
    await Promise.race([
      waitForGreeting(port, Date.now() + 20_000),
      exited.then(async (code) => {
        throw new Error(`dovecot exited with ${code}: ${await readFile(join(dir, "stdout.log"), "utf8").catch(() => "")} ${await readFile(logFile, "utf8").catch(() => "")}`);
      }),
    ]);
  } catch (e) {
    child.kill("SIGKILL");
    throw e;
  }
  const pid = child.pid ?? 0;
  const halt = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
    await exited;
    clearTimeout(timer);
  };
  return {
    host: "127.0.0.1",
    port,
    pid,
    dir,
    logFile,
    users,
    halt,
    async stop() {
      await halt();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
