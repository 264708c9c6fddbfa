/**
 * Evaluates a grid of one built-in family with a decision kernel (WebGPU, gpu.js or the CPU
 * reference): prepares rules and series once, batches combinations so the series they read fit
 * the device, runs the kernel per batch, and replays each combination's events in float64.
 *
 * @module
 */
import { resolveConfig } from "../engine/config.ts";
import type { BacktestConfig, Bars } from "../engine/types.ts";
import type { ParamSet } from "../optimizer/grid.ts";
import type { ComboMetrics } from "../optimizer/objective.ts";
import { decideEvents } from "./decide.ts";
import {
  type ComboRule,
  FAMILIES,
  type FamilyId,
  familyParams,
  ruleSeries,
  SeriesCache,
  type SeriesSource,
} from "./families.ts";
import { type Batch, MAX_BARS, planBatches } from "./pack.ts";
import { assertReplayable, replay, type ReplayContext, type ReplayResult } from "./replay.ts";

/** One batch handed to a kernel: its rules and the float64 series they read, by slot. */
export interface KernelBatch {
  /** Bars in every series. */
  n: number;
  rules: ComboRule[];
  /** Distinct series of the batch in slot order (names and values). */
  seriesNames: string[];
  series: Float64Array[];
}

/** A device that turns a batch into per-combination event lists. */
export interface DecisionKernel {
  /** Backend name for reports ("webgpu", "gpujs", "cpu"). */
  readonly name: string;
  /** How many series of `n` bars one batch may read. */
  maxSeries(n: number): number;
  /** Most combinations per batch. */
  maxCombos(n: number): number;
  /** Events of each combination of the batch, in order. */
  decide(batch: KernelBatch): Promise<Uint32Array[]>;
  /** Releases device resources. */
  dispose(): void;
}

/** The CPU reference kernel (`decideEvents`), used in tests and where no device exists. */
export class CpuKernel implements DecisionKernel {
  readonly name = "cpu";
  maxSeries(_n: number): number {
    return 1 << 20;
  }
  maxCombos(_n: number): number {
    return 4096;
  }
  decide(batch: KernelBatch): Promise<Uint32Array[]> {
    const cache = new _Preloaded(batch);
    return Promise.resolve(batch.rules.map((r) => decideEvents(r, cache, batch.n)));
  }
  dispose(): void {}
}

class _Preloaded implements SeriesSource {
  #m = new Map<string, Float64Array>();
  constructor(b: KernelBatch) {
    b.seriesNames.forEach((s, i) => this.#m.set(s, b.series[i]));
  }
  get(name: string): Float64Array {
    const v = this.#m.get(name);
    if (!v) throw new Error(`Series ${name} was not uploaded`);
    return v;
  }
}

/** Options of `evaluateFamilyGrid`. */
export interface FamilyGridOptions {
  config?: Partial<BacktestConfig> & { slippageBps?: number };
  /** Periods per year for Sharpe/Sortino/CAGR (the engine's inferred value). */
  annualization: number;
  /** Called after each batch with the combinations done so far and their results. */
  onBatch?: (start: number, results: ComboMetrics[]) => void;
  signal?: AbortSignal;
  /** Combinations the engine must decide (a liquidation happened): their indices. */
  onFallback?: (index: number) => void;
  /** Most combinations per batch, for progress and cancel granularity. @default no limit */
  maxBatch?: number;
  /** Series computed by earlier calls on the same bars (a worker keeps one across chunks). */
  cache?: SeriesCache;
  /**
   * Replays a batch elsewhere (a worker pool): gets the index of the batch's first
   * combination and its events, resolves with metrics and fallback flags. Batches are then
   * pipelined: the kernel decides the next batch while earlier ones replay.
   */
  replayer?: (start: number, events: Uint32Array[]) => Promise<ReplayResult[]>;
}

/**
 * Metrics of every combination (in order) of `familyId` on `bars`, decided by `kernel`.
 * Combinations whose replay hit the maintenance margin are reported through `onFallback`
 * (their metrics here are the replay's, which the caller should replace with the engine's).
 */
export async function evaluateFamilyGrid(
  bars: Bars,
  familyId: FamilyId,
  combos: ParamSet[],
  kernel: DecisionKernel,
  opts: FamilyGridOptions,
): Promise<ComboMetrics[]> {
  const family = FAMILIES[familyId];
  const config = resolveConfig(opts.config ?? {});
  assertReplayable(config);
  const n = bars.length;
  if (n >= MAX_BARS) throw new RangeError(`Too many bars for the GPU backends: ${n}`);
  const rules = combos.map((p) => family.rule(familyParams(family, p)));
  const needs = rules.map(ruleSeries);
  const batches: Batch[] = planBatches(needs, {
    maxSeries: Math.max(1, kernel.maxSeries(n)),
    maxCombos: Math.max(1, Math.min(kernel.maxCombos(n), opts.maxBatch ?? Infinity)),
  });
  const cache = opts.cache ?? new SeriesCache(bars);
  const ctx: ReplayContext = { bars, config, annualization: opts.annualization };
  const out: ComboMetrics[] = new Array(combos.length);
  const pending: Promise<void>[] = [];
  const take = (start: number, results: ReplayResult[]) => {
    opts.signal?.throwIfAborted();
    const res: ComboMetrics[] = [];
    results.forEach((r, i) => {
      if (r.fallback) opts.onFallback?.(start + i);
      out[start + i] = r.metrics;
      res.push(r.metrics);
    });
    opts.onBatch?.(start, res);
  };
  for (const b of batches) {
    opts.signal?.throwIfAborted();
    const batch: KernelBatch = {
      n,
      rules: rules.slice(b.start, b.end),
      seriesNames: b.series,
      series: b.series.map((s) => cache.get(s)),
    };
    const events = await kernel.decide(batch);
    if (opts.replayer) {
      const p = opts.replayer(b.start, events).then((r) => take(b.start, r));
      // a later failure (cancel) abandons it: keep its rejection from going unhandled
      p.catch(() => {});
      pending.push(p);
      // let finished replays report (and a cancel land) before the next batch
      await new Promise((r) => setTimeout(r, 0));
      continue;
    }
    take(
      b.start,
      events.map((ev, i) => {
        const rule = batch.rules[i];
        return replay(ctx, ev, { stopLevel: rule.stop ? cache.get(rule.stop.level) : undefined });
      }),
    );
  }
  await Promise.all(pending);
  return out;
}
