import assert from "node:assert/strict";
import { runBacktest } from "../../engine/backtest.ts";
import {
  type OptimizationProgress,
  type OptimizationResult,
  runOptimization,
} from "../../optimizer/run_optimization.ts";
import { generateBars, loadGoog } from "../gpu/_fixtures.ts";

const GRID = {
  params: { fast: { min: 4, max: 20, step: 4 }, slow: { min: 20, max: 60, step: 10 } },
  constraints: ["fast < slow"],
};

Deno.test("runOptimization() evaluates the whole grid, reports progress and picks the best by a naive scan", async () => {
  const bars = loadGoog();
  const progress: OptimizationProgress[] = [];
  const res = await runOptimization(
    {
      bars,
      strategy: { family: "sma_cross" },
      grid: GRID,
      backend: "cpu",
      filters: ["trades>=10"],
    },
    { onProgress: (p) => progress.push(p) },
  );
  // 5 fast × 5 slow, minus fast=20/slow=20
  assert.equal(res.total, 24);
  assert.equal(res.combos.length, 24);
  assert.equal(progress.at(-1)!.done, 24);
  assert.equal(progress.reduce((s, p) => s + p.points.length, 0), 24);
  // naive: the engine itself on every combination
  const S = (await import("../../examples/sma_cross.ts")).default;
  let best: { p: Record<string, number>; sharpe: number } | null = null;
  for (const c of res.combos) {
    const m = runBacktest(bars, S, { params: c.params }).metrics;
    assert.equal(c.metrics.trades, m.numTrades);
    if ((m.numTrades as number) >= 10 && (!best || (m.sharpeRatio as number) > best.sharpe)) {
      best = { p: c.params as Record<string, number>, sharpe: m.sharpeRatio as number };
    }
  }
  assert.deepEqual(res.best!.params, best!.p);
  assert.deepEqual(progress.at(-1)!.best!.params, best!.p);
});

Deno.test("runOptimization() gives the same results on every backend", async () => {
  const bars = generateBars(3000, 21);
  const req = {
    bars,
    strategy: { family: "bollinger" as const },
    grid: {
      params: { period: { values: [10, 20] }, k: { values: [1.5, 2] } },
    },
    config: { feeTaker: 0.001, mode: "long_short" as const },
  };
  const results: OptimizationResult[] = [];
  for (const backend of ["cpu", "webgpu", "gpujs", "workers"] as const) {
    if (backend === "webgpu" && !(await navigator.gpu?.requestAdapter())) continue;
    results.push(await runOptimization({ ...req, backend, workers: 2 }));
  }
  for (const r of results.slice(1)) {
    r.combos.forEach((c, i) => {
      assert.equal(c.metrics.trades, results[0].combos[i].metrics.trades, r.backend);
      assert.ok(
        Math.abs(c.metrics.finalEquity / results[0].combos[i].metrics.finalEquity - 1) < 1e-9,
      );
    });
  }
});

Deno.test("runOptimization() random search evaluates the requested number of combinations", async () => {
  const res = await runOptimization({
    bars: generateBars(1000, 3),
    strategy: { family: "rsi" },
    grid: { params: { period: { min: 5, max: 30, step: 1 }, oversold: { values: [20, 30] } } },
    search: { kind: "random", samples: 7, seed: 4 },
    backend: "cpu",
  });
  assert.equal(res.total, 7);
  assert.equal(new Set(res.combos.map((c) => JSON.stringify(c.params))).size, 7);
});

Deno.test("runOptimization() rejects unknown families and GPU backends for strategy code", async () => {
  const bars = generateBars(100, 3);
  await assert.rejects(
    // deno-lint-ignore no-explicit-any
    runOptimization({ bars, strategy: { family: "nope" as any }, grid: GRID }),
    /Unknown family "nope"/,
  );
  await assert.rejects(
    runOptimization({
      bars,
      strategy: { code: "export default class {}" },
      grid: GRID,
      backend: "webgpu",
    }),
    /use "workers" for strategy code/,
  );
  await assert.rejects(
    runOptimization({ bars, strategy: { family: "sma_cross" }, grid: GRID, objective: "fun" }),
    /Unknown objective "fun"/,
  );
});

Deno.test("runOptimization() cancels mid-grid", async () => {
  const bars = generateBars(20_000, 8);
  const ctl = new AbortController();
  let done = 0;
  await assert.rejects(
    runOptimization({
      bars,
      strategy: { family: "sma_cross" },
      grid: { params: { fast: { min: 2, max: 41, step: 1 }, slow: { min: 50, max: 99, step: 1 } } },
      backend: "cpu",
    }, {
      signal: ctl.signal,
      onProgress: (p) => {
        done = p.done;
        ctl.abort(new Error("user cancelled"));
      },
    }),
    /user cancelled/,
  );
  assert.ok(done > 0 && done < 2000, `cancelled after ${done}`);
});

Deno.test("runOptimization() runs strategy code on the workers backend", async () => {
  const code = `export default class Always {
    params = { level: 1 };
    OnData(data: { close: Float64Array; length: number }, ctx: { params: { level: number } }) {
      return data.close[data.length - 1] > ctx.params.level ? 1 : -1;
    }
  }`;
  const res = await runOptimization({
    bars: generateBars(500, 2),
    strategy: { code },
    grid: { params: { level: { values: [1, 100, 1000] } } },
    backend: "auto",
    workers: 2,
  });
  assert.equal(res.backend, "workers");
  // level 1 buys on the first bar and holds; level 1000 never buys
  assert.equal(res.combos[2].metrics.finalEquity, 10_000);
  assert.notEqual(res.combos[0].metrics.finalEquity, 10_000);
});

Deno.test("runOptimization() splits a large CPU-kernel grid over a worker pool with the same results", async () => {
  const bars = generateBars(20_000, 13);
  const req = {
    bars,
    strategy: { family: "donchian_breakout" as const },
    grid: { params: { period: { min: 10, max: 40, step: 3 }, exit: { values: [5, 10, 15, 20] } } },
    config: { feeTaker: 0.0005, slippageBps: 2 },
    backend: "cpu" as const,
  };
  const pooled = await runOptimization({ ...req, workers: 2 }, { poolMinBarEvaluations: 0 });
  assert.match(pooled.backendInfo, /× 2 workers/);
  const single = await runOptimization({ ...req, workers: 1 });
  assert.doesNotMatch(single.backendInfo, /workers/);
  assert.deepEqual(pooled.combos, single.combos);
});

Deno.test("runOptimization() replays GPU decisions on a worker pool with the same results", async () => {
  const bars = generateBars(8_000, 17);
  const req = {
    bars,
    strategy: { family: "donchian_breakout" as const },
    grid: { params: { period: { min: 10, max: 30, step: 5 }, stopAtr: { values: [1, 2] } } },
    config: { feeTaker: 0.0005, mode: "long_short" as const },
  };
  const single = await runOptimization({ ...req, backend: "cpu", workers: 1 });
  for (const backend of ["webgpu", "gpujs"] as const) {
    if (backend === "webgpu" && !(await navigator.gpu?.requestAdapter())) continue;
    const pooled = await runOptimization({ ...req, backend, workers: 2 }, {
      poolMinBarEvaluations: 0,
    });
    assert.match(pooled.backendInfo, /replay × 2 workers/);
    assert.deepEqual(pooled.combos, single.combos, backend);
  }
});

Deno.test("runOptimization() cancels a GPU grid whose replays run on a worker pool", async () => {
  const ctl = new AbortController();
  await assert.rejects(
    runOptimization({
      bars: generateBars(5_000, 19),
      strategy: { family: "sma_cross" },
      grid: { params: { fast: { min: 2, max: 21, step: 1 }, slow: { min: 30, max: 39, step: 1 } } },
      backend: "gpujs",
      workers: 2,
    }, {
      poolMinBarEvaluations: 0,
      signal: ctl.signal,
      onProgress: () => ctl.abort(new Error("stop now")),
    }),
    /stop now/,
  );
});
