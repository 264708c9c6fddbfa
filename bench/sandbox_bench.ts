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

/**
 * CPU milliseconds used by this process and its reaped children (user + system), from
 * /proc/self/stat: on a busy machine this is steadier than wall-clock time, and it counts the
 * sandbox subprocess (reaped before runInSandbox returns).
 */
function cpuMs(): number {
  const stat = Deno.readTextFileSync("/proc/self/stat");
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // Fields 14-17 of stat(5) (utime, stime, cutime, cstime) are 11-14 after the ")".
  return (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) * 10;
}

async function time<T>(f: () => T | Promise<T>): Promise<[number, number, T]> {
  const c0 = cpuMs();
  const t0 = performance.now();
  const r = await f();
  return [performance.now() - t0, cpuMs() - c0, r];
}

async function measure(n: number, runs: number) {
  const bars = generateBars(n, { seed: 7, intervalMs: 60_000 });
  const inProc: number[] = [], inProcCpu: number[] = [];
  const sandboxed: number[] = [], sandboxedCpu: number[] = [];
  let a: BacktestResult | null = null, b: BacktestResult | null = null;
  for (let i = 0; i < runs; i++) {
    const [ti, ci, ri] = await time(() => runBacktest(bars, SmaCross, { params }));
    const [ts, cs, rs] = await time(() =>
      runInSandbox({ code, bars, params }, { limits: { timeoutMs: 600_000 } })
    );
    inProc.push(ti);
    inProcCpu.push(ci);
    sandboxed.push(ts);
    sandboxedCpu.push(cs);
    a = ri;
    b = rs;
  }
  // Same answer both ways (JSON: what the API serves).
  if (JSON.stringify(a) !== JSON.stringify(b)) throw new Error(`Results differ at n=${n}`);
  return {
    inProc: median(inProc),
    sandboxed: median(sandboxed),
    inProcCpu: median(inProcCpu),
    sandboxedCpu: median(sandboxedCpu),
    trades: a!.trades.length,
  };
}

// Warm-up: loads the TypeScript compiler and fills Deno's transpile cache for the engine.
await transpileStrategy(code);
await measure(10, 1);

/**
 * The in-process run timed in a brand-new isolate (a Worker that runs it once): the sandbox
 * always runs in a fresh isolate, and V8's first run of the engine in an isolate (JIT
 * compilation, heap growth) costs far more than a warm repeat, so this separates the cost of
 * isolation from the cost of a cold start.
 */
async function coldInProcess(n: number): Promise<number> {
  const src = `
    import { runBacktest } from ${
    JSON.stringify(new URL("../engine/backtest.ts", import.meta.url).href)
  };
    import { generateBars } from ${
    JSON.stringify(new URL("../market/sample_data.ts", import.meta.url).href)
  };
    import S from ${JSON.stringify(file.href)};
    const bars = generateBars(${n}, { seed: 7, intervalMs: 60_000 });
    const t0 = performance.now();
    runBacktest(bars, S, { params: ${JSON.stringify(params)} });
    postMessage(performance.now() - t0);`;
  const w = new Worker(`data:text/javascript,${encodeURIComponent(src)}`, { type: "module" });
  try {
    return await new Promise<number>((resolve, reject) => {
      w.onmessage = (e) => resolve(e.data);
      w.onerror = (e) => reject(new Error(e.message));
    });
  } finally {
    w.terminate();
  }
}

const load0 = Deno.loadavg()[0];
const tiny = await measure(10, RUNS * 2);
const big = await measure(N, RUNS);
const colds: number[] = [];
for (let i = 0; i < RUNS; i++) colds.push(await coldInProcess(N));
const cold = median(colds);
const load1 = Deno.loadavg()[0];

function report(label: string, unit: "wall" | "cpu") {
  const k = unit === "wall" ? "" : "Cpu";
  const get = (m: typeof tiny, side: "inProc" | "sandboxed") =>
    m[(side + k) as "inProc" | "inProcCpu" | "sandboxed" | "sandboxedCpu"];
  const startup = get(tiny, "sandboxed") - get(tiny, "inProc");
  const perBar = (get(big, "sandboxed") - startup - get(big, "inProc")) / get(big, "inProc");
  console.log(`${label}:`);
  console.log(
    `  10 bars: in-process ${get(tiny, "inProc").toFixed(1)} ms, sandboxed ${
      get(tiny, "sandboxed").toFixed(1)
    } ms → fixed start-up cost ${startup.toFixed(1)} ms`,
  );
  console.log(
    `  ${N} bars (${big.trades} trades): in-process ${get(big, "inProc").toFixed(1)} ms (${
      (get(big, "inProc") / N * 1e6).toFixed(0)
    } ns/bar), sandboxed ${get(big, "sandboxed").toFixed(1)} ms`,
  );
  console.log(
    `  per-bar overhead = (sandboxed − start-up − in-process) / in-process = ${
      (perBar * 100).toFixed(1)
    } % (target < 10 %)`,
  );
}

console.log(
  `SMA cross (fast=${params.fast}, slow=${params.slow}), medians of ${RUNS} alternating runs ` +
    `(load average ${load0.toFixed(1)} → ${
      load1.toFixed(1)
    } on ${navigator.hardwareConcurrency} CPUs)`,
);
report("Wall clock", "wall");
{
  const startup = tiny.sandboxed - tiny.inProc;
  console.log(
    `  against a cold in-process run (first run in a fresh isolate: ${cold.toFixed(1)} ms): ${
      ((big.sandboxed - startup - cold) / cold * 100).toFixed(1)
    } % per bar`,
  );
}
report("CPU time (process + sandbox subprocess, user + system)", "cpu");
