/**
 * The benchmarks time the bot as admins run it: compiled (`npm run build`, dist/), not from the
 * TypeScript source under tsx, whose transform wraps every function in a naming helper
 * (`__name`, ≈2 % of a first poll's profile) and makes each worker thread load tsx first
 * (0.7–1.5 s against ≈0.3 s). `BENCH_BUILD=source` times the source instead (readable profiles).
 * The build runs once per `npm run bench` (bench/run.ts), or once per script run on its own.
 */
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

export type BotBuild = "dist" | "source";

export function benchBuild(): BotBuild {
  const wanted = process.env.BENCH_BUILD ?? "dist";
  if (wanted !== "dist" && wanted !== "source") throw new Error(`BENCH_BUILD must be dist or source, not ${wanted}`);
  return wanted;
}

/** Compiles dist/ from the source now (so a benchmark never times a stale build), unless done already in this run. */
export function ensureBuilt(): void {
  if (benchBuild() === "source" || process.env.TTRELAY_BENCH_BUILT === "1") return;
  const root = fileURLToPath(new URL("../..", import.meta.url));
  const r = spawnSync("npm", ["run", "-s", "build"], { cwd: root, stdio: "inherit" });
  if (r.status !== 0) throw new Error("npm run build failed: the benchmark needs the compiled bot");
  process.env.TTRELAY_BENCH_BUILT = "1";
}
