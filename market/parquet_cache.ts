/**
 * The OHLCV cache: one Parquet file per (exchange, symbol, timeframe) at
 * `data/cache/<exchange>/<BASE>_<QUOTE>_<tf>.parquet`, holding the bars and, in the file's
 * key/value metadata, the time ranges already fetched (so a later request fetches only what
 * is missing, and an exchange's empty stretches are not fetched again and again).
 *
 * Two backends behind one interface and one test suite:
 * - `ParquetFileCache`: files on disk, written atomically (temp file, fsync, rename).
 * - `KvCache`: the same Parquet bytes in Deno KV chunks, for Deno Deploy (no native addons,
 *   no writable disk); a write lands under a new generation and one atomic commit switches
 *   to it.
 * `openCache()` picks the file backend when nodejs-polars loads and the folder is writable,
 * otherwise KV. A damaged entry raises `CacheCorruptError`, never silently wrong bars.
 *
 * @module
 */
import type { Bars } from "../engine/types.ts";
import { BarsBuilder } from "./bars_builder.ts";
import type { Range } from "./coverage.ts";
import { loadPolars } from "./polars_loader.ts";
import { decodeParquet, ParquetCorruptError, writeParquetBytes } from "./parquet_codec.ts";

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
/** Age after which a temp file is a crashed writer's leftover. */
const STALE_TMP_MS = 10 * 60_000;
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

/** Encodes an entry as Parquet bytes with its metadata. */
export function encodeEntry(key: CacheKey, entry: CacheEntry): Uint8Array {
  const meta = {
    version: VERSION,
    exchange: key.exchange,
    symbol: key.symbol,
    timeframe: key.timeframe,
    rows: entry.bars.length,
    coverage: entry.coverage,
    fetchedAt: entry.fetchedAt,
  };
  return writeParquetBytes(entry.bars, { [META_KEY]: JSON.stringify(meta) });
}

/** Decodes and checks an entry; `CacheCorruptError` on any inconsistency. */
export function decodeEntry(bytes: Uint8Array, key: CacheKey, location: string): CacheEntry {
  let table;
  try {
    table = decodeParquet(bytes);
  } catch (e) {
    if (e instanceof ParquetCorruptError) {
      throw new CacheCorruptError(location, e.message, { cause: e });
    }
    throw e;
  }
  if (!table) throw new CacheCorruptError(location, "not a file this cache wrote");
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

/** Cache files under a folder (default `data/cache` of the repository). */
export class ParquetFileCache implements CacheBackend {
  readonly kind = "parquet-file" as const;
  /** The cache root folder. */
  readonly dir: string;

  constructor(dir: string = new URL("../data/cache", import.meta.url).pathname) {
    this.dir = dir;
  }

  locate(key: CacheKey): string {
    return `${this.dir}/${exchangeDir(key.exchange)}/${cacheFileName(key)}`;
  }

  async read(key: CacheKey): Promise<CacheEntry | null> {
    const path = this.locate(key);
    let bytes: Uint8Array;
    try {
      using f = await Deno.open(path);
      const size = (await f.stat()).size;
      bytes = new Uint8Array(size);
      let off = 0;
      while (off < size) {
        const n = await f.read(bytes.subarray(off));
        if (n === null) break;
        off += n;
      }
      if (off < size) throw new CacheCorruptError(path, "file shrank while reading");
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return null;
      throw e;
    }
    return decodeEntry(bytes, key, path);
  }

  async write(key: CacheKey, entry: CacheEntry): Promise<void> {
    const path = this.locate(key);
    const dir = path.slice(0, path.lastIndexOf("/"));
    await Deno.mkdir(dir, { recursive: true });
    const bytes = encodeEntry(key, entry);
    const base = path.slice(dir.length + 1);
    // Leftovers of writers that crashed before their rename. Only old ones: a fresh temp file
    // may belong to another process (the server and a CLI fetch) writing right now.
    const staleBefore = Date.now() - STALE_TMP_MS;
    for await (const e of Deno.readDir(dir)) {
      if (!e.name.startsWith(`${base}.tmp-`)) continue;
      const p = `${dir}/${e.name}`;
      const st = await Deno.stat(p).catch(() => null);
      if (st && (st.mtime?.getTime() ?? 0) < staleBefore) await Deno.remove(p).catch(() => {});
    }
    const tmp = `${path}.tmp-${Deno.pid}-${crypto.randomUUID().slice(0, 8)}`;
    try {
      using f = await Deno.open(tmp, { write: true, create: true, truncate: true });
      // 1 MiB writes keep memory flat; syncData before the rename so that a power cut
      // cannot leave a renamed file whose blocks never reached the disk.
      for (let off = 0; off < bytes.length; off += 1 << 20) {
        let chunk = bytes.subarray(off, Math.min(bytes.length, off + (1 << 20)));
        while (chunk.length > 0) chunk = chunk.subarray(await f.write(chunk));
      }
      await f.syncData();
    } catch (e) {
      await Deno.remove(tmp).catch(() => {});
      throw e;
    }
    await Deno.rename(tmp, path);
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
    const bytes = new Uint8Array(total);
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
  async #deleteGenerations(k: Deno.KvKey, keep: string, only: boolean): Promise<void> {
    let op = this.#kv.atomic(), pending = 0;
    for await (const e of this.#kv.list({ prefix: [...k, "c"] })) {
      const g = e.key[k.length + 1];
      if (only ? g !== keep : g === keep) continue;
      op.delete(e.key);
      if (++pending === 500) {
        await op.commit();
        op = this.#kv.atomic();
        pending = 0;
      }
    }
    if (pending > 0) await op.commit();
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
export interface OpenCacheOptions {
  /** "auto" (default): files when nodejs-polars loads and `dir` is writable, else KV. */
  backend?: "auto" | "parquet-file" | "deno-kv";
  /** Folder of the file backend. @default "<repo>/data/cache" */
  dir?: string;
  /** KV path for the KV backend (undefined = the platform default, e.g. Deno Deploy's). */
  kvPath?: string;
}

/** Opens the cache backend that works here (see `OpenCacheOptions.backend`). */
export async function openCache(opts: OpenCacheOptions = {}): Promise<CacheBackend> {
  const want = opts.backend ?? "auto";
  if (want === "parquet-file") return new ParquetFileCache(opts.dir);
  if (want === "deno-kv") return await KvCache.open(opts.kvPath);
  const file = new ParquetFileCache(opts.dir);
  if (await loadPolars()) {
    try {
      await Deno.mkdir(file.dir, { recursive: true });
      const probe = `${file.dir}/.write-probe-${Deno.pid}`;
      await Deno.writeFile(probe, new Uint8Array(1));
      await Deno.remove(probe);
      return file;
    } catch {
      // Read-only file system (Deno Deploy): fall through to KV.
    }
  }
  return await KvCache.open(opts.kvPath);
}
