/**
 * How big a ticket from outside may be. RFC 6137 sets no lengths, but every value ends up in a room
 * message, its JSON payload and the store; XMPP servers close the stream on a stanza over their limit
 * (ejabberd's c2s `max_stanza_size` is 64 KiB by default), and a ticket that can never be posted
 * would be retried for ever. A version over a limit is refused as a whole, with the field named;
 * never cut silently (a cut id would merge tickets).
 */
import type { Ticket, TicketField } from "./ticket.js";

/** Ids and names: what a NOC's ticket system or a circuit inventory uses is far shorter. */
export const MAX_ID_CHARS = 200;
/** One line of text: a title, a location, an engineer. */
export const MAX_LINE_CHARS = 1_000;
/** Free text (descriptions, additional data). */
export const MAX_TEXT_CHARS = 16_000;
/** Values in one list (circuits, nodes, related tickets). */
export const MAX_LIST_ITEMS = 500;

const ID_FIELDS = ["Partner_ID", "Original_ID", "TT_ID"] as const satisfies readonly TicketField[];
const TEXT_FIELDS = ["TT_Long_Description", "Additional_Data"] as const satisfies readonly TicketField[];
const LIST_FIELDS = ["Related_External_Tickets", "Related_Activity", "Network_Node", "Network_Link_Circuit", "Contact_Engineers"] as const satisfies readonly TicketField[];
/** Kept by the bot itself (it appends to it), so not limited here. */
const UNLIMITED: readonly TicketField[] = ["History"];

const ID_SET: ReadonlySet<string> = new Set(ID_FIELDS);
const TEXT_SET: ReadonlySet<string> = new Set(TEXT_FIELDS);
const LIST_SET: ReadonlySet<string> = new Set(LIST_FIELDS);
const UNLIMITED_SET: ReadonlySet<string> = new Set(UNLIMITED);

const limitOf = (field: string): number => (ID_SET.has(field) ? MAX_ID_CHARS : TEXT_SET.has(field) ? MAX_TEXT_CHARS : MAX_LINE_CHARS);

/** The first value over its limit, said for a person ("Original_ID is 100000 characters long; at most 200"), or undefined. */
export function oversizedField(ticket: Ticket): string | undefined {
  // Runs on every version of every source: no entry arrays, set lookups.
  const record = ticket as Readonly<Record<string, unknown>>;
  for (const field of Object.keys(record)) {
    if (UNLIMITED_SET.has(field)) continue;
    const value = record[field];
    if (typeof value === "string") {
      if (value.length > MAX_ID_CHARS && value.length > limitOf(field)) return `${field} is ${value.length} characters long; at most ${limitOf(field)}`;
      continue;
    }
    if (!Array.isArray(value)) continue;
    if (LIST_SET.has(field) && value.length > MAX_LIST_ITEMS) return `${field} has ${value.length} values; at most ${MAX_LIST_ITEMS}`;
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      if (typeof item === "string" && item.length > MAX_ID_CHARS) return `${field}[${i}] is ${item.length} characters long; at most ${MAX_ID_CHARS}`;
    }
  }
  return undefined;
}
