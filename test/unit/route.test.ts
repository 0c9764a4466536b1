import { test } from "node:test";
import assert from "node:assert/strict";
import type { RouteConfig } from "../../config/schema.js";
import { routeMatches, routeTicket, wildcardMatch } from "../../src/route/route.js";
import { sampleTicket } from "../fixtures/tickets.js";

// '*' is any run of characters, case is ignored, nothing else is special.
const wildcardCases: { name: string; input: [pattern: string, value: string]; expected: boolean }[] = [
  { name: "exact", input: ["IP transit", "IP transit"], expected: true },
  { name: "case-insensitive", input: ["ip TRANSIT", "IP transit"], expected: true },
  { name: "no partial match without *", input: ["IP", "IP transit"], expected: false },
  { name: "trailing *", input: ["IP*", "IP transit"], expected: true },
  { name: "trailing * matches the empty rest", input: ["IP*", "IP"], expected: true },
  { name: "leading *", input: ["*transit", "IP transit"], expected: true },
  { name: "inner *", input: ["Lambda*Oslo", "Lambda OSL-STO Oslo"], expected: true },
  { name: "inner * does not skip the tail", input: ["Lambda*Oslo", "Lambda Oslo-2"], expected: false },
  { name: "lone * matches anything", input: ["*", "whatever"], expected: true },
  { name: "lone * matches the empty string", input: ["*", ""], expected: true },
  { name: "several *", input: ["*a*b*", "xxaYYbzz"], expected: true },
  { name: "'.' is literal", input: ["a.c", "abc"], expected: false },
  { name: "'?' is literal", input: ["IPv?", "IPv6"], expected: false },
  { name: "'+' and '(' are literal", input: ["C++ (core)", "C++ (core)"], expected: true },
  { name: "'[' is literal", input: ["[EXN]*", "[EXN] IP"], expected: true },
  { name: "'$' and '^' are literal", input: ["^a$", "^a$"], expected: true },
  { name: "backslash is literal", input: ["a\\d", "a\\d"], expected: true },
  { name: "empty pattern matches only empty", input: ["", "x"], expected: false },
];

for (const { name, input, expected } of wildcardCases) {
  void test(`wildcardMatch ${JSON.stringify(input[0])} ~ ${JSON.stringify(input[1])}: ${name}`, () => {
    assert.equal(wildcardMatch(...input), expected);
  });
}

const R = (when: RouteConfig["when"], rooms = ["a@conf.example.net"]): RouteConfig => ({ rooms, when });

// Every given condition must hold; an empty `when` matches everything.
// sampleTicket: Partner_ID "01", TT_Type "Operational", no Affected_Service.
const ip = sampleTicket({ Affected_Service: "IP transit" });
const matchCases: { name: string; input: { route: RouteConfig; ticket: typeof ip; feed: string }; expected: boolean }[] = [
  { name: "empty when", input: { route: R({}), ticket: ip, feed: "exn" }, expected: true },
  { name: "feeds: listed", input: { route: R({ feeds: ["other", "exn"] }), ticket: ip, feed: "exn" }, expected: true },
  { name: "feeds: not listed", input: { route: R({ feeds: ["other"] }), ticket: ip, feed: "exn" }, expected: false },
  { name: "feeds: case counts (ids are identifiers)", input: { route: R({ feeds: ["EXN"] }), ticket: ip, feed: "exn" }, expected: false },
  { name: "partners: listed, any case", input: { route: R({ partners: ["grnet", "01"] }), ticket: ip, feed: "exn" }, expected: true },
  { name: "partners: case-insensitive", input: { route: R({ partners: ["grnet"] }), ticket: sampleTicket({ Partner_ID: "GRNET" }), feed: "exn" }, expected: true },
  { name: "partners: case-insensitive the other way (the route's upper case)", input: { route: R({ partners: ["GRNET"] }), ticket: sampleTicket({ Partner_ID: "grnet" }), feed: "exn" }, expected: true },
  { name: "partners: not listed", input: { route: R({ partners: ["02"] }), ticket: ip, feed: "exn" }, expected: false },
  { name: "types: listed, any case", input: { route: R({ types: ["operational"] }), ticket: ip, feed: "exn" }, expected: true },
  { name: "types: not listed", input: { route: R({ types: ["Test", "Administrative"] }), ticket: ip, feed: "exn" }, expected: false },
  { name: "services: exact", input: { route: R({ services: ["IP transit"] }), ticket: ip, feed: "exn" }, expected: true },
  { name: "services: wildcard", input: { route: R({ services: ["Lambda*", "IP*"] }), ticket: ip, feed: "exn" }, expected: true },
  { name: "services: no match", input: { route: R({ services: ["Lambda*"] }), ticket: ip, feed: "exn" }, expected: false },
  { name: "services: a ticket without service never matches a services route", input: { route: R({ services: ["*"] }), ticket: sampleTicket(), feed: "exn" }, expected: false },
  {
    name: "all conditions hold",
    input: { route: R({ feeds: ["exn"], partners: ["01"], types: ["Operational"], services: ["ip*"] }), ticket: ip, feed: "exn" },
    expected: true,
  },
  {
    name: "one condition fails",
    input: { route: R({ feeds: ["exn"], partners: ["01"], types: ["Operational"], services: ["Lambda"] }), ticket: ip, feed: "exn" },
    expected: false,
  },
];

for (const { name, input, expected } of matchCases) {
  void test(`routeMatches: ${name}`, () => {
    assert.equal(routeMatches(input.route, input.ticket, input.feed), expected);
  });
}

void test("routeTicket: rooms of every matching route, in route order, without duplicates", () => {
  const ticket = sampleTicket({ Affected_Service: "IP transit" });
  const routes: RouteConfig[] = [
    R({ services: ["Lambda*"] }, ["lambda@conf.example.net"]),
    R({ services: ["IP*"] }, ["ip@conf.example.net", "noc@conf.example.net"]),
    R({ types: ["Operational"] }, ["noc@conf.example.net", "coord@conf.partner.example.org"]),
    R({ feeds: ["other"] }, ["other@conf.example.net"]),
    R({}, ["ip@conf.example.net", "all@conf.example.net"]),
  ];
  const cases: { name: string; input: { routes: RouteConfig[]; feed: string }; expected: string[] }[] = [
    {
      name: "several routes, overlapping rooms",
      input: { routes, feed: "exn" },
      expected: ["ip@conf.example.net", "noc@conf.example.net", "coord@conf.partner.example.org", "all@conf.example.net"],
    },
    {
      name: "route order decides room order",
      input: { routes: [...routes].reverse(), feed: "exn" },
      expected: ["ip@conf.example.net", "all@conf.example.net", "noc@conf.example.net", "coord@conf.partner.example.org"],
    },
    { name: "feed condition", input: { routes: routes.slice(3, 4), feed: "other" }, expected: ["other@conf.example.net"] },
    { name: "no route matches", input: { routes: routes.slice(0, 1), feed: "exn" }, expected: [] },
    { name: "no routes", input: { routes: [], feed: "exn" }, expected: [] },
    {
      name: "the same room twice within one route",
      input: { routes: [R({}, ["a@conf.example.net", "a@conf.example.net"])], feed: "exn" },
      expected: ["a@conf.example.net"],
    },
  ];
  for (const { name, input, expected } of cases) assert.deepEqual(routeTicket(ticket, input.feed, input.routes), expected, name);
});

// The routes' conditions are lowered once per route (src/route/route.ts); this is the plain
// reading, per ticket, they must agree with on random routes and tickets.
void test("routeTicket: random routes and tickets route as the plain case-insensitive reading does", () => {
  let seed = 7;
  // In 32-bit integers (a product in doubles loses its low bits, and every draw came out 0).
  const rnd = (n: number): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return (seed >>> 8) % n;
  };
  const pick = <T>(xs: readonly T[]): T => xs[rnd(xs.length)] as T;
  const words = ["IP", "ip", "Transit", "lambda", "LAMBDA", "Oslo", "grnet", "GRNET", "01", "Operational", "operational", "Test", "ß", "İ", ""];
  const some = (): string[] => Array.from({ length: 1 + rnd(3) }, () => pick(words) + (rnd(3) === 0 ? "*" : "") + (rnd(2) === 0 ? pick(words) : ""));
  const lower = (s: string): string => s.toLowerCase();
  const plainMatch = (p: string, v: string): boolean => new RegExp(`^${lower(p).replace(/[.*+?^${}()|[\]\\]/g, (c) => (c === "*" ? "[\\s\\S]*" : `\\${c}`))}$`).test(lower(v));
  const plain = (r: RouteConfig, t: typeof ip, feed: string): boolean =>
    (!r.when.feeds || r.when.feeds.includes(feed)) &&
    (!r.when.partners || r.when.partners.some((p) => lower(p) === lower(t.Partner_ID))) &&
    (!r.when.types || r.when.types.some((x) => lower(x) === lower(t.TT_Type))) &&
    (!r.when.services || (t.Affected_Service !== undefined && r.when.services.some((p) => plainMatch(p, t.Affected_Service as string))));
  let routed = 0;
  for (let i = 0; i < 300; i++) {
    const routes: RouteConfig[] = Array.from({ length: 1 + rnd(6) }, (_, k) =>
      R({ ...(rnd(3) === 0 ? { feeds: [pick(["exn", "other"])] } : {}), ...(rnd(3) === 0 ? { partners: some() } : {}), ...(rnd(3) === 0 ? { types: some() } : {}), ...(rnd(2) === 0 ? { services: some() } : {}) }, [`r${k}@conf.example.net`]),
    );
    const service = rnd(4) === 0 ? undefined : pick(words) + pick(words);
    const ticket = sampleTicket({ Partner_ID: pick(words) || "01", TT_Type: pick(["Operational", "OPERATIONAL", "Test", "Administrative"]) as typeof ip.TT_Type, ...(service === undefined ? {} : { Affected_Service: service }) });
    const feed = pick(["exn", "other"]);
    const expected = routes.filter((r) => plain(r, ticket, feed)).flatMap((r) => r.rooms);
    if (expected.length > 0) routed++;
    assert.deepEqual(routeTicket(ticket, feed, routes), expected, JSON.stringify({ routes, ticket: [ticket.Partner_ID, ticket.TT_Type, ticket.Affected_Service], feed }));
    assert.deepEqual(routeTicket(ticket, feed, routes), expected, "the same again, from the lowered routes");
  }
  assert.ok(routed > 50, `the random cases route somewhere often enough to tell (${routed} of 300)`);
});
