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
import {
  ParquetCorruptError,
  type ParquetTable,
  readParquetBytes,
  tableToBars,
} from "./parquet_codec.ts";
import { readParquetFile } from "./parquet_file_reader.ts";
import { readWholeFile } from "./read_whole_file.ts";
import { isKvDatasetPath, kvDatasets } from "./kv_datasets.ts";
import type { QualityReport } from "./quality.ts";

export { DataFileError } from "./data_file_error.ts";
export { readWholeFile } from "./read_whole_file.ts";
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
  if (format === "parquet" && !isKvDatasetPath(path)) {
    // Flat numeric files are read column by column straight into the bars (no whole-file
    // buffer); null means another reader is needed, and the whole file is read below.
    let table: ParquetTable | null = null;
    try {
      table = await readParquetFile(path);
    } catch (e) {
      if (e instanceof ParquetCorruptError || e instanceof TypeError || e instanceof RangeError) {
        throw new DataFileError(name, -1, `${name}: corrupt Parquet file: ${e.message}`, {
          cause: e,
        });
      }
      if (!(e instanceof Deno.errors.NotFound)) throw e; // reported below with the others
    }
    if (table) {
      const { bars, quality } = tableToBars(table, name, opts);
      return { bars, quality, source: name };
    }
  }
  let bytes: Uint8Array;
  try {
    if (isKvDatasetPath(path)) {
      const got = await (await kvDatasets()).get(name);
      if (!got) throw new Deno.errors.NotFound(`no dataset ${name} in KV`);
      bytes = got;
    } else {
      bytes = await readWholeFile(path);
    }
  } catch (e) {
    const why = e instanceof Deno.errors.NotFound ? "file not found" : (e as Error).message;
    throw new DataFileError(name, -1, `${name}: cannot read ${path}: ${why}`, { cause: e });
  }
  return await loadBarsFromBytes(bytes, name, opts);
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
