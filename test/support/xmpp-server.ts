/**
 * One interface over the throw-away XMPP servers the integration tests run against: Prosody
 * (src/demo/prosody.ts, which the demo ships) and ejabberd (test/support/ejabberd.ts). A test file
 * runs its cases once per server in `xmppServers()`; both by default, or those named in
 * TTRELAY_TEST_SERVERS (e.g. `TTRELAY_TEST_SERVERS=ejabberd`). Servers differ in what they offer;
 * the tests do not branch on which one it is: the bot reads what a server offers.
 */
import assert from "node:assert/strict";
import { prosodyAvailable, startProsody } from "../../src/demo/prosody.js";
import { ejabberdAvailable, startEjabberd } from "./ejabberd.js";

export const ServerKinds = ["prosody", "ejabberd"] as const;
export type ServerKind = (typeof ServerKinds)[number];

export interface XmppServer {
  kind: ServerKind;
  domain: string;
  mucDomain: string;
  c2sPort: number;
  /** `service` option for @xmpp/client. */
  service: string;
  /** The server process (for SIGSTOP / SIGKILL in tests). */
  pid: number;
  dir: string;
  register(user: string, password: string): Promise<void>;
  stop(): Promise<void>;
}

export type StartServerOptions = {
  domain: string;
  /** Keep the data in this dir (and reuse it on a restart). */
  dir?: string;
  c2sPort?: number;
  /** ejabberd only: where its archive is kept (test/support/ejabberd.ts; SQLite unless told). */
  ejabberdArchive?: "sqlite" | "mnesia";
};

/** The servers to run against, each checked to be installed (a missing one fails loudly). */
export async function xmppServers(): Promise<ServerKind[]> {
  const wanted = (process.env.TTRELAY_TEST_SERVERS ?? ServerKinds.join(","))
    .split(",")
    .map((s) => s.trim())
    .filter((s): s is ServerKind => (ServerKinds as readonly string[]).includes(s));
  for (const kind of wanted) {
    const available = kind === "prosody" ? await prosodyAvailable() : await ejabberdAvailable();
    assert.ok(available, `${kind} is not installed: run scripts/setup.sh (it installs prosody and ejabberd from Debian)`);
  }
  return wanted;
}

export async function startXmppServer(kind: ServerKind, opts: StartServerOptions): Promise<XmppServer> {
  if (kind === "prosody") {
    // Room locking on, as on a production Prosody: the bot must configure the rooms it creates.
    const p = await startProsody({ domain: opts.domain, mucRoomLocking: true, ...(opts.dir ? { dir: opts.dir } : {}), ...(opts.c2sPort ? { c2sPort: opts.c2sPort } : {}) });
    return { kind, domain: p.domain, mucDomain: p.mucDomain, c2sPort: p.c2sPort, service: p.service, pid: p.pid, dir: p.dir, register: (u, pw) => p.register(u, pw), stop: () => p.stop() };
  }
  const e = await startEjabberd({ domain: opts.domain, ...(opts.dir ? { dir: opts.dir } : {}), ...(opts.c2sPort ? { c2sPort: opts.c2sPort } : {}), ...(opts.ejabberdArchive ? { archive: opts.ejabberdArchive } : {}) });
  return { kind, domain: e.domain, mucDomain: e.mucDomain, c2sPort: e.c2sPort, service: e.service, pid: e.pid, dir: e.dir, register: (u, pw) => e.register(u, pw), stop: () => e.stop() };
}
