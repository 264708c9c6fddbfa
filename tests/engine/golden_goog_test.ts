/**
 * Golden run: SMA cross 10/30 with a 0.1 % taker fee on ../shared/data/GOOG.csv through the
 * engine (examples/sma_cross.ts, `ctx.ta.sma`), checked trade by trade and bar by bar against a
 * second, plain-loop implementation of the same rules written here from docs/SEMANTICS.md.
 */
import assert from "node:assert/strict";
import { runBacktest } from "../../engine/backtest.ts";
import type { Bars, TradingMode } from "../../engine/types.ts";
import SmaCross from "../../examples/sma_cross.ts";
import { loadGoog } from "../_fixtures/goog.ts";

/** Naive SMA at t: the mean of the last `p` closes, NaN before there are `p`. */
function smaAt(close: Float64Array, t: number, p: number): number {
  if (t + 1 < p) return NaN;
  let s = 0;
  for (let i = t - p + 1; i <= t; i++) s += close[i];
  return s / p;
}

interface PlainTrade {
  side: "long" | "short";
  quantity: number;
  entryTime: number;
  entryPrice: number;
  exitTime: number | null;
  exitPrice: number | null;
  pnl: number;
}

/** The reference: signals as targets, next-open fills, fraction-1 sizing, taker fee `f`. */
function plainLoop(bars: Bars, cash0: number, f: number, mode: TradingMode) {
  const { open, close, timestamp } = bars;
  const n = bars.length;
  let cash = cash0, q = 0, target = 0, pending: number | null = null;
  let entryPrice = 0, entryTime = 0, entryFee = 0;
  const trades: PlainTrade[] = [];
  const equity = new Float64Array(n);
  for (let t = 0; t < n; t++) {
    if (pending !== null) {
      const p = open[t];
      if (q !== 0 && Math.sign(q) !== pending) {
        const fee = Math.abs(q) * p * f;
        cash += q * p - fee;
        const dir = Math.sign(q);
        trades.push({
          side: dir > 0 ? "long" : "short",
          quantity: Math.abs(q),
          entryTime,
          entryPrice,
          exitTime: timestamp[t],
          exitPrice: p,
          pnl: (p - entryPrice) * Math.abs(q) * dir - entryFee - fee,
        });
        q = 0;
      }
      if (pending !== 0 && q === 0) {
        const qn = cash / (p * (1 + f));
        entryFee = qn * p * f;
        cash -= pending * qn * p + entryFee;
        q = pending * qn;
        entryPrice = p;
        entryTime = timestamp[t];
      }
      pending = null;
    }
    const fast = smaAt(close, t, 10), slow = smaAt(close, t, 30);
    const sig = fast > slow ? 1 : fast < slow ? -1 : 0;
    if (sig !== 0) {
      const next = sig === 1 ? 1 : mode === "long_short" ? -1 : 0;
      if (next !== target) {
        target = next;
        if (Math.sign(q) !== next) pending = next;
      }
    }
    equity[t] = cash + q * close[t];
  }
  if (q !== 0) {
    const dir = Math.sign(q), c = close[n - 1];
    trades.push({
      side: dir > 0 ? "long" : "short",
      quantity: Math.abs(q),
      entryTime,
      entryPrice,
      exitTime: null,
      exitPrice: null,
      pnl: (c - entryPrice) * Math.abs(q) * dir - entryFee,
    });
  }
  return { trades, equity };
}

const near = (a: number, b: number, what: string) =>
  assert.ok(Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(b)), `${what}: ${a} vs ${b}`);

for (const mode of ["long_only", "long_short"] as const) {
  Deno.test(`runBacktest() golden GOOG SMA cross 10/30 with fees (${mode}) matches a plain loop`, () => {
    const bars = loadGoog();
    assert.equal(bars.length, 2148);
    const result = runBacktest(bars, SmaCross, {
      config: { cash: 10_000, feeTaker: 0.001, mode },
      params: { fast: 10, slow: 30 },
    });
    const ref = plainLoop(bars, 10_000, 0.001, mode);
    assert.ok(ref.trades.length > 20, `only ${ref.trades.length} trades`);
    assert.equal(result.trades.length, ref.trades.length);
    for (let i = 0; i < ref.trades.length; i++) {
      const a = result.trades[i], b = ref.trades[i];
      assert.equal(a.side, b.side, `trade ${i} side`);
      assert.equal(a.entryTime, b.entryTime, `trade ${i} entryTime`);
      assert.equal(a.exitTime, b.exitTime, `trade ${i} exitTime`);
      near(a.entryPrice, b.entryPrice, `trade ${i} entryPrice`);
      if (b.exitPrice !== null) near(a.exitPrice!, b.exitPrice, `trade ${i} exitPrice`);
      near(a.quantity, b.quantity, `trade ${i} quantity`);
      near(a.pnl, b.pnl, `trade ${i} pnl`);
    }
    assert.equal(result.equity.length, bars.length);
    for (let t = 0; t < bars.length; t++) {
      assert.equal(result.equity[t].time, bars.timestamp[t]);
      near(result.equity[t].equity, ref.equity[t], `equity at bar ${t}`);
    }
    const last = ref.equity[bars.length - 1];
    near(result.metrics.finalEquity!, last, "finalEquity");
    near(result.metrics.totalReturn!, last / 10_000 - 1, "totalReturn");
    near(result.metrics.feesPaid!, result.orders.reduce((s, o) => s + o.fees, 0), "feesPaid");
  });
}
