/**
 * Maintenance reminders, the adapter: wakes when the next reminder of any scheduled ticket is due
 * (and whenever tickets change), and writes the reminder's room messages together with the
 * ticket's note that it was said, in one commit, so a restart neither loses nor repeats one.
 */
import type { IntakeService } from "../intake/intake.js";
import type { IncidentPort } from "../intake/incidents.js";
import { incidentPrefix, outboxId } from "../intake/announce.js";
import type { Logger } from "../log/logger.js";
import { escapeOutside } from "../render/outside.js";
import { formatTime, heading } from "../render/ticket-message.js";
import { escapeMarkdown, markdownToStyled } from "../render/xep0393.js";
import { ChangeSet, type OutboxEntry, type StoredTicket, type TicketStore } from "../store/types.js";
import { dueReminders, type Reminder } from "./windows.js";

export type ReminderDeps = {
  store: TicketStore;
  intake: Pick<IntakeService, "exclusive">;
  incidents: IncidentPort;
  beforeMinutes: readonly number[];
  timeZone: string;
  log: Logger;
  now: () => Date;
  /** Room messages were queued. */
  queued: () => void;
};

/** Longest sleep between looks (a clock jump or a missed kick costs at most this). */
const MAX_SLEEP_MS = 60_000;

/** The reminder's text (XEP-0393). */
export function reminderText(stored: StoredTicket, r: Reminder, timeZone: string): string {
  const t = stored.ticket;
  const e = escapeMarkdown;
  const o = escapeOutside;
  const at = (ms: number): string => e(formatTime(new Date(ms).toISOString(), timeZone));
  const details = [
    t.Network_Link_Circuit?.length ? `Circuits: ${o(t.Network_Link_Circuit.join(", "), 300)}` : "",
    t.Affected_Service ? `Service: ${o(t.Affected_Service)}` : "",
  ].filter((x) => x !== "");
  const tail = details.length > 0 ? `\n${details.join(" · ")}` : "";
  switch (r.kind) {
    case "before":
      return markdownToStyled(`Reminder: planned maintenance ${heading(t.TT_ID)} starts in ${r.minutes ?? 0} min: ${o(t.TT_Title)}\nWindow: ${at(r.window.start)} – ${at(r.window.end)}${tail}`);
    case "start":
      return markdownToStyled(`Planned maintenance ${heading(t.TT_ID)} has started: ${o(t.TT_Title)}\nUntil ${at(r.window.end)}${tail}`);
    case "end":
      return markdownToStyled(`The window of planned maintenance ${heading(t.TT_ID)} is over (planned end ${at(r.window.end)}), and the ticket is still open (${e(t.TT_Status)}).`);
  }
}

export class ReminderScheduler {
  #timer: NodeJS.Timeout | undefined;
  #wakeAt = Infinity;
  #running: Promise<void> | undefined;
  #again = false;
  #stopped = false;

  constructor(private readonly deps: ReminderDeps) {}

  start(): void {
    this.#wake(0);
  }

  stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    return this.#running ?? Promise.resolve();
  }

  /** Tickets changed: look again soon (many changes in a row make one look). */
  kick(): void {
    this.#wake(500);
  }

  /** Looks in `ms` at the latest (an earlier planned look stays). */
  #wake(ms: number): void {
    if (this.#stopped) return;
    const at = Date.now() + ms;
    if (this.#timer && at >= this.#wakeAt) return;
    clearTimeout(this.#timer);
    this.#wakeAt = at;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#wakeAt = Infinity;
      this.#run();
    }, ms);
    this.#timer.unref();
  }

  #run(): void {
    if (this.#running) {
      this.#again = true;
      return;
    }
    this.#running = this.#look()
      .catch((e: unknown) => {
        this.deps.log.error({ err: e instanceof Error ? e.stack : String(e) }, "maintenance reminders failed; trying again shortly");
        this.#wake(5_000);
      })
      .finally(() => {
        this.#running = undefined;
        if (this.#again) {
          this.#again = false;
          this.#wake(0);
        }
      });
  }

  async #look(): Promise<void> {
    const { store, incidents } = this.deps;
    let next = Infinity;
    let queued = 0;
    // With the intake to itself: the ticket the note goes on is the one stored now.
    await this.deps.intake.exclusive(async () => {
      const now = this.deps.now().getTime();
      const changes = new ChangeSet();
      for (const stored of store.values("tickets")) {
        if (stored.ticket.Type !== "Scheduled" || stored.remote) continue;
        const said = new Set(stored.reminded ?? []);
        const due = dueReminders(stored.ticket, this.deps.beforeMinutes, said, now);
        if (due.next !== undefined) next = Math.min(next, due.next);
        if (due.done.length === 0) continue;
        changes.put("tickets", stored.ticket.TT_ID, { ...stored, reminded: [...said, ...due.done].slice(-20) });
        if (!due.say) continue;
        for (const entry of this.#posts(stored, due.say, incidents)) {
          changes.put("outbox", entry.id, entry);
          queued++;
        }
      }
      if (!changes.isEmpty) await store.commit(changes);
    });
    if (queued > 0) this.deps.queued();
    this.#wake(Math.max(0, Math.min(MAX_SLEEP_MS, next - this.deps.now().getTime())));
  }

  #posts(stored: StoredTicket, r: Reminder, incidents: IncidentPort): OutboxEntry[] {
    const body = reminderText(stored, r, this.deps.timeZone);
    const createdAt = this.deps.now().toISOString();
    const incident = stored.incident;
    const grouped = incident !== undefined && incidents.members(incident).length > 1;
    return stored.rooms.map((room) => {
      const t = incident ? incidents.threading(incident, room) : undefined;
      return {
        id: outboxId(`reminder:${stored.ticket.TT_ID}:${r.key}`, room),
        room,
        body: t && grouped ? incidentPrefix(t.thread) + body : body,
        ticketId: stored.ticket.TT_ID,
        ...(t ? { thread: t.thread, incident: t.incident, ...(t.replyTo ? { replyTo: t.replyTo } : {}) } : {}),
        createdAt,
        attempts: 0,
      };
    });
  }
}
