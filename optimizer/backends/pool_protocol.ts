/**
 * Messages between the worker pool and its engine workers, and the mapping from the engine's
 * result metrics to the optimizer's compact per-combination metrics.
 *
 * @module
 */
import { StrategyError } from "../../engine/backtest.ts";
import type { BacktestConfig } from "../../engine/types.ts";
import type { FamilyId } from "../../gpu/families.ts";
import type { ParamSet } from "../grid.ts";
import type { ComboMetrics } from "../objective.ts";

/** Pool → worker. */
export type PoolRequest =
  | {
    type: "init";
    moduleUrl: string;
    columns: {
      timestamp: Float64Array;
      open: Float64Array;
      high: Float64Array;
      low: Float64Array;
      close: Float64Array;
      volume: Float64Array;
    };
    config: Partial<BacktestConfig> & { slippageBps?: number };
    /** A built-in family: run the CPU decision kernel and float64 replay, not the engine. */
    family?: { id: FamilyId; annualization: number };
  }
  | { type: "chunk"; start: number; params: ParamSet[] }
  /** Replay decided events of a built-in family (init must have `family`). */
  | { type: "replay"; id: number; params: ParamSet[]; events: Uint32Array[] };

/** Worker → pool. */
export type PoolReply =
  | { type: "ready" }
  | { type: "done"; start: number; results: ComboMetrics[] }
  | { type: "replayed"; id: number; results: { metrics: ComboMetrics; fallback: boolean }[] }
  /** `name`: the error's class (see `poolError`); `bar`: a strategy error's bar. */
  | { type: "error"; message: string; name?: string; bar?: number | null };

/** A combination of strategy code ran past the pool's time budget. */
export class ComboTimeoutError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ComboTimeoutError";
  }
}

/**
 * An error a worker (or the isolated pool's subprocess) reported by name, rebuilt as the class
 * the caller maps: `RangeError` / `SyntaxError` are bad input, `StrategyError` the strategy's
 * own failure (its bar when known, else -1), `ComboTimeoutError` a strategy too slow; a bare
 * `Error` keeps its name and stays an internal error.
 */
export function poolError(name: string | undefined, message: string, bar?: number | null): Error {
  switch (name) {
    case "RangeError":
      return new RangeError(message);
    case "SyntaxError":
      return new SyntaxError(message);
    case "TypeError":
      return new TypeError(message);
    case "StrategyError":
      return new StrategyError(message, bar ?? -1);
    case "ComboTimeoutError":
      return new ComboTimeoutError(message);
  }
  const e = new Error(message);
  if (name) e.name = name;
  return e;
}

/** What a worker posts for `err` (its class by name, a strategy error's bar). */
export function errorReply(err: unknown, prefix = ""): Extract<PoolReply, { type: "error" }> {
  const e = err instanceof Error ? err : new Error(String(err));
  return {
    type: "error",
    message: prefix + e.message,
    name: e.name,
    bar: e instanceof StrategyError ? e.bar : null,
  };
}

const num = (v: number | null | undefined) => (typeof v === "number" ? v : NaN);

/** The compact metrics of an engine result (`null` → NaN). */
export function comboMetricsOf(m: Record<string, number | null>): ComboMetrics {
  return {
    totalReturn: num(m.totalReturn),
    cagr: num(m.cagr),
    sharpe: num(m.sharpeRatio),
    sortino: num(m.sortinoRatio),
    calmar: num(m.calmarRatio),
    maxDrawdown: num(m.maxDrawdown),
    trades: num(m.numTrades),
    winRate: num(m.winRate),
    profitFactor: num(m.profitFactor),
    finalEquity: num(m.finalEquity),
  };
}
