/**
 * Engine throughput on 1,000,000 generated bars (seeded PRNG), side by side in one run:
 *
 * - an SMA-cross signal strategy through the full engine (data view, ctx, signals → orders →
 *   fills → portfolio → equity curve, metrics), two ways: `examples/sma_cross.ts` (ctx.ta) and
 *   a lean strategy keeping its own rolling sums;
 * - a hand-written typed-array loop of the same strategy and fill rules (the floor);
 * - bytes per bar of loaded data and of the engine's working arrays;
 * - time to first result for a 1M-bar CSV: load + run, in process and through the CLI.
 *
 * Wall times are the best of several runs after a warm-up (this machine is shared, so the
 * median is printed too). `deno task bench engine`; `deno run -A bench/engine_bench.ts --no-io`
 * skips the CSV and CLI part.
 *
 * @module
 */
import process from "node:process";
import { allocateBars } from "../engine/bars.ts";
import { runBacktest } from "../engine/backtest.ts";
import type { Bars, DataView, StrategyContext } from "../engine/types.ts";
import SmaCross from "../examples/sma_cross.ts";
import { loadBars } from "../market/load_bars.ts";

const N = 1_000_000;
const FAST = 10, SLOW = 30, FEE = 0.0001, CASH = 10_000;

/** mulberry32: a small seeded PRNG, so every run benchmarks the same bars. */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A random walk of minute bars (24/7), prices rounded to cents as a CSV would hold them. */
function generate(n: number, seed = 42): Bars {
  const rnd = prng(seed);
  const b = allocateBars(n);
  const t0 = Date.UTC(2020, 0, 1);
  let p = 100;
  for (let i = 0; i < n; i++) {
    const o = Math.round(p * 100) / 100;
    p = Math.max(1, p * (1 + (rnd() - 0.5) * 0.004));
    const c = Math.round(p * 100) / 100;
    b.timestamp[i] = t0 + i * 60_000;
    b.open[i] = o;
    b.close[i] = c;
    b.high[i] = Math.round(Math.max(o, c) * (1 + rnd() * 0.001) * 100) / 100;
    b.low[i] = Math.round(Math.min(o, c) * (1 - rnd() * 0.001) * 100) / 100;
    b.volume[i] = 100 + Math.floor(rnd() * 1000);
  }
  return b;
}

/** SMA cross with its own rolling sums; reads the current close from `data.close`. */
class LeanSmaCross {
  params = { fast: FAST, slow: SLOW };
  #fast = FAST;
  #slow = SLOW;
  #ring = new Float64Array(SLOW);
  #i = 0;
  #sf = 0;
  #ss = 0;
  Initialize(ctx: StrategyContext): void {
    this.#fast = Number(ctx.params.fast);
    this.#slow = Number(ctx.params.slow);
    this.#ring = new Float64Array(this.#slow);
  }
  OnData(data: DataView, _ctx: StrategyContext): number {
    const x = data.close[data.length - 1];
    const i = this.#i++, ring = this.#ring, fast = this.#fast, slow = this.#slow;
    this.#sf += x;
    this.#ss += x;
    if (i >= fast) this.#sf -= ring[(i - fast) % slow];
    if (i >= slow) this.#ss -= ring[i % slow];
    ring[i % slow] = x;
    if (i < slow - 1) return 0;
    const f = this.#sf / fast, s = this.#ss / slow;
    return f > s ? 1 : f < s ? -1 : 0;
  }
}

/** The same strategy reading the current close through `data.bar` instead of `data.close`. */
class LeanBarSmaCross {
  params = { fast: FAST, slow: SLOW };
  #fast = FAST;
  #slow = SLOW;
  #ring = new Float64Array(SLOW);
  #i = 0;
  #sf = 0;
  #ss = 0;
  Initialize(ctx: StrategyContext): void {
    this.#fast = Number(ctx.params.fast);
    this.#slow = Number(ctx.params.slow);
    this.#ring = new Float64Array(this.#slow);
  }
  OnData(data: DataView, _ctx: StrategyContext): number {
    const x = data.bar.close;
    const i = this.#i++, ring = this.#ring, fast = this.#fast, slow = this.#slow;
    this.#sf += x;
    this.#ss += x;
    if (i >= fast) this.#sf -= ring[(i - fast) % slow];
    if (i >= slow) this.#ss -= ring[i % slow];
    ring[i % slow] = x;
    if (i < slow - 1) return 0;
    const f = this.#sf / fast, s = this.#ss / slow;
    return f > s ? 1 : f < s ? -1 : 0;
  }
}

/**
 * The same strategy and fill rules (long_only, next-open fills, fraction-1 sizing, taker fee)
 * as one typed-array loop: the floor the engine is compared with.
 */
function plainLoop(b: Bars, fast: number, slow: number): { equity: Float64Array; trades: number } {
  const n = b.length, open = b.open, close = b.close;
  const equity = new Float64Array(n);
  const ring = new Float64Array(slow);
  let sf = 0, ss = 0, cash = CASH, q = 0, target = 0, pending = -1, trades = 0;
  for (let t = 0; t < n; t++) {
    if (pending >= 0) {
      const p = open[t];
      if (pending === 1) {
        q = cash / (p * (1 + FEE));
        cash -= q * p * (1 + FEE);
      } else {
        cash += q * p * (1 - FEE);
        q = 0;
        trades++;
      }
      pending = -1;
    }
    const x = close[t];
    sf += x;
    ss += x;
    if (t >= fast) sf -= ring[(t - fast) % slow];
    if (t >= slow) ss -= ring[t % slow];
    ring[t % slow] = x;
    if (t >= slow - 1) {
      const f = sf / fast, s = ss / slow;
      const next = f > s ? 1 : f < s ? 0 : target;
      if (next !== target) {
        target = next;
        pending = next;
      }
    }
    equity[t] = cash + q * close[t];
  }
  return { equity, trades: trades + (q !== 0 ? 1 : 0) };
}

interface Timing {
  /** Best wall time (ms). */
  best: number;
  median: number;
  /** Best CPU time of this process (user + system, all threads incl. GC), ms. */
  cpu: number;
  /** Minor page faults per run (on these VMs a fresh page costs ~20–50 µs: 8 MB ≈ 40+ ms). */
  faults: number;
}

function time(runs: number, f: () => void): Timing {
  const ms: number[] = [], cpu: number[] = [];
  const f0 = process.resourceUsage().minorPageFault;
  for (let i = 0; i < runs; i++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    f();
    ms.push(performance.now() - t0);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1000);
  }
  const faults = (process.resourceUsage().minorPageFault - f0) / runs;
  ms.sort((a, b) => a - b);
  cpu.sort((a, b) => a - b);
  return { best: ms[0], median: ms[Math.floor(ms.length / 2)], cpu: cpu[0], faults };
}

const mbars = (ms: number, bars = N) => (bars / ms / 1000).toFixed(1);
const load = () => Deno.loadavg().map((x) => x.toFixed(2)).join(" ");

console.log(
  `Generating ${N.toLocaleString("en-US")} bars (seed 42)… ` +
    `(load average ${load()}, ${navigator.hardwareConcurrency} cores)`,
);
const bars = generate(N);
const loadedBytes = [bars.timestamp, bars.open, bars.high, bars.low, bars.close, bars.volume]
  .reduce((s, a) => s + a.byteLength, 0);

// Warm-up on a smaller series so every path is optimized before timing.
const warm = generate(100_000, 7);
for (let i = 0; i < 5; i++) {
  runBacktest(warm, LeanSmaCross, { config: { feeTaker: FEE } });
  runBacktest(warm, LeanBarSmaCross, { config: { feeTaker: FEE }, metrics: false });
  runBacktest(warm, SmaCross, { config: { feeTaker: FEE } });
  plainLoop(warm, FAST, SLOW);
}

const cfg = { config: { cash: CASH, feeTaker: FEE } };
const ref = plainLoop(bars, FAST, SLOW);
const lean = runBacktest(bars, LeanSmaCross, cfg);
const example = runBacktest(bars, SmaCross, cfg);
const refFinal = ref.equity[N - 1];
const leanFinal = lean.metrics.finalEquity!;
const same = Math.abs(leanFinal - refFinal) <= 1e-9 * Math.abs(refFinal) &&
  lean.trades.length === ref.trades;

const RUNS = 9;
const tPlain = time(RUNS, () => plainLoop(bars, FAST, SLOW));
const tExample = time(RUNS, () => runBacktest(bars, SmaCross, { ...cfg, metrics: false }));
const tLeanNoMetrics = time(
  RUNS,
  () => runBacktest(bars, LeanSmaCross, { ...cfg, metrics: false }),
);
const tLeanBar = time(RUNS, () => runBacktest(bars, LeanBarSmaCross, { ...cfg, metrics: false }));
const tLean = time(RUNS, () => runBacktest(bars, LeanSmaCross, cfg));
const tExampleFull = time(RUNS, () => runBacktest(bars, SmaCross, cfg));
const loadAfter = load();

// Working memory of one run: the visible columns the strategy reads (here close: 8 B/bar) +
// the equity curve (8 B/bar) + orders and trades.
const mem0 = Deno.memoryUsage();
const held = runBacktest(bars, LeanSmaCross, { ...cfg, metrics: false });
const mem1 = Deno.memoryUsage();
const workBytes = (mem1.external + mem1.heapUsed) - (mem0.external + mem0.heapUsed);

const HEAD = `  ${"".padEnd(58)} ${"best".padStart(13)} ${"median".padStart(13)} ${
  "×plain".padStart(7)
}`;
const row = (label: string, t: Timing, plain = tPlain, n = N) =>
  console.log(
    `  ${label.padEnd(58)} ${(mbars(t.best, n) + " M/s").padStart(13)} ${
      (mbars(t.median, n) + " M/s").padStart(13)
    } ${((t.best / plain.best).toFixed(1) + "×").padStart(7)}   ` +
      `(${t.best.toFixed(1)} / ${t.median.toFixed(1)} ms, ${t.cpu.toFixed(0)} ms CPU, ` +
      `${t.faults.toFixed(0)} page faults/run)`,
  );
console.log(
  `\nSMA cross ${FAST}/${SLOW} on ${N.toLocaleString("en-US")} bars, taker fee ${FEE}, ` +
    `${lean.trades.length} trades; bars per second (best and median of ${RUNS} runs) and ` +
    `ratio to the plain loop (best wall). Targets: ≥ 20 M bars/s, ≤ 10× the plain loop. ` +
    `Load average ${loadAfter} after timing.`,
);
console.log(HEAD);
row("HEADLINE engine, examples/sma_cross.ts (ctx.ta), no metrics", tExample);
row("HEADLINE engine, lean strategy via data.close, no metrics", tLeanNoMetrics);
row("engine, lean strategy via data.bar, no metrics", tLeanBar);
row("engine, lean strategy via data.close, full result+metrics", tLean);
row("engine, examples/sma_cross.ts (ctx.ta), full result+metrics", tExampleFull);
row("hand-written typed-array loop (the floor)", tPlain);
console.log(
  `  same final equity and trades as the plain loop: ${same} ` +
    `(${leanFinal.toFixed(6)} vs ${refFinal.toFixed(6)}; example strategy: ${
      example.metrics.finalEquity!.toFixed(6)
    })`,
);
// The engine's cost grows with the number of orders; a slower cross trades ~5× less.
{
  const params = { fast: 50, slow: 200 };
  const slowCfg = { ...cfg, params, metrics: false };
  const r = runBacktest(bars, LeanBarSmaCross, slowCfg);
  const p = plainLoop(bars, 50, 200);
  const tE = time(RUNS, () => runBacktest(bars, LeanBarSmaCross, slowCfg));
  const tC = time(RUNS, () => runBacktest(bars, LeanSmaCross, slowCfg));
  const tP = time(RUNS, () => plainLoop(bars, 50, 200));
  console.log(`\nSMA cross 50/200, ${r.trades.length} trades (plain loop: ${p.trades})`);
  console.log(HEAD);
  row("engine, lean strategy via data.bar, no metrics", tE, tP);
  row("engine, lean strategy via data.close, no metrics", tC, tP);
  row("hand-written typed-array loop", tP, tP);
}
// Fixed cost per run, as an optimizer sweep pays it: many runs over the same bars.
{
  const M = 200_000, RUNS_SWEEP = 50;
  const b = bars.length === M ? bars : {
    length: M,
    timestamp: bars.timestamp.subarray(0, M),
    open: bars.open.subarray(0, M),
    high: bars.high.subarray(0, M),
    low: bars.low.subarray(0, M),
    close: bars.close.subarray(0, M),
    volume: bars.volume.subarray(0, M),
  };
  const sweep = (opts: Record<string, unknown>) => () => {
    for (let i = 0; i < RUNS_SWEEP; i++) {
      runBacktest(b, LeanSmaCross, { ...cfg, params: { fast: 5 + i % 10, slow: 30 }, ...opts });
    }
  };
  const tS = time(3, sweep({ metrics: false }));
  const tSv = time(3, sweep({ metrics: false, validate: false }));
  const tSe = time(
    3,
    sweep({ metrics: false, validate: false, equityBuffer: new Float64Array(M) }),
  );
  const tSm = time(3, sweep({}));
  const per = (t: Timing) =>
    `${(t.best / RUNS_SWEEP).toFixed(2)} ms/run (${mbars(t.best / RUNS_SWEEP, M)} M bars/s), ${
      (t.faults / RUNS_SWEEP).toFixed(0)
    } page faults/run`;
  console.log(
    `\nSweep: ${RUNS_SWEEP} runs of runBacktest on the same ${M.toLocaleString("en-US")} bars`,
  );
  console.log(`  data.close, no metrics:                     ${per(tS)}`);
  console.log(`  data.close, no metrics, validate: false:    ${per(tSv)}`);
  console.log(`  data.close, no metrics, + equityBuffer:      ${per(tSe)}`);
  console.log(`  data.close, full result with metrics:       ${per(tSm)}`);
}
console.log(`  loaded data: ${(loadedBytes / N).toFixed(1)} bytes/bar (6 Float64Array columns)`);
console.log(
  `  engine working memory of one run: ${
    workBytes > 0 ? (workBytes / N).toFixed(1) : "n/a (a GC ran during the run)"
  } bytes/bar ` +
    `(heap+external growth, result held; equity = 8, plus orders/trades; the strategy's ` +
    `columns are reused from a pool)`,
);
void held;

// Time to first result: a 1M-bar CSV loaded and run (`--no-io` skips it).
if (!Deno.args.includes("--no-io")) {
  // Time to first result: a 1M-bar CSV loaded and run.
  const dir = await Deno.makeTempDir();
  const csv = `${dir}/bench_1m.csv`;
  {
    const lines = ["timestamp,open,high,low,close,volume"];
    for (let i = 0; i < N; i++) {
      lines.push(
        `${bars.timestamp[i]},${bars.open[i]},${bars.high[i]},${bars.low[i]},${bars.close[i]},${
          bars.volume[i]
        }`,
      );
    }
    await Deno.writeTextFile(csv, lines.join("\n") + "\n");
  }
  const sizeMb = (await Deno.stat(csv)).size / 1e6;
  const t0 = performance.now();
  const loaded = await loadBars(csv);
  const t1 = performance.now();
  const first = runBacktest(loaded.bars, SmaCross, cfg);
  const t2 = performance.now();
  console.log(
    `\nTime to first result, 1M-bar CSV (${sizeMb.toFixed(1)} MB), in process: ` +
      `${(t2 - t0).toFixed(0)} ms (load ${(t1 - t0).toFixed(0)} ms + run ${
        (t2 - t1).toFixed(0)
      } ms, ` +
      `finalEquity ${first.metrics.finalEquity!.toFixed(2)})`,
  );
  const root = new URL("../", import.meta.url);
  for (const mode of ["--trusted", null]) {
    const c0 = performance.now();
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        new URL("cli/backtest.ts", root).pathname,
        csv,
        new URL("examples/sma_cross.ts", root).pathname,
        "--fee-taker",
        String(FEE),
        ...(mode === null ? [] : [mode]),
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const c1 = performance.now();
    console.log(
      `Time to first result through the CLI (${mode ?? "sandbox"}): ${(c1 - c0).toFixed(0)} ms ` +
        `wall, exit ${out.code}${
          out.code === 0
            ? ""
            : ": " + new TextDecoder().decode(out.stderr).trim().split("\n").at(-1)
        }`,
    );
  }
  await Deno.remove(dir, { recursive: true });
}
