/**
 * Worker side of the pool: loads the strategy once from a `data:` URL (the pool starts it with
 * `deno: { permissions: "none" }`, so user code can reach no file, network or environment),
 * then runs the real engine for each combination of each chunk it is handed and answers with
 * compact metrics only. For a built-in family it instead runs the CPU decision kernel and the
 * float64 replay (gpu/family_grid.ts), keeping the indicator series across chunks.
 *
 * @module
 */
import { runBacktest } from "../../engine/backtest.ts";
import { CpuKernel, evaluateFamilyGrid } from "../../gpu/family_grid.ts";
import { FAMILIES, type FamilyId, familyParams, SeriesCache } from "../../gpu/families.ts";
import { replay } from "../../gpu/replay.ts";
import { resolveConfig } from "../../engine/config.ts";
import type { BacktestConfig, Bars, StrategyClass } from "../../engine/types.ts";
import type { ParamSet } from "../grid.ts";
import type { ComboMetrics } from "../objective.ts";
import { comboMetricsOf, type PoolReply, type PoolRequest } from "./pool_protocol.ts";

let strategy: StrategyClass | null = null;
let family: { id: FamilyId; annualization: number } | null = null;
let cache: SeriesCache | null = null;
let bars: Bars | null = null;
let config: Partial<BacktestConfig> & { slippageBps?: number } = {};

const post = (m: PoolReply) => (self as unknown as Worker).postMessage(m);

self.onmessage = async (e: MessageEvent<PoolRequest>) => {
  const msg = e.data;
  if (msg.type === "init") {
    try {
      if (msg.family) {
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
      post({ type: "ready" });
    } catch (err) {
      post({ type: "error", message: `Cannot load the strategy: ${(err as Error).message}` });
    }
    return;
  }
  if (msg.type === "replay") {
    try {
      cache ??= new SeriesCache(bars!);
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
      post({ type: "error", message: (err as Error).message });
    }
    return;
  }
  if (msg.type === "chunk") {
    if (family) {
      try {
        cache ??= new SeriesCache(bars!);
        const results = await evaluateFamilyGrid(bars!, family.id, msg.params, new CpuKernel(), {
          config,
          annualization: family.annualization,
          cache,
        });
        post({ type: "done", start: msg.start, results });
      } catch (err) {
        post({ type: "error", message: (err as Error).message });
      }
      return;
    }
    const results: ComboMetrics[] = [];
    let p: ParamSet | undefined;
    try {
      for (p of msg.params) {
        const r = runBacktest(bars!, strategy!, { params: p, config });
        results.push(comboMetricsOf(r.metrics));
      }
      post({ type: "done", start: msg.start, results });
    } catch (err) {
      post({
        type: "error",
        message: `Combination ${JSON.stringify(p)}: ${(err as Error).message}`,
      });
    }
  }
};
