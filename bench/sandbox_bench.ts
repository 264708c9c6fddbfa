/**
 * Sandbox overhead for the SMA cross example: sandboxed time minus in-process time, split into
 * a fixed start-up cost (measured on a 10-bar series: process spawn, Worker, engine load,
 * hardening) and a per-bar ratio on 1M bars:
 *
 *   perBarOverhead = (sandboxed(1M) − startup − inProcess(1M)) / inProcess(1M)
 *
 * Target: under 10 % per bar. Each figure is the median of several alternating runs, so the
 * two sides see the same machine load. `deno task bench sandbox` runs only this file.
 *
 * @module
 */
import { runBacktest } from "../engine/backtest.ts";
import type { BacktestResult } from "../engine/types.ts";
import { transpileStrategy } from "../jobs/compile.ts";
import { runInSandbox } from "../jobs/sandbox.ts";
import { generateBars } from "../market/sample_data.ts";

const N = Number(Deno.args[0] ?? 1_000_000);
const RUNS = Number(Deno.args[1] ?? 5);
const file = new URL("../examples/sma_cross.ts", import.meta.url);
const code = await Deno.readTextFile(file);
const { default: SmaCross } = await import(file.href);
const params = { fast: 10, slow: 30 };

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function time<T>(f: () => T | Promise<T>): Promise<[number, T]> {
  const t0 = performance.now();
  const r = await f();
  return [performance.now() - t0, r];
}

async function measure(n: number, runs: number) {
  const bars = generateBars(n, { seed: 7, intervalMs: 60_000 });
  const inProc: number[] = [];
  const sandboxed: number[] = [];
  let a: BacktestResult | null = null, b: BacktestResult | null = null;
  for (let i = 0; i < runs; i++) {
    const [ti, ri] = await time(() => runBacktest(bars, SmaCross, { params }));
    const [ts, rs] = await time(() =>
      runInSandbox({ code, bars, params }, { limits: { timeoutMs: 600_000 } })
    );
    inProc.push(ti);
    sandboxed.push(ts);
    a = ri;
    b = rs;
  }
  // Same answer both ways (JSON: what the API serves).
  if (JSON.stringify(a) !== JSON.stringify(b)) throw new Error(`Results differ at n=${n}`);
  return { inProc: median(inProc), sandboxed: median(sandboxed), trades: a!.trades.length };
}

// Warm-up: loads the TypeScript compiler and fills Deno's transpile cache for the engine.
await transpileStrategy(code);
await measure(10, 1);

const tiny = await measure(10, RUNS * 2);
const startup = tiny.sandboxed - tiny.inProc;
const big = await measure(N, RUNS);
const perBar = (big.sandboxed - startup - big.inProc) / big.inProc;

console.log(`SMA cross (fast=${params.fast}, slow=${params.slow}), medians of alternating runs`);
console.log(
  `  10 bars: in-process ${tiny.inProc.toFixed(1)} ms, sandboxed ${
    tiny.sandboxed.toFixed(1)
  } ms → fixed start-up cost ${startup.toFixed(1)} ms`,
);
console.log(
  `  ${N} bars (${big.trades} trades): in-process ${big.inProc.toFixed(1)} ms (${
    (big.inProc / N * 1e6).toFixed(0)
  } ns/bar), sandboxed ${big.sandboxed.toFixed(1)} ms`,
);
console.log(
  `  per-bar overhead = (sandboxed − start-up − in-process) / in-process = ${
    (perBar * 100).toFixed(1)
  } % (target < 10 %)`,
);
