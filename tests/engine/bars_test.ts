/**
 * validateBars(): every rule of the bar contract, the message naming the first bad row, and
 * agreement with a plain rule-by-rule check written here on many random damaged series.
 */
import assert from "node:assert/strict";
import { allocateBars, BarsError, validateBars } from "../../engine/bars.ts";
import type { Bars } from "../../engine/types.ts";
import { randomWalk } from "../_fixtures/random_walk.ts";

type Field = "timestamp" | "open" | "high" | "low" | "close" | "volume";

function fiveBars(): Bars {
  const b = allocateBars(5);
  for (let i = 0; i < 5; i++) {
    b.timestamp[i] = Date.UTC(2024, 0, 1 + i);
    b.open[i] = 10 + i;
    b.high[i] = 12 + i;
    b.low[i] = 9 + i;
    b.close[i] = 11 + i;
    b.volume[i] = 100;
  }
  return b;
}

const CASES: [string, (b: Bars) => void, RegExp][] = [
  ["NaN close", (b) => b.close[3] = NaN, /^Row 3: close is NaN$/],
  ["infinite open", (b) => b.open[2] = Infinity, /^Row 2: open is Infinity$/],
  ["zero low", (b) => b.low[1] = 0, /^Row 1: low is 0$/],
  ["negative volume", (b) => b.volume[4] = -1, /^Row 4: volume is -1$/],
  ["NaN volume", (b) => b.volume[0] = NaN, /^Row 0: volume is NaN$/],
  ["NaN timestamp", (b) => b.timestamp[2] = NaN, /^Row 2: timestamp is NaN$/],
  [
    "duplicate timestamp",
    (b) => b.timestamp[3] = b.timestamp[2],
    /^Row 3: duplicate timestamp \(2024-01-03T00:00:00.000Z after 2024-01-03T00:00:00.000Z\)$/,
  ],
  ["unsorted", (b) => b.timestamp[1] = b.timestamp[0] - 1, /^Row 1: timestamp out of order/],
  [
    "high below close",
    (b) => b.high[2] = 12.5,
    /^Row 2: high 12.5 is below max\(open 12, close 13\)$/,
  ],
  ["low above open", (b) => b.low[4] = 14.5, /^Row 4: low 14.5 is above min\(open 14, close 15\)$/],
  ["infinite high", (b) => b.high[1] = Infinity, /^Row 1: high is Infinity$/],
];

for (const [what, damage, message] of CASES) {
  Deno.test(`validateBars() names the row: ${what}`, () => {
    const b = fiveBars();
    validateBars(b);
    damage(b);
    assert.throws(
      () => validateBars(b),
      (e: unknown) => e instanceof BarsError && message.test(e.message),
    );
  });
}

Deno.test("validateBars() rejects columns of the wrong length", () => {
  const b = fiveBars();
  assert.throws(
    () => validateBars({ ...b, volume: b.volume.subarray(0, 4) }),
    /Column volume has 4 values, expected 5/,
  );
});

Deno.test("validateBars() accepts empty series, one bar, and bars with open = high = low = close", () => {
  validateBars(allocateBars(0));
  const b = allocateBars(1);
  b.timestamp[0] = 0;
  b.open[0] =
    b.high[0] =
    b.low[0] =
    b.close[0] =
      5;
  validateBars(b);
});

/** The contract rule by rule: index of the first bad row, or -1. */
function firstBadRow(b: Bars): number {
  const ok = (x: number) => Number.isFinite(x) && x > 0;
  for (let i = 0; i < b.length; i++) {
    const t = b.timestamp[i], o = b.open[i], h = b.high[i], l = b.low[i], c = b.close[i];
    const v = b.volume[i];
    if (!Number.isFinite(t) || (i > 0 && !(t > b.timestamp[i - 1]))) return i;
    if (!ok(o) || !ok(h) || !ok(l) || !ok(c)) return i;
    if (!Number.isFinite(v) || v < 0) return i;
    if (h < Math.max(o, c) || l > Math.min(o, c)) return i;
  }
  return -1;
}

Deno.test("validateBars() agrees with a rule-by-rule check on 2,000 randomly damaged series", () => {
  let s = 12345;
  const rnd = () => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return s / 4294967296;
  };
  const fields: Field[] = ["timestamp", "open", "high", "low", "close", "volume"];
  const bad = [NaN, Infinity, -Infinity, 0, -1, 1e-9, 1e9];
  let rejected = 0;
  for (let k = 0; k < 2000; k++) {
    const b = randomWalk(40, { seed: k + 1 });
    const damages = Math.floor(rnd() * 3); // 0, 1 or 2 damaged cells
    for (let d = 0; d < damages; d++) {
      const f = fields[Math.floor(rnd() * fields.length)];
      const i = Math.floor(rnd() * b.length);
      b[f][i] = rnd() < 0.5 ? bad[Math.floor(rnd() * bad.length)] : b[f][Math.max(0, i - 1)];
    }
    const want = firstBadRow(b);
    let got = -1;
    try {
      validateBars(b);
    } catch (e) {
      assert.ok(e instanceof BarsError, String(e));
      got = e.row;
      assert.match(e.message, new RegExp(`^Row ${got}: `));
    }
    assert.equal(got, want, `series ${k}`);
    if (got >= 0) rejected++;
  }
  assert.ok(rejected > 500 && rejected < 1900, `rejected ${rejected} of 2000`);
});
