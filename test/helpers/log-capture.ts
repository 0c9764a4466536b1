/** A real pino logger whose lines are kept in memory, so tests can assert what an admin would read. */
import { Writable } from "node:stream";
import { pino, type Logger } from "pino";

export type CapturedLine = { level: number; msg: string } & Record<string, unknown>;

export function captureLogger(level = "debug"): { log: Logger; lines: CapturedLine[]; find(msg: string | RegExp, fields?: Record<string, unknown>): CapturedLine | undefined } {
  const lines: CapturedLine[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString("utf8").split("\n")) if (line.trim()) lines.push(JSON.parse(line) as CapturedLine);
      done();
    },
  });
  const log = pino({ level, base: undefined }, sink);
  const find = (msg: string | RegExp, fields: Record<string, unknown> = {}): CapturedLine | undefined =>
    lines.find(
      (l) =>
        (typeof msg === "string" ? l.msg === msg : msg.test(l.msg)) &&
        Object.entries(fields).every(([k, v]) => (v instanceof RegExp ? v.test(String(l[k])) : JSON.stringify(l[k]) === JSON.stringify(v))),
    );
  return { log, lines, find };
}
