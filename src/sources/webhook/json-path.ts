/**
 * The small JSON path subset webhook mappings use (pure): `$` the whole value, `.name` a member,
 * `[n]` an array element, `[*]` every element. Returns every value found (none: []).
 */
const STEP = /\.([A-Za-z_$][\w$-]*)|\[(\d+)\]|\[\*\]/gy;

export function jsonPath(value: unknown, path: string): unknown[] {
  if (!path.startsWith("$")) return [];
  let current: unknown[] = [value];
  STEP.lastIndex = 1;
  let m: RegExpExecArray | null;
  let at = 1;
  while (at < path.length && (m = STEP.exec(path)) !== null) {
    at = STEP.lastIndex;
    const [step, name, index] = m;
    const next: unknown[] = [];
    for (const v of current) {
      if (name !== undefined) {
        if (v !== null && typeof v === "object" && !Array.isArray(v) && Object.hasOwn(v, name)) next.push((v as Record<string, unknown>)[name]);
      } else if (index !== undefined) {
        if (Array.isArray(v) && Number(index) < v.length) next.push(v[Number(index)]);
      } else if (step === "[*]" && Array.isArray(v)) next.push(...(v as unknown[]));
    }
    current = next;
  }
  return at === path.length ? current : [];
}

/** A found value as rule input: scalars as text, a list of scalars as a list; objects are not values. */
export function asRuleInput(found: readonly unknown[]): string | string[] | undefined {
  const scalars = found.flatMap((v): unknown[] => (Array.isArray(v) ? (v as unknown[]) : [v])).filter((v) => typeof v === "string" || typeof v === "number" || typeof v === "boolean");
  const texts = scalars.map((v) => String(v));
  if (texts.length === 0) return undefined;
  return found.length === 1 && !Array.isArray(found[0]) ? texts[0] : texts;
}
