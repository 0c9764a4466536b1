import { test } from "node:test";
import assert from "node:assert/strict";
import { roomSubject, MAX_SUBJECT } from "../../src/rooms/subject.js";
import { SubjectKeeper, type SubjectPort } from "../../src/rooms/subjects.js";
import { emptyStore, type CollectionName, type Records, type StoredTicket } from "../../src/store/types.js";
import { captureLogger } from "../helpers/log-capture.js";
import { sampleClosedTicket, sampleTicket } from "../fixtures/tickets.js";
import type { Ticket } from "../../src/model/ticket.js";

const NOW = Date.parse("2026-12-01T10:00:00Z");
const fault = (partner: string, n: string, o: Partial<Ticket> = {}): { ticket: Ticket; incident?: string } => ({ ticket: sampleTicket({ Partner_ID: partner, Original_ID: n, ...o }) });

void test("roomSubject: the service's state across NOCs, worst impact first; maintenance now and next; no clock in it", () => {
  const cases: { name: string; tickets: { ticket: Ticket; incident?: string }[]; subject: string }[] = [
    { name: "nothing open", tickets: [], subject: "IP transit: no open faults" },
    { name: "only closed", tickets: [{ ticket: sampleClosedTicket() }], subject: "IP transit: no open faults" },
    {
      name: "two NOCs, one incident",
      tickets: [
        { ...fault("EXN", "1", { TT_Impact_Assessment: "At risk" }), incident: "INC-1" },
        { ...fault("NORD", "7", { TT_Impact_Assessment: "No connectivity" }), incident: "INC-1" },
        { ...fault("EXN", "2", { TT_Impact_Assessment: "Unknown" }) },
      ],
      subject: "IP transit: 3 open fault tickets in 2 incidents · worst: No connectivity · NOCs: EXN, NORD",
    },
    {
      name: "maintenance under way and the next one",
      tickets: [
        fault("NL", "MW-1", { Type: "Scheduled", Time_Window_Start: "2026-12-01T09:00:00Z", Time_Window_End: "2026-12-01T11:00:00Z" }),
        fault("NL", "MW-2", { Type: "Scheduled", Time_Window_Start: "2026-12-02T01:00:00Z", Time_Window_End: "2026-12-02T03:00:00Z" }),
      ],
      subject: "IP transit: no open faults · maintenance now: NL_MW-1 until 2026-12-01 11:00 UTC · next maintenance: NL_MW-2 2026-12-02 01:00 UTC",
    },
  ];
  for (const c of cases) assert.equal(roomSubject({ label: "IP transit", tickets: c.tickets, now: NOW, timeZone: "UTC" }), c.subject, c.name);
  const long = roomSubject({ label: "x".repeat(400), tickets: [], now: NOW, timeZone: "UTC" });
  assert.ok(long.length <= MAX_SUBJECT, "one line, capped");
  assert.equal(roomSubject({ label: "Line\nbreak", tickets: [], now: NOW, timeZone: "UTC" }).includes("\n"), false);
});

void test("SubjectKeeper: set when the state changes, at most once per interval, never where the room refused", async () => {
  const state = emptyStore();
  const room = "transit@conference.example.net";
  const stored = (t: Ticket): StoredTicket => ({ ticket: t, hash: "h", source: "exn", firstSeen: "", lastChange: "", rooms: [room] });
  const current = new Map<string, string>();
  const sets: string[] = [];
  const port: SubjectPort = {
    setSubject: (r, s) => {
      sets.push(s);
      current.set(r, s); // the room echoes it
      return Promise.resolve(`sub-${sets.length}`);
    },
    subjectOf: (r) => current.get(r),
    isJoined: () => true,
  };
  const keeper = new SubjectKeeper({ rooms: [{ jid: room, label: "IP transit" }], store: { values: <C extends CollectionName>(c: C) => (state[c] as Map<string, Records[C]>).values() }, incidents: { roomsOf: () => [] }, xmpp: port, timeZone: "UTC", log: captureLogger().log, now: () => new Date(), minIntervalMs: 300 });
  const settle = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
  keeper.kick(0);
  await settle(50);
  assert.deepEqual(sets, ["IP transit: no open faults"]);
  keeper.kick(0);
  await settle(50);
  assert.equal(sets.length, 1, "unchanged state: nothing sent");
  state.tickets.set("EXN_1", stored(sampleTicket({ Partner_ID: "EXN", Original_ID: "1", TT_Impact_Assessment: "At risk" })));
  keeper.kick(0);
  await settle(50);
  assert.equal(sets.length, 1, "changed within the interval: deferred");
  await settle(400);
  assert.deepEqual(sets.at(-1), "IP transit: 1 open fault ticket in 1 incident · worst: At risk · NOCs: EXN", "set once the interval is over");
  keeper.refused("sub-2", room, "forbidden");
  state.tickets.set("EXN_2", stored(sampleTicket({ Partner_ID: "EXN", Original_ID: "2" })));
  keeper.kick(0);
  await settle(400);
  assert.equal(sets.length, 2, "a room that refused is left alone");
  keeper.joined(room);
  await settle(1200);
  assert.equal(sets.length, 3, "until the bot joins it again");
  keeper.stop();
});
