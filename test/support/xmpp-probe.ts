/**
 * What a strict client sees of a server before it logs in, read over a raw socket: whether c2s
 * offers STARTTLS and the certificate verifies against a given CA for the domain (RFC 6120 §5), and
 * how many SCRAM-SHA-1 iterations an account's salt has (RFC 5802 §5.1 server-first-message).
 * Gajim refuses fewer than 4096 iterations; Dino insists on a verified certificate.
 */
import { randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import { connect, type Socket } from "node:net";
import { connect as tlsConnect, type TLSSocket } from "node:tls";

type Reader = { until(re: RegExp, what: string): Promise<string> };

function reader(socket: Socket | TLSSocket, timeoutMs: number): Reader {
  let buffer = "";
  socket.setEncoding("utf8");
  socket.on("data", (d: string) => (buffer += d));
  return {
    until(re, what) {
      return new Promise((resolve, reject) => {
        const end = Date.now() + timeoutMs;
        const check = (): void => {
          const m = re.exec(buffer);
          if (m) {
            buffer = buffer.slice(m.index + m[0].length);
            resolve(m[0]);
          } else if (Date.now() > end || socket.destroyed) reject(new Error(`no ${what} from the server (got: ${buffer.slice(0, 300)})`));
          else setTimeout(check, 10);
        };
        check();
      });
    },
  };
}

const header = (domain: string): string =>
  `<?xml version='1.0'?><stream:stream to='${domain}' version='1.0' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>`;

export type TlsProbe = { offered: boolean; authorized: boolean; error: string | undefined; names: string };

/** Opens a stream, asks for STARTTLS and verifies the certificate against the CA in `caFile` for `domain`. */
export async function probeStartTls(port: number, domain: string, caFile: string, timeoutMs = 5_000): Promise<TlsProbe> {
  const ca = await readFile(caFile, "utf8");
  const socket = connect({ host: "127.0.0.1", port });
  try {
    const r = reader(socket, timeoutMs);
    socket.write(header(domain));
    const features = await r.until(/<stream:features[\s\S]*?<\/stream:features>/, "stream features");
    if (!/urn:ietf:params:xml:ns:xmpp-tls/.test(features)) return { offered: false, authorized: false, error: undefined, names: "" };
    socket.write("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>");
    await r.until(/<proceed[^>]*\/>/, "proceed");
    socket.removeAllListeners("data");
    const tls = tlsConnect({ socket, ca, servername: domain, rejectUnauthorized: false });
    await new Promise<void>((resolve, reject) => {
      tls.once("secureConnect", resolve);
      tls.once("error", reject);
    });
    const names = tls.getPeerCertificate().subjectaltname ?? "";
    const result = { offered: true, authorized: tls.authorized, error: tls.authorizationError?.toString(), names };
    tls.destroy();
    return result;
  } finally {
    socket.destroy();
  }
}

/** The iteration count of `user`'s SCRAM-SHA-1 salt, from the server's first challenge (plain c2s). */
export async function scramIterations(port: number, domain: string, user: string, timeoutMs = 5_000): Promise<number> {
  const socket = connect({ host: "127.0.0.1", port });
  try {
    const r = reader(socket, timeoutMs);
    socket.write(header(domain));
    const features = await r.until(/<stream:features[\s\S]*?<\/stream:features>/, "stream features");
    if (!/SCRAM-SHA-1</.test(features)) throw new Error(`SCRAM-SHA-1 not offered: ${features}`);
    const clientFirst = `n,,n=${user},r=${randomBytes(12).toString("hex")}`;
    socket.write(`<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='SCRAM-SHA-1'>${Buffer.from(clientFirst).toString("base64")}</auth>`);
    const challenge = await r.until(/<challenge[^>]*>[^<]*<\/challenge>/, "SCRAM challenge");
    const serverFirst = Buffer.from(challenge.replace(/<[^>]+>/g, ""), "base64").toString("utf8");
    const i = /(?:^|,)i=(\d+)/.exec(serverFirst)?.[1];
    if (i === undefined) throw new Error(`no iteration count in ${serverFirst}`);
    return Number(i);
  } finally {
    socket.destroy();
  }
}
