/** The one logger: pino (JSON lines), pretty-printed when a person is watching a terminal. */
import { pino, type Logger } from "pino";

export type { Logger };

export function createLogger(level: string, pretty = process.stdout.isTTY): Logger {
  return pino({
    level,
    base: undefined,
    ...(pretty ? { transport: { target: "pino-pretty", options: { colorize: true, translateTime: "SYS:HH:MM:ss", ignore: "pid,hostname" } } } : {}),
  });
}
