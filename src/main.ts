/**
 * Composition root: the only place that builds adapters and connects them. No logic lives here;
 * order matters where commented. Data path: source → intake (plan, commit, apply) → outbox → rooms;
 * room stanza → inbox → commands → intake (same path) → reply and ticket-system queue.
 */
import { randomUUID } from "node:crypto";
import type { Config } from "../config/schema.js";
import { resolveStartSecrets } from "./config/secrets.js";
import { buildAcl } from "./dispatch/authorize.js";
import { registry } from "../commands/index.js";
import { adhocCommands } from "./inbox/adhoc.js";
import { CommandService } from "./inbox/commands.js";
import { createInbox } from "./inbox/inbox.js";
import { IncidentBook } from "./intake/incidents.js";
import { IntakeService } from "./intake/intake.js";
import type { Logger } from "./log/logger.js";
import { nocActor } from "./model/activity.js";
import { OutboxDelivery } from "./outbox/delivery.js";
import { createNotifier } from "./outbox/notify.js";
import { httpFeedFetcher, type FeedFetcher } from "./sources/feed/http.js";
import { feedSources, type PollOutcome } from "./sources/feed/poll.js";
import { peerSourceFor } from "./sources/peer/source.js";
import { RtPoller } from "./sources/rt/poll.js";
import type { TicketSource } from "./sources/types.js";
import { FileStore } from "./store/file-store.js";
import { WriteQueue } from "./ticket-systems/queue.js";
import { rtFromConfig } from "./ticket-systems/rt/index.js";
import { registerAdhocCommands } from "./xmpp/adhoc.js";
import { RoomClient } from "./xmpp/room-client.js";

export type RunningBot = {
  /** Request Tracker, when configured (tests poll and deliver on demand). */
  rt?: { poll(): Promise<number>; deliver(): Promise<void> } | undefined;
  /** Polls one feed now (as the cron job would) and resolves with what happened. */
  pollNow(feedId: string): Promise<PollOutcome>;
  /** Resolves when every room has been joined once. */
  ready: Promise<void>;
  store: FileStore;
  stop(): Promise<void>;
};

export type BotOptions = { log: Logger; fetcher?: FeedFetcher; now?: () => Date; startPolling?: boolean };

export class StartupError extends Error {
  override readonly name = "StartupError";
}

export async function startBot(config: Config, opts: BotOptions): Promise<RunningBot> {
  const { log } = opts;
  const now = opts.now ?? (() => new Date());
  const schedule = opts.startPolling !== false;
  const secrets = await resolveStartSecrets(config);
  if (!secrets.ok) throw new StartupError(secrets.error);
  const opened = await FileStore.open(config.store.path, { archivePath: config.store.archivePath, log: log.child({ part: "store" }) });
  if (!opened.ok) throw new StartupError(opened.error);
  const store = opened.value;
  // The correlation index is rebuilt from the stored tickets; tickets stored before incidents get theirs.
  const incidents = new IncidentBook(store.state, config.correlation);
  await store.commit(incidents.startup);
  const actor = nocActor(config.noc);
  const rt = config.rt ? rtFromConfig(config.rt, config.noc.id, secrets.value.rtSecret ?? "", log.child({ part: "rt" })) : undefined;
  if (rt && !rt.ok) throw new StartupError(rt.error);
  const systems = rt?.ok ? [rt.value.system] : [];

  // The room client, the delivery and the inbox need each other: the ports below forward to the
  // client built further down (nothing is sent or received before `rooms.start()`).
  const sendChat = (to: string, body: string, thread?: string): Promise<void> => client.sendChat(to, body, thread);
  const delivery = new OutboxDelivery(store, { isJoined: (r) => client.isJoined(r), send: (m) => client.send(m) }, log.child({ part: "outbox" }));
  const tell = createNotifier({ store, sendChat, queued: () => void delivery.kick(), log, now });
  const writes = new WriteQueue({ store, systems, log: log.child({ part: "ticket-systems" }), now, report: (n, text, thread) => tell(n, text, thread) });
  const intake = new IntakeService({
    store,
    incidents,
    routes: config.routes,
    render: config.render,
    actor,
    systems,
    log: log.child({ part: "intake" }),
    now,
    queued: ({ writes: w }) => {
      void delivery.kick();
      if (w > 0) void writes.deliver();
    },
  });
  const acl = buildAcl(config.acl, { botJid: config.xmpp.jid, ownNoc: config.noc.id });
  const commands = new CommandService({ acl, botNick: config.xmpp.nick, store, intake, incidents, timeZone: config.render.timeZone, log: log.child({ part: "commands" }), now });

  const feeds = feedSources(config.feeds, { fetcher: opts.fetcher ?? httpFeedFetcher, log: log.child({ part: "feeds" }), schedule });
  const rtPoller = rt?.ok ? new RtPoller({ ...rt.value, routes: config.routes, log: log.child({ part: "rt" }), pending: () => writes.pendingTickets(), schedule }) : undefined;
  const peers = peerSourceFor(config, rt?.ok ? [rt.value.mapping.partnerId] : [], store, log.child({ part: "peers" }));
  const sources: TicketSource[] = [...feeds, ...(rtPoller ? [rtPoller] : []), peers];

  let resolveReady: () => void = () => undefined;
  const ready = new Promise<void>((r) => (resolveReady = r));
  const pendingJoins = new Set(secrets.value.rooms.map((r) => r.jid));
  const inbox = createInbox({
    delivered: (id) => delivery.delivered(id),
    refused: (id, room, reason) => delivery.refused(id, room, reason),
    peerActivity: (msg, jid) => void peers.receive(msg, jid),
    command: (text, identity, reply, nick) => void commands.handle(text, identity, reply, nick),
    firstMessage: (thread, room, stanzaId, from) => void intake.noteFirstMessage(thread, room, stanzaId, from),
    joined: (room) => {
      pendingJoins.delete(room);
      if (pendingJoins.size === 0) resolveReady();
      void delivery.kick();
    },
    occupant: (room, nick) => client.occupant(room, nick),
    nickIn: (room) => client.nickIn(room),
    sendRoom: (room, body, thread) => client.send({ room, id: `cmd-${randomUUID()}`, body, thread }),
    sendChat,
  });
  const xmpp = config.xmpp;
  const client = new RoomClient({ service: xmpp.service, jid: xmpp.jid, password: secrets.value.xmppPassword, resource: xmpp.resource, rooms: secrets.value.rooms }, inbox, log.child({ part: "xmpp" }));

  // XEP-0050: the same commands as forms; the sender is the iq's `from`, stamped by its server.
  registerAdhocCommands(client.iqCallee, adhocCommands(acl, registry, commands, () => client.fullJid()));

  await client.start();
  delivery.start();
  for (const s of sources) await s.start({ intake, ticket: (id) => store.ticket(id), state: () => store.get("sources", s.id), now });
  // Archived at start-up too: a bot restarted often must still archive.
  const archive = (): void =>
    void intake.archive(config.store.archiveAfterHours).then(
      (ids) => ids.length > 0 && log.info({ archived: ids.length }, "archived closed tickets"),
      (e: unknown) => log.error({ err: (e as Error).message }, "archiving failed"),
    );
  archive();
  const timers = [setInterval(archive, 3600_000), setInterval(() => void writes.deliver(), 5_000)];
  for (const t of timers) t.unref();
  void writes.deliver(); // a restart resumes the queue

  return {
    rt: rtPoller ? { poll: () => rtPoller.poll(), deliver: () => writes.deliver() } : undefined,
    pollNow: (feedId) => feeds.find((f) => f.id === feedId)?.pollNow() ?? Promise.resolve({ kind: "failed", reason: `no feed ${feedId}` }),
    ready,
    store,
    async stop() {
      for (const t of timers) clearInterval(t);
      writes.stop();
      for (const s of sources) await s.stop();
      delivery.stop();
      await client.stop();
      await delivery.flush(); // after leaving: includes the echoes that came in meanwhile
      await store.close();
    },
  };
}
