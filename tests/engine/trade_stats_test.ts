/**
 * engine/trade_stats.ts: trade statistics and computeMetrics, checked against hand-computed
 * values and against naive formulas written here.
 */
import assert from "node:assert/strict";
import {
  computeMetrics,
  exposureFromTrades,
  maxDrawdownDuration,
  METRIC_KEYS,
  totalReturn,
  tradeStats,
} from "../../engine/trade_stats.ts";
import type { TradeRecord } from "../../engine/types.ts";

function trade(
  pnl: number,
  returnPct: number,
  fees: number,
  entryTime = 0,
  exitTime: number | null = 1,
): TradeRecord {
  return {
    side: "long",
    quantity: 1,
    entryTime,
    entryPrice: 100,
    exitTime,
    exitPrice: exitTime === null ? null : 100 + pnl,
    pnl,
    returnPct,
    fees,
    exitReason: exitTime === null ? null : "signal",
  };
}

function close(actual: number | null, expected: number, label: string, tol = 1e-12): void {
  assert.ok(actual !== null, `${label}: expected ${expected}, got null`);
  assert.ok(
    Math.abs(actual - expected) <= tol * Math.max(1, Math.abs(expected)),
    `${label}: expected ${expected}, got ${actual}`,
  );
}

const SEMANTICS_KEYS = [
  "totalReturn",
  "cagr",
  "annualReturn",
  "annualVolatility",
  "sharpeRatio",
  "sortinoRatio",
  "calmarRatio",
  "omegaRatio",
  "maxDrawdown",
  "maxDrawdownDuration",
  "stabilityOfTimeseries",
  "tailRatio",
  "valueAtRisk",
  "conditionalValueAtRisk",
  "alpha",
  "beta",
  "numTrades",
  "winRate",
  "profitFactor",
  "expectancy",
  "avgWin",
  "avgLoss",
  "bestTrade",
  "worstTrade",
  "exposure",
  "feesPaid",
  "finalEquity",
  "annualization",
];

Deno.test("the metrics keys listed here are the ones docs/SEMANTICS.md names, in its order", async () => {
  const doc = await Deno.readTextFile(new URL("../../docs/SEMANTICS.md", import.meta.url));
  const start = doc.indexOf("Result `metrics` keys:");
  assert.ok(start >= 0, "SEMANTICS.md has a 'Result `metrics` keys:' paragraph");
  const paragraph = doc.slice(start, doc.indexOf("\n\n", start));
  const quoted = [...paragraph.matchAll(/`([a-zA-Z]+)`/g)].map((m) => m[1]);
  const names = quoted.filter((k) => k !== "metrics" && k !== "null");
  assert.deepEqual(names, SEMANTICS_KEYS);
  assert.deepEqual(METRIC_KEYS, SEMANTICS_KEYS);
});

Deno.test("tradeStats() counts closed trades: win rate, profit factor in cash, expectancy", () => {
  const trades = [
    trade(100, 0.1, 1),
    trade(-50, -0.05, 2),
    trade(30, 0.03, 1),
    trade(0, 0, 1),
    trade(-20, -0.02, 1),
    trade(999, 0.5, 5, 0, null), // still open: only its fees count
  ];
  const s = tradeStats(trades);
  assert.equal(s.numTrades, 5);
  close(s.winRate, 2 / 5, "winRate");
  close(s.grossProfit, 130, "grossProfit");
  close(s.grossLoss, 70, "grossLoss");
  close(s.profitFactor, 130 / 70, "profitFactor");
  close(s.expectancy, 60 / 5, "expectancy");
  close(s.avgWin, 65, "avgWin");
  close(s.avgLoss, -35, "avgLoss");
  close(s.bestTrade, 0.1, "bestTrade");
  close(s.worstTrade, -0.05, "worstTrade");
  close(s.feesPaid, 11, "feesPaid");
});

Deno.test("tradeStats() with no trades, only wins, only losses", () => {
  const none = tradeStats([]);
  assert.equal(none.numTrades, 0);
  for (
    const k of [
      "winRate",
      "profitFactor",
      "expectancy",
      "avgWin",
      "avgLoss",
      "bestTrade",
      "worstTrade",
    ] as const
  ) {
    assert.ok(Number.isNaN(none[k]), `${k} should be NaN without trades`);
  }
  assert.equal(none.feesPaid, 0);
  const wins = tradeStats([trade(10, 0.1, 0), trade(5, 0.05, 0)]);
  assert.equal(wins.profitFactor, Infinity);
  assert.equal(wins.winRate, 1);
  assert.ok(Number.isNaN(wins.avgLoss));
  const losses = tradeStats([trade(-10, -0.1, 0), trade(-5, -0.05, 0)]);
  assert.equal(losses.profitFactor, 0);
  assert.equal(losses.winRate, 0);
  close(losses.avgLoss, -7.5, "avgLoss");
  close(losses.worstTrade, -0.1, "worstTrade");
  close(losses.bestTrade, -0.05, "bestTrade");
  const flat = tradeStats([trade(0, 0, 1)]);
  assert.ok(Number.isNaN(flat.profitFactor), "no profit and no loss");
  assert.throws(
    () => tradeStats([trade(1, 0, 0), trade(NaN, 0, 0)]),
    /Trade 1: pnl must be a number/,
  );
});

Deno.test("totalReturn() and maxDrawdownDuration() by hand", () => {
  close(totalReturn([100, 110, 99]), -0.01, "total");
  assert.equal(totalReturn([100]), 0);
  assert.ok(Number.isNaN(totalReturn([])));
  assert.equal(maxDrawdownDuration([100, 90, 95, 100, 99]), 2);
  assert.equal(maxDrawdownDuration([100, 101, 102]), 0);
  assert.equal(maxDrawdownDuration([100, 100, 100]), 0);
  assert.equal(maxDrawdownDuration([100, 90, 80, 70]), 3); // still under water at the end
  assert.equal(maxDrawdownDuration([100, 99, 101, 100, 99, 98, 102]), 3);
  assert.equal(maxDrawdownDuration(Float64Array.of(100)), 0);
  assert.ok(Number.isNaN(maxDrawdownDuration([])));
});

Deno.test("exposureFromTrades() counts bars that end with a position", () => {
  const ts = Float64Array.from({ length: 10 }, (_, i) => i * 1000);
  // bars 2, 3, 4 (exit at bar 5's open) and 7, 8, 9 (open to the end); overlap counted once
  const trades = [
    trade(1, 0, 0, 2000, 5000),
    trade(1, 0, 0, 3000, 4000),
    trade(1, 0, 0, 7000, null),
  ];
  close(exposureFromTrades(ts, trades), 0.6, "exposure");
  assert.equal(exposureFromTrades(ts, []), 0);
  assert.ok(Number.isNaN(exposureFromTrades(new Float64Array(0), trades)));
  // entry and exit on the same bar's close: no bar ends with the position
  assert.equal(exposureFromTrades(ts, [trade(1, 0, 0, 3000, 3000)]), 0);
});

Deno.test("computeMetrics() returns exactly the SEMANTICS keys, in order, JSON-safe", () => {
  const m = computeMetrics(Float64Array.of(100, 110, 99, 120), [trade(5, 0.05, 1)], {
    annualization: 252,
  });
  assert.deepEqual(Object.keys(m), SEMANTICS_KEYS);
  const json = JSON.stringify(m);
  assert.ok(!json.includes("NaN") && !json.includes("Infinity"));
  assert.deepEqual(JSON.parse(json), m);
  assert.equal(m.alpha, null, "no benchmark, no alpha");
  assert.equal(m.beta, null, "no benchmark, no beta");
  assert.equal(m.exposure, null, "exposure unknown");
});

Deno.test("computeMetrics() values equal naive formulas on a hand-made equity curve", () => {
  const equity = Float64Array.of(100, 110, 99, 120, 108, 130);
  const r = [110 / 100 - 1, 99 / 110 - 1, 120 / 99 - 1, 108 / 120 - 1, 130 / 108 - 1];
  const n = r.length;
  const mean = r.reduce((a, b) => a + b, 0) / n;
  const sd = Math.sqrt(r.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1));
  const ann = 365; // not the 252 default: every annualized metric must use it
  const cagr = (130 / 100) ** (ann / n) - 1;
  const down = Math.sqrt(r.reduce((a, b) => a + Math.min(b, 0) ** 2, 0) / n) * Math.sqrt(ann);
  const trades = [trade(12, 0.12, 2), trade(-4, -0.04, 1), trade(3, 0.01, 1, 0, null)];
  const m = computeMetrics(equity, trades, { annualization: ann, exposure: 0.5 });
  close(m.totalReturn, 0.3, "totalReturn");
  close(m.cagr, cagr, "cagr", 1e-10);
  close(m.annualReturn, cagr, "annualReturn", 1e-10);
  close(m.annualVolatility, sd * Math.sqrt(ann), "annualVolatility");
  close(m.sharpeRatio, (mean / sd) * Math.sqrt(ann), "sharpeRatio");
  close(m.sortinoRatio, (mean * ann) / down, "sortinoRatio");
  close(m.maxDrawdown, -0.1, "maxDrawdown");
  close(m.calmarRatio, cagr / 0.1, "calmarRatio", 1e-10);
  const gains = r.filter((x) => x > 0).reduce((a, b) => a + b, 0);
  const losses = -r.filter((x) => x < 0).reduce((a, b) => a + b, 0);
  close(m.omegaRatio, gains / losses, "omegaRatio");
  assert.equal(m.maxDrawdownDuration, 1);
  const sorted = [...r].sort((a, b) => a - b);
  const idx = (n - 1) * 0.05; // 0.2: between the two lowest
  close(m.valueAtRisk, sorted[0] + (sorted[1] - sorted[0]) * idx, "valueAtRisk");
  close(m.conditionalValueAtRisk, sorted[0], "conditionalValueAtRisk"); // ⌊4 × 0.05⌋ + 1 = 1 value
  assert.equal(m.numTrades, 2);
  close(m.winRate, 0.5, "winRate");
  close(m.profitFactor, 3, "profitFactor");
  close(m.expectancy, 4, "expectancy");
  close(m.avgWin, 12, "avgWin");
  close(m.avgLoss, -4, "avgLoss");
  close(m.bestTrade, 0.12, "bestTrade");
  close(m.worstTrade, -0.04, "worstTrade");
  assert.equal(m.exposure, 0.5);
  assert.equal(m.feesPaid, 4, "fees of all trades");
  assert.equal(m.finalEquity, 130);
  assert.equal(m.annualization, 365);
  assert.equal(computeMetrics(equity, trades, { annualization: ann, feesPaid: 7.5 }).feesPaid, 7.5);
});

Deno.test("computeMetrics() takes a per-bar or per-return benchmark for alpha and beta", () => {
  const equity = Float64Array.of(100, 102, 99, 104, 103, 108);
  const bench = Float64Array.of(0.01, -0.02, 0.03, -0.005, 0.04);
  const perReturn = computeMetrics(equity, [], { annualization: 252, benchmark: bench });
  const perBar = computeMetrics(equity, [], {
    annualization: 252,
    benchmark: Float64Array.of(NaN, ...bench),
  });
  assert.ok(perReturn.beta !== null && perReturn.alpha !== null);
  assert.equal(perBar.alpha, perReturn.alpha);
  assert.equal(perBar.beta, perReturn.beta);
  // naive OLS slope
  const r = Array.from({ length: 5 }, (_, i) => equity[i + 1] / equity[i] - 1);
  const mx = bench.reduce((a, b) => a + b, 0) / 5;
  const my = r.reduce((a, b) => a + b, 0) / 5;
  let sxy = 0;
  let sxx = 0;
  for (let i = 0; i < 5; i++) {
    sxy += (bench[i] - mx) * (r[i] - my);
    sxx += (bench[i] - mx) ** 2;
  }
  close(perReturn.beta, sxy / sxx, "beta", 1e-10);
  close(perReturn.alpha, (1 + my - (sxy / sxx) * mx) ** 252 - 1, "alpha", 1e-9);
  assert.throws(
    () => computeMetrics(equity, [], { annualization: 252, benchmark: new Float64Array(3) }),
    /benchmark must have 6 \(one per bar\) or 5 \(one per return\) values, got 3/,
  );
});

Deno.test("computeMetrics() on empty, one-bar and flat equity gives nulls, not crashes", () => {
  const empty = computeMetrics(new Float64Array(0), [], { annualization: 252 });
  assert.deepEqual(Object.keys(empty), SEMANTICS_KEYS);
  for (const k of SEMANTICS_KEYS) {
    if (k === "numTrades") assert.equal(empty[k], 0);
    else if (k === "feesPaid") assert.equal(empty[k], 0);
    else if (k === "annualization") assert.equal(empty[k], 252);
    else assert.equal(empty[k], null, `${k} of an empty run`);
  }
  const one = computeMetrics(Float64Array.of(1000), [], { annualization: 252, exposure: 0 });
  assert.equal(one.totalReturn, 0);
  assert.equal(one.finalEquity, 1000);
  assert.equal(one.maxDrawdownDuration, 0);
  assert.equal(one.sharpeRatio, null);
  assert.equal(one.exposure, 0);
  const flat = computeMetrics(new Float64Array(50).fill(1e4), [], { annualization: 252 });
  assert.equal(flat.totalReturn, 0);
  assert.equal(flat.annualVolatility, 0);
  assert.equal(flat.maxDrawdown, 0);
  assert.equal(flat.sharpeRatio, null, "0 / 0");
  assert.equal(flat.sortinoRatio, null, "0 / 0");
  assert.equal(flat.calmarRatio, null, "no drawdown");
  assert.equal(flat.cagr, 0);
  assert.throws(
    () => computeMetrics(flat as unknown as Float64Array, [], { annualization: 0 }),
    RangeError,
  );
});

Deno.test("computeMetrics() of buy-and-hold GOOG against its own closes: beta 1, alpha 0", async () => {
  const text = await Deno.readTextFile(new URL("../../../shared/data/GOOG.csv", import.meta.url));
  const close0 = text.trim().split("\n").slice(1).map((line) => Number(line.split(",")[4]));
  const equity = Float64Array.from(close0, (c) => (10_000 * c) / close0[0]);
  const bench = Float64Array.from(
    { length: close0.length - 1 },
    (_, i) => close0[i + 1] / close0[i] - 1,
  );
  const m = computeMetrics(equity, [], { annualization: 252, benchmark: bench, exposure: 1 });
  close(m.beta, 1, "beta", 1e-9);
  close(m.alpha, 0, "alpha", 1e-9);
  close(m.totalReturn, close0[close0.length - 1] / close0[0] - 1, "totalReturn", 1e-12);
  let peak = 0;
  let mdd = 0;
  let peakAt = 0;
  let longest = 0;
  close0.forEach((c, t) => {
    if (c >= peak) {
      peak = c;
      peakAt = t;
    } else longest = Math.max(longest, t - peakAt);
    mdd = Math.min(mdd, c / peak - 1);
  });
  close(m.maxDrawdown, mdd, "maxDrawdown", 1e-12);
  assert.equal(m.maxDrawdownDuration, longest);
});
