import assert from "node:assert/strict";
import pl from "nodejs-polars";
import { DataFileError, loadBars, loadBarsFromBytes } from "../../market/load_bars.ts";
import {
  decodeParquet,
  ParquetCorruptError,
  writeParquetBytes,
} from "../../market/parquet_codec.ts";
import { generateBars } from "../../market/sample_data.ts";

const GOOG = new URL("../../../shared/data/GOOG.csv", import.meta.url).pathname;

function equalBars(a: ReturnType<typeof generateBars>, b: ReturnType<typeof generateBars>) {
  assert.equal(a.length, b.length);
  for (const k of ["timestamp", "open", "high", "low", "close", "volume"] as const) {
    assert.deepEqual([...a[k]], [...b[k]], k);
  }
}

Deno.test("writeParquetBytes() → loadBarsFromBytes() round-trips every value exactly", async () => {
  const bars = generateBars(5000, { seed: 3, intervalMs: 60_000, decimals: null });
  const bytes = writeParquetBytes(bars, { "wagyu.test": "yes" });
  const table = decodeParquet(bytes.slice());
  assert.equal(table?.metadata["wagyu.test"], "yes");
  const { bars: back, quality } = await loadBarsFromBytes(bytes, "x.parquet");
  equalBars(back, bars);
  assert.equal(quality.timeframe, "1m");
});

Deno.test("nodejs-polars reads the codec's files with the same values and a UTC ms timestamp", async () => {
  const { bars } = await loadBars(GOOG);
  const dir = await Deno.makeTempDir();
  const path = `${dir}/goog.parquet`;
  await Deno.writeFile(path, writeParquetBytes(bars));
  const df = pl.readParquet(path);
  assert.equal(df.height, 2148);
  assert.equal(String(df.getColumn("timestamp").dtype), "DataType(Datetime(ms,UTC))");
  assert.deepEqual(df.getColumn("close").toArray(), [...bars.close]);
  assert.deepEqual(df.getColumn("timestamp").cast(pl.Float64).toArray(), [...bars.timestamp]);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("loadBars() reads Parquet written by nodejs-polars, uncompressed and zstd", async () => {
  const { bars } = await loadBars(GOOG);
  const dir = await Deno.makeTempDir();
  const df = pl.DataFrame({
    Date: pl.Series("Date", [...bars.timestamp].map((t) => new Date(t))),
    Open: pl.Series("Open", bars.open),
    High: pl.Series("High", bars.high),
    Low: pl.Series("Low", bars.low),
    Close: pl.Series("Close", bars.close),
    Volume: pl.Series("Volume", bars.volume),
  });
  df.writeParquet(`${dir}/u.parquet`, { compression: "uncompressed" });
  df.writeParquet(`${dir}/z.parquet`, { compression: "zstd" });
  // The pure-JS codec handles the uncompressed file itself and declines the zstd one.
  assert.notEqual(decodeParquet(await Deno.readFile(`${dir}/u.parquet`)), null);
  assert.equal(decodeParquet(await Deno.readFile(`${dir}/z.parquet`)), null);
  for (const f of ["u.parquet", "z.parquet"]) {
    const { bars: back } = await loadBars(`${dir}/${f}`);
    equalBars(back, bars);
  }
  await Deno.remove(dir, { recursive: true });
});

Deno.test("decodeParquet() detects truncated and damaged files", () => {
  const bytes = writeParquetBytes(generateBars(100, { seed: 1 }));
  assert.throws(() => decodeParquet(bytes.slice(0, bytes.length - 10)), ParquetCorruptError);
  assert.throws(() => decodeParquet(bytes.slice(0, 6)), ParquetCorruptError);
  const bad = bytes.slice();
  // Footer length pointing past the start of the file.
  new DataView(bad.buffer).setUint32(bad.length - 8, bad.length, true);
  assert.throws(() => decodeParquet(bad), /footer length exceeds the file/);
  const garbage = bytes.slice();
  garbage.fill(0xff, 4, 40); // overwrite the first page header
  assert.throws(() => decodeParquet(garbage), ParquetCorruptError);
});

Deno.test("loadBarsFromBytes() reports a corrupt Parquet file as a DataFileError", async () => {
  const bytes = writeParquetBytes(generateBars(10, { seed: 1 }));
  await assert.rejects(
    () => loadBarsFromBytes(bytes.slice(0, 50), "c.parquet"),
    (e: Error) =>
      e instanceof DataFileError && /^c\.parquet: corrupt Parquet file: /.test(e.message),
  );
});

Deno.test("loadBarsFromBytes() validates Parquet rows like CSV rows (row number, repair)", async () => {
  const bars = generateBars(10, { seed: 1 });
  bars.close[4] = NaN;
  const bytes = writeParquetBytes(bars);
  await assert.rejects(
    () => loadBarsFromBytes(bytes.slice(), "n.parquet"),
    /^DataFileError: n\.parquet row 5: close is NaN$/,
  );
  const { bars: back, quality } = await loadBarsFromBytes(bytes.slice(), "n.parquet", {
    repair: true,
  });
  assert.equal(back.length, 9);
  assert.equal(quality.invalidDropped, 1);
});
