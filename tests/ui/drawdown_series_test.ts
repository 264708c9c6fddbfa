import assert from "node:assert/strict";
import { drawdownSeries } from "../../ui/drawdown_series.ts";

/** Naive reference: for each i, the max of equity[0..i] by a fresh scan. */
function naive(eq: number[]): number[] {
  return eq.map((e, i) => {
    const peak = Math.max(...eq.slice(0, i + 1).filter((x) => Number.isFinite(x) && x > 0), 0);
    return peak > 0 && Number.isFinite(e) ? e / peak - 1 : 0;
  });
}

Deno.test("drawdownSeries() is 0 at new highs and e/peak-1 below them (hand-computed)", () => {
  assert.deepEqual(drawdownSeries([100, 110, 99, 121, 60.5]), [0, 0, 99 / 110 - 1, 0, -0.5]);
});

Deno.test("drawdownSeries() agrees with a naive rescanning reference on a random walk", () => {
  let s = 12345;
  const eq: number[] = [];
  let e = 1000;
  for (let i = 0; i < 500; i++) {
    s = (s * 16807) % 2147483647;
    e *= 1 + (s / 2147483647 - 0.5) * 0.1;
    eq.push(e);
  }
  const got = drawdownSeries(eq);
  const want = naive(eq);
  for (let i = 0; i < eq.length; i++) assert.ok(Math.abs(got[i] - want[i]) < 1e-12, `at ${i}`);
});

Deno.test("drawdownSeries() gives 0 for NaN and before the first positive value", () => {
  assert.deepEqual(drawdownSeries([0, NaN, 50, NaN, 25]), [0, 0, 0, 0, -0.5]);
  assert.deepEqual(drawdownSeries([]), []);
});
