/**
 * JSON text made already for an object: a translation worker writes each ticket's JSON to send it
 * (a string crosses threads as one copy, where a ticket's object graph is cloned field by field), and
 * the store writes that same text into its journal instead of writing the ticket again (the
 * journal's JSON was a tenth of a 50k first poll on the bot's thread).
 *
 * The object is frozen, with the lists in it, when its text is remembered: the text can then never
 * stand for anything but the object (the code treats tickets as values and never changes one; a
 * change that tried would throw rather than leave a stale text behind).
 */
const known = new WeakMap<object, string>();

/** `JSON.parse(text)` with `text` remembered for the object it gives (which is frozen). */
export function parseRemembered<T extends object>(text: string): T {
  const value = JSON.parse(text) as T;
  if (typeof value !== "object" || value === null) throw new Error("parseRemembered: the text is not a JSON object or list");
  for (const member of Object.values(value)) if (Array.isArray(member)) Object.freeze(member);
  Object.freeze(value);
  known.set(value, text);
  return value;
}

const hasToJson = (v: object): boolean => typeof (v as { toJSON?: unknown }).toJSON === "function";

/**
 * `JSON.stringify(value)`, the same text, with the remembered text of every member that has one
 * (one level deep: a stored ticket record and its `ticket`) spliced in. Members are written in the
 * order `JSON.stringify` writes them (`Object.keys`), those it leaves out (undefined, functions,
 * symbols) left out too.
 */
export function jsonOf(value: unknown): string {
  if (typeof value !== "object" || value === null) return JSON.stringify(value) ?? "null";
  const own = known.get(value);
  if (own !== undefined) return own;
  if (Array.isArray(value) || hasToJson(value)) return JSON.stringify(value);
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record);
  const remembered = (v: unknown): string | undefined => (typeof v === "object" && v !== null ? known.get(v) : undefined);
  if (!keys.some((k) => remembered(record[k]) !== undefined)) return JSON.stringify(value);
  let out = "{";
  for (const k of keys) {
    const v = record[k];
    const text = remembered(v) ?? JSON.stringify(v);
    if (text === undefined) continue;
    out += (out.length > 1 ? "," : "") + JSON.stringify(k) + ":" + text;
  }
  return out + "}";
}
