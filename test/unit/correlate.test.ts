import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import {
  CorrelationConfigSchema,
  CorrelationIndex,
  applyDecision,
  correlate,
  correlateFullScan,
  defaultCorrelationConfig,
  explainDecision,
  incidentStatus,
  masterOf,
  newIncidentId,
  normaliseName,
  quotedTicketIds,
  ticketFeatures,
  type CorrelationConfig,
  type CorrelationDecision,
  type RuleName,
} from "../../src/correlate/engine.js";
import type { Ticket } from "../../src/model/ticket.js";
import { HOUR, ticketFactory } from "../fixtures/incident-tickets.js";

const { T0, at, nowAt, tk, closed } = ticketFactory("2024-03-01T10:00:00Z", (id) => `Trouble ${id}`);

function cfg(patch: { threshold?: number; weights?: Partial<CorrelationConfig["weights"]>; timeWindow?: Partial<CorrelationConfig["timeWindow"]>; maxPostingsPerKey?: number } = {}): CorrelationConfig {
  return CorrelationConfigSchema.parse(patch);
}

/** Correlates and applies each ticket in order; returns the decisions. */
function feed(index: CorrelationIndex, tickets: readonly Ticket[], config = defaultCorrelationConfig, nowH?: number): CorrelationDecision[] {
  return tickets.map((t) => {
    const now = nowH === undefined ? new Date(Date.parse(t.TT_Last_Update_Time) + HOUR) : nowAt(nowH);
    const d = correlate(index, t, config, now);
    applyDecision(index, t, d);
    return d;
  });
}

const rulesOf = (d: CorrelationDecision): RuleName[] => (d.kind === "join" ? d.matched.map((m) => m.rule) : []);

// ---------------------------------------------------------------------------------------------
// Each rule alone, above and below the threshold (default weights: reference 100, circuit 6,
// node 3, service 2, timeOverlap 1; threshold 5)
// ---------------------------------------------------------------------------------------------

type RuleCase = {
  name: string;
  stored: Ticket[];
  incoming: Ticket;
  expect: "join" | "new";
  rules?: RuleName[];
  score?: number;
};

const ruleCases: RuleCase[] = [
  {
    name: "shared circuit, same time: 6 + 1 >= 5",
    stored: [tk("A_1", 0, { Network_Link_Circuit: ["FORTH-2"] })],
    incoming: tk("B_1", 0.5, { Network_Link_Circuit: ["FORTH-2"] }),
    expect: "join",
    rules: ["circuit", "timeOverlap"],
    score: 7,
  },
  {
    name: "shared circuit, normalised: case and spaces",
    stored: [tk("A_1", 0, { Network_Link_Circuit: ["FORTH-2"] })],
    incoming: tk("B_1", 0.5, { Network_Link_Circuit: ["  forth - 2 "] }),
    expect: "join",
    rules: ["circuit", "timeOverlap"],
  },
  {
    name: "different circuits do not match (punctuation is not normalised away)",
    stored: [tk("A_1", 0, { Network_Link_Circuit: ["AB-12"] })],
    incoming: tk("B_1", 0.5, { Network_Link_Circuit: ["A-B12"] }),
    expect: "new",
  },
  {
    name: "one shared node alone: 3 + 1 < 5",
    stored: [tk("A_1", 0, { Network_Node: ["ATH-CORE-1"] })],
    incoming: tk("B_1", 0.5, { Network_Node: ["ath-core-1"] }),
    expect: "new",
  },
  {
    name: "two shared nodes (both ends of a link): 3 + 3 + 1 >= 5",
    stored: [tk("A_1", 0, { Network_Node: ["ATH-CORE-1", "HER-CORE-1"] })],
    incoming: tk("B_1", 0.5, { Network_Node: ["her-core-1", "ATH-CORE-1"] }),
    expect: "join",
    rules: ["node", "node", "timeOverlap"],
    score: 7,
  },
  {
    name: "shared node + same service (case-insensitive): 3 + 2 + 1 >= 5",
    stored: [tk("A_1", 0, { Network_Node: ["ATH-CORE-1"], Affected_Service: "IP Transit" })],
    incoming: tk("B_1", 0.5, { Network_Node: ["ATH-CORE-1"], Affected_Service: "ip  transit " }),
    expect: "join",
    rules: ["node", "service", "timeOverlap"],
    score: 6,
  },
  {
    name: "same service alone, same time: 2 + 1 < 5",
    stored: [tk("A_1", 0, { Affected_Service: "IP Transit" })],
    incoming: tk("B_1", 0.5, { Affected_Service: "IP Transit" }),
    expect: "new",
  },
  {
    name: "time overlap alone (nothing shared) scores 0",
    stored: [tk("A_1", 0)],
    incoming: tk("B_1", 0),
    expect: "new",
  },
  {
    name: "explicit reference in Related_External_Tickets (§3.2.6.1), 30 days apart",
    stored: [closed(tk("A_1", 0), 2)],
    incoming: tk("B_1", 720, { Related_External_Tickets: ["A_1"] }),
    expect: "join",
    rules: ["reference"],
    score: 100,
  },
  {
    name: "explicit reference in Related_Activity (§3.2.6.3)",
    stored: [tk("A_1", 0)],
    incoming: tk("B_1", 50, { Related_Activity: ["A_1"] }),
    expect: "join",
    rules: ["reference"],
  },
  {
    name: "reference to an unknown ticket matches nothing",
    stored: [tk("A_1", 0)],
    incoming: tk("B_1", 0, { Related_External_Tickets: ["A_999"] }),
    expect: "new",
  },
  {
    name: "circuit within the 2 h slack after the other ticket ended",
    stored: [closed(tk("A_1", 0, { Network_Link_Circuit: ["C-1"] }), 3)],
    incoming: tk("B_1", 4.5, { Network_Link_Circuit: ["C-1"] }),
    expect: "join",
    rules: ["circuit", "timeOverlap"],
  },
  {
    name: "circuit beyond the slack: the same circuit failing again is a new incident",
    stored: [closed(tk("A_1", 0, { Network_Link_Circuit: ["C-1"] }), 3)],
    incoming: tk("B_1", 5.5, { Network_Link_Circuit: ["C-1"] }),
    expect: "new",
  },
  {
    name: "open-ended stored ticket (no End_Datetime) overlaps an incoming ticket hours later",
    stored: [tk("A_1", 0, { Network_Link_Circuit: ["C-1"] })],
    incoming: tk("B_1", 10, { Network_Link_Circuit: ["C-1"] }),
    expect: "join",
  },
  {
    name: "open ticket untouched for more than 72 h no longer attracts new faults",
    stored: [tk("A_1", 0, { Network_Link_Circuit: ["C-1"] })],
    incoming: tk("B_1", 100, { Network_Link_Circuit: ["C-1"] }),
    expect: "new",
  },
];

for (const c of ruleCases) {
  void test(`rule: ${c.name}`, () => {
    const index = new CorrelationIndex();
    feed(index, c.stored);
    const now = new Date(Date.parse(c.incoming.TT_Last_Update_Time) + HOUR);
    const d = correlate(index, c.incoming, defaultCorrelationConfig, now);
    assert.equal(d.kind, c.expect, explainDecision(d));
    if (c.rules !== undefined) assert.deepEqual(rulesOf(d), c.rules);
    if (c.score !== undefined) assert.equal(d.kind === "join" ? d.score : undefined, c.score);
    // The full scan must agree with the index.
    assert.deepEqual(kindAndId(correlateFullScan(index, c.incoming, defaultCorrelationConfig, now)), kindAndId(d));
  });
}

function kindAndId(d: CorrelationDecision): string {
  return d.kind === "join" ? `join ${d.incidentId} ${d.score}` : `${d.kind} ${d.incidentId}`;
}

// ---------------------------------------------------------------------------------------------
// Weights and threshold
// ---------------------------------------------------------------------------------------------

const weightCases: { name: string; config: CorrelationConfig; stored: Ticket; incoming: Ticket; expect: "join" | "new" }[] = [
  {
    name: "threshold 8: one circuit (7) no longer merges",
    config: cfg({ threshold: 8 }),
    stored: tk("A_1", 0, { Network_Link_Circuit: ["C-1"] }),
    incoming: tk("B_1", 0, { Network_Link_Circuit: ["C-1"] }),
    expect: "new",
  },
  {
    name: "node weight 4: one node (4 + 1) merges",
    config: cfg({ weights: { node: 4 } }),
    stored: tk("A_1", 0, { Network_Node: ["N1"] }),
    incoming: tk("B_1", 0, { Network_Node: ["N1"] }),
    expect: "join",
  },
  {
    name: "service weight 4: same service (4 + 1) merges within the window",
    config: cfg({ weights: { service: 4 } }),
    stored: tk("A_1", 0, { Affected_Service: "VoIP" }),
    incoming: tk("B_1", 1, { Affected_Service: "voip" }),
    expect: "join",
  },
  {
    name: "service weight 4: same service 10 days apart still never merges (time gate)",
    config: cfg({ weights: { service: 4 } }),
    stored: closed(tk("A_1", 0, { Affected_Service: "VoIP" }), 1),
    incoming: tk("B_1", 240, { Affected_Service: "VoIP" }),
    expect: "new",
  },
  {
    name: "timeOverlap weight 0: one circuit (6) still merges",
    config: cfg({ weights: { timeOverlap: 0 } }),
    stored: tk("A_1", 0, { Network_Link_Circuit: ["C-1"] }),
    incoming: tk("B_1", 0, { Network_Link_Circuit: ["C-1"] }),
    expect: "join",
  },
  {
    name: "huge timeOverlap weight: time overlap alone still never merges",
    config: cfg({ weights: { timeOverlap: 50 } }),
    stored: tk("A_1", 0, { Affected_Service: "X" }),
    incoming: tk("B_1", 0, { Affected_Service: "Y" }),
    expect: "new",
  },
  {
    name: "slack 0: touching windows only",
    config: cfg({ timeWindow: { slackMinutes: 0 } }),
    stored: closed(tk("A_1", 0, { Network_Link_Circuit: ["C-1"] }), 3),
    incoming: tk("B_1", 3.5, { Network_Link_Circuit: ["C-1"] }),
    expect: "new",
  },
];

for (const c of weightCases) {
  void test(`weights: ${c.name}`, () => {
    const index = new CorrelationIndex();
    feed(index, [c.stored], c.config);
    const now = new Date(Date.parse(c.incoming.TT_Last_Update_Time) + HOUR);
    const d = correlate(index, c.incoming, c.config, now);
    assert.equal(d.kind, c.expect, explainDecision(d));
    assert.deepEqual(kindAndId(correlateFullScan(index, c.incoming, c.config, now)), kindAndId(d));
  });
}

void test("config: {} gives the documented defaults; reference must reach the threshold", () => {
  assert.deepEqual(CorrelationConfigSchema.parse({}), {
    threshold: 5,
    weights: { reference: 100, circuit: 6, node: 3, service: 2, timeOverlap: 1 },
    timeWindow: { slackMinutes: 120, staleAfterHours: 72 },
    maxPostingsPerKey: 2000,
  });
  const bad = CorrelationConfigSchema.safeParse({ threshold: 10, weights: { reference: 9 } });
  assert.equal(bad.success, false);
  assert.deepEqual(bad.error?.issues.map((i) => i.path.join(".")), ["weights.reference"]);
  assert.equal(CorrelationConfigSchema.safeParse({ weights: { circuit: -1 } }).success, false);
  assert.equal(CorrelationConfigSchema.safeParse({ unknown: 1 }).success, false);
});

// ---------------------------------------------------------------------------------------------
// No false merges
// ---------------------------------------------------------------------------------------------

void test("no false merge: 60 unrelated tickets on one service, one a day, each opens its own incident", () => {
  const index = new CorrelationIndex();
  const tickets = Array.from({ length: 60 }, (_, i) =>
    closed(tk(`N${i % 3}_${i}`, i * 24, { Affected_Service: "IP Transit", Network_Node: ["ATH-CORE-1"] }), i * 24 + 2),
  );
  const decisions = feed(index, tickets);
  assert.deepEqual(new Set(decisions.map((d) => d.kind)), new Set(["new"]));
  assert.equal(index.stats().incidents, 60);
});

void test("no false merge: overlapping in time only, nothing shared", () => {
  const index = new CorrelationIndex();
  const decisions = feed(index, [
    tk("A_1", 0, { Network_Link_Circuit: ["C-1"], Network_Node: ["N1"], Affected_Service: "S1" }),
    tk("B_1", 0, { Network_Link_Circuit: ["C-2"], Network_Node: ["N2"], Affected_Service: "S2" }),
    tk("C_1", 0.5, { Network_Link_Circuit: ["C-3"], Network_Node: ["N3"], Affected_Service: "S3" }),
  ]);
  assert.deepEqual(decisions.map((d) => d.kind), ["new", "new", "new"]);
});

// ---------------------------------------------------------------------------------------------
// Explicit references across NOCs
// ---------------------------------------------------------------------------------------------

void test("cross-NOC: NOC B quoting NOC A's TT_ID in TT_Title joins A's incident regardless of time", () => {
  const index = new CorrelationIndex();
  const [a] = feed(index, [closed(tk("GRNET_5985", 0, { Network_Link_Circuit: ["FORTH-2"] }), 1)]);
  assert.ok(a?.kind === "new");
  const b = tk("GEANT_77", 200, { TT_Title: "Upstream outage (see GRNET_5985)." });
  const d = correlate(index, b, defaultCorrelationConfig, nowAt(201));
  assert.ok(d.kind === "join", explainDecision(d));
  assert.equal(d.incidentId, a.incidentId);
  assert.deepEqual(d.matched, [{ rule: "reference", key: "ticket:GRNET_5985", otherTicket: "GRNET_5985", weight: 100 }]);
  applyDecision(index, b, d);
  assert.deepEqual(index.incident(a.incidentId)?.partners, ["GEANT", "GRNET"]);
});

void test("cross-NOC: TT_ID quoted in TT_Long_Description joins", () => {
  const index = new CorrelationIndex();
  const [a] = feed(index, [tk("A_1", 0)]);
  const d = correlate(index, tk("B_9", 1, { TT_Long_Description: "Caused by the fibre cut reported in A_1; waiting." }), defaultCorrelationConfig, nowAt(2));
  assert.equal(kindAndId(d), `join ${a?.incidentId} 100`);
});

void test("cross-NOC: the quoting ticket arrives first; the quoted one joins it when it arrives", () => {
  const index = new CorrelationIndex();
  const [b] = feed(index, [tk("B_1", 0, { Related_External_Tickets: ["A_1"] })]);
  const d = correlate(index, tk("A_1", 0), defaultCorrelationConfig, nowAt(1));
  assert.ok(d.kind === "join", explainDecision(d));
  assert.equal(d.incidentId, b?.incidentId);
  assert.deepEqual(d.matched, [{ rule: "reference", key: "ticket:A_1", otherTicket: "B_1", weight: 100 }]);
  assert.match(explainDecision(d), /B_1 references it \(A_1\)/u);
});

void test("quotedTicketIds: only well-formed TT_IDs, surrounding punctuation trimmed", () => {
  assert.deepEqual(quotedTicketIds("see (GRNET_5985), also #A_1: not a_b_c nor _x nor y_"), ["GRNET_5985", "A_1"]);
  assert.deepEqual(quotedTicketIds(undefined), []);
  assert.equal(normaliseName("  Forth - 2 "), "forth-2");
});

// ---------------------------------------------------------------------------------------------
// Determinism
// ---------------------------------------------------------------------------------------------

void test("determinism: new incident ids come from the first ticket's TT_ID; two indexes agree", () => {
  const tickets = [
    tk("A_1", 0, { Network_Link_Circuit: ["C-1"] }),
    tk("B_1", 0.2, { Network_Link_Circuit: ["C-1"] }),
    tk("C_1", 0.3, { Network_Node: ["N9"] }),
    tk("D_1", 30, { TT_Title: "see C_1" }),
  ];
  const run = (): string[] => feed(new CorrelationIndex(), tickets).map(kindAndId);
  const first = run();
  assert.deepEqual(run(), first);
  const expectedA = `INC-${createHash("sha256").update("A_1").digest("hex").slice(0, 12)}`;
  assert.equal(newIncidentId("A_1"), expectedA);
  assert.deepEqual(first, [`new ${expectedA}`, `join ${expectedA} 7`, `new ${newIncidentId("C_1")}`, `join ${newIncidentId("C_1")} 100`]);
});

void test("determinism: equal-score incidents: the oldest wins, whatever the insertion order", () => {
  const older = tk("A_1", 0, { Network_Link_Circuit: ["C-1"], TT_Open_Datetime: at(0.1) });
  const newer = tk("B_1", 0, { Network_Link_Circuit: ["C-1"], TT_Open_Datetime: at(0.2) });
  const incoming = tk("Z_1", 0.5, { Network_Link_Circuit: ["C-1"] });
  for (const order of [[older, newer], [newer, older]]) {
    const index = new CorrelationIndex();
    // Put each in its own incident explicitly (equal scores, two incidents).
    for (const t of order) index.add(t, newIncidentId(t.TT_ID));
    const d = correlate(index, incoming, defaultCorrelationConfig, nowAt(1));
    assert.equal(kindAndId(d), `join ${newIncidentId("A_1")} 7`);
  }
});

void test("determinism: equal score and equal age: the smallest incident id wins", () => {
  const a = tk("A_1", 0, { Network_Link_Circuit: ["C-1"] });
  const b = tk("B_1", 0, { Network_Link_Circuit: ["C-1"] });
  const expected = [newIncidentId("A_1"), newIncidentId("B_1")].sort()[0];
  for (const order of [[a, b], [b, a]]) {
    const index = new CorrelationIndex();
    for (const t of order) index.add(t, newIncidentId(t.TT_ID));
    const d = correlate(index, tk("Z_1", 0.5, { Network_Link_Circuit: ["C-1"] }), defaultCorrelationConfig, nowAt(1));
    assert.equal(d.incidentId, expected);
  }
});

void test("new incident id: a taken id gets a deterministic suffix", () => {
  const index = new CorrelationIndex();
  index.add(tk("Q_1", 0), newIncidentId("A_1"));
  assert.equal(newIncidentId("A_1", index), `${newIncidentId("A_1")}-2`);
});

// ---------------------------------------------------------------------------------------------
// Updates
// ---------------------------------------------------------------------------------------------

void test("update: a known ticket stays in its incident even if it now shares a circuit with another", () => {
  const index = new CorrelationIndex();
  const [x, y] = feed(index, [tk("A_1", 0, { Network_Link_Circuit: ["C-1"] }), tk("B_1", 0, { Network_Link_Circuit: ["C-2"] })]);
  assert.ok(x?.kind === "new" && y?.kind === "new");
  const changed = tk("B_1", 0, { Network_Link_Circuit: ["C-1"], TT_Status: "Updated", History: "re-routed", TT_Last_Update_Time: at(1) });
  const d = correlate(index, changed, defaultCorrelationConfig, nowAt(1));
  assert.deepEqual(d, { kind: "stay", incidentId: y.incidentId });
  assert.match(explainDecision(d), /^stays in incident INC-/u);
  applyDecision(index, changed, d);
  assert.equal(index.incidentOf("B_1"), y.incidentId, "still in its own incident after the update");
  // Re-indexed: a third ticket on C-1 now finds both A_1 and B_1.
  const found = index.candidates(tk("C_1", 0.5, { Network_Link_Circuit: ["C-1"] }), defaultCorrelationConfig, nowAt(1));
  assert.deepEqual(found.map((c) => [c.ttId, c.incidentId, c.score]), [
    ["A_1", x.incidentId, 7],
    ["B_1", y.incidentId, 7],
  ]);
});

void test("update: a new explicit reference to another incident moves the ticket; an old one does not", () => {
  const index = new CorrelationIndex();
  const [x, y] = feed(index, [tk("A_1", 0), tk("B_1", 0)]);
  assert.ok(x !== undefined && y !== undefined);
  const moved = tk("B_1", 0, { Related_External_Tickets: ["A_1"], TT_Last_Update_Time: at(1), TT_Status: "Updated", History: "same root cause as A_1" });
  const d = correlate(index, moved, defaultCorrelationConfig, nowAt(1));
  assert.equal(kindAndId(d), `join ${x.incidentId} 100`);
  applyDecision(index, moved, d);
  assert.deepEqual(index.incident(x.incidentId)?.tickets, ["A_1", "B_1"]);
  assert.equal(index.incident(y.incidentId), undefined, "the emptied incident is dropped");
  // Same reference again on the next update: stays.
  const again = { ...moved, TT_Last_Update_Time: at(2) };
  assert.deepEqual(correlate(index, again, defaultCorrelationConfig, nowAt(2)), { kind: "stay", incidentId: x.incidentId });
});

void test("update: removing a circuit un-indexes it", () => {
  const index = new CorrelationIndex();
  feed(index, [tk("A_1", 0, { Network_Link_Circuit: ["C-1"] })]);
  assert.ok(index.update(tk("A_1", 0, { Network_Link_Circuit: ["C-9"] })));
  assert.equal(correlate(index, tk("B_1", 0, { Network_Link_Circuit: ["C-1"] }), defaultCorrelationConfig, nowAt(1)).kind, "new");
  assert.equal(index.update(tk("Q_1", 0)), false);
  assert.ok(index.remove("A_1"));
  assert.equal(index.remove("A_1"), false);
  assert.deepEqual(index.stats(), { tickets: 0, incidents: 0, keys: 0, postings: 0, hottestKey: undefined });
});

// ---------------------------------------------------------------------------------------------
// Superseded / Cancelled
// ---------------------------------------------------------------------------------------------

void test("masterOf: Superseded/Cancelled point to their master via Related_Activity (§2.2.1.1)", () => {
  const sup = closed(tk("A_2", 0, { Related_Activity: ["A_2", "A_1", "A_3"] }), 1, "Superseded");
  assert.equal(masterOf(sup), "A_1");
  assert.equal(masterOf(closed(tk("A_2", 0, { Related_Activity: ["A_1"] }), 1, "Cancelled")), "A_1");
  assert.equal(masterOf(tk("A_2", 0, { Related_Activity: ["A_1"] })), undefined);
  assert.equal(masterOf(closed(tk("A_2", 0), 1, "Superseded")), undefined);
});

void test("superseded: joins its master's incident even when another incident scores higher", () => {
  const index = new CorrelationIndex();
  const [m, other] = feed(index, [tk("A_1", 0), tk("B_1", 0, { Network_Link_Circuit: ["C-1", "C-2"] })]);
  assert.ok(m !== undefined && other !== undefined);
  const sup = closed(tk("A_2", 0, { Related_Activity: ["A_1", "B_1"], Network_Link_Circuit: ["C-1", "C-2"] }), 1, "Superseded");
  const d = correlate(index, sup, defaultCorrelationConfig, nowAt(2));
  assert.ok(d.kind === "join");
  assert.equal(d.incidentId, m.incidentId);
  assert.equal(d.matched[0]?.rule, "master");
  assert.match(explainDecision(d), /its master ticket is A_1/u);
});

void test("superseded: a known ticket that becomes Superseded moves to its master's incident", () => {
  const index = new CorrelationIndex();
  const [m, s] = feed(index, [tk("A_1", 0), tk("A_2", 0, { Related_Activity: ["A_1"] })]);
  assert.ok(m !== undefined && s !== undefined);
  assert.equal(s.kind, "join", "already joined through the reference");
  // A second ticket that was on its own and now is superseded by A_1.
  const [lone] = feed(index, [tk("A_3", 5)]);
  assert.equal(lone?.kind, "new");
  const sup = closed(tk("A_3", 5, { Related_Activity: ["A_1"] }), 6, "Superseded");
  const d = correlate(index, sup, defaultCorrelationConfig, nowAt(7));
  assert.equal(d.incidentId, m.incidentId);
});

void test("superseded: a ticket in its master's incident stays there even if it now references another incident", () => {
  const index = new CorrelationIndex();
  const [m, other] = feed(index, [tk("A_1", 0), tk("B_1", 0)]);
  assert.ok(m !== undefined && other !== undefined);
  feed(index, [tk("A_2", 0, { Related_Activity: ["A_1"] })]);
  const sup = closed(tk("A_2", 0, { Related_Activity: ["A_1"], Related_External_Tickets: ["B_1"] }), 1, "Superseded");
  assert.deepEqual(correlate(index, sup, defaultCorrelationConfig, nowAt(2)), { kind: "stay", incidentId: m.incidentId });
});

// ---------------------------------------------------------------------------------------------
// Incident status
// ---------------------------------------------------------------------------------------------

void test("incident status: closed when all members are final, open again on Reopened", () => {
  const index = new CorrelationIndex();
  const a = tk("A_1", 0, { Network_Link_Circuit: ["C-1"] });
  const b = tk("B_1", 0.5, { Network_Link_Circuit: ["C-1"] });
  const [d] = feed(index, [a, b]);
  assert.ok(d !== undefined);
  const id = d.incidentId;
  assert.equal(index.incident(id)?.status, "open");
  feed(index, [closed(a, 2)]);
  assert.equal(index.incident(id)?.status, "open", "B_1 still open");
  feed(index, [closed(b, 2, "Opened/Closed")]);
  assert.equal(index.incident(id)?.status, "closed");
  feed(index, [{ ...closed(b, 2), TT_Status: "Reopened", TT_Last_Update_Time: at(3) }]);
  assert.equal(index.incident(id)?.status, "open");
  assert.deepEqual(index.incident(id), { id, tickets: ["A_1", "B_1"], status: "open", openedAt: at(0.1), partners: ["A", "B"] });
});

const statusCases: { statuses: Ticket["TT_Status"][]; expect: "open" | "closed" }[] = [
  { statuses: ["Closed", "Cancelled", "Superseded", "Inactive", "Opened/Closed"], expect: "closed" },
  { statuses: ["Closed", "Solved"], expect: "open" }, // Solved is not final (§2.2.1.1)
  { statuses: ["Opened"], expect: "open" },
  { statuses: ["Closed", "Reopened"], expect: "open" },
];
for (const c of statusCases) {
  void test(`incidentStatus(${c.statuses.join(", ")}) = ${c.expect}`, () => {
    assert.equal(incidentStatus(c.statuses.map((s) => ({ TT_Status: s }))), c.expect);
  });
}

// ---------------------------------------------------------------------------------------------
// Explanations
// ---------------------------------------------------------------------------------------------

void test("explanation text of a join", () => {
  const index = new CorrelationIndex();
  const [a] = feed(index, [closed(tk("A_1", 0, { Network_Link_Circuit: ["FORTH-2"], Network_Node: ["FORTH"], Affected_Service: "IP" }), 1)]);
  const d = correlate(index, tk("B_1", 2, { Network_Link_Circuit: ["forth-2"], Network_Node: ["Forth"], Affected_Service: "ip" }), defaultCorrelationConfig, nowAt(3));
  assert.equal(
    explainDecision(d),
    [
      `joins incident ${a?.incidentId} (score 12 >= threshold 5):`,
      `  - shares circuit "forth-2" with A_1 (+6)`,
      `  - shares network node "forth" with A_1 (+3)`,
      `  - same affected service "ip" as A_1 (+2)`,
      `  - time window within 60m of A_1's (+1)`,
    ].join("\n"),
  );
});

void test("explanation text of a new incident names the best sub-threshold candidate", () => {
  const index = new CorrelationIndex();
  const [a] = feed(index, [tk("A_1", 0, { Network_Node: ["N1"], Network_Link_Circuit: ["C-1"] })]);
  // Node (3) + service (2) could reach 5, so the node list is read; A_1 shares only the node: 3 + 1.
  const d = correlate(index, tk("B_1", 0, { Network_Node: ["N1"], Affected_Service: "S" }), defaultCorrelationConfig, nowAt(1));
  assert.equal(
    explainDecision(d),
    `opens new incident ${newIncidentId("B_1")}: best candidate ${a?.incidentId} scored 4 < threshold 5 (node node:n1 +3, timeOverlap time:overlap +1 via A_1)`,
  );
  // Two nodes: the list of N1 (the only one shared) alone cannot reach 5 with A_1, so it is not even read.
  const lone = correlate(index, tk("C_1", 0, { Network_Node: ["N1", "N2"] }), defaultCorrelationConfig, nowAt(1));
  assert.equal(explainDecision(lone), `opens new incident ${newIncidentId("C_1")}: no stored ticket shares enough with it (threshold 5)`);
});

// ---------------------------------------------------------------------------------------------
// Hot keys and the index vs. the full scan
// ---------------------------------------------------------------------------------------------

void test("hot key: 3000 open tickets on one service are not read for a service-only ticket (pruned)", () => {
  const index = new CorrelationIndex();
  for (let i = 0; i < 3000; i++) index.add(tk(`H_${i}`, i * 0.001, { Affected_Service: "IP Transit" }), `INC-h${i}`);
  const incoming = tk("Z_1", 3, { Affected_Service: "ip transit" });
  const q = index.query(ticketFeatures(incoming), defaultCorrelationConfig, T0 + 4 * HOUR);
  assert.equal(q.postingsRead, 0);
  assert.equal(correlate(index, incoming, defaultCorrelationConfig, nowAt(4)).kind, "new");
  // If the service alone could merge, the list is read, but at most maxPostingsPerKey of it.
  const heavy = cfg({ weights: { service: 5 }, maxPostingsPerKey: 500 });
  const hq = index.query(ticketFeatures(incoming), heavy, T0 + 4 * HOUR);
  assert.equal(hq.postingsRead, 500);
  assert.deepEqual(hq.truncatedKeys, ["service:ip transit"]);
});

void test("time buckets: old tickets on a hot circuit are not read for a current ticket", () => {
  const index = new CorrelationIndex();
  // 400 closed tickets on one circuit, one every 6 h over 100 days, then one open now.
  for (let i = 0; i < 400; i++) {
    const t = closed(tk(`P_${i}`, i * 6 - 2400, { Network_Link_Circuit: ["C-HOT"] }), i * 6 - 2400 + 1);
    index.add(t, `INC-p${i}`);
  }
  const q = index.query(ticketFeatures(tk("Z_1", 0, { Network_Link_Circuit: ["C-HOT"] })), defaultCorrelationConfig, T0 + HOUR);
  assert.ok(q.postingsRead <= 12, `read ${q.postingsRead} postings`);
});

/** Deterministic PRNG (mulberry32), so the random data set is the same on every run. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const equivalenceConfigs: { name: string; config: CorrelationConfig }[] = [
  { name: "default weights", config: defaultCorrelationConfig },
  // Service lists become essential, so the time-bucketed tiers of hot keys are read.
  { name: "service weight 4, slack 30 min", config: cfg({ weights: { service: 4 }, timeWindow: { slackMinutes: 30 } }) },
];

for (const { name, config } of equivalenceConfigs) {
  void test(`index and full scan agree on 1500 random tickets and updates (${name})`, () => {
    const r = rng(42);
    const pick = (n: number): number => Math.floor(r() * n);
    const index = new CorrelationIndex();
    const open: Ticket[] = [];
    let disagreements = 0;
    let joins = 0;
    for (let i = 0; i < 1500; i++) {
      let t: Ticket;
      if (open.length > 0 && r() < 0.1) {
        // Update: close (or re-describe) a ticket still open.
        const prev = open.splice(pick(open.length), 1)[0] as Ticket;
        const startH = (Date.parse(prev.Start_Datetime) - T0) / HOUR;
        t = r() < 0.5 ? closed(prev, startH + r() * 10) : { ...prev, Network_Node: [`N-${pick(30)}`], TT_Last_Update_Time: at(startH + 1) };
      } else {
        const startH = i / 3 + r() * 4; // ~3 tickets an hour over ~3 weeks
        const base = tk(`P${pick(4)}_${i}`, startH, {
          Network_Link_Circuit: r() < 0.7 ? [`C-${pick(60)}`] : undefined,
          Network_Node: r() < 0.7 ? [`N-${pick(30)}`, ...(r() < 0.3 ? [`N-${pick(30)}`] : [])] : undefined,
          Affected_Service: r() < 0.8 ? `S${pick(8)}` : undefined,
          TT_Title: r() < 0.05 && i > 0 ? `see P0_${pick(i)}` : `Trouble ${i}`,
          Related_External_Tickets: r() < 0.03 && i > 0 ? [`P1_${pick(i)}`] : undefined,
        });
        // Mostly closed after up to 6 h; some multi-day windows (the per-key "long" list); some open.
        const x = r();
        t = x < 0.75 ? closed(base, startH + r() * 6) : x < 0.8 ? closed(base, startH + 60 + r() * 60) : base;
        if (x >= 0.8) open.push(t);
      }
      const now = new Date(Date.parse(t.TT_Last_Update_Time) + r() * 3 * HOUR);
      const d = correlate(index, t, config, now);
      const full = correlateFullScan(index, t, config, now);
      if (kindAndId(d) !== kindAndId(full)) disagreements++;
      if (d.kind === "join") joins++;
      applyDecision(index, t, d);
    }
    assert.equal(disagreements, 0);
    const stats = index.stats();
    assert.ok(joins > 100 && stats.incidents > 100, `joins ${joins}, incidents ${stats.incidents}`);
    assert.ok((stats.hottestKey?.size ?? 0) > 64, "some keys must be big enough to be time-bucketed");
  });
}
