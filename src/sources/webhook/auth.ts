/**
 * Who is calling a webhook (pure): a bearer token (RFC 6750 §2.1) or an HMAC-SHA256 of the raw
 * body in an `X-Hub-Signature-256: sha256=<hex>` style header. Compared in constant time, on
 * digests of equal length, so neither the secret's length nor its prefix leaks through timing.
 */
import { createHash, createHmac, timingSafeEqual } from "node:crypto";

/** "missing": no or malformed credentials (401); "wrong": credentials that do not match (403). */
export type AuthVerdict = "ok" | "missing" | "wrong";

const sameSecret = (given: string, expected: string): boolean =>
  timingSafeEqual(createHash("sha256").update(given).digest(), createHash("sha256").update(expected).digest());

export function checkBearer(authorization: string | undefined, token: string): AuthVerdict {
  const m = /^Bearer[ ]+([A-Za-z0-9\-._~+/]+=*)\s*$/i.exec(authorization ?? "");
  if (!m?.[1]) return "missing";
  return sameSecret(m[1], token) ? "ok" : "wrong";
}

export const hmacSignature = (body: Buffer, secret: string): string => `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`;

export function checkHmac(header: string | undefined, body: Buffer, secret: string): AuthVerdict {
  const m = /^sha256=([0-9a-f]{64})$/i.exec((header ?? "").trim());
  if (!m?.[1]) return "missing";
  const expected = createHmac("sha256", secret).update(body).digest();
  return timingSafeEqual(Buffer.from(m[1].toLowerCase(), "hex"), expected) ? "ok" : "wrong";
}
