/**
 * Walk-forward optimization: optimize on a rolling (or anchored) in-sample window, test the
 * winner on the out-of-sample window that follows, step forward by the out-of-sample length,
 * and stitch the out-of-sample equity curves into one.
 *
 * Each out-of-sample test runs the engine from the start of its in-sample window to the end of
 * the out-of-sample window with the winning params and keeps only the out-of-sample part: the
 * indicators are warm and the position at the window start is the one those params would hold,
 * as if the strategy had been running with them. Built-in families run in-process; strategy
 * code runs in the sandbox (jobs/sandbox.ts).
 *
 * @module
 */
import { runBacktest } from "../engine/backtest.ts";
import { sliceBars } from "../engine/bars.ts";
import { resolveConfig } from "../engine/config.ts";
import { cagr, maxDrawdown, sharpeRatio, simpleReturns, sortinoRatio } from "../engine/metrics.ts";
import { annualizationOf } from "../engine/result.ts";
import type { BacktestResult, Bars } from "../engine/types.ts";
import type { ParamSet } from "./grid.ts";
import type { ComboMetrics, ComboResult } from "./objective.ts";
import { comboMetricsOf } from "./backends/pool_protocol.ts";
import { familyClass, type OptimizationRequest, runOptimization } from "./run_optimization.ts";

/** A walk-forward request: an optimization request plus the window layout. */
export interface WalkForwardRequest extends OptimizationRequest {
  /** Bars in each in-sample window. */
  inSample: number;
  /** Bars in each out-of-sample window (also the step). */
  outOfSample: number;
  /** Grow the in-sample window from the first bar instead of rolling it. @default false */
  anchored?: boolean;
}

/** One window's outcome. */
export interface WalkForwardWindow {
  index: number;
  /** Bar index ranges [start, end). */
  inSample: { start: number; end: number };
  outOfSample: { start: number; end: number };
  /** The in-sample winner (null when no combination passed the filters). */
  best: ComboResult | null;
  /** Metrics of the winner on the out-of-sample bars alone (from its equity there). */
  outOfSampleMetrics: ComboMetrics | null;
}

/** The walk-forward result. */
export interface WalkForwardResult {
  windows: WalkForwardWindow[];
  /** The stitched out-of-sample equity curve, starting at the configured cash. */
  equity: { time: number; equity: number }[];
  metrics: {
    totalReturn: number;
    cagr: number;
    sharpe: number;
    sortino: number;
    maxDrawdown: number;
  };
}

/** Window layout: [inStart, inEnd, outEnd) triples; throws `RangeError` when none fits. */
export function walkForwardWindows(
  n: number,
  opts: { inSample: number; outOfSample: number; anchored?: boolean },
): { inStart: number; inEnd: number; outEnd: number }[] {
  const { inSample, outOfSample } = opts;
  if (!Number.isInteger(inSample) || inSample < 2) {
    throw new RangeError(`inSample must be an integer >= 2 bars, got ${inSample}`);
  }
  if (!Number.isInteger(outOfSample) || outOfSample < 2) {
    throw new RangeError(`outOfSample must be an integer >= 2 bars, got ${outOfSample}`);
  }
  const out = [];
  for (let inEnd = inSample; inEnd < n; inEnd += outOfSample) {
    out.push({
      inStart: opts.anchored ? 0 : inEnd - inSample,
      inEnd,
      outEnd: Math.min(n, inEnd + outOfSample),
    });
  }
  if (out.length === 0) {
    throw new RangeError(
      `No walk-forward window fits ${n} bars with inSample ${inSample} and outOfSample ${outOfSample}`,
    );
  }
  return out;
}

async function _runOnce(
  req: WalkForwardRequest,
  bars: Bars,
  params: ParamSet,
  signal?: AbortSignal,
): Promise<BacktestResult> {
  if ("family" in req.strategy) {
    return runBacktest(bars, await familyClass(req.strategy.family), {
      params,
      config: req.config,
    });
  }
  const { runInSandbox } = await import("../jobs/sandbox.ts");
  return await runInSandbox({ code: req.strategy.code, bars, params, config: req.config }, {
    signal,
  });
}

/**
 * Runs a walk-forward optimization. `onWindow` reports each window as it completes.
 *
 * @example
 * ```ts
 * const wf = await runWalkForward({ bars, strategy: { family: "sma_cross" },
 *   grid: { params: { fast: { min: 5, max: 20, step: 5 }, slow: { min: 30, max: 60, step: 10 } } },
 *   inSample: 500, outOfSample: 100 });
 * wf.equity.at(-1)?.equity;
 * ```
 */
export async function runWalkForward(
  req: WalkForwardRequest,
  opts: { onWindow?: (w: WalkForwardWindow, total: number) => void; signal?: AbortSignal } = {},
): Promise<WalkForwardResult> {
  const { bars } = req;
  const config = resolveConfig(req.config ?? {});
  const ann = annualizationOf(config, bars);
  const layout = walkForwardWindows(bars.length, req);
  const windows: WalkForwardWindow[] = [];
  const equity: { time: number; equity: number }[] = [];
  let level = config.cash;
  for (let w = 0; w < layout.length; w++) {
    opts.signal?.throwIfAborted();
    const { inStart, inEnd, outEnd } = layout[w];
    const opt = await runOptimization(
      { ...req, bars: sliceBars(bars, inStart, inEnd), top: 1 },
      { signal: opts.signal },
    );
    const win: WalkForwardWindow = {
      index: w,
      inSample: { start: inStart, end: inEnd },
      outOfSample: { start: inEnd, end: outEnd },
      best: opt.best,
      outOfSampleMetrics: null,
    };
    if (equity.length === 0) equity.push({ time: bars.timestamp[inEnd - 1], equity: level });
    if (opt.best) {
      const res = await _runOnce(
        req,
        sliceBars(bars, inStart, outEnd),
        opt.best.params,
        opts.signal,
      );
      // equity from the last in-sample bar (the base) through the window's end
      const base = res.equity[inEnd - 1 - inStart].equity;
      const curve = new Float64Array(outEnd - inEnd + 1);
      curve[0] = base;
      for (let t = inEnd; t < outEnd; t++) {
        const e = res.equity[t - inStart].equity;
        curve[t - inEnd + 1] = e;
        equity.push({ time: bars.timestamp[t], equity: level * (e / base) });
      }
      level = equity[equity.length - 1].equity;
      const r = simpleReturns(curve);
      win.outOfSampleMetrics = comboMetricsOf({
        totalReturn: curve[curve.length - 1] / base - 1,
        cagr: cagr(r, { annualization: ann }),
        sharpeRatio: sharpeRatio(r, { annualization: ann }),
        sortinoRatio: sortinoRatio(r, { annualization: ann }),
        maxDrawdown: maxDrawdown(r),
        numTrades: res.trades.filter((t) =>
          t.exitTime !== null && t.exitTime >= bars.timestamp[inEnd]
        ).length,
        finalEquity: curve[curve.length - 1],
      });
    } else {
      // no qualifying combination: stay in cash for this window
      for (let t = inEnd; t < outEnd; t++) equity.push({ time: bars.timestamp[t], equity: level });
    }
    windows.push(win);
    opts.onWindow?.(win, layout.length);
  }
  const r = simpleReturns(equity.map((p) => p.equity));
  return {
    windows,
    equity,
    metrics: {
      totalReturn: equity[equity.length - 1].equity / config.cash - 1,
      cagr: cagr(r, { annualization: ann }),
      sharpe: sharpeRatio(r, { annualization: ann }),
      sortino: sortinoRatio(r, { annualization: ann }),
      maxDrawdown: maxDrawdown(r),
    },
  };
}
