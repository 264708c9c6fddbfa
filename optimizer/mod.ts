/**
 * WagYu's parameter optimizer: grids, objectives, random search, walk-forward, the worker pool
 * and KV shards. `runOptimization` is the one entry point the CLI and the server call.
 *
 * @module
 */
export {
  expandGrid,
  gridSize,
  type GridSpec,
  type ParamSet,
  type ParamSpec,
  type ParamValue,
  parseConstraint,
  parseParamArg,
} from "./grid.ts";
export {
  type ComboMetrics,
  type ComboResult,
  type Filter,
  type ObjectiveName,
  OBJECTIVES,
  parseFilter,
  parseObjective,
  rankCombos,
} from "./objective.ts";
export { randomSample } from "./random_search.ts";
export {
  autoBackend,
  type BackendName,
  type OptimizationProgress,
  type OptimizationRequest,
  type OptimizationResult,
  runOptimization,
  type RunOptimizationOptions,
  type StrategySpec,
} from "./run_optimization.ts";
export {
  runWalkForward,
  type WalkForwardRequest,
  type WalkForwardResult,
  walkForwardWindows,
} from "./walk_forward.ts";
export { runWorkerPool, type StrategySource, type WorkerPoolOptions } from "./backends/workers.ts";
export {
  collectShards,
  enqueueShards,
  listenForShards,
  processShard,
  type ShardJob,
} from "./kv_shards.ts";
