import assert from "node:assert/strict";
import { bestBySharpe, comboKey, toScatterPoint } from "../../ui/scatter_point.ts";

Deno.test("toScatterPoint() reads { params, metrics } combinations", () => {
  const p = toScatterPoint({
    params: { fast: 5, slow: 30 },
    metrics: { sharpeRatio: 1.5, maxDrawdown: -0.2, cagr: 0.1, numTrades: 12 },
  });
  assert.deepEqual(p, {
    params: { fast: 5, slow: 30 },
    sharpe: 1.5,
    maxDrawdown: -0.2,
    cagr: 0.1,
    totalReturn: null,
    trades: 12,
  });
});

Deno.test("toScatterPoint() reads flat rows, keeping non-metric numbers as params", () => {
  const p = toScatterPoint({ fast: 10, slow: 40, sharpe: 0.7, maxDrawdown: -0.3, cagr: 0.05 });
  assert.deepEqual(p?.params, { fast: 10, slow: 40 });
  assert.equal(p?.sharpe, 0.7);
});

Deno.test("toScatterPoint() maps NaN/null metrics to null and rejects non-objects", () => {
  const p = toScatterPoint({ params: { k: 2 }, sharpe: null, cagr: NaN });
  assert.equal(p?.sharpe, null);
  assert.equal(p?.cagr, null);
  assert.equal(toScatterPoint(null), null);
  assert.equal(toScatterPoint(3), null);
});

Deno.test("comboKey() ignores key order", () => {
  assert.equal(comboKey({ a: 1, b: 2 }), comboKey({ b: 2, a: 1 }));
  assert.notEqual(comboKey({ a: 1, b: 2 }), comboKey({ a: 2, b: 1 }));
});

Deno.test("bestBySharpe() equals a full sort's top n, skipping nulls", () => {
  let s = 99;
  const pts = Array.from({ length: 500 }, (_, i) => {
    s = (s * 16807) % 2147483647;
    return {
      params: { i },
      sharpe: i % 17 === 0 ? null : Math.round((s / 2147483647) * 1000) / 100,
      maxDrawdown: null,
      cagr: null,
      totalReturn: null,
      trades: null,
    };
  });
  const want = pts.filter((p) => p.sharpe !== null)
    .sort((a, b) => b.sharpe! - a.sharpe! || a.params.i - b.params.i)
    .slice(0, 5).map((p) => p.sharpe);
  assert.deepEqual(bestBySharpe(pts, 5).map((p) => p.sharpe), want);
  assert.deepEqual(bestBySharpe([], 5), []);
});
