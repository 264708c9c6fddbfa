/**
 * The backtest report: one self-contained HTML file (chart.js inlined, nothing fetched when it
 * opens) with the equity curve against buy-and-hold, the drawdown curve, the trades marked on
 * the price chart, a monthly returns heatmap, the metrics table and the trade list.
 *
 * Used by `deno task backtest … --report out.html` and `GET /api/backtest/{id}/report`.
 *
 * @module
 */
import type { BacktestResult, Bars, TradeRecord } from "../engine/types.ts";
import { monthlyReturns } from "./monthly_returns.ts";
import { decimate, escapeHtml, heatColor, reportPage } from "./report_page.ts";
import { formatMetric } from "../ui/format_value.ts";

export { renderOptimizationReport } from "./optimization_report.ts";
export type { OptimizationReportOptions } from "./optimization_report.ts";

/** Options of {@link renderBacktestReport}. */
export interface BacktestReportOptions {
  /** Page title. @default "WagYu backtest report" */
  title?: string;
  /** A line under the title (strategy, symbol, data source). */
  subtitle?: string;
  /** Most points per chart series; longer series are min/max decimated. @default 4000 */
  maxPoints?: number;
  /** Most trades listed and marked (the first ones); the count is stated. @default 2000 */
  maxTrades?: number;
  /** chart.js source to inline instead of the package's (tests). */
  chartJs?: string;
}

/** A price, quantity or other plain number as the report shows it. */
function formatNumber(v: number): string {
  if (!Number.isFinite(v)) return Number.isNaN(v) ? "—" : v > 0 ? "∞" : "−∞";
  if (Number.isInteger(v)) return v.toLocaleString("en-US");
  return Math.abs(v) >= 1000 ? v.toFixed(2) : v.toPrecision(4);
}

function fmtTime(ms: number | null, intraday: boolean): string {
  if (ms === null) return "open";
  const iso = new Date(ms).toISOString();
  return intraday ? `${iso.slice(0, 16).replace("T", " ")}` : iso.slice(0, 10);
}

function pct(r: number | null): string {
  return r === null || !Number.isFinite(r) ? "" : `${(r * 100).toFixed(1)}`;
}

function metricsTable(metrics: Record<string, number | null>): string {
  const rows = Object.entries(metrics).map(([k, v]) =>
    `<tr><th scope="row">${escapeHtml(k)}</th><td>${escapeHtml(formatMetric(k, v))}</td></tr>`
  );
  return `<div class="metrics"><table id="metrics"><tbody>${rows.join("")}</tbody></table></div>`;
}

function heatmapTable(times: Float64Array, equity: Float64Array, base: number): string {
  const years = monthlyReturns(times, equity, base);
  let scale = 0;
  for (const y of years) {
    for (const r of y.months) if (r !== null) scale = Math.max(scale, Math.abs(r));
  }
  const months = [
    "Jan",
    "Feb",
    "Mar",
    "Apr",
    "May",
    "Jun",
    "Jul",
    "Aug",
    "Sep",
    "Oct",
    "Nov",
    "Dec",
  ];
  const head = `<tr><th>Year</th>${months.map((m) => `<th>${m}</th>`).join("")}<th>Year</th></tr>`;
  const body = years.map((y) =>
    `<tr><th scope="row">${y.year}</th>${
      y.months.map((r) =>
        `<td style="background:${heatColor(r, scale)}"${
          r === null ? "" : ` title="${(r * 100).toFixed(3)} %"`
        }>${pct(r)}</td>`
      ).join("")
    }<td class="${y.total >= 0 ? "pos" : "neg"}"><b>${pct(y.total)}</b></td></tr>`
  ).join("");
  return `<table class="heat" id="monthly-returns"><thead>${head}</thead><tbody>${body}</tbody></table>
<p class="note">Month-end equity over the previous month-end (the first month over the starting cash), in %.</p>`;
}

function tradeTable(trades: TradeRecord[], max: number, intraday: boolean): string {
  const shown = trades.slice(0, max);
  const rows = shown.map((t, i) =>
    `<tr><td>${i + 1}</td><td>${t.side}</td><td>${fmtTime(t.entryTime, intraday)}</td><td>${
      formatNumber(t.entryPrice)
    }</td><td>${fmtTime(t.exitTime, intraday)}</td><td>${
      t.exitPrice === null ? "" : formatNumber(t.exitPrice)
    }</td><td>${formatNumber(t.quantity)}</td><td class="${t.pnl >= 0 ? "pos" : "neg"}">${
      t.pnl.toFixed(2)
    }</td><td>${(t.returnPct * 100).toFixed(2)} %</td><td>${t.fees.toFixed(2)}</td><td>${
      escapeHtml(t.exitReason ?? "")
    }</td></tr>`
  ).join("");
  const note = trades.length > max
    ? `<p class="note">The first ${max} of ${trades.length} trades.</p>`
    : "";
  return `${note}<div class="scroll"><table id="trades"><thead><tr><th>#</th><th>Side</th>` +
    `<th>Entry</th><th>Entry price</th><th>Exit</th><th>Exit price</th><th>Qty</th><th>PnL</th>` +
    `<th>Return</th><th>Fees</th><th>Exit reason</th></tr></thead><tbody>${rows}</tbody></table></div>`;
}

/** The page's script: builds the four charts from `#report-data`. */
const SCRIPT = `
const D = JSON.parse(document.getElementById("report-data").textContent);
const fmt = (ms) => { const s = new Date(ms).toISOString(); return D.intraday ? s.slice(0, 16).replace("T", " ") : s.slice(0, 10); };
const pts = (a) => a.map((p) => ({ x: p[0], y: p[1] }));
const xAxis = { type: "linear", min: D.t0, max: D.t1, ticks: { callback: (v) => fmt(v), maxTicksLimit: 8 } };
const base = { animation: false, responsive: true, maintainAspectRatio: false, parsing: false, normalized: true,
  interaction: { mode: "nearest", intersect: false },
  plugins: { tooltip: { callbacks: { title: (items) => items.length ? fmt(items[0].parsed.x) : "" } } } };
const line = (label, data, color, extra) => Object.assign({ label, data: pts(data), borderColor: color,
  backgroundColor: color, borderWidth: 1.5, pointRadius: 0 }, extra || {});
new Chart(document.getElementById("equity-chart"), { type: "line", options: Object.assign({}, base, {
  scales: { x: xAxis, y: { title: { display: true, text: "Equity" } } } }),
  data: { datasets: [line("Strategy", D.equity, "#2563eb"), line("Buy & hold", D.buyHold, "#9ca3af", { borderDash: [4, 3] })] } });
new Chart(document.getElementById("drawdown-chart"), { type: "line", options: Object.assign({}, base, {
  scales: { x: xAxis, y: { max: 0, ticks: { callback: (v) => (v * 100).toFixed(0) + " %" } } },
  plugins: Object.assign({}, base.plugins, { legend: { display: false } }) }),
  data: { datasets: [line("Drawdown", D.drawdown, "#dc2626", { fill: "origin", backgroundColor: "rgba(220,38,38,0.25)" })] } });
const marks = (label, data, color, style, rotation) => ({ type: "scatter", label, data: pts(data), borderColor: color,
  backgroundColor: color, pointStyle: style, pointRadius: 5, rotation: rotation || 0 });
new Chart(document.getElementById("price-chart"), { type: "line", options: Object.assign({}, base, {
  scales: { x: xAxis, y: { title: { display: true, text: "Price" } } } }),
  data: { datasets: [line("Close", D.price, "#374151", { borderWidth: 1 }),
    marks("Long entry", D.longEntries, "#16a34a", "triangle"),
    marks("Short entry", D.shortEntries, "#dc2626", "triangle", 180),
    marks("Exit", D.exits, "#f59e0b", "crossRot")] } });
`;

/**
 * Renders `result` (run on `bars`) as one self-contained HTML page. Buy-and-hold is the
 * starting cash invested at the first bar's close and held: `cash × close[t] / close[0]`.
 */
export function renderBacktestReport(
  result: BacktestResult,
  bars: Bars,
  opts: BacktestReportOptions = {},
): string {
  const maxPoints = opts.maxPoints ?? 4000;
  const maxTrades = opts.maxTrades ?? 2000;
  const n = result.equity.length;
  const times = new Float64Array(n);
  const equity = new Float64Array(n);
  const drawdown = new Float64Array(n);
  let peak = -Infinity;
  for (let i = 0; i < n; i++) {
    times[i] = result.equity[i].time;
    equity[i] = result.equity[i].equity;
    peak = Math.max(peak, equity[i]);
    drawdown[i] = peak > 0 ? equity[i] / peak - 1 : 0;
  }
  const cash = Number.isFinite(result.config?.cash) && result.config.cash > 0
    ? result.config.cash
    : (equity[0] ?? 1);
  const buyHold = new Float64Array(bars.length);
  const c0 = bars.length ? bars.close[0] : NaN;
  for (let i = 0; i < bars.length; i++) buyHold[i] = cash * bars.close[i] / c0;
  // Intraday when two consecutive bars are less than a day apart.
  let intraday = false;
  for (let i = 1; i < Math.min(bars.length, 50) && !intraday; i++) {
    intraday = bars.timestamp[i] - bars.timestamp[i - 1] < 86_400_000;
  }
  const shown = result.trades.slice(0, maxTrades);
  const data = {
    intraday,
    t0: bars.length ? bars.timestamp[0] : (times[0] ?? 0),
    t1: bars.length ? bars.timestamp[bars.length - 1] : (times[n - 1] ?? 1),
    equity: decimate(times, equity, maxPoints),
    buyHold: decimate(bars.timestamp, buyHold, maxPoints),
    drawdown: decimate(times, drawdown, maxPoints),
    price: decimate(bars.timestamp, bars.close, maxPoints),
    longEntries: shown.filter((t) => t.side === "long").map((t) => [t.entryTime, t.entryPrice]),
    shortEntries: shown.filter((t) => t.side === "short").map((t) => [t.entryTime, t.entryPrice]),
    exits: shown.filter((t) => t.exitTime !== null).map((t) => [t.exitTime, t.exitPrice]),
  };
  const m = result.metrics ?? {};
  const title = opts.title ?? "WagYu backtest report";
  const span = n
    ? `${fmtTime(times[0], intraday)} → ${fmtTime(times[n - 1], intraday)}`
    : "no bars";
  const params = Object.entries(result.params ?? {}).map(([k, v]) => `${k}=${v}`).join(", ");
  const summary = [
    opts.subtitle,
    `${n.toLocaleString("en-US")} bars, ${span}`,
    params ? `params ${params}` : "",
    `total return ${formatMetric("totalReturn", m.totalReturn)}`,
    `Sharpe ${formatMetric("sharpeRatio", m.sharpeRatio)}`,
    `max drawdown ${formatMetric("maxDrawdown", m.maxDrawdown)}`,
    `${result.trades.length} trades`,
  ].filter(Boolean).map((s) => escapeHtml(String(s))).join(" · ");
  const body = `<h1>${escapeHtml(title)}</h1>
<p class="sub">${summary}</p>
<h2>Equity vs buy-and-hold</h2>
<div class="chart"><canvas id="equity-chart"></canvas></div>
<h2>Drawdown</h2>
<div class="chart small"><canvas id="drawdown-chart"></canvas></div>
<h2>Price and trades</h2>
<div class="chart"><canvas id="price-chart"></canvas></div>
<h2>Monthly returns</h2>
${heatmapTable(times, equity, cash)}
<h2>Metrics</h2>
${metricsTable(m)}
<h2>Trades</h2>
${tradeTable(result.trades, maxTrades, intraday)}`;
  return reportPage({ title, body, data, script: SCRIPT, chartJs: opts.chartJs });
}
