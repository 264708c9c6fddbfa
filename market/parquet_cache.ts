/**
 * The OHLCV cache: one Parquet file per (exchange, symbol, timeframe) at
 * `data/cache/<exchange>/<BASE>_<QUOTE>_<tf>.parquet`, holding the bars and, in the file's
 * key/value metadata, the time ranges already fetched (so a later request fetches only what
 * is missing, and an exchange's empty stretches are not fetched again and again).
 *
 * Backends behind one interface and one test suite (tests/market/parquet_cache_test.ts):
 * - `ParquetFileCache`: files on disk, written atomically (temp file, fsync, rename; crashed
 *   writers' temp files swept at open). nodejs-polars writes them whenever it loads (the
 *   primary backend); where it cannot load (no `--allow-ffi`, no native addons) the pure-JS
 *   codec (parquet_codec.ts) writes the same columns and metadata. Either reads the other's
 *   files; reads use the pure-JS codec by default, the faster of the two (bench/market_bench.ts),
 *   and nodejs-polars for files the codec does not read.
 * - `KvCache`: the same Parquet bytes in Deno KV chunks, for Deno Deploy (no native addons,
 *   no writable disk); a write lands under a new generation and one atomic commit switches
 *   to it.
 * `openCache()` picks files when they may be written here, otherwise KV (`WAGYU_PROFILE=deploy`,
 * no write permission, read-only disk). A damaged entry raises `CacheCorruptError`, never
 * silently wrong bars.
 *
 * @module
 */
import type { Bars } from "../engine/types.ts";
import { BarsBuilder } from "./bars_builder.ts";
import type { Range } from "./coverage.ts";
import { Buffer } from "node:buffer";
import { readWholeFile } from "./read_whole_file.ts";
import { allocBytes } from "./huge_pages.ts";
import { readParquetFile } from "./parquet_file_reader.ts";
import { sweepTempFiles, writeFileAtomic } from "./atomic_file.ts";
import { marketKvPath, storageFor } from "./storage_profile.ts";
import { loadPolars, type Polars, polarsLoadError } from "./polars_loader.ts";
import {
  decodeParquet,
  ParquetCorruptError,
  type ParquetTable,
  readKeyValueMetadata,
  setKeyValueMetadata,
  writeParquetBytes,
} from "./parquet_codec.ts";
import { deleteWhere } from "./kv_delete_where.ts";

/** What identifies one cached series. */
export interface CacheKey {
  /** ccxt exchange id, e.g. "binance". */
  exchange: string;
  /** Unified symbol, e.g. "BTC/USDT". */
  symbol: string;
  /** ccxt timeframe, e.g. "1h". */
  timeframe: string;
}

/** One cached series. */
export interface CacheEntry {
  bars: Bars;
  /** Inclusive ms ranges already fetched from the exchange (merged, sorted). */
  coverage: Range[];
  /** When it was last written (ms). */
  fetchedAt: number;
}

/** The storage behind the cache. */
export interface CacheBackend {
  /** Which backend this is. */
  readonly kind: "parquet-file" | "deno-kv";
  /** The entry, null when none is stored; throws `CacheCorruptError` when it is damaged. */
  read(key: CacheKey): Promise<CacheEntry | null>;
  /** Replaces the entry atomically: a reader sees the old or the new one, never a mix. */
  write(key: CacheKey, entry: CacheEntry): Promise<void>;
  /** Deletes the entry (no error when absent). */
  remove(key: CacheKey): Promise<void>;
  /** Where the entry lives, for messages (a path, or a KV key). */
  locate(key: CacheKey): string;
  /** Releases resources (the KV handle). */
  close(): void;
}

/** A cache entry exists but cannot be trusted; the loader re-fetches it. */
export class CacheCorruptError extends Error {
  /** Where the damaged entry lives. */
  readonly location: string;
  constructor(location: string, reason: string, options?: ErrorOptions) {
    super(`Corrupt cache entry ${location}: ${reason}`, options);
    this.name = "CacheCorruptError";
    this.location = location;
  }
}

const META_KEY = "wagyu.cache";
const VERSION = 1;

/** `BTC/USDT` + `1h` → `BTC_USDT_1h.parquet` (other characters made file-safe). */
export function cacheFileName(key: CacheKey): string {
  const sym = key.symbol.replace(/[/:]/g, "_").replace(/[^A-Za-z0-9_.-]/g, "-");
  const tf = key.timeframe.replace(/[^A-Za-z0-9]/g, "");
  return `${sym}_${tf}.parquet`;
}

function exchangeDir(exchange: string): string {
  return exchange.toLowerCase().replace(/[^a-z0-9_-]/g, "");
}

/** Which Parquet implementation writes (or reads) cache files. */
export type ParquetEngine = "nodejs-polars" | "pure-js";

function metaOf(key: CacheKey, entry: CacheEntry): Record<string, string> {
  const meta = {
    version: VERSION,
    exchange: key.exchange,
    symbol: key.symbol,
    timeframe: key.timeframe,
    rows: entry.bars.length,
    coverage: entry.coverage,
    fetchedAt: entry.fetchedAt,
  };
  return { [META_KEY]: JSON.stringify(meta) };
}

/** Encodes an entry as Parquet bytes with its metadata, with the pure-JS codec. */
export function encodeEntry(key: CacheKey, entry: CacheEntry): Uint8Array {
  return writeParquetBytes(entry.bars, metaOf(key, entry));
}

/**
 * Encodes an entry as Parquet bytes with nodejs-polars (uncompressed, so the pure-JS codec
 * can read the file too), then adds the cache metadata to the footer: nodejs-polars has no
 * option to write key/value metadata.
 */
export function encodeEntryPolars(pl: Polars, key: CacheKey, entry: CacheEntry): Uint8Array {
  const b = entry.bars;
  const n = b.length;
  const time = new Float64Array(n);
  for (let i = 0; i < n; i++) time[i] = Math.round(b.timestamp[i]);
  const df = pl.DataFrame([
    pl.Series("timestamp", time).cast(pl.Int64).cast(pl.Datetime("ms")),
    pl.Series("open", b.open.subarray(0, n)),
    pl.Series("high", b.high.subarray(0, n)),
    pl.Series("low", b.low.subarray(0, n)),
    pl.Series("close", b.close.subarray(0, n)),
    pl.Series("volume", b.volume.subarray(0, n)),
  ]);
  const buf = df.writeParquet({ compression: "uncompressed" });
  return setKeyValueMetadata(
    new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength),
    metaOf(key, entry),
  );
}

/** Decodes bytes with nodejs-polars into a table (the metadata read from the footer). */
function decodeWithPolars(pl: Polars, bytes: Uint8Array, location: string): ParquetTable {
  // deno-lint-ignore no-explicit-any
  let df: any;
  let metadata: Record<string, string>;
  try {
    metadata = readKeyValueMetadata(bytes);
    df = pl.readParquet(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  } catch (e) {
    throw new CacheCorruptError(
      location,
      `nodejs-polars cannot read it (${(e as Error).message})`,
      {
        cause: e,
      },
    );
  }
  const columns = new Map<string, Float64Array>();
  for (const name of df.columns as string[]) {
    const s = df.getColumn(name);
    if (s.nullCount() > 0) throw new CacheCorruptError(location, `column ${name} has nulls`);
    columns.set(name, s.cast(pl.Float64).toTypedArray() as Float64Array);
  }
  return { numRows: df.height, columns, metadata };
}

/**
 * Decodes and checks an entry; `CacheCorruptError` on any inconsistency. Reads with the pure-JS
 * codec unless `polars` is given; a file the codec cannot read (compressed, dictionary pages)
 * goes to `polars` when that is not null.
 */
export function decodeEntry(
  bytes: Uint8Array,
  key: CacheKey,
  location: string,
  opts: { polars?: Polars | null; readWith?: ParquetEngine } = {},
): CacheEntry {
  let table: ParquetTable | null = null;
  const pl = opts.polars ?? null;
  if (opts.readWith !== "nodejs-polars" || !pl) {
    try {
      table = decodeParquet(bytes);
    } catch (e) {
      if (
        e instanceof ParquetCorruptError || e instanceof TypeError || e instanceof RangeError
      ) {
        throw new CacheCorruptError(location, e.message, { cause: e });
      }
      throw e;
    }
    if (!table && !pl) {
      throw new CacheCorruptError(
        location,
        "uses Parquet features only nodejs-polars reads, and it cannot load here",
      );
    }
  }
  table ??= decodeWithPolars(pl!, bytes, location);
  return entryFromTable(table, key, location);
}

/** Checks a decoded table against the key and its metadata, and validates the bars. */
export function entryFromTable(table: ParquetTable, key: CacheKey, location: string): CacheEntry {
  let meta: {
    version?: number;
    exchange?: string;
    symbol?: string;
    timeframe?: string;
    rows?: number;
    coverage?: Range[];
    fetchedAt?: number;
  };
  try {
    meta = JSON.parse(table.metadata[META_KEY] ?? "null") ?? {};
  } catch {
    throw new CacheCorruptError(location, "unreadable metadata");
  }
  if (meta.version !== VERSION) {
    throw new CacheCorruptError(location, "missing or unknown metadata version");
  }
  if (
    meta.exchange !== key.exchange || meta.symbol !== key.symbol || meta.timeframe !== key.timeframe
  ) {
    throw new CacheCorruptError(
      location,
      `holds ${meta.exchange} ${meta.symbol} ${meta.timeframe}, not ${key.exchange} ${key.symbol} ${key.timeframe}`,
    );
  }
  if (meta.rows !== table.numRows) {
    throw new CacheCorruptError(
      location,
      `metadata says ${meta.rows} rows, file has ${table.numRows}`,
    );
  }
  const cols = ["timestamp", "open", "high", "low", "close", "volume"].map((c) =>
    table.columns.get(c)
  );
  if (cols.some((c) => !c)) throw new CacheCorruptError(location, "missing OHLCV columns");
  const [t, o, h, l, c, v] = cols as Float64Array[];
  const clean = BarsBuilder.tryClean(location, { t, o, h, l, c, v });
  if (!clean) throw new CacheCorruptError(location, "bars are invalid or out of order");
  const coverage = Array.isArray(meta.coverage) ? meta.coverage : [];
  return { bars: clean.bars, coverage, fetchedAt: meta.fetchedAt ?? 0 };
}

/** Options of `ParquetFileCache`. */
export interface ParquetFileCacheOptions {
  /**
   * Who writes the files: "auto" (default) = nodejs-polars when it loads here, else the
   * pure-JS codec. Both write the same columns and metadata; either reads the other's files.
   */
  writer?: "auto" | ParquetEngine;
  /**
   * Who reads them: "auto" (default) = the pure-JS codec (it reads both writers' files and is
   * the faster reader: see bench/market_bench.ts), nodejs-polars for files it cannot read.
   */
  reader?: "auto" | ParquetEngine;
}

/** Cache files under a folder (default `data/cache` of the repository). */
export class ParquetFileCache implements CacheBackend {
  readonly kind = "parquet-file" as const;
  /** The cache root folder. */
  readonly dir: string;
  readonly #opts: Required<ParquetFileCacheOptions>;
  #polars: Promise<Polars | null> | null = null;
  #swept = new Set<string>();

  constructor(
    dir: string = new URL("../data/cache", import.meta.url).pathname,
    opts: ParquetFileCacheOptions = {},
  ) {
    this.dir = dir;
    this.#opts = { writer: opts.writer ?? "auto", reader: opts.reader ?? "auto" };
  }

  #pl(): Promise<Polars | null> {
    this.#polars ??= (async () => {
      const needs = this.#opts.writer === "nodejs-polars" || this.#opts.reader === "nodejs-polars";
      const wants = needs || this.#opts.writer === "auto" || this.#opts.reader === "auto";
      const pl = wants ? await loadPolars() : null;
      if (needs && !pl) {
        throw new Error(
          `nodejs-polars cannot load here: ${String(polarsLoadError() ?? "disabled")}`,
        );
      }
      return pl;
    })();
    return this.#polars;
  }

  /** The engine that writes this cache's files (nodejs-polars when it loads, see options). */
  async writer(): Promise<ParquetEngine> {
    if (this.#opts.writer !== "auto") return this.#opts.writer;
    return (await this.#pl()) ? "nodejs-polars" : "pure-js";
  }

  /** Removes crashed writers' temp files under every exchange folder (see `sweepTempFiles`). */
  async sweep(): Promise<string[]> {
    const removed: string[] = [];
    try {
      for await (const e of Deno.readDir(this.dir)) {
        if (!e.isDirectory) continue;
        this.#swept.add(e.name);
        removed.push(...await sweepTempFiles(`${this.dir}/${e.name}`));
      }
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
    return removed;
  }

  locate(key: CacheKey): string {
    return `${this.dir}/${exchangeDir(key.exchange)}/${cacheFileName(key)}`;
  }

  async read(key: CacheKey): Promise<CacheEntry | null> {
    const path = this.locate(key);
    let bytes: Uint8Array;
    try {
      if (this.#opts.reader !== "nodejs-polars") {
        // Column by column into the output arrays (parquet_file_reader.ts); null when the file
        // needs a whole-file decoder.
        const table = await readParquetFile(path);
        if (table) return entryFromTable(table, key, path);
      }
      bytes = await readWholeFile(path);
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return null;
      if (e instanceof ParquetCorruptError || e instanceof TypeError || e instanceof RangeError) {
        throw new CacheCorruptError(path, e.message, { cause: e });
      }
      throw e;
    }
    const pl = this.#opts.reader === "pure-js" ? null : await this.#pl();
    return decodeEntry(bytes, key, path, {
      polars: pl,
      readWith: this.#opts.reader === "nodejs-polars" ? "nodejs-polars" : "pure-js",
    });
  }

  async write(key: CacheKey, entry: CacheEntry): Promise<void> {
    const path = this.locate(key);
    const folder = exchangeDir(key.exchange);
    if (!this.#swept.has(folder)) {
      this.#swept.add(folder);
      await sweepTempFiles(`${this.dir}/${folder}`);
    }
    const pl = this.#opts.writer === "pure-js" ? null : await this.#pl();
    const bytes = pl ? encodeEntryPolars(pl, key, entry) : encodeEntry(key, entry);
    await writeFileAtomic(path, bytes);
  }

  async remove(key: CacheKey): Promise<void> {
    await Deno.remove(this.locate(key)).catch((e) => {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    });
  }

  close(): void {}
}

const CHUNK = 60 * 1024; // under Deno KV's 64 KiB value limit
const CHUNKS_PER_COMMIT = 8; // under its 800 KiB per atomic operation

/** Cache entries as chunked Parquet bytes in Deno KV. */
export class KvCache implements CacheBackend {
  readonly kind = "deno-kv" as const;
  readonly #kv: Deno.Kv;
  readonly #prefix: Deno.KvKeyPart[];

  constructor(kv: Deno.Kv, prefix: Deno.KvKeyPart[] = ["wagyu", "ohlcv"]) {
    this.#kv = kv;
    this.#prefix = prefix;
  }

  /** Opens a KV store (a local SQLite file, or Deno Deploy's store with no path). */
  static async open(path?: string): Promise<KvCache> {
    const dir = path && path !== ":memory:" ? path.slice(0, path.lastIndexOf("/")) : "";
    if (dir) await Deno.mkdir(dir, { recursive: true }).catch(() => {});
    return new KvCache(await Deno.openKv(path));
  }

  #key(key: CacheKey): Deno.KvKey {
    return [...this.#prefix, key.exchange, key.symbol, key.timeframe];
  }

  locate(key: CacheKey): string {
    return `kv:${this.#key(key).join("/")}`;
  }

  async read(key: CacheKey): Promise<CacheEntry | null> {
    const k = this.#key(key);
    const meta = await this.#kv.get<{ gen: string; chunks: number; bytes: number }>([...k, "meta"]);
    if (meta.value === null) return null;
    const { gen, chunks, bytes: total } = meta.value;
    const loc = this.locate(key);
    const bytes = allocBytes(total);
    let off = 0, i = 0;
    for await (const e of this.#kv.list<Uint8Array>({ prefix: [...k, "c", gen] })) {
      if (e.key[e.key.length - 1] !== i || !(e.value instanceof Uint8Array)) {
        throw new CacheCorruptError(loc, `chunk ${i} missing`);
      }
      if (off + e.value.length > total) {
        throw new CacheCorruptError(loc, "chunks exceed the recorded size");
      }
      bytes.set(e.value, off);
      off += e.value.length;
      i++;
    }
    if (i !== chunks || off !== total) {
      throw new CacheCorruptError(loc, `${i} of ${chunks} chunks (${off} of ${total} bytes)`);
    }
    return decodeEntry(bytes, key, loc);
  }

  async write(key: CacheKey, entry: CacheEntry): Promise<void> {
    const k = this.#key(key);
    const bytes = encodeEntry(key, entry);
    const gen = crypto.randomUUID();
    const n = Math.ceil(bytes.length / CHUNK);
    for (let i = 0; i < n; i += CHUNKS_PER_COMMIT) {
      const op = this.#kv.atomic();
      for (let j = i; j < Math.min(n, i + CHUNKS_PER_COMMIT); j++) {
        op.set([...k, "c", gen, j], bytes.slice(j * CHUNK, (j + 1) * CHUNK));
      }
      const res = await op.commit();
      if (!res.ok) throw new Error(`KV commit of cache chunks failed for ${this.locate(key)}`);
    }
    // The switch: until this commit, readers see the previous generation, complete.
    const old = await this.#kv.get<{ gen: string }>([...k, "meta"]);
    const res = await this.#kv.atomic()
      .check(old)
      .set([...k, "meta"], { gen, chunks: n, bytes: bytes.length })
      .commit();
    if (!res.ok) {
      await this.#deleteGenerations(k, gen, true);
      throw new Error(`Concurrent write to ${this.locate(key)}; try again`);
    }
    await this.#deleteGenerations(k, gen, false);
  }

  /** Deletes chunk generations other than `keep` (or only `keep` when `only`). */
  #deleteGenerations(k: Deno.KvKey, keep: string, only: boolean): Promise<void> {
    return deleteWhere(this.#kv, [...k, "c"], (key) => {
      const g = key[k.length + 1];
      return only ? g === keep : g !== keep;
    });
  }

  async remove(key: CacheKey): Promise<void> {
    const k = this.#key(key);
    await this.#kv.delete([...k, "meta"]);
    await this.#deleteGenerations(k, "", false);
  }

  close(): void {
    this.#kv.close();
  }
}

/** Options of `openCache`. */
export interface OpenCacheOptions extends ParquetFileCacheOptions {
  /**
   * "auto" (default): Parquet files under `dir` (written by nodejs-polars when it loads, else
   * by the pure-JS codec) unless files must not be written here (`WAGYU_PROFILE=deploy`, no
   * write permission for `dir`, a read-only disk): then Deno KV chunks.
   */
  backend?: "auto" | "parquet-file" | "deno-kv";
  /** Folder of the file backend. @default "<repo>/data/cache" */
  dir?: string;
  /** KV path for the KV backend. @default `marketKvPath()` (`WAGYU_KV_PATH`, the deploy
   * profile's file, or the platform's default store) */
  kvPath?: string;
}

/**
 * Opens the cache backend that works here (see `OpenCacheOptions.backend`). The file backend
 * first sweeps temp files that crashed writers left.
 */
export async function openCache(opts: OpenCacheOptions = {}): Promise<CacheBackend> {
  const want = opts.backend ?? "auto";
  const kvPath = opts.kvPath ?? marketKvPath();
  if (want === "deno-kv") return await KvCache.open(kvPath);
  const file = new ParquetFileCache(opts.dir, opts);
  if (want === "auto" && storageFor(file.dir) === "kv") return await KvCache.open(kvPath);
  if (want === "auto") {
    try {
      await Deno.mkdir(file.dir, { recursive: true });
      const probe = `${file.dir}/.write-probe-${Deno.pid}`;
      await Deno.writeFile(probe, new Uint8Array(1));
      await Deno.remove(probe);
    } catch {
      return await KvCache.open(kvPath); // a read-only file system
    }
  }
  await file.sweep();
  return file;
}
