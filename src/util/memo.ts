/**
 * A value worked out once per pair of objects: config objects (a mapping and its defaults, a rule
 * list), which never change once parsed. Held as long as the first of the pair is.
 */
export class PairMemo<A extends object, B extends object, V> {
  readonly #byFirst = new WeakMap<A, WeakMap<B, V>>();

  get(a: A, b: B, make: () => V): V {
    let byB = this.#byFirst.get(a);
    if (!byB) {
      byB = new WeakMap();
      this.#byFirst.set(a, byB);
    }
    let value = byB.get(b);
    if (value === undefined) {
      value = make();
      byB.set(b, value);
    }
    return value;
  }
}
