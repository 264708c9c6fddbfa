import assert from "node:assert/strict";
import pl from "nodejs-polars";
import type { Bars } from "../../engine/types.ts";
import { DataFileError, loadBars } from "../../market/load_bars.ts";
import { ParquetCorruptError, writeParquetBytes } from "../../market/parquet_codec.ts";
import { decodeHybrid, readParquetFile } from "../../market/parquet_file_reader.ts";
import { generateBars, mulberry32 as rng } from "../../market/sample_data.ts";
import { ThriftReader, type TStruct } from "../../market/thrift_compact.ts";

/** The same bars written by nodejs-polars (uncompressed, OPTIONAL columns, its own paging). */
function polarsBytes(b: Bars): Uint8Array {
  const df = pl.DataFrame([
    pl.Series("timestamp", b.timestamp).cast(pl.Int64).cast(pl.Datetime("ms")),
    pl.Series("open", b.open),
    pl.Series("high", b.high),
    pl.Series("low", b.low),
    pl.Series("close", b.close),
    pl.Series("volume", b.volume),
  ]);
  const buf = df.writeParquet({ compression: "uncompressed" });
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}

Deno.test("readParquetFile() reads nodejs-polars and pure-JS files column by column, value for value", async () => {
  const dir = await Deno.makeTempDir();
  try {
    // 400k rows: nodejs-polars writes two row groups of several pages each.
    const bars = generateBars(400_000, { seed: 3, intervalMs: 60_000, decimals: null });
    for (
      const [name, bytes] of [["pl", polarsBytes(bars)], ["js", writeParquetBytes(bars)]] as const
    ) {
      const path = `${dir}/${name}.parquet`;
      await Deno.writeFile(path, bytes);
      const t = await readParquetFile(path);
      assert.ok(t, name);
      assert.equal(t.numRows, bars.length);
      for (const k of ["timestamp", "open", "high", "low", "close", "volume"] as const) {
        const col: Float64Array = t.columns.get(k)!;
        for (let i = 0; i < bars.length; i++) {
          if (col[i] !== bars[k][i]) assert.fail(`${name} ${k}[${i}]: ${col[i]} vs ${bars[k][i]}`);
        }
      }
    }
    // A compressed file is left to the other readers (null), and loadBars still reads it.
    const snappy = pl.readParquet(`${dir}/pl.parquet`).writeParquet({ compression: "snappy" });
    await Deno.writeFile(`${dir}/snappy.parquet`, snappy);
    assert.equal(await readParquetFile(`${dir}/snappy.parquet`), null);
    const viaPolars = await loadBars(`${dir}/snappy.parquet`);
    assert.equal(viaPolars.bars.close[354_321], bars.close[354_321]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("loadBars() on damaged Parquet files (truncated, bytes overwritten) returns valid bars or a DataFileError, never anything else", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const bars = generateBars(3000, { seed: 4, intervalMs: 60_000 });
    const rand = rng(20261124);
    for (
      const [name, good] of [
        ["pl", polarsBytes(bars)],
        ["js", writeParquetBytes(bars)],
        // Small enough for nodejs-polars to dictionary-encode the timestamps.
        ["pl-dict", polarsBytes(generateBars(100, { seed: 5, intervalMs: 60_000 }))],
      ] as const
    ) {
      const path = `${dir}/${name}.parquet`;
      const cases: [string, Uint8Array][] = [];
      for (let cut = 0; cut < good.length; cut += Math.ceil(good.length / 40)) {
        cases.push([`truncated at ${cut}`, good.slice(0, cut)]);
      }
      for (let k = 0; k < 80; k++) {
        const b = good.slice();
        const hits = 1 + Math.floor(rand() * 4);
        // Half of the damage lands in the footer and page headers, where it matters most.
        for (let j = 0; j < hits; j++) {
          const at = rand() < 0.5
            ? good.length - 1 - Math.floor(rand() * Math.min(600, good.length))
            : Math.floor(rand() * good.length);
          b[at] = Math.floor(rand() * 256);
        }
        cases.push([`case ${k}`, b]);
      }
      for (const [what, bytes] of cases) {
        await Deno.writeFile(path, bytes);
        try {
          const r = await loadBars(path);
          const t = r.bars.timestamp;
          for (let i = 1; i < r.bars.length; i++) assert.ok(t[i] > t[i - 1], `${name} ${what}`);
        } catch (e) {
          if (!(e instanceof DataFileError)) {
            assert.fail(
              `${name} ${what}: ${(e as Error).constructor.name}: ${(e as Error).message}`,
            );
          }
        }
        try {
          await readParquetFile(path);
        } catch (e) {
          // The reader itself only ever says "corrupt" (loadBars maps those three).
          assert.ok(
            e instanceof ParquetCorruptError || e instanceof RangeError || e instanceof TypeError,
            `${name} ${what}: ${(e as Error).constructor.name}: ${(e as Error).message}`,
          );
        }
      }
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("decodeHybrid() decodes RLE runs and bit-packed groups (hand-encoded)", () => {
  // A run of 5 × value 3 (header 5<<1 = 10, one byte of value), then one bit-packed group
  // (header (1<<1)|1 = 3) of 8 values 0..7 at bit width 3: 24 bits, LSB first.
  // 0,1,2,3,4,5,6,7 → bits 000 100 010 110 001 101 011 111 (each value LSB first) =
  // bytes 0b10001000, 0b11000110, 0b11111010 = 0x88, 0xc6, 0xfa.
  const buf = new Uint8Array([10, 3, 3, 0x88, 0xc6, 0xfa]);
  assert.deepEqual([...decodeHybrid(buf, 0, buf.length, 3, 13)], [
    3,
    3,
    3,
    3,
    3,
    0,
    1,
    2,
    3,
    4,
    5,
    6,
    7,
  ]);
  // Fewer values wanted than the group holds: the rest of the group is padding.
  assert.deepEqual([...decodeHybrid(buf, 0, buf.length, 3, 7)], [3, 3, 3, 3, 3, 0, 1]);
  // Data that ends before the values do is corrupt, not a crash or a hang.
  assert.throws(() => decodeHybrid(buf, 0, 4, 3, 13), ParquetCorruptError);
  assert.throws(() => decodeHybrid(new Uint8Array([0, 0, 0]), 0, 3, 8, 5), ParquetCorruptError);
});

Deno.test("readParquetFile() reads nodejs-polars' dictionary-encoded timestamps of small files", async () => {
  const dir = await Deno.makeTempDir();
  try {
    for (const n of [1, 2, 37, 100]) {
      const bars = generateBars(n, { seed: n, intervalMs: 3_600_000, decimals: null });
      const bytes = polarsBytes(bars);
      // The footer names RLE_DICTIONARY (8) among the timestamp column's encodings, and it has
      // a dictionary page offset: this is the case under test.
      const path = `${dir}/d${n}.parquet`;
      await Deno.writeFile(path, bytes);
      const len = bytes.length;
      const footerLen = new DataView(bytes.buffer, bytes.byteOffset).getUint32(len - 8, true);
      const fmd = new ThriftReader(bytes, len - 8 - footerLen).struct();
      const md = ((fmd[4] as TStruct[])[0][1] as TStruct[])[0][3] as TStruct;
      assert.ok((md[2] as number[]).includes(8), `n=${n}: ${JSON.stringify(md[2])}`);
      assert.equal(typeof md[11], "number");
      const t = await readParquetFile(path);
      assert.ok(t, `n=${n}`);
      const ts: Float64Array = t.columns.get("timestamp")!;
      const close: Float64Array = t.columns.get("close")!;
      assert.deepEqual([...ts], [...bars.timestamp], `n=${n}`);
      assert.deepEqual([...close], [...bars.close], `n=${n}`);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
