/** Small helpers shared by the benchmarks: summaries of repeated runs, percentiles, formatting. */
import { readFileSync } from "node:fs";

export type Summary = { min: number; median: number; max: number };

export function summarise(xs: readonly number[]): Summary {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return { min: NaN, median: NaN, max: NaN };
  const mid = Math.floor(s.length / 2);
  const median = s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
  return { min: s[0] as number, median, max: s[s.length - 1] as number };
}

/** The p-th percentile (0..100) by nearest rank. */
export function percentile(xs: readonly number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const rank = Math.min(s.length, Math.max(1, Math.ceil((p / 100) * s.length)));
  return s[rank - 1] as number;
}

/** "min / median / max" with a unit, to a fixed number of digits. */
export function fmt(s: Summary, unit = "", digits = 0): string {
  const f = (x: number): string => x.toFixed(digits);
  return `${f(s.min)} / ${f(s.median)} / ${f(s.max)}${unit ? ` ${unit}` : ""}`;
}

/** One table row: a label padded, then the summary. */
export function row(label: string, s: Summary, unit = "", digits = 0, note = ""): string {
  return `${label.padEnd(44)} ${fmt(s, unit, digits).padEnd(28)}${note ? ` ${note}` : ""}`;
}

export const RUNS = Number(process.env.BENCH_RUNS ?? 3);

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** CPU time (user + system, ms) a process has used so far, from /proc (Linux). */
export function cpuMsOf(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the command name (which may hold spaces, in parentheses): utime is the 14th, stime the 15th.
    const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return ((Number(rest[11]) + Number(rest[12])) * 1000) / CLOCK_TICKS;
  } catch {
    return NaN;
  }
}
const CLOCK_TICKS = 100;
