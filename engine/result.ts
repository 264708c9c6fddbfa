/**
 * Builds the result JSON of a backtest once, after the loop, from its typed arrays.
 *
 * @module
 */
import { inferAnnualization } from "./annualization.ts";
import type { OrderBook } from "./orders.ts";
import type { Portfolio } from "./portfolio.ts";
import type { TradeBook } from "./trade_book.ts";
import { SCRATCH, scratchArray } from "./scratch.ts";
import { computeMetrics, type TradeStats } from "./trade_stats.ts";
import type { BacktestConfig, BacktestResult, Bars, OrderRecord, TradeRecord } from "./types.ts";

/** Everything {@linkcode buildResult} needs from a finished run. */
export interface ResultParts {
  bars: Bars;
  config: BacktestConfig;
  params: Record<string, number | string | boolean>;
  /** Equity at every bar's close. */
  equity: Float64Array;
  portfolio: Portfolio;
  orders: OrderBook;
  logs: string[];
  /** Fraction of bars that ended with a position. */
  exposure: number;
  annualization: number;
  /** False skips computeMetrics (metrics `{}`). */
  metrics: boolean;
}

/** Defines `obj[key]` as an enumerable property computed once, on first read (and settable). */
function lazyProperty<T extends object, K extends keyof T>(obj: T, key: K, build: () => T[K]) {
  let value: T[K] | undefined;
  let built = false;
  Object.defineProperty(obj, key, {
    enumerable: true,
    configurable: true,
    get(): T[K] {
      if (!built) {
        value = build();
        built = true;
      }
      return value as T[K];
    },
    set(v: T[K]) {
      value = v;
      built = true;
    },
  });
}

/** Periods per year: the configured value, else inferred from the bar interval. */
export function annualizationOf(config: BacktestConfig, bars: Bars): number {
  if (config.annualization !== null) return config.annualization;
  return bars.length >= 2 ? inferAnnualization(bars.timestamp) : 252;
}

/**
 * Per-bar simple returns of buy-and-hold (`close[t] / close[t-1] - 1`, t ≥ 1); written into
 * `into` when given (it must hold `max(0, n - 1)` values).
 */
export function buyAndHoldReturns(bars: Bars, into?: Float64Array): Float64Array {
  const n = bars.length, c = bars.close;
  const r = into ?? new Float64Array(Math.max(0, n - 1));
  for (let t = 1; t < n; t++) r[t - 1] = c[t] / c[t - 1] - 1;
  return r;
}

/**
 * Key of a non-enumerable property on every result holding the raw equity curve
 * (`Float64Array`, one value per bar): the sandbox ships it as binary without building the
 * `{ time, equity }` objects. Absent from JSON.
 */
export const EQUITY_VALUES: unique symbol = Symbol("wagyu.equityValues");

/**
 * Key of a non-enumerable property on every result holding its trades' statistics
 * (`TradeStats`, exactly `tradeStats(result.trades)`), computed from the engine's trade columns
 * on first read: a sweep that ranks by them need not build the `trades` records. Absent from
 * JSON.
 */
/**
 * The run's order and trade books and open trade, on every result (not enumerable): the
 * sandbox ships these columns out of its Worker instead of records.
 */
export const RUN_BOOKS: unique symbol = Symbol("wagyu.runBooks");

/** What {@linkcode RUN_BOOKS} holds. */
export interface RunBooks {
  orders: OrderBook;
  trades: TradeBook;
  /** The position still open after the last bar, as a trade (null when flat). */
  open: TradeRecord | null;
}

/** What {@linkcode attachRunParts} builds a result's lazy parts from. */
export interface RunParts extends RunBooks {
  /** Time of each equity point (the bars' timestamps). */
  times: Float64Array;
  /** Equity at every bar's close. */
  equity: Float64Array;
  /** The trade statistics (computed once, when first asked for). */
  tradeStats: () => TradeStats;
}

/**
 * Gives `result` its `equity`, `orders` and `trades` (built on first read, replacing the
 * placeholders in place so the key order stays) and its raw parts under
 * {@linkcode EQUITY_VALUES}, {@linkcode TRADE_STATS} and {@linkcode RUN_BOOKS}. The engine
 * calls it at the end of a run, the sandbox's decoder on the columns it received: both give
 * the same records by the same code.
 */
export function attachRunParts(result: BacktestResult, p: RunParts): void {
  const { times, equity, orders, trades: book, open } = p;
  const n = equity.length;
  // A million `{ time, equity }` objects (or tens of thousands of order records) cost more than
  // the whole loop, and many callers (optimizer sweeps, metrics-only runs) never read them:
  // build them on first read. The properties stay enumerable, so JSON.stringify and
  // structuredClone see plain arrays.
  lazyProperty(result, "equity", () => {
    const curve = new Array<{ time: number; equity: number }>(n);
    for (let t = 0; t < n; t++) curve[t] = { time: times[t], equity: equity[t] };
    return curve;
  });
  // The raw curve for the sandbox, which ships it as float64 (not enumerable: JSON unchanged).
  Object.defineProperty(result, EQUITY_VALUES, { value: equity });
  Object.defineProperty(result, TRADE_STATS, { get: p.tradeStats });
  Object.defineProperty(result, RUN_BOOKS, { value: { orders, trades: book, open } });
  lazyProperty(result, "orders", () => orders.records());
  lazyProperty(result, "trades", () => {
    const trades = book.records();
    if (open !== null) trades.push(open);
    return trades;
  });
}

export const TRADE_STATS: unique symbol = Symbol("wagyu.tradeStats");

/** Assembles the `BacktestResult` (metrics through `computeMetrics`). */
export function buildResult(p: ResultParts): BacktestResult {
  const { bars, equity, portfolio } = p;
  const n = bars.length;
  const open = n > 0 ? portfolio.openTrade(bars.close[n - 1]) : null;
  const book = portfolio.book;
  let stats: TradeStats | null = null;
  // From the trade columns: the same numbers as from the records, without building them.
  const tradeStats = () => stats ??= book.stats(open);
  const metrics = p.metrics
    ? computeMetrics(equity, [], {
      tradeStats: tradeStats(),
      annualization: p.annualization,
      // Lives only for computeMetrics: a reused buffer (see engine/scratch.ts).
      benchmark: buyAndHoldReturns(bars, scratchArray(SCRATCH.benchmark, Math.max(0, n - 1))),
      exposure: p.exposure,
      feesPaid: portfolio.feesPaid,
    })
    : {};
  const result = {
    config: structuredClone(p.config),
    params: { ...p.params },
    bars: {
      count: n,
      start: n > 0 ? bars.timestamp[0] : null,
      end: n > 0 ? bars.timestamp[n - 1] : null,
    },
    metrics,
    trades: [] as TradeRecord[],
    equity: [] as { time: number; equity: number }[],
    orders: [] as OrderRecord[],
    logs: p.logs,
  };
  attachRunParts(result, {
    times: bars.timestamp,
    equity,
    orders: p.orders,
    trades: book,
    open,
    tradeStats,
  });
  return result;
}
