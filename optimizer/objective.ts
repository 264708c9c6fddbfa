/**
 * Objectives and filters: how combinations are scored and which ones qualify.
 *
 * @module
 */
import type { ParamSet } from "./grid.ts";

/** The compact per-combination result every backend returns. */
export interface ComboMetrics {
  totalReturn: number;
  cagr: number;
  sharpe: number;
  sortino: number;
  calmar: number;
  /** Negative fraction, e.g. -0.25 for a 25 % drawdown (empyrical's sign). */
  maxDrawdown: number;
  trades: number;
  winRate: number;
  profitFactor: number;
  finalEquity: number;
}

/** A combination and its metrics. */
export interface ComboResult {
  params: ParamSet;
  metrics: ComboMetrics;
}

/** Metric names usable as an objective. */
export type ObjectiveName =
  | "sharpe"
  | "sortino"
  | "calmar"
  | "cagr"
  | "totalReturn"
  | "maxDrawdown"
  | "profitFactor";

/** Every objective name, for validation and UIs. */
export const OBJECTIVES: readonly ObjectiveName[] = [
  "sharpe",
  "sortino",
  "calmar",
  "cagr",
  "totalReturn",
  "maxDrawdown",
  "profitFactor",
];

/** A filter `metric op value`, e.g. trades ≥ 10. */
export interface Filter {
  metric: keyof ComboMetrics;
  op: ">=" | ">" | "<=" | "<" | "==";
  value: number;
}

const METRIC_ALIASES: Record<string, keyof ComboMetrics> = {
  trades: "trades",
  numTrades: "trades",
  sharpe: "sharpe",
  sharpeRatio: "sharpe",
  sortino: "sortino",
  sortinoRatio: "sortino",
  calmar: "calmar",
  calmarRatio: "calmar",
  cagr: "cagr",
  totalReturn: "totalReturn",
  maxDrawdown: "maxDrawdown",
  winRate: "winRate",
  profitFactor: "profitFactor",
  finalEquity: "finalEquity",
};

/** Validates an objective name; throws `RangeError` listing the valid ones. */
export function parseObjective(name: string): ObjectiveName {
  const key = METRIC_ALIASES[name];
  if (!key || !(OBJECTIVES as readonly string[]).includes(key)) {
    throw new RangeError(`Unknown objective "${name}": use one of ${OBJECTIVES.join(", ")}`);
  }
  return key as ObjectiveName;
}

/**
 * Parses `"trades>=10"` (also `trades >= 10`); throws `SyntaxError` naming the bad part.
 *
 * @example
 * ```ts
 * parseFilter("trades>=10"); // { metric: "trades", op: ">=", value: 10 }
 * ```
 */
export function parseFilter(text: string): Filter {
  const m = /^\s*([A-Za-z]+)\s*(>=|<=|==|>|<)\s*(-?[\d.]+(?:e-?\d+)?)\s*$/.exec(text);
  if (!m) throw new SyntaxError(`Cannot parse filter "${text}": expected e.g. "trades>=10"`);
  const metric = METRIC_ALIASES[m[1]];
  if (!metric) {
    throw new RangeError(
      `Cannot parse filter "${text}": unknown metric "${m[1]}" (use ${
        Object.keys(METRIC_ALIASES).join(", ")
      })`,
    );
  }
  const value = Number(m[3]);
  if (!Number.isFinite(value)) throw new SyntaxError(`Cannot parse filter "${text}": bad number`);
  return { metric, op: m[2] as Filter["op"], value };
}

/** Whether the metrics pass every filter (NaN metrics never pass). */
export function passes(m: ComboMetrics, filters: readonly Filter[]): boolean {
  for (const f of filters) {
    const v = m[f.metric];
    if (!Number.isFinite(v) && !(v === Infinity && (f.op === ">=" || f.op === ">"))) return false;
    switch (f.op) {
      case ">=":
        if (!(v >= f.value)) return false;
        break;
      case ">":
        if (!(v > f.value)) return false;
        break;
      case "<=":
        if (!(v <= f.value)) return false;
        break;
      case "<":
        if (!(v < f.value)) return false;
        break;
      case "==":
        if (!(v === f.value)) return false;
        break;
    }
  }
  return true;
}

/**
 * The score to maximize: the metric itself for every objective (max drawdown is negative,
 * so closer to zero scores higher). NaN becomes -Infinity so it never wins.
 */
export function score(m: ComboMetrics, objective: ObjectiveName): number {
  const v = m[objective];
  return Number.isNaN(v) ? -Infinity : v;
}

/** Whether `a` ranks before `b` (higher score; ties keep the earlier combination). */
export function better(a: ComboMetrics, b: ComboMetrics, objective: ObjectiveName): boolean {
  return score(a, objective) > score(b, objective);
}

/**
 * The `top` best qualifying combinations, best first; a stable sort keeps grid order on ties.
 */
export function rankCombos(
  combos: readonly ComboResult[],
  opts: { objective: ObjectiveName; filters?: readonly Filter[]; top?: number },
): ComboResult[] {
  const filters = opts.filters ?? [];
  const ok = combos.filter((c) => passes(c.metrics, filters));
  ok.sort((a, b) => {
    const sa = score(a.metrics, opts.objective), sb = score(b.metrics, opts.objective);
    return sa === sb ? 0 : sb > sa ? 1 : -1;
  });
  return opts.top === undefined ? ok : ok.slice(0, opts.top);
}
