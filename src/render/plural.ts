/**
 * A count with its noun in the right number, for room, reply and CLI text (pure): "1 ticket",
 * "2 tickets", "0 tickets", never "ticket(s)". `many` for nouns that do not just add "s".
 */
export function count(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}
