// Two Prosody instances that federate (only tests use this: the demo runs one).
import { freePort, START_ATTEMPTS, StartError, startProsody, type ProsodyInstance } from "../../src/demo/prosody.js";

/**
 * Two instances that federate with each other, each routing the other's
 * domain and MUC domain to its s2s port. Both s2s ports must be known before
 * either config is written, hence fixed ports picked up front.
 */
export async function startFederatedPair(domainA: string, domainB: string): Promise<[ProsodyInstance, ProsodyInstance]> {
  if (domainA === domainB) throw new Error("startFederatedPair: domains must differ");
  for (let attempt = 1; ; attempt++) {
    const [c2sA, s2sA, c2sB, s2sB] = await distinctFreePorts();
    // allSettled, not all: if one start fails, the other must still be stopped.
    const [ra, rb] = await Promise.allSettled([
      startProsody({ domain: domainA, c2sPort: c2sA, s2sPort: s2sA, peers: [{ domain: domainB, port: s2sB }] }),
      startProsody({ domain: domainB, c2sPort: c2sB, s2sPort: s2sB, peers: [{ domain: domainA, port: s2sA }] }),
    ]);
    if (ra.status === "fulfilled" && rb.status === "fulfilled") return [ra.value, rb.value];
    await Promise.all([ra, rb].flatMap((r) => (r.status === "fulfilled" ? [r.value.stop()] : [])));
    const err: unknown = ra.status === "rejected" ? ra.reason : rb.status === "rejected" ? rb.reason : undefined;
    const retry = err instanceof StartError && err.portClash && attempt < START_ATTEMPTS;
    if (!retry) throw err;
  }
}

/** Four distinct free ports: freePort() may hand back a port it just released. */
async function distinctFreePorts(): Promise<[number, number, number, number]> {
  const ports = new Set<number>();
  while (ports.size < 4) ports.add(await freePort());
  const [a = 0, b = 0, c = 0, d = 0] = ports;
  return [a, b, c, d];
}
