/**
 * Market data benchmark: loading 1,000,000 one-minute bars from the Parquet cache vs from
 * CSV, measured in the same run (targets: Parquet ≥ 5× faster than CSV and < 300 ms), plus
 * nodejs-polars reading the same file for reference and the memory each load keeps per bar.
 *
 * Run: `deno task bench market` (or `deno run -A bench/market_bench.ts [bars]`).
 *
 * @module
 */
import process from "node:process";
import type { Bars } from "../engine/types.ts";
import { loadBars } from "../market/load_bars.ts";
import { ParquetFileCache } from "../market/parquet_cache.ts";
import { loadPolars } from "../market/polars_loader.ts";
import { generateBars, writeCsv } from "../market/sample_data.ts";

const N = Number(Deno.args[0] ?? 1_000_000);
const REPS = 5;
const dir = await Deno.makeTempDir({ prefix: "wagyu-market-bench-" });
const key = { exchange: "bench", symbol: "SAMPLE/USD", timeframe: "1m" };

function bytesPerBar(b: Bars): number {
  const bufs = new Set<ArrayBufferLike>();
  let total = 0;
  for (const a of [b.timestamp, b.open, b.high, b.low, b.close, b.volume]) {
    if (!bufs.has(a.buffer)) {
      bufs.add(a.buffer);
      total += a.buffer.byteLength;
    }
  }
  return total / b.length;
}

/** Wall time and process CPU time (user + sys) per repetition: on a shared, loaded machine
 * the CPU time is the steadier figure, as waiting for a core does not count in it. */
async function time<T>(fn: () => Promise<T>): Promise<{ ms: number[]; cpu: number[]; last: T }> {
  const ms: number[] = [], cpu: number[] = [];
  let last!: T;
  for (let i = 0; i < REPS; i++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    last = await fn();
    ms.push(performance.now() - t0);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1000);
  }
  return { ms, cpu, last };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

try {
  const bars = generateBars(N, { seed: 1, intervalMs: 60_000, startTime: Date.UTC(2022, 0, 1) });
  const csvPath = `${dir}/bars.csv`;
  await Deno.writeTextFile(csvPath, writeCsv(bars, { time: "ms" }));
  const isoPath = `${dir}/bars_iso.csv`;
  await Deno.writeTextFile(isoPath, writeCsv(bars));
  const cache = new ParquetFileCache(dir);
  await cache.write(key, { bars, coverage: [], fetchedAt: 0 });
  const pqPath = cache.locate(key);
  const size = (p: string) => (Deno.statSync(p).size / 1e6).toFixed(1) + " MB";
  console.log(
    `${N.toLocaleString("en")} bars; CSV ${size(csvPath)} (epoch ms), ISO CSV ${
      size(isoPath)
    }, Parquet ${size(pqPath)}`,
  );

  const csv = await time(() => loadBars(csvPath));
  const iso = await time(() => loadBars(isoPath));
  const pqFile = await time(() => loadBars(pqPath));
  const pqCache = await time(() => cache.read(key));
  const check = pqCache.last!.bars;
  if (
    check.length !== N || check.close[N - 1] !== bars.close[N - 1] ||
    csv.last.bars.high[N >> 1] !== bars.high[N >> 1]
  ) {
    throw new Error("benchmark loads returned different bars");
  }
  const pl = await loadPolars();
  let polars: { ms: number[]; cpu: number[] } | null = null;
  if (pl) {
    const r = await time(() => {
      const df = pl.readParquet(pqPath);
      const cols = df.columns.map((c: string) => df.getColumn(c).cast(pl.Float64).toTypedArray());
      return Promise.resolve(cols.length);
    });
    polars = r;
  }
  const row = (name: string, r: { ms: number[]; cpu: number[] }, extra = "") =>
    console.log(
      `${name.padEnd(38)} wall median ${median(r.ms).toFixed(1).padStart(7)} ms, min ${
        Math.min(...r.ms).toFixed(1).padStart(7)
      } ms; cpu median ${median(r.cpu).toFixed(1).padStart(7)} ms; ${
        (N / (median(r.ms) / 1000) / 1e6).toFixed(2).padStart(6)
      } M bars/s; ${extra}`,
    );
  row("CSV (epoch ms) → loadBars", csv, `${bytesPerBar(csv.last.bars).toFixed(1)} B/bar kept`);
  row("CSV (ISO dates) → loadBars", iso, `${bytesPerBar(iso.last.bars).toFixed(1)} B/bar kept`);
  row("Parquet file → loadBars", pqFile, `${bytesPerBar(pqFile.last.bars).toFixed(1)} B/bar kept`);
  row(
    "Parquet cache → ParquetFileCache.read",
    pqCache,
    `${bytesPerBar(check).toFixed(1)} B/bar kept`,
  );
  if (polars) row("nodejs-polars read + toTypedArray", polars, "(reference)");
  const ratio = median(csv.ms) / median(pqCache.ms);
  const cpuRatio = median(csv.cpu) / median(pqCache.cpu);
  const pqMs = median(pqCache.ms);
  console.log(
    `Parquet cache vs CSV: ${ratio.toFixed(1)}× faster wall, ${
      cpuRatio.toFixed(1)
    }× cpu (target ≥ 5×: ${ratio >= 5 ? "met" : "NOT met"}); Parquet ${pqMs.toFixed(0)} ms wall, ${
      median(pqCache.cpu).toFixed(0)
    } ms cpu for ${N.toLocaleString("en")} bars (target < 300 ms: ${
      pqMs < 300 ? "met" : "NOT met"
    })`,
  );
} finally {
  await Deno.remove(dir, { recursive: true });
}
