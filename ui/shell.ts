/**
 * The server-rendered page shell of /app/quant-testing: layout, panel headings and a
 * placeholder per island (readable before the bundle runs), the stylesheet and the bundle.
 *
 * @module
 */

/** Options of {@link renderShell}. */
export interface ShellOptions {
  /** Appended to asset URLs so a rebuilt bundle is never served from a stale cache. */
  version: string;
}

function island(name: string, title: string, extraClass = ""): string {
  if (!title) return `<div class="island ${extraClass}" data-island="${name}"></div>`;
  return `<div class="island ${extraClass}" data-island="${name}">
      <section class="panel placeholder" aria-busy="true"><header class="panel-head"><h2>${title}</h2></header><p class="hint">Loading…</p></section>
    </div>`;
}

/** The page's HTML. */
export function renderShell(opts: ShellOptions): string {
  const v = encodeURIComponent(opts.version);
  return `<!doctype html>
<html lang="en" class="dark">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <meta name="color-scheme" content="dark">
  <title>WagYu · Quant testing</title>
  <link rel="icon" href="/static/favicon.svg" type="image/svg+xml">
  <link rel="stylesheet" href="/static/styles.css?v=${v}">
  <link rel="modulepreload" href="/static/build/islands_entry.js?v=${v}">
</head>
<body>
  <a class="skip" href="#main">Skip to content</a>
  <header class="topbar">
    <div class="brand"><span class="logo" aria-hidden="true">◆</span> WagYu <span class="sub">Quant testing</span></div>
    <nav aria-label="Sections">
      <a href="#editor-area">Strategy</a>
      <a href="#results-area">Results</a>
      <a href="#tables-area">Trades</a>
    </nav>
  </header>
  ${island("Banner", "", "banner-slot")}
  <main id="main" class="layout">
    <div class="col-left" id="editor-area">
      ${island("StrategyEditor", "Strategy")}
      ${island("ParamTable", "Parameters")}
      ${island("RunSettings", "Run settings")}
    </div>
    <div class="col-right" id="results-area">
      ${island("EquityChart", "Equity")}
      <div class="row-2">
        ${island("JobStatus", "Jobs")}
        ${island("ServerStats", "Server")}
      </div>
      ${island("OptimizationScatter", "Optimization")}
      <div id="tables-area">
        ${island("MetricsTable", "Metrics")}
        ${island("TradesTable", "Trades")}
      </div>
    </div>
  </main>
  <noscript><p class="hint">The quant-testing page needs JavaScript; the REST API at /api works without it.</p></noscript>
  <script type="module" src="/static/build/islands_entry.js?v=${v}"></script>
</body>
</html>
`;
}
