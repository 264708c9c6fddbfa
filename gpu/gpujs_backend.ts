/**
 * gpu.js decision kernel. gpu.js computes one output cell per thread, so the mapping is one
 * thread per (combination, block of 12 bars): each evaluates the family's enter and exit
 * conditions at its bars on f32-exact key chunks (gpu/pack.ts) and returns the 2-bit codes
 * `enter + 2 × exit` packed into one exact f32 integer. The CPU
 * then runs the tiny target/stop state machine over those codes (the same one as the WGSL
 * kernel and `decideEvents`) to produce the events the float64 replay consumes.
 *
 * Modes: "cpu" (plain JavaScript), "gpu" (gpu.js picks its best backend; in Deno that is its
 * WebAssembly backend) and "webgpu" (WGSL through gpu.js).
 *
 * @module
 */
import { GPU } from "gpu.js";
import type { ComboRule, Operand } from "./families.ts";
import type { DecisionKernel, KernelBatch } from "./family_grid.ts";
import { chunkKey, encodeEvent, NAN_CHUNK, orderKey, writeChunks } from "./pack.ts";

/** gpu.js modes this backend accepts. */
export type GpuJsMode = "cpu" | "gpu" | "webgpu";

/** Floats per combination in the meta table: 6 refs, flags, 6 × 3 constant chunks. */
const META = 25;

function _fetch(k: number, tExpr: string, v: string): string {
  // ref < 0: a constant stored in the meta row; else the series row `ref`
  return `
    let ${v}0 = 0; let ${v}1 = 0; let ${v}2 = 0;
    if (meta[c][${k}] < 0) {
      ${v}0 = meta[c][${7 + 3 * k}]; ${v}1 = meta[c][${8 + 3 * k}]; ${v}2 = meta[c][${9 + 3 * k}];
    } else {
      ${v}0 = series[meta[c][${k}]][${tExpr} * 3];
      ${v}1 = series[meta[c][${k}]][${tExpr} * 3 + 1];
      ${v}2 = series[meta[c][${k}]][${tExpr} * 3 + 2];
    }`;
}

function _cmp(a: string, b: string, out: string): string {
  return `
    let ${out} = 0;
    if (${a}0 >= ${NAN_CHUNK} || ${b}0 >= ${NAN_CHUNK}) { ${out} = -2; }
    else if (${a}0 != ${b}0) { ${out} = ${a}0 < ${b}0 ? -1 : 1; }
    else if (${a}1 != ${b}1) { ${out} = ${a}1 < ${b}1 ? -1 : 1; }
    else if (${a}2 != ${b}2) { ${out} = ${a}2 < ${b}2 ? -1 : 1; }`;
}

function _cond(l: number, flagGt: number, flagCross: number, out: string): string {
  // flags are decoded with floor/mod arithmetic: gpu.js kernels have no bitwise operators
  return `
    let ${out} = 0;
    {
      const gt = Math.floor(flags / ${flagGt}) % 2;
      const cross = Math.floor(flags / ${flagCross}) % 2;
      ${_fetch(l, "t", "a")}
      ${_fetch(l + 1, "t", "b")}
      ${_cmp("a", "b", "r")}
      if ((gt == 1 && r == 1) || (gt == 0 && r == -1)) {
        ${out} = 1;
        if (cross == 1) {
          if (t == 0) { ${out} = 0; }
          else {
            ${_fetch(l, "(t - 1)", "p")}
            ${_fetch(l + 1, "(t - 1)", "q")}
            ${_cmp("p", "q", "rp")}
            if (gt == 1 && !(rp == 0 || rp == -1)) { ${out} = 0; }
            if (gt == 0 && !(rp == 0 || rp == 1)) { ${out} = 0; }
          }
        }
      }
    }`;
}

/** Bars per thread: their 2-bit codes pack into 24 bits, an integer f32 holds exactly. */
export const BARS_PER_THREAD = 12;

/**
 * The gpu.js kernel source: one thread per (block of 12 bars x, combination y); returns the
 * sum over the block of (enter + 2·exit) × 4^j. Packing amortizes the per-thread work (the
 * combination's meta row) and cuts the output 12-fold.
 */
export const GPUJS_KERNEL_SOURCE = `function (series, meta, n) {
  const c = this.thread.y;
  const flags = meta[c][6];
  let acc = 0;
  let mul = 1;
  for (let j = 0; j < ${12}; j++) {
    const t = this.thread.x * ${12} + j;
    if (t < n) {
      ${_cond(0, 1, 2, "enter")}
      ${_cond(2, 4, 8, "exit")}
      acc = acc + (enter + 2 * exit) * mul;
    }
    mul = mul * 4;
  }
  return acc;
}`;

/** Builds the meta table (one row per combination) for `rules` over `slots`. */
export function packMeta(
  rules: readonly ComboRule[],
  slots: ReadonlyMap<string, number>,
): Float32Array[] {
  return rules.map((r) => {
    const row = new Float32Array(META);
    const put = (k: number, o: Operand) => {
      if ("series" in o) {
        const slot = slots.get(o.series);
        if (slot === undefined) throw new Error(`Series ${o.series} is not in the batch`);
        row[k] = slot;
      } else {
        row[k] = -1;
        const [hi, lo] = orderKey(o.const);
        const ch = chunkKey(hi, lo);
        row[7 + 3 * k] = ch[0];
        row[8 + 3 * k] = ch[1];
        row[9 + 3 * k] = ch[2];
      }
    };
    put(0, r.enter.lhs);
    put(1, r.enter.rhs);
    put(2, r.exit.lhs);
    put(3, r.exit.rhs);
    row[6] = (r.enter.op === "gt" ? 1 : 0) + (r.enter.cross ? 2 : 0) +
      (r.exit.op === "gt" ? 4 : 0) + (r.exit.cross ? 8 : 0);
    return row;
  });
}

/**
 * The state machine over per-bar condition codes (bit 0 enter, bit 1 exit): the same rules as
 * `decideEvents` and the WGSL kernel. `stopLevel`/`low` are given for stop rules.
 */
export function eventsFromCodes(
  codes: ArrayLike<number>,
  offset: number,
  n: number,
  stop: { level: Float64Array; low: Float64Array } | null,
): Uint32Array {
  const out: number[] = [];
  let target = 0, stopAt = NaN, stopFrom = -1;
  for (let t = 0; t < n; t++) {
    if (stop && target === 1 && t >= stopFrom && stop.low[t] <= stopAt) {
      out.push(encodeEvent(t, 3));
      target = 0;
    }
    const code = codes[offset + t];
    let sig = code === 1 || code === 3 ? 1 : code === 2 ? -1 : 0;
    if (stop) {
      if (sig === 1 && !(stop.level[t] > 0)) sig = 0;
      if (sig === -1 && target !== 1) sig = 0;
    }
    if (sig !== 0 && sig !== target) {
      out.push(encodeEvent(t, sig === 1 ? 1 : 2));
      target = sig;
      if (stop && sig === 1) {
        stopAt = stop.level[t];
        stopFrom = t + 2;
      }
    }
  }
  return Uint32Array.from(out);
}

function _unpack(packed: ArrayLike<number>, n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let b = 0, t = 0; t < n; b++) {
    let v = packed[b] >>> 0;
    for (let j = 0; j < BARS_PER_THREAD && t < n; j++, t++) {
      out[t] = v & 3;
      v >>>= 2;
    }
  }
  return out;
}

/** Options of `GpuJsKernel`. */
export interface GpuJsKernelOptions {
  /** @default "gpu" */
  mode?: GpuJsMode;
  /** Output cells (combinations × bars) per kernel call. @default 4_194_304 */
  maxCells?: number;
}

/** The gpu.js decision kernel. */
export class GpuJsKernel implements DecisionKernel {
  readonly name = "gpujs";
  readonly mode: GpuJsMode;
  #gpu: GPU;
  #maxCells: number;

  constructor(opts: GpuJsKernelOptions = {}) {
    this.mode = opts.mode ?? "gpu";
    this.#gpu = new GPU({ mode: this.mode });
    this.#maxCells = opts.maxCells ?? 4_194_304;
  }

  /** The backend gpu.js actually runs on (e.g. "cpu", "webasm", "webgpu"). */
  get backendName(): string {
    // deno-lint-ignore no-explicit-any
    const g = this.#gpu as any;
    return g.Kernel?.mode ?? g.mode ?? this.mode;
  }

  maxSeries(n: number): number {
    // keep one series row under 2^24 floats: exact f32 indexing on every gpu.js backend
    return n * 3 < (1 << 24) ? 256 : 0;
  }

  maxCombos(n: number): number {
    return Math.max(1, Math.floor(this.#maxCells / Math.max(1, Math.ceil(n / BARS_PER_THREAD))));
  }

  async decide(batch: KernelBatch): Promise<Uint32Array[]> {
    const n = batch.n;
    const slots = new Map(batch.seriesNames.map((s, i) => [s, i] as const));
    const series = batch.series.map((s) => {
      const row = new Float32Array(n * 3);
      writeChunks(s, row, 0);
      return row;
    });
    const meta = packMeta(batch.rules, slots);
    const blocks = Math.ceil(n / BARS_PER_THREAD);
    const kernel = this.#gpu.createKernel(GPUJS_KERNEL_SOURCE, {
      output: [blocks, batch.rules.length],
      loopMaxIterations: BARS_PER_THREAD,
      tactic: "precision",
      precision: "single",
      dynamicArguments: false,
      // deno-lint-ignore no-explicit-any
    } as any);
    try {
      // deno-lint-ignore no-explicit-any
      let res: any = (kernel as any)(series, meta, n);
      if (res && typeof res.then === "function") res = await res;
      const rows = res as Float32Array[];
      return batch.rules.map((r, i) => {
        const stop = r.stop
          ? { level: batch.series[slots.get(r.stop.level)!], low: batch.series[slots.get("low")!] }
          : null;
        return eventsFromCodes(_unpack(rows[i], n), 0, n, stop);
      });
    } finally {
      // deno-lint-ignore no-explicit-any
      (kernel as any).destroy?.();
    }
  }

  dispose(): void {
    // deno-lint-ignore no-explicit-any
    (this.#gpu as any).destroy?.();
  }
}
