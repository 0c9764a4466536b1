/**
 * The room inbox: where each incoming stanza goes (pure routing over small ports). In a room:
 *
 *   own echo (live or replayed) → the outbox entry is delivered
 *   a payload from someone else → the peer source (history replays too: peers post while we are away)
 *   a body from someone else, live → a command, as the real JID the room reported for the nick
 *   a message with a thread and a stanza-id → maybe the incident's first message there
 *
 * Direct and MUC-private messages are commands (never when delayed: offline messages from long ago).
 */
import { randomUUID } from "node:crypto";
import type { ActorIdentity } from "../dispatch/authorize.js";
import type { OutboxEntry } from "../store/types.js";
import type { IncomingChat, RoomEvents } from "../xmpp/room-client.js";
import type { IncomingRoomMessage, Occupant } from "../xmpp/stanzas.js";
import { asAffiliation, type Reply } from "./commands.js";

export type InboxPorts = {
  /** The room echoed our message: the outbox entry, if it was one. */
  delivered(originId: string): OutboxEntry | undefined;
  refused(id: string, room: string, reason: string): void;
  peerActivity(msg: IncomingRoomMessage, senderJid: string | undefined): void;
  command(text: string, identity: ActorIdentity, reply: Reply, botNick?: string): void;
  firstMessage(thread: string, room: string, stanzaId: string, from: string): void;
  /** Our message about a ticket, as the room showed it: the first one is what the ticket's updates reply to. */
  ticketPost(ttId: string, room: string, stanzaId: string, from: string): void;
  joined(room: string): void;
  /** The bot's join created the room: what was kept of its earlier life is gone. */
  roomRecreated(room: string): void;
  /** Who is in a room, as the room told us (the only source of real JIDs). */
  occupant(room: string, nick: string): Occupant | undefined;
  nickIn(room: string): string | undefined;
  sendRoom(room: string, body: string, thread: string | undefined): Promise<void>;
  sendChat(to: string, body: string, thread: string | undefined): Promise<void>;
};

export function createInbox(ports: InboxPorts): RoomEvents {
  return {
    message(msg, ownNick) {
      // Our own echo, live or replayed from history: the outbox entry is delivered. Only our own
      // nick counts: origin-ids are derivable, and another occupant must not cancel our posts.
      const echoed = ownNick && msg.originId ? ports.delivered(msg.originId) : undefined;
      // A peer's activity is handed over before its thread is looked at below, so that its
      // incident exists when the first message is noted (both go through the intake in order).
      if (!ownNick && msg.json !== undefined && msg.nick !== undefined) ports.peerActivity(msg, ports.occupant(msg.room, msg.nick)?.jid);
      // Commands: never from history replays or from ourselves; the sender is known by the real
      // JID the room reported for that nick (never by the nick itself).
      if (!ownNick && !msg.delayed && msg.body !== undefined && msg.nick !== undefined) {
        const nick = msg.nick;
        const occupant = ports.occupant(msg.room, nick);
        ports.command(
          msg.body,
          { jid: occupant?.jid, via: "groupchat", room: msg.room, affiliation: asAffiliation(occupant?.affiliation), nick },
          (body, thread) => ports.sendRoom(msg.room, `${nick}: ${body}`, thread),
          ports.nickIn(msg.room),
        );
      }
      // The first message of an incident in a room (ours or a peer's) is what later ones reply to.
      const thread = echoed?.incident ?? msg.thread;
      if (thread && msg.stanzaId && msg.nick) ports.firstMessage(thread, msg.room, msg.stanzaId, `${msg.room}/${msg.nick}`);
      if (echoed?.ticketId && msg.stanzaId && msg.nick) ports.ticketPost(echoed.ticketId, msg.room, msg.stanzaId, `${msg.room}/${msg.nick}`);
    },
    // One-to-one and room-private messages: the room client says who sent them (never a room or
    // occupant JID stands in for a person).
    direct(chat: IncomingChat, actor: ActorIdentity) {
      if (chat.delayed) return; // offline messages from long ago are not commands
      ports.command(chat.body, actor, (body, thread) => ports.sendChat(chat.from, body, thread));
    },
    privateMessage(chat: IncomingChat, actor: ActorIdentity) {
      if (chat.delayed) return;
      ports.command(chat.body, actor, (body, thread) => ports.sendChat(chat.from, body, thread));
    },
    // A room made anew has none of the messages later incident posts would reply to.
    roomRecreated(room) {
      ports.roomRecreated(room);
    },
    sendError(id, room, reason) {
      ports.refused(id, room, reason);
    },
    joined(room) {
      ports.joined(room);
    },
  };
}

/** The services the inbox hands traffic to (the composition root's). */
export type InboxServices = {
  delivery: { delivered(id: string): OutboxEntry | undefined; refused(id: string, room: string, reason: string): void; kick(): Promise<void> };
  peers: { receive(msg: IncomingRoomMessage, senderJid: string | undefined): Promise<void> };
  commands: { handle(text: string, identity: ActorIdentity, reply: Reply, botNick?: string): Promise<unknown> };
  intake: {
    noteFirstMessage(thread: string, room: string, stanzaId: string, from: string): Promise<boolean>;
    noteTicketPost(ttId: string, room: string, stanzaId: string, from: string): Promise<boolean>;
    forgetRoom(room: string): Promise<unknown>;
  };
  joins: { joined(room: string): void };
  subjects?: { refused(id: string, room: string, reason: string): void; joined(room: string): void } | undefined;
  /** The room client (built after the inbox it needs: looked up when traffic comes). */
  rooms: () => {
    occupant(room: string, nick: string): Occupant | undefined;
    nickIn(room: string): string | undefined;
    send(m: { room: string; id: string; body: string; thread?: string | undefined }): Promise<void>;
    sendChat(to: string, body: string, thread?: string): Promise<void>;
  };
};

export function inboxFor(s: InboxServices): RoomEvents {
  return createInbox({
    delivered: (id) => s.delivery.delivered(id),
    refused: (id, room, reason) => {
      s.delivery.refused(id, room, reason);
      s.subjects?.refused(id, room, reason);
    },
    peerActivity: (msg, jid) => void s.peers.receive(msg, jid),
    command: (text, identity, reply, nick) => void s.commands.handle(text, identity, reply, nick),
    firstMessage: (thread, room, stanzaId, from) => void s.intake.noteFirstMessage(thread, room, stanzaId, from),
    ticketPost: (ttId, room, stanzaId, from) => void s.intake.noteTicketPost(ttId, room, stanzaId, from),
    joined: (room) => {
      s.joins.joined(room);
      s.subjects?.joined(room);
      void s.delivery.kick();
    },
    roomRecreated: (room) => void s.intake.forgetRoom(room),
    occupant: (room, nick) => s.rooms().occupant(room, nick),
    nickIn: (room) => s.rooms().nickIn(room),
    sendRoom: (room, body, thread) => s.rooms().send({ room, id: `cmd-${randomUUID()}`, body, thread }),
    sendChat: (to, body, thread) => s.rooms().sendChat(to, body, thread),
  });
}
