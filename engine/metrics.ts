/**
 * Performance metrics over per-period simple returns, ported from empyrical (Quantopian's
 * `empyrical/stats.py`, 0.5.5 / empyrical-reloaded) with the same definitions, the same NaN
 * handling and the same answers on empty and degenerate inputs. Names are empyrical's in
 * camelCase; every function is pure and takes `number[]` or `Float64Array` returns (NaN allowed)
 * with an options object last.
 *
 * Reductions reproduce numpy's arithmetic where it decides an answer: means and standard
 * deviations use numpy's pairwise summation (so a constant series has a standard deviation of
 * exactly 0 and a Sharpe ratio of ±Infinity, as in empyrical), percentiles use numpy's linear
 * interpolation, and NaN-aware reductions (`nanmean`, `nanstd`) skip NaN the way numpy does.
 *
 * @example
 * ```ts
 * import { maxDrawdown, sharpeRatio } from "./metrics.ts";
 * const r = [0.01, 0.02, -0.015, 0.005];
 * sharpeRatio(r); // annualized with 252 periods per year
 * maxDrawdown(r); // -0.015
 * ```
 *
 * @module
 */
import { SCRATCH, scratchArray } from "./scratch.ts";
import { selectKth as _select, selectKth3Way } from "./select_kth.ts";

/** Per-period simple returns (NaN marks a missing period). */
export type Returns = ArrayLike<number>;

/** A rate that is either one constant or one value per period, aligned with the returns. */
export type Rate = number | ArrayLike<number>;

/** Sampling period of the returns, used to annualize. */
export type Period = "daily" | "weekly" | "monthly" | "quarterly" | "yearly";

/** Periods per year for each named period (empyrical's `ANNUALIZATION_FACTORS`). */
export const ANNUALIZATION_FACTORS: Readonly<Record<Period, number>> = Object.freeze({
  daily: 252,
  weekly: 52,
  monthly: 12,
  quarterly: 4,
  yearly: 1,
});

/** How returns are annualized: a named period or an explicit number of periods per year. */
export interface AnnualizationOptions {
  /** Sampling period of the returns; ignored when `annualization` is given. @default "daily" */
  period?: Period;
  /** Periods per year (e.g. 252, 365 × 24); wins over `period`. null means not given. */
  annualization?: number | null;
}

/** Options of {@linkcode cumReturns} and {@linkcode cumReturnsFinal}. */
export interface CumReturnsOptions {
  /** 0 gives cumulative returns; any other value gives the value of that starting amount. @default 0 */
  startingValue?: number;
}

/** Options of {@linkcode annualVolatility}. */
export interface AnnualVolatilityOptions extends AnnualizationOptions {
  /** Scaling exponent (Lévy stability): volatility × annualization^(1/alpha). @default 2 */
  alpha?: number;
}

/** Options of {@linkcode sharpeRatio}, {@linkcode alpha}, {@linkcode beta} and friends. */
export interface RiskFreeOptions extends AnnualizationOptions {
  /** Per-period risk-free return, constant or aligned with the returns. @default 0 */
  riskFree?: Rate;
}

/** Options of {@linkcode sortinoRatio} and {@linkcode downsideRisk}. */
export interface RequiredReturnOptions extends AnnualizationOptions {
  /** Per-period minimum acceptable return, constant or aligned with the returns. @default 0 */
  requiredReturn?: Rate;
}

/** Options of {@linkcode omegaRatio}. */
export interface OmegaRatioOptions extends AnnualizationOptions {
  /** Per-period risk-free return, constant or aligned with the returns. @default 0 */
  riskFree?: Rate;
  /** Annual minimum acceptable return, de-annualized with the annualization factor. @default 0 */
  requiredReturn?: Rate;
}

/** Options of {@linkcode valueAtRisk} and {@linkcode conditionalValueAtRisk}. */
export interface CutoffOptions {
  /** Fraction of the worst returns, in [0, 1]. @default 0.05 */
  cutoff?: number;
}

/** Options of {@linkcode rollMaxDrawdown}. */
export interface RollingOptions {
  /** Window length in periods (a window longer than the series shrinks to its length). */
  window: number;
}

/** Options of {@linkcode rollSharpeRatio}. */
export interface RollingSharpeOptions extends RiskFreeOptions {
  /** Window length in periods (a window longer than the series shrinks to its length). */
  window: number;
}

// ---------------------------------------------------------------------------------------------
// numpy-compatible reductions

/**
 * numpy's pairwise summation (`pairwise_sum_DOUBLE`: blocks of 128 summed with 8 accumulators,
 * halves recursed) over `a[off .. off+n)`, NaN counted as 0 as `np.nansum` does. With `sq`, sums
 * `(a[i] - c)²` instead, which is `np.nanvar`'s second pass.
 */
function _pairwise(a: ArrayLike<number>, off: number, n: number, c: number, sq: boolean): number {
  if (n < 8) {
    let res = 0;
    for (let i = off; i < off + n; i++) res += _term(a[i], c, sq);
    return res;
  }
  if (n <= 128) {
    let r0 = _term(a[off], c, sq);
    let r1 = _term(a[off + 1], c, sq);
    let r2 = _term(a[off + 2], c, sq);
    let r3 = _term(a[off + 3], c, sq);
    let r4 = _term(a[off + 4], c, sq);
    let r5 = _term(a[off + 5], c, sq);
    let r6 = _term(a[off + 6], c, sq);
    let r7 = _term(a[off + 7], c, sq);
    const end = off + n - (n % 8);
    let i = off + 8;
    for (; i < end; i += 8) {
      r0 += _term(a[i], c, sq);
      r1 += _term(a[i + 1], c, sq);
      r2 += _term(a[i + 2], c, sq);
      r3 += _term(a[i + 3], c, sq);
      r4 += _term(a[i + 4], c, sq);
      r5 += _term(a[i + 5], c, sq);
      r6 += _term(a[i + 6], c, sq);
      r7 += _term(a[i + 7], c, sq);
    }
    let res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7));
    for (; i < off + n; i++) res += _term(a[i], c, sq);
    return res;
  }
  let n2 = Math.floor(n / 2);
  n2 -= n2 % 8;
  return _pairwise(a, off, n2, c, sq) + _pairwise(a, off + n2, n - n2, c, sq);
}

function _term(v: number, c: number, sq: boolean): number {
  if (v !== v) return 0;
  if (!sq) return v;
  const d = v - c;
  return d * d;
}

function _countNotNaN(a: ArrayLike<number>, off: number, n: number): number {
  let cnt = 0;
  for (let i = off; i < off + n; i++) if (a[i] === a[i]) cnt++;
  return cnt;
}

/** `np.nanmean` over a slice: NaN when every value is NaN. */
function _nanMean(a: ArrayLike<number>, off: number, n: number): number {
  const cnt = _countNotNaN(a, off, n);
  if (cnt === 0) return NaN;
  return _pairwise(a, off, n, 0, false) / cnt;
}

/** `np.nanstd(ddof)` over a slice: NaN when fewer than ddof + 1 values are not NaN. */
function _nanStd(a: ArrayLike<number>, off: number, n: number, ddof: number): number {
  const cnt = _countNotNaN(a, off, n);
  if (cnt - ddof <= 0) return NaN;
  const avg = _pairwise(a, off, n, 0, false) / cnt;
  return Math.sqrt(_pairwise(a, off, n, avg, true) / (cnt - ddof));
}

/** `np.mean` (NaN propagates). */
function _mean(a: ArrayLike<number>, off: number, n: number): number {
  if (n === 0) return NaN;
  for (let i = off; i < off + n; i++) if (a[i] !== a[i]) return NaN;
  return _pairwise(a, off, n, 0, false) / n;
}

/**
 * numpy's linear-interpolation percentile (`np.percentile`, method "linear") of the NaN-free
 * `a`, q in [0, 1]; reorders `a`.
 */
function _percentile(a: Float64Array, q: number, byValue = false): number {
  const n = a.length;
  const idx = (n - 1) * q;
  const lo = idx >= n - 1 ? n - 1 : Math.floor(idx);
  // The value does not depend on how `a` ends up ordered; CVaR's mean does, so the selection
  // that feeds it (VaR's, then CVaR's own) stays `_select`, and only order-free callers
  // (the tail ratio) take the faster three-way one.
  if (byValue) selectKth3Way(a, lo);
  else _select(a, lo);
  const x = a[lo];
  if (lo === n - 1) return x;
  let y = Infinity;
  for (let i = lo + 1; i < n; i++) if (a[i] < y) y = a[i];
  const gamma = idx - lo;
  const diff = y - x;
  // numpy's _lerp: interpolate from the nearer end for accuracy
  return gamma >= 0.5 ? y - diff * (1 - gamma) : x + diff * gamma;
}

/**
 * The non-NaN values in their original order (numpy's `returns[~np.isnan(returns)]`), in the
 * reused `SCRATCH.temp` array: callers use it and let it go before any other metric runs.
 */
function _dropNaN(r: Returns): Float64Array {
  const n = r.length;
  const out = scratchArray(SCRATCH.temp, _countNotNaN(r, 0, n));
  let j = 0;
  for (let i = 0; i < n; i++) {
    const v = r[i];
    if (v === v) out[j++] = v;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// argument handling

/**
 * The annualization factor: `annualization` when given, else the periods per year of `period`
 * (empyrical's `annualization_factor`).
 *
 * @throws {RangeError} for an unknown period or an annualization that is not a positive number.
 */
export function annualizationFactor(opts: AnnualizationOptions = {}): number {
  const { annualization, period } = opts;
  if (annualization !== undefined && annualization !== null) {
    if (typeof annualization !== "number" || !(annualization > 0) || !isFinite(annualization)) {
      throw new RangeError(
        `annualization must be a positive finite number, got ${String(annualization)}`,
      );
    }
    return annualization;
  }
  const p = period ?? "daily";
  if (!Object.hasOwn(ANNUALIZATION_FACTORS, p)) {
    throw new RangeError(
      `Period cannot be '${String(p)}'. Can be '${
        Object.keys(ANNUALIZATION_FACTORS).join("', '")
      }'`,
    );
  }
  return ANNUALIZATION_FACTORS[p as Period];
}

function _checkReturns(what: string, r: unknown): void {
  if (r == null || typeof (r as ArrayLike<number>).length !== "number" || typeof r === "string") {
    throw new TypeError(
      `${what} must be an array of numbers, got ${r === null ? "null" : typeof r}`,
    );
  }
}

function _checkAligned(what: string, r: Returns, other: ArrayLike<number>): void {
  if (other.length !== r.length) {
    throw new RangeError(
      `${what} must have one value per return: got ${other.length} values for ${r.length} returns`,
    );
  }
}

function _checkRate(what: string, r: Returns, rate: Rate): void {
  if (typeof rate === "number") return;
  if (rate == null || typeof rate.length !== "number") {
    throw new TypeError(`${what} must be a number or an array of numbers`);
  }
  _checkAligned(what, r, rate);
}

/** `returns - rate` as a new array (empyrical's `_adjust_returns`, always a copy here). */
function _minus(r: Returns, rate: Rate): Float64Array {
  const n = r.length;
  const out = new Float64Array(n);
  if (typeof rate === "number") {
    for (let i = 0; i < n; i++) out[i] = r[i] - rate;
  } else {
    for (let i = 0; i < n; i++) out[i] = r[i] - rate[i];
  }
  return out;
}

function _checkWindow(window: unknown): number {
  if (typeof window !== "number" || !Number.isInteger(window) || window < 1) {
    throw new RangeError(`window must be a positive integer, got ${String(window)}`);
  }
  return window;
}

function _checkCutoff(cutoff: unknown): number {
  if (typeof cutoff !== "number" || !(cutoff >= 0 && cutoff <= 1)) {
    throw new RangeError(`cutoff must be a number in [0, 1], got ${String(cutoff)}`);
  }
  return cutoff;
}

// ---------------------------------------------------------------------------------------------
// returns and drawdowns

/**
 * Simple returns of a price (or equity) series: `p[t] / p[t-1] - 1` (docs/SEMANTICS.md, pandas'
 * `pct_change`), one fewer than the prices.
 * `into`, when given, receives them (it must hold exactly one fewer than the prices) and is
 * returned, so a caller can reuse its own buffer.
 *
 * @example
 * ```ts
 * simpleReturns([100, 125, 100]); // Float64Array [0.25, -0.2]
 * ```
 */
export function simpleReturns(prices: ArrayLike<number>, into?: Float64Array): Float64Array {
  _checkReturns("prices", prices);
  const n = prices.length;
  if (n < 2) return new Float64Array(0);
  if (into !== undefined && into.length !== n - 1) {
    throw new RangeError(`simpleReturns: into must hold ${n - 1} values, got ${into.length}`);
  }
  const out = into ?? new Float64Array(n - 1);
  for (let i = 1; i < n; i++) out[i - 1] = prices[i] / prices[i - 1] - 1;
  return out;
}

/**
 * Cumulative returns (or the value of `startingValue` invested) after each period; NaN returns
 * count as 0.
 *
 * @example
 * ```ts
 * cumReturns([0.1, -0.1]); // Float64Array [0.1, -0.01]
 * cumReturns([0.1, -0.1], { startingValue: 100 }); // Float64Array [110, 99]
 * ```
 */
export function cumReturns(returns: Returns, opts: CumReturnsOptions = {}): Float64Array {
  _checkReturns("returns", returns);
  const sv = opts.startingValue ?? 0;
  const n = returns.length;
  const out = new Float64Array(n);
  let acc = 1;
  for (let i = 0; i < n; i++) {
    const v = returns[i];
    acc *= (v === v ? v : 0) + 1;
    out[i] = sv === 0 ? acc - 1 : acc * sv;
  }
  return out;
}

/**
 * Total compounded return (or final value of `startingValue`); NaN returns count as 0; NaN for
 * an empty series.
 */
export function cumReturnsFinal(returns: Returns, opts: CumReturnsOptions = {}): number {
  _checkReturns("returns", returns);
  const n = returns.length;
  if (n === 0) return NaN;
  const sv = opts.startingValue ?? 0;
  let acc = 1;
  for (let i = 0; i < n; i++) {
    const v = returns[i];
    if (v === v) acc *= v + 1;
  }
  return sv === 0 ? acc - 1 : acc * sv;
}

function _maxDrawdown(r: ArrayLike<number>, off: number, n: number): number {
  // empyrical compounds from 100 with the starting value as the first peak.
  let acc = 1;
  let peak = 100;
  let mdd = 0;
  for (let i = off; i < off + n; i++) {
    const v = r[i];
    acc *= (v === v ? v : 0) + 1;
    const cum = acc * 100;
    if (cum > peak) peak = cum; // fmax: a NaN value never becomes the peak
    const dd = (cum - peak) / peak;
    if (dd < mdd) mdd = dd; // nanmin
  }
  return mdd;
}

/**
 * Maximum drawdown (≤ 0) of the compounded returns, measured from the starting value; NaN
 * returns count as 0; NaN for an empty series.
 *
 * @example
 * ```ts
 * maxDrawdown([0.1, -0.1, 0.1]); // -0.1
 * ```
 */
export function maxDrawdown(returns: Returns): number {
  _checkReturns("returns", returns);
  if (returns.length < 1) return NaN;
  return _maxDrawdown(returns, 0, returns.length);
}

/**
 * Rolling maximum drawdown: one value per window of `window` periods (n − window + 1 values;
 * a window longer than the series shrinks to the series, an empty series gives none).
 */
export function rollMaxDrawdown(returns: Returns, opts: RollingOptions): Float64Array {
  _checkReturns("returns", returns);
  const n = returns.length;
  const window = _checkWindow(opts?.window);
  if (n === 0) return new Float64Array(0);
  const w = Math.min(n, window);
  const out = new Float64Array(n - w + 1);
  for (let i = 0; i < out.length; i++) out[i] = _maxDrawdown(returns, i, w);
  return out;
}

/**
 * Compound annual growth rate: `(1 + total return)^(1 / years) − 1` with years = periods /
 * annualization (NaN periods count in the length, as 0 returns). NaN for an empty series.
 */
export function annualReturn(returns: Returns, opts: AnnualizationOptions = {}): number {
  _checkReturns("returns", returns);
  const ann = annualizationFactor(opts);
  const n = returns.length;
  if (n < 1) return NaN;
  const numYears = n / ann;
  const ending = cumReturnsFinal(returns, { startingValue: 1 });
  return Math.pow(ending, 1 / numYears) - 1;
}

/** Compound annual growth rate; the same as {@linkcode annualReturn} (empyrical's alias). */
export function cagr(returns: Returns, opts: AnnualizationOptions = {}): number {
  _checkReturns("returns", returns);
  return annualReturn(returns, opts);
}

/**
 * Annualized volatility: sample standard deviation (ddof 1, NaN skipped) × annualization^(1/alpha).
 * NaN for fewer than 2 returns.
 */
export function annualVolatility(returns: Returns, opts: AnnualVolatilityOptions = {}): number {
  _checkReturns("returns", returns);
  const ann = annualizationFactor(opts);
  const alpha = opts.alpha ?? 2;
  if (returns.length < 2) return NaN;
  return _nanStd(returns, 0, returns.length, 1) * Math.pow(ann, 1 / alpha);
}

/**
 * Calmar ratio: annual return / |max drawdown|. NaN when there is no drawdown, for an empty
 * series, or when the ratio is infinite.
 */
export function calmarRatio(returns: Returns, opts: AnnualizationOptions = {}): number {
  _checkReturns("returns", returns);
  const ann = annualizationFactor(opts);
  const mdd = maxDrawdown(returns);
  if (!(mdd < 0)) return NaN;
  const temp = annualReturn(returns, { annualization: ann }) / Math.abs(mdd);
  return temp === Infinity || temp === -Infinity ? NaN : temp;
}

// ---------------------------------------------------------------------------------------------
// risk-adjusted ratios

/**
 * Omega ratio: sum of returns above the threshold / sum of shortfalls below it, where the
 * threshold is `riskFree` plus the de-annualized `requiredReturn`. NaN for fewer than 2 returns,
 * a required return ≤ −1, or no shortfall at all. NaN returns are ignored.
 */
export function omegaRatio(returns: Returns, opts: OmegaRatioOptions = {}): number {
  _checkReturns("returns", returns);
  const ann = annualizationFactor(opts);
  const riskFree = opts.riskFree ?? 0;
  const req = opts.requiredReturn ?? 0;
  _checkRate("riskFree", returns, riskFree);
  _checkRate("requiredReturn", returns, req);
  const n = returns.length;
  if (n < 2) return NaN;
  // The annual required return as a per-period threshold.
  const toThreshold = (rq: number) =>
    ann === 1 ? rq : rq <= -1 ? NaN : Math.pow(1 + rq, 1 / ann) - 1;
  const constThreshold = typeof req === "number" ? toThreshold(req) : 0;
  let numer = 0;
  let neg = 0;
  for (let i = 0; i < n; i++) {
    const threshold = typeof req === "number" ? constThreshold : toThreshold(req[i]);
    if (threshold !== threshold) return NaN;
    const rf = typeof riskFree === "number" ? riskFree : riskFree[i];
    const x = returns[i] - rf - threshold;
    if (x > 0) numer += x;
    else if (x < 0) neg += x;
  }
  const denom = -1 * neg;
  return denom > 0 ? numer / denom : NaN;
}

/**
 * Annualized Sharpe ratio: mean(r − riskFree) / std(r − riskFree, ddof 1) × √annualization, NaN
 * skipped. NaN for fewer than 2 returns; ±Infinity for a constant non-zero excess return.
 *
 * @example
 * ```ts
 * sharpeRatio([0.01, 0.02, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01]); // 52.915026221291804
 * ```
 */
export function sharpeRatio(returns: Returns, opts: RiskFreeOptions = {}): number {
  _checkReturns("returns", returns);
  const ann = annualizationFactor(opts);
  const riskFree = opts.riskFree ?? 0;
  _checkRate("riskFree", returns, riskFree);
  const n = returns.length;
  if (n < 2) return NaN;
  const adj = riskFree === 0 ? returns : _minus(returns, riskFree);
  return _nanMean(adj, 0, n) / _nanStd(adj, 0, n, 1) * Math.sqrt(ann);
}

/**
 * The NaN-skipping mean and standard deviation (ddof 1) of the returns: what
 * {@linkcode annualVolatility}, {@linkcode sharpeRatio} and {@linkcode sortinoRatio} (with no
 * risk-free rate or required return) each compute, for a caller that needs all three
 * (`computeMetrics`) and would otherwise stream over the returns five times more.
 */
export function nanMeanStd(returns: Returns): { mean: number; std: number } {
  _checkReturns("returns", returns);
  const n = returns.length;
  return { mean: _nanMean(returns, 0, n), std: _nanStd(returns, 0, n, 1) };
}

/**
 * Rolling Sharpe ratio: one value per window (n − window + 1 values; a window longer than the
 * series shrinks to it). An array `riskFree` is aligned with the whole series.
 */
export function rollSharpeRatio(returns: Returns, opts: RollingSharpeOptions): Float64Array {
  _checkReturns("returns", returns);
  const ann = annualizationFactor(opts);
  const window = _checkWindow(opts?.window);
  const riskFree = opts.riskFree ?? 0;
  _checkRate("riskFree", returns, riskFree);
  const n = returns.length;
  if (n === 0) return new Float64Array(0);
  const w = Math.min(n, window);
  const out = new Float64Array(n - w + 1);
  if (w < 2) return out.fill(NaN);
  const adj = riskFree === 0 ? returns : _minus(returns, riskFree);
  const sqrtAnn = Math.sqrt(ann);
  for (let i = 0; i < out.length; i++) {
    out[i] = _nanMean(adj, i, w) / _nanStd(adj, i, w, 1) * sqrtAnn;
  }
  return out;
}

/**
 * Annualized downside deviation below `requiredReturn`: √mean(min(r − required, 0)²) ×
 * √annualization, NaN skipped. NaN for an empty series.
 */
export function downsideRisk(returns: Returns, opts: RequiredReturnOptions = {}): number {
  _checkReturns("returns", returns);
  const ann = annualizationFactor(opts);
  const req = opts.requiredReturn ?? 0;
  _checkRate("requiredReturn", returns, req);
  const n = returns.length;
  if (n < 1) return NaN;
  // A leaf temporary (see engine/scratch.ts): `returns - req`, squared in place.
  const d = scratchArray(SCRATCH.temp, n);
  if (typeof req === "number") {
    for (let i = 0; i < n; i++) d[i] = returns[i] - req;
  } else {
    for (let i = 0; i < n; i++) d[i] = returns[i] - req[i];
  }
  for (let i = 0; i < n; i++) {
    const v = d[i];
    if (v > 0) d[i] = 0;
    else d[i] = v * v; // NaN stays NaN and is skipped by the mean
  }
  return Math.sqrt(_nanMean(d, 0, n)) * Math.sqrt(ann);
}

/**
 * Annualized Sortino ratio: mean(r − required) × annualization / downside risk. NaN for fewer
 * than 2 returns; +Infinity when nothing falls below the required return.
 */
export function sortinoRatio(returns: Returns, opts: RequiredReturnOptions = {}): number {
  _checkReturns("returns", returns);
  const ann = annualizationFactor(opts);
  const req = opts.requiredReturn ?? 0;
  _checkRate("requiredReturn", returns, req);
  const n = returns.length;
  if (n < 2) return NaN;
  const adj = req === 0 ? returns : _minus(returns, req);
  const averageAnnualReturn = _nanMean(adj, 0, n) * ann;
  return averageAnnualReturn / downsideRisk(returns, { requiredReturn: req, annualization: ann });
}

/**
 * Excess Sharpe (a simple information ratio): mean(r − factor) / std(r − factor, ddof 1), not
 * annualized. NaN for fewer than 2 returns.
 */
export function excessSharpe(returns: Returns, factorReturns: Rate): number {
  _checkReturns("returns", returns);
  _checkRate("factorReturns", returns, factorReturns);
  const n = returns.length;
  if (n < 2) return NaN;
  const active = _minus(returns, factorReturns);
  let te = _nanStd(active, 0, n, 1);
  if (te !== te) te = 0; // np.nan_to_num
  return _nanMean(active, 0, n) / te;
}

// ---------------------------------------------------------------------------------------------
// factor regressions

/** empyrical's `beta_aligned`: Cov(f, r) / Var(f) over the periods where neither is NaN. */
function _beta(r: Returns, f: ArrayLike<number>, scratch?: Float64Array): number {
  const n = r.length;
  if (n < 1 || f.length < 2) return NaN;
  // The factor takes the returns' missing-value pattern (and keeps its own).
  const res = scratchArray(SCRATCH.temp, n);
  for (let i = 0; i < n; i++) res[i] = r[i] !== r[i] ? NaN : f[i];
  const mean = _nanMean(res, 0, n);
  const prod = scratch ?? scratchArray(SCRATCH.temp2, n);
  for (let i = 0; i < n; i++) {
    res[i] -= mean;
    prod[i] = res[i] * r[i];
  }
  const cov = _nanMean(prod, 0, n);
  for (let i = 0; i < n; i++) res[i] *= res[i];
  let variance = _nanMean(res, 0, n);
  if (variance < 1e-30) variance = NaN;
  return cov / variance;
}

/** empyrical's `alpha_aligned` given beta: annualized as (1 + mean residual)^ann − 1. */
function _alpha(
  r: Returns,
  f: ArrayLike<number>,
  riskFree: Rate,
  ann: number,
  b: number,
  scratch?: Float64Array,
): number {
  const n = r.length;
  if (n < 2) return NaN;
  const series = scratch ?? scratchArray(SCRATCH.temp2, n);
  for (let i = 0; i < n; i++) {
    const rf = typeof riskFree === "number" ? riskFree : riskFree[i];
    series[i] = (r[i] - rf) - b * (f[i] - rf);
  }
  return Math.pow(_nanMean(series, 0, n) + 1, ann) - 1;
}

function _checkFactor(returns: Returns, factorReturns: ArrayLike<number>): void {
  if (factorReturns == null || typeof factorReturns.length !== "number") {
    throw new TypeError("factorReturns must be an array of numbers");
  }
  _checkAligned("factorReturns", returns, factorReturns);
}

/**
 * Beta of the returns to a factor (benchmark): Cov(f, r) / Var(f) over periods where both are
 * known. NaN for fewer than 2 periods or a factor without variance. As in empyrical, a
 * `riskFree` option does not change beta.
 */
export function beta(
  returns: Returns,
  factorReturns: ArrayLike<number>,
  opts: RiskFreeOptions = {},
): number {
  _checkReturns("returns", returns);
  _checkFactor(returns, factorReturns);
  if (opts.riskFree !== undefined) _checkRate("riskFree", returns, opts.riskFree);
  return _beta(returns, factorReturns);
}

/**
 * Annualized alpha: (1 + mean(r − rf − β(f − rf)))^annualization − 1. NaN for fewer than 2
 * returns.
 */
export function alpha(
  returns: Returns,
  factorReturns: ArrayLike<number>,
  opts: RiskFreeOptions = {},
): number {
  _checkReturns("returns", returns);
  const ann = annualizationFactor(opts);
  _checkFactor(returns, factorReturns);
  const riskFree = opts.riskFree ?? 0;
  _checkRate("riskFree", returns, riskFree);
  if (returns.length < 2) return NaN;
  return _alpha(returns, factorReturns, riskFree, ann, _beta(returns, factorReturns));
}

/** Annualized alpha and beta in one pass: `[alpha, beta]`, as empyrical's `alpha_beta`. */
export function alphaBeta(
  returns: Returns,
  factorReturns: ArrayLike<number>,
  opts: RiskFreeOptions = {},
): [alpha: number, beta: number] {
  _checkReturns("returns", returns);
  const ann = annualizationFactor(opts);
  _checkFactor(returns, factorReturns);
  const riskFree = opts.riskFree ?? 0;
  _checkRate("riskFree", returns, riskFree);
  const scratch = scratchArray(SCRATCH.temp2, returns.length);
  const b = _beta(returns, factorReturns, scratch);
  return [_alpha(returns, factorReturns, riskFree, ann, b, scratch), b];
}

/** The periods where the factor is > 0 (up) or < 0 (down); NaN factor periods are dropped. */
function _filterByFactor(
  returns: Returns,
  factorReturns: ArrayLike<number>,
  riskFree: Rate,
  up: boolean,
): { r: Float64Array; f: Float64Array; rf: Rate } {
  const n = returns.length;
  let cnt = 0;
  for (let i = 0; i < n; i++) {
    const v = factorReturns[i];
    if (up ? v > 0 : v < 0) cnt++;
  }
  const r = new Float64Array(cnt);
  const f = new Float64Array(cnt);
  const rf = typeof riskFree === "number" ? riskFree : new Float64Array(cnt);
  let j = 0;
  for (let i = 0; i < n; i++) {
    const v = factorReturns[i];
    if (up ? v > 0 : v < 0) {
      r[j] = returns[i];
      f[j] = v;
      if (typeof rf !== "number") rf[j] = (riskFree as ArrayLike<number>)[i];
      j++;
    }
  }
  return { r, f, rf };
}

function _directionalAlphaBeta(
  returns: Returns,
  factorReturns: ArrayLike<number>,
  opts: RiskFreeOptions,
  up: boolean,
): [alpha: number, beta: number] {
  const ann = annualizationFactor(opts);
  _checkFactor(returns, factorReturns);
  const riskFree = opts.riskFree ?? 0;
  _checkRate("riskFree", returns, riskFree);
  const { r, f, rf } = _filterByFactor(returns, factorReturns, riskFree, up);
  const b = _beta(r, f);
  return [_alpha(r, f, rf, ann, b), b];
}

/** `[alpha, beta]` over the periods where the factor return is positive. */
export function upAlphaBeta(
  returns: Returns,
  factorReturns: ArrayLike<number>,
  opts: RiskFreeOptions = {},
): [alpha: number, beta: number] {
  _checkReturns("returns", returns);
  return _directionalAlphaBeta(returns, factorReturns, opts, true);
}

/** `[alpha, beta]` over the periods where the factor return is negative. */
export function downAlphaBeta(
  returns: Returns,
  factorReturns: ArrayLike<number>,
  opts: RiskFreeOptions = {},
): [alpha: number, beta: number] {
  _checkReturns("returns", returns);
  return _directionalAlphaBeta(returns, factorReturns, opts, false);
}

/** Capture ratio: annual return of the returns / annual return of the factor. */
export function capture(
  returns: Returns,
  factorReturns: ArrayLike<number>,
  opts: AnnualizationOptions = {},
): number {
  _checkReturns("returns", returns);
  _checkFactor(returns, factorReturns);
  const ann = annualizationFactor(opts);
  return annualReturn(returns, { annualization: ann }) /
    annualReturn(factorReturns, { annualization: ann });
}

function _directionalCapture(
  returns: Returns,
  factorReturns: ArrayLike<number>,
  opts: AnnualizationOptions,
  up: boolean,
): number {
  _checkFactor(returns, factorReturns);
  const { r, f } = _filterByFactor(returns, factorReturns, 0, up);
  return capture(r, f, opts);
}

/** Capture ratio over the periods where the factor return is positive. */
export function upCapture(
  returns: Returns,
  factorReturns: ArrayLike<number>,
  opts: AnnualizationOptions = {},
): number {
  _checkReturns("returns", returns);
  return _directionalCapture(returns, factorReturns, opts, true);
}

/** Capture ratio over the periods where the factor return is negative. */
export function downCapture(
  returns: Returns,
  factorReturns: ArrayLike<number>,
  opts: AnnualizationOptions = {},
): number {
  _checkReturns("returns", returns);
  return _directionalCapture(returns, factorReturns, opts, false);
}

/** Up capture / down capture. */
export function upDownCapture(
  returns: Returns,
  factorReturns: ArrayLike<number>,
  opts: AnnualizationOptions = {},
): number {
  _checkReturns("returns", returns);
  return upCapture(returns, factorReturns, opts) / downCapture(returns, factorReturns, opts);
}

// ---------------------------------------------------------------------------------------------
// distribution

/**
 * Value at risk: the `cutoff` percentile of the returns with numpy's linear interpolation
 * (`np.percentile(returns, 100 × cutoff)`). NaN for an empty series or one containing NaN.
 *
 * @example
 * ```ts
 * valueAtRisk([1, 81, 82, 83, 84, 85], { cutoff: 0.1 }); // 41
 * ```
 */
export function valueAtRisk(returns: Returns, opts: CutoffOptions = {}): number {
  _checkReturns("returns", returns);
  const cutoff = _checkCutoff(opts.cutoff ?? 0.05);
  return _valueAtRisk(returns.length, _dropNaN(returns), cutoff);
}

/**
 * Conditional value at risk (expected shortfall): the mean of the ⌊(n − 1) × cutoff⌋ + 1 lowest
 * returns, i.e. of the returns at or below the VaR (empyrical's partition rule). NaN for an
 * empty series, or when a NaN falls among those lowest values (NaN sorts last).
 */
export function conditionalValueAtRisk(returns: Returns, opts: CutoffOptions = {}): number {
  _checkReturns("returns", returns);
  const cutoff = _checkCutoff(opts.cutoff ?? 0.05);
  return _conditionalValueAtRisk(returns.length, _dropNaN(returns), cutoff);
}

/**
 * Tail ratio: |95th percentile| / |5th percentile| of the returns, NaN skipped. NaN for an
 * empty (or all-NaN) series.
 */
export function tailRatio(returns: Returns): number {
  _checkReturns("returns", returns);
  return _tailRatio(returns.length, _dropNaN(returns));
}

/** The three tail statistics of {@linkcode tailRiskStats}. */
export interface TailRiskStats {
  valueAtRisk: number;
  conditionalValueAtRisk: number;
  tailRatio: number;
}

/**
 * {@linkcode valueAtRisk}, {@linkcode conditionalValueAtRisk} and {@linkcode tailRatio} at once,
 * from one copy of the returns (each alone copies them): the same values, less memory.
 */
export function tailRiskStats(returns: Returns, opts: CutoffOptions = {}): TailRiskStats {
  _checkReturns("returns", returns);
  const cutoff = _checkCutoff(opts.cutoff ?? 0.05);
  const n = returns.length;
  // Selection only reorders the copy, and percentiles do not depend on the order.
  const a = _dropNaN(returns);
  const valueAtRisk = _valueAtRisk(n, a, cutoff);
  const conditionalValueAtRisk = _conditionalValueAtRisk(n, a, cutoff);
  // The tail ratio's 5th percentile is VaR's value when VaR is the 5th percentile of these
  // same values (no NaN dropped); a percentile depends only on the values, not their order.
  const sameP5 = n > 0 && a.length === n && (100 * cutoff) / 100 === 5 / 100;
  return {
    valueAtRisk,
    conditionalValueAtRisk,
    tailRatio: _tailRatio(n, a, sameP5 ? valueAtRisk : undefined),
  };
}

/** VaR of `n` returns whose non-NaN values are `a` (any order; reordered). */
function _valueAtRisk(n: number, a: Float64Array, cutoff: number): number {
  if (n === 0) return NaN;
  if (a.length !== n) return NaN; // np.percentile propagates NaN
  return _percentile(a, (100 * cutoff) / 100);
}

/** CVaR of `n` returns whose non-NaN values are `a` (any order; reordered). */
function _conditionalValueAtRisk(n: number, a: Float64Array, cutoff: number): number {
  if (n === 0) return NaN;
  const k = Math.trunc((n - 1) * cutoff) + 1;
  if (k > a.length) return NaN;
  _select(a, k - 1);
  return _mean(a, 0, k);
}

/** Tail ratio of `n` returns whose non-NaN values are `a` (any order; reordered). */
function _tailRatio(n: number, a: Float64Array, p5?: number): number {
  if (n < 1 || a.length < 1) return NaN;
  const hi = Math.abs(_percentile(a, 95 / 100, true));
  return hi / Math.abs(p5 ?? _percentile(a, 5 / 100, true));
}

/**
 * Stability: R² of a least-squares line through the cumulative log returns (NaN periods
 * dropped), as scipy's `linregress`. NaN for fewer than 2 returns; 0 when the fit is degenerate
 * (one usable period, or flat cumulative returns).
 */
export function stabilityOfTimeseries(returns: Returns): number {
  _checkReturns("returns", returns);
  if (returns.length < 2) return NaN;
  const y = _dropNaN(returns);
  const m = y.length;
  if (m === 0) return NaN;
  let acc = 0;
  for (let i = 0; i < m; i++) {
    // log1p(±0) is ±0 and acc + ±0 is acc (acc starts at +0 and a sum of doubles is never
    // -0 from there), so flat periods — half the bars of a typical strategy — skip the call.
    const v = y[i];
    if (v !== 0) acc += Math.log1p(v);
    y[i] = acc;
  }
  const xMean = (m - 1) / 2;
  const yMean = _pairwise(y, 0, m, 0, false) / m;
  let ssx = 0;
  let ssxy = 0;
  let ssy = 0;
  for (let i = 0; i < m; i++) {
    const dx = i - xMean;
    const dy = y[i] - yMean;
    ssx += dx * dx;
    ssxy += dx * dy;
    ssy += dy * dy;
  }
  if (ssx === 0 || ssy === 0) return 0;
  let r = ssxy / Math.sqrt(ssx * ssy);
  if (r > 1) r = 1;
  else if (r < -1) r = -1;
  return r * r;
}
