import { test } from "node:test";
import assert from "node:assert/strict";
import { RE2JS } from "re2js";
import { compileSafe, firstCandidate, literalPrefix, toRe2Syntax } from "../../src/util/safe-regex.js";

void test("literalPrefix: what every match must start with, or nothing when unsure", () => {
  const cases: { source: string; flags: string; expected: ReturnType<typeof literalPrefix> }[] = [
    { source: "^Status:\\s*(.+)$", flags: "im", expected: { anchor: "line", literal: "Status:", ignoreCase: true } },
    { source: "^Status:\\s*(.+)$", flags: "i", expected: { anchor: "text", literal: "Status:", ignoreCase: true } },
    { source: "\\n\\s*\\n([\\s\\S]+)$", flags: "", expected: { anchor: "none", literal: "\n", ignoreCase: false } },
    { source: "EXN-(\\d+)", flags: "", expected: { anchor: "none", literal: "EXN-", ignoreCase: false } },
    { source: "^\\[[^\\]]+\\]\\s*(.+)$", flags: "", expected: { anchor: "text", literal: "[", ignoreCase: false } },
    { source: "Ref NU-(\\d+)", flags: "", expected: { anchor: "none", literal: "Ref NU-", ignoreCase: false } },
    // A quantified last character may be absent.
    { source: "^Statu?s:", flags: "m", expected: { anchor: "line", literal: "Stat", ignoreCase: false } },
    { source: "ab*c", flags: "", expected: { anchor: "none", literal: "a", ignoreCase: false } },
    { source: "ab{0,2}c", flags: "", expected: { anchor: "none", literal: "a", ignoreCase: false } },
    { source: "ab+c", flags: "", expected: { anchor: "none", literal: "ab", ignoreCase: false } },
    // Alternatives, classes, groups, inline flags, escapes with meaning: no prefix.
    { source: "^Status:|^State:", flags: "m", expected: undefined },
    { source: "(?i)status", flags: "", expected: undefined },
    { source: "[Ss]tatus", flags: "", expected: undefined },
    { source: "\\bStatus", flags: "", expected: undefined },
    { source: "\\u0041BC", flags: "", expected: undefined },
    { source: "a?", flags: "", expected: undefined },
    { source: "", flags: "", expected: undefined },
    { source: "^", flags: "m", expected: undefined },
    { source: "Ärger", flags: "i", expected: undefined },
  ];
  for (const c of cases) assert.deepEqual(literalPrefix(c.source, c.flags), c.expected, `${c.source} /${c.flags}`);
});

void test("firstCandidate: RE2's line starts (after \\n only) and its case folding (Kelvin sign, long s)", () => {
  const status = literalPrefix("^Status:", "im");
  assert.ok(status);
  assert.equal(firstCandidate("a\nb\nstatus: x", status), 4);
  assert.equal(firstCandidate("Status: x", status), 0);
  assert.equal(firstCandidate("a\rStatus: x", status), -1, "\\r alone is no line start for RE2");
  assert.equal(firstCandidate("a Status: x", status), -1);
  assert.equal(firstCandidate("\u017Ftatus:", status), 0, "long s folds to s");
  const kind = literalPrefix("kind", "i");
  assert.ok(kind);
  assert.equal(firstCandidate("x\u212Aind", kind), 1, "Kelvin sign folds to k");
  assert.equal(firstCandidate("KIND", kind), 0);
  assert.equal(firstCandidate("kin", kind), -1);
});

/** Deterministic pseudo-random text over an alphabet that makes the patterns' literals likely. */
function* texts(seed: number, count: number, maxPieces = 12): Generator<string> {
  let s = seed >>> 0;
  const next = (): number => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
  const pieces = ["Status:", "status: ", "STATUS:", "\u017Ftatus:", "Impact:", "EXN-", "exn-1", "Ref NU-", "42", "\n", "\n\n", "\r\n", " ", "x", "[", "]", "K", "\u212A", "ind", "Window: a to b", "é", "😀", "\t", "\f", "\v", "\u00a0", "\u2028", "\r", "Status:x"];
  for (let i = 0; i < count; i++) {
    let t = "";
    const n = Math.floor(next() * maxPieces);
    for (let j = 0; j < n; j++) t += pieces[Math.floor(next() * pieces.length)];
    yield t;
  }
}

void test("compileSafe finds exactly what RE2 alone finds (first match, every match, test), prefix or not; also on texts with more candidates than are tried anchored", () => {
  const patterns: [string, string][] = [
    ["^Status:\\s*(.+)$", "im"],
    ["^Status:\\s*(.+)$", "m"],
    ["^Status:\\s*(.+)$", "i"],
    ["^Status:\\s*(.+)$", ""],
    ["^Status:\\s*(.+)$", "ims"],
    ["^Status:\\s*(.+)$", "s"],
    ["Status:\\s*(.+)$", "i"],
    ["Status:\\s*(.+)$", "m"],
    ["^ Status:\\s*(.+)$", "m"],
    ["^\\[\\s*(.+)$", "m"],
    ["^Impact:\\s*(.+)$", "im"],
    ["\\n\\s*\\n([\\s\\S]+)$", ""],
    ["EXN-(\\d+)", ""],
    ["EXN-(\\d+)", "i"],
    ["Ref NU-(\\d+)", ""],
    ["^\\[[^\\]]+\\]\\s*(.+)$", ""],
    ["^Window:\\s*(.+?)\\s+to\\s+", "im"],
    ["kind", "i"],
    ["x*", ""],
    ["Status:\\b", "i"],
  ];
  for (const [source, flags] of patterns) {
    const safe = compileSafe(source, flags);
    assert.ok(safe.ok, source);
    let bits = 0;
    if (flags.includes("i")) bits |= RE2JS.CASE_INSENSITIVE;
    if (flags.includes("m")) bits |= RE2JS.MULTILINE;
    if (flags.includes("s")) bits |= RE2JS.DOTALL;
    const plain = RE2JS.compile(toRe2Syntax(source), bits);
    // Short texts, and long ones with many candidates (beyond the ones tried anchored, see `search`).
    for (const text of [...texts(source.length * 31 + flags.length, 400), ...texts(source.length * 17 + 5, 120, 80)]) {
      const m = plain.exec(text);
      const expected = m === null ? undefined : { groups: Array.from({ length: m.length }, (_, i) => (m[i] as string | null | undefined) ?? undefined), index: (m as RegExpExecArray).index };
      const got = safe.value.exec(text);
      assert.deepEqual(got === undefined ? undefined : { groups: got.groups, index: got.index }, expected, `${source} /${flags} on ${JSON.stringify(text)}`);
      assert.deepEqual(
        safe.value.all(text).map((x) => [x.index, ...x.groups]),
        [...plain.matchAll(text)].map((x) => [(x as RegExpExecArray).index, ...Array.from({ length: x.length }, (_, i) => (x[i] as string | null | undefined) ?? undefined)]),
        `all: ${source} /${flags} on ${JSON.stringify(text)}`,
      );
      assert.equal(safe.value.test(text), plain.test(text), `test: ${source} /${flags} on ${JSON.stringify(text)}`);
    }
  }
});

void test("compileSafe: named groups, and a match after many candidates that each fail late", () => {
  const named = compileSafe("Ref NU-(?<num>\\d+)(?<tail>x)?", "");
  assert.ok(named.ok);
  assert.deepEqual(named.value.exec("see Ref NU-x, Ref NU-42 now")?.named, { num: "42", tail: undefined });
  const late = compileSafe("^Window:[\\s\\S]*?END$", "m");
  assert.ok(late.ok);
  const text = "Window: a\n".repeat(30) + "Window: b END";
  const m = late.value.exec(text);
  assert.equal(m?.index, 0, "the first candidate reaches END across lines");
  const strict = compileSafe("^Window: b[^\\n]*END$", "m");
  assert.ok(strict.ok);
  assert.equal(strict.value.exec(text)?.index, text.lastIndexOf("Window: b"), "found after 30 failing candidates");
  assert.equal(strict.value.all(text + "\nWindow: b2 END").length, 2);
});

void test("compileSafe: a label-line rule stays linear on texts made to make it quadratic", () => {
  // Without m, every candidate on the long line fails at `$`; each must not look for the line's end again.
  const unanchored = compileSafe("Status:\\s*(.+)$", "");
  assert.ok(unanchored.ok);
  const text = "Status:x ".repeat(11_000) + "\nend";
  const t0 = performance.now();
  assert.equal(unanchored.value.exec(text), undefined);
  // Much white space that the greedy \s* gives back one character at a time.
  const spaces = compileSafe("^Status:\\s*(.+)$", "");
  assert.ok(spaces.ok);
  assert.equal(spaces.value.exec("Status:" + " ".repeat(99_000) + "\n"), undefined, "without m, `$` is the end: the \\n is in the way");
  assert.equal(spaces.value.exec("Status:" + " ".repeat(99_000))?.groups[1], " ");
  // Linear: well under a second (quadratic would be minutes); not a speed goal, a guard.
  assert.ok(performance.now() - t0 < 1000, `took ${performance.now() - t0} ms`);
});
