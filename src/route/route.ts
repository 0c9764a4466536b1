/** Ticket → rooms (pure): every route whose conditions all hold adds its rooms, without duplicates. */
import type { RouteConfig } from "../../config/schema.js";
import type { Ticket } from "../model/ticket.js";
import { wildcardMatch } from "../util/glob.js";

export { wildcardMatch } from "../util/glob.js";

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
