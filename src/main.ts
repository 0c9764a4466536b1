/**
 * Composition root: the only place that builds adapters and wires the pipeline. Order matters where
 * commented.
 */
import cron, { type ScheduledTask } from "node-cron";
import type { Config } from "../config/schema.js";
import { resolveSecret } from "./config/load.js";
import { httpFeedSource, type FeedSource } from "./sources/feed/http.js";
import type { Logger } from "./log/logger.js";
import { nocActor } from "./model/activity.js";
import { OutboxDelivery } from "./outbox/delivery.js";
import { pollFeed, type PollOutcome } from "./sources/feed/poll.js";
import { LowStore } from "./store/lowdb-store.js";
import { randomUUID } from "node:crypto";
import { authorize, buildAcl, grantFor, matchJid } from "./dispatch/authorize.js";
import { asAffiliation, CommandService } from "./inbox/commands.js";
import { IncidentBook } from "./intake/incidents.js";
import { registerAdhocCommands } from "./xmpp/adhoc.js";
import { createRtClient } from "./ticket-systems/rt/client.js";
import type { RtMapping } from "./ticket-systems/rt/map.js";
import { rtMapping, rtWritesForCommand, rtWritesForPeer } from "./ticket-systems/rt/plan.js";
import { RtSync } from "./ticket-systems/rt/sync.js";
import type { RtConfig } from "../config/schema.js";
import { registry } from "../commands/index.js";
import { planPeerActivity } from "./sources/peer/activity.js";
import { RoomClient, type RoomPort } from "./xmpp/room-client.js";
import type { IncomingRoomMessage } from "./xmpp/stanzas.js";

export type RunningBot = {
  /** Request Tracker sync, when configured (tests poll and deliver on demand). */
  rt?: RtSync | undefined;
  /** Polls one feed now (as the cron job would) and resolves with what happened. */
  pollNow(feedId: string): Promise<PollOutcome>;
  /** Resolves when every room has been joined once. */
  ready: Promise<void>;
  store: LowStore;
  stop(): Promise<void>;
};

export type BotOptions = { log: Logger; source?: FeedSource; now?: () => Date; startPolling?: boolean };

export class StartupError extends Error {
  override readonly name = "StartupError";
}

export async function startBot(config: Config, opts: BotOptions): Promise<RunningBot> {
  const { log } = opts;
  const now = opts.now ?? (() => new Date());
  const password = await resolveSecret(config.xmpp.password, "$.xmpp.password");
  if (!password.ok) throw new StartupError(`${password.error.path}: ${password.error.message}`);
  const roomSpecs = [];
  for (const [i, room] of config.rooms.entries()) {
    const roomPassword = room.password ? await resolveSecret(room.password, `$.rooms[${i}].password`) : undefined;
    if (roomPassword && !roomPassword.ok) throw new StartupError(`${roomPassword.error.path}: ${roomPassword.error.message}`);
    roomSpecs.push({
      jid: room.jid,
      nick: room.nick ?? config.xmpp.nick,
      password: roomPassword?.value,
      name: room.name,
      description: room.description,
      readOnly: room.readOnly,
      members: room.members,
    });
  }

  const opened = await LowStore.open(config.store.path, config.store.archivePath);
  if (!opened.ok) throw new StartupError(opened.error);
  const store = opened.value;
  // The correlation index is rebuilt from the stored tickets; incident records live in the store.
  let built: IncidentBook | undefined;
  store.update((d) => (built = new IncidentBook(d, config.correlation)));
  if (!built) throw new StartupError("incident index could not be built");
  const incidents: IncidentBook = built;

  let resolveReady: () => void = () => undefined;
  const ready = new Promise<void>((r) => (resolveReady = r));
  const pendingJoins = new Set(roomSpecs.map((r) => r.jid));

  // The delivery and the room client need each other: the delivery gets a port that forwards to
  // the client built just below (it is not used before `rooms.start()`).
  const port: RoomPort = { isJoined: (room) => rooms.isJoined(room), send: (message) => rooms.send(message) };
  const delivery = new OutboxDelivery(store, port, log.child({ part: "outbox" }));
  const rooms = new RoomClient(
    {
      service: config.xmpp.service,
      jid: config.xmpp.jid,
      password: password.value,
      resource: config.xmpp.resource,
      rooms: roomSpecs,
      keepalive: config.xmpp.keepalive,
      // Presence subscriptions (so Gajim's contact list shows the bot's commands): people the ACL knows.
      acceptsContact: (jid) => grantFor(acl, { jid, via: "direct" }) !== undefined,
    },
    {
      message(msg, ownNick) {
        // Our own echo, live or replayed from history: the outbox entry is delivered. Only our own
        // nick counts: origin-ids are derivable, and another occupant must not cancel our posts.
        const echoed = ownNick && msg.originId ? delivery.delivered(msg.originId) : undefined;
        // A peer's activity is taken in (synchronously up to its store write) before its thread is
        // looked at below, so its incident exists. History replays count too: a peer may have posted
        // while we were away; duplicates and older versions are recognised.
        if (!ownNick && msg.json !== undefined && msg.nick !== undefined) void receivePeer(msg, rooms.occupant(msg.room, msg.nick)?.jid);
        // Commands: never from history replays or from ourselves; the sender is known by the real
        // JID the room reported for that nick (never by the nick itself).
        if (!ownNick && !msg.delayed && msg.body !== undefined && msg.nick !== undefined) {
          const nick = msg.nick;
          const occupant = rooms.occupant(msg.room, nick);
          void commands.handle(
            msg.body,
            { jid: occupant?.jid, via: "groupchat", room: msg.room, affiliation: asAffiliation(occupant?.affiliation), nick },
            (body, thread) => rooms.send({ room: msg.room, id: `cmd-${randomUUID()}`, body: `${nick}: ${body}`, thread }),
            rooms.nickIn(msg.room),
          );
        }
        // The first message of an incident in a room (ours or a peer's) is what later ones reply to.
        const thread = echoed?.incident ?? msg.thread;
        if (thread && msg.stanzaId && msg.nick) {
          store.update(() => incidents.noteFirstMessage(thread, msg.room, msg.stanzaId ?? "", `${msg.room}/${msg.nick ?? ""}`));
        }
      },
      // One-to-one messages: the room client says who sent them (never a room or occupant JID).
      direct(chat, actor) {
        if (chat.delayed) return; // offline messages from long ago are not commands
        void commands.handle(chat.body, actor, (body, thread) => rooms.sendChat(chat.from, body, thread));
      },
      privateMessage(chat, actor) {
        if (chat.delayed) return;
        void commands.handle(chat.body, actor, (body, thread) => rooms.sendChat(chat.from, body, thread));
      },
      // A room made anew has none of the messages later incident posts would reply to.
      roomRecreated(room) {
        store.update((d) => {
          for (const incident of Object.values(d.incidents)) delete incident.rooms[room];
        });
      },
      sendError(id, room, reason) {
        delivery.refused(id, room, reason);
      },
      joined(room) {
        pendingJoins.delete(room);
        if (pendingJoins.size === 0) resolveReady();
        void delivery.kick();
      },
    },
    log.child({ part: "xmpp" }),
  );

  const actor = nocActor(config.noc);
  const deps = { config, source: opts.source ?? httpFeedSource, store, actor, incidents, log: log.child({ part: "feeds" }), now };

  // Request Tracker, when configured: a source polled on its schedule and a sink for commands and peers.
  let rt: { sync: RtSync; mapping: RtMapping; config: RtConfig } | undefined;
  if (config.rt) {
    const rtConfig = config.rt;
    const secret = await resolveSecret(rtConfig.auth.secret, "$.rt.auth.secret");
    if (!secret.ok) throw new StartupError(`${secret.error.path}: ${secret.error.message}`);
    const mapping = rtMapping(rtConfig, config.noc.id);
    if (!mapping.ok) throw new StartupError(mapping.error);
    const client = createRtClient({ url: rtConfig.url, auth: { scheme: rtConfig.auth.scheme, secret: secret.value }, timeoutMs: rtConfig.timeoutMs, timeZone: rtConfig.timeZone });
    const sync = new RtSync({
      config: rtConfig,
      mapping: mapping.value,
      client,
      store,
      incidents,
      routes: config.routes,
      render: config.render,
      actor: nocActor(config.noc),
      log: log.child({ part: "rt" }),
      now,
      afterQueue: () => void delivery.kick(),
      report: (notify, text) => {
        if (notify.room) {
          store.update((d) => d.outbox.push({ id: `rt-${randomUUID()}`, room: notify.room ?? "", body: `${notify.to}: ${text}`, createdAt: now().toISOString(), attempts: 0 }));
          store.commit().then(
            () => void delivery.kick(),
            (e: unknown) => log.error({ err: (e as Error).message }, "store write failed"),
          );
        } else void rooms.sendChat(notify.to, text).catch(() => undefined);
      },
    });
    rt = { sync, mapping: mapping.value, config: rtConfig };
  }

  const acl = buildAcl(config.acl, { botJid: config.xmpp.jid, ownNoc: config.noc.id });
  const commands = new CommandService({
    acl,
    botNick: config.xmpp.nick,
    store,
    incidents,
    render: config.render,
    log: log.child({ part: "commands" }),
    now,
    afterChange: () => void delivery.kick(),
    rtWrites: rt ? (change, stored, notify) => (rt ? rtWritesForCommand(change, stored, rt.mapping, notify, now()) : []) : undefined,
    afterRtQueue: () => void rt?.sync.deliver(),
  });

  // XEP-0050: the same commands as forms; the sender is the iq's `from`, stamped by its server.
  registerAdhocCommands(rooms.iqCallee, {
    commands: registry.list(),
    identify: (from) => rooms.identify(from, "adhoc"),
    ownJid: (requester) => rooms.addressFor(requester),
    allowed: (actor, c) => authorize(acl, actor, { name: c.name, role: c.role, mutates: c.mutates }).kind === "allow",
    async run(text, actor) {
      let answer = "";
      const result = await commands.handle(text, actor, (body) => {
        answer = body;
        return Promise.resolve();
      });
      const accepted = result.kind === "reply" && result.audit.outcome === "accepted";
      return { text: answer || "Done.", ok: accepted };
    },
  });

  const peerLog = log.child({ part: "peers" });
  const ownPartners: ReadonlySet<string> = new Set([config.noc.id, ...config.feeds.map((f) => f.partnerId), ...(rt ? [rt.mapping.partnerId] : [])]);
  /** A peer bot's activity: validated, stored as its remote ticket, correlated with ours. */
  const trusted = (jid: string, partner: string): boolean =>
    config.peerBots.some((p) => p.partners.includes(partner) && p.jids.some((pattern) => matchJid(pattern, jid)));
  const receivePeer = async (msg: IncomingRoomMessage, senderJid: string | undefined): Promise<void> => {
    const peerTicketCount = (partner: string): number => Object.values(store.data.tickets).filter((t) => t.peer && t.ticket.Partner_ID === partner).length;
    const plan = planPeerActivity(
      { actor, self: actor, ownPartners, trusted, peerTicketCount, render: config.render, incidents, now: now() },
      msg,
      senderJid,
      (id) => store.ticket(id),
    );
    for (const line of plan.logs) peerLog[line.level](line.fields, line.msg);
    if (!plan.ticket && plan.outbox.length === 0) return;
    const before = plan.ticket ? store.ticket(plan.ticket.ticket.TT_ID) : undefined;
    // An RT ticket made for this peer ticket before it was archived is reused, not made again.
    const archivedLink = plan.ticket ? store.data.rtLinks[plan.ticket.ticket.TT_ID] : undefined;
    if (plan.ticket && !before?.rt && archivedLink !== undefined) plan.ticket.rt = { id: archivedLink };
    const rtWrites = rt && plan.ticket ? rtWritesForPeer(rt.config, rt.mapping, { ...plan.ticket, ...(before?.rt ? { rt: before.rt } : {}) }, before, store.data.rtOutbox, now()) : [];
    store.update((d) => {
      if (plan.ticket) {
        d.tickets[plan.ticket.ticket.TT_ID] = { ...plan.ticket, ...(before?.rt ? { rt: before.rt } : {}) };
        delete d.rtLinks[plan.ticket.ticket.TT_ID];
      }
      d.outbox.push(...plan.outbox);
      d.rtOutbox.push(...rtWrites);
    });
    try {
      await store.commit();
    } catch (e) {
      peerLog.error({ err: (e as Error).message }, "store write failed");
      return;
    }
    void delivery.kick();
    if (rtWrites.length > 0) void rt?.sync.deliver();
  };
  const running = new Map<string, Promise<PollOutcome>>();
  const pollNow = (feedId: string): Promise<PollOutcome> => {
    const feed = config.feeds.find((f) => f.id === feedId);
    if (!feed) return Promise.resolve({ kind: "failed", reason: `no feed ${feedId}` });
    // One fetch at a time per feed, however often cron or a caller asks.
    const inFlight = running.get(feedId);
    if (inFlight) return inFlight;
    const p = pollFeed(feed, deps)
      .catch((e: unknown): PollOutcome => {
        log.error({ feed: feedId, err: e instanceof Error ? e.stack : String(e) }, "feed poll crashed");
        return { kind: "failed", reason: String(e) };
      })
      .finally(() => running.delete(feedId));
    running.set(feedId, p);
    void p.then(() => delivery.kick());
    return p;
  };

  await rooms.start();
  delivery.start();

  const tasks: ScheduledTask[] = [];
  const archiveTimer = setInterval(() => {
    store.archiveFinal(now(), config.store.archiveAfterHours).then(
      (ids) => {
        // The correlation index and incident records follow the live store (memory stays bounded).
        for (const id of ids) incidents.forget(id);
        if (ids.length > 0) log.info({ archived: ids.length }, "archived closed tickets");
      },
      (e: unknown) => log.error({ err: (e as Error).message }, "archiving failed"),
    );
  }, 3600_000);
  archiveTimer.unref();
  let rtDeliveryTimer: NodeJS.Timeout | undefined;
  if (rt) {
    const sync = rt.sync;
    rtDeliveryTimer = setInterval(() => void sync.deliver(), 5_000);
    rtDeliveryTimer.unref();
    void sync.deliver(); // a restart resumes the queue
    if (opts.startPolling !== false) {
      tasks.push(cron.schedule(rt.config.schedule, () => void sync.poll(), { name: "rt", noOverlap: true }));
      void sync.poll();
    }
  }
  if (opts.startPolling !== false) {
    for (const feed of config.feeds) {
      tasks.push(cron.schedule(feed.schedule, () => void pollNow(feed.id), { name: `feed:${feed.id}`, noOverlap: true }));
      void pollNow(feed.id); // do not wait for the first tick
    }
  }

  return {
    rt: rt?.sync,
    pollNow,
    ready,
    store,
    async stop() {
      for (const t of tasks) await t.stop();
      clearInterval(archiveTimer);
      clearInterval(rtDeliveryTimer);
      await Promise.allSettled(running.values());
      delivery.stop();
      await rooms.stop();
      await store.commit(); // last: includes the delivery marks of echoes that came in while leaving
    },
  };
}
