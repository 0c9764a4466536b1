/** The one logger: pino (JSON lines), pretty-printed when a person is watching a terminal. */
import { pino, type Logger } from "pino";

export type { Logger };

export function createLogger(level: string, pretty = process.stdout.isTTY): Logger {
  return pino({
    level,
    base: undefined,
    ...(pretty ? { transport: { target: "pino-pretty", options: { colorize: true, singleLine: true, translateTime: "SYS:HH:MM:ss", ignore: "pid,hostname" } } } : {}),
  });
}

/** A line a pure step wants logged; the adapter that ran it logs it (once the step's work is durable). */
export type LogLine = { level: "debug" | "info" | "warn" | "error"; msg: string; fields: Record<string, unknown> };
