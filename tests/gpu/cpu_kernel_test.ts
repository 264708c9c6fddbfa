import assert from "node:assert/strict";
import { type ConfigInput, resolveConfig } from "../../engine/config.ts";
import { annualizationOf } from "../../engine/result.ts";
import { runBacktest } from "../../engine/backtest.ts";
import { CpuKernel, evaluateFamilyGrid } from "../../gpu/family_grid.ts";
import { assertConforms, conformanceSuite } from "./_conformance.ts";
import { loadGoog } from "./_fixtures.ts";

conformanceSuite(
  "cpu reference kernel",
  (bars, family, combos, config) =>
    evaluateFamilyGrid(bars, family, combos, new CpuKernel(), {
      config,
      annualization: annualizationOf(resolveConfig(config), bars),
    }),
);

Deno.test("evaluateFamilyGrid() replays liquidations, leverage, units and closeAtEnd like the engine", async () => {
  const bars = loadGoog();
  const SmaCross = (await import("../../examples/sma_cross.ts")).default;
  const Bollinger = (await import("../../examples/bollinger.ts")).default;
  const configs: ConfigInput[] = [
    { mode: "long_short", leverage: 3, feeTaker: 0.0005, slippageBps: 2 },
    { mode: "long_only", leverage: 2, feeTaker: 0.0005, feeFixed: 1 },
    {
      mode: "long_short",
      sizing: { kind: "units", value: 10 },
      wholeUnits: true,
      closeAtEnd: true,
      slippage: { kind: "ticks", ticks: 2, tickSize: 0.01 },
    },
    { mode: "long_short", sizing: { kind: "notional", value: 5000 }, feeTaker: 0.002 },
  ];
  let liquidations = 0;
  for (const config of configs) {
    for (
      const [family, S, params] of [
        ["sma_cross", SmaCross, { fast: 10, slow: 30 }],
        ["bollinger", Bollinger, { period: 20, k: 2 }],
      ] as const
    ) {
      const [got] = await evaluateFamilyGrid(bars, family, [params], new CpuKernel(), {
        config,
        annualization: annualizationOf(resolveConfig(config), bars),
      });
      const ref = runBacktest(bars, S, {
        params,
        config,
        onEvent: (e) => {
          if (e.type === "liquidation") liquidations++;
        },
      });
      assertConforms(got, ref.metrics, `${family} ${JSON.stringify(config)}`);
    }
  }
  // the leveraged configurations must actually exercise the margin rule
  assert.ok(liquidations > 10, `expected liquidations, got ${liquidations}`);
});
