import assert from "node:assert/strict";
import { StrategyError } from "../../engine/backtest.ts";
import { ComboTimeoutError } from "../../optimizer/backends/pool_protocol.ts";
import {
  OptimizationMemoryError,
  runWorkerPoolIsolated,
} from "../../optimizer/backends/isolated_pool.ts";
import { decodeMetrics, encodeMetrics } from "../../optimizer/backends/isolated_pool_protocol.ts";
import { runWorkerPool } from "../../optimizer/backends/workers.ts";
import type { ComboMetrics } from "../../optimizer/objective.ts";
import { generateBars, loadGoog } from "../gpu/_fixtures.ts";

const SMA = await Deno.readTextFile(new URL("../../examples/sma_cross.ts", import.meta.url));

Deno.test("runWorkerPoolIsolated() gives runWorkerPool()'s metrics, NaN included, and its chunks", async () => {
  const bars = loadGoog();
  const combos = [];
  for (let fast = 2; fast <= 20; fast += 3) combos.push({ fast, slow: 40 });
  // A slow period longer than the series: no trade, NaN ratios that JSON cannot carry.
  combos.push({ fast: 5, slow: bars.length + 10 });
  const ref = await runWorkerPool(bars, { code: SMA }, combos, { size: 2, chunkSize: 2 });
  const chunks: number[] = [];
  const got = await runWorkerPoolIsolated(bars, { code: SMA }, combos, {
    size: 2,
    chunkSize: 2,
    onChunk: (start, r) => chunks.push(start, r.length),
  });
  assert.deepStrictEqual(got, ref);
  assert.ok(Object.values(got.at(-1)!).some(Number.isNaN), "the no-trade run has NaN metrics");
  const starts = chunks.filter((_, i) => i % 2 === 0).sort((a, b) => a - b);
  assert.deepEqual(starts, [0, 2, 4, 6]);
});

Deno.test("encodeMetrics() and decodeMetrics() carry NaN and ±Infinity through JSON", () => {
  const m = {
    sharpe: NaN,
    calmar: Infinity,
    sortino: -Infinity,
    trades: 3,
  } as unknown as ComboMetrics;
  const back = decodeMetrics(JSON.parse(JSON.stringify(encodeMetrics(m))));
  assert.deepStrictEqual(back, m);
});

Deno.test("runWorkerPoolIsolated() stops a memory bomb with a clear error, and this process carries on", async () => {
  const bars = generateBars(50);
  const heap = `export default class B {
    OnData() { const a = []; for (;;) a.push(new Array(1e6).fill(Math.random())); }
  }`;
  await assert.rejects(
    runWorkerPoolIsolated(bars, { code: heap }, [{ x: 1 }, { x: 2 }], { size: 2, memoryMb: 96 }),
    (e: Error) =>
      e instanceof OptimizationMemoryError && /ran out of memory .*96 MB/.test(e.message),
  );
  // Outside the V8 heap: caught by the resident-memory watchdog ((2 + 1) × 96 + 256 MB).
  const buffers = `export default class B {
    OnData() { const a = []; for (;;) a.push(new Uint8Array(5e7).fill(1)); }
  }`;
  await assert.rejects(
    runWorkerPoolIsolated(bars, { code: buffers }, [{ x: 1 }, { x: 2 }], {
      size: 2,
      memoryMb: 96,
    }),
    (e: Error) => e instanceof OptimizationMemoryError && /more than 544 MB/.test(e.message),
  );
  const after = await runWorkerPoolIsolated(bars, { code: SMA }, [{ fast: 3, slow: 9 }]);
  assert.equal(after.length, 1);
  assert.equal(typeof after[0].finalEquity, "number");
});

Deno.test("runWorkerPoolIsolated() names a strategy's error and a timed-out combination, and stops on abort", async () => {
  const bars = generateBars(50);
  const throws =
    `export default class B { OnData(d) { if (d.length > 5) throw new Error("nope"); return 0; } }`;
  await assert.rejects(
    runWorkerPoolIsolated(bars, { code: throws }, [{ x: 1 }, { x: 2 }], { size: 2 }),
    (e: Error) =>
      // the strategy's failure, as its class with its bar, for the API to report as such
      e instanceof StrategyError && e.bar === 5 && /Combination \{"x":1\}: .*nope/.test(e.message),
  );
  const loops = `export default class B { OnData() { for (;;) {} } }`;
  await assert.rejects(
    runWorkerPoolIsolated(bars, { code: loops }, [{ x: 1 }, { x: 2 }], {
      size: 2,
      comboTimeoutMs: 300,
    }),
    (e: Error) =>
      e instanceof ComboTimeoutError && /Timed out: combinations 0\.\.0/.test(e.message),
  );
  const ctl = new AbortController();
  setTimeout(() => ctl.abort(), 300);
  await assert.rejects(
    runWorkerPoolIsolated(bars, { code: loops }, [{ x: 1 }], { signal: ctl.signal }),
    (e: Error) => e.name === "AbortError",
  );
});
