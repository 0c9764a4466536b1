import { test } from "node:test";
import assert from "node:assert/strict";
import { keepLocalChanges } from "../../src/model/merge.js";
import { validateTicket, type Ticket } from "../../src/model/ticket.js";
import { sampleClosedTicket, sampleTicket } from "../fixtures/tickets.js";

void test("a source's new version keeps what engineers did from the room", () => {
  const closedHere: Ticket = { ...sampleClosedTicket(), Contact_Engineers: ["alice@noc.example.net"], History: "t1 feed: opened\nt2 alice@noc.example.net: closed", Close_Engineer: "alice@noc.example.net" };
  const cases: { name: string; incoming: Ticket; before: Ticket; fed?: string[]; expect: Partial<Ticket> }[] = [
    {
      name: "the feed still says Opened after a close here: stays closed",
      incoming: sampleTicket({ History: "t1 feed: opened", TT_Impact_Assessment: "At risk" }),
      before: closedHere,
      expect: { TT_Status: "Closed", TT_Close_Datetime: closedHere.TT_Close_Datetime, TT_Impact_Assessment: "At risk", Close_Engineer: "alice@noc.example.net" },
    },
    {
      name: "the source reopens it: reopened",
      incoming: sampleTicket({ TT_Status: "Reopened", History: "t3 feed: reopened" }),
      before: closedHere,
      expect: { TT_Status: "Reopened", History: "t1 feed: opened\nt2 alice@noc.example.net: closed\nt3 feed: reopened" },
    },
    {
      name: "engineers and related tickets set here survive a version without them",
      incoming: sampleTicket({ History: "", Contact_Engineers: undefined, Related_Activity: undefined }),
      before: sampleTicket({ Contact_Engineers: ["bob@x.org"], Related_Activity: ["NORD_7"], History: "t2 bob@x.org: acknowledged" }),
      expect: { Contact_Engineers: ["bob@x.org"], Related_Activity: ["NORD_7"], History: "t2 bob@x.org: acknowledged" },
    },
    {
      name: "the feed confirms the close without an end time: the end the engineer set stays",
      incoming: { ...closedHere, TT_Status: "Solved", End_Datetime: undefined, TT_Impact_Assessment: "Reduced redundancy", History: "t1 feed: opened" },
      before: { ...closedHere, TT_Status: "Solved", End_Datetime: "2026-12-01T09:40:00Z" },
      expect: { TT_Status: "Solved", End_Datetime: "2026-12-01T09:40:00Z", TT_Impact_Assessment: "Reduced redundancy" },
    },
    {
      name: "a source that feeds the end time is the one to clear it",
      incoming: { ...closedHere, TT_Status: "Solved", End_Datetime: undefined },
      before: { ...closedHere, TT_Status: "Solved", End_Datetime: "2026-12-01T09:40:00Z" },
      fed: ["End_Datetime"],
      expect: { End_Datetime: undefined },
    },
    {
      name: "a field the source feeds (an RT custom field) is the source's to clear",
      incoming: sampleTicket({ History: "", Contact_Engineers: undefined, Related_Activity: undefined }),
      before: sampleTicket({ Contact_Engineers: ["bob@x.org"], History: "" }),
      fed: ["Contact_Engineers"],
      expect: { Contact_Engineers: undefined },
    },
  ];
  for (const c of cases) {
    const merged = keepLocalChanges(c.incoming, c.before, new Set(c.fed ?? []));
    for (const [k, v] of Object.entries(c.expect)) assert.deepEqual(merged[k as keyof Ticket], v, `${c.name}: ${k}`);
    assert.ok(validateTicket(merged, "open").ok, `${c.name}: still a valid ticket`);
  }
});
