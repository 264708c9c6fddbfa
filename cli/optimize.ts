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
import { type ComboResult, OBJECTIVES } from "../optimizer/objective.ts";
import {
  type BackendName,
  type OptimizationRequest,
  runOptimization,
} from "../optimizer/run_optimization.ts";
import { runWalkForward } from "../optimizer/walk_forward.ts";
import { renderOptimizationReport } from "../report/html_report.ts";

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
  --help                     show this help
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
  return a;
}

function _fmt(x: number): string {
  if (!Number.isFinite(x) || Number.isInteger(x)) return String(x);
  return Math.abs(x) >= 1000 ? x.toFixed(0) : x.toPrecision(4);
}

function _table(rows: ComboResult[]): string {
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
  const line = (cells: string[]) => cells.map((c, j) => c.padStart(w[j])).join("  ");
  return [line(head), ...body.map(line)].join("\n");
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
  const log = args.json === "-" ? console.error : console.log;
  let bars;
  try {
    bars = (await loadBars(args.data)).bars;
  } catch (e) {
    console.error(`error: ${(e as Error).message}`);
    return e instanceof DataFileError || e instanceof Deno.errors.NotFound ? 1 : 1;
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
      return 1;
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
      return 1;
    }
  }
  let lastPct = -1;
  try {
    const res = await runOptimization(req, {
      onProgress: (p) => {
        const pct = Math.floor((p.done / p.total) * 10);
        if (pct !== lastPct && Deno.stderr.isTerminal()) {
          lastPct = pct;
          Deno.stderr.writeSync(new TextEncoder().encode(`\r${p.done}/${p.total} combinations`));
        }
      },
    });
    if (Deno.stderr.isTerminal()) Deno.stderr.writeSync(new TextEncoder().encode("\r"));
    log(
      `${res.total} combinations × ${bars.length} bars on ${res.backendInfo} in ${
        (res.elapsedMs / 1000).toFixed(2)
      } s (${res.barEvaluationsPerSecond.toExponential(2)} bar-evaluations/s)`,
    );
    log(`Top ${res.top.length} by ${res.objective}:`);
    log(_table(res.top));
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
    console.error(`error: ${(e as Error).message}`);
    return 1;
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
