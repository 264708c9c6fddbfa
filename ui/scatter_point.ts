/**
 * Optimization results as scatter-plot points. The server's `optimization_progress` messages
 * and status answers carry combinations either as `{ params, metrics }` or flat
 * (`{ fast: 10, slow: 30, sharpe: 1.2, … }`); both become one {@link ScatterPoint}.
 *
 * @module
 */

/** One evaluated parameter combination. */
export interface ScatterPoint {
  params: Record<string, number>;
  sharpe: number | null;
  maxDrawdown: number | null;
  cagr: number | null;
  totalReturn: number | null;
  trades: number | null;
}

const METRIC_KEYS = new Set([
  "sharpe",
  "sharperatio",
  "maxdrawdown",
  "drawdown",
  "cagr",
  "totalreturn",
  "trades",
  "numtrades",
  "sortino",
  "sortinoratio",
  "winrate",
  "finalequity",
  "objective",
  "score",
  "index",
  "id",
]);

function num(v: unknown): number | null {
  return typeof v === "number" && Number.isFinite(v) ? v : null;
}

function pick(obj: Record<string, unknown>, ...keys: string[]): number | null {
  for (const k of keys) {
    const v = num(obj[k]);
    if (v !== null) return v;
  }
  return null;
}

/**
 * Normalizes one combination; `null` when it is not an object. Parameters are taken from
 * `params` when present, else from the numeric fields that are not metrics.
 */
export function toScatterPoint(raw: unknown): ScatterPoint | null {
  if (!raw || typeof raw !== "object") return null;
  const obj = raw as Record<string, unknown>;
  const metrics = obj.metrics && typeof obj.metrics === "object"
    ? { ...obj, ...(obj.metrics as Record<string, unknown>) }
    : obj;
  const params: Record<string, number> = {};
  if (obj.params && typeof obj.params === "object") {
    for (const [k, v] of Object.entries(obj.params as Record<string, unknown>)) {
      const n = num(v);
      if (n !== null) params[k] = n;
    }
  } else {
    for (const [k, v] of Object.entries(obj)) {
      const n = num(v);
      if (n !== null && !METRIC_KEYS.has(k.toLowerCase())) params[k] = n;
    }
  }
  return {
    params,
    sharpe: pick(metrics, "sharpe", "sharpeRatio"),
    maxDrawdown: pick(metrics, "maxDrawdown", "drawdown"),
    cagr: pick(metrics, "cagr"),
    totalReturn: pick(metrics, "totalReturn"),
    trades: pick(metrics, "trades", "numTrades"),
  };
}

/** Identity of a combination, to merge repeated points (snapshot after live updates). */
export function comboKey(params: Record<string, number>): string {
  return Object.keys(params).sort().map((k) => `${k}=${params[k]}`).join("&");
}

/**
 * The `n` points with the highest Sharpe (nulls skipped), best first, in one pass: a grid's
 * table re-renders on every progress message, and sorting 100k points each time would not do.
 */
export function bestBySharpe(points: readonly ScatterPoint[], n: number): ScatterPoint[] {
  const top: ScatterPoint[] = [];
  for (const p of points) {
    if (p.sharpe === null) continue;
    if (top.length === n && p.sharpe <= top[n - 1].sharpe!) continue;
    let i = top.length;
    while (i > 0 && top[i - 1].sharpe! < p.sharpe) i--;
    top.splice(i, 0, p);
    if (top.length > n) top.pop();
  }
  return top;
}
