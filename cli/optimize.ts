/**
 * `deno task optimize <data> <family-or-strategy-file> --grid name=min:max:step ...`: sweeps a
 * parameter grid of a built-in family (sma_cross, ema_cross, rsi, bollinger,
 * donchian_breakout) or of any strategy file, prints the best combinations and optionally
 * writes JSON with every combination (`combos`) and the best one (`best`).
 *
 * @module
 */
import { parseSizing } from "../engine/config.ts";
import type { BacktestConfig } from "../engine/types.ts";
import { FAMILIES, isFamilyId } from "../gpu/families.ts";
import { DataFileError, loadBars } from "../market/load_bars.ts";
import { type GridSpec, parseParamArg } from "../optimizer/grid.ts";
import {
  type ComboResult,
  OBJECTIVES,
  parseFilter,
  parseObjective,
} from "../optimizer/objective.ts";
import {
  type BackendName,
  type OptimizationRequest,
  runOptimization,
} from "../optimizer/run_optimization.ts";
import { runWalkForward } from "../optimizer/walk_forward.ts";
import { renderOptimizationReport } from "../report/html_report.ts";
import { ProgressBar, progressEnabled } from "./progress_bar.ts";
import { colorEnabled, type ColorMode, paint, parseColorMode, styleMetric } from "./term_style.ts";

const HELP =
  `Usage: deno task optimize <data-file> <family|strategy-file> --grid name=min:max:step ... [options]

Families: ${Object.keys(FAMILIES).join(", ")}. Any other argument is a strategy file (a module
whose default export is a strategy class), run by the engine in a worker pool.

Options:
  --grid name=min:max:step   a parameter range (repeatable); name=a,b,c for a list
  --constraint "fast < slow" a constraint between parameters (repeatable)
  --filter "trades>=10"      keep only combinations passing it (repeatable)
  --objective NAME           ${OBJECTIVES.join(", ")} (default sharpe)
  --backend B                auto (default), workers, webgpu, gpujs, cpu
  --random N                 evaluate N random combinations of the grid instead of all
  --walk-forward IN:OUT      walk-forward: optimize on IN bars, test on the next OUT, roll by OUT
                             (IN:OUT:anchored grows the in-sample window from the first bar)
  --seed S                   seed of --random (default 1)
  --top N                    rows to print (default 10)
  --json PATH|-              write { combos, best, ... } as JSON (- = stdout)
  --report PATH              write a self-contained HTML report (scatter plots, heatmap)
  --workers N                worker pool size (default: one per core)
  --cash N, --fee-taker R, --fee-fixed N, --slippage-bps N, --mode long_only|long_short,
  --sizing S, --leverage N, --annualization N   engine configuration (as deno task backtest)
  --quiet, -q                no progress bar or summary on stderr (errors only); stdout gets
                             only the requested outputs (the table only when neither --json
                             nor --report is given)
  --color WHEN               colour the table: auto (default: a terminal, unless NO_COLOR is
                             set; FORCE_COLOR forces), always or never
  --help                     show this help

A progress bar with ETA is drawn on stderr when it is a terminal (not with --quiet).

Examples:
  deno task optimize GOOG.csv sma_cross --grid fast=5:50:5 --grid slow=20:200:10 \\
    --constraint "fast < slow" --filter "trades>=10" --objective sharpe --top 10
  deno task optimize GOOG.csv examples/rsi.ts --grid period=10,14,21 --workers 2
  deno task optimize GOOG.csv ema_cross --grid fast=5:15:5 --grid slow=20:40:10 --quiet --json -

Exit codes:
  0  ok
  1  failure (a strategy or backend failed while running)
  2  bad input (usage, a bad option or grid, an unreadable data file, an unknown family
     or unreadable strategy file, an unknown parameter)
`;

/** A bad command line: printed as one line, exit code 2. */
class UsageError extends Error {}

interface Args {
  data: string;
  strategy: string;
  grid: GridSpec;
  filters: string[];
  objective: string;
  backend: BackendName;
  random: number | null;
  walkForward: { inSample: number; outOfSample: number; anchored: boolean } | null;
  seed: number;
  top: number;
  json: string | null;
  report: string | null;
  workers: number | undefined;
  config: Partial<BacktestConfig> & { slippageBps?: number };
  help: boolean;
  quiet: boolean;
  color: ColorMode;
}

function _num(flag: string, v: string): number {
  const x = Number(v);
  if (v.trim() === "" || !Number.isFinite(x)) {
    throw new UsageError(`${flag} expects a number, got "${v}"`);
  }
  return x;
}

/** Parses the command line; throws UsageError naming the bad option. */
export function parseOptimizeArgs(argv: string[]): Args {
  const a: Args = {
    data: "",
    strategy: "",
    grid: { params: {}, constraints: [] },
    filters: [],
    objective: "sharpe",
    backend: "auto",
    random: null,
    walkForward: null,
    seed: 1,
    top: 10,
    json: null,
    report: null,
    workers: undefined,
    config: {},
    help: false,
    quiet: false,
    color: "auto",
  };
  const pos: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    let flag = argv[i];
    let inline: string | null = null;
    if (flag.startsWith("--") && flag.includes("=") && !flag.startsWith("--grid=")) {
      inline = flag.slice(flag.indexOf("=") + 1);
      flag = flag.slice(0, flag.indexOf("="));
    } else if (flag.startsWith("--grid=")) {
      inline = flag.slice(7);
      flag = "--grid";
    }
    const v = (): string => {
      if (inline !== null) return inline;
      const x = argv[++i];
      if (x === undefined) throw new UsageError(`${flag} expects a value`);
      return x;
    };
    switch (flag) {
      case "--help":
      case "-h":
        a.help = true;
        break;
      case "--quiet":
      case "-q":
        a.quiet = true;
        break;
      case "--color":
        try {
          a.color = parseColorMode(v());
        } catch (e) {
          throw new UsageError((e as Error).message);
        }
        break;
      case "--grid": {
        try {
          const [name, spec] = parseParamArg(v());
          a.grid.params[name] = spec;
        } catch (e) {
          throw new UsageError((e as Error).message);
        }
        break;
      }
      case "--constraint":
        a.grid.constraints!.push(v());
        break;
      case "--filter":
        a.filters.push(v());
        break;
      case "--objective":
        a.objective = v();
        break;
      case "--backend": {
        const b = v();
        if (!["auto", "workers", "webgpu", "gpujs", "cpu"].includes(b)) {
          throw new UsageError(`--backend expects auto, workers, webgpu, gpujs or cpu, got "${b}"`);
        }
        a.backend = b as BackendName;
        break;
      }
      case "--walk-forward": {
        const parts = v().split(":");
        const inSample = Number(parts[0]), outOfSample = Number(parts[1]);
        if (
          parts.length < 2 || parts.length > 3 || !Number.isInteger(inSample) ||
          !Number.isInteger(outOfSample) || (parts[2] !== undefined && parts[2] !== "anchored")
        ) {
          throw new UsageError(
            `--walk-forward expects IN:OUT or IN:OUT:anchored (bars), got "${parts.join(":")}"`,
          );
        }
        a.walkForward = { inSample, outOfSample, anchored: parts[2] === "anchored" };
        break;
      }
      case "--random":
        a.random = _num(flag, v());
        break;
      case "--seed":
        a.seed = _num(flag, v());
        break;
      case "--top":
        a.top = _num(flag, v());
        break;
      case "--report":
        a.report = v();
        break;
      case "--json":
        a.json = v();
        break;
      case "--workers":
        a.workers = _num(flag, v());
        break;
      case "--cash":
        a.config.cash = _num(flag, v());
        break;
      case "--fee-taker":
        a.config.feeTaker = _num(flag, v());
        break;
      case "--fee-fixed":
        a.config.feeFixed = _num(flag, v());
        break;
      case "--slippage-bps":
        a.config.slippageBps = _num(flag, v());
        break;
      case "--leverage":
        a.config.leverage = _num(flag, v());
        break;
      case "--annualization":
        a.config.annualization = _num(flag, v());
        break;
      case "--sizing":
        try {
          a.config.sizing = parseSizing(v());
        } catch (e) {
          throw new UsageError((e as Error).message);
        }
        break;
      case "--mode": {
        const m = v();
        if (m !== "long_only" && m !== "long_short") {
          throw new UsageError(`--mode expects long_only or long_short, got "${m}"`);
        }
        a.config.mode = m;
        break;
      }
      default:
        if (flag.startsWith("-")) throw new UsageError(`Unknown option ${flag}`);
        pos.push(flag);
    }
  }
  if (a.help) return a;
  if (pos.length !== 2) {
    throw new UsageError(
      `Expected <data-file> and <family|strategy-file>, got ${pos.length} arguments`,
    );
  }
  [a.data, a.strategy] = pos;
  if (Object.keys(a.grid.params).length === 0) throw new UsageError("Give at least one --grid");
  // Checked here so a bad objective or filter is bad input (exit 2) before any data is read.
  try {
    parseObjective(a.objective);
    for (const f of a.filters) parseFilter(f);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  return a;
}

function _fmt(x: number): string {
  if (!Number.isFinite(x) || Number.isInteger(x)) return String(x);
  return Math.abs(x) >= 1000 ? x.toFixed(0) : x.toPrecision(4);
}

function _table(rows: ComboResult[], color: boolean): string {
  if (rows.length === 0) return "(no combination passed the filters)";
  const names = Object.keys(rows[0].params);
  const cols = [
    "sharpe",
    "sortino",
    "totalReturn",
    "cagr",
    "maxDrawdown",
    "trades",
    "winRate",
  ] as const;
  const head = [...names, ...cols];
  const body = rows.map((r) => [
    ...names.map((n) => String(r.params[n])),
    ...cols.map((c) => _fmt(r.metrics[c])),
  ]);
  const w = head.map((h, j) => Math.max(h.length, ...body.map((b) => b[j].length)));
  // Pad first, colour after, so escape codes do not count toward the column widths.
  const row = (r: ComboResult, cells: string[]) =>
    cells.map((c, j) => {
      const padded = c.padStart(w[j]);
      const k = j - names.length;
      return k >= 0 ? styleMetric(cols[k], r.metrics[cols[k]], padded, color) : padded;
    }).join("  ");
  const header = paint(head.map((h, j) => h.padStart(w[j])).join("  "), "bold", color);
  return [header, ...rows.map((r, i) => row(r, body[i]))].join("\n");
}

/** JSON.stringify with non-finite numbers as null. */
function _json(v: unknown): string {
  return JSON.stringify(v, (_k, x) => (typeof x === "number" && !Number.isFinite(x) ? null : x), 2);
}

async function main(argv: string[]): Promise<number> {
  let args: Args;
  try {
    args = parseOptimizeArgs(argv);
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`error: ${e.message}\n(deno task optimize --help for usage)`);
      return 2;
    }
    throw e;
  }
  if (args.help) {
    console.log(HELP);
    return 0;
  }
  const toStderr = args.json === "-";
  // Informational lines: stderr when stdout carries JSON; none with --quiet.
  const log = args.quiet ? () => {} : toStderr ? console.error : console.log;
  const color = colorEnabled(
    args.color,
    toStderr ? Deno.stderr.isTerminal() : Deno.stdout.isTerminal(),
  );
  let bars;
  try {
    bars = (await loadBars(args.data)).bars;
  } catch (e) {
    console.error(`error: ${(e as Error).message}`);
    // An unreadable or invalid data file is bad input.
    return e instanceof DataFileError || e instanceof Deno.errors.NotFound ? 2 : 1;
  }
  let strategy: OptimizationRequest["strategy"];
  if (isFamilyId(args.strategy)) strategy = { family: args.strategy };
  else {
    try {
      strategy = {
        code: await Deno.readTextFile(args.strategy),
        lang: args.strategy.endsWith(".js") ? "js" : "ts",
      };
    } catch (e) {
      console.error(
        `error: "${args.strategy}" is neither a family (${
          Object.keys(FAMILIES).join(", ")
        }) nor a readable file: ${(e as Error).message}`,
      );
      return 2;
    }
  }
  const req: OptimizationRequest = {
    bars,
    strategy,
    grid: args.grid,
    objective: args.objective,
    filters: args.filters,
    top: args.top,
    backend: args.backend,
    config: args.config,
    workers: args.workers,
    search: args.random !== null
      ? { kind: "random", samples: args.random, seed: args.seed }
      : { kind: "grid" },
  };
  if (args.walkForward) {
    try {
      const wf = await runWalkForward({ ...req, ...args.walkForward });
      log(`Walk-forward: ${wf.windows.length} windows, objective ${args.objective}`);
      for (const w of wf.windows) {
        const m = w.outOfSampleMetrics;
        log(
          `  in [${w.inSample.start}, ${w.inSample.end}) best ${
            w.best ? JSON.stringify(w.best.params) : "none"
          } → out [${w.outOfSample.start}, ${w.outOfSample.end}) return ${
            m ? _fmt(m.totalReturn) : "-"
          } sharpe ${m ? _fmt(m.sharpe) : "-"}`,
        );
      }
      log(
        `Stitched out-of-sample: return ${_fmt(wf.metrics.totalReturn)}, sharpe ${
          _fmt(wf.metrics.sharpe)
        }, max drawdown ${_fmt(wf.metrics.maxDrawdown)}`,
      );
      if (args.json !== null) {
        const out = _json(wf);
        if (args.json === "-") console.log(out);
        else await Deno.writeTextFile(args.json, out + "\n");
      }
      return 0;
    } catch (e) {
      console.error(`error: ${(e as Error).message}`);
      return e instanceof RangeError ? 2 : 1;
    }
  }
  const bar = new ProgressBar({
    label: "optimize",
    unit: "combinations",
    enabled: progressEnabled(args.quiet),
  });
  try {
    const res = await runOptimization(req, {
      onProgress: (p) => bar.update(p.done, p.total),
    });
    bar.finish();
    log(
      `${res.total} combinations × ${bars.length} bars on ${res.backendInfo} in ${
        (res.elapsedMs / 1000).toFixed(2)
      } s (${res.barEvaluationsPerSecond.toExponential(2)} bar-evaluations/s)`,
    );
    log(`Top ${res.top.length} by ${res.objective}:`);
    // With --quiet the table is printed only when it is the one output asked for.
    if (!args.quiet) log(_table(res.top, color));
    else if (args.json === null && args.report === null) console.log(_table(res.top, color));
    if (args.json !== null) {
      const out = _json({
        backend: res.backend,
        backendInfo: res.backendInfo,
        objective: res.objective,
        total: res.total,
        bars: bars.length,
        elapsedMs: res.elapsedMs,
        barEvaluationsPerSecond: res.barEvaluationsPerSecond,
        best: res.best,
        top: res.top,
        combos: res.combos,
      });
      if (args.json === "-") console.log(out);
      else await Deno.writeTextFile(args.json, out + "\n");
    }
    if (args.report !== null) {
      const subtitle = `${args.strategy} on ${args.data}`;
      await Deno.writeTextFile(args.report, renderOptimizationReport(res, { subtitle }));
    }
    return 0;
  } catch (e) {
    bar.finish();
    console.error(`error: ${(e as Error).message}`);
    // The optimizer reports bad requests (unknown parameter, objective, filter) as RangeError.
    return e instanceof RangeError ? 2 : 1;
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
