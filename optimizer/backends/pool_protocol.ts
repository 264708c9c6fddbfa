/**
 * Messages between the worker pool and its engine workers, and the mapping from the engine's
 * result metrics to the optimizer's compact per-combination metrics.
 *
 * @module
 */
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
  | { type: "error"; message: string };

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
