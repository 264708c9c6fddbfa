/**
 * One entry point for parameter optimization, used by the CLI and the server
 * (`/api/optimization/start`).
 *
 * Request (`OptimizationRequest`): `bars`; `strategy` = `{ family: "sma_cross" | "ema_cross" |
 * "rsi" | "bollinger" | "donchian_breakout" }` or `{ code, lang? }` (user source, default
 * export a strategy class, no imports); `grid` = `{ params: { name: {min,max,step} |
 * {values} }, constraints?: ["fast < slow"] }`; optional `search` (`{ kind: "grid" }` default,
 * or `{ kind: "random", samples, seed? }`), `objective` (sharpe, sortino, calmar, cagr,
 * totalReturn, maxDrawdown, profitFactor; default sharpe), `filters` (["trades>=10"]), `top`,
 * `backend` ("auto" default | "workers" | "webgpu" | "gpujs" | "cpu"; auto = WebGPU on a
 * hardware adapter, else "cpu" for families and "workers" for code), `config` (engine
 * config: fees, slippageBps, mode, …), `fixed` (params held constant).
 *
 * Progress (`OptimizationProgress`, through `onProgress`): `{ done, total, best, points,
 * backend }`: `points` are the combinations finished since the previous call (for scatter
 * plots), `best` the best qualifying combination so far.
 *
 * Result (`OptimizationResult`): `{ backend, total, combos, best, top, objective, elapsedMs,
 * barEvaluations, barEvaluationsPerSecond, engineFallbacks }`; `combos` holds params + metrics
 * of every combination in grid order. Cancel with `signal` (an AbortSignal): the promise
 * rejects with the signal's reason, mid-grid.
 *
 * Grids of at least 2·10^7 bar-evaluations spread over one worker per core: backend "cpu"
 * runs the decision kernel and replay in the pool; "webgpu"/"gpujs" decide on the device and
 * replay in the pool while the device decides the next batch.
 *
 * @module
 */
import { runBacktest } from "../engine/backtest.ts";
import { resolveConfig } from "../engine/config.ts";
import { annualizationOf } from "../engine/result.ts";
import type { BacktestConfig, Bars, StrategyClass } from "../engine/types.ts";
import { CpuKernel, type DecisionKernel, evaluateFamilyGrid } from "../gpu/family_grid.ts";
import { FAMILIES, type FamilyId, familyParams, isFamilyId } from "../gpu/families.ts";
import { ReplayUnsupported } from "../gpu/replay.ts";
import { comboMetricsOf } from "./backends/pool_protocol.ts";
import { ReplayPool } from "./backends/replay_pool.ts";
import { runWorkerPool, type StrategySource } from "./backends/workers.ts";
import { runWorkerPoolIsolated } from "./backends/isolated_pool.ts";
import {
  checkConstraints,
  expandGrid,
  gridSize,
  type GridSpec,
  type ParamSet,
  rangeCount,
  rangeValueAt,
} from "./grid.ts";
import {
  better,
  type ComboMetrics,
  type ComboResult,
  type Filter,
  type ObjectiveName,
  parseFilter,
  parseObjective,
  passes,
  rankCombos,
} from "./objective.ts";
import { randomSample } from "./random_search.ts";

/** Backends by name; "auto" picks the fastest available for the strategy. */
export type BackendName = "auto" | "workers" | "webgpu" | "gpujs" | "cpu";

/** A built-in family or user source. */
export type StrategySpec = { family: FamilyId } | StrategySource;

/** What to optimize. */
export interface OptimizationRequest {
  bars: Bars;
  strategy: StrategySpec;
  grid: GridSpec;
  search?: { kind: "grid" } | { kind: "random"; samples: number; seed?: number };
  /** @default "sharpe" */
  objective?: ObjectiveName | string;
  filters?: (Filter | string)[];
  /** How many best combinations `top` holds. @default 10 */
  top?: number;
  /** @default "auto" */
  backend?: BackendName;
  config?: Partial<BacktestConfig> & { slippageBps?: number };
  /** Params held constant in every combination. */
  fixed?: ParamSet;
  /** Worker pool size (workers backend). @default one per core */
  workers?: number;
  /** Time budget per combination for strategy code on the workers backend. @default 120_000 */
  comboTimeoutMs?: number;
}

/** A progress report. */
export interface OptimizationProgress {
  done: number;
  total: number;
  best: ComboResult | null;
  /** Combinations finished since the previous report. */
  points: ComboResult[];
  backend: Exclude<BackendName, "auto">;
}

/** The final result. */
export interface OptimizationResult {
  backend: Exclude<BackendName, "auto">;
  /** Backend detail, e.g. the WebGPU adapter or the gpu.js mode. */
  backendInfo: string;
  objective: ObjectiveName;
  total: number;
  combos: ComboResult[];
  best: ComboResult | null;
  top: ComboResult[];
  elapsedMs: number;
  /** combinations × bars */
  barEvaluations: number;
  barEvaluationsPerSecond: number;
  /** Combinations the GPU replay handed to the engine (liquidations in Donchian). */
  engineFallbacks: number;
}

/** Options of `runOptimization`. */
export interface RunOptimizationOptions {
  onProgress?: (p: OptimizationProgress) => void;
  signal?: AbortSignal;
  /**
   * Smallest grid (combinations × bars) for which backend "cpu" starts a worker pool rather
   * than running in-process. 0 means always in a pool, even of one worker, which a server
   * needs to keep its event loop free. @default 20_000_000
   */
  poolMinBarEvaluations?: number;
  /**
   * Run strategy code (not a built-in family) in a subprocess with this V8 heap cap per
   * isolate (`runWorkerPoolIsolated`): what a server needs, where a Worker at the heap limit
   * would end the whole process. Absent: in this process' Workers.
   */
  isolate?: { memoryMb: number };
}

/** The source text of a built-in family's example strategy. */
export async function familySource(id: FamilyId): Promise<StrategySource> {
  const url = new URL(`../${FAMILIES[id].example}`, import.meta.url);
  return { code: await Deno.readTextFile(url), lang: "ts" };
}

/** The strategy class of a built-in family (trusted code, imported in-process). */
export async function familyClass(id: FamilyId): Promise<StrategyClass> {
  const mod = await import(new URL(`../${FAMILIES[id].example}`, import.meta.url).href);
  return mod.default as StrategyClass;
}

/**
 * Which backend "auto" means here: for a built-in family WebGPU on a hardware adapter, else the
 * CPU decision kernel (in a worker pool for large grids); for user code the engine worker pool.
 * On a software adapter (llvmpipe) WebGPU and gpu.js are correct but slower than the CPU
 * kernel (bench/optimizer_bench.ts), so auto does not pick them.
 */
export async function autoBackend(strategy: StrategySpec): Promise<Exclude<BackendName, "auto">> {
  if (!("family" in strategy)) return "workers";
  try {
    const adapter = await navigator.gpu?.requestAdapter();
    // deno-lint-ignore no-explicit-any
    const info = (adapter as any)?.info;
    // deno-lint-ignore no-explicit-any
    if (adapter && !(info?.isFallbackAdapter ?? (adapter as any).isFallbackAdapter)) {
      return "webgpu";
    }
  } catch {
    // no WebGPU here
  }
  return "cpu";
}

/** Grids with fewer bar-evaluations than this run the CPU kernel in-process (no pool start-up). */
const POOL_MIN_BAR_EVALUATIONS = 20_000_000;

async function _kernel(name: "webgpu" | "gpujs" | "cpu"): Promise<DecisionKernel> {
  if (name === "cpu") return new CpuKernel();
  if (name === "webgpu") {
    const { WebGpuKernel } = await import("../gpu/webgpu_backend.ts");
    return await WebGpuKernel.create();
  }
  const { GpuJsKernel } = await import("../gpu/gpujs_backend.ts");
  return new GpuJsKernel({ mode: "gpu" });
}

/**
 * Checks what of a request needs no data: the objective, the filters, the grid's axes (each
 * counted, none built), its constraints' names, and for a built-in family each parameter's
 * name and the values the axes and `fixed` give it. Throws `RangeError` / `SyntaxError`
 * naming the first problem, as `runOptimization` would, later, after loading the bars.
 */
export function checkOptimizationRequest(req: Omit<OptimizationRequest, "bars">): void {
  parseObjective(req.objective ?? "sharpe");
  for (const f of req.filters ?? []) if (typeof f === "string") parseFilter(f);
  gridSize(req.grid);
  const fixed = req.fixed ?? {};
  checkConstraints(req.grid, fixed);
  if ("family" in req.strategy && isFamilyId(req.strategy.family)) {
    const family = FAMILIES[req.strategy.family];
    familyParams(family, fixed);
    for (const [name, spec] of Object.entries(req.grid.params)) {
      // A list's every value; a range's ends and its second value (a fractional step of an
      // integer parameter shows there).
      const n = rangeCount(name, spec);
      const values = "values" in spec
        ? spec.values
        : [0, Math.min(1, n - 1), n - 1].map((i) => rangeValueAt(name, spec, i));
      for (const v of values) familyParams(family, { ...fixed, [name]: v });
    }
  }
}

/** The combinations a request evaluates (grid or random sample), constraints applied. */
export function requestCombos(req: OptimizationRequest): ParamSet[] {
  const search = req.search ?? { kind: "grid" };
  if (search.kind === "random") {
    return randomSample(req.grid, search.samples, { seed: search.seed, fixed: req.fixed });
  }
  return expandGrid(req.grid, req.fixed ?? {});
}

/**
 * Runs an optimization; see the module doc for the request, progress and result shapes.
 *
 * @example
 * ```ts
 * const res = await runOptimization({
 *   bars, strategy: { family: "sma_cross" },
 *   grid: { params: { fast: { min: 5, max: 20, step: 5 }, slow: { min: 30, max: 90, step: 10 } },
 *     constraints: ["fast < slow"] },
 *   objective: "sharpe", filters: ["trades>=10"],
 * }, { onProgress: (p) => console.log(p.done, "/", p.total) });
 * res.best?.params; // { fast: …, slow: … }
 * ```
 */
export async function runOptimization(
  req: OptimizationRequest,
  opts: RunOptimizationOptions = {},
): Promise<OptimizationResult> {
  const t0 = performance.now();
  const objective = parseObjective(req.objective ?? "sharpe");
  const filters = (req.filters ?? []).map((f) => (typeof f === "string" ? parseFilter(f) : f));
  const config = resolveConfig(req.config ?? {});
  const combos = requestCombos(req);
  const total = combos.length;
  const strategy = req.strategy;
  if ("family" in strategy && !isFamilyId(strategy.family)) {
    throw new RangeError(
      `Unknown family "${strategy.family}": use one of ${Object.keys(FAMILIES).join(", ")}`,
    );
  }
  let backend = req.backend ?? "auto";
  if (backend === "auto") backend = await autoBackend(strategy);
  if (backend !== "workers" && !("family" in strategy)) {
    throw new RangeError(
      `Backend "${backend}" runs only the built-in families; use "workers" for strategy code`,
    );
  }

  const results: ComboMetrics[] = new Array(total);
  let done = 0;
  let best: ComboResult | null = null;
  const report = (start: number, ms: ComboMetrics[]) => {
    const points: ComboResult[] = [];
    for (let k = 0; k < ms.length; k++) {
      const c: ComboResult = { params: combos[start + k], metrics: ms[k] };
      results[start + k] = ms[k];
      points.push(c);
      if (passes(c.metrics, filters) && (!best || better(c.metrics, best.metrics, objective))) {
        best = c;
      }
    }
    done += ms.length;
    opts.onProgress?.({ done, total, best, points, backend: backend as "workers" });
  };

  let info = "";
  let fallbacks = 0;
  const poolSize = Math.max(1, Math.min(req.workers ?? navigator.hardwareConcurrency ?? 1, total));
  if (
    backend === "cpu" && "family" in strategy &&
    (poolSize > 1 || opts.poolMinBarEvaluations === 0) &&
    total * req.bars.length >= (opts.poolMinBarEvaluations ?? POOL_MIN_BAR_EVALUATIONS)
  ) {
    // the CPU kernel, split over a worker pool: one core each
    info = `cpu reference kernel × ${poolSize} workers`;
    await runWorkerPool(req.bars, { code: "" }, combos, {
      size: poolSize,
      config: req.config,
      family: { id: strategy.family, annualization: annualizationOf(config, req.bars) },
      chunkSize: Math.max(1, Math.min(64, Math.floor(total / (poolSize * 8)))),
      onChunk: report,
      signal: opts.signal,
    });
  } else if (backend === "workers") {
    const source = "family" in strategy ? await familySource(strategy.family) : strategy;
    info = `engine × ${poolSize} workers`;
    const poolOpts = {
      size: req.workers,
      comboTimeoutMs: "family" in strategy ? undefined : req.comboTimeoutMs ?? 120_000,
      config: req.config,
      onChunk: report,
      signal: opts.signal,
    };
    if (opts.isolate && !("family" in strategy)) {
      info += `, in a subprocess (heap cap ${opts.isolate.memoryMb} MB)`;
      await runWorkerPoolIsolated(req.bars, source, combos, { ...poolOpts, ...opts.isolate });
    } else await runWorkerPool(req.bars, source, combos, poolOpts);
  } else {
    const family = (strategy as { family: FamilyId }).family;
    const kernel = await _kernel(backend);
    info = kernel.name === "webgpu"
      ? `webgpu (${(kernel as unknown as { adapterInfo: string }).adapterInfo})`
      : kernel.name === "gpujs"
      ? `gpu.js ${(kernel as unknown as { backendName: string }).backendName}`
      : "cpu reference kernel";
    const fallbackIdx: number[] = [];
    // big grids replay on every core while the device decides the next batch
    const pool = (poolSize > 1 || opts.poolMinBarEvaluations === 0) &&
        total * req.bars.length >= (opts.poolMinBarEvaluations ?? POOL_MIN_BAR_EVALUATIONS)
      ? new ReplayPool(req.bars, {
        size: poolSize,
        family: { id: family, annualization: annualizationOf(config, req.bars) },
        config: req.config,
      })
      : null;
    if (pool) info += `, replay × ${poolSize} workers`;
    try {
      await evaluateFamilyGrid(req.bars, family, combos, kernel, {
        replayer: pool
          ? (start, events) => pool.replay(combos.slice(start, start + events.length), events)
          : undefined,
        config: req.config,
        annualization: annualizationOf(config, req.bars),
        signal: opts.signal,
        maxBatch: Math.max(64, Math.ceil(total / 20)),
        onFallback: (i) => fallbackIdx.push(i),
        onBatch: (start, ms) => {
          // fallbacks are re-run below before they are reported
          report(start, ms.map((m, k) => fallbackIdx.includes(start + k) ? _engineOnly(m) : m));
        },
      });
    } catch (e) {
      if (e instanceof ReplayUnsupported) {
        throw new RangeError(`${e.message}; use backend "workers"`);
      }
      throw e;
    } finally {
      pool?.close();
      kernel.dispose();
    }
    if (fallbackIdx.length > 0) {
      const S = await familyClass(family);
      for (const i of fallbackIdx) {
        opts.signal?.throwIfAborted();
        const r = runBacktest(req.bars, S, { params: combos[i], config: req.config });
        results[i] = comboMetricsOf(r.metrics);
      }
      fallbacks = fallbackIdx.length;
      best = null;
      for (let i = 0; i < total; i++) {
        const m = results[i];
        if (passes(m, filters) && (!best || better(m, best.metrics, objective))) {
          best = { params: combos[i], metrics: m };
        }
      }
    }
  }
  const all: ComboResult[] = combos.map((p, i) => ({ params: p, metrics: results[i] }));
  const top = rankCombos(all, { objective, filters, top: req.top ?? 10 });
  const elapsedMs = performance.now() - t0;
  const barEvaluations = total * req.bars.length;
  return {
    backend: backend as Exclude<BackendName, "auto">,
    backendInfo: info,
    objective,
    total,
    combos: all,
    best: top[0] ?? null,
    top,
    elapsedMs,
    barEvaluations,
    barEvaluationsPerSecond: elapsedMs > 0 ? barEvaluations / (elapsedMs / 1000) : NaN,
    engineFallbacks: fallbacks,
  };
}

/** A placeholder for a combination the engine will re-run (kept out of "best so far"). */
function _engineOnly(m: ComboMetrics): ComboMetrics {
  return { ...m, sharpe: NaN, sortino: NaN, calmar: NaN, cagr: NaN, totalReturn: NaN };
}
