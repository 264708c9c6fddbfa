/**
 * Number formatting for tables and tooltips.
 *
 * @module
 */

/** Metric keys shown as percentages (fractions in the result JSON). */
const PERCENT_KEYS = new Set([
  "totalReturn",
  "cagr",
  "annualReturn",
  "annualVolatility",
  "maxDrawdown",
  "valueAtRisk",
  "conditionalValueAtRisk",
  "alpha",
  "winRate",
  "exposure",
  "returnPct",
  "bestTrade",
  "worstTrade",
]);

/** Formats a metric by its key: percentages, money, counts, ratios; "—" for null/NaN. */
export function formatMetric(key: string, v: number | null | undefined): string {
  if (v === null || v === undefined || Number.isNaN(v)) return "—";
  if (!Number.isFinite(v)) return v > 0 ? "∞" : "−∞";
  if (PERCENT_KEYS.has(key)) return `${(v * 100).toFixed(2)} %`;
  if (key === "numTrades" || key === "maxDrawdownDuration" || key === "annualization") {
    return String(Math.round(v));
  }
  if (
    key === "finalEquity" || key === "feesPaid" || key === "expectancy" || key === "avgWin" ||
    key === "avgLoss"
  ) {
    return formatMoney(v);
  }
  return v.toFixed(3);
}

/** 12,345.67 style. */
export function formatMoney(v: number): string {
  return v.toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
}

/** A UTC date (and time when not midnight) for bar timestamps in ms. */
export function formatTime(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return "—";
  const iso = new Date(ms).toISOString();
  return iso.endsWith("T00:00:00.000Z") ? iso.slice(0, 10) : iso.slice(0, 16).replace("T", " ");
}

const LABELS: Record<string, string> = {
  cagr: "CAGR",
  valueAtRisk: "Value at risk (95 %)",
  conditionalValueAtRisk: "CVaR (95 %)",
  maxDrawdownDuration: "Max drawdown duration (bars)",
  numTrades: "Trades",
  feesPaid: "Fees paid",
};

/** Human label of a metric key: "sharpeRatio" → "Sharpe ratio". */
export function metricLabel(key: string): string {
  if (key in LABELS) return LABELS[key];
  const spaced = key.replace(/([A-Z])/g, " $1").toLowerCase();
  return spaced.charAt(0).toUpperCase() + spaced.slice(1);
}
