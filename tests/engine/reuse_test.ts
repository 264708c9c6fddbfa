/**
 * What the engine reuses between runs (engine/data_view.ts column pool, engine/scratch.ts) and
 * what it stores compactly (OrderBook chunks) must never show: no look-ahead through a reused
 * column, no result of one run leaking into the next, every order record intact past a chunk.
 */
import assert from "node:assert/strict";
import { runBacktest } from "../../engine/backtest.ts";
import { computeMetrics, type TradeStats, tradeStats } from "../../engine/trade_stats.ts";
import { TRADE_STATS } from "../../engine/result.ts";
import {
  alphaBeta,
  annualVolatility,
  calmarRatio,
  conditionalValueAtRisk,
  maxDrawdown,
  sharpeRatio,
  simpleReturns,
  sortinoRatio,
  stabilityOfTimeseries,
  tailRatio,
  tailRiskStats,
  valueAtRisk,
} from "../../engine/metrics.ts";
import { inferAnnualization } from "../../engine/annualization.ts";
import type { Bars, DataView } from "../../engine/types.ts";
import { randomWalk } from "../_fixtures/random_walk.ts";

/** A walk large enough (≥ 4096 bars) to use the pools. */
const walk = (n: number, seed: number): Bars => randomWalk(n, { seed, t0: Date.UTC(2000, 0, 1) });

const DAY = 86_400_000;

Deno.test("runBacktest() reuses data columns across runs without showing a later bar", () => {
  const n = 6000;
  const a = walk(n, 1), b = walk(n, 2);
  const kept: Float64Array[] = [];
  // Run 1 reads every column and keeps its views; the columns then go back to the pool.
  runBacktest(a, {
    OnData(data: DataView) {
      const t = data.length - 1;
      if (t % 1000 === 0) kept.push(data.close, data.open, data.high);
      void data.low, data.timestamp;
      // Volume is read once, and the strategy scribbles past its end (typed arrays are
      // writable): the pool must not hand that to the next run either.
      if (t === 10) new Float64Array(data.volume.buffer).fill(7, 11);
      return 0;
    },
  });
  // Run 2 (other bars, same length) takes them again: whatever a strategy can reach — its own
  // views' buffers, views kept from run 1 — holds nothing after the current bar of run 2.
  let checked = 0;
  runBacktest(b, {
    OnData(data: DataView) {
      const t = data.length - 1;
      if (t % 499 !== 0) return 0;
      const cols = [data.close, data.open, data.high, data.low, data.volume, data.timestamp];
      const src = [b.close, b.open, b.high, b.low, b.volume, b.timestamp];
      for (let k = 0; k < cols.length; k++) {
        const all = new Float64Array(cols[k].buffer);
        assert.equal(all.length, n);
        for (let i = 0; i <= t; i++) assert.equal(all[i], src[k][i]);
        for (let i = t + 1; i < n; i++) assert.equal(all[i], 0, `column ${k} bar ${i} at ${t}`);
      }
      for (const v of kept) {
        const all = new Float64Array(v.buffer);
        for (let i = t + 1; i < n; i++) assert.equal(all[i], 0, `kept view, bar ${i} at ${t}`);
      }
      checked++;
      return 0;
    },
  });
  assert.equal(checked, Math.floor((n - 1) / 499) + 1);
});

Deno.test("runBacktest() gives the same result for a run after other runs as for a first run", () => {
  class Cross {
    OnData(data: DataView) {
      const c = data.close, t = c.length - 1;
      if (t < 20) return 0;
      let f = 0, s = 0;
      for (let i = t - 4; i <= t; i++) f += c[i];
      for (let i = t - 19; i <= t; i++) s += c[i];
      return f / 5 > s / 20 ? 1 : -1;
    }
  }
  const a = walk(5000, 3), b = walk(5000, 4);
  const cfg = { config: { mode: "long_short" as const, feeTaker: 0.001 } };
  const first = JSON.stringify(runBacktest(a, Cross, cfg));
  runBacktest(b, Cross, cfg);
  runBacktest(b, Cross, { ...cfg, metrics: false });
  assert.equal(JSON.stringify(runBacktest(a, Cross, cfg)), first);
});

Deno.test("OrderBook keeps every order record of a run with more orders than one chunk", () => {
  // Long-only, a signal that flips every bar: from bar 1 on, one market order per bar (buy on
  // odd bars, close on even ones), each filling at the next bar's open.
  const n = 9000;
  const bars = walk(n, 5);
  const r = runBacktest(bars, {
    OnData(data: DataView) {
      return data.length % 2 === 0 ? 1 : -1;
    },
  });
  const orders = r.orders;
  assert.equal(orders.length, n - 1);
  for (let i = 0; i < n - 1; i++) {
    const o = orders[i], bar = i + 1;
    assert.equal(o.id, `o${i + 1}`);
    assert.equal(o.side, bar % 2 === 1 ? "buy" : "sell");
    assert.equal(o.type, "market");
    assert.equal(o.submittedTime, bars.timestamp[bar]);
    if (bar === n - 1) {
      // Placed on the last bar: never eligible.
      assert.equal(o.status, "submitted");
      assert.deepEqual(o.history, [{ status: "submitted", time: bars.timestamp[bar] }]);
      continue;
    }
    assert.equal(o.status, "filled", `order ${i}`);
    assert.ok(o.filledQuantity > 0);
    const open = bars.open[bar + 1];
    assert.ok(Math.abs(o.avgFillPrice! - open) <= 1e-12 * open, `order ${i} fill price`);
    assert.deepEqual(o.history, [
      { status: "submitted", time: bars.timestamp[bar] },
      { status: "pending", time: bars.timestamp[bar + 1] },
      { status: "filled", time: bars.timestamp[bar + 1] },
    ]);
  }
  // Every close ends a trade: the closes are the sells that filled.
  assert.equal(r.trades.filter((t) => t.exitTime !== null).length, Math.floor((n - 2) / 2));
});

Deno.test("computeMetrics() on reused buffers matches the metric functions on fresh arrays", () => {
  // Independent reference: each metric called on its own copies, in a different order.
  const check = (equity: Float64Array, bench: Float64Array) => {
    const m = computeMetrics(equity, [], { annualization: 252, benchmark: bench });
    const r = simpleReturns(Float64Array.from(equity));
    const b = Float64Array.from(bench.subarray(1));
    assert.equal(m.valueAtRisk, valueAtRisk(Float64Array.from(r)));
    assert.equal(m.conditionalValueAtRisk, conditionalValueAtRisk(Float64Array.from(r)));
    assert.equal(m.tailRatio, tailRatio(Float64Array.from(r)));
    assert.equal(m.stabilityOfTimeseries, stabilityOfTimeseries(Float64Array.from(r)));
    assert.equal(m.sortinoRatio, sortinoRatio(Float64Array.from(r), { annualization: 252 }));
    assert.equal(m.calmarRatio, calmarRatio(Float64Array.from(r), { annualization: 252 }));
    assert.equal(m.sharpeRatio, sharpeRatio(Float64Array.from(r), { annualization: 252 }));
    assert.equal(
      m.annualVolatility,
      annualVolatility(Float64Array.from(r), { annualization: 252 }),
    );
    assert.equal(m.maxDrawdown, maxDrawdown(Float64Array.from(r)));
    const [alpha, beta] = alphaBeta(Array.from(r), Array.from(b), { annualization: 252 });
    assert.equal(m.alpha, alpha);
    assert.equal(m.beta, beta);
    return JSON.stringify(m);
  };
  const x = walk(8000, 6), y = walk(6000, 7);
  const bx = new Float64Array(8000), by = new Float64Array(6000);
  for (let i = 1; i < 8000; i++) bx[i] = x.open[i] / x.open[i - 1] - 1;
  for (let i = 1; i < 6000; i++) by[i] = y.open[i] / y.open[i - 1] - 1;
  const first = check(x.close, bx);
  check(y.close, by);
  assert.equal(check(x.close, bx), first);
});

Deno.test("simpleReturns() writes into a given buffer and checks its length", () => {
  const into = new Float64Array(2);
  const r = simpleReturns([100, 125, 150], into);
  assert.equal(r, into);
  assert.deepEqual(Array.from(r), [125 / 100 - 1, 150 / 125 - 1]);
  assert.throws(() => simpleReturns([1, 2, 3], new Float64Array(3)), /must hold 2 values/);
});

Deno.test("inferAnnualization() takes the median of an even number of gaps as their midpoint", () => {
  // 5000 bars: gaps alternate 1 h and 30 h, so the middle two gaps (sorted) are 1 h and 30 h and
  // the median gap is 15.5 h: intraday. Bars per UTC day vary; counted by hand below.
  const n = 5000, H = 3_600_000;
  const ts = new Float64Array(n);
  for (let i = 1; i < n; i++) ts[i] = ts[i - 1] + (i % 2 === 1 ? H : 30 * H);
  const perDay = new Map<number, number>();
  for (const t of ts) perDay.set(Math.floor(t / DAY), (perDay.get(Math.floor(t / DAY)) ?? 0) + 1);
  const counts = [...perDay.values()].sort((p, q) => p - q);
  const m = counts.length;
  const median = m % 2 === 1 ? counts[m >> 1] : (counts[m / 2 - 1] + counts[m / 2]) / 2;
  // Both weekend days occur (the series spans ~200 days): 24/7.
  assert.equal(inferAnnualization(ts), 365 * median);
});

Deno.test("runBacktest() validates bars unless told they were validated already", () => {
  const bars = walk(10, 8);
  bars.close[4] = NaN;
  assert.throws(() => runBacktest(bars, { OnData: () => 0 }), /Row 4: close is NaN/);
  const r = runBacktest(bars, { OnData: () => 0 }, { validate: false, metrics: false });
  assert.equal(r.equity.length, 10);
});

Deno.test("tail statistics by selection match a full sort on series full of equal values", () => {
  // numpy's linear percentile from a sorted copy: the independent reference.
  const pct = (sorted: Float64Array, q: number) => {
    const idx = (sorted.length - 1) * q, lo = Math.floor(idx);
    if (lo >= sorted.length - 1) return sorted[sorted.length - 1];
    const x = sorted[lo], y = sorted[lo + 1], g = idx - lo;
    return g >= 0.5 ? y - (y - x) * (1 - g) : x + (y - x) * g;
  };
  let s = 11;
  const rnd = () => (s = (s * 1103515245 + 12345) % 2147483648) / 2147483648;
  for (const n of [1, 17, 999, 5000, 20_001]) {
    for (const zeros of [0, 0.5, 0.97]) {
      // Flat bars give exactly 0 (some -0); the rest a few repeated values and noise.
      const r = Float64Array.from({ length: n }, () => {
        const u = rnd();
        if (u < zeros) return u < zeros / 2 ? 0 : -0;
        return u < 0.8 ? Math.round((rnd() - 0.5) * 8) / 1000 : (rnd() - 0.5) / 50;
      });
      const sorted = Float64Array.from(r).sort();
      const p5 = pct(sorted, 0.05), p95 = pct(sorted, 0.95);
      const ratio = Math.abs(p95) / Math.abs(p5);
      const stats = tailRiskStats(r);
      // `===`: the sign of a zero percentile is not specified (-0 and 0 are the same value).
      assert.ok(stats.valueAtRisk === p5, `VaR n=${n} zeros=${zeros}`);
      assert.equal(Math.abs(stats.tailRatio), Math.abs(ratio), `tail ratio n=${n} zeros=${zeros}`);
      assert.equal(Math.abs(tailRatio(r)), Math.abs(ratio));
      // Stability (R² of the cumulative log returns against time), naively.
      if (n >= 2) {
        const y = Array.from(r, (v) => Math.log1p(v));
        for (let i = 1; i < n; i++) y[i] += y[i - 1];
        const ym = y.reduce((p, q) => p + q, 0) / n, xm = (n - 1) / 2;
        let sxy = 0, sxx = 0, syy = 0;
        for (let i = 0; i < n; i++) {
          sxy += (i - xm) * (y[i] - ym);
          sxx += (i - xm) ** 2;
          syy += (y[i] - ym) ** 2;
        }
        const want = syy === 0 ? 0 : sxy * sxy / (sxx * syy);
        assert.ok(Math.abs(stabilityOfTimeseries(r) - want) <= 1e-9, `stability n=${n}`);
      }
      const k = Math.trunc((n - 1) * 0.05) + 1;
      let sum = 0;
      for (let i = 0; i < k; i++) sum += sorted[i];
      const cvar = stats.conditionalValueAtRisk;
      assert.ok(Math.abs(cvar - sum / k) <= 1e-12 * Math.max(1e-12, Math.abs(sum / k)) + 1e-15);
    }
  }
});

Deno.test("a result's TRADE_STATS equal tradeStats() of its trades, open trade included", () => {
  const bars = walk(5000, 9);
  const r = runBacktest(bars, {
    OnData(data: DataView) {
      const t = data.length - 1;
      return t % 7 < 3 ? 1 : -1;
    },
  }, { config: { mode: "long_short", feeTaker: 0.001 }, metrics: false });
  const stats = (r as unknown as Record<symbol, TradeStats>)[TRADE_STATS];
  assert.equal(r.trades.at(-1)!.exitTime, null); // the last bar leaves a position open
  assert.deepEqual(stats, tradeStats(r.trades));
  assert.ok(stats.numTrades > 1000);
  assert.equal(Object.keys(r).includes(String(TRADE_STATS)), false);
});

Deno.test("runBacktest() writes the equity curve into a given buffer, checked for its length", () => {
  const bars = walk(300, 10);
  const S = {
    OnData(data: DataView) {
      return data.length % 20 < 10 ? 1 : -1;
    },
  };
  const fresh = runBacktest(bars, S);
  const buf = new Float64Array(300).fill(-1);
  const r = runBacktest(bars, S, { equityBuffer: buf });
  assert.deepEqual(r.equity, fresh.equity);
  assert.deepEqual(Array.from(buf), fresh.equity.map((e) => e.equity));
  assert.equal(JSON.stringify(r), JSON.stringify(fresh));
  assert.throws(() => runBacktest(bars, S, { equityBuffer: new Float64Array(299) }), /300 values/);
});
