import assert from "node:assert/strict";
import { ComboTimeoutError } from "../../optimizer/backends/pool_protocol.ts";
import { runBacktest, StrategyError } from "../../engine/backtest.ts";
import { guidedChunk, runWorkerPool } from "../../optimizer/backends/workers.ts";
import { familySource } from "../../optimizer/run_optimization.ts";
import { conformanceSuite } from "../gpu/_conformance.ts";
import { generateBars, loadGoog } from "../gpu/_fixtures.ts";

conformanceSuite(
  "workers",
  async (bars, family, combos, config) =>
    runWorkerPool(bars, await familySource(family), combos, { config, size: 2 }),
);

Deno.test("runWorkerPool() returns every combination in grid order with small chunks", async () => {
  const bars = loadGoog();
  const combos = [];
  for (let fast = 2; fast <= 20; fast += 3) combos.push({ fast, slow: 40 });
  const chunks: number[] = [];
  const got = await runWorkerPool(bars, await familySource("sma_cross"), combos, {
    size: 2,
    chunkSize: 2,
    onChunk: (start, r) => chunks.push(start, r.length),
  });
  const S = (await import("../../examples/sma_cross.ts")).default;
  combos.forEach((p, i) => {
    const ref = runBacktest(bars, S, { params: p });
    assert.equal(got[i].trades, ref.metrics.numTrades);
    assert.equal(got[i].finalEquity, ref.metrics.finalEquity);
  });
  // 7 combinations in chunks of 2: starts 0, 2, 4, 6 each reported once
  const starts = chunks.filter((_, i) => i % 2 === 0).sort((a, b) => a - b);
  assert.deepEqual(starts, [0, 2, 4, 6]);
});

Deno.test("runWorkerPool() runs user code without permissions: reading a file fails, naming the combination", async () => {
  const bars = generateBars(50);
  const code = `export default class Sneaky {
    params = { x: 1 };
    OnData() { Deno.readTextFileSync("/etc/hostname"); return 1; }
  }`;
  await assert.rejects(
    runWorkerPool(bars, { code }, [{ x: 1 }, { x: 2 }], { size: 1 }),
    (e: Error) =>
      /NotCapable|Requires read access|permission/i.test(e.message) && /"x":1/.test(e.message),
  );
});

Deno.test("runWorkerPool() reports a strategy that does not load", async () => {
  await assert.rejects(
    runWorkerPool(generateBars(50), { code: "export default 42; this is not code" }, [{}], {
      size: 1,
    }),
    /Cannot load the strategy|Worker failed/,
  );
});

Deno.test("runWorkerPool() stops mid-grid when aborted", async () => {
  const bars = generateBars(20_000);
  const combos = Array.from({ length: 200 }, (_, i) => ({ fast: 2 + (i % 20), slow: 50 }));
  const ctl = new AbortController();
  let done = 0;
  await assert.rejects(
    runWorkerPool(bars, await familySource("sma_cross"), combos, {
      size: 2,
      chunkSize: 1,
      signal: ctl.signal,
      onChunk: (_s, r) => {
        done += r.length;
        if (done >= 4) ctl.abort(new Error("stop"));
      },
    }),
    /stop/,
  );
  assert.ok(done < combos.length, `aborted after ${done} of ${combos.length}`);
});

Deno.test("runWorkerPool() stops a strategy that never returns, naming the combination", async () => {
  const code = `export default class Stuck {
    params = { x: 1 };
    OnData() { for (;;) {} }
  }`;
  const t0 = performance.now();
  await assert.rejects(
    runWorkerPool(generateBars(20), { code }, [{ x: 7 }], { size: 1, comboTimeoutMs: 300 }),
    (e: Error) =>
      e instanceof ComboTimeoutError &&
      /Timed out: combinations 0\.\.0 \(\{"x":7\} first\) ran past 300 ms/.test(e.message),
  );
  assert.ok(performance.now() - t0 < 10_000);
});

Deno.test("guidedChunk() shrinks chunks as the grid drains, from at most max down to 1", () => {
  assert.equal(guidedChunk(2500, 2, 32), 32);
  assert.equal(guidedChunk(200, 2, 32), 25);
  assert.equal(guidedChunk(9, 2, 32), 2);
  assert.equal(guidedChunk(1, 2, 32), 1);
  // Walking a grid by hand: every combination handed out once, sizes never growing.
  let left = 1000, last = Infinity;
  const sizes: number[] = [];
  while (left > 0) {
    const c = Math.min(left, guidedChunk(left, 2, 32));
    assert.ok(c >= 1 && c <= last);
    sizes.push(c);
    last = c;
    left -= c;
  }
  assert.equal(sizes.reduce((a, b) => a + b, 0), 1000);
  assert.equal(sizes.at(-1), 1);
});

Deno.test("runWorkerPool() with default (guided) chunks reports every combination exactly once", async () => {
  const bars = generateBars(300);
  const combos = Array.from({ length: 150 }, (_, i) => ({ fast: 2 + (i % 15), slow: 20 + i }));
  const seen = new Array(combos.length).fill(0);
  const sizes: number[] = [];
  const got = await runWorkerPool(bars, await familySource("sma_cross"), combos, {
    size: 2,
    onChunk: (start, r) => {
      sizes.push(r.length);
      for (let k = 0; k < r.length; k++) seen[start + k]++;
    },
  });
  assert.deepEqual(seen, new Array(combos.length).fill(1));
  assert.ok(sizes.length > 2 && Math.max(...sizes) > 1 && Math.min(...sizes) === 1, `${sizes}`);
  const S = (await import("../../examples/sma_cross.ts")).default;
  for (const i of [0, 77, 149]) {
    const ref = runBacktest(bars, S, { params: combos[i] });
    assert.equal(got[i].trades, ref.metrics.numTrades);
    assert.equal(got[i].finalEquity, ref.metrics.finalEquity);
  }
});

Deno.test("runWorkerPool() times a prefetched chunk from when its worker starts it", async () => {
  // One worker holds both chunks at once: the first takes ~200 ms (under its 1 s budget),
  // the second never returns. A budget started at hand-out would blame the wrong one or fire
  // early; the error must name the second chunk.
  const code = `export default class Slow {
    params = { x: 1 };
    Initialize(ctx) { this.x = ctx.params.x; }
    OnData() {
      if (this.x === 7) for (;;) {}
      const end = Date.now() + 20; while (Date.now() < end) {}
      return 0;
    }
  }`;
  await assert.rejects(
    runWorkerPool(generateBars(10), { code }, [{ x: 1 }, { x: 7 }], {
      size: 1,
      chunkSize: 1,
      comboTimeoutMs: 1000,
    }),
    /Timed out: combinations 1\.\.1 \(\{"x":7\} first\) ran past 1000 ms/,
  );
});

Deno.test("runWorkerPool() checks the bars once per worker and names a bad row", async () => {
  const bars = generateBars(50);
  bars.close[3] = NaN;
  await assert.rejects(
    runWorkerPool(bars, await familySource("sma_cross"), [{ fast: 2, slow: 5 }], { size: 1 }),
    /Invalid bars: Row 3: close is NaN/,
  );
});

Deno.test("runWorkerPool() rejects with the strategy's error class and bar, and bad params as RangeError", async () => {
  const bars = generateBars(30);
  const code =
    `export default class B { params = { x: 1 }; OnData(d, ctx) { if (ctx.barIndex === 4) throw new Error("four"); return 0; } }`;
  await assert.rejects(
    runWorkerPool(bars, { code }, [{ x: 1 }], { size: 1 }),
    (e: Error) => e instanceof StrategyError && e.bar === 4 && /four/.test(e.message),
  );
  await assert.rejects(
    runWorkerPool(bars, { code }, [{ y: 1 }], { size: 1 }),
    (e: Error) => e instanceof RangeError && /Unknown parameter "y"/.test(e.message),
  );
  const topLevel = `throw new Error("at load"); export default class B { OnData() { return 0; } }`;
  await assert.rejects(
    runWorkerPool(bars, { code: topLevel }, [{}], { size: 1 }),
    (e: Error) =>
      e instanceof StrategyError && /Cannot load the strategy: .*at load/.test(e.message),
  );
});
