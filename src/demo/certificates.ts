/**
 * A throw-away certificate authority and one server certificate signed by it, made with the
 * openssl command line (Node has no API to make X.509 certificates). For the demo only: clients
 * that insist on TLS (Dino) can be told to trust `ca.crt` for the demo's lifetime.
 */
import { execFile } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

export type ThrowawayCertificates = { ca: string; certificate: string; key: string };

/** Makes `ca.crt` and a certificate for `names` (subjectAltName DNS entries) in `dir`; valid 30 days. */
export async function makeThrowawayCertificates(dir: string, names: readonly string[]): Promise<ThrowawayCertificates> {
  const [cn = "localhost"] = names;
  const file = (name: string): string => join(dir, name);
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  await run("openssl", [
    "req", "-x509", ...ec, "-keyout", file("ca.key"), "-out", file("ca.crt"), "-days", "30",
    "-subj", "/CN=ttrelay demo CA (throw-away)",
    "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
  ]);
  await run("openssl", ["req", ...ec, "-keyout", file("server.key"), "-out", file("server.csr"), "-subj", `/CN=${cn}`]);
  await writeFile(
    file("server.ext"),
    [`subjectAltName=${names.map((n) => `DNS:${n}`).join(",")}`, "extendedKeyUsage=serverAuth", "basicConstraints=CA:FALSE", ""].join("\n"),
  );
  await run("openssl", [
    "x509", "-req", "-in", file("server.csr"), "-CA", file("ca.crt"), "-CAkey", file("ca.key"), "-CAcreateserial",
    "-out", file("server.crt"), "-days", "30", "-extfile", file("server.ext"),
  ]);
  return { ca: file("ca.crt"), certificate: file("server.crt"), key: file("server.key") };
}
