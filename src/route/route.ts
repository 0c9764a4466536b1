/** Ticket → rooms (pure): every route whose conditions all hold adds its rooms, without duplicates. */
import type { RouteConfig } from "../../config/schema.js";
import type { Ticket } from "../model/ticket.js";

/**
 * `*` matches any run of characters; comparison ignores case (service names are typed by people).
 * Linear in the value's length (greedy with backtracking to the last `*`), unlike a `.*` regex,
 * which a long value from a peer could make quadratic.
 */
export function wildcardMatch(pattern: string, value: string): boolean {
  const p = pattern.toLowerCase();
  const v = value.toLowerCase();
  let pi = 0;
  let vi = 0;
  let star = -1;
  let mark = 0;
  while (vi < v.length) {
    if (pi < p.length && p[pi] !== "*" && p[pi] === v[vi]) {
      pi++;
      vi++;
    } else if (pi < p.length && p[pi] === "*") {
      star = pi++;
      mark = vi;
    } else if (star >= 0) {
      pi = star + 1;
      vi = ++mark;
    } else return false;
  }
  while (pi < p.length && p[pi] === "*") pi++;
  return pi === p.length;
}

export function routeMatches(route: RouteConfig, ticket: Ticket, feedId: string): boolean {
  const w = route.when;
  if (w.feeds && !w.feeds.includes(feedId)) return false;
  if (w.partners && !w.partners.some((p) => p.toLowerCase() === ticket.Partner_ID.toLowerCase())) return false;
  if (w.types && !w.types.some((t) => t.toLowerCase() === ticket.TT_Type.toLowerCase())) return false;
  if (w.services) {
    const service = ticket.Affected_Service;
    if (service === undefined || !w.services.some((p) => wildcardMatch(p, service))) return false;
  }
  return true;
}

export function routeTicket(ticket: Ticket, feedId: string, routes: readonly RouteConfig[]): string[] {
  const rooms: string[] = [];
  for (const route of routes) {
    if (!routeMatches(route, ticket, feedId)) continue;
    for (const room of route.rooms) if (!rooms.includes(room)) rooms.push(room);
  }
  return rooms;
}
