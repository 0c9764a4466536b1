/** What went wrong with a `fetch()` that did not get an answer: for retries and for log lines. */
export type NetworkFailure = { kind: "timeout" } | { kind: "unreachable"; detail: string };

export function classifyFetchError(e: unknown): NetworkFailure {
  if (e instanceof Error && (e.name === "TimeoutError" || e.name === "AbortError")) return { kind: "timeout" };
  // undici puts the system error (ECONNREFUSED, ECONNRESET, ENOTFOUND…) in `cause`.
  const cause = e instanceof Error && e.cause instanceof Error ? e.cause : undefined;
  const code = cause !== undefined && "code" in cause && typeof cause.code === "string" ? cause.code : undefined;
  const message = e instanceof Error ? e.message : String(e);
  return { kind: "unreachable", detail: code !== undefined ? `${message} (${code})` : cause ? `${message} (${cause.message})` : message };
}
