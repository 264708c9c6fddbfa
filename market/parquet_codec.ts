/**
 * A small pure-JS Parquet codec for OHLCV tables. It writes the files of the cache (one row
 * group, PLAIN encoding, uncompressed; `timestamp` as INT64 TIMESTAMP(MILLIS, UTC), the prices
 * and volume as DOUBLE) and reads flat files whose columns are PLAIN and uncompressed — its
 * own, and nodejs-polars' with `compression: "uncompressed"` — straight into `Float64Array`s
 * with one memcpy per column. That is what makes a 1M-bar load take milliseconds, and it
 * needs no native addon, so it also runs where nodejs-polars cannot (Deno Deploy). Any other
 * file (compressed, dictionary-encoded, with nulls) is handed to nodejs-polars.
 *
 * @module
 */
import type { Bars } from "../engine/types.ts";
import { assignRoles, duplicateColumn, missingRoles } from "./column_roles.ts";
import { BarsBuilder, type CleanBars, type CleanOptions } from "./bars_builder.ts";
import { DataFileError } from "./data_file_error.ts";
import { allocBytes, allocFloat64 } from "./huge_pages.ts";
import { epochToMs } from "./parse_time.ts";
import { readParquetWithPolars } from "./read_parquet_polars.ts";
import { T, ThriftReader, ThriftWriter, type TStruct, type TValue } from "./thrift_compact.ts";

const MAGIC = [0x50, 0x41, 0x52, 0x31]; // "PAR1"
const COLS = ["timestamp", "open", "high", "low", "close", "volume"] as const;
const INT64 = 2, INT32 = 1, FLOAT = 4, DOUBLE = 5;

/** A flat table of numeric columns decoded from Parquet. */
export interface ParquetTable {
  numRows: number;
  /** Column name → values (TIMESTAMP and DATE columns already in ms). */
  columns: Map<string, Float64Array>;
  /**
   * The columns whose Parquet type was TIMESTAMP or DATE: their unit came from the file and
   * they are in ms. Any other numeric column is a plain number (epoch values in it get their
   * unit by magnitude, like CSV's). Absent: none known.
   */
  timeColumns?: ReadonlySet<string>;
  /** The file's key/value metadata. */
  metadata: Record<string, string>;
}

/** The file is not Parquet or is damaged (truncated, bad footer, inconsistent sizes). */
export class ParquetCorruptError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ParquetCorruptError";
  }
}

/**
 * Encodes bars as a Parquet file (see the module doc for the layout), with optional
 * key/value metadata.
 */
export function writeParquetBytes(bars: Bars, metadata: Record<string, string> = {}): Uint8Array {
  const n = bars.length;
  const headers = COLS.map(() => {
    const w = new ThriftWriter();
    w.int(1, 0) // DATA_PAGE
      .int(2, n * 8)
      .int(3, n * 8)
      .begin(5)
      .int(1, n)
      .int(2, 0) // PLAIN
      .int(3, 3) // RLE (no levels: the columns are REQUIRED)
      .int(4, 3)
      .end();
    return w.finish();
  });
  // Each column chunk starts where its values land on an 8-byte boundary (zero padding
  // between chunks; readers locate chunks by offset), so a reader can view the values in
  // place as a Float64Array instead of copying them.
  const offsets: number[] = [];
  let pos = 4;
  for (const h of headers) {
    pos += (8 - ((pos + h.length) % 8)) % 8;
    offsets.push(pos);
    pos += h.length + n * 8;
  }
  const meta = new ThriftWriter();
  meta.int(1, 1);
  meta.list(2, T.STRUCT, COLS.length + 1);
  meta.item().string(4, "schema").int(5, COLS.length).end();
  for (const c of COLS) {
    meta.item().int(1, c === "timestamp" ? INT64 : DOUBLE).int(3, 0).string(4, c);
    if (c === "timestamp") {
      meta.int(6, 9) // TIMESTAMP_MILLIS
        .begin(10).begin(8).bool(1, true).begin(2).begin(1).end().end().end().end();
    }
    meta.end();
  }
  meta.int(3, n, T.I64);
  meta.list(4, T.STRUCT, 1).item();
  meta.list(1, T.STRUCT, COLS.length);
  COLS.forEach((c, k) => {
    const size = headers[k].length + n * 8;
    meta.item().int(2, offsets[k], T.I64).begin(3)
      .int(1, c === "timestamp" ? INT64 : DOUBLE)
      .list(2, T.I32, 2).listInt(0).listInt(3)
      .list(3, T.BINARY, 1).listString(c)
      .int(4, 0)
      .int(5, n, T.I64)
      .int(6, size, T.I64)
      .int(7, size, T.I64)
      .int(9, offsets[k], T.I64)
      .end().end();
  });
  meta.int(2, pos - 4, T.I64).int(3, n, T.I64).end();
  const kv = Object.entries(metadata);
  if (kv.length > 0) {
    meta.list(5, T.STRUCT, kv.length);
    for (const [k, v] of kv) meta.item().string(1, k).string(2, v).end();
  }
  meta.string(6, "wagyu parquet_codec");
  const footer = meta.finish();
  const out = allocBytes(pos + footer.length + 8);
  out.set(MAGIC, 0);
  const dv = new DataView(out.buffer);
  const cols = [bars.timestamp, bars.open, bars.high, bars.low, bars.close, bars.volume];
  COLS.forEach((c, k) => {
    out.set(headers[k], offsets[k]);
    const at = offsets[k] + headers[k].length;
    const src = cols[k].subarray(0, n);
    if (c === "timestamp") {
      // `at` is 8-aligned (see above); Int32Array stores wrap the low half modulo 2^32.
      const w = new Int32Array(out.buffer, at, n * 2);
      for (let i = 0; i < n; i++) {
        const t = Math.round(src[i]);
        const hi = Math.floor(t / 4294967296);
        w[2 * i] = t - hi * 4294967296;
        w[2 * i + 1] = hi;
      }
    } else {
      new Uint8Array(out.buffer, at, n * 8).set(
        new Uint8Array(src.buffer, src.byteOffset, n * 8),
      );
    }
  });
  out.set(footer, pos);
  dv.setUint32(pos + footer.length, footer.length, true);
  out.set(MAGIC, pos + footer.length + 4);
  return out;
}

/** Converts `count` little-endian INT64 values in place to float64 (the same 8 bytes each). */
/** @internal */
export function int64ToFloat64InPlace(out: Float64Array, at: number, count: number): void {
  const w = new Int32Array(out.buffer, out.byteOffset + at * 8, count * 2);
  for (let i = 0; i < count; i++) {
    // Both halves are read before the store overwrites them.
    out[at + i] = w[2 * i + 1] * 4294967296 + (w[2 * i] >>> 0);
  }
}

function copyValues(
  out: Float64Array,
  at: number,
  type: number,
  count: number,
  bytes: Uint8Array,
  dv: DataView,
  valuesAt: number,
): void {
  if (type === DOUBLE || type === INT64) {
    // A byte copy into the (aligned) output, no intermediate array; INT64 then converts there.
    new Uint8Array(out.buffer, out.byteOffset + at * 8, count * 8)
      .set(bytes.subarray(valuesAt, valuesAt + count * 8));
    if (type === INT64) int64ToFloat64InPlace(out, at, count);
  } else if (type === FLOAT) {
    const copy = bytes.slice(valuesAt, valuesAt + count * 4);
    out.set(new Float32Array(copy.buffer), at);
  } else {
    for (let i = 0; i < count; i++) out[at + i] = dv.getInt32(valuesAt + i * 4, true);
  }
}

/** A thrift binary as text. @internal */
export function str(v: TValue | undefined): string {
  return v instanceof Uint8Array ? new TextDecoder().decode(v) : "";
}

/** A required thrift number. @internal */
export function num(v: TValue | undefined, what: string): number {
  if (typeof v !== "number") throw new ParquetCorruptError(`missing ${what} in metadata`);
  return v;
}

/** How an INT64/INT32 column's values convert to ms (null = not a time; plain numbers). */
/** @internal */
export function timeScale(el: TStruct): number | null {
  const logical = el[10] as TStruct | undefined;
  const ts = logical?.[8] as TStruct | undefined;
  if (ts) {
    const unit = ts[2] as TStruct | undefined;
    if (unit?.[1]) return 1;
    if (unit?.[2]) return 1e-3;
    if (unit?.[3]) return 1e-6;
  }
  if (logical?.[6]) return 86_400_000; // DATE
  const conv = el[6];
  if (conv === 9) return 1;
  if (conv === 10) return 1e-3;
  if (conv === 6) return 86_400_000;
  return null;
}

/**
 * Decodes a flat Parquet file whose columns are PLAIN and uncompressed without nulls. The
 * returned columns may be views into `bytes` (which is then modified in place: INT64 time
 * values are rewritten as float64), so pass bytes you own.
 * Returns null when the file is valid Parquet but uses a feature this codec does not read
 * (then use nodejs-polars); throws `ParquetCorruptError` when the bytes are not a sound
 * Parquet file.
 */
export function decodeParquet(bytes: Uint8Array): ParquetTable | null {
  const len = bytes.length;
  if (len < 12) throw new ParquetCorruptError(`file is too short (${len} bytes)`);
  for (let k = 0; k < 4; k++) {
    if (bytes[k] !== MAGIC[k]) throw new ParquetCorruptError("missing PAR1 header magic");
    if (bytes[len - 4 + k] !== MAGIC[k]) {
      throw new ParquetCorruptError("missing PAR1 footer magic (file truncated?)");
    }
  }
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const footerLen = dv.getUint32(len - 8, true);
  if (footerLen + 12 > len) throw new ParquetCorruptError("footer length exceeds the file");
  let fmd: TStruct;
  try {
    fmd = new ThriftReader(bytes, len - 8 - footerLen).struct();
  } catch (e) {
    throw new ParquetCorruptError(`unreadable footer (${(e as Error).message})`);
  }
  const schema = fmd[2] as TStruct[] | undefined;
  const numRows = num(fmd[3], "num_rows");
  const rowGroups = (fmd[4] ?? []) as TStruct[];
  if (!Array.isArray(schema) || schema.length < 1) throw new ParquetCorruptError("no schema");
  const leaves = schema.slice(1);
  if (leaves.some((el) => el[5] !== undefined)) return null; // nested columns
  const metadata: Record<string, string> = {};
  for (const kv of (fmd[5] ?? []) as TStruct[]) metadata[str(kv[1])] = str(kv[2]);
  const columns = new Map<string, Float64Array>();
  const outs: (Float64Array | undefined)[] = leaves.map(() => undefined);
  const single = rowGroups.length === 1;
  const inPlace: Float64Array[] = [];
  let rowBase = 0;
  for (const rg of rowGroups) {
    const rgRows = num(rg[3], "row group num_rows");
    const chunks = rg[1] as TStruct[];
    if (!Array.isArray(chunks) || chunks.length !== leaves.length) {
      throw new ParquetCorruptError("row group column count differs from the schema");
    }
    if (rowBase + rgRows > numRows) throw new ParquetCorruptError("row groups exceed num_rows");
    for (let k = 0; k < leaves.length; k++) {
      const el = leaves[k];
      const md = chunks[k][3] as TStruct | undefined;
      if (!md) return null;
      if (md[4] !== 0) return null; // compressed
      const type = md[1] as number;
      if (type !== DOUBLE && type !== INT64 && type !== INT32 && type !== FLOAT) return null;
      const optional = el[3] === 1;
      const nValues = num(md[5], "num_values");
      let pos = (md[11] as number | undefined) ?? num(md[9], "data_page_offset");
      let got = 0;
      const width = type === INT32 || type === FLOAT ? 4 : 8;
      while (got < nValues) {
        if (pos <= 0 || pos >= len) throw new ParquetCorruptError("page offset outside the file");
        const r = new ThriftReader(bytes, pos);
        let ph: TStruct;
        try {
          ph = r.struct();
        } catch (e) {
          throw new ParquetCorruptError(`unreadable page header (${(e as Error).message})`);
        }
        const size = num(ph[3], "compressed_page_size");
        const body = r.pos;
        if (body + size > len) throw new ParquetCorruptError("page runs past the end of the file");
        pos = body + size;
        let count: number, valuesAt: number;
        if (ph[1] === 0) {
          const h = ph[5] as TStruct;
          if (!h || h[2] !== 0) return null; // not PLAIN
          count = num(h[1], "num_values");
          valuesAt = body;
          if (optional) {
            const levels = dv.getUint32(body, true);
            valuesAt = body + 4 + levels;
            // Only a page without nulls has as many values as rows after its levels.
            if ((size - 4 - levels) !== count * width) return null;
          }
        } else if (ph[1] === 3) {
          const h = ph[8] as TStruct;
          if (!h || h[4] !== 0 || (h[2] as number) > 0) return null;
          count = num(h[1], "num_values");
          valuesAt = body + ((h[5] as number) ?? 0) + ((h[6] as number) ?? 0);
        } else {
          return null; // dictionary or index pages
        }
        if (valuesAt + count * width > pos) {
          throw new ParquetCorruptError("page holds fewer bytes than its values need");
        }
        if (rowBase + got + count > numRows) throw new ParquetCorruptError("more values than rows");
        const at = rowBase + got;
        const aligned = (bytes.byteOffset + valuesAt) % 8 === 0;
        if (single && aligned && (type === DOUBLE || type === INT64) && count === numRows) {
          // The common case (our own files): view the values in place, converting INT64 to
          // float64 over the same 8 bytes (each value is read before it is overwritten).
          const view = new Float64Array(bytes.buffer, bytes.byteOffset + valuesAt, count);
          // Converted only once the whole file proved readable, so that a fallback to
          // nodejs-polars still sees the original bytes.
          if (type === INT64) inPlace.push(view);
          outs[k] = view;
        } else {
          const out = outs[k] ??= allocFloat64(numRows);
          copyValues(out, at, type, count, bytes, dv, valuesAt);
        }
        got += count;
      }
      if (got !== rgRows) throw new ParquetCorruptError("column value count differs from rows");
    }
    rowBase += rgRows;
  }
  if (rowBase !== numRows) {
    throw new ParquetCorruptError("row groups hold fewer rows than declared");
  }
  for (const view of inPlace) int64ToFloat64InPlace(view, 0, view.length);
  const timeColumns = new Set<string>();
  leaves.forEach((el, k) => {
    const out = outs[k] ?? new Float64Array(numRows);
    const type = el[1];
    const name = str(el[4]);
    if (type === INT64 || type === INT32) {
      const scale = timeScale(el);
      if (scale !== null) timeColumns.add(name);
      if (scale !== null && scale !== 1) { for (let i = 0; i < numRows; i++) out[i] *= scale; }
    }
    if (columns.has(name)) throw new ParquetCorruptError(`two columns are named ${name}`);
    columns.set(name, out);
  });
  return { numRows, columns, metadata, timeColumns };
}

/**
 * Turns a decoded table into validated bars + quality. A plain numeric time column (not
 * TIMESTAMP or DATE, see `ParquetTable.timeColumns`) is converted to ms in place, its unit
 * chosen by magnitude as CSV and JSON do (`epochToMs`): its name says nothing about its unit.
 * A table without rows, or with two columns for one role, is an error.
 */
export function tableToBars(table: ParquetTable, name: string, opts: CleanOptions = {}): CleanBars {
  const names = [...table.columns.keys()];
  const roles = assignRoles(names);
  const b = new BarsBuilder(name, table.numRows, "row", opts);
  const dup = duplicateColumn(names, roles);
  if (dup) throw b.error(-1, dup);
  const missing = missingRoles(roles);
  if (missing.length > 0) {
    throw b.error(
      -1,
      `missing column${missing.length > 1 ? "s" : ""} ${missing.join(", ")} (found ${
        names.join(", ")
      })`,
    );
  }
  const col = (
    i: number,
  ) => (i >= 0 ? table.columns.get(names[i])! : new Float64Array(table.numRows));
  const t = col(roles.time), o = col(roles.open), h = col(roles.high), l = col(roles.low);
  const c = col(roles.close), v = col(roles.volume);
  if (table.numRows === 0) throw b.error(-1, "no data rows");
  if (roles.volume < 0) b.warn("no volume column; volume set to 0");
  if (!table.timeColumns?.has(names[roles.time])) {
    for (let i = 0; i < t.length; i++) t[i] = epochToMs(t[i]);
  }
  const clean = BarsBuilder.tryClean(name, { t, o, h, l, c, v });
  if (clean) return clean;
  for (let i = 0; i < table.numRows; i++) b.push(t[i], o[i], h[i], l[i], c[i], v[i], i + 1);
  return b.finishFile();
}

/**
 * Reads Parquet bytes into bars + quality: the pure-JS codec when it can, nodejs-polars for
 * everything else. Damaged files throw `DataFileError`.
 */
export async function readParquetBytes(
  bytes: Uint8Array,
  name: string,
  opts: CleanOptions = {},
): Promise<CleanBars> {
  let table: ParquetTable | null;
  try {
    table = decodeParquet(bytes);
  } catch (e) {
    // A damaged footer can decode to thrift values of the wrong type (a number where a list
    // of row groups belongs); the decoder then fails with a TypeError or RangeError. Those
    // are bad input too, found by tests/market/reader_fuzz_test.ts.
    if (e instanceof ParquetCorruptError || e instanceof TypeError || e instanceof RangeError) {
      throw new DataFileError(name, -1, `${name}: corrupt Parquet file: ${e.message}`, {
        cause: e,
      });
    }
    throw e;
  }
  if (table) return tableToBars(table, name, opts);
  return await readParquetWithPolars(bytes, name, opts);
}

export { COLS as PARQUET_COLUMNS };

/** The footer's byte range, checked; `ParquetCorruptError` when the file cannot have one. */
function footerRange(bytes: Uint8Array): { start: number; end: number } {
  const len = bytes.length;
  if (len < 12) throw new ParquetCorruptError(`file is too short (${len} bytes)`);
  for (let k = 0; k < 4; k++) {
    if (bytes[len - 4 + k] !== MAGIC[k]) {
      throw new ParquetCorruptError("missing PAR1 footer magic (file truncated?)");
    }
  }
  const footerLen = new DataView(bytes.buffer, bytes.byteOffset, len).getUint32(len - 8, true);
  if (footerLen + 12 > len) throw new ParquetCorruptError("footer length exceeds the file");
  return { start: len - 8 - footerLen, end: len - 8 };
}

/**
 * Returns a copy of a Parquet file with `kv` merged into its footer's key/value metadata
 * (replacing entries of the same keys, keeping the others, e.g. nodejs-polars'
 * `ARROW:schema`). The data pages are copied byte for byte. nodejs-polars cannot write
 * custom metadata, so the cache adds its own this way to the files polars writes.
 */
export function setKeyValueMetadata(file: Uint8Array, kv: Record<string, string>): Uint8Array {
  const { start, end } = footerRange(file);
  let spans;
  try {
    spans = new ThriftReader(file.subarray(0, end), start).fieldSpans();
  } catch (e) {
    throw new ParquetCorruptError(`unreadable footer (${(e as Error).message})`);
  }
  const merged = new Map<string, string>();
  const old = spans.find((f) => f.id === 5);
  if (old) {
    const list = new ThriftReader(file.subarray(0, old.end), old.start).value(old.type);
    if (!Array.isArray(list)) throw new ParquetCorruptError("key/value metadata is not a list");
    for (const e of list as TStruct[]) merged.set(str(e[1]), str(e[2]));
  }
  for (const [k, v] of Object.entries(kv)) merged.set(k, v);
  const w = new ThriftWriter();
  let wrote = false;
  const writeKv = () => {
    w.list(5, T.STRUCT, merged.size);
    for (const [k, v] of merged) w.item().string(1, k).string(2, v).end();
    wrote = true;
  };
  for (const f of spans) {
    if (f.id === 5) {
      writeKv();
      continue;
    }
    if (f.id > 5 && !wrote) writeKv();
    w.raw(f.id, f.type, file.subarray(f.start, f.end));
  }
  if (!wrote) writeKv();
  const footer = w.finish();
  const out = allocBytes(start + footer.length + 8);
  out.set(file.subarray(0, start), 0);
  out.set(footer, start);
  new DataView(out.buffer, out.byteOffset).setUint32(start + footer.length, footer.length, true);
  out.set(MAGIC, start + footer.length + 4);
  return out;
}

/** The key/value metadata of a Parquet file's footer (the whole file, or its tail). */
export function readKeyValueMetadata(bytes: Uint8Array): Record<string, string> {
  const { start, end } = footerRange(bytes);
  let fmd: TStruct;
  try {
    fmd = new ThriftReader(bytes.subarray(0, end), start).struct();
  } catch (e) {
    throw new ParquetCorruptError(`unreadable footer (${(e as Error).message})`);
  }
  const out: Record<string, string> = {};
  const list = fmd[5];
  if (Array.isArray(list)) {
    for (const e of list as TStruct[]) out[str(e[1])] = str(e[2]);
  }
  return out;
}
