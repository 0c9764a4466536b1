/**
 * `*` matches any run of characters; comparison ignores case (service names are typed by people).
 * Linear in the value's length (greedy with backtracking to the last `*`), unlike a `.*` regex,
 * which a long value from a peer could make quadratic.
 */
export function wildcardMatch(pattern: string, value: string): boolean {
  return wildcardMatchLowered(pattern.toLowerCase(), value.toLowerCase());
}

/** `wildcardMatch` for a pattern and a value already in lower case (a route's, lowered once). */
export function wildcardMatchLowered(p: string, v: string): boolean {
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
