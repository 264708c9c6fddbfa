/**
 * The optimization report: one self-contained HTML file with scatter plots (risk against
 * return over every combination, and the objective against each parameter), a heatmap of the
 * objective over two parameters, and the best combinations.
 *
 * Used by `deno task optimize … --report out.html`.
 *
 * @module
 */
import type { OptimizationResult } from "../optimizer/run_optimization.ts";
import type { ComboMetrics, ComboResult } from "../optimizer/objective.ts";
import { escapeHtml, heatColor, reportPage } from "./report_page.ts";

/** Options of {@link renderOptimizationReport}. */
export interface OptimizationReportOptions {
  /** @default "WagYu optimization report" */
  title?: string;
  subtitle?: string;
  /** The two parameters of the heatmap. @default the first two with more than one value */
  heatmap?: [string, string];
  /** Most points per scatter plot (an even sample; the best ones always included). @default 20000 */
  maxPoints?: number;
  /** chart.js source to inline instead of the package's (tests). */
  chartJs?: string;
}

const METRIC_COLUMNS: (keyof ComboMetrics)[] = [
  "totalReturn",
  "cagr",
  "sharpe",
  "sortino",
  "calmar",
  "maxDrawdown",
  "trades",
  "winRate",
  "profitFactor",
  "finalEquity",
];

function num(v: unknown): number | null {
  return typeof v === "number" && Number.isFinite(v) ? v : null;
}

function fmt(v: unknown): string {
  if (typeof v !== "number") return escapeHtml(String(v));
  if (!Number.isFinite(v)) return Number.isNaN(v) ? "—" : v > 0 ? "∞" : "−∞";
  if (Number.isInteger(v)) return String(v);
  return Math.abs(v) >= 1000 ? v.toFixed(0) : v.toPrecision(4);
}

/** An even sample of `combos` of at most `max`, always holding `keep`. */
function sample(combos: ComboResult[], keep: ComboResult[], max: number): ComboResult[] {
  if (combos.length <= max) return combos;
  const step = combos.length / max;
  const out = new Set<ComboResult>(keep);
  for (let i = 0; out.size < max && i < max; i++) out.add(combos[Math.floor(i * step)]);
  return [...out];
}

/** Best objective per cell of two parameters (over the other parameters), as an HTML table. */
function heatmapTable(combos: ComboResult[], a: string, b: string, objective: string): string {
  const key = (v: unknown) => JSON.stringify(v);
  const as = new Map<string, unknown>(), bs = new Map<string, unknown>();
  const cells = new Map<string, number>();
  for (const c of combos) {
    const v = num((c.metrics as unknown as Record<string, unknown>)[objective]);
    if (v === null) continue;
    const ka = key(c.params[a]), kb = key(c.params[b]);
    as.set(ka, c.params[a]);
    bs.set(kb, c.params[b]);
    const k = `${ka}|${kb}`;
    const prev = cells.get(k);
    if (prev === undefined || v > prev) cells.set(k, v);
  }
  const order = (m: Map<string, unknown>) =>
    [...m.entries()].sort((x, y) =>
      typeof x[1] === "number" && typeof y[1] === "number"
        ? x[1] - y[1]
        : String(x[1]).localeCompare(String(y[1]))
    );
  const rows = order(as), cols = order(bs);
  let lo = Infinity, hi = -Infinity;
  for (const v of cells.values()) {
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  const mid = (lo + hi) / 2, half = (hi - lo) / 2;
  const head = `<tr><th>${escapeHtml(a)} \\ ${escapeHtml(b)}</th>${
    cols.map(([, v]) => `<th>${fmt(v)}</th>`).join("")
  }</tr>`;
  const body = rows.map(([ka, va]) =>
    `<tr><th scope="row">${fmt(va)}</th>${
      cols.map(([kb]) => {
        const v = cells.get(`${ka}|${kb}`);
        // Colour by position between the worst and the best cell (green = better).
        const bg = v === undefined ? "transparent" : heatColor(half > 0 ? (v - mid) / half : 0, 1);
        return `<td style="background:${bg}">${v === undefined ? "" : fmt(v)}</td>`;
      }).join("")
    }</tr>`
  ).join("");
  return `<table class="heat" id="param-heatmap"><thead>${head}</thead><tbody>${body}</tbody></table>
<p class="note">Cell: the best ${escapeHtml(objective)} over the other parameters.</p>`;
}

const SCRIPT = `
const D = JSON.parse(document.getElementById("report-data").textContent);
const base = { animation: false, responsive: true, maintainAspectRatio: false };
const scatter = (id, xLabel, yLabel, sets) => new Chart(document.getElementById(id), { type: "scatter",
  options: Object.assign({}, base, { scales: { x: { title: { display: true, text: xLabel } },
    y: { title: { display: true, text: yLabel } } },
    plugins: { tooltip: { callbacks: { label: (c) => c.raw.label || "" } } } }),
  data: { datasets: sets } });
scatter("risk-return-chart", "max drawdown", "total return", [
  { label: "Combinations", data: D.riskReturn, backgroundColor: "rgba(37,99,235,0.5)", pointRadius: 3 },
  { label: "Best", data: D.bestRiskReturn, backgroundColor: "#dc2626", pointRadius: 7, pointStyle: "star", borderColor: "#dc2626" }]);
D.params.forEach((p, i) => scatter("param-chart-" + i, p.name, D.objective, [
  { label: p.name, data: p.points, backgroundColor: "rgba(22,163,74,0.5)", pointRadius: 3 }]));
`;

/** Renders an optimization result as one self-contained HTML page. */
export function renderOptimizationReport(
  result: OptimizationResult,
  opts: OptimizationReportOptions = {},
): string {
  const objective = result.objective;
  const combos = result.combos ?? [];
  const best = result.best ? [result.best] : [];
  const points = sample(combos, [...best, ...(result.top ?? [])], opts.maxPoints ?? 20000);
  const metric = (c: ComboResult, k: string) =>
    num((c.metrics as unknown as Record<string, unknown>)[k]);
  const label = (c: ComboResult) =>
    Object.entries(c.params).map(([k, v]) => `${k}=${v}`).join(", ");
  // Parameters that vary, in the order of the first combination.
  const names = Object.keys(combos[0]?.params ?? {}).filter((k) =>
    new Set(combos.map((c) => JSON.stringify(c.params[k]))).size > 1
  );
  const numeric = names.filter((k) => combos.every((c) => typeof c.params[k] === "number"));
  const data = {
    objective,
    riskReturn: points.flatMap((c) => {
      const x = metric(c, "maxDrawdown"), y = metric(c, "totalReturn");
      return x === null || y === null ? [] : [{ x, y, label: label(c) }];
    }),
    bestRiskReturn: best.flatMap((c) => {
      const x = metric(c, "maxDrawdown"), y = metric(c, "totalReturn");
      return x === null || y === null ? [] : [{ x, y, label: label(c) }];
    }),
    params: numeric.slice(0, 6).map((name) => ({
      name,
      points: points.flatMap((c) => {
        const y = metric(c, objective);
        return y === null ? [] : [{ x: c.params[name] as number, y, label: label(c) }];
      }),
    })),
  };
  const [ha, hb] = opts.heatmap ?? [names[0], names[1]];
  const heat = ha !== undefined && hb !== undefined
    ? heatmapTable(combos, ha, hb, objective)
    : `<p class="note">A heatmap needs two parameters that vary.</p>`;
  const top = (result.top ?? []).slice(0, 50);
  const paramCols = Object.keys(top[0]?.params ?? {});
  const topTable = `<div class="scroll"><table id="top"><thead><tr><th>#</th>${
    paramCols.map((k) => `<th>${escapeHtml(k)}</th>`).join("")
  }${METRIC_COLUMNS.map((k) => `<th>${k}</th>`).join("")}</tr></thead><tbody>${
    top.map((c, i) =>
      `<tr><td>${i + 1}</td>${paramCols.map((k) => `<td>${fmt(c.params[k])}</td>`).join("")}${
        METRIC_COLUMNS.map((k) => `<td>${fmt(c.metrics[k])}</td>`).join("")
      }</tr>`
    ).join("")
  }</tbody></table></div>`;
  const title = opts.title ?? "WagYu optimization report";
  const sub = [
    opts.subtitle,
    `${result.total.toLocaleString("en-US")} combinations`,
    `objective ${objective}`,
    `backend ${result.backend}`,
    `${(result.elapsedMs / 1000).toFixed(2)} s`,
    result.best ? `best ${label(result.best)}` : "",
  ].filter(Boolean).map((s) => escapeHtml(String(s))).join(" · ");
  const paramCharts = data.params.map((p, i) =>
    `<div><div class="chart small"><canvas id="param-chart-${i}"></canvas></div>` +
    `<p class="note">${escapeHtml(objective)} against ${escapeHtml(p.name)}</p></div>`
  ).join("");
  const body = `<h1>${escapeHtml(title)}</h1>
<p class="sub">${sub}</p>
<h2>Risk and return of every combination</h2>
<div class="chart"><canvas id="risk-return-chart"></canvas></div>
${
    combos.length > points.length
      ? `<p class="note">An even sample of ${points.length} of ${combos.length} combinations.</p>`
      : ""
  }
<h2>Objective by parameter</h2>
<div class="grid2">${paramCharts}</div>
<h2>Parameter heatmap</h2>
${heat}
<h2>Best combinations</h2>
${topTable}`;
  return reportPage({ title, body, data, script: SCRIPT, chartJs: opts.chartJs });
}
