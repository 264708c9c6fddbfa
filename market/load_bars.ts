/**
 * Loading OHLCV bars from files: CSV, JSON and Parquet, chosen by extension. Every load
 * returns the bars, a data quality report and a source label; bad input throws a
 * `DataFileError` with one line naming the file, the line or record and the problem.
 *
 * @module
 */
import type { Bars } from "../engine/types.ts";
import type { CleanOptions } from "./bars_builder.ts";
import { DataFileError } from "./data_file_error.ts";
import { readCsv } from "./parse_csv.ts";
import { readJson } from "./parse_json.ts";
import { readParquetBytes } from "./parquet_codec.ts";
import type { QualityReport } from "./quality.ts";

export { DataFileError } from "./data_file_error.ts";
export type { CleanOptions } from "./bars_builder.ts";
export type { QualityReport } from "./quality.ts";
export { formatQuality } from "./quality.ts";

/** Options of `loadBars`: see `CleanOptions` (repair, onUnsorted, onDuplicate). */
export type LoadBarsOptions = CleanOptions;

/** What a load returns. */
export interface LoadedBars {
  bars: Bars;
  quality: QualityReport;
  /** Where the bars came from (the file name, or an exchange spec). */
  source: string;
}

/** File formats by extension. */
export type DataFormat = "csv" | "json" | "parquet";

/** The format of a file name by extension (.csv/.txt/.tsv → csv, .json, .parquet/.pq), or null. */
export function formatOf(name: string): DataFormat | null {
  const ext = name.toLowerCase().match(/\.([a-z0-9]+)$/)?.[1] ?? "";
  if (ext === "csv" || ext === "txt" || ext === "tsv") return "csv";
  if (ext === "json") return "json";
  if (ext === "parquet" || ext === "pq") return "parquet";
  return null;
}

function baseName(path: string): string {
  const i = Math.max(path.lastIndexOf("/"), path.lastIndexOf("\\"));
  return i >= 0 ? path.slice(i + 1) : path;
}

/**
 * Loads a CSV, JSON or Parquet file by extension.
 *
 * @example
 * ```ts
 * const { bars, quality } = await loadBars("data/sample/SAMPLE_USD_1d.csv");
 * console.log(bars.length, quality.timeframe, quality.warnings);
 * ```
 */
export async function loadBars(path: string, opts: LoadBarsOptions = {}): Promise<LoadedBars> {
  const name = baseName(path);
  const format = formatOf(name);
  if (!format) {
    throw new DataFileError(
      name,
      -1,
      `${name}: unknown file type (expected .csv, .txt, .json or .parquet)`,
    );
  }
  let bytes: Uint8Array;
  try {
    bytes = await readWholeFile(path);
  } catch (e) {
    const why = e instanceof Deno.errors.NotFound ? "file not found" : (e as Error).message;
    throw new DataFileError(name, -1, `${name}: cannot read ${path}: ${why}`, { cause: e });
  }
  return await loadBarsFromBytes(bytes, name, opts);
}

/**
 * Reads a file into one exactly-sized buffer. `Deno.readFile` grows and copies its buffer,
 * which on a 48 MB Parquet file costs as much again as the read itself.
 */
export async function readWholeFile(path: string): Promise<Uint8Array> {
  using f = await Deno.open(path);
  const size = (await f.stat()).size;
  const buf = new Uint8Array(size);
  let off = 0;
  while (off < size) {
    const n = await f.read(buf.subarray(off));
    if (n === null) break;
    off += n;
  }
  if (off === size) {
    // The file may have grown since stat; finish with the general path if so.
    const probe = new Uint8Array(1);
    if ((await f.read(probe)) === null) return buf;
  }
  return off < size ? buf.subarray(0, off) : await Deno.readFile(path);
}

/**
 * Parses file contents already in memory (an upload), choosing the format by `name`'s
 * extension.
 */
export async function loadBarsFromBytes(
  bytes: Uint8Array,
  name: string,
  opts: LoadBarsOptions = {},
): Promise<LoadedBars> {
  const format = formatOf(name);
  if (format === "parquet") {
    const { bars, quality } = await readParquetBytes(bytes, name, opts);
    return { bars, quality, source: name };
  }
  if (format === null) {
    throw new DataFileError(
      name,
      -1,
      `${name}: unknown file type (expected .csv, .txt, .json or .parquet)`,
    );
  }
  const text = new TextDecoder().decode(bytes);
  const { bars, quality } = format === "json"
    ? readJson(text, name, opts)
    : readCsv(text, name, opts);
  return { bars, quality, source: name };
}

/** Parses CSV text into bars (sorting and de-duplicating with warnings; invalid rows throw). */
export function parseCsv(text: string, name = "data.csv", opts: LoadBarsOptions = {}): Bars {
  return readCsv(text, name, opts).bars;
}

/** Parses JSON text (ccxt rows or objects) into bars; see `parseCsv`. */
export function parseJson(text: string, name = "data.json", opts: LoadBarsOptions = {}): Bars {
  return readJson(text, name, opts).bars;
}

export { readCsv } from "./parse_csv.ts";
export { readJson } from "./parse_json.ts";
