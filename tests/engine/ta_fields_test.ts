/**
 * `ctx.ta` computes ahead over the engine's series: a source first used mid-run must still see
 * every earlier bar. Checked against naive windows over the full bar arrays, computed here.
 */
import assert from "node:assert/strict";
import { allocateBars } from "../../engine/bars.ts";
import { runBacktest } from "../../engine/backtest.ts";
import type { Bars, DataView, StrategyContext } from "../../engine/types.ts";

function walk(n: number): Bars {
  const b = allocateBars(n);
  let p = 100;
  for (let i = 0; i < n; i++) {
    const o = p;
    p = p * (1 + Math.sin(i * 0.37) * 0.01 + Math.cos(i * 0.11) * 0.004);
    b.timestamp[i] = Date.UTC(2021, 0, 1) + i * 86_400_000;
    b.open[i] = o;
    b.close[i] = p;
    b.high[i] = Math.max(o, p) + 0.5 + (i % 3) * 0.1;
    b.low[i] = Math.min(o, p) - 0.5 - (i % 5) * 0.1;
    b.volume[i] = 1000 + (i % 7) * 10;
  }
  return b;
}

/** Mean of `a[t-period+1 .. t]` by a plain loop (NaN before a full window). */
function naiveMean(a: Float64Array, t: number, period: number): number {
  if (t < period - 1) return NaN;
  let s = 0;
  for (let i = t - period + 1; i <= t; i++) s += a[i];
  return s / period;
}

Deno.test("runBacktest() ctx.ta sees every earlier bar of a source first used mid-run", () => {
  const bars = walk(300);
  const seen: { t: number; high: number; hl2: number; vol: number }[] = [];
  class Late {
    OnData(_d: DataView, ctx: StrategyContext): number {
      const t = ctx.barIndex;
      ctx.ta.sma(5); // close only, from the first bar
      if (t >= 100) {
        seen.push({
          t,
          high: ctx.ta.sma(20, "high"),
          hl2: t >= 200 ? ctx.ta.sma(10, "hl2") : NaN,
          vol: t >= 250 ? ctx.ta.highest(30, "volume") : NaN,
        });
      }
      return 0;
    }
  }
  runBacktest(bars, Late);
  const hl2 = bars.high.map((h, i) => (h + bars.low[i]) / 2);
  assert.equal(seen.length, 200);
  for (const s of seen) {
    const want = naiveMean(bars.high, s.t, 20);
    assert.ok(Math.abs(s.high - want) <= 1e-9 * want, `sma(20, high) at ${s.t}`);
    if (s.t >= 200) {
      const w = naiveMean(hl2, s.t, 10);
      assert.ok(Math.abs(s.hl2 - w) <= 1e-9 * w, `sma(10, hl2) at ${s.t}`);
    }
    if (s.t >= 250) {
      assert.equal(s.vol, Math.max(...bars.volume.subarray(s.t - 29, s.t + 1)), `vol ${s.t}`);
    }
  }
});
