import assert from "node:assert/strict";
import { resolveConfig } from "../../engine/config.ts";
import { annualizationOf } from "../../engine/result.ts";
import { decideEvents } from "../../gpu/decide.ts";
import { FAMILIES, ruleSeries, SeriesCache } from "../../gpu/families.ts";
import { evaluateFamilyGrid } from "../../gpu/family_grid.ts";
import { WebGpuKernel, webgpuUnavailableReason } from "../../gpu/webgpu_backend.ts";
import { conformanceSuite } from "./_conformance.ts";
import { generateBars } from "./_fixtures.ts";

let kernel: Promise<WebGpuKernel> | null = null;
const getKernel = () => (kernel ??= WebGpuKernel.create());

conformanceSuite(
  "webgpu",
  async (bars, family, combos, config) =>
    evaluateFamilyGrid(bars, family, combos, await getKernel(), {
      config,
      annualization: annualizationOf(resolveConfig(config), bars),
    }),
  { ignoreReason: webgpuUnavailableReason },
);

Deno.test("WebGpuKernel.decide() emits exactly decideEvents' events, also past a small capacity", async () => {
  const reason = await webgpuUnavailableReason();
  if (reason) {
    console.log(`skipped: ${reason}`);
    return;
  }
  const bars = generateBars(3000, 11);
  const small = await WebGpuKernel.create({ capacity: 4 });
  try {
    const rules = [
      FAMILIES.sma_cross.rule({ fast: 2, slow: 5 }),
      FAMILIES.ema_cross.rule({ fast: 3, slow: 40 }),
      FAMILIES.rsi.rule({ period: 7, oversold: 35, overbought: 65 }),
      FAMILIES.bollinger.rule({ period: 15, k: 1 }),
      FAMILIES.donchian_breakout.rule({ period: 8, exit: 4, stopAtr: 0.5 }),
    ];
    const cache = new SeriesCache(bars);
    const names = [...new Set(rules.flatMap(ruleSeries))];
    const got = await small.decide({
      n: bars.length,
      rules,
      seriesNames: names,
      series: names.map((s) => cache.get(s)),
    });
    rules.forEach((r, i) => {
      const want = decideEvents(r, cache, bars.length);
      assert.ok(want.length > 4, "the case must overflow the capacity of 4");
      assert.deepEqual([...got[i]], [...want], `rule ${i}`);
    });
    // a stop rule must have produced stop hits (code 3) for the case to mean anything
    assert.ok([...got[4]].some((w) => (w & 3) === 3));
  } finally {
    small.dispose();
  }
});

Deno.test("WebGpuKernel.decide() splits a batch to fit a small buffer limit and learns its capacity", async () => {
  const reason = await webgpuUnavailableReason();
  if (reason) {
    console.log(`skipped: ${reason}`);
    return;
  }
  const bars = generateBars(3000, 5);
  // 4 KiB buffers: 204 combinations per dispatch at 4 slots, a handful at the hundreds of
  // slots the re-runs need, so one batch takes many dispatches.
  const k = await WebGpuKernel.create({ capacity: 4, maxBindingBytes: 4096 });
  try {
    const rules = Array.from(
      { length: 60 },
      (_, i) => FAMILIES.sma_cross.rule({ fast: 2 + (i % 20), slow: 25 + 5 * Math.floor(i / 20) }),
    );
    const cache = new SeriesCache(bars);
    const names = [...new Set(rules.flatMap(ruleSeries))];
    const batch = {
      n: bars.length,
      rules,
      seriesNames: names,
      series: names.map(cache.get, cache),
    };
    const want = rules.map((r) => decideEvents(r, cache, bars.length));
    assert.ok(Math.max(...want.map((w) => w.length)) > 200, "needs re-runs past 4 slots");
    for (let pass = 0; pass < 2; pass++) {
      // the second pass starts from the learned capacity
      const got = await k.decide(batch);
      rules.forEach((_, i) =>
        assert.deepEqual([...got[i]], [...want[i]], `pass ${pass} rule ${i}`)
      );
    }
    // A combination whose events cannot fit one buffer is refused with a clear error.
    const tiny = await WebGpuKernel.create({ capacity: 4, maxBindingBytes: 64 });
    try {
      await assert.rejects(tiny.decide(batch), /events, more than a 64-byte buffer holds/);
    } finally {
      tiny.dispose();
    }
  } finally {
    k.dispose();
  }
});
