/**
 * Equity overlay island: every run's equity curve on one chart (growing live while a job runs),
 * a legend of toggle buttons, a log-scale switch, and the drawdown sub-chart below.
 *
 * @module
 */
import { useEffect, useRef } from "preact/hooks";
import { useSignal, useSignalEffect } from "@preact/signals";
import { equityRuns, hiddenRuns, type JobView, logScale, selectedRunId } from "../ui/app_state.ts";
import type { Chart } from "chart.js";
import { chartModule } from "../ui/chart_loader.ts";
import { thinPoints } from "../ui/thin_points.ts";
import { drawdownSeries } from "../ui/drawdown_series.ts";
import { toggleRun } from "../ui/job_tracker.ts";
import { formatMoney, formatTime } from "../ui/format_value.ts";

function curveOf(j: JobView): { time: number; equity: number }[] {
  return j.result ? j.result.equity : j.liveEquity;
}

function datasetsFor(runs: JobView[], hidden: Set<string>) {
  const eq = [];
  const dd = [];
  for (const j of runs) {
    const pts = thinPoints(curveOf(j));
    const draw = drawdownSeries(pts.map((p) => p.equity));
    const common = {
      label: j.label,
      borderColor: j.color,
      backgroundColor: j.color,
      borderWidth: 1.5,
      pointRadius: 0,
      hidden: hidden.has(j.id),
    };
    eq.push({ ...common, data: pts.map((p) => ({ x: p.time, y: p.equity })) });
    dd.push({
      ...common,
      fill: "origin",
      backgroundColor: `${j.color}33`,
      data: pts.map((p, i) => ({ x: p.time, y: draw[i] * 100 })),
    });
  }
  return { eq, dd };
}

function timeTick(value: string | number): string {
  return formatTime(Number(value)).slice(0, 10);
}

function moneyTick(value: string | number): string {
  return formatMoney(Number(value));
}

/** Log axes label only 1, 2 and 5 × 10ⁿ: every minor tick labelled would overlap. */
function logMoneyTick(value: string | number): string {
  const v = Number(value);
  if (!(v > 0)) return "";
  const lead = Math.round(v / 10 ** Math.floor(Math.log10(v) + 1e-9));
  return lead === 1 || lead === 2 || lead === 5 ? formatMoney(v) : "";
}

/** Same y-axis width on both charts, so their time axes line up bar for bar. */
function alignAxis(scale: { width: number }): void {
  scale.width = 78;
}

/** The equity overlay and drawdown panel. */
export default function EquityChart() {
  const eqCanvas = useRef<HTMLCanvasElement>(null);
  const ddCanvas = useRef<HTMLCanvasElement>(null);
  const charts = useRef<{ eq: Chart; dd: Chart } | null>(null);
  const ready = useSignal(false);

  useEffect(() => {
    let gone = false;
    void chartModule.then(({ Chart }) => {
      if (gone || !eqCanvas.current || !ddCanvas.current) return;
      const x = {
        type: "linear" as const,
        ticks: { callback: timeTick, maxTicksLimit: 8 },
        grid: { color: "#1c2433" },
      };
      const eq = new Chart(eqCanvas.current, {
        type: "line",
        data: { datasets: [] },
        options: {
          responsive: true,
          maintainAspectRatio: false,
          parsing: false,
          normalized: true,
          interaction: { mode: "nearest", axis: "x", intersect: false },
          scales: {
            x,
            y: {
              type: "linear",
              afterFit: alignAxis,
              ticks: { callback: moneyTick },
              grid: { color: "#1c2433" },
            },
          },
          plugins: {
            tooltip: {
              callbacks: {
                title: (items) => formatTime(items[0]?.parsed.x ?? null),
                label: (c) => `${c.dataset.label}: ${formatMoney(c.parsed.y ?? 0)}`,
              },
            },
          },
        },
      });
      const dd = new Chart(ddCanvas.current, {
        type: "line",
        data: { datasets: [] },
        options: {
          responsive: true,
          maintainAspectRatio: false,
          parsing: false,
          normalized: true,
          interaction: { mode: "nearest", axis: "x", intersect: false },
          scales: {
            x,
            y: {
              type: "linear",
              max: 0,
              afterFit: alignAxis,
              ticks: { callback: (v) => `${Number(v).toFixed(0)} %` },
              grid: { color: "#1c2433" },
            },
          },
          plugins: {
            tooltip: {
              callbacks: {
                title: (items) => formatTime(items[0]?.parsed.x ?? null),
                label: (c) => `${c.dataset.label}: ${(c.parsed.y ?? 0).toFixed(2)} %`,
              },
            },
          },
        },
      });
      charts.current = { eq, dd };
      ready.value = true;
    });
    return () => {
      gone = true;
      charts.current?.eq.destroy();
      charts.current?.dd.destroy();
      charts.current = null;
    };
  }, []);

  useSignalEffect(() => {
    const runs = equityRuns.value;
    const hidden = hiddenRuns.value;
    const log = logScale.value;
    const c = ready.value ? charts.current : null;
    if (!c) return;
    const { eq, dd } = datasetsFor(runs, hidden);
    c.eq.data.datasets = eq;
    c.dd.data.datasets = dd;
    const y = c.eq.options.scales!.y!;
    y.type = log ? "logarithmic" : "linear";
    y.ticks = { ...y.ticks, callback: log ? logMoneyTick : moneyTick };
    // empty charts draw no axes (a 1970 time axis from 0 to 1 would only confuse)
    const any = runs.length > 0;
    // x spans exactly the data (a linear axis would round out to "nice" years beyond it)
    let lo = Infinity;
    let hi = -Infinity;
    for (const j of runs) {
      if (hidden.has(j.id)) continue;
      const pts = curveOf(j);
      if (pts.length === 0) continue;
      lo = Math.min(lo, pts[0].time);
      hi = Math.max(hi, pts[pts.length - 1].time);
    }
    for (const ch of [c.eq, c.dd]) {
      const x = ch.options.scales!.x!;
      x.display = any;
      ch.options.scales!.y!.display = any;
      x.min = Number.isFinite(lo) ? lo : undefined;
      x.max = Number.isFinite(hi) && hi > lo ? hi : undefined;
    }
    c.eq.update("none");
    c.dd.update("none");
  });

  const runs = equityRuns.value;
  return (
    <section
      class={runs.length ? "panel chart-panel" : "panel chart-panel empty"}
      aria-labelledby="equity-title"
    >
      <header class="panel-head">
        <h2 id="equity-title">Equity</h2>
        <label class="inline">
          <input
            type="checkbox"
            id="log-scale"
            checked={logScale.value}
            onChange={(e) => (logScale.value = (e.currentTarget as HTMLInputElement).checked)}
          />
          <span>Log scale</span>
        </label>
      </header>
      <div class="legend" role="group" aria-label="Runs shown in the chart" id="equity-legend">
        {runs.length === 0 && <span class="hint">Run a backtest to see its equity curve.</span>}
        {runs.map((j) => (
          <span key={j.id} class="legend-item">
            <button
              type="button"
              class={hiddenRuns.value.has(j.id) ? "legend-btn off" : "legend-btn"}
              aria-pressed={!hiddenRuns.value.has(j.id)}
              onClick={() => toggleRun(j.id)}
              title="Show or hide this curve"
            >
              <span class="swatch" style={{ background: j.color }} />
              {j.label}
              {j.status === "running" ? " (live)" : ""}
            </button>
            <button
              type="button"
              class={j.id === selectedRunId.value ? "link selected" : "link"}
              aria-label={`Show metrics and trades of ${j.label}`}
              onClick={() => (selectedRunId.value = j.id)}
            >
              details
            </button>
          </span>
        ))}
      </div>
      <div class="chart-box equity-box">
        <canvas ref={eqCanvas} id="equity-canvas" role="img" aria-label="Equity curves" />
      </div>
      <h3 class="sub">Drawdown</h3>
      <div class="chart-box dd-box">
        <canvas ref={ddCanvas} id="drawdown-canvas" role="img" aria-label="Drawdown curves" />
      </div>
    </section>
  );
}
