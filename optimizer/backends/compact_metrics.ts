/**
 * The optimizer's compact metrics straight from an engine run made with `metrics: false`.
 *
 * Why: a sweep ranks combinations by ten numbers, but `computeMetrics` computes all of the
 * result's metrics — VaR and CVaR (a selection over every return), stability (a regression
 * over the log curve), omega, tail ratio, alpha and beta against buy-and-hold — plus the
 * bar-interval inference, each streaming over and allocating arrays of one value per bar.
 * On 200,000 bars that was about a third of a combination's time and most of its memory
 * traffic, which two workers on two cores share (the part of the pool that did not scale).
 *
 * The values are the engine's own: the same functions `computeMetrics` calls
 * (engine/trade_stats.ts), on the same inputs (the run's raw equity curve, its trades and the
 * annualization `annualizationOf` gives), with `computeMetrics`' non-finite → missing rule
 * (missing is NaN here, as in `comboMetricsOf`). tests/optimizer/compact_metrics_test.ts holds
 * the two equal bit for bit.
 *
 * @module
 */
import {
  annualReturn,
  calmarRatio,
  maxDrawdown,
  sharpeRatio,
  simpleReturns,
  sortinoRatio,
} from "../../engine/metrics.ts";
import { EQUITY_VALUES, TRADE_STATS } from "../../engine/result.ts";
import { totalReturn, type TradeStats, tradeStats } from "../../engine/trade_stats.ts";
import type { BacktestResult } from "../../engine/types.ts";
import type { ComboMetrics } from "../objective.ts";

const fin = (x: number) => (Number.isFinite(x) ? x : NaN);

/** A reusable returns buffer, so that a worker allocates no per-bar array per combination. */
export interface MetricsScratch {
  returns?: Float64Array;
}

/**
 * The compact metrics of `result` (from `runBacktest(…, { metrics: false })`, or any run),
 * annualized with `annualization` (`annualizationOf(config, bars)`).
 */
export function compactMetricsOf(
  result: BacktestResult,
  annualization: number,
  scratch: MetricsScratch = {},
): ComboMetrics {
  const equity = (result as { [EQUITY_VALUES]?: Float64Array })[EQUITY_VALUES];
  if (!(equity instanceof Float64Array)) {
    throw new TypeError("The engine result carries no raw equity curve (EQUITY_VALUES)");
  }
  const n = equity.length;
  let into: Float64Array | undefined;
  if (n >= 2) {
    if (!scratch.returns || scratch.returns.length < n - 1) {
      scratch.returns = new Float64Array(n - 1);
    }
    into = scratch.returns.subarray(0, n - 1);
  }
  const r = simpleReturns(equity, into);
  const a = { annualization };
  // The engine's trade columns give the statistics without building one record per trade
  // (`result.trades` is built on first read); a result from elsewhere falls back to the records.
  const ts = (result as { [TRADE_STATS]?: TradeStats })[TRADE_STATS] ?? tradeStats(result.trades);
  return {
    totalReturn: fin(totalReturn(equity)),
    cagr: fin(annualReturn(r, a)),
    sharpe: fin(sharpeRatio(r, a)),
    sortino: fin(sortinoRatio(r, a)),
    calmar: fin(calmarRatio(r, a)),
    maxDrawdown: fin(maxDrawdown(r)),
    trades: ts.numTrades,
    winRate: fin(ts.winRate),
    profitFactor: fin(ts.profitFactor),
    finalEquity: fin(n > 0 ? equity[n - 1] : NaN),
  };
}
