import assert from "node:assert/strict";
import { chromium } from "playwright-core";
import { renderBacktestReport, renderOptimizationReport } from "../../report/html_report.ts";
import { monthlyReturns } from "../../report/monthly_returns.ts";
import { decimate, escapeHtml, jsonForScript } from "../../report/report_page.ts";
import { runBacktest } from "../../engine/backtest.ts";
import { loadBars } from "../../market/load_bars.ts";
import SmaCross from "../../examples/sma_cross.ts";
import type { BacktestResult, Bars } from "../../engine/types.ts";
import type { OptimizationResult } from "../../optimizer/run_optimization.ts";
import type { ComboResult } from "../../optimizer/objective.ts";

const GOOG = decodeURIComponent(new URL("../../../shared/data/GOOG.csv", import.meta.url).pathname);
const CHROMIUM = "/usr/bin/chromium";
const FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];
const hasChromium = (() => {
  try {
    return Deno.statSync(CHROMIUM).isFile;
  } catch {
    return false;
  }
})();
if (!hasChromium) console.log(`html_report_test: browser tests skipped, ${CHROMIUM} is missing`);

const DAY = 86_400_000;
const utc = (y: number, m: number, d: number) => Date.UTC(y, m - 1, d);

async function gooResult(): Promise<{ bars: Bars; result: BacktestResult }> {
  const { bars } = await loadBars(GOOG);
  const result = runBacktest(bars, SmaCross, {
    params: { fast: 10, slow: 30 },
    config: { mode: "long_short", feeTaker: 0.001 },
  });
  return { bars, result };
}

/** A grid of real backtests shaped as an optimizer result (the report's input contract). */
function gridResult(bars: Bars): OptimizationResult {
  const combos: ComboResult[] = [];
  for (const fast of [5, 10, 15]) {
    for (const slow of [20, 40]) {
      const r = runBacktest(bars, SmaCross, { params: { fast, slow } });
      const m = r.metrics;
      combos.push({
        params: { fast, slow },
        metrics: {
          totalReturn: m.totalReturn!,
          cagr: m.cagr!,
          sharpe: m.sharpeRatio!,
          sortino: m.sortinoRatio!,
          calmar: m.calmarRatio!,
          maxDrawdown: m.maxDrawdown!,
          trades: r.trades.length,
          winRate: m.winRate!,
          profitFactor: m.profitFactor!,
          finalEquity: m.finalEquity!,
        },
      });
    }
  }
  const top = [...combos].sort((a, b) => b.metrics.sharpe - a.metrics.sharpe);
  return {
    backend: "cpu",
    backendInfo: "test",
    objective: "sharpe",
    total: combos.length,
    combos,
    best: top[0],
    top,
    elapsedMs: 1,
    barEvaluations: combos.length * bars.length,
    barEvaluationsPerSecond: 0,
    engineFallbacks: 0,
  } as OptimizationResult;
}

Deno.test("monthlyReturns() compounds month-end equity from the starting cash", () => {
  const times = [
    utc(2020, 1, 2),
    utc(2020, 1, 31),
    utc(2020, 2, 3),
    utc(2020, 2, 28),
    utc(2021, 3, 1),
  ];
  const equity = [100, 110, 105, 99, 121];
  const years = monthlyReturns(times, equity, 100);
  assert.deepEqual(years.map((y) => y.year), [2020, 2021]);
  // Hand-computed: Jan 110/100−1, Feb 99/110−1, Mar 2021 121/99−1.
  assert.ok(Math.abs(years[0].months[0]! - 0.1) < 1e-12);
  assert.ok(Math.abs(years[0].months[1]! - (99 / 110 - 1)) < 1e-12);
  assert.equal(years[0].months[2], null);
  assert.ok(Math.abs(years[0].total - (99 / 100 - 1)) < 1e-12);
  assert.ok(Math.abs(years[1].months[2]! - (121 / 99 - 1)) < 1e-12);
  assert.deepEqual(monthlyReturns([], [], 100), []);
});

Deno.test("monthlyReturns() of a real backtest compounds to its total return", async () => {
  const { result } = await gooResult();
  const years = monthlyReturns(
    result.equity.map((e) => e.time),
    result.equity.map((e) => e.equity),
    result.config.cash,
  );
  let g = 1;
  for (const y of years) g *= 1 + y.total;
  const total = result.equity.at(-1)!.equity / result.config.cash - 1;
  assert.ok(Math.abs(g - 1 - total) < 1e-9, `${g - 1} vs ${total}`);
});

Deno.test("decimate() keeps each bucket's extremes in order and the last point", () => {
  const n = 10_000;
  const x = Float64Array.from({ length: n }, (_, i) => i);
  const y = Float64Array.from({ length: n }, (_, i) => Math.sin(i / 50) + (i === 4321 ? -5 : 0));
  const d = decimate(x, y, 400);
  assert.ok(d.length <= 402, `${d.length} points`);
  for (let i = 1; i < d.length; i++) assert.ok(d[i][0] > d[i - 1][0]);
  assert.ok(d.some((p) => p[0] === 4321 && p[1] === y[4321]), "the spike was dropped");
  assert.deepEqual(d.at(-1), [n - 1, y[n - 1]]);
  assert.equal(decimate([1, 2], [3, 4], 400).length, 2);
});

Deno.test("renderBacktestReport() is self-contained and escapes text from the result", async () => {
  const { bars, result } = await gooResult();
  const hostile = structuredClone(result);
  hostile.trades[0].exitReason = "</script><script>alert(1)</script>";
  const html = renderBacktestReport(hostile, bars, { title: "GOOG <sma>" });
  assert.ok(html.startsWith("<!doctype html>"));
  assert.ok(!/<script[^>]*\ssrc=/i.test(html), "an external script");
  assert.ok(!/<link\b/i.test(html), "an external stylesheet");
  assert.ok(
    html.includes("Chart.register") || html.includes("window.Chart"),
    "chart.js not inlined",
  );
  assert.ok(!html.includes("alert(1)</script>"));
  assert.ok(html.includes("<title>GOOG &lt;sma&gt;</title>"));
  assert.equal(escapeHtml(`<a href="x">&'`), "&lt;a href=&quot;x&quot;&gt;&amp;&#39;");
  assert.ok(!jsonForScript({ s: "</script>" }).includes("</"));
  // Every trade is listed.
  const rows = html.match(/<table id="trades">[\s\S]*?<\/table>/)![0].match(/<tr>/g)!.length;
  assert.equal(rows - 1, result.trades.length);
});

Deno.test({
  name:
    "Backtest and optimization reports open in chromium without errors and their charts have data",
  ignore: !hasChromium,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const { bars, result } = await gooResult();
    const dir = await Deno.makeTempDir({ prefix: "wagyu_report_" });
    const profile = await Deno.makeTempDir({ prefix: "wagyu_report_chromium_" });
    const ctx = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: FLAGS,
      viewport: { width: 1200, height: 900 },
    });
    try {
      const open = async (html: string, name: string) => {
        const path = `${dir}/${name}`;
        await Deno.writeTextFile(path, html);
        const page = await ctx.newPage();
        const problems: string[] = [];
        page.on("console", (m) => {
          if (m.type() === "error" || m.type() === "warning") problems.push(m.text());
        });
        page.on("pageerror", (e) => problems.push(String(e)));
        page.on("request", (r) => {
          if (!r.url().startsWith("file:")) problems.push(`network request: ${r.url()}`);
        });
        await page.goto(`file://${path}`, { waitUntil: "load" });
        const charts = await page.evaluate(() => {
          // deno-lint-ignore no-explicit-any
          const C = (globalThis as any).Chart;
          // deno-lint-ignore no-explicit-any
          return Object.values(C.instances).map((c: any) => ({
            id: c.canvas.id as string,
            datasets: c.data.datasets.map((d: { data: unknown[] }) => d.data.length) as number[],
            drawn: c.chartArea !== undefined && c.chartArea.right > c.chartArea.left,
          }));
        });
        return { page, problems, charts };
      };

      const bt = await open(renderBacktestReport(result, bars), "backtest.html");
      assert.deepEqual(bt.problems, []);
      const byId = Object.fromEntries(bt.charts.map((c) => [c.id, c]));
      assert.deepEqual(Object.keys(byId).sort(), ["drawdown-chart", "equity-chart", "price-chart"]);
      assert.ok(bt.charts.every((c) => c.drawn));
      // 2,148 bars are under the decimation limit: every bar is a point.
      assert.deepEqual(byId["equity-chart"].datasets, [bars.length, bars.length]);
      assert.deepEqual(byId["drawdown-chart"].datasets, [bars.length]);
      const longs = result.trades.filter((t) => t.side === "long").length;
      const shorts = result.trades.filter((t) => t.side === "short").length;
      const exits = result.trades.filter((t) => t.exitTime !== null).length;
      assert.ok(longs > 0 && shorts > 0);
      assert.deepEqual(byId["price-chart"].datasets, [bars.length, longs, shorts, exits]);
      // The heatmap has one row per calendar year of the data.
      const firstYear = new Date(bars.timestamp[0]).getUTCFullYear();
      const lastYear = new Date(bars.timestamp[bars.length - 1]).getUTCFullYear();
      const heatRows = await bt.page.locator("#monthly-returns tbody tr").count();
      assert.equal(heatRows, lastYear - firstYear + 1);
      const metricRows = await bt.page.locator("#metrics tr").count();
      assert.equal(metricRows, Object.keys(result.metrics).length);

      const opt = gridResult(bars);
      const op = await open(renderOptimizationReport(opt), "optimization.html");
      assert.deepEqual(op.problems, []);
      const ids = op.charts.map((c) => c.id).sort();
      assert.deepEqual(ids, ["param-chart-0", "param-chart-1", "risk-return-chart"]);
      for (const c of op.charts) assert.ok(c.drawn && c.datasets[0] > 0, JSON.stringify(c));
      assert.equal(op.charts.find((c) => c.id === "risk-return-chart")!.datasets[0], 6);
      // Heatmap cells hold each (fast, slow) pair's Sharpe ratio (one combination per cell).
      const cells = await op.page.locator("#param-heatmap tbody td").allTextContents();
      assert.equal(cells.length, 6);
      const expected = [5, 10, 15].flatMap((fast) =>
        [20, 40].map((slow) =>
          opt.combos.find((c) => c.params.fast === fast && c.params.slow === slow)!.metrics.sharpe
            .toPrecision(4)
        )
      );
      assert.deepEqual(cells, expected);
    } finally {
      await ctx.close();
      await Deno.remove(dir, { recursive: true });
      await Deno.remove(profile, { recursive: true }).catch(() => {});
    }
  },
});

Deno.test("renderBacktestReport() decimates long series but keeps the final equity", () => {
  const n = 50_000;
  const ts = Float64Array.from({ length: n }, (_, i) => utc(2000, 1, 1) + i * DAY);
  const close = Float64Array.from({ length: n }, (_, i) => 100 + Math.sin(i / 100) * 10);
  const bars: Bars = {
    length: n,
    timestamp: ts,
    open: close,
    high: close,
    low: close,
    close,
    volume: new Float64Array(n).fill(1),
  };
  const result = runBacktest(bars, SmaCross, { params: { fast: 5, slow: 20 } });
  const html = renderBacktestReport(result, bars, { maxPoints: 1000, chartJs: "/* none */" });
  const data = JSON.parse(html.match(/id="report-data">([^<]*)<\/script>/)![1]);
  assert.ok(data.equity.length <= 1002 && data.equity.length >= 500, `${data.equity.length}`);
  assert.deepEqual(data.equity.at(-1), [ts[n - 1], result.equity[n - 1].equity]);
  assert.ok(html.length < 2_000_000, `${html.length} bytes`);
});
