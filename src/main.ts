/**
 * Composition root: the only place that builds adapters and connects them. No logic lives here;
 * order matters where commented. Data path: source → intake (plan, commit, apply) → outbox → rooms;
 * room stanza → inbox → commands → intake (same path) → reply and ticket-system queue.
 */
import type { Config } from "../config/schema.js";
import { registry } from "../commands/index.js";
import { resolveStartSecrets } from "./config/secrets.js";
import { buildAcl, grantFor } from "./dispatch/authorize.js";
import { HttpListener } from "./http/listener.js";
import { adhocCommands } from "./inbox/adhoc.js";
import { CommandService } from "./inbox/commands.js";
import { inboxFor } from "./inbox/inbox.js";
import { JoinTracker } from "./inbox/joins.js";
import { IncidentBook } from "./intake/incidents.js";
import { IntakeService } from "./intake/intake.js";
import type { Logger } from "./log/logger.js";
import { ReminderScheduler } from "./maintenance/reminders.js";
import { nocActor } from "./model/activity.js";
import { PromMetrics } from "./ops/metrics.js";
import { mountOps } from "./ops/routes.js";
import { HISTORY_WINDOW, OutboxDelivery } from "./outbox/delivery.js";
import { createNotifier } from "./outbox/notify.js";
import { httpFeedFetcher, type FeedFetcher } from "./sources/feed/http.js";
import { feedSources, type PollOutcome } from "./sources/feed/poll.js";
import { mailSources } from "./sources/mail/index.js";
import { ownPartnerIds } from "./sources/own-partners.js";
import { peerSourceFor } from "./sources/peer/source.js";
import { RtPoller } from "./sources/rt/poll.js";
import type { TicketSource } from "./sources/types.js";
import { webhookSources } from "./sources/webhook/index.js";
import { FileStore } from "./store/file-store.js";
import { WorkerTranslator } from "./translate/workers.js";
import type { OutboxEntry } from "./store/types.js";
import { WriteQueue } from "./ticket-systems/queue.js";
import { rtFromConfig } from "./ticket-systems/rt/index.js";
import { registerAdhocCommands } from "./xmpp/adhoc.js";
import { ArchiveRecognition, type ArchiveRecognitionDeps, type StanzaWire } from "./xmpp/mam.js";
import { keptOriginKey } from "./xmpp/origin.js";
import { RoomClient } from "./xmpp/room-client.js";
import { SubjectKeeper } from "./rooms/subjects.js";

export type RunningBot = {
  /** Request Tracker, when configured (tests poll and deliver on demand). */
  rt?: { poll(): Promise<number>; deliver(): Promise<void> } | undefined;
  /** Polls one feed now (as the cron job would) and resolves with what happened. */
  pollNow(feedId: string): Promise<PollOutcome>;
  /** Resolves when every room has been joined once. */
  ready: Promise<void>;
  store: FileStore;
  /** The HTTP listener's address, when configured (webhooks, /health, /ready, /metrics). */
  http?: { address: string; port: number } | undefined;
  stop(): Promise<void>;
};

export type BotOptions = {
  log: Logger;
  fetcher?: FeedFetcher;
  now?: () => Date;
  startPolling?: boolean;
  /** Time-outs and waits of the archive check on join (tests: a server stopped mid-check). */
  archive?: Pick<ArchiveRecognitionDeps, "read" | "attempts" | "retryDelayMs" | "doubt"> | undefined;
};
export class StartupError extends Error {
  override readonly name = "StartupError";
}

export async function startBot(config: Config, opts: BotOptions): Promise<RunningBot> {
  const { log } = opts;
  const now = opts.now ?? (() => new Date());
  const part = (name: string): Logger => log.child({ part: name });
  const schedule = opts.startPolling !== false;
  const secrets = await resolveStartSecrets(config);
  if (!secrets.ok) throw new StartupError(secrets.error);
  const secret = (key: string): string | undefined => secrets.value.byKey.get(key);
  const opened = await FileStore.open(config.store.path, { archivePath: config.store.archivePath, log: part("store") });
  if (!opened.ok) throw new StartupError(opened.error);
  const store = opened.value;
  // The correlation index is rebuilt from the stored tickets; tickets stored before incidents get theirs.
  const incidents = new IncidentBook(store.state, config.correlation);
  await store.commit(incidents.startup);
  const rt = config.rt ? rtFromConfig(config.rt, config.noc.id, secret("rt") ?? "", part("rt")) : undefined;
  if (rt && !rt.ok) throw new StartupError(rt.error);
  const systems = rt?.ok ? [rt.value.system] : [];
  const telemetry = new PromMetrics({ store, xmppOnline: () => client.isOnline(), roomsJoined: () => client.joinedCount(), now: () => now().getTime() });

  // The room client, the delivery and the inbox need each other: the ports below forward to the
  // client built further down (nothing is sent or received before `client.start()`).
  const sendChat = (to: string, body: string, thread?: string): Promise<void> => client.sendChat(to, body, thread);
  // Large windows only where the room's archive recognises every unconfirmed post after a crash.
  const delivery = new OutboxDelivery(store, { isJoined: (r) => client.isJoined(r), send: (m) => client.send(m), sendMany: (ms) => client.sendMany(ms) }, part("outbox"), { echoTimeoutMs: 60_000, windowPerRoom: HISTORY_WINDOW, windowFor: (r): number => archives.windowFor(r) }, undefined, telemetry);
  const tell = createNotifier({ store, sendChat, queued: () => void delivery.kick(), log, now });
  const writes = new WriteQueue({ store, systems, log: part("ticket-systems"), now, report: (n, text, thread) => tell(n, text, thread), exclusive: (step) => intake.exclusive(step) });
  const reminders = new ReminderScheduler({ store, intake: { exclusive: (step) => intake.exclusive(step) }, incidents, beforeMinutes: config.maintenance.remindBeforeMinutes, timeZone: config.render.timeZone, log: part("maintenance"), now, queued: () => void delivery.kick() });
  const wake = ({ writes: w }: { writes: number }): void => void (delivery.kick(), reminders.kick(), subjects.kick(), w > 0 && writes.deliver());
  const intake = new IntakeService({ store, incidents, routes: config.routes, render: config.render, actor: nocActor(config.noc), systems, log: part("intake"), now, telemetry, queued: wake });
  const acl = buildAcl(config.acl, { botJid: config.xmpp.jid, ownNoc: config.noc.id });
  const commands = new CommandService({ acl, botNick: config.xmpp.nick, store, intake, incidents, timeZone: config.render.timeZone, log: part("commands"), now, telemetry });

  const http = config.http ? new HttpListener({ address: config.http.address, port: config.http.port, log: part("http") }) : undefined;
  const own = ownPartnerIds(config, rt?.ok ? [rt.value.mapping.partnerId] : []);
  const translator = new WorkerTranslator(); // threads start only for a big document
  const feeds = feedSources(config.feeds, { fetcher: opts.fetcher ?? httpFeedFetcher, log: part("feeds"), schedule, telemetry, translator });
  const rtPoller = rt?.ok ? new RtPoller({ ...rt.value, routes: config.routes, log: part("rt"), pending: () => writes.pendingTickets(), schedule, telemetry }) : undefined;
  const peers = peerSourceFor(config, own, store, part("peers"));
  // One line per kind of source.
  const sources: TicketSource[] = [
    ...feeds,
    ...(rtPoller ? [rtPoller] : []),
    ...mailSources(config.mail, secret, part("mail")),
    ...webhookSources(config.webhooks, secret, { http, log: part("webhooks"), ownPartners: own }),
    peers,
  ];

  const joins = new JoinTracker(secrets.value.rooms.map((r) => r.jid));
  const subjects = new SubjectKeeper({ rooms: config.rooms.filter((r) => r.subject).map((r) => ({ jid: r.jid, label: r.name ?? r.jid.split("@")[0] ?? r.jid })), store, incidents, xmpp: { setSubject: (r, t) => client.setSubject(r, t), subjectOf: (r) => client.subjectOf(r), isJoined: (r) => client.isJoined(r) }, timeZone: config.render.timeZone, log: part("subjects"), now });
  const inbox = inboxFor({ delivery, peers, commands, intake, joins, subjects, rooms: () => client });
  const archives = new ArchiveRecognition({ wire: (): StanzaWire => client.wire, isOnline: () => client.isOnline(), pending: (r): OutboxEntry[] => delivery.pendingIn(r), recognised: (msg) => inbox.message(msg, true), settled: () => void delivery.kick(), historyWindow: HISTORY_WINDOW, log: part("xmpp"), ...opts.archive });
  const xmpp = config.xmpp;
  // Presence subscriptions (so a contact list shows the bot's commands): only people the ACL knows.
  const acceptsContact = (jid: string): boolean => grantFor(acl, { jid, via: "direct" }) !== undefined;
  const client = new RoomClient({ service: xmpp.service, jid: xmpp.jid, password: secrets.value.xmppPassword, resource: xmpp.resource, rooms: secrets.value.rooms, keepalive: xmpp.keepalive, acceptsContact, originKey: await keptOriginKey(store, part("xmpp")), beforeJoined: (r, nick): Promise<void> => archives.beforeJoined(r, nick) }, inbox, part("xmpp"));
  // XEP-0050: the same commands as forms; the sender is the iq's `from`, stamped by its server.
  registerAdhocCommands(client.iqCallee, adhocCommands(acl, registry, commands, client));
  if (http) mountOps(http, { xmpp: client, rooms: config.rooms.map((r) => r.jid), held: (r) => archives.isHeld(r), store, sources, metrics: telemetry, startedAt: now(), now });

  await client.start();
  delivery.start();
  for (const s of sources) await s.start({ intake, ticket: (id) => store.ticket(id), state: () => store.get("sources", s.id), now });
  // Listening only once every route is mounted and the sources behind them run: no early 404.
  const address = await http?.start();
  const archiving = intake.archiveEvery(config.store.archiveAfterHours);
  writes.start();
  reminders.start();
  subjects.start();

  return {
    rt: rtPoller ? { poll: () => rtPoller.poll(), deliver: () => writes.deliver() } : undefined,
    pollNow: (feedId) => feeds.find((f) => f.id === feedId)?.pollNow() ?? Promise.resolve({ kind: "failed", reason: `no feed ${feedId}` }),
    ready: joins.ready,
    store,
    http: address,
    async stop() {
      clearInterval(archiving);
      await reminders.stop();
      subjects.stop();
      await http?.stop();
      writes.stop();
      for (const s of sources) await s.stop();
      await translator.close();
      delivery.stop();
      archives.stop();
      await client.stop();
      await delivery.flush(); // after leaving: includes the echoes that came in meanwhile
      await store.close();
    },
  };
}
