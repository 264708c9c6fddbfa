/**
 * Trade statistics (win rate, profit factor, expectancy, …), equity-curve statistics that
 * empyrical has no function for (drawdown duration, exposure) and {@linkcode computeMetrics},
 * which assembles the result's `metrics` object (keys as in docs/SEMANTICS.md).
 *
 * @module
 */
import type { TradeRecord } from "./types.ts";
import {
  alphaBeta,
  annualReturn,
  downsideRisk,
  maxDrawdown,
  nanMeanStd,
  omegaRatio,
  simpleReturns,
  stabilityOfTimeseries,
  tailRiskStats,
} from "./metrics.ts";
import { SCRATCH, scratchArray } from "./scratch.ts";

/** Statistics over the closed trades of a run (open trades are left out). */
export interface TradeStats {
  /** Closed trades. */
  numTrades: number;
  /** Fraction of closed trades with pnl > 0; NaN without closed trades. */
  winRate: number;
  /** Sum of the winning trades' pnl (cash). */
  grossProfit: number;
  /** Sum of the losing trades' |pnl| (cash, ≥ 0). */
  grossLoss: number;
  /** grossProfit / grossLoss; Infinity with wins and no loss, NaN with neither. */
  profitFactor: number;
  /** Mean pnl per closed trade (cash); NaN without closed trades. */
  expectancy: number;
  /** Mean pnl of the winning trades (cash); NaN without wins. */
  avgWin: number;
  /** Mean pnl of the losing trades (cash, negative); NaN without losses. */
  avgLoss: number;
  /** Highest `returnPct` of a closed trade (a fraction); NaN without closed trades. */
  bestTrade: number;
  /** Lowest `returnPct` of a closed trade (a fraction); NaN without closed trades. */
  worstTrade: number;
  /** Fees of all trades, open ones included (cash). */
  feesPaid: number;
}

/**
 * Statistics over the closed trades (`exitTime !== null`). A trade with pnl exactly 0 is
 * neither a win nor a loss but counts in `numTrades`, `winRate` and `expectancy`.
 *
 * @example
 * ```ts
 * const t = (pnl: number) => ({
 *   side: "long" as const, quantity: 1, entryTime: 0, entryPrice: 100, exitTime: 1,
 *   exitPrice: 100 + pnl, pnl, returnPct: pnl / 100, fees: 0, exitReason: "signal",
 * });
 * const s = tradeStats([t(30), t(-10), t(-5)]);
 * s.profitFactor; // 2 (30 / 15, in cash)
 * s.winRate; // 1 / 3
 * ```
 */
export function tradeStats(trades: readonly TradeRecord[]): TradeStats {
  const acc = new TradeStatsAccumulator();
  for (let i = 0; i < trades.length; i++) {
    const t = trades[i];
    if (t == null || typeof t.pnl !== "number" || Number.isNaN(t.pnl)) {
      throw new TypeError(`Trade ${i}: pnl must be a number, got ${String(t?.pnl)}`);
    }
    acc.addFees(t.fees);
    if (t.exitTime !== null) acc.addClosed(t.pnl, t.returnPct);
  }
  return acc.result();
}

/**
 * The running sums behind {@link TradeStats}: `tradeStats` (over records) and the engine's
 * trade columns (`TradeBook.stats`) both feed it, so the two give identical numbers as long as
 * they add trades in the same order.
 */
export class TradeStatsAccumulator {
  #numTrades = 0;
  #wins = 0;
  #losses = 0;
  #grossProfit = 0;
  #grossLoss = 0;
  #pnlSum = 0;
  #best = -Infinity;
  #worst = Infinity;
  #feesPaid = 0;

  /** Adds a trade's fees (open trades' fees count too). */
  addFees(fees: number): void {
    this.#feesPaid += fees;
  }

  /** Adds a closed trade: its P&L in cash and its return. */
  addClosed(pnl: number, returnPct: number): void {
    this.#numTrades++;
    this.#pnlSum += pnl;
    if (pnl > 0) {
      this.#wins++;
      this.#grossProfit += pnl;
    } else if (pnl < 0) {
      this.#losses++;
      this.#grossLoss -= pnl;
    }
    if (returnPct > this.#best) this.#best = returnPct;
    if (returnPct < this.#worst) this.#worst = returnPct;
  }

  /** The statistics of the trades added so far. */
  result(): TradeStats {
    const n = this.#numTrades, wins = this.#wins, losses = this.#losses;
    const grossProfit = this.#grossProfit, grossLoss = this.#grossLoss;
    return {
      numTrades: n,
      winRate: n > 0 ? wins / n : NaN,
      grossProfit,
      grossLoss,
      profitFactor: grossLoss > 0 ? grossProfit / grossLoss : grossProfit > 0 ? Infinity : NaN,
      expectancy: n > 0 ? this.#pnlSum / n : NaN,
      avgWin: wins > 0 ? grossProfit / wins : NaN,
      avgLoss: losses > 0 ? -grossLoss / losses : NaN,
      bestTrade: n > 0 ? this.#best : NaN,
      worstTrade: n > 0 ? this.#worst : NaN,
      feesPaid: this.#feesPaid,
    };
  }
}

/** Total return of an equity curve: last / first − 1; NaN for an empty curve. */
export function totalReturn(equity: ArrayLike<number>): number {
  const n = equity.length;
  return n > 0 ? equity[n - 1] / equity[0] - 1 : NaN;
}

/**
 * Longest time spent below a previous equity peak, in bars: the maximum over bars t under water
 * of t − (index of the peak before t). A drawdown still open at the end counts up to the last
 * bar; a curve that never falls gives 0; an empty curve NaN.
 *
 * @example
 * ```ts
 * maxDrawdownDuration([100, 90, 95, 100, 99]); // 2 (bars 1 and 2 below the peak of bar 0)
 * ```
 */
export function maxDrawdownDuration(equity: ArrayLike<number>): number {
  const n = equity.length;
  if (n === 0) return NaN;
  let peak = equity[0];
  let peakIndex = 0;
  let longest = 0;
  for (let t = 1; t < n; t++) {
    const e = equity[t];
    if (e >= peak || peak !== peak) {
      peak = e;
      peakIndex = t;
    } else if (t - peakIndex > longest) {
      longest = t - peakIndex;
    }
  }
  return longest;
}

/** First index i with ts[i] >= x (ts ascending). */
function _lowerBound(ts: ArrayLike<number>, x: number): number {
  let lo = 0;
  let hi = ts.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (ts[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Fraction of bars that end with a position, from the trade list: bar t counts when some trade
 * has `entryTime ≤ timestamp[t] < exitTime` (an open trade lasts to the last bar). The engine
 * knows this directly; this is for results that only carry trades. NaN for no bars.
 */
export function exposureFromTrades(
  timestamps: ArrayLike<number>,
  trades: readonly TradeRecord[],
): number {
  const n = timestamps.length;
  if (n === 0) return NaN;
  const diff = new Int32Array(n + 1);
  for (const t of trades) {
    const start = _lowerBound(timestamps, t.entryTime);
    const end = t.exitTime === null ? n : _lowerBound(timestamps, t.exitTime);
    if (end > start) {
      diff[start]++;
      diff[end]--;
    }
  }
  let open = 0;
  let exposed = 0;
  for (let i = 0; i < n; i++) {
    open += diff[i];
    if (open > 0) exposed++;
  }
  return exposed / n;
}

/** Options of {@linkcode computeMetrics}. */
export interface ComputeMetricsOptions {
  /** Periods (bars) per year, e.g. from `inferAnnualization`. */
  annualization: number;
  /**
   * Per-bar benchmark returns for alpha and beta (e.g. `simpleReturns(close)` for buy-and-hold):
   * one per equity return (length n − 1), or one per bar (length n, the first ignored).
   * Without it alpha and beta are null.
   */
  benchmark?: ArrayLike<number>;
  /** Fraction of bars with a position (the engine counts it); null when absent. */
  exposure?: number;
  /** Fees paid over the run; defaults to the sum of the trades' fees. */
  feesPaid?: number;
  /**
   * The trades' statistics, already computed (the engine's, from its trade columns); when
   * given, `trades` is not read.
   */
  tradeStats?: TradeStats;
}

/** Infinity and NaN have no JSON form: both become null. */
function _json(x: number): number | null {
  return Number.isFinite(x) ? x : null;
}

/** The result `metrics` keys, in the order `computeMetrics` returns them (docs/SEMANTICS.md). */
export const METRIC_KEYS: readonly string[] = [
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

/**
 * The result's `metrics` object: empyrical metrics over the per-bar simple returns of the equity
 * curve, trade statistics and run facts, with the keys of docs/SEMANTICS.md ("Result metrics
 * keys") in that order. Undefined values (NaN, ±Infinity) are null.
 *
 * @example
 * ```ts
 * const metrics = computeMetrics(Float64Array.of(100, 110, 99, 120), [], { annualization: 252 });
 * metrics.totalReturn; // 0.2
 * metrics.maxDrawdown; // -0.1 (110 → 99)
 * metrics.winRate; // null: no closed trades
 * ```
 */
export function computeMetrics(
  equity: ArrayLike<number>,
  trades: readonly TradeRecord[],
  opts: ComputeMetricsOptions,
): Record<string, number | null> {
  const ann = opts?.annualization;
  if (typeof ann !== "number" || !(ann > 0) || !Number.isFinite(ann)) {
    throw new RangeError(`annualization must be a positive finite number, got ${String(ann)}`);
  }
  const n = equity.length;
  // The returns live only for this call: a reused buffer (see engine/scratch.ts).
  const r = simpleReturns(equity, n >= 2 ? scratchArray(SCRATCH.returns, n - 1) : undefined);
  const a = { annualization: ann };

  let alphaValue = NaN;
  let betaValue = NaN;
  const bench = opts.benchmark;
  if (bench !== undefined) {
    let b: ArrayLike<number>;
    if (bench.length === r.length) b = bench;
    else if (bench.length === n && n > 0) {
      b = bench instanceof Float64Array ? bench.subarray(1) : Float64Array.from(bench).subarray(1);
    } else {
      throw new RangeError(
        `benchmark must have ${n} (one per bar) or ${r.length} (one per return) values, got ${bench.length}`,
      );
    }
    [alphaValue, betaValue] = alphaBeta(r, b, a);
  }

  const ts = opts.tradeStats ?? tradeStats(trades);
  const tail = tailRiskStats(r);
  const cagrValue = annualReturn(r, a);
  const mdd = maxDrawdown(r);
  // annualVolatility(r, a), sharpeRatio(r, a) and sortinoRatio(r, a), each as its own code
  // computes it, from one mean and one standard deviation.
  const m = r.length;
  let volatility = NaN, sharpe = NaN, sortino = NaN;
  if (m >= 2) {
    const { mean, std } = nanMeanStd(r);
    volatility = std * Math.pow(ann, 1 / 2);
    sharpe = mean / std * Math.sqrt(ann);
    sortino = (mean * ann) / downsideRisk(r, { requiredReturn: 0, annualization: ann });
  }
  // calmarRatio(r, a) from the values above (its own definition, without two more passes).
  const calmar = !(mdd < 0) ? NaN : cagrValue / Math.abs(mdd);
  return {
    totalReturn: _json(totalReturn(equity)),
    cagr: _json(cagrValue),
    annualReturn: _json(cagrValue),
    annualVolatility: _json(volatility),
    sharpeRatio: _json(sharpe),
    sortinoRatio: _json(sortino),
    calmarRatio: _json(calmar === Infinity || calmar === -Infinity ? NaN : calmar),
    omegaRatio: _json(omegaRatio(r, a)),
    maxDrawdown: _json(mdd),
    maxDrawdownDuration: _json(maxDrawdownDuration(equity)),
    stabilityOfTimeseries: _json(stabilityOfTimeseries(r)),
    tailRatio: _json(tail.tailRatio),
    valueAtRisk: _json(tail.valueAtRisk),
    conditionalValueAtRisk: _json(tail.conditionalValueAtRisk),
    alpha: _json(alphaValue),
    beta: _json(betaValue),
    numTrades: ts.numTrades,
    winRate: _json(ts.winRate),
    profitFactor: _json(ts.profitFactor),
    expectancy: _json(ts.expectancy),
    avgWin: _json(ts.avgWin),
    avgLoss: _json(ts.avgLoss),
    bestTrade: _json(ts.bestTrade),
    worstTrade: _json(ts.worstTrade),
    exposure: _json(opts.exposure ?? NaN),
    feesPaid: _json(opts.feesPaid ?? ts.feesPaid),
    finalEquity: _json(n > 0 ? equity[n - 1] : NaN),
    annualization: ann,
  };
}
