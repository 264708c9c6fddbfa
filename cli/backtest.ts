/**
 * `deno task backtest <data-file> <strategy-file> [options]`: runs one backtest and prints a
 * metrics table (or writes JSON / CSV). Bad input prints one line and exits with code 2;
 * a strategy that throws or returns a bad signal exits with code 1.
 *
 * @module
 */
import { BarsError } from "../engine/bars.ts";
import { parseSizing, resolveConfig } from "../engine/config.ts";
import { runBacktest, type RunOptions, StrategyError } from "../engine/backtest.ts";
import type { BacktestConfig, BacktestResult, TradeRecord } from "../engine/types.ts";
import { DataFileError } from "../market/load_bars.ts";
import { resolveDataSpec } from "../market/data_loader.ts";
import { MarketDataError } from "../market/market_data_error.ts";
import { formatQuality } from "../market/quality.ts";
import { loadStrategyFile, StrategyFileError } from "./load_strategy_file.ts";
import { runInSandbox, SandboxError, warmSandboxPool } from "../jobs/sandbox.ts";
import { renderBacktestReport } from "../report/html_report.ts";
import { ProgressBar, progressEnabled } from "./progress_bar.ts";
import { colorEnabled, type ColorMode, paint, parseColorMode, styleMetric } from "./term_style.ts";

const HELP = `Usage: deno task backtest <data-file> <strategy-file> [options]

Runs a strategy (a module whose default export is a class with OnData) over OHLCV bars
from a CSV, JSON or Parquet file and prints its metrics.

Options:
  --cash N                 starting cash (default 10000)
  --fee-taker R            taker fee rate for market/stop fills, e.g. 0.001 = 10 bps
  --fee-maker R            maker fee rate for limit fills
  --fee-fixed N            fixed fee per fill
  --slippage-bps N         slippage of market/stop fills in basis points
  --mode M                 long_only (default) or long_short
  --sizing S               fraction:F (default fraction:1), units:N or notional:N
  --whole-units            round quantities down to whole units
  --leverage N             gross leverage (default 1)
  --param name=value       override a strategy parameter (repeatable)
  --annualization N        periods per year for metrics (default: from the bar interval)
  --close-at-end           close open positions at the last bar's close
  --fill-on-close          fill market orders at the close of the signal bar (default: next open)
  --json PATH|-            write the result JSON to PATH (- = stdout, table goes to stderr)
  --csv-equity PATH        write the equity curve as CSV
  --csv-trades PATH        write the trades as CSV
  --report PATH            write a self-contained HTML report (equity vs buy-and-hold,
                           drawdown, trades on the price chart, monthly returns, metrics)
  --trusted                run the strategy in this process with the CLI's permissions
                           (default: in the sandbox, a subprocess with no permissions)
  --quiet, -q              no progress bar, quality report or table on stderr (errors only);
                           stdout gets only the requested outputs (the table only when no
                           --json/--csv-*/--report output is asked for)
  --color WHEN             colour the metrics table: auto (default: a terminal, unless
                           NO_COLOR is set; FORCE_COLOR forces), always or never
  --help                   show this help

A progress bar with ETA is drawn on stderr when it is a terminal (not with --quiet).

Examples:
  deno task backtest data/sample/SAMPLE_USD_1d.csv examples/sma_cross.ts --param fast=5
  deno task backtest GOOG.csv examples/rsi.ts --mode long_short --json result.json
  deno task backtest GOOG.csv examples/sma_cross.ts --quiet --json - | jq .metrics

Exit codes:
  0  ok
  1  failure (the strategy threw, timed out or ran out of memory; network/exchange error)
  2  bad input (usage, a bad option value, an unreadable or invalid data/strategy file)
`;

/** A bad command line: printed as one line, exit code 2. */
class UsageError extends Error {}

interface CliArgs {
  dataFile: string;
  strategyFile: string;
  config: NonNullable<RunOptions["config"]>;
  params: Record<string, number | string | boolean>;
  json: string | null;
  csvEquity: string | null;
  csvTrades: string | null;
  report: string | null;
  help: boolean;
  trusted: boolean;
  quiet: boolean;
  color: ColorMode;
}

function num(flag: string, v: string): number {
  const x = Number(v);
  if (v.trim() === "" || !Number.isFinite(x)) {
    throw new UsageError(`${flag} expects a number, got "${v}"`);
  }
  return x;
}

function paramValue(v: string): number | string | boolean {
  if (v === "true") return true;
  if (v === "false") return false;
  const x = Number(v);
  return v.trim() !== "" && Number.isFinite(x) ? x : v;
}

/** Parses the command line; throws UsageError naming the bad option. */
function parseArgs(argv: string[]): CliArgs {
  const out: CliArgs = {
    dataFile: "",
    strategyFile: "",
    config: {},
    params: {},
    json: null,
    csvEquity: null,
    csvTrades: null,
    report: null,
    help: false,
    trusted: false,
    quiet: false,
    color: "auto",
  };
  const positional: string[] = [];
  const cfg = out.config as Partial<BacktestConfig> & { slippageBps?: number };
  for (let i = 0; i < argv.length; i++) {
    let a = argv[i];
    let inline: string | null = null;
    if (a.startsWith("--") && a.includes("=")) {
      inline = a.slice(a.indexOf("=") + 1);
      a = a.slice(0, a.indexOf("="));
    }
    const value = (): string => {
      if (inline !== null) return inline;
      const v = argv[++i];
      if (v === undefined) throw new UsageError(`${a} expects a value`);
      return v;
    };
    switch (a) {
      case "--help":
      case "-h":
        out.help = true;
        break;
      case "--cash":
        cfg.cash = num(a, value());
        break;
      case "--fee-taker":
        cfg.feeTaker = num(a, value());
        break;
      case "--fee-maker":
        cfg.feeMaker = num(a, value());
        break;
      case "--fee-fixed":
        cfg.feeFixed = num(a, value());
        break;
      case "--slippage-bps":
        cfg.slippageBps = num(a, value());
        break;
      case "--leverage":
        cfg.leverage = num(a, value());
        break;
      case "--annualization":
        cfg.annualization = num(a, value());
        break;
      case "--mode": {
        const m = value();
        if (m !== "long_only" && m !== "long_short") {
          throw new UsageError(`--mode expects long_only or long_short, got "${m}"`);
        }
        cfg.mode = m;
        break;
      }
      case "--sizing":
        try {
          cfg.sizing = parseSizing(value());
        } catch (e) {
          throw new UsageError(`--sizing: ${(e as Error).message}`);
        }
        break;
      case "--whole-units":
        cfg.wholeUnits = true;
        break;
      case "--close-at-end":
        cfg.closeAtEnd = true;
        break;
      case "--fill-on-close":
        cfg.fillOn = "close";
        break;
      case "--trusted":
        out.trusted = true;
        break;
      case "--quiet":
      case "-q":
        out.quiet = true;
        break;
      case "--color":
        try {
          out.color = parseColorMode(value());
        } catch (e) {
          throw new UsageError((e as Error).message);
        }
        break;
      case "--param": {
        const kv = value();
        const eq = kv.indexOf("=");
        if (eq <= 0) throw new UsageError(`--param expects name=value, got "${kv}"`);
        out.params[kv.slice(0, eq)] = paramValue(kv.slice(eq + 1));
        break;
      }
      case "--json":
        out.json = value();
        break;
      case "--csv-equity":
        out.csvEquity = value();
        break;
      case "--report":
        out.report = value();
        break;
      case "--csv-trades":
        out.csvTrades = value();
        break;
      default:
        if (a.startsWith("-") && a !== "-") {
          throw new UsageError(`unknown option ${a} (see --help)`);
        }
        positional.push(a);
    }
  }
  if (out.help) return out;
  if (positional.length !== 2) {
    throw new UsageError(
      `expected <data-file> <strategy-file>, got ${positional.length} argument(s) (see --help)`,
    );
  }
  [out.dataFile, out.strategyFile] = positional;
  return out;
}

function iso(t: number | null): string {
  return t === null ? "" : new Date(t).toISOString();
}

const PERCENT = new Set([
  "totalReturn",
  "cagr",
  "annualReturn",
  "annualVolatility",
  "maxDrawdown",
  "winRate",
  "exposure",
  "valueAtRisk",
  "conditionalValueAtRisk",
  "bestTrade",
  "worstTrade",
  "alpha",
]);

function formatValue(key: string, v: number | null): string {
  if (v === null || v === undefined) return "n/a";
  if (!Number.isFinite(v)) return String(v);
  if (PERCENT.has(key)) return `${(v * 100).toFixed(2)} %`;
  if (Number.isInteger(v)) return String(v);
  return Math.abs(v) >= 1000 ? v.toFixed(2) : v.toPrecision(6);
}

/** The readable metrics table the CLI prints. */
function formatTable(
  r: BacktestResult,
  dataFile: string,
  strategyFile: string,
  color: boolean,
): string {
  const lines = [
    `WagYu backtest: ${strategyFile} on ${dataFile}`,
    `Bars: ${r.bars.count} (${iso(r.bars.start)} → ${iso(r.bars.end)})`,
    `Params: ${JSON.stringify(r.params)}`,
    "",
  ];
  const keys = Object.keys(r.metrics);
  const w = Math.max(...keys.map((k) => k.length), 6);
  lines.push(paint(`${"metric".padEnd(w)}  value`, "bold", color));
  lines.push(`${"-".repeat(w)}  ${"-".repeat(16)}`);
  for (const k of keys) {
    const v = r.metrics[k];
    lines.push(`${k.padEnd(w)}  ${styleMetric(k, v, formatValue(k, v), color)}`);
  }
  const open = r.trades.filter((t) => t.exitTime === null).length;
  lines.push(
    "",
    `Trades: ${r.trades.length - open} closed, ${open} open; orders: ${r.orders.length}`,
  );
  return lines.join("\n");
}

function csvCell(v: unknown): string {
  const s = v === null || v === undefined ? "" : String(v);
  return /[",\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

function equityCsv(r: BacktestResult): string {
  const out = ["time,equity"];
  for (const e of r.equity) out.push(`${iso(e.time)},${e.equity}`);
  return out.join("\n") + "\n";
}

function tradesCsv(trades: TradeRecord[]): string {
  const cols = [
    "side",
    "quantity",
    "entryTime",
    "entryPrice",
    "exitTime",
    "exitPrice",
    "pnl",
    "returnPct",
    "fees",
    "exitReason",
  ] as const;
  const out = [cols.join(",")];
  for (const t of trades) {
    out.push(
      cols.map((c) => csvCell(c === "entryTime" || c === "exitTime" ? iso(t[c]) : t[c])).join(","),
    );
  }
  return out.join("\n") + "\n";
}

async function write(path: string, text: string, what: string): Promise<void> {
  try {
    await Deno.writeTextFile(path, text);
  } catch (e) {
    throw new UsageError(`cannot write ${what} to ${path}: ${(e as Error).message}`);
  }
}

/** Reads a strategy file's source for the sandbox (which compiles and runs it). */
async function readStrategySource(path: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch (e) {
    const why = e instanceof Deno.errors.NotFound ? "file not found" : (e as Error).message;
    throw new StrategyFileError(path, `${path}: cannot read strategy file: ${why}`, { cause: e });
  }
}

/** Runs the CLI with `argv`; returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  let args: CliArgs;
  try {
    args = parseArgs(argv);
    // Validate the configuration here, so a bad value is a usage error (exit 2) in both modes.
    resolveConfig(args.config);
  } catch (e) {
    console.error(`error: ${(e as Error).message}`);
    return 2;
  }
  if (args.help) {
    console.log(HELP);
    return 0;
  }
  const bar = new ProgressBar({
    label: "backtest",
    unit: "bars",
    enabled: progressEnabled(args.quiet),
  });
  const onProgress = (p: { index: number; total: number }) =>
    bar.update(Math.min(p.index + 1, p.total), p.total);
  try {
    // The sandbox process and the compiler start while the data loads.
    if (!args.trusted) warmSandboxPool({ processes: 1 });
    // A file path, a shipped dataset name or an exchange spec such as binance:BTC/USDT:1h.
    const { bars, quality } = await resolveDataSpec(args.dataFile);
    const result = args.trusted
      ? runBacktest(bars, await loadStrategyFile(args.strategyFile), {
        config: args.config,
        params: args.params,
        onProgress,
      })
      : await runInSandbox({
        code: await readStrategySource(args.strategyFile),
        bars,
        config: args.config,
        params: args.params,
      }, { onProgress });
    bar.finish();
    // The data quality report goes to stderr after the run, so a failing run says one line.
    if (!args.quiet) console.error(formatQuality(quality));
    const fileOutputs = args.json !== null || args.csvEquity !== null ||
      args.csvTrades !== null || args.report !== null;
    if (args.json === "-") {
      if (!args.quiet) {
        const color = colorEnabled(args.color, Deno.stderr.isTerminal());
        console.error(formatTable(result, args.dataFile, args.strategyFile, color));
      }
      await Deno.stdout.write(new TextEncoder().encode(JSON.stringify(result) + "\n"));
    } else {
      // With --quiet the table is printed only when it is the one output asked for.
      if (!args.quiet || !fileOutputs) {
        const color = colorEnabled(args.color, Deno.stdout.isTerminal());
        console.log(formatTable(result, args.dataFile, args.strategyFile, color));
      }
      if (args.json !== null) {
        await write(args.json, JSON.stringify(result, null, 2) + "\n", "JSON");
      }
    }
    if (args.csvEquity !== null) await write(args.csvEquity, equityCsv(result), "equity CSV");
    if (args.csvTrades !== null) {
      await write(args.csvTrades, tradesCsv(result.trades), "trades CSV");
    }
    if (args.report !== null) {
      const subtitle = `${args.strategyFile} on ${args.dataFile}`;
      await write(args.report, renderBacktestReport(result, bars, { subtitle }), "HTML report");
    }
    return 0;
  } catch (e) {
    bar.finish();
    if (e instanceof StrategyError) {
      console.error(`error: ${e.message}`);
      return 1;
    }
    if (e instanceof MarketDataError) {
      console.error(`error: ${e.message}`);
      return e.code === "offline" || e.code === "exchange" ? 1 : 2;
    }
    if (e instanceof SandboxError) {
      for (const line of e.logs) console.error(line);
      console.error(`error (${e.kind}): ${e.message}`);
      return e.kind === "compile" ? 2 : 1;
    }
    if (
      e instanceof DataFileError || e instanceof StrategyFileError || e instanceof UsageError ||
      e instanceof BarsError ||
      e instanceof RangeError || e instanceof TypeError
    ) {
      console.error(`error: ${e.message.split("\n")[0]}`);
      return 2;
    }
    throw e;
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
