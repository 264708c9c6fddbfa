/**
 * Reads any Parquet file with nodejs-polars (compressed, dictionary-encoded, Datetime or
 * string time columns, nulls) into bars plus a quality report.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { assignRoles, duplicateColumn, missingRoles } from "./column_roles.ts";
import { BarsBuilder, type CleanBars, type CleanOptions } from "./bars_builder.ts";
import { DataFileError } from "./data_file_error.ts";
import { loadPolars, polarsLoadError } from "./polars_loader.ts";
import { epochToMs, explainBadTime, parseIsoTime } from "./parse_time.ts";

const UNIT_MS: Record<string, number> = { ms: 1, us: 1e-3, ns: 1e-6 };

/** Reads Parquet bytes with nodejs-polars; throws `DataFileError` when polars is unavailable. */
export async function readParquetWithPolars(
  bytes: Uint8Array,
  name: string,
  opts: CleanOptions = {},
): Promise<CleanBars> {
  const pl = await loadPolars();
  if (!pl) {
    throw new DataFileError(
      name,
      -1,
      `${name}: this Parquet file needs nodejs-polars, which cannot load here (${
        String(polarsLoadError() ?? "disabled")
      })`,
    );
  }
  // deno-lint-ignore no-explicit-any
  let df: any;
  try {
    df = pl.readParquet(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  } catch (e) {
    throw new DataFileError(
      name,
      -1,
      `${name}: not a readable Parquet file (${(e as Error).message})`,
    );
  }
  const columns: string[] = df.columns;
  const roles = assignRoles(columns);
  const missing = missingRoles(roles);
  const b = new BarsBuilder(name, df.height, "row", opts);
  const dup = duplicateColumn(columns, roles);
  if (dup) throw b.error(-1, dup);
  if (missing.length > 0) {
    throw b.error(
      -1,
      `missing column${missing.length > 1 ? "s" : ""} ${missing.join(", ")} (found ${
        columns.join(", ")
      })`,
    );
  }
  const n: number = df.height;
  if (n === 0) throw b.error(-1, "no data rows");
  const numeric = (idx: number): Float64Array => {
    if (idx < 0) return new Float64Array(n);
    const s = df.getColumn(columns[idx]);
    let f;
    try {
      f = s.cast(pl.Float64);
    } catch (e) {
      throw b.error(
        -1,
        `column ${columns[idx]} is ${String(s.dtype)}, not numeric (${(e as Error).message})`,
      );
    }
    if (f.nullCount() > 0) {
      return Float64Array.from(f.toArray() as (number | null)[], (x) => (x === null ? NaN : x));
    }
    return f.toTypedArray() as Float64Array;
  };
  const ts = df.getColumn(columns[roles.time]);
  const variant: string = ts.dtype.variant;
  let time: Float64Array;
  /** The time texts of a String column, to say why one is not a date. */
  let texts: (string | null)[] | null = null;
  if (variant === "Datetime") {
    const scale = UNIT_MS[ts.dtype.timeUnit as string] ?? 1;
    time = numeric(roles.time);
    if (scale !== 1) { for (let i = 0; i < n; i++) time[i] *= scale; }
  } else if (variant === "Date") {
    time = numeric(roles.time);
    for (let i = 0; i < n; i++) time[i] *= 86_400_000;
  } else if (variant === "String" || variant === "Utf8") {
    const arr = ts.toArray() as (string | null)[];
    texts = arr;
    time = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const s = arr[i];
      time[i] = s === null ? NaN : parseIsoTime(s, 0, s.length);
    }
  } else {
    // A plain number: its unit by magnitude, as in CSV and JSON (and parquet_codec.ts).
    time = numeric(roles.time);
    for (let i = 0; i < n; i++) time[i] = epochToMs(time[i]);
  }
  const o = numeric(roles.open), h = numeric(roles.high), l = numeric(roles.low);
  const c = numeric(roles.close), v = numeric(roles.volume);
  if (roles.volume < 0) b.warn("no volume column; volume set to 0");
  for (let i = 0; i < n; i++) {
    const s = texts?.[i];
    if (Number.isNaN(time[i]) && typeof s === "string") {
      b.invalid(i + 1, explainBadTime(s.trim()));
      continue;
    }
    b.push(time[i], o[i], h[i], l[i], c[i], v[i], i + 1);
  }
  return b.finishFile();
}
