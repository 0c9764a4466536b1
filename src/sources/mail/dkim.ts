/** DKIM verification (RFC 6376) with mailauth: the adapter; its DNS look-ups are the only I/O. */
import { dkimVerify, type DNSResolver } from "mailauth";
import type { DkimSignature } from "./senders.js";

export type DkimVerifier = (raw: Buffer) => Promise<DkimSignature[]>;

/** `resolver`: mailauth's DNS hook (default: the system resolver). */
export function dkimVerifier(resolver?: DNSResolver): DkimVerifier {
  return async (raw) => {
    try {
      const r = await dkimVerify(raw, resolver ? { resolver } : {});
      return r.results.filter((s) => s.signingDomain).map((s) => ({ domain: s.signingDomain.toLowerCase(), result: s.status.result }));
    } catch (e) {
      // A verifier crash is not a pass: the mail stays refused and the reason is logged.
      return [{ domain: "(verification failed)", result: `error: ${(e as Error).message}` }];
    }
  };
}
