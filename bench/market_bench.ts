/**
 * Market data benchmark: loading 1,000,000 one-minute bars from the Parquet cache vs from
 * CSV, measured in the same run (targets: Parquet ≥ 5× faster than CSV and < 300 ms), plus
 * the memory each load keeps per bar. The cache's two file backends are both measured:
 * files written by nodejs-polars (the primary backend) and by the pure-JS codec (the
 * fallback), each read by the pure-JS codec and by nodejs-polars; the headline ratio is
 * the cache as `openCache()` configures it here (nodejs-polars writes, the faster reader
 * reads). Every load is measured with and without huge-page advice for its large buffers
 * (market/huge_pages.ts), since on these VMs first-touch page faults dominate.
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
import { hugePagesAvailable, setHugePages } from "../market/huge_pages.ts";
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
  const pl = await loadPolars();
  const size = (p: string) => (Deno.statSync(p).size / 1e6).toFixed(1) + " MB";
  const entry = { bars, coverage: [], fetchedAt: 0 };
  const jsDir = `${dir}/js`, plDir = `${dir}/pl`;
  const jsCache = new ParquetFileCache(jsDir, { writer: "pure-js", reader: "pure-js" });
  let w0 = performance.now();
  await jsCache.write(key, entry);
  const jsWriteMs = performance.now() - w0;
  const pqPath = jsCache.locate(key);
  console.log(
    `${N.toLocaleString("en")} bars; CSV ${size(csvPath)} (epoch ms), ISO CSV ${
      size(isoPath)
    }, Parquet (pure-JS) ${size(pqPath)}; huge-page advice ${
      hugePagesAvailable() ? "available" : "NOT available (no FFI or not Linux)"
    }; uptime load ${Deno.loadavg().map((x) => x.toFixed(2)).join(" ")}`,
  );
  console.log(`cache write, pure-JS codec: ${jsWriteMs.toFixed(0)} ms`);
  const loads: Record<string, () => Promise<Bars | null>> = {
    csv: async () => (await loadBars(csvPath)).bars,
    iso: async () => (await loadBars(isoPath)).bars,
    pqFile: async () => (await loadBars(pqPath)).bars,
    jsCache: async () => (await jsCache.read(key))!.bars,
  };
  if (pl) {
    const plWriter = new ParquetFileCache(plDir, { writer: "nodejs-polars" });
    w0 = performance.now();
    await plWriter.write(key, entry);
    console.log(
      `cache write, nodejs-polars: ${(performance.now() - w0).toFixed(0)} ms (${
        size(plWriter.locate(key))
      })`,
    );
    const plByJs = new ParquetFileCache(plDir, { reader: "pure-js" });
    const plByPl = new ParquetFileCache(plDir, { reader: "nodejs-polars" });
    const jsByPl = new ParquetFileCache(jsDir, { reader: "nodejs-polars" });
    loads.plCacheJs = async () => (await plByJs.read(key))!.bars;
    loads.plCachePl = async () => (await plByPl.read(key))!.bars;
    loads.jsCachePl = async () => (await jsByPl.read(key))!.bars;
  }
  const huge = hugePagesAvailable();
  const t = await timeAll(loads);
  let plain: Record<string, Timing> | null = null;
  if (huge) {
    setHugePages(false);
    plain = await timeAll(loads);
    setHugePages(true);
  }
  const row = (name: string, r: Timing, extra = "") =>
    console.log(
      `${name.padEnd(52)} wall median ${median(r.ms).toFixed(1).padStart(7)} ms, min ${
        Math.min(...r.ms).toFixed(1).padStart(7)
      } ms; cpu median ${median(r.cpu).toFixed(1).padStart(7)} ms; ${
        (N / (median(r.ms) / 1000) / 1e6).toFixed(2).padStart(6)
      } M bars/s; ${r.kept.toFixed(1)} B/bar kept${extra}`,
    );
  const labels: Record<string, string> = {
    csv: "CSV (epoch ms) → loadBars",
    iso: "CSV (ISO dates) → loadBars",
    pqFile: "Parquet file (pure-JS written) → loadBars",
    jsCache: "cache, pure-JS written, pure-JS read",
    plCacheJs: "cache, nodejs-polars written, pure-JS read",
    plCachePl: "cache, nodejs-polars written, nodejs-polars read",
    jsCachePl: "cache, pure-JS written, nodejs-polars read",
  };
  const report = (title: string, res: Record<string, Timing>) => {
    console.log(title);
    for (const [k, r] of Object.entries(res)) row(labels[k] ?? k, r);
    // The headline: the cache as openCache() sets it up here (nodejs-polars writes when it
    // loads; reads use the pure-JS codec, measured faster on both writers' files).
    const headKey = res.plCacheJs ? "plCacheJs" : "jsCache";
    const head = res[headKey];
    const ratio = median(res.csv.ms) / median(head.ms);
    const cpuRatio = median(res.csv.cpu) / median(head.cpu);
    const best = Math.min(...res.csv.ms) / Math.min(...head.ms);
    const pqMs = median(head.ms);
    console.log(
      `  Parquet cache (${labels[headKey]}) vs CSV: ${ratio.toFixed(1)}× faster wall median (${
        best.toFixed(1)
      }× best), ${cpuRatio.toFixed(1)}× cpu (target ≥ 5×: ${
        ratio >= 5 ? "met" : "NOT met"
      }); Parquet ${pqMs.toFixed(0)} ms wall, ${median(head.cpu).toFixed(0)} ms cpu for ${
        N.toLocaleString("en")
      } bars (target < 300 ms: ${pqMs < 300 ? "met" : "NOT met"})`,
    );
  };
  report(huge ? "With huge-page advice (the default here):" : "Plain buffers:", t);
  if (plain) report("Without huge-page advice (WAGYU_NO_HUGEPAGES=1):", plain);
} finally {
  await Deno.remove(dir, { recursive: true });
}
