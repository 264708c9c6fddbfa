import assert from "node:assert/strict";
import { resolveConfig } from "../../engine/config.ts";
import { annualizationOf } from "../../engine/result.ts";
import { decideEvents } from "../../gpu/decide.ts";
import { FAMILIES, ruleSeries, SeriesCache } from "../../gpu/families.ts";
import { evaluateFamilyGrid } from "../../gpu/family_grid.ts";
import { GpuJsKernel } from "../../gpu/gpujs_backend.ts";
import { conformanceSuite } from "./_conformance.ts";
import { generateBars } from "./_fixtures.ts";

const kernel = new GpuJsKernel({ mode: "gpu" });

conformanceSuite(
  `gpujs (${kernel.backendName})`,
  (bars, family, combos, config) =>
    evaluateFamilyGrid(bars, family, combos, kernel, {
      config,
      annualization: annualizationOf(resolveConfig(config), bars),
    }),
);

for (const mode of ["cpu", "gpu", "webgpu"] as const) {
  Deno.test(`GpuJsKernel.decide() in "${mode}" mode emits exactly decideEvents' events`, async () => {
    if (mode === "webgpu" && !(await navigator.gpu?.requestAdapter())) {
      console.log("skipped: no WebGPU adapter");
      return;
    }
    const k = new GpuJsKernel({ mode, maxCells: 2 * 2000 });
    const bars = generateBars(2000, 5);
    const rules = [
      FAMILIES.sma_cross.rule({ fast: 2, slow: 5 }),
      FAMILIES.rsi.rule({ period: 7, oversold: 35, overbought: 65 }),
      FAMILIES.bollinger.rule({ period: 15, k: 1 }),
      FAMILIES.donchian_breakout.rule({ period: 8, exit: 4, stopAtr: 0.5 }),
    ];
    const cache = new SeriesCache(bars);
    const names = [...new Set(rules.flatMap(ruleSeries))];
    const got = await k.decide({
      n: bars.length,
      rules,
      seriesNames: names,
      series: names.map((s) => cache.get(s)),
    });
    rules.forEach((r, i) => {
      const want = decideEvents(r, cache, bars.length);
      assert.ok(want.length > 10);
      assert.deepEqual([...got[i]], [...want], `rule ${i}`);
    });
    k.dispose();
  });
}
