/**
 * What the IMAP and Maildir adapters share: one mail at a time through `processMail` into one batch
 * for the intake, with the source's state (processed messages, threads, and the adapter's own
 * position) in the same commit. A mail counts as processed only once that commit succeeded.
 */
import type { MailSourceConfig } from "../../../config/schema.js";
import type { Logger } from "../../log/logger.js";
import type { SourceHealth, SourceRuntime } from "../types.js";
import type { DkimVerifier } from "./dkim.js";
import { afterMail, processMail, type MailDecision } from "./process.js";
import { readMailState, type MailState } from "./state.js";

export type MailHandled = { committed: true; decision: MailDecision } | { committed: false; error: string };

export class MailPipeline {
  private chain: Promise<unknown> = Promise.resolve();
  private warnedState = false;
  readonly health: SourceHealth = { ok: true };

  constructor(
    private readonly config: MailSourceConfig,
    private readonly runtime: SourceRuntime,
    private readonly verifyDkim: DkimVerifier,
    private readonly log: Logger,
  ) {}

  /** The state as last committed. */
  state(): MailState {
    const r = readMailState(this.runtime.state());
    if (r.problem && !this.warnedState) {
      this.warnedState = true;
      this.log.warn({ source: this.config.id }, r.problem);
    }
    return r.state;
  }

  /**
   * Processes one raw message (or a decision the adapter made itself, e.g. "too large" before
   * downloading) and submits it; `position` adds the adapter's cursor to the state. Serialised.
   */
  handle(input: Buffer | MailDecision, position: (s: MailState) => MailState = (s) => s): Promise<MailHandled> {
    const run = this.chain.then(() => this.handleNow(input, position));
    this.chain = run.catch(() => undefined);
    return run;
  }

  private async handleNow(input: Buffer | MailDecision, position: (s: MailState) => MailState): Promise<MailHandled> {
    const state = this.state();
    this.health.lastAttempt = this.runtime.now().toISOString();
    const decision = Buffer.isBuffer(input)
      ? await processMail(input, { source: this.config, state, known: (id) => this.runtime.ticket(id)?.ticket, now: this.runtime.now() }, this.verifyDkim)
      : input;
    const after = afterMail(state, decision, this.config.id);
    const next = position(after.state);
    // A duplicate changes nothing unless the adapter's position moves.
    if (decision.kind === "duplicate" && JSON.stringify(next) === JSON.stringify(state)) {
      for (const l of after.logs) this.log[l.level](l.fields, l.msg);
      return { committed: true, decision };
    }
    const result = await this.runtime.intake.submit({
      source: this.config.id,
      versions: decision.kind === "versions" ? decision.versions : [],
      state: next,
      logs: after.logs,
    });
    if (!result.committed) {
      this.health.ok = false;
      this.health.lastError = result.error;
      this.log.error({ source: this.config.id, err: result.error, ...decision.summary }, "mail not taken in: the store write failed; it is tried again");
      return { committed: false, error: result.error };
    }
    this.health.ok = true;
    this.health.lastSuccess = this.runtime.now().toISOString();
    delete this.health.lastError;
    return { committed: true, decision };
  }
}

/** Sleeps until `ms` passed or `wake()` is called, whichever is first. */
export class Wakeup {
  private resolve: (() => void) | undefined;
  private pending = false;
  wait(ms: number): Promise<void> {
    if (this.pending) {
      this.pending = false;
      return Promise.resolve();
    }
    return new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.resolve = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.resolve = done;
    });
  }
  /** Wakes the sleeper; if none sleeps now, the next `wait` returns at once (an event not to miss). */
  wake(): void {
    if (this.resolve) this.resolve();
    else this.pending = true;
  }
  /** Wakes the sleeper if there is one (a caller that checks its own queue before sleeping). */
  nudge(): void {
    this.resolve?.();
  }
}

/** Exponential backoff with a ceiling, for reconnects: 1 s, 2 s, 4 s … 5 min. */
export const reconnectDelay = (failures: number): number => Math.min(300_000, 1000 * 2 ** Math.min(failures, 9));
