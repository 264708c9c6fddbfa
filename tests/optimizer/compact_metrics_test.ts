import assert from "node:assert/strict";
import { runBacktest } from "../../engine/backtest.ts";
import { FAMILIES, type FamilyId } from "../../gpu/families.ts";
import { compactMetricsOf } from "../../optimizer/backends/compact_metrics.ts";
import { comboMetricsOf } from "../../optimizer/backends/pool_protocol.ts";
import { familyClass } from "../../optimizer/run_optimization.ts";
import { generateBars, loadGoog } from "../gpu/_fixtures.ts";

/** A strategy that never trades (every ratio is undefined: NaN on both paths). */
class Idle {
  OnData() {
    return 0;
  }
}

Deno.test("compactMetricsOf() equals the engine's full metrics bit for bit, every family and mode", async () => {
  const cases: [string, ReturnType<typeof loadGoog>, number][] = [
    ["GOOG", loadGoog(), 252],
    // Hourly-like spacing is not needed: annualization is passed, as the pool does.
    ["generated", generateBars(3000, 11), 252],
  ];
  for (const [name, bars, ann] of cases) {
    for (const id of Object.keys(FAMILIES) as FamilyId[]) {
      const S = await familyClass(id);
      for (
        const config of [
          {},
          { mode: "long_short" as const, feeTaker: 0.001, slippageBps: 2 },
          { mode: "long_short" as const, leverage: 3, feeFixed: 1 },
        ]
      ) {
        const full = runBacktest(bars, S, { config });
        const lean = runBacktest(bars, S, { config, metrics: false });
        assert.deepEqual(lean.metrics, {}); // the lean run really skipped computeMetrics
        const want = comboMetricsOf(full.metrics);
        const got = compactMetricsOf(lean, ann, {});
        for (const k of Object.keys(want) as (keyof typeof want)[]) {
          assert.ok(
            Object.is(got[k], want[k]),
            `${name} ${id} ${JSON.stringify(config)} ${k}: ${got[k]} vs ${want[k]}`,
          );
        }
        assert.ok(want.trades > 0, `${name} ${id} trades`);
      }
    }
  }
  const idle = compactMetricsOf(runBacktest(loadGoog(), Idle, { metrics: false }), 252);
  assert.deepEqual(idle, comboMetricsOf(runBacktest(loadGoog(), Idle).metrics));
  assert.equal(idle.trades, 0);
  assert.ok(Number.isNaN(idle.sharpe));
});

Deno.test("compactMetricsOf() reuses its scratch buffer and rejects a result without a raw curve", () => {
  const bars = loadGoog();
  const scratch: { returns?: Float64Array } = {};
  compactMetricsOf(runBacktest(bars, Idle, { metrics: false }), 252, scratch);
  const buf = scratch.returns;
  assert.equal(buf?.length, bars.length - 1);
  compactMetricsOf(runBacktest(bars, Idle, { metrics: false }), 252, scratch);
  assert.equal(scratch.returns, buf);
  const plain = JSON.parse(JSON.stringify(runBacktest(bars, Idle, { metrics: false })));
  assert.throws(() => compactMetricsOf(plain, 252), /raw equity curve/);
});
