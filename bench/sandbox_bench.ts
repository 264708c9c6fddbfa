/**
 * Sandbox overhead for the SMA cross example: sandboxed time minus in-process time, split into
 * a fixed start-up cost and a per-bar ratio, two ways: the start-up measured on a 10-bar
 * series and the ratio on N bars (1M),
 *
 *   perBarOverhead = (sandboxed(N) − startup − inProcess(N)) / inProcess(N)
 *
 * and a straight-line fit of each side's time over N/4 and N bars (fixed cost = intercept,
 * per-bar overhead = ratio of slopes − 1), which also counts a fresh isolate's first-run
 * compilation as fixed rather than per bar.
 *
 * Reported for the three ways a job can start: a cold sandbox process (pool size 0: a fresh
 * `deno run` per job, what every job paid before the pool), the warm pool (the default: a
 * process already running, with a prepared Worker), and worker mode (the Deno Deploy
 * profile: a Worker in this process). Also the job latency of a tiny strategy, to its first
 * progress report and to its result.
 *
 * Each figure is the median of several alternating runs, so both sides see the same machine
 * load; CPU times count this process and its sandbox processes (user + system), which is
 * steadier than wall time on a busy machine. `deno task bench sandbox` runs only this file;
 * `deno run -A bench/sandbox_bench.ts [N] [RUNS]`.
 *
 * @module
 */
import { runBacktest } from "../engine/backtest.ts";
import type { BacktestResult } from "../engine/types.ts";
import { transpileStrategy } from "../jobs/compile.ts";
import {
  closeSandboxPool,
  configureSandboxPool,
  runInSandbox,
  type SandboxJobPhases,
  type SandboxMode,
  sandboxPoolStats,
  warmSandboxPool,
  type WorkerPhases,
} from "../jobs/sandbox.ts";
import { WARM_UP } from "../jobs/sandbox_protocol.ts";
import { generateBars } from "../market/sample_data.ts";

const N = Number(Deno.args[0] ?? 1_000_000);
const RUNS = Number(Deno.args[1] ?? 5);
const file = new URL("../examples/sma_cross.ts", import.meta.url);
const code = await Deno.readTextFile(file);
const { default: SmaCross } = await import(file.href);
const params = { fast: 10, slow: 30 };
const LIMITS = { timeoutMs: 600_000 };

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** user + system CPU ms of a /proc stat line, with its reaped children's when asked. */
function statCpuMs(stat: string, children: boolean): number {
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // Fields 14-17 of stat(5) (utime, stime, cutime, cstime) are 11-14 after the ")".
  let ticks = Number(f[11]) + Number(f[12]);
  if (children) ticks += Number(f[13]) + Number(f[14]);
  return ticks * 10;
}

/**
 * CPU milliseconds used by this process, its reaped children, and its live children (the
 * pooled sandbox processes, which outlive a job).
 */
function cpuMs(): number {
  let ms = statCpuMs(Deno.readTextFileSync("/proc/self/stat"), true);
  for (const e of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    try {
      const stat = Deno.readTextFileSync(`/proc/${e.name}/stat`);
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (ppid === Deno.pid) ms += statCpuMs(stat, true);
    } catch {
      // exited meanwhile
    }
  }
  return ms;
}

interface Sample {
  wall: number;
  cpu: number;
  firstProgress: number;
}

async function time(f: (onFirst: () => void) => unknown): Promise<[Sample, unknown]> {
  const c0 = cpuMs();
  const t0 = performance.now();
  let first = NaN;
  const r = await f(() => {
    if (Number.isNaN(first)) first = performance.now() - t0;
  });
  return [{ wall: performance.now() - t0, cpu: cpuMs() - c0, firstProgress: first }, r];
}

type Side = "inProc" | "cold" | "warm" | "worker";
const SIDES: Side[] = ["inProc", "cold", "warm", "worker"];

function runSide(side: Side, bars: ReturnType<typeof generateBars>) {
  return (onFirst: () => void) => {
    if (side === "inProc") return runBacktest(bars, SmaCross, { params, onProgress: onFirst });
    const mode: SandboxMode = side === "worker" ? "worker" : "process";
    if (side === "cold") configureSandboxPool({ size: 0 });
    return runInSandbox({ code, bars, params }, { limits: LIMITS, mode, onProgress: onFirst });
  };
}

async function measure(n: number, runs: number) {
  const bars = generateBars(n, { seed: 7, intervalMs: 60_000 });
  const samples = Object.fromEntries(SIDES.map((s) => [s, [] as Sample[]])) as Record<
    Side,
    Sample[]
  >;
  let ref = "";
  /** Wall times of warm jobs whose bars went as a file (the others found them kept). */
  const barsFileWall: number[] = [];
  /** The pool's phase timings of each warm job. */
  const phases: SandboxJobPhases[] = [];
  const one = async (side: Side) => {
    if (side !== "inProc") {
      // Background work of the last job (a pooled process preparing and warming up its next
      // Worker) ends before the next timing starts, so no side pays for another's.
      await new Promise((r) => setTimeout(r, 700));
    }
    const sent = sandboxPoolStats().barsSent;
    const [s, r] = await time(runSide(side, bars));
    samples[side].push(s);
    if (side === "warm" && sandboxPoolStats().barsSent > sent) barsFileWall.push(s.wall);
    const last = sandboxPoolStats().lastJob;
    if (side === "warm" && last !== null) phases.push(last);
    // Same answer every way (JSON: what the API serves).
    const json = JSON.stringify(r as BacktestResult);
    if (side === "inProc") ref = json;
    else if (json !== ref) throw new Error(`${side} result differs at n=${n}`);
  };
  // The warm pool stays up across its runs (as in a server: the later jobs find the bars
  // kept); the cold side (pool size 0) would shut it down, so it runs after them.
  configureSandboxPool({ size: 2 });
  warmSandboxPool();
  await new Promise((r) => setTimeout(r, 1500));
  for (let i = 0; i < runs; i++) {
    for (const side of SIDES) if (side !== "cold") await one(side);
  }
  for (let i = 0; i < runs; i++) {
    await one("inProc");
    await one("cold");
  }
  configureSandboxPool({ size: 2 });
  const med = (side: Side, k: keyof Sample) => median(samples[side].map((s) => s[k]));
  return { med, trades: JSON.parse(ref).trades.length as number, barsFileWall, phases };
}

/**
 * The in-process run timed in a brand-new isolate (a Worker that runs it once): the sandbox
 * always runs a job in a fresh isolate, and V8's first run of the engine in an isolate (JIT
 * compilation, heap growth) costs more than a warm repeat; this separates the cost of
 * isolation from the cost of a cold start. With `warmUp`, the Worker first runs the warm-up
 * runs of a spare sandbox Worker (`sandbox_warm_up.ts`'s bars and strategies, `WARM_UP` runs;
 * without the sandbox's call wrapper and result encoder): what is left between that and a
 * sandboxed job is close to the sandbox's own cost.
 */
async function coldInProcess(n: number, warmUp = false): Promise<number> {
  const src = `
    import { runBacktest } from ${
    JSON.stringify(new URL("../engine/backtest.ts", import.meta.url).href)
  };
    import { generateBars } from ${
    JSON.stringify(new URL("../market/sample_data.ts", import.meta.url).href)
  };
    import S from ${JSON.stringify(file.href)};
    import { WARM_UP_STRATEGIES, warmUpBars } from ${
    JSON.stringify(new URL("../jobs/sandbox_warm_up.ts", import.meta.url).href)
  };
    if (${warmUp}) {
      const wb = warmUpBars(${WARM_UP.bars});
      for (let i = 0; i < ${WARM_UP.runs}; i++) {
        const W = WARM_UP_STRATEGIES[i % WARM_UP_STRATEGIES.length];
        runBacktest(wb, W, { onProgress: () => {} });
      }
    }
    const bars = generateBars(${n}, { seed: 7, intervalMs: 60_000 });
    const t0 = performance.now();
    runBacktest(bars, S, { params: ${JSON.stringify(params)}, onProgress: () => {} });
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

/** In-process time to a fully materialized result (orders built: the sandbox must ship them). */
function inProcessFull(n: number, runs: number): number {
  const bars = generateBars(n, { seed: 7, intervalMs: 60_000 });
  const xs: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    const r = runBacktest(bars, SmaCross, { params });
    void r.orders.length;
    xs.push(performance.now() - t0);
  }
  return median(xs);
}

/**
 * The in-process run split like a Worker's (`WorkerPhases`): the bar loop, to the engine's
 * final progress report, and what follows it (the result and its metrics); medians, ms.
 */
function inProcessSplit(n: number, runs: number): { loop: number; result: number } {
  const bars = generateBars(n, { seed: 7, intervalMs: 60_000 });
  const loops: number[] = [], results: number[] = [];
  for (let i = 0; i < runs; i++) {
    let loopEnd = NaN;
    const t0 = performance.now();
    runBacktest(bars, SmaCross, {
      params,
      onProgress: (p) => {
        if (p.index === n - 1) loopEnd = performance.now();
      },
    });
    const t1 = performance.now();
    loops.push(loopEnd - t0);
    results.push(t1 - loopEnd);
  }
  return { loop: median(loops), result: median(results) };
}

// Warm-up: loads the TypeScript compiler and fills Deno's transpile cache for the engine.
await transpileStrategy(code);
await measure(10, 1);

const load0 = Deno.loadavg()[0];
const tiny = await measure(10, RUNS * 2);
const big = await measure(N, RUNS);
// A second size for the straight-line fit time(n) = fixed + perBar × n of each side.
const N_SMALL = Math.max(1000, Math.floor(N / 4));
const small = await measure(N_SMALL, RUNS);
const colds: number[] = [];
for (let i = 0; i < RUNS; i++) colds.push(await coldInProcess(N));
const cold = median(colds);
// The same, warmed up like a spare sandbox Worker, at both sizes of the fit.
const freshAt = async (n: number) => {
  const xs: number[] = [];
  for (let i = 0; i < RUNS; i++) xs.push(await coldInProcess(n, true));
  return median(xs);
};
const fresh = { big: await freshAt(N), small: await freshAt(N_SMALL) };
const full = inProcessFull(N, RUNS);
const split = inProcessSplit(N, RUNS);
const load1 = Deno.loadavg()[0];
const pool = sandboxPoolStats();
await closeSandboxPool();

const f1 = (x: number) => x.toFixed(1);
console.log(
  `SMA cross (fast=${params.fast}, slow=${params.slow}), medians of ${RUNS} alternating runs ` +
    `(load average ${load0.toFixed(1)} → ${
      load1.toFixed(1)
    } on ${navigator.hardwareConcurrency} CPUs)`,
);
console.log(
  `Job latency, 10 bars (wall ms: to first progress / to result; CPU ms):\n` +
    SIDES.map((s) =>
      `  ${s.padEnd(7)} ${f1(tiny.med(s, "firstProgress"))} / ${f1(tiny.med(s, "wall"))} ms, cpu ${
        f1(tiny.med(s, "cpu"))
      } ms`
    ).join("\n"),
);
for (const unit of ["wall", "cpu"] as const) {
  const inProc = big.med("inProc", unit);
  console.log(
    `${N} bars (${big.trades} trades), ${unit === "wall" ? "wall clock" : "CPU time"}: ` +
      `in-process ${f1(inProc)} ms (${(inProc / N * 1e6).toFixed(0)} ns/bar)`,
  );
  for (const side of ["cold", "warm", "worker"] as const) {
    const startup = tiny.med(side, unit) - tiny.med("inProc", unit);
    const total = big.med(side, unit);
    const perBar = (total - startup - inProc) / inProc;
    console.log(
      `  ${side.padEnd(6)} start-up ${f1(startup).padStart(6)} ms, sandboxed ${f1(total)} ms → ` +
        `per-bar overhead ${(perBar * 100).toFixed(1)} % (target < 10 %)`,
    );
  }
}
{
  // The fit: what a side costs per bar (slope between the two sizes) against in process, and
  // its fixed cost (intercept) — first-run JIT compilation of a fresh isolate lands in the
  // fixed part here, where the 10-bar start-up above does not see it.
  const slope = (side: Side) => (big.med(side, "wall") - small.med(side, "wall")) / (N - N_SMALL);
  const fixed = (side: Side) => big.med(side, "wall") - slope(side) * N;
  console.log(
    `Straight-line fit over ${N_SMALL} and ${N} bars (wall): in-process ` +
      `${(slope("inProc") * 1e6).toFixed(0)} ns/bar + ${f1(fixed("inProc"))} ms`,
  );
  for (const side of ["cold", "warm", "worker"] as const) {
    console.log(
      `  ${side.padEnd(6)} ${(slope(side) * 1e6).toFixed(0)} ns/bar + ${f1(fixed(side))} ms → ` +
        `fixed cost ${f1(fixed(side) - fixed("inProc"))} ms, per-bar overhead ${
          f1((slope(side) / slope("inProc") - 1) * 100)
        } % (target < 10 %)`,
    );
  }
  // The same fit against a fresh isolate that warmed up as a spare sandbox Worker does: the
  // sandbox's own cost per bar (data path, watchdog, messages), without the fresh isolate's.
  const freshSlope = (fresh.big - fresh.small) / (N - N_SMALL);
  console.log(
    `  against a fresh, warmed-up isolate's run in process (${
      (freshSlope * 1e6).toFixed(0)
    } ns/bar + ${f1(fresh.big - freshSlope * N)} ms): ` +
      (["warm", "worker"] as const).map((side) =>
        `${side} ${f1((slope(side) / freshSlope - 1) * 100)} % per bar`
      ).join(", "),
  );
}
{
  const startup = tiny.med("warm", "wall") - tiny.med("inProc", "wall");
  const warm = big.med("warm", "wall");
  console.log(
    `Warm pool against other baselines (wall): a cold in-process run (first run in a fresh ` +
      `isolate: ${f1(cold)} ms) ${f1((warm - startup - cold) / cold * 100)} % per bar; ` +
      `in-process with orders built (${f1(full)} ms) ${
        f1((warm - startup - full) / full * 100)
      } % per bar`,
  );
}
console.log(
  `Pool jobs: bars sent as a file ${pool.barsSent}, bars kept from the job before ${pool.barsReused}` +
    `; warm ${N}-bar jobs that sent their bars as a file: ${
      big.barsFileWall.map(f1).join(", ") || "none"
    } ms (the median above is of all ${RUNS})`,
);
{
  // Where a warm 1M-bar job's time goes (the pool's own timings, medians of each phase), next
  // to the in-process run: what is left of the overhead once the run itself is taken out.
  const ph = big.phases;
  type Timed = Exclude<keyof SandboxJobPhases, "worker">;
  const m = (k: Timed) => median(ph.map((p) => p[k]));
  const labels: [Timed, string][] = [
    ["compareBars", "compare bars"],
    ["writeBars", "write bars"],
    ["readBars", "read bars"],
    ["run", "Worker run"],
    ["writeResult", "write result"],
    ["readResult", "read result"],
  ];
  // Per job, then the median: a difference of medians mixes jobs (the slowest run phase and
  // the fastest total need not be one job's).
  const rest = median(ph.map((p) => p.total - labels.reduce((a, [k]) => a + p[k], 0)));
  const parts = labels.map(([k, label]) =>
    `${label} ${f1(m(k))}` +
    (k === "run" ? ` (in-process run ${f1(big.med("inProc", "wall"))})` : "")
  );
  console.log(
    `Warm ${N}-bar job phases (medians of ${ph.length}, ms): ${parts.join(", ")}, ` +
      `messages and scheduling ${f1(rest)}; total ${f1(m("total"))}`,
  );
  // The data path alone grows with the bars and would stay if the Worker ran as fast as this
  // isolate: process mode's floor per bar, with files as the transport between processes.
  const dataKeys: Timed[] = ["compareBars", "writeBars", "readBars", "writeResult", "readResult"];
  const data = median(ph.map((p) => dataKeys.reduce((a, k) => a + p[k], 0)));
  console.log(
    `  data path alone (compare, write and read bars, write and read result): ${f1(data)} ms, ` +
      `${f1(data / big.med("inProc", "wall") * 100)} % of the in-process run: the warm pool's ` +
      `per-bar floor with files between processes (target < 10 %)`,
  );
  // Inside the Worker: a fresh isolate's run against the same run in this (warm) isolate.
  const w = (k: keyof WorkerPhases) => median(ph.map((p) => p.worker[k]));
  console.log(
    `  inside the Worker: load ${f1(w("load"))}, bar loop ${f1(w("loop"))} (in-process ${
      f1(split.loop)
    }), result and metrics ${f1(w("result"))} (in-process ${f1(split.result)}), encode ${
      f1(w("encode"))
    }`,
  );
}
