/**
 * Reads a flat numeric Parquet file from disk column by column: the footer first, then each
 * page's values straight into its column's `Float64Array` (positioned reads), so a load
 * allocates the output columns and nothing else — no whole-file buffer, no second copy. It
 * reads the files of both cache writers alike (nodejs-polars: OPTIONAL columns without
 * nulls, several row groups and pages, dictionary-encoded INT64 columns in small files; the
 * pure-JS codec: one REQUIRED page per column), as long as the values are uncompressed DOUBLE
 * or INT64, PLAIN or dictionary-encoded. For anything else it returns null and the caller
 * reads the whole file (pure-JS codec or nodejs-polars).
 *
 * Why: on these VMs every fresh memory page costs far more than the read itself (see
 * huge_pages.ts); reading a 1M-bar nodejs-polars file whole and then copying its pages into
 * columns touched twice the memory.
 *
 * @module
 */
import { allocFloat64 } from "./huge_pages.ts";
import {
  int64ToFloat64InPlace,
  num,
  ParquetCorruptError,
  type ParquetTable,
  str,
  timeScale,
} from "./parquet_codec.ts";
import { ThriftReader, type TStruct } from "./thrift_compact.ts";

const INT64 = 2, DOUBLE = 5;
const MAGIC = "PAR1";
/** Bytes read at a page start to parse its header (and the levels' length after it). */
const HEADER_WINDOW = 512;

async function readAt(f: Deno.FsFile, pos: number, into: Uint8Array): Promise<number> {
  await f.seek(pos, Deno.SeekMode.Start);
  let off = 0;
  while (off < into.length) {
    const n = await f.read(into.subarray(off));
    if (n === null) break;
    off += n;
  }
  return off;
}

async function readExactly(f: Deno.FsFile, pos: number, into: Uint8Array, what: string) {
  if ((await readAt(f, pos, into)) !== into.length) {
    throw new ParquetCorruptError(`file ends inside ${what}`);
  }
}

/**
 * Reads the Parquet file at `path` (see the module doc). Null when it uses features this
 * reader leaves to the others; `ParquetCorruptError` when it is damaged; `Deno.errors.NotFound`
 * when it does not exist.
 */
export async function readParquetFile(path: string): Promise<ParquetTable | null> {
  using f = await Deno.open(path);
  const size = (await f.stat()).size;
  if (size < 12) throw new ParquetCorruptError(`file is too short (${size} bytes)`);
  const tail = new Uint8Array(8);
  await readExactly(f, size - 8, tail, "the footer");
  const head = new Uint8Array(4);
  await readExactly(f, 0, head, "the header");
  const td = new TextDecoder();
  if (td.decode(head) !== MAGIC) throw new ParquetCorruptError("missing PAR1 header magic");
  if (td.decode(tail.subarray(4)) !== MAGIC) {
    throw new ParquetCorruptError("missing PAR1 footer magic (file truncated?)");
  }
  const footerLen = new DataView(tail.buffer).getUint32(0, true);
  if (footerLen + 12 > size) throw new ParquetCorruptError("footer length exceeds the file");
  const footer = new Uint8Array(footerLen);
  await readExactly(f, size - 8 - footerLen, footer, "the footer");
  let fmd: TStruct;
  try {
    fmd = new ThriftReader(footer).struct();
  } catch (e) {
    throw new ParquetCorruptError(`unreadable footer (${(e as Error).message})`);
  }
  const schema = fmd[2] as TStruct[] | undefined;
  const numRows = num(fmd[3], "num_rows");
  const rowGroups = fmd[4] as TStruct[] | undefined;
  if (!Array.isArray(schema) || schema.length < 1) throw new ParquetCorruptError("no schema");
  if (!Array.isArray(rowGroups)) throw new ParquetCorruptError("no row groups");
  const leaves = schema.slice(1);
  if (leaves.some((el) => el[5] !== undefined || (el[1] !== DOUBLE && el[1] !== INT64))) {
    return null; // nested, or not 8-byte numbers
  }
  if (!Number.isSafeInteger(numRows) || numRows < 0 || numRows * 8 > size * 2) {
    throw new ParquetCorruptError(`impossible num_rows ${numRows}`);
  }
  const metadata: Record<string, string> = {};
  for (const kv of (fmd[5] ?? []) as TStruct[]) metadata[str(kv[1])] = str(kv[2]);
  // One allocation for all columns: huge pages cover all but its two ragged ends, where six
  // separate 8 MB arrays would each fault their ends in small pages.
  const all = allocFloat64(numRows * leaves.length);
  const outs = leaves.map((_, k) => all.subarray(k * numRows, (k + 1) * numRows));
  const window = new Uint8Array(HEADER_WINDOW);
  let rowBase = 0;
  for (const rg of rowGroups) {
    const rgRows = num(rg[3], "row group num_rows");
    const chunks = rg[1] as TStruct[];
    if (!Array.isArray(chunks) || chunks.length !== leaves.length) {
      throw new ParquetCorruptError("row group column count differs from the schema");
    }
    if (rowBase + rgRows > numRows) throw new ParquetCorruptError("row groups exceed num_rows");
    for (let k = 0; k < leaves.length; k++) {
      const md = chunks[k][3] as TStruct | undefined;
      if (!md || md[4] !== 0 || md[1] !== leaves[k][1]) return null; // compressed, or odd
      const optional = leaves[k][3] === 1;
      const nValues = num(md[5], "num_values");
      // The dictionary page, when there is one, comes first (nodejs-polars dictionary-encodes
      // INT64 columns of a few hundred rows or less).
      let pos = (md[11] as number | undefined) ?? num(md[9], "data_page_offset");
      let dict: Int32Array | null = null; // raw 8-byte values as (lo, hi) word pairs
      let got = 0;
      while (got < nValues) {
        if (pos < 4 || pos >= size - 8) {
          throw new ParquetCorruptError("page offset outside the file");
        }
        const w = window.subarray(0, await readAt(f, pos, window));
        const r = new ThriftReader(w);
        let ph: TStruct;
        try {
          ph = r.struct();
        } catch (e) {
          throw new ParquetCorruptError(`unreadable page header (${(e as Error).message})`);
        }
        const body = pos + r.pos;
        const pageSize = num(ph[3], "compressed_page_size");
        // Non-negative sizes keep `pos` moving forward, so a damaged file cannot loop.
        if (pageSize < 0) throw new ParquetCorruptError("negative page size");
        if (body + pageSize > size) {
          throw new ParquetCorruptError("page runs past the end of the file");
        }
        pos = body + pageSize;
        if (ph[1] === 2) {
          const dh = ph[7] as TStruct;
          if (!dh || (dh[2] !== 0 && dh[2] !== 2)) return null; // not PLAIN values
          const n = num(dh[1], "dictionary num_values");
          if (!(n >= 0) || n * 8 > pageSize) {
            throw new ParquetCorruptError("dictionary page holds fewer bytes than its values");
          }
          const raw = new Uint8Array(n * 8);
          await readExactly(f, body, raw, "a dictionary page");
          dict = new Int32Array(raw.buffer);
          continue;
        }
        let count: number, valuesAt: number, encoding: number;
        /** Bytes of the page body that hold (optional, v1) definition levels. */
        let levelsLen = 0;
        if (ph[1] === 0) {
          const h = ph[5] as TStruct;
          if (!h) throw new ParquetCorruptError("data page without its header");
          encoding = h[2] as number;
          count = num(h[1], "num_values");
          valuesAt = body;
          if (optional) {
            if (r.pos + 4 > w.length) return null; // a header too large for the window
            levelsLen = new DataView(w.buffer, w.byteOffset).getUint32(r.pos, true);
            valuesAt = body + 4 + levelsLen;
            // A PLAIN page without nulls has as many values as rows after its levels.
            if (encoding === 0 && pageSize - 4 - levelsLen !== count * 8) return null;
          }
        } else if (ph[1] === 3) {
          const h = ph[8] as TStruct;
          if (!h || (h[2] as number) > 0) return null; // nulls
          encoding = h[4] as number;
          count = num(h[1], "num_values");
          valuesAt = body + ((h[5] as number) ?? 0) + ((h[6] as number) ?? 0);
        } else {
          return null; // index pages and the like
        }
        if (!(count >= 0) || valuesAt < body || valuesAt > pos) {
          throw new ParquetCorruptError("bad page layout");
        }
        if (got + count > rgRows) throw new ParquetCorruptError("more values than rows");
        const out = outs[k];
        const at = rowBase + got;
        if (encoding === 0) {
          if (valuesAt + count * 8 > pos) {
            throw new ParquetCorruptError("page holds fewer bytes than its values need");
          }
          await readExactly(
            f,
            valuesAt,
            new Uint8Array(out.buffer, out.byteOffset + at * 8, count * 8),
            "a data page",
          );
        } else if (encoding === 2 || encoding === 8) {
          if (!dict) throw new ParquetCorruptError("dictionary-encoded page without a dictionary");
          const page = new Uint8Array(pageSize);
          await readExactly(f, body, page, "a data page");
          if (ph[1] === 0 && optional) {
            // Definition levels (bit width 1): all 1, or the page has nulls.
            const levels = decodeHybrid(page, 4, 4 + levelsLen, 1, count);
            if (levels.some((x) => x !== 1)) return null;
          }
          const start = valuesAt - body;
          if (start >= page.length) throw new ParquetCorruptError("no dictionary indices");
          const idx = decodeHybrid(page, start + 1, page.length, page[start], count);
          const words = new Int32Array(out.buffer, out.byteOffset + at * 8, count * 2);
          const dictSize = dict.length / 2;
          for (let i = 0; i < count; i++) {
            const j = idx[i];
            if (j >= dictSize) throw new ParquetCorruptError(`dictionary index ${j} out of range`);
            words[2 * i] = dict[2 * j];
            words[2 * i + 1] = dict[2 * j + 1];
          }
        } else {
          return null; // delta or byte-stream-split encodings
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
  const columns = new Map<string, Float64Array>();
  const timeColumns = new Set<string>();
  leaves.forEach((el, k) => {
    const out = outs[k];
    const name = str(el[4]);
    if (el[1] === INT64) {
      int64ToFloat64InPlace(out, 0, numRows);
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
 * Decodes `count` values of Parquet's RLE / bit-packing hybrid encoding from
 * `buf[pos..end)` (dictionary indices, definition levels).
 */
export function decodeHybrid(
  buf: Uint8Array,
  pos: number,
  end: number,
  bitWidth: number,
  count: number,
): Uint32Array {
  if (bitWidth > 32) throw new ParquetCorruptError(`bit width ${bitWidth} is over 32`);
  const out = new Uint32Array(count);
  const byteWidth = (bitWidth + 7) >> 3;
  let i = 0;
  while (i < count) {
    let header = 0, mul = 1;
    for (;;) {
      if (pos >= end) throw new ParquetCorruptError("RLE data ends early");
      const b = buf[pos++];
      header += (b & 0x7f) * mul;
      mul *= 128;
      if ((b & 0x80) === 0) break;
      if (mul > 2 ** 35) throw new ParquetCorruptError("RLE run header too long");
    }
    if (header % 2 === 0) {
      // A run: one value, repeated.
      const run = header / 2;
      if (pos + byteWidth > end) throw new ParquetCorruptError("RLE data ends early");
      let v = 0;
      for (let b = 0; b < byteWidth; b++) v += buf[pos + b] * 2 ** (8 * b);
      pos += byteWidth;
      const stop = Math.min(count, i + run);
      while (i < stop) out[i++] = v;
    } else {
      // Bit-packed groups of 8 values, least significant bit first.
      const groups = (header - 1) / 2;
      const bytes = groups * bitWidth;
      if (pos + bytes > end && i + groups * 8 <= count) {
        throw new ParquetCorruptError("bit-packed data ends early");
      }
      const n = Math.min(count - i, groups * 8);
      for (let k = 0; k < n; k++) {
        let v = 0;
        const bit0 = k * bitWidth;
        for (let b = 0; b < bitWidth; b++) {
          const bit = bit0 + b;
          const at = pos + (bit >> 3);
          if (at >= end) throw new ParquetCorruptError("bit-packed data ends early");
          if ((buf[at] >> (bit & 7)) & 1) v += 2 ** b;
        }
        out[i++] = v;
      }
      pos += bytes;
    }
  }
  return out;
}
