/**
 * One `DataLoader` interface over every source of bars — files (CSV, JSON, Parquet), the
 * shipped and uploaded datasets, and exchanges through ccxt and the cache — plus
 * `resolveDataSpec`, which turns what a user typed (`GOOG.csv`, `SAMPLE_USD_1d.csv`,
 * `binance:BTC/USDT:1h`) into bars.
 *
 * @module
 */
import { sliceBars } from "../engine/bars.ts";
import { BarsBuilder, type CleanOptions } from "./bars_builder.ts";
import {
  type CcxtLoaderOptions,
  createMemoryCache,
  loadExchangeBars,
  parseExchangeSpec,
} from "./ccxt_loader.ts";
import { type DatasetDirs, isValidDatasetName, resolveDataset } from "./datasets.ts";
import { loadBars, type LoadedBars } from "./load_bars.ts";
import type { LruCache } from "./lru_cache.ts";
import { type CacheBackend, type CacheEntry, openCache } from "./parquet_cache.ts";

/** A time window of bar open times (ms, inclusive). */
export interface TimeWindow {
  since?: number;
  until?: number;
}

/** Anything that produces bars with a quality report. */
export interface DataLoader {
  /** A label for the source ("GOOG.csv", "binance:BTC/USDT:1h"). */
  readonly source: string;
  /** Loads the bars (within `window` when given). */
  load(window?: TimeWindow): Promise<LoadedBars>;
}

/** Bars from a CSV, JSON or Parquet file. */
export class FileLoader implements DataLoader {
  readonly source: string;
  readonly #path: string;
  readonly #opts: CleanOptions;
  constructor(path: string, opts: CleanOptions = {}) {
    this.#path = path;
    this.#opts = opts;
    this.source = path.slice(Math.max(path.lastIndexOf("/"), path.lastIndexOf("\\")) + 1);
  }
  async load(window: TimeWindow = {}): Promise<LoadedBars> {
    const loaded = await loadBars(this.#path, this.#opts);
    if (window.since === undefined && window.until === undefined) return loaded;
    const ts = loaded.bars.timestamp;
    let a = 0, z = loaded.bars.length;
    while (a < z && ts[a] < (window.since ?? -Infinity)) a++;
    while (z > a && ts[z - 1] > (window.until ?? Infinity)) z--;
    const v = sliceBars(loaded.bars, a, z);
    const clean = BarsBuilder.tryClean(this.source, {
      t: v.timestamp,
      o: v.open,
      h: v.high,
      l: v.low,
      c: v.close,
      v: v.volume,
    })!;
    clean.quality.warnings.unshift(...loaded.quality.warnings);
    return { bars: clean.bars, quality: clean.quality, source: loaded.source };
  }
}

/** Bars from an exchange through ccxt and the cache. */
export class ExchangeLoader implements DataLoader {
  readonly source: string;
  readonly #spec: { exchange: string; symbol: string; timeframe: string };
  readonly #opts: CcxtLoaderOptions;
  constructor(
    spec: { exchange: string; symbol: string; timeframe: string },
    opts: CcxtLoaderOptions = {},
  ) {
    this.#spec = spec;
    this.#opts = opts;
    this.source = `${spec.exchange}:${spec.symbol}:${spec.timeframe}`;
  }
  load(window: TimeWindow = {}): Promise<LoadedBars> {
    return loadExchangeBars({ ...this.#spec, ...window }, this.#opts);
  }
}

let defaultCache: Promise<CacheBackend> | null = null;
let defaultMemory: LruCache<CacheEntry> | null = null;

/** The process-wide cache (`openCache()` defaults) and its in-memory LRU, opened once. */
export async function getDefaultCaches(): Promise<
  { cache: CacheBackend; memory: LruCache<CacheEntry> }
> {
  defaultCache ??= openCache();
  defaultMemory ??= createMemoryCache();
  return { cache: await defaultCache, memory: defaultMemory };
}

/** Options of `createLoader` / `resolveDataSpec`. */
export interface ResolveOptions extends CleanOptions, CcxtLoaderOptions, TimeWindow {
  /** Where dataset names are looked up. */
  datasets?: DatasetDirs;
}

/**
 * The loader for a spec: `exchange:BASE/QUOTE:tf` → exchange (with the default cache unless
 * `cache` is given; pass `cache: null` for none), an existing file path → file, otherwise a
 * dataset name from the catalog.
 */
export async function createLoader(spec: string, opts: ResolveOptions = {}): Promise<DataLoader> {
  const ex = parseExchangeSpec(spec);
  if (ex) {
    const caches = opts.cache === undefined ? await getDefaultCaches() : null;
    return new ExchangeLoader(ex, {
      ...opts,
      cache: opts.cache === undefined ? caches!.cache : opts.cache,
      memory: opts.memory === undefined ? caches?.memory ?? null : opts.memory,
    });
  }
  try {
    if ((await Deno.stat(spec)).isFile) return new FileLoader(spec, opts);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  if (isValidDatasetName(spec)) {
    try {
      return new FileLoader(await resolveDataset(spec, opts.datasets), opts);
    } catch {
      // Fall through: report the spec as a missing file below.
    }
  }
  return new FileLoader(spec, opts); // its load() reports "file not found" as a DataFileError
}

/**
 * Turns a data spec into bars: a file path, a dataset name, or `binance:BTC/USDT:1h`.
 *
 * @example
 * ```ts
 * const { bars, quality } = await resolveDataSpec("binance:BTC/USDT:1h", {
 *   since: Date.UTC(2024, 0, 1),
 *   onProgress: (p) => console.error(`${p.fetched}/${p.expected}`),
 * });
 * ```
 */
export async function resolveDataSpec(
  spec: string,
  opts: ResolveOptions = {},
): Promise<LoadedBars> {
  const loader = await createLoader(spec, opts);
  return await loader.load({ since: opts.since, until: opts.until });
}
