import assert from "node:assert/strict";
import { runBacktest } from "../../engine/backtest.ts";
import { sliceBars } from "../../engine/bars.ts";
import { runOptimization } from "../../optimizer/run_optimization.ts";
import { runWalkForward, walkForwardWindows } from "../../optimizer/walk_forward.ts";
import { loadGoog } from "../gpu/_fixtures.ts";

Deno.test("walkForwardWindows() rolls or anchors windows and covers the data after the first in-sample", () => {
  assert.deepEqual(walkForwardWindows(10, { inSample: 4, outOfSample: 3 }), [
    { inStart: 0, inEnd: 4, outEnd: 7 },
    { inStart: 3, inEnd: 7, outEnd: 10 },
  ]);
  assert.deepEqual(walkForwardWindows(10, { inSample: 4, outOfSample: 4, anchored: true }), [
    { inStart: 0, inEnd: 4, outEnd: 8 },
    { inStart: 0, inEnd: 8, outEnd: 10 },
  ]);
  assert.throws(
    () => walkForwardWindows(5, { inSample: 5, outOfSample: 2 }),
    /No walk-forward window fits/,
  );
});

Deno.test("runWalkForward() picks each window's in-sample best and stitches its out-of-sample equity", async () => {
  const bars = loadGoog();
  const grid = { params: { fast: { values: [5, 10] }, slow: { values: [30, 50] } } };
  const wf = await runWalkForward({
    bars,
    strategy: { family: "sma_cross" },
    grid,
    backend: "cpu",
    inSample: 600,
    outOfSample: 400,
  });
  assert.equal(wf.windows.length, 4); // in-sample ends at 600, 1000, 1400, 1800
  // the stitched curve: one base point plus every out-of-sample bar
  assert.equal(wf.equity.length, 1 + (bars.length - 600));
  const S = (await import("../../examples/sma_cross.ts")).default;
  let level = 10_000;
  for (const w of wf.windows) {
    // the window's winner is the best in-sample Sharpe, checked by a direct optimization
    const opt = await runOptimization({
      bars: sliceBars(bars, w.inSample.start, w.inSample.end),
      strategy: { family: "sma_cross" },
      grid,
      backend: "workers",
      workers: 1,
    });
    assert.deepEqual(w.best!.params, opt.best!.params);
    // the stitched piece is the engine's equity growth over the out-of-sample bars
    const eq = runBacktest(sliceBars(bars, w.inSample.start, w.outOfSample.end), S, {
      params: w.best!.params,
    }).equity;
    const base = eq[w.inSample.end - 1 - w.inSample.start].equity;
    const last = eq[eq.length - 1].equity;
    level *= last / base;
    const stitchedAtEnd = wf.equity.find((p) => p.time === bars.timestamp[w.outOfSample.end - 1])!;
    assert.ok(Math.abs(stitchedAtEnd.equity / level - 1) < 1e-12);
  }
  assert.ok(Math.abs(wf.metrics.totalReturn - (level / 10_000 - 1)) < 1e-9);
});
