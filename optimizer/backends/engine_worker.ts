/**
 * Worker side of the pool: loads the strategy once from a `data:` URL (the pool starts it with
 * `deno: { permissions: "none" }`, so user code can reach no file, network or environment),
 * then runs the real engine for each combination of each chunk it is handed and answers with
 * compact metrics only. For a built-in family it instead runs the CPU decision kernel and the
 * float64 replay (gpu/family_grid.ts), keeping the indicator series across chunks.
 *
 * The gpu/ modules load only for a family (a dynamic import): a worker for strategy code
 * starts with the engine alone, which shortens every worker's start-up, a cost the pool pays
 * once per worker and that more workers do not divide.
 *
 * @module
 */
import { runBacktest, StrategyError } from "../../engine/backtest.ts";
import { validateBars } from "../../engine/bars.ts";
import type { FamilyId, SeriesCache } from "../../gpu/families.ts";
import { resolveConfig } from "../../engine/config.ts";
import { annualizationOf } from "../../engine/result.ts";
import type { BacktestConfig, Bars, StrategyClass } from "../../engine/types.ts";
import type { ParamSet } from "../grid.ts";
import type { ComboMetrics } from "../objective.ts";
import { compactMetricsOf, type MetricsScratch } from "./compact_metrics.ts";
import { errorReply, type PoolReply, type PoolRequest } from "./pool_protocol.ts";

/** The gpu/ modules a family needs, loaded on its init. */
async function gpuModules() {
  const [grid, families, rep] = await Promise.all([
    import("../../gpu/family_grid.ts"),
    import("../../gpu/families.ts"),
    import("../../gpu/replay.ts"),
  ]);
  return { ...grid, ...families, ...rep };
}
let gpu: Awaited<ReturnType<typeof gpuModules>> | null = null;
/** Settles when init has; later messages wait for it (init awaits imports). */
let initialized: Promise<void> = Promise.resolve();

let strategy: StrategyClass | null = null;
let family: { id: FamilyId; annualization: number } | null = null;
let cache: SeriesCache | null = null;
let bars: Bars | null = null;
let config: Partial<BacktestConfig> & { slippageBps?: number } = {};
/** The engine runs' annualization, inferred once per pool instead of once per combination. */
let annualization = 252;
const scratch: MetricsScratch = {};

/**
 * Engine options of every combination's run: no full metrics, no per-run bar check (`validate`
 * is the engine's RunOptions field for sweeps; an engine without it checks the bars, still
 * correct).
 */
const LEAN_RUN = { metrics: false, validate: false } as const;

const post = (m: PoolReply) => (self as unknown as Worker).postMessage(m);

self.onmessage = async (e: MessageEvent<PoolRequest>) => {
  const msg = e.data;
  if (msg.type === "init") {
    let done = () => {};
    initialized = new Promise<void>((r) => done = r);
    let stage = "Cannot load the strategy";
    try {
      if (msg.family) {
        gpu = await gpuModules();
        family = msg.family;
      } else {
        const mod = await import(msg.moduleUrl);
        const S = mod.default ?? Object.values(mod).find((v) => typeof v === "function");
        if (typeof S !== "function") {
          throw new TypeError("The strategy module has no default-exported class");
        }
        strategy = S as StrategyClass;
      }
      const c = msg.columns;
      bars = {
        length: c.timestamp.length,
        timestamp: c.timestamp,
        open: c.open,
        high: c.high,
        low: c.low,
        close: c.close,
        volume: c.volume,
      };
      config = msg.config;
      stage = "Invalid config";
      annualization = annualizationOf(resolveConfig(config), bars);
      // Checked once here, so that each combination's run can skip the pass (validate: false).
      stage = "Invalid bars";
      if (!msg.family) validateBars(bars);
      post({ type: "ready" });
    } catch (err) {
      // The strategy's own module failing to load (a top-level throw, no class) is the
      // strategy's failure, reported as one; the config and bars stages keep their class.
      const e = stage === "Cannot load the strategy" && !(err instanceof SyntaxError)
        ? new StrategyError(err instanceof Error ? err.message : String(err), -1)
        : err;
      post(errorReply(e, `${stage}: `));
    } finally {
      done();
    }
    return;
  }
  await initialized;
  if (msg.type === "replay") {
    try {
      const { FAMILIES, familyParams, replay } = gpu!;
      cache ??= new gpu!.SeriesCache(bars!);
      const fam = FAMILIES[family!.id];
      const ctx = {
        bars: bars!,
        config: resolveConfig(config),
        annualization: family!.annualization,
      };
      const results = msg.params.map((p, i) => {
        const rule = fam.rule(familyParams(fam, p));
        return replay(ctx, msg.events[i], {
          stopLevel: rule.stop ? cache!.get(rule.stop.level) : undefined,
        });
      });
      post({ type: "replayed", id: msg.id, results });
    } catch (err) {
      post(errorReply(err));
    }
    return;
  }
  if (msg.type === "chunk") {
    if (family) {
      try {
        cache ??= new gpu!.SeriesCache(bars!);
        const { evaluateFamilyGrid, CpuKernel } = gpu!;
        const results = await evaluateFamilyGrid(bars!, family.id, msg.params, new CpuKernel(), {
          config,
          annualization: family.annualization,
          cache,
        });
        post({ type: "done", start: msg.start, results });
      } catch (err) {
        post(errorReply(err));
      }
      return;
    }
    const results: ComboMetrics[] = [];
    let p: ParamSet | undefined;
    try {
      for (p of msg.params) {
        // The engine's loop without its full metrics (the compact ones come from the raw
        // equity curve, see compact_metrics.ts: the same numbers for a third less work) and
        // without re-validating the bars init validated.
        const r = runBacktest(bars!, strategy!, { ...LEAN_RUN, params: p, config });
        results.push(compactMetricsOf(r, annualization, scratch));
      }
      post({ type: "done", start: msg.start, results });
    } catch (err) {
      post(errorReply(err, `Combination ${JSON.stringify(p)}: `));
    }
  }
};
