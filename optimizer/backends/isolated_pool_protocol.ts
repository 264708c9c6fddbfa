/**
 * What `isolated_pool.ts` and its subprocess (`isolated_pool_host.ts`) exchange: one header
 * line in, JSON lines out. JSON has no NaN or ±Infinity, which metrics take (a Sharpe ratio
 * of a flat run), so those travel as strings and come back as the same numbers.
 *
 * @module
 */
import type { ParamSet } from "../grid.ts";
import type { ComboMetrics } from "../objective.ts";
import type { StrategySource, WorkerPoolOptions } from "./workers.ts";

/** The request's first line; the bars (6 float64 columns of `bars` values) follow it. */
export interface IsolatedPoolHeader {
  bars: number;
  source: StrategySource;
  combos: ParamSet[];
  options: Pick<WorkerPoolOptions, "size" | "chunkSize" | "config" | "comboTimeoutMs">;
}

/** A metrics record with its non-finite numbers as strings. */
export type EncodedMetrics = Record<string, number | string>;

/** One line of the subprocess' stdout. */
export type IsolatedPoolLine =
  | { type: "chunk"; start: number; results: EncodedMetrics[] }
  | { type: "done" }
  | { type: "error"; name: string; message: string; bar?: number | null };

/** `m` with NaN and ±Infinity as "NaN", "Infinity", "-Infinity". */
export function encodeMetrics(m: ComboMetrics): EncodedMetrics {
  const o: EncodedMetrics = {};
  for (const [k, v] of Object.entries(m)) o[k] = Number.isFinite(v) ? v : String(v);
  return o;
}

/** The inverse of {@linkcode encodeMetrics}. */
export function decodeMetrics(o: EncodedMetrics): ComboMetrics {
  const m: Record<string, number> = {};
  for (const [k, v] of Object.entries(o)) m[k] = typeof v === "number" ? v : Number(v);
  return m as unknown as ComboMetrics;
}
