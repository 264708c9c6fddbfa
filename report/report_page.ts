/**
 * The shell shared by the HTML reports: one self-contained page with chart.js inlined, the
 * report's data as an inert JSON script, the page's own script, and a small stylesheet.
 *
 * @module
 */
import { chartJsSource } from "./chart_js_source.ts";

/** Escapes text for HTML element content and attribute values. */
export function escapeHtml(s: string): string {
  return s.replace(
    /[&<>"']/g,
    (c) =>
      c === "&"
        ? "&amp;"
        : c === "<"
        ? "&lt;"
        : c === ">"
        ? "&gt;"
        : c === '"'
        ? "&quot;"
        : "&#39;",
  );
}

/**
 * JSON safe inside a `<script>` element: `<` is escaped so no string in the data (a strategy
 * tag, a log line) can close the element; U+2028/9 are escaped for old parsers.
 */
export function jsonForScript(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, "\\u003c")
    .replace(/\u2028/g, "\\u2028")
    .replace(/\u2029/g, "\\u2029");
}

/** Parts of a report page. */
export interface PageParts {
  title: string;
  /** Static HTML of the body (tables, canvases). */
  body: string;
  /** Data the page script reads from `#report-data`. */
  data: unknown;
  /** The page script (plain browser JS; `Chart` is global). */
  script: string;
  /** Inline chart.js source to use instead of the package's (tests). */
  chartJs?: string;
}

const CSS = `
:root { color-scheme: light dark; --fg: #1b1f24; --bg: #fff; --muted: #6b7280; --line: #e5e7eb; }
@media (prefers-color-scheme: dark) { :root { --fg: #e5e7eb; --bg: #111418; --muted: #9ca3af; --line: #2a2f36; } }
body { font: 14px/1.45 system-ui, sans-serif; color: var(--fg); background: var(--bg); margin: 0; }
main { max-width: 1200px; margin: 0 auto; padding: 24px; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 17px; margin: 28px 0 8px; }
.sub { color: var(--muted); margin: 0 0 16px; }
.chart { position: relative; height: 320px; } .chart.small { height: 200px; }
.grid2 { display: grid; grid-template-columns: repeat(auto-fit, minmax(340px, 1fr)); gap: 16px; }
table { border-collapse: collapse; font-variant-numeric: tabular-nums; }
th, td { padding: 3px 8px; border-bottom: 1px solid var(--line); text-align: right; white-space: nowrap; }
th:first-child, td:first-child { text-align: left; }
.metrics { columns: 3 260px; } .metrics table { width: 100%; break-inside: avoid; }
.scroll { max-height: 480px; overflow: auto; border: 1px solid var(--line); }
.heat td { min-width: 52px; text-align: center; }
.pos { color: #15803d; } .neg { color: #b91c1c; }
.note { color: var(--muted); font-size: 12px; }
`;

/** The full HTML document. */
export function reportPage(p: PageParts): string {
  const chart = p.chartJs ?? chartJsSource();
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="WagYu">
<title>${escapeHtml(p.title)}</title>
<style>${CSS}</style>
</head>
<body>
<main>
${p.body}
</main>
<script type="application/json" id="report-data">${jsonForScript(p.data)}</script>
<script>${chart.replace(/<\/script/gi, "<\\/script")}</script>
<script>
"use strict";
${p.script}
</script>
</body>
</html>
`;
}

/** Background colour of a heatmap cell: green for gains, red for losses, by magnitude. */
export function heatColor(r: number | null, scale: number): string {
  if (r === null || !Number.isFinite(r) || scale <= 0) return "transparent";
  const a = Math.min(1, Math.abs(r) / scale) * 0.75 + 0.05;
  return r >= 0 ? `rgba(22,163,74,${a.toFixed(3)})` : `rgba(220,38,38,${a.toFixed(3)})`;
}

/** Min/max-per-bucket decimation: at most about `max` points, extremes kept, order kept. */
export function decimate(x: ArrayLike<number>, y: ArrayLike<number>, max: number): number[][] {
  const n = Math.min(x.length, y.length);
  const out: number[][] = [];
  if (n <= max) {
    for (let i = 0; i < n; i++) out.push([x[i], y[i]]);
    return out;
  }
  const size = Math.ceil(n / Math.max(1, Math.floor(max / 2)));
  for (let s = 0; s < n; s += size) {
    const e = Math.min(n, s + size);
    let lo = s, hi = s;
    for (let i = s + 1; i < e; i++) {
      if (y[i] < y[lo]) lo = i;
      if (y[i] > y[hi]) hi = i;
    }
    if (lo === hi) out.push([x[lo], y[lo]]);
    else if (lo < hi) out.push([x[lo], y[lo]], [x[hi], y[hi]]);
    else out.push([x[hi], y[hi]], [x[lo], y[lo]]);
  }
  // The last point always shows (the final equity).
  if (out.at(-1)![0] !== x[n - 1]) out.push([x[n - 1], y[n - 1]]);
  return out;
}
