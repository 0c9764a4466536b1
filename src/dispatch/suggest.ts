/**
 * "Did you mean …?" for words typed in chat (pure): a command name or a close outcome that is a
 * typo of one the bot knows. Typos are mostly one wrong, missing, extra or swapped letter
 * ("solvd", "cancled", "sovled"), so the distance counts an adjacent swap as one edit (optimal
 * string alignment, a restricted Damerau–Levenshtein distance). The only edit-distance package
 * already installed here (fast-levenshtein, a transitive dependency) counts a swap as two.
 */

/** Edits (insert, delete, substitute, swap two adjacent letters) from `a` to `b`; each part edited once. */
export function editDistance(a: string, b: string): number {
  const x = [...a];
  const y = [...b];
  // rows[i][j]: distance between the first i characters of x and the first j of y.
  const rows: number[][] = Array.from({ length: x.length + 1 }, (_, i) => Array.from({ length: y.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  const at = (i: number, j: number): number => rows[i]?.[j] ?? Number.POSITIVE_INFINITY;
  for (let i = 1; i <= x.length; i++) {
    const row = rows[i] ?? [];
    for (let j = 1; j <= y.length; j++) {
      const cost = x[i - 1] === y[j - 1] ? 0 : 1;
      let d = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost);
      if (i > 1 && j > 1 && x[i - 1] === y[j - 2] && x[i - 2] === y[j - 1]) d = Math.min(d, at(i - 2, j - 2) + 1);
      row[j] = d;
    }
  }
  return at(x.length, y.length);
}

/**
 * How many edits a word may be from `candidate` and still be taken for a typo of it: none for
 * words of up to 3 letters (too many ordinary words are one edit from "ack" or "ls"), 1 up to 6
 * letters, 2 from 7. So "resolved" (2 from "solved") stays an ordinary word, "cancled" (2 from
 * "cancelled") does not.
 */
export function typoBudget(candidate: string): number {
  const n = [...candidate].length;
  return n <= 3 ? 0 : n <= 6 ? 1 : 2;
}

/**
 * The candidate `typed` is most likely a typo of: the nearest within its budget (the first listed
 * on a tie). `undefined` when `typed` is one of the candidates (no typo), is not a word of letters
 * of at least 3, or is near none of them. Case is ignored.
 */
export function likelyTypo(typed: string, candidates: Iterable<string>): string | undefined {
  const word = typed.toLowerCase();
  if (!/^\p{L}{3,}$/u.test(word)) return undefined;
  let best: { candidate: string; distance: number } | undefined;
  for (const candidate of candidates) {
    const c = candidate.toLowerCase();
    if (c === word) return undefined;
    const distance = editDistance(word, c);
    if (distance <= typoBudget(c) && (best === undefined || distance < best.distance)) best = { candidate, distance };
  }
  return best?.candidate;
}
