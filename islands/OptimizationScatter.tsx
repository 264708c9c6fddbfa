/**
 * Optimization island: a chosen parameter against Sharpe, max drawdown and CAGR as three
 * scatter plots that fill while the grid runs. Clicking a point (or a row of the best-points
 * table, for keyboard users) runs that combination as a backtest.
 *
 * @module
 */
import { useEffect, useRef } from "preact/hooks";
import { useSignal, useSignalEffect } from "@preact/signals";
import { jobs, selectedOptimization, selectedOptimizationId } from "../ui/app_state.ts";
import type { Chart } from "chart.js";
import { chartModule } from "../ui/chart_loader.ts";
import { startBacktest } from "../ui/job_tracker.ts";
import { bestBySharpe, type ScatterPoint } from "../ui/scatter_point.ts";
import { formatMetric } from "../ui/format_value.ts";

const PANELS = [
  { key: "sharpe", label: "Sharpe", color: "#4aa3ff", metric: "sharpeRatio" },
  { key: "maxDrawdown", label: "Max drawdown", color: "#e2557a", metric: "maxDrawdown" },
  { key: "cagr", label: "CAGR", color: "#3ecf8e", metric: "cagr" },
] as const;

type PanelKey = typeof PANELS[number]["key"];

function paramLabel(p: ScatterPoint): string {
  return Object.entries(p.params).map(([k, v]) => `${k}=${v}`).join(", ");
}

/** The optimization scatter panel. */
export default function OptimizationScatter() {
  const canvases = [
    useRef<HTMLCanvasElement>(null),
    useRef<HTMLCanvasElement>(null),
    useRef<HTMLCanvasElement>(null),
  ];
  const charts = useRef<Chart<"scatter">[]>([]);
  const xParam = useSignal("");
  const pointsRef = useRef<ScatterPoint[]>([]);

  const ready = useSignal(false);

  useEffect(() => {
    let gone = false;
    void chartModule.then(({ Chart }) => {
      if (gone) return;
      charts.current = PANELS.map((panel, i) =>
        new Chart(canvases[i].current!, {
          type: "scatter",
          data: {
            datasets: [{
              label: panel.label,
              data: [],
              backgroundColor: `${panel.color}cc`,
              borderColor: panel.color,
              pointRadius: 4,
              pointHoverRadius: 7,
            }],
          },
          options: {
            responsive: true,
            maintainAspectRatio: false,
            parsing: false,
            scales: {
              x: { type: "linear", grid: { color: "#1c2433" } },
              y: {
                type: "linear",
                title: { display: true, text: panel.label },
                grid: { color: "#1c2433" },
              },
            },
            plugins: {
              tooltip: {
                callbacks: {
                  label: (c) => {
                    const p = pointsRef.current[c.dataIndex];
                    const v = p ? p[panel.key as PanelKey] : null;
                    return p ? `${paramLabel(p)} → ${formatMetric(panel.metric, v)}` : "";
                  },
                },
              },
            },
            onClick: (_e, elements) => {
              const el = elements[0];
              const p = el ? pointsRef.current[el.index] : undefined;
              if (p) void startBacktest(p.params);
            },
            onHover: (e, elements) => {
              const t = e.native?.target as HTMLElement | undefined;
              if (t) t.style.cursor = elements.length ? "pointer" : "default";
            },
          },
        })
      );
      ready.value = true;
    });
    return () => {
      gone = true;
      if (timer.current !== null) clearTimeout(timer.current);
      for (const c of charts.current) c.destroy();
      charts.current = [];
    };
  }, []);

  const xRef = useRef("");
  const timer = useRef<ReturnType<typeof setTimeout> | null>(null);

  function drawScatter(): void {
    timer.current = null;
    const points = pointsRef.current;
    const x = xRef.current;
    charts.current.forEach((chart, i) => {
      const key = PANELS[i].key;
      const scale = key === "sharpe" ? 1 : 100;
      chart.data.datasets[0].data = points.map((p) => ({
        x: p.params[x] ?? NaN,
        y: p[key] === null ? NaN : p[key]! * scale,
      }));
      chart.options.scales!.x!.title = { display: true, text: x };
      chart.options.scales!.x!.display = points.length > 0;
      chart.options.scales!.y!.display = points.length > 0;
      chart.update("none");
    });
  }

  useSignalEffect(() => {
    const opt = selectedOptimization.value;
    const points = opt?.points ?? [];
    const names = points.length ? Object.keys(points[0].params) : [];
    const x = names.includes(xParam.value) ? xParam.value : (names[0] ?? "");
    // points only append (or replace in place), so indices the click handler reads stay valid
    pointsRef.current = points;
    xRef.current = x;
    if (!ready.value) return;
    // big grids send many progress messages: redraw at most every 250 ms once they are large
    if (points.length < 2000) drawScatter();
    else timer.current ??= setTimeout(drawScatter, 250);
  });

  const opt = selectedOptimization.value;
  const points = opt?.points ?? [];
  const names = points.length ? Object.keys(points[0].params) : [];
  const best = bestBySharpe(points, 5);
  const optList = jobs.value.filter((j) => j.kind === "optimization");

  return (
    <section
      class={points.length ? "panel chart-panel" : "panel chart-panel empty"}
      aria-labelledby="opt-title"
    >
      <header class="panel-head">
        <h2 id="opt-title">Optimization</h2>
        {optList.length > 1 && (
          <label class="inline">
            <span>Grid</span>
            <select
              value={opt?.id ?? ""}
              onChange={(
                e,
              ) => (selectedOptimizationId.value = (e.currentTarget as HTMLSelectElement).value)}
            >
              {optList.map((j) => <option key={j.id} value={j.id}>{j.label}</option>)}
            </select>
          </label>
        )}
        <label class="inline">
          <span>X axis</span>
          <select
            id="scatter-x"
            value={names.includes(xParam.value) ? xParam.value : names[0] ?? ""}
            onChange={(e) => (xParam.value = (e.currentTarget as HTMLSelectElement).value)}
          >
            {names.map((n) => <option key={n} value={n}>{n}</option>)}
          </select>
        </label>
        <span class="hint" id="scatter-count" aria-live="polite">
          {opt
            ? `${points.length}${opt.total ? ` / ${opt.total}` : ""} points · ${opt.status}`
            : "Run Optimize to sweep the grid."}
        </span>
      </header>
      <div class="scatter-grid">
        {PANELS.map((p, i) => (
          <div class="chart-box scatter-box" key={p.key}>
            <canvas
              ref={canvases[i]}
              id={`scatter-${p.key}`}
              role="img"
              aria-label={`Parameter against ${p.label}; click a point to backtest it`}
            />
          </div>
        ))}
      </div>
      {best.length > 0 && (
        <table class="best" id="best-table">
          <caption>Best by Sharpe (click Run to backtest a combination)</caption>
          <thead>
            <tr>
              <th scope="col">Params</th>
              <th scope="col">Sharpe</th>
              <th scope="col">Max DD</th>
              <th scope="col">CAGR</th>
              <th scope="col">
                <span class="sr-only">Action</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {best.map((p) => (
              <tr key={paramLabel(p)}>
                <td>{paramLabel(p)}</td>
                <td>{formatMetric("sharpeRatio", p.sharpe)}</td>
                <td>{formatMetric("maxDrawdown", p.maxDrawdown)}</td>
                <td>{formatMetric("cagr", p.cagr)}</td>
                <td>
                  <button
                    type="button"
                    class="btn small"
                    aria-label={`Backtest ${paramLabel(p)}`}
                    onClick={() => void startBacktest(p.params)}
                  >
                    Run
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
