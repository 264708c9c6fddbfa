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

/** Throws when a load's bars differ from the generated ones (set once they exist). */
let checkBars: (name: string, b: Bars | null) => void = () => {};

interface Timing {
  ms: number[];
  cpu: number[];
  /** Bytes per bar the load keeps (measured on the first repetition). */
  kept: number;
}

/**
 * Times several loads with their repetitions interleaved (round r runs every load once), after
 * one untimed warm-up round, keeping no result alive between runs. Measured one load after
 * another instead, each later load ran with the earlier loads' last results still held (48 MB
 * each) and during the garbage collection of their temporaries, so the load measured last (the
 * cache read) came out slower and noisier than the same work measured first; a burst of load
 * from another process also hit one load only. Wall time and process CPU time (user + sys) per
 * repetition: on a shared, loaded machine the CPU time is the steadier figure, as waiting for a
 * core does not count in it.
 */
async function timeAll(
  loads: Record<string, () => Promise<Bars | null>>,
): Promise<Record<string, Timing>> {
  const out: Record<string, Timing> = {};
  for (const name of Object.keys(loads)) out[name] = { ms: [], cpu: [], kept: NaN };
  for (let r = 0; r <= REPS; r++) {
    for (const [name, fn] of Object.entries(loads)) {
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      let b = await fn();
      const ms = performance.now() - t0;
      const c = process.cpuUsage(c0);
      if (r === 0) {
        if (b) out[name].kept = bytesPerBar(b);
        checkBars(name, b);
      } else {
        out[name].ms.push(ms);
        out[name].cpu.push((c.user + c.system) / 1000);
      }
      b = null;
    }
  }
  return out;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

try {
  const bars = generateBars(N, { seed: 1, intervalMs: 60_000, startTime: Date.UTC(2022, 0, 1) });
  const csvPath = `${dir}/bars.csv`;
  await Deno.writeTextFile(csvPath, writeCsv(bars, { time: "ms" }));
  const isoPath = `${dir}/bars_iso.csv`;
  await Deno.writeTextFile(isoPath, writeCsv(bars));
  checkBars = (name, b) => {
    if (
      b && (b.length !== N || b.close[N - 1] !== bars.close[N - 1] ||
        b.high[N >> 1] !== bars.high[N >> 1])
    ) {
      throw new Error(`benchmark load ${name} returned different bars`);
    }
  };
  const cache = new ParquetFileCache(dir);
  await cache.write(key, { bars, coverage: [], fetchedAt: 0 });
  const pqPath = cache.locate(key);
  const size = (p: string) => (Deno.statSync(p).size / 1e6).toFixed(1) + " MB";
  console.log(
    `${N.toLocaleString("en")} bars; CSV ${size(csvPath)} (epoch ms), ISO CSV ${
      size(isoPath)
    }, Parquet ${size(pqPath)}`,
  );

  const pl = await loadPolars();
  const loads: Record<string, () => Promise<Bars | null>> = {
    csv: async () => (await loadBars(csvPath)).bars,
    iso: async () => (await loadBars(isoPath)).bars,
    pqFile: async () => (await loadBars(pqPath)).bars,
    pqCache: async () => (await cache.read(key))!.bars,
  };
  if (pl) {
    loads.polars = () => {
      const df = pl.readParquet(pqPath);
      for (const c of df.columns) df.getColumn(c).cast(pl.Float64).toTypedArray();
      return Promise.resolve(null);
    };
  }
  const t = await timeAll(loads);
  const { csv, iso, pqFile, pqCache } = t;
  const polars = t.polars ?? null;
  const row = (name: string, r: Timing, extra = "") =>
    console.log(
      `${name.padEnd(38)} wall median ${median(r.ms).toFixed(1).padStart(7)} ms, min ${
        Math.min(...r.ms).toFixed(1).padStart(7)
      } ms; cpu median ${median(r.cpu).toFixed(1).padStart(7)} ms; ${
        (N / (median(r.ms) / 1000) / 1e6).toFixed(2).padStart(6)
      } M bars/s; ${extra}`,
    );
  row("CSV (epoch ms) → loadBars", csv, `${csv.kept.toFixed(1)} B/bar kept`);
  row("CSV (ISO dates) → loadBars", iso, `${iso.kept.toFixed(1)} B/bar kept`);
  row("Parquet file → loadBars", pqFile, `${pqFile.kept.toFixed(1)} B/bar kept`);
  row(
    "Parquet cache → ParquetFileCache.read",
    pqCache,
    `${pqCache.kept.toFixed(1)} B/bar kept`,
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
