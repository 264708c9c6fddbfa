/**
 * `runBacktest`: the per-bar event loop (docs/SEMANTICS.md "The per-bar loop").
 *
 * The loop is written for speed: per bar it copies the bar into the strategy's visible
 * arrays, runs fills only when orders are live, calls `OnData`, and writes the equity into a
 * `Float64Array`. No object is built per bar unless the strategy asks for one (a data view,
 * `ctx.position`) or an event listener is attached; the result objects are built once at the
 * end.
 *
 * @module
 */
import { annualizationOf, buildResult } from "./result.ts";
import { validateBars } from "./bars.ts";
import { Broker } from "./broker.ts";
import { type ConfigInput, resolveConfig } from "./config.ts";
import { StrategyCtx } from "./context.ts";
import { BarDataView, type Clock, VisibleBars } from "./data_view.ts";
import { Portfolio } from "./portfolio.ts";
import { Ta } from "./ta.ts";
import type {
  BacktestResult,
  Bars,
  EngineEvent,
  Strategy,
  StrategyClass,
  TechnicalAnalysis,
  TradeRecord,
} from "./types.ts";

/** Options of {@linkcode runBacktest}. */
export interface RunOptions {
  /** Overrides of the default configuration (validated by `resolveConfig`). */
  config?: ConfigInput;
  /** Merged over the strategy's own `params`. */
  params?: Record<string, number | string | boolean>;
  /** Called every `progressEvery` bars and after the last bar. */
  onProgress?: (p: { index: number; total: number; time: number; equity: number }) => void;
  /** Bars between `onProgress` calls. @default max(1, floor(n / 100)) */
  progressEvery?: number;
  /** Each closed trade as it closes (its own record object, not the one in the result). */
  onTrade?: (t: TradeRecord) => void;
  /** The full event stream (tests, debugging); when absent no event objects are built. */
  onEvent?: (e: EngineEvent) => void;
  /** Polled with progress; returning true throws {@linkcode BacktestCancelled}. */
  shouldStop?: () => boolean;
  /** Most `ctx.log` lines kept. @default 1000 */
  logLimit?: number;
  /**
   * Compute `metrics` (false leaves them `{}`: for sweeps that rank by their own measure).
   * @default true
   */
  metrics?: boolean;
  /**
   * Check the bars with `validateBars` first. False skips that full pass over every column:
   * only for callers that validated these very bars themselves and run them many times
   * (optimizer sweeps); invalid bars then give meaningless results instead of a `BarsError`.
   * @default true
   */
  validate?: boolean;
  /**
   * A buffer of exactly `bars.length` values to write the equity curve into instead of a new
   * one (sweeps: one fresh 8 MB array per 1M-bar run costs thousands of page faults). The
   * result's `equity` and its raw curve then live in this buffer: read them before reusing it.
   */
  equityBuffer?: Float64Array;
}

/** The run was stopped by `shouldStop`. */
export class BacktestCancelled extends Error {
  /** Bar index the run stopped at. */
  readonly bar: number;
  constructor(bar: number) {
    super(`Backtest cancelled at bar ${bar}`);
    this.name = "BacktestCancelled";
    this.bar = bar;
  }
}

/** Strategy code threw or returned an invalid signal; `bar` is the bar index (-1: Initialize). */
export class StrategyError extends Error {
  readonly bar: number;
  constructor(message: string, bar: number, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "StrategyError";
    this.bar = bar;
  }
}

function describe(v: unknown): string {
  if (typeof v === "string") return JSON.stringify(v);
  if (typeof v === "number" || typeof v === "bigint") return String(v);
  if (typeof v === "function") return "a function";
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}

function at(bars: Bars, t: number): string {
  const d = new Date(bars.timestamp[t]);
  return Number.isNaN(d.getTime()) ? `bar ${t}` : `bar ${t} (${d.toISOString()})`;
}

function errorText(e: unknown): string {
  return e instanceof Error ? `${e.name}: ${e.message}` : String(e);
}

function mergeParams(
  defaults: Record<string, number | string | boolean> | undefined,
  overrides: Record<string, number | string | boolean> | undefined,
): Record<string, number | string | boolean> {
  const out: Record<string, number | string | boolean> = { ...defaults };
  if (overrides === undefined) return out;
  const known = defaults !== undefined && Object.keys(defaults).length > 0;
  for (const [k, v] of Object.entries(overrides)) {
    if (known && !(k in out)) {
      throw new RangeError(
        `Unknown parameter "${k}": the strategy has ${Object.keys(out).join(", ")}`,
      );
    }
    const d = out[k];
    if (typeof d === "number" && typeof v === "string") {
      const x = Number(v);
      if (v.trim() === "" || !Number.isFinite(x)) {
        throw new RangeError(`Invalid parameter ${k}=${v}: expected a number`);
      }
      out[k] = x;
    } else if (typeof d === "boolean" && typeof v === "string") {
      if (v !== "true" && v !== "false") {
        throw new RangeError(`Invalid parameter ${k}=${v}: expected true or false`);
      }
      out[k] = v === "true";
    } else if (d !== undefined && typeof v !== typeof d) {
      throw new RangeError(
        `Invalid parameter ${k}=${describe(v)}: expected a ${typeof d} like its default ${
          describe(d)
        }`,
      );
    } else {
      out[k] = v;
    }
  }
  return out;
}

function instantiate(strategy: StrategyClass | Strategy): Strategy {
  if (typeof strategy === "function") {
    try {
      return new strategy();
    } catch (e) {
      throw new StrategyError(`Strategy constructor threw: ${errorText(e)}`, -1, { cause: e });
    }
  }
  if (strategy === null || typeof strategy !== "object") {
    throw new TypeError(
      `Invalid strategy: expected a class or an object, got ${describe(strategy)}`,
    );
  }
  return strategy;
}

/** Everything the per-bar loop touches, in one object of a fixed shape. */
interface Loop {
  bars: Bars;
  strategy: Strategy;
  data: BarDataView;
  ctx: StrategyCtx;
  clock: Clock;
  broker: Broker;
  portfolio: Portfolio;
  visible: VisibleBars;
  /** `ctx.ta`, once the strategy first asked for it. */
  ta: Ta | null;
  equity: Float64Array;
  longShort: boolean;
  fillOnClose: boolean;
  onEvent: ((e: EngineEvent) => void) | undefined;
  onProgress: RunOptions["onProgress"];
  shouldStop: (() => boolean) | undefined;
  every: number;
  /** Bars that ended with a position. */
  exposed: number;
}

/**
 * The per-bar loop (docs/SEMANTICS.md). A function of its own, so that it is optimized once
 * and reused by every run instead of being recompiled on stack replacement inside each call.
 * Returns the number of bars that ended with a position: returned rather than stored into `L`
 * after the loop, where the code compiled on stack replacement (before any loop had ended, so
 * without feedback for that store) deoptimized at the end of every run.
 */
function barLoop(L: Loop): number {
  const { bars, strategy, data, ctx, clock, broker, portfolio, equity } = L;
  const { longShort, fillOnClose, onEvent, onProgress, shouldStop, every } = L;
  const n = bars.length, ts = bars.timestamp, cl = bars.close;
  const watch = onProgress !== undefined || shouldStop !== undefined;
  let nextProgress = watch ? every - 1 : -1;
  let target = 0;
  let exposed = 0;
  for (let t = 0; t < n; t++) {
    clock.t = t;
    if (onEvent !== undefined) onEvent({ type: "bar", index: t, time: ts[t] });
    if (broker.liveCount > 0) broker.processBar(t);
    if (portfolio.position !== 0) broker.checkMargin(t);
    const ta = L.ta;
    if (ta !== null) ta.setIndex(t);

    let sig: unknown;
    try {
      sig = strategy.OnData(data, ctx);
    } catch (e) {
      throw new StrategyError(`Strategy OnData threw at ${at(bars, t)}: ${errorText(e)}`, t, {
        cause: e,
      });
    }
    if (sig !== undefined && sig !== 0) {
      let next: -1 | 0 | 1;
      if (sig === 1) next = 1;
      else if (sig === -1) next = longShort ? -1 : 0;
      else {
        throw new StrategyError(
          `Strategy returned an invalid signal at ${at(bars, t)}: ${
            describe(sig)
          } (expected 1, -1, 0 or undefined)`,
          t,
        );
      }
      if (onEvent !== undefined) {
        onEvent({ type: "signal", index: t, time: ts[t], signal: sig as 1 | -1 });
      }
      if (next !== target) {
        target = next;
        broker.submitSignal(next, t);
      }
    }
    if (fillOnClose && broker.liveCount > 0) broker.fillMarketAtClose(t);

    const pos = portfolio.position;
    if (pos === 0) {
      equity[t] = portfolio.cash;
    } else {
      equity[t] = portfolio.cash + pos * cl[t];
      exposed++;
    }
    if (t === nextProgress) {
      nextProgress += every;
      onProgress?.({ index: t, total: n, time: ts[t], equity: equity[t] });
      if (shouldStop?.() === true) throw new BacktestCancelled(t);
    }
  }
  return exposed;
}

/**
 * Runs `strategy` over `bars` and returns the result JSON (metrics, trades, equity per bar,
 * orders with their lifecycle, config, params, logs). Deterministic: the same inputs give a
 * byte-identical `JSON.stringify` of the result.
 *
 * @example
 * ```ts
 * const bars = barsFromRows([[0, 10, 11, 9, 10.5, 100], [86_400_000, 10.5, 12, 10, 11, 120]]);
 * const result = runBacktest(bars, class { OnData() { return 1; } }, { config: { cash: 1000 } });
 * result.equity.length; // 2
 * ```
 */
export function runBacktest(
  bars: Bars,
  strategy: StrategyClass | Strategy,
  opts: RunOptions = {},
): BacktestResult {
  if (opts.validate !== false) validateBars(bars);
  const config = resolveConfig(opts.config);
  const inst = instantiate(strategy);
  if (typeof inst.OnData !== "function") {
    throw new TypeError("Invalid strategy: it has no OnData(data, ctx) method");
  }
  const params = mergeParams(inst.params, opts.params);
  // The strategy reads `this.params` as well as `ctx.params`: both get the merged values.
  inst.params = { ...params };
  const frozenParams = Object.freeze({ ...params });

  const n = bars.length;
  const visible = new VisibleBars(bars);
  const clock: Clock = { t: -1 };
  const data = new BarDataView(visible, clock);
  const portfolio = new Portfolio(config.cash, opts.onTrade);
  const onEvent = opts.onEvent;
  const broker = new Broker(bars, config, portfolio, { onEvent });
  const logLimit = opts.logLimit ?? 1000;
  const logs: string[] = [];
  let dropped = 0;
  // Assigned below, before any strategy code runs; ctx.ta() stores the Ta it creates in it.
  let loop: Loop | null = null;
  let lazyTa: Ta | null = null;
  const ctx = new StrategyCtx({
    clock,
    portfolio,
    broker,
    close: bars.close,
    params: frozenParams,
    ta(): TechnicalAnalysis {
      if (lazyTa === null) {
        // The engine's own series, which the strategy never sees (`ctx` keeps the Ta in a
        // private field): the Ta computes ahead and hands out each value at its own bar.
        lazyTa = new Ta(bars, { ahead: true });
        if (clock.t >= 0) lazyTa.setIndex(clock.t);
        if (loop !== null) loop.ta = lazyTa;
      }
      return lazyTa;
    },
    log(line: string): void {
      if (logs.length < logLimit) {
        const t = clock.t;
        const when = t < 0 ? "init" : new Date(bars.timestamp[t]).toISOString();
        logs.push(`${when} ${line.length > 2000 ? line.slice(0, 2000) + "…" : line}`);
      } else dropped++;
    },
  });

  if (typeof inst.Initialize === "function") {
    try {
      inst.Initialize(ctx);
    } catch (e) {
      throw new StrategyError(`Strategy Initialize threw: ${errorText(e)}`, -1, { cause: e });
    }
  }

  const eb = opts.equityBuffer;
  if (eb !== undefined && !(eb instanceof Float64Array && eb.length === n)) {
    throw new RangeError(`equityBuffer must be a Float64Array of ${n} values (one per bar)`);
  }
  const equity = eb ?? new Float64Array(n);
  const every = Math.max(1, Math.floor(opts.progressEvery ?? n / 100));
  loop = {
    bars,
    strategy: inst,
    data,
    ctx,
    clock,
    broker,
    portfolio,
    visible,
    ta: lazyTa,
    equity,
    longShort: config.mode === "long_short",
    fillOnClose: config.fillOn === "close",
    onEvent,
    onProgress: opts.onProgress,
    shouldStop: opts.shouldStop,
    every,
    exposed: 0,
  };
  try {
    loop.exposed = barLoop(loop);
  } finally {
    // The strategy's columns go back to the pool for the next run (engine/data_view.ts).
    visible.release();
  }
  const { timestamp: ts } = bars;
  const watch = opts.onProgress !== undefined || opts.shouldStop !== undefined;

  if (n > 0 && config.closeAtEnd && portfolio.position !== 0) {
    broker.closeAtEnd(n - 1);
    equity[n - 1] = portfolio.cash;
  }
  if (watch && n > 0 && (n - 1) % every !== every - 1) {
    opts.onProgress?.({ index: n - 1, total: n, time: ts[n - 1], equity: equity[n - 1] });
  }
  if (dropped > 0) logs.push(`… ${dropped} more log lines dropped (logLimit ${logLimit})`);

  return buildResult({
    bars,
    config,
    params,
    equity,
    portfolio,
    orders: broker.orders,
    logs,
    exposure: n > 0 ? loop.exposed / n : 0,
    // Inferring the bar interval reads every timestamp: only when metrics need it.
    annualization: opts.metrics === false ? 0 : annualizationOf(config, bars),
    metrics: opts.metrics !== false,
  });
}
