/**
 * `deno task fetch <exchange> <symbol> <timeframe> [--since DATE] [--until DATE]`: downloads
 * OHLCV bars through ccxt into the cache (data/cache/<exchange>/<BASE>_<QUOTE>_<tf>.parquet),
 * fetching only what the cache lacks, with a progress bar on stderr (a terminal only), then
 * prints the data quality report. Exit codes: 0 ok, 2 bad input (usage, unknown exchange/symbol/timeframe),
 * 1 network or exchange failure.
 *
 * @module
 */
import {
  type FetchProgress,
  loadExchangeBars,
  SUPPORTED_EXCHANGES,
} from "../market/ccxt_loader.ts";
import { MarketDataError } from "../market/market_data_error.ts";
import { openCache, ParquetFileCache } from "../market/parquet_cache.ts";
import { epochToMs, formatTime, parseIsoTime } from "../market/parse_time.ts";
import { formatQuality } from "../market/quality.ts";
import { ProgressBar, progressEnabled } from "./progress_bar.ts";

const HELP = `Usage: deno task fetch <exchange> <symbol> <timeframe> [options]

Downloads OHLCV bars from an exchange (${SUPPORTED_EXCHANGES.join(", ")}) into the local
Parquet cache, fetching only the ranges not cached yet.

  <symbol>        unified ccxt symbol, e.g. BTC/USDT
  <timeframe>     e.g. 1m, 5m, 15m, 1h, 4h, 1d (what the exchange supports)

Options:
  --since DATE    first bar (YYYY-MM-DD, ISO date-time, or epoch s/ms);
                  default: the cache's first bar, or 1000 bars back
  --until DATE    last bar (default: the last complete bar)
  --cache-dir DIR cache folder (default data/cache)
  --backend B     auto (default), parquet-file or deno-kv
  --api-url URL   the exchange's public REST base URL (a testnet, a mirror, a local
                  stand-in), e.g. http://127.0.0.1:8080/api/v3 for binance
  --json          print the quality report as JSON on stdout
  --quiet, -q     no progress, summary or report (errors only on stderr; with --json,
                  only the JSON on stdout)
  --help          show this help

A progress bar with ETA is drawn on stderr when it is a terminal; otherwise one summary
line is printed there at the end (neither with --quiet).

Examples:
  deno task fetch binance BTC/USDT 1h --since 2024-01-01
  deno task fetch kraken ETH/USD 1d --since 2023-01-01 --until 2023-12-31 --json
  deno task fetch binance BTC/USDT 5m --quiet        # for cron jobs: silent unless it fails

Exit codes:
  0  ok
  1  failure (network unreachable, the exchange returned an error)
  2  bad input (usage, a bad date, an unknown exchange, symbol or timeframe)
`;

class UsageError extends Error {}

function parseDate(flag: string, v: string | undefined): number {
  if (v === undefined) throw new UsageError(`${flag} needs a value`);
  const s = v.trim();
  const t = /^\d+$/.test(s) ? epochToMs(Number(s)) : parseIsoTime(s, 0, s.length);
  if (!Number.isFinite(t)) throw new UsageError(`${flag}: cannot read "${v}" as a date`);
  return t;
}

interface Args {
  exchange: string;
  symbol: string;
  timeframe: string;
  since?: number;
  until?: number;
  cacheDir?: string;
  apiUrl?: string;
  backend: "auto" | "parquet-file" | "deno-kv";
  json: boolean;
  help: boolean;
  quiet: boolean;
}

function parseArgs(argv: string[]): Args {
  const pos: string[] = [];
  const a: Partial<Args> = { backend: "auto", json: false, help: false, quiet: false };
  for (let i = 0; i < argv.length; i++) {
    const x = argv[i];
    const [flag, inline] = x.startsWith("--") && x.includes("=")
      ? [x.slice(0, x.indexOf("=")), x.slice(x.indexOf("=") + 1)]
      : [x, undefined];
    const value = () => inline ?? argv[++i];
    switch (flag) {
      case "--help":
      case "-h":
        a.help = true;
        break;
      case "--since":
        a.since = parseDate("--since", value());
        break;
      case "--until":
        a.until = parseDate("--until", value());
        break;
      case "--cache-dir":
        a.cacheDir = value();
        if (!a.cacheDir) throw new UsageError("--cache-dir needs a value");
        break;
      case "--backend": {
        const b = value();
        if (b !== "auto" && b !== "parquet-file" && b !== "deno-kv") {
          throw new UsageError(`--backend must be auto, parquet-file or deno-kv, got ${b}`);
        }
        a.backend = b;
        break;
      }
      case "--api-url":
        a.apiUrl = value();
        if (!a.apiUrl || !/^https?:\/\//.test(a.apiUrl)) {
          throw new UsageError("--api-url needs an http(s) URL");
        }
        break;
      case "--json":
        a.json = true;
        break;
      case "--quiet":
      case "-q":
        a.quiet = true;
        break;
      default:
        if (x.startsWith("--")) throw new UsageError(`Unknown option ${x} (see --help)`);
        pos.push(x);
    }
  }
  if (a.help) return a as Args;
  if (pos.length !== 3) {
    throw new UsageError(
      `Expected <exchange> <symbol> <timeframe>, got ${pos.length} argument(s) (see --help)`,
    );
  }
  [a.exchange, a.symbol, a.timeframe] = [pos[0].toLowerCase(), pos[1].toUpperCase(), pos[2]];
  if (!a.symbol.includes("/")) {
    throw new UsageError(`Symbol must look like BASE/QUOTE (e.g. BTC/USDT), got ${pos[1]}`);
  }
  if (a.since !== undefined && a.until !== undefined && a.since > a.until) {
    throw new UsageError("--since is after --until");
  }
  return a as Args;
}

/** Runs the CLI; returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  let args: Args;
  try {
    args = parseArgs(argv);
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`fetch: ${e.message}`);
      return 2;
    }
    throw e;
  }
  if (args.help) {
    console.log(HELP);
    return 0;
  }
  const cache = await openCache({ backend: args.backend, dir: args.cacheDir });
  const label = `${args.exchange} ${args.symbol} ${args.timeframe}`;
  const bar = new ProgressBar({ label, unit: "bars", enabled: progressEnabled(args.quiet) });
  let last: FetchProgress | null = null;
  try {
    const r = await loadExchangeBars(
      {
        exchange: args.exchange,
        symbol: args.symbol,
        timeframe: args.timeframe,
        since: args.since,
        until: args.until,
      },
      {
        cache,
        exchangeOptions: args.apiUrl ? { urls: { api: { public: args.apiUrl } } } : {},
        onProgress: (p) => {
          last = p;
          bar.update(p.fetched, p.expected, `${p.requests} requests, at ${formatTime(p.cursor)}`);
        },
        onWarning: (m) => {
          if (m.startsWith("retry") && !args.quiet) {
            bar.finish();
            console.error(`${label}: ${m}`);
          }
        },
      },
    );
    bar.finish();
    // Logs that capture stderr get one summary line instead of the in-place bar.
    const p = last as FetchProgress | null;
    if (p && !args.quiet && !Deno.stderr.isTerminal()) {
      console.error(`${label}: ${p.fetched}/${p.expected} bars, ${p.requests} requests`);
    }
    if (args.json) console.log(JSON.stringify(r.quality, null, 2));
    else if (!args.quiet) {
      console.log(formatQuality(r.quality));
      const engine = cache instanceof ParquetFileCache
        ? `, written by ${await cache.writer()}`
        : "";
      console.log(
        `cache: ${
          cache.locate({ exchange: args.exchange, symbol: args.symbol, timeframe: args.timeframe })
        } (${cache.kind}${engine})`,
      );
    }
    return 0;
  } catch (e) {
    bar.finish();
    if (e instanceof MarketDataError) {
      console.error(`fetch: ${e.message}`);
      return e.code === "offline" || e.code === "exchange" ? 1 : 2;
    }
    throw e;
  } finally {
    cache.close();
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
