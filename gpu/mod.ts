/**
 * The GPU backends of the optimizer: built-in families as exact decision kernels (WGSL through
 * WebGPU, gpu.js, and the CPU reference), buffer layout math, and the float64 replay that turns
 * decisions into the engine's metrics.
 *
 * @module
 */
export { FAMILIES, type Family, type FamilyId, isFamilyId, SeriesCache } from "./families.ts";
export {
  CpuKernel,
  type DecisionKernel,
  evaluateFamilyGrid,
  type FamilyGridOptions,
} from "./family_grid.ts";
export { decideEvents } from "./decide.ts";
export { replay, ReplayUnsupported } from "./replay.ts";
export { WebGpuKernel, webgpuUnavailableReason } from "./webgpu_backend.ts";
export { GpuJsKernel, type GpuJsMode } from "./gpujs_backend.ts";
export { chunkKey, compareKeys, orderKey, planBatches } from "./pack.ts";
