/**
 * The optimizer conformance suite, shared by every backend (like one router test suite run
 * against every router): for each built-in family and trading mode, with fees and slippage,
 * on ../shared/data/GOOG.csv and on 100,000 generated bars, a backend must report exactly the
 * engine's number of trades, and final equity and Sharpe within 1e-4 relative of the engine
 * running the family's example strategy (examples/*.ts) through `runBacktest`.
 *
 * @module
 */
import assert from "node:assert/strict";
import { runBacktest } from "../../engine/backtest.ts";
import type { BacktestConfig, Bars, StrategyClass } from "../../engine/types.ts";
import { FAMILIES, type FamilyId } from "../../gpu/families.ts";
import type { ParamSet } from "../../optimizer/grid.ts";
import type { ComboMetrics } from "../../optimizer/objective.ts";
import { generateBars, loadGoog, tieBars } from "./_fixtures.ts";

/** What a backend under test must do: metrics of `combos`, in order. */
export type EvaluateFn = (
  bars: Bars,
  family: FamilyId,
  combos: ParamSet[],
  config: Partial<BacktestConfig> & { slippageBps?: number },
) => Promise<ComboMetrics[]>;

/** Combinations per family: GOOG gets several (incl. short, trade-heavy periods). */
export const GOOG_COMBOS: Record<FamilyId, ParamSet[]> = {
  sma_cross: [{ fast: 10, slow: 30 }, { fast: 3, slow: 7 }, { fast: 20, slow: 100 }],
  ema_cross: [{ fast: 12, slow: 26 }, { fast: 4, slow: 9 }],
  rsi: [{ period: 14, oversold: 30, overbought: 70 }, { period: 5, oversold: 25, overbought: 60 }],
  bollinger: [{ period: 20, k: 2 }, { period: 10, k: 1.5 }],
  donchian_breakout: [{ period: 20, exit: 10, stopAtr: 2 }, { period: 10, exit: 5, stopAtr: 1 }],
};

/** One combination per family on the 100,000-bar series keeps the suite fast. */
export const LONG_COMBOS: Record<FamilyId, ParamSet[]> = {
  sma_cross: [{ fast: 10, slow: 30 }],
  ema_cross: [{ fast: 12, slow: 26 }],
  rsi: [{ period: 14, oversold: 30, overbought: 70 }],
  bollinger: [{ period: 20, k: 2 }],
  donchian_breakout: [{ period: 20, exit: 10, stopAtr: 2 }],
};

/** Fees and slippage on; the mode varies. */
export function conformanceConfig(mode: "long_only" | "long_short") {
  return { feeTaker: 0.001, slippageBps: 5, mode } as const;
}

const MODES = ["long_only", "long_short"] as const;

let _goog: Bars | null = null;
let _long: Bars | null = null;
/** The two datasets, loaded once per process. */
export function datasets(): { name: string; bars: Bars; combos: Record<FamilyId, ParamSet[]> }[] {
  _goog ??= loadGoog();
  _long ??= generateBars(100_000);
  return [
    { name: "GOOG.csv", bars: _goog, combos: GOOG_COMBOS },
    { name: "100,000 generated bars", bars: _long, combos: LONG_COMBOS },
  ];
}

const _classes = new Map<FamilyId, StrategyClass>();
async function exampleClass(id: FamilyId): Promise<StrategyClass> {
  let c = _classes.get(id);
  if (!c) {
    c = (await import(new URL(`../../${FAMILIES[id].example}`, import.meta.url).href))
      .default as StrategyClass;
    _classes.set(id, c);
  }
  return c;
}

function relErr(a: number, b: number): number {
  if (a === b) return 0;
  return Math.abs(a - b) / Math.max(Math.abs(a), Math.abs(b));
}

/** Asserts one backend result against the engine's result for the same combination. */
export function assertConforms(
  got: ComboMetrics,
  engine: Record<string, number | null>,
  where: string,
): void {
  assert.equal(got.trades, engine.numTrades, `${where}: trades`);
  const eq = engine.finalEquity as number;
  assert.ok(
    relErr(got.finalEquity, eq) <= 1e-4,
    `${where}: final equity ${got.finalEquity} vs engine ${eq}`,
  );
  const sh = engine.sharpeRatio ?? NaN;
  if (Number.isNaN(sh)) assert.ok(Number.isNaN(got.sharpe), `${where}: Sharpe should be NaN`);
  else {
    assert.ok(relErr(got.sharpe, sh) <= 1e-4, `${where}: Sharpe ${got.sharpe} vs engine ${sh}`);
  }
}

/**
 * Registers the suite for one backend: one `Deno.test` per dataset with a step per family and
 * mode. `ignore` (with a printed reason) skips it where the backend cannot run.
 */
export function conformanceSuite(
  backend: string,
  evaluate: EvaluateFn,
  opts: { ignoreReason?: () => Promise<string | null> } = {},
): void {
  for (const which of [0, 1]) {
    const label = which === 0 ? "GOOG.csv" : "100,000 generated bars";
    Deno.test(
      `${backend} backend matches the engine on ${label} for every family and mode`,
      async (t) => {
        const reason = opts.ignoreReason ? await opts.ignoreReason() : null;
        if (reason) {
          console.log(`skipped: ${reason}`);
          return;
        }
        const ds = datasets()[which];
        for (const family of Object.keys(FAMILIES) as FamilyId[]) {
          for (const mode of MODES) {
            await t.step(`${family} ${mode}`, async () => {
              const config = conformanceConfig(mode);
              const combos = ds.combos[family];
              const got = await evaluate(ds.bars, family, combos, config);
              assert.equal(got.length, combos.length);
              const S = await exampleClass(family);
              combos.forEach((p, i) => {
                const ref = runBacktest(ds.bars, S, { params: p, config });
                assertConforms(
                  got[i],
                  ref.metrics,
                  `${ds.name} ${family} ${mode} ${JSON.stringify(p)}`,
                );
              });
            });
          }
        }
      },
    );
  }
  Deno.test(`${backend} backend treats exact ties (equal averages, close on a band) like the engine`, async () => {
    const reason = opts.ignoreReason ? await opts.ignoreReason() : null;
    if (reason) {
      console.log(`skipped: ${reason}`);
      return;
    }
    const bars = tieBars(3000);
    const cases: [FamilyId, ParamSet[]][] = [
      ["sma_cross", [{ fast: 2, slow: 4 }, { fast: 3, slow: 6 }]],
      ["bollinger", [{ period: 4, k: 0 }, { period: 6, k: 0.5 }]],
      ["donchian_breakout", [{ period: 3, exit: 2, stopAtr: 1 }]],
    ];
    for (const mode of MODES) {
      const config = conformanceConfig(mode);
      for (const [family, combos] of cases) {
        const got = await evaluate(bars, family, combos, config);
        const S = await exampleClass(family);
        combos.forEach((p, i) => {
          const ref = runBacktest(bars, S, { params: p, config });
          assertConforms(got[i], ref.metrics, `ties ${family} ${mode} ${JSON.stringify(p)}`);
        });
      }
    }
  });
}
