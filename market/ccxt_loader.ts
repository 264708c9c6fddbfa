/**
 * Exchange OHLCV through ccxt, behind the cache: a request fetches only the ranges the cache
 * lacks (paging with since/limit, ccxt's rate limiter on, retries with backoff on transient
 * errors), merges and de-duplicates on timestamp, writes the cache atomically and returns
 * the bars with a quality report. With no network it serves what the cache has, or fails
 * with "offline: no network and no cached data for binance BTC/USDT 1h".
 *
 * @module
 */
import type { Exchange } from "ccxt";
import type { Bars } from "../engine/types.ts";
import { sliceBars } from "../engine/bars.ts";
import { BarsBuilder } from "./bars_builder.ts";
import { mergeRanges, missingRanges, type Range } from "./coverage.ts";
import type { LoadedBars } from "./load_bars.ts";
import { LruCache } from "./lru_cache.ts";
import { MarketDataError } from "./market_data_error.ts";
import {
  type CacheBackend,
  CacheCorruptError,
  type CacheEntry,
  type CacheKey,
} from "./parquet_cache.ts";
import { formatTime } from "./parse_time.ts";
import { retry } from "./retry.ts";

/** The exchanges WagYu supports (ccxt ids). */
export const SUPPORTED_EXCHANGES = [
  "binance",
  "coinbase",
  "kraken",
  "kucoin",
  "bybit",
  "okx",
] as const;
/** One of `SUPPORTED_EXCHANGES`. */
export type ExchangeId = typeof SUPPORTED_EXCHANGES[number];

/** Largest page each exchange serves per OHLCV request. */
/** Exchanges whose ccxt `fetchOHLCV` maps an `until` param to the API's end bound (kucoin
 * derives its end from since + limit itself; kraken has none). */
const TAKES_UNTIL = new Set(["binance", "coinbase", "bybit", "okx"]);

const PAGE_LIMIT: Record<ExchangeId, number> = {
  binance: 1000,
  coinbase: 300,
  kraken: 720,
  kucoin: 1500,
  bybit: 1000,
  okx: 100,
};

/** Progress of a fetch, for progress bars. */
export interface FetchProgress {
  /** Bars received so far. */
  fetched: number;
  /** Bars expected over the missing ranges (an estimate: exchanges have holes). */
  expected: number;
  /** Requests made so far. */
  requests: number;
  /** Timestamp the fetch has reached. */
  cursor: number;
}

/** Options of `CcxtLoader` and `fetchOhlcvRange`. */
export interface CcxtLoaderOptions {
  /** Persistent cache; null disables it. @default null */
  cache?: CacheBackend | null;
  /** In-memory LRU on top of the cache (the server keeps one). @default null */
  memory?: LruCache<CacheEntry> | null;
  /** Extra ccxt constructor options (tests point `urls.api` at a loopback server). */
  exchangeOptions?: Record<string, unknown>;
  /** Retries after a transient failure. @default 4 */
  retries?: number;
  /** First backoff delay in ms (doubles per retry). @default 500 */
  backoffMs?: number;
  /** Bars per request (default: the exchange's maximum). */
  pageLimit?: number;
  /** Clock seam. @default Date.now */
  now?: () => number;
  /** Called after each page. */
  onProgress?: (p: FetchProgress) => void;
  /** Called with each warning (also returned in the quality report). */
  onWarning?: (message: string) => void;
}

/** A request for exchange bars. */
export interface ExchangeRequest {
  exchange: string;
  symbol: string;
  timeframe: string;
  /** First bar open time (ms). @default the cache's first bar, or 1000 bars before `until` */
  since?: number;
  /** Last bar open time (ms, inclusive). @default the last complete bar */
  until?: number;
}

type Ccxt = typeof import("ccxt").default;
let ccxtModule: Promise<Ccxt> | null = null;

/** Loads ccxt on first use (it takes a second or two to import). */
export function loadCcxt(): Promise<Ccxt> {
  ccxtModule ??= import("ccxt").then((m) => (m.default ?? m) as Ccxt);
  return ccxtModule;
}

const instances = new Map<string, Exchange>();

/**
 * The shared ccxt exchange for `id` and `options`: one instance per configuration, so its
 * rate limiter spans all requests of the process and its markets load once.
 */
export async function getExchange(
  id: string,
  options: Record<string, unknown> = {},
): Promise<Exchange> {
  const key = `${id} ${JSON.stringify(options)}`;
  let ex = instances.get(key);
  if (!ex) {
    ex = await createExchange(id, options);
    if (instances.size >= 32) instances.delete(instances.keys().next().value as string);
    instances.set(key, ex);
  }
  return ex;
}

/** Creates a ccxt exchange with the rate limiter on and spot markets only. */
export async function createExchange(
  id: string,
  options: Record<string, unknown> = {},
): Promise<Exchange> {
  if (!(SUPPORTED_EXCHANGES as readonly string[]).includes(id)) {
    throw new MarketDataError(
      "unknown_exchange",
      `Unknown exchange "${id}" (supported: ${SUPPORTED_EXCHANGES.join(", ")})`,
    );
  }
  const ccxt = await loadCcxt();
  // deno-lint-ignore no-explicit-any
  const Ctor = (ccxt as any)[id] as new (o: Record<string, unknown>) => Exchange;
  const userOpts = options.options as Record<string, unknown> | undefined;
  return new Ctor({
    enableRateLimit: true,
    timeout: 15_000,
    ...options,
    options: { fetchMarkets: { types: ["spot"] }, ...userOpts },
  });
}

/** Parses `binance:BTC/USDT:1h` (the symbol may itself contain ':'), or returns null. */
export function parseExchangeSpec(
  spec: string,
): { exchange: string; symbol: string; timeframe: string } | null {
  const first = spec.indexOf(":"), last = spec.lastIndexOf(":");
  if (first <= 0 || last === first || last === spec.length - 1) return null;
  const exchange = spec.slice(0, first).toLowerCase();
  const symbol = spec.slice(first + 1, last).toUpperCase();
  const timeframe = spec.slice(last + 1);
  if (!/^[a-z0-9]+$/.test(exchange) || !/^[A-Z0-9]+\/[A-Z0-9]+(:[A-Z0-9]+)?$/.test(symbol)) {
    return null;
  }
  if (!/^\d+[smhdwMy]$/.test(timeframe)) return null;
  return { exchange, symbol, timeframe };
}

/** ccxt's OperationFailed family (NetworkError, rate limits, 5xx, timeouts, binance -1000):
 * failures that may succeed on a later try. */
function isTransient(ccxt: Ccxt, e: unknown): boolean {
  return e instanceof ccxt.OperationFailed;
}

/** A NetworkError that is not an HTTP error, a timeout or a rate limit: no connection. */
function isNoConnection(ccxt: Ccxt, e: unknown): boolean {
  return e instanceof ccxt.NetworkError && e.constructor === ccxt.NetworkError;
}

function describeError(e: unknown): string {
  const m = e instanceof Error ? e.message : String(e);
  return `${(e as Error)?.constructor?.name ?? "Error"}: ${
    m.length > 300 ? m.slice(0, 300) + "…" : m
  }`;
}

/** Timeframe length in ms (ccxt notation), or NaN. */
export function timeframeMs(tf: string): number {
  const m = tf.match(/^(\d+)([smhdwMy])$/);
  if (!m) return NaN;
  const unit = { s: 1e3, m: 6e4, h: 3.6e6, d: 8.64e7, w: 6.048e8, M: 2.592e9, y: 3.1536e10 }[m[2]]!;
  return Number(m[1]) * unit;
}

/**
 * Fetches `[from, to]` (bar open times, inclusive) page by page. Each page asks for at most
 * `limit` bars with both `since` and `until`, so exchanges that serve the newest bars of an
 * open-ended window (bybit) page the same way as those that serve the oldest (binance).
 */
export async function fetchOhlcvRange(
  ex: Exchange,
  symbol: string,
  timeframe: string,
  range: Range,
  opts: CcxtLoaderOptions & { limit: number; progress?: FetchProgress },
): Promise<number[][]> {
  const ccxt = await loadCcxt();
  const tfMs = timeframeMs(timeframe);
  const rows: number[][] = [];
  const progress = opts.progress ?? { fetched: 0, expected: 0, requests: 0, cursor: range[0] };
  let cursor = range[0];
  while (cursor <= range[1]) {
    const windowEnd = Math.min(range[1], cursor + (opts.limit - 1) * tfMs);
    const page = await retry(
      () =>
        ex.fetchOHLCV(
          symbol,
          timeframe,
          cursor,
          opts.limit,
          TAKES_UNTIL.has(ex.id) ? { until: windowEnd + tfMs - 1 } : {},
        ),
      {
        retries: opts.retries ?? 4,
        backoffMs: opts.backoffMs ?? 500,
        isRetryable: (e) => isTransient(ccxt, e) && !isNoConnection(ccxt, e),
        onRetry: (e, attempt, delay) =>
          opts.onWarning?.(`retry ${attempt} in ${delay} ms after ${describeError(e)}`),
      },
    );
    progress.requests++;
    let last = -Infinity;
    for (const r of page) {
      const t = Number(r[0]);
      if (t < cursor || t > range[1]) continue; // exchanges may pad a page with neighbours
      rows.push(r as number[]);
      if (t > last) last = t;
      progress.fetched++;
    }
    // Move past what arrived, or past the whole window when it was empty (a hole, or before
    // the market listed), so that the loop always advances.
    cursor = last >= cursor ? last + tfMs : windowEnd + tfMs;
    progress.cursor = Math.min(cursor, range[1]);
    opts.onProgress?.({ ...progress });
  }
  return rows;
}

/**
 * `ex.loadMarkets()`, retryable: ccxt keeps a failed load's rejected promise and hands it
 * back on every later call, so clear it on failure to let the next attempt really retry.
 */
async function loadMarketsAgain(ex: Exchange): Promise<void> {
  try {
    await ex.loadMarkets();
  } catch (e) {
    (ex as unknown as { marketsLoading: unknown }).marketsLoading = undefined;
    throw e;
  }
}

function entryBytes(e: CacheEntry): number {
  return e.bars.length * 48 + 64;
}

/** A new LRU sized for bar series (default 256 MiB). */
export function createMemoryCache(maxBytes = 256 * 1024 * 1024): LruCache<CacheEntry> {
  return new LruCache<CacheEntry>({ maxEntries: 64, maxSize: maxBytes, sizeOf: entryBytes });
}

/**
 * Loads exchange bars through the caches. See the module doc.
 *
 * @example
 * ```ts
 * const cache = await openCache();
 * const { bars, quality } = await loadExchangeBars(
 *   { exchange: "binance", symbol: "BTC/USDT", timeframe: "1h", since: Date.UTC(2024, 0, 1) },
 *   { cache },
 * );
 * ```
 */
export async function loadExchangeBars(
  req: ExchangeRequest,
  opts: CcxtLoaderOptions = {},
): Promise<LoadedBars> {
  const warnings: string[] = [];
  const warn = (m: string) => {
    warnings.push(m);
    opts.onWarning?.(m);
  };
  const ex = await getExchange(req.exchange, opts.exchangeOptions);
  const id = req.exchange as ExchangeId;
  const label = `${id} ${req.symbol} ${req.timeframe}`;
  const tfs = ex.timeframes as Record<string, unknown> | undefined;
  if (tfs && Object.keys(tfs).length > 0 && !(req.timeframe in tfs)) {
    throw new MarketDataError(
      "unknown_timeframe",
      `Unknown timeframe "${req.timeframe}" for ${id} (supported: ${Object.keys(tfs).join(", ")})`,
    );
  }
  const tfMs = timeframeMs(req.timeframe);
  if (!(tfMs > 0)) {
    throw new MarketDataError("unknown_timeframe", `Unknown timeframe "${req.timeframe}"`);
  }
  const now = (opts.now ?? Date.now)();
  const lastComplete = Math.floor(now / tfMs) * tfMs - tfMs;
  const until = Math.floor(Math.min(req.until ?? lastComplete, lastComplete) / tfMs) * tfMs;
  const key: CacheKey = { exchange: id, symbol: req.symbol, timeframe: req.timeframe };
  const memKey = `${id}|${req.symbol}|${req.timeframe}`;

  let entry: CacheEntry | null = opts.memory?.get(memKey) ?? null;
  if (!entry && opts.cache) {
    try {
      entry = await opts.cache.read(key);
    } catch (e) {
      if (e instanceof CacheCorruptError) warn(`${e.message}; discarding it and fetching again`);
      else warn(`could not read the cache ${opts.cache.locate(key)}: ${(e as Error).message}`);
      entry = null;
    }
  }
  const cachedFirst = entry && entry.bars.length > 0 ? entry.bars.timestamp[0] : null;
  let since = req.since ?? cachedFirst ?? until - 999 * tfMs;
  since = Math.ceil(since / tfMs) * tfMs;
  if (since > until) {
    throw new MarketDataError(
      "bad_request",
      `Nothing to load for ${label}: since ${formatTime(since)} is after the last complete bar ${
        formatTime(until)
      }`,
    );
  }
  const coverage = mergeRanges(entry?.coverage ?? []);
  const missing = missingRanges([since, until], coverage);
  let fetchedRows: number[][] = [];
  const done: Range[] = [];
  let requests = 0;
  if (missing.length > 0) {
    const ccxt = await loadCcxt();
    const retries = opts.retries ?? 4, backoffMs = opts.backoffMs ?? 500;
    try {
      await retry(() => loadMarketsAgain(ex), {
        retries,
        backoffMs,
        isRetryable: (e) => isTransient(ccxt, e) && !isNoConnection(ccxt, e),
        onRetry: (e, a, d) => warn(`retry ${a} in ${d} ms after ${describeError(e)}`),
      });
      const markets = ex.markets ?? {};
      if (!(req.symbol in markets)) {
        const base = req.symbol.split("/")[0];
        const near = Object.keys(markets).filter((s) => s.startsWith(`${base}/`)).slice(0, 5);
        throw new MarketDataError(
          "unknown_symbol",
          `Unknown symbol "${req.symbol}" on ${id}${
            near.length ? ` (did you mean ${near.join(", ")}?)` : ""
          }`,
        );
      }
      const progress: FetchProgress = {
        fetched: 0,
        expected: missing.reduce((s, r) => s + Math.floor((r[1] - r[0]) / tfMs) + 1, 0),
        requests: 0,
        cursor: since,
      };
      for (const r of missing) {
        const rows = await fetchOhlcvRange(ex, req.symbol, req.timeframe, r, {
          ...opts,
          limit: opts.pageLimit ?? PAGE_LIMIT[id],
          progress,
          onWarning: warn,
        });
        fetchedRows = fetchedRows.concat(rows);
        // Coverage spans whole bar periods, so the next missing range starts on the grid.
        done.push([r[0], Math.floor(r[1] / tfMs) * tfMs + tfMs - 1]);
      }
      requests = progress.requests;
    } catch (e) {
      if (e instanceof MarketDataError) throw e;
      const ccxtErr = e instanceof ccxt.BaseError;
      const haveAny = entry !== null && entry.bars.length > 0 &&
        entry.bars.timestamp[entry.bars.length - 1] >= since && cachedFirst !== null &&
        cachedFirst <= until;
      if (isNoConnection(ccxt, e) && !haveAny && fetchedRows.length === 0) {
        throw new MarketDataError(
          "offline",
          `offline: no network and no cached data for ${label}`,
          { cause: e },
        );
      }
      if (e instanceof ccxt.BadSymbol) {
        throw new MarketDataError("unknown_symbol", `Unknown symbol "${req.symbol}" on ${id}`, {
          cause: e,
        });
      }
      if (!ccxtErr) throw e;
      if (!haveAny && fetchedRows.length === 0) {
        throw new MarketDataError("exchange", `${label}: ${describeError(e)}`, { cause: e });
      }
      warn(
        `${
          isNoConnection(ccxt, e) ? "offline" : "exchange error"
        }: serving cached data only for ${label} (${
          missing.map((r) => `${formatTime(r[0])} → ${formatTime(r[1])}`).join(", ")
        } not fetched: ${describeError(e)})`,
      );
    }
  }

  let merged: Bars = entry?.bars ?? emptyBars();
  if (fetchedRows.length > 0 || done.length > 0) {
    // Fresh rows first: on a timestamp present in both, the exchange's current answer wins.
    const b = new BarsBuilder(label, fetchedRows.length + merged.length, "record", {
      onDuplicate: "drop",
      onUnsorted: "sort",
    });
    fetchedRows.forEach((r, i) => {
      try {
        b.push(
          Number(r[0]),
          Number(r[1]),
          Number(r[2]),
          Number(r[3]),
          Number(r[4]),
          Number(r[5] ?? 0),
          i + 1,
        );
      } catch (e) {
        // Corrupt data is worse than none: refuse the answer, naming the candle.
        const why = (e as Error).message.replace(/^.* record \d+: /, "");
        throw new MarketDataError(
          "exchange",
          `${label}: the exchange sent an invalid candle at ${formatTime(Number(r[0]))}: ${why}`,
          { cause: e },
        );
      }
    });
    for (let i = 0; i < merged.length; i++) {
      b.push(
        merged.timestamp[i],
        merged.open[i],
        merged.high[i],
        merged.low[i],
        merged.close[i],
        merged.volume[i],
        fetchedRows.length + i + 1,
      );
    }
    merged = b.finish().bars;
    const newEntry: CacheEntry = {
      bars: merged,
      coverage: mergeRanges([...coverage, ...done]),
      fetchedAt: now,
    };
    if (opts.cache) {
      // The bars are good even when storing them fails (disk full, a concurrent KV writer).
      try {
        await opts.cache.write(key, newEntry);
      } catch (e) {
        warn(`could not update the cache ${opts.cache.locate(key)}: ${(e as Error).message}`);
      }
    }
    entry = newEntry;
    if (fetchedRows.length > 0 || done.length > 0) {
      warnings.unshift(
        `fetched ${fetchedRows.length} bars in ${requests} request${
          requests === 1 ? "" : "s"
        } from ${id}`,
      );
    }
  }
  if (entry) opts.memory?.set(memKey, entry);

  // The requested window, as views into the merged series.
  const ts = merged.timestamp;
  let a = 0, z = merged.length;
  while (a < z && ts[a] < since) a++;
  while (z > a && ts[z - 1] > until) z--;
  const view = sliceBars(merged, a, z);
  const source = `${id}:${req.symbol}:${req.timeframe}`;
  const clean = BarsBuilder.tryClean(source, {
    t: view.timestamp,
    o: view.open,
    h: view.high,
    l: view.low,
    c: view.close,
    v: view.volume,
  })!;
  clean.quality.warnings.unshift(...warnings);
  if (view.length === 0) {
    clean.quality.warnings.push(
      `no bars for ${label} between ${formatTime(since)} and ${formatTime(until)}`,
    );
  }
  return { bars: clean.bars, quality: clean.quality, source };
}

function emptyBars(): Bars {
  const z = new Float64Array(0);
  return { length: 0, timestamp: z, open: z, high: z, low: z, close: z, volume: z };
}
