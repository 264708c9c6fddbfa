/**
 * WebGPU decision kernel: one WGSL invocation per parameter combination walks the bars,
 * evaluates the family rule on order-preserving keys (exact float64 comparisons, see
 * gpu/pack.ts) and writes its target changes and stop hits to a per-combination slice of the
 * output buffer. A batch's series are uploaded once; a combination whose events overflow its
 * slice runs again with room for all of them.
 *
 * @module
 */
import type { ComboRule, Operand } from "./families.ts";
import type { DecisionKernel, KernelBatch } from "./family_grid.ts";
import { COMBO_WORDS, CONST_REF, FLAG, NAN_WORD, orderKey, writeKeys } from "./pack.ts";
import { BackendUnavailableError } from "./backend_unavailable_error.ts";

const WORKGROUP = 64;
/** Bars per dispatch (see the kernel: llvmpipe caps a loop at 65535 iterations). */
const PASS_BARS = 32768;

/** The WGSL source of the decision kernel (exported for inspection and tests). */
export const DECIDE_WGSL = /* wgsl */ `
struct Params { n: u32, cap: u32, count: u32, start: u32, end: u32, pad0: u32, pad1: u32, pad2: u32 };
@group(0) @binding(0) var<storage, read> series: array<vec2<u32>>;
@group(0) @binding(1) var<storage, read> combos: array<u32>;
@group(0) @binding(2) var<storage, read_write> out: array<u32>;
@group(0) @binding(3) var<uniform> P: Params;
// Per combination, carried between passes: target, stop key (hi, lo), stop-from bar.
@group(0) @binding(4) var<storage, read_write> state: array<u32>;

const W: u32 = ${COMBO_WORDS}u;
const CONST_REF: u32 = ${CONST_REF}u;
const NANW: u32 = ${NAN_WORD}u;

fn isnan_key(a: vec2<u32>) -> bool { return a.x == NANW && a.y == NANW; }

// -2 unordered (a NaN), -1 less, 0 equal, 1 greater: float64 order on keys.
fn cmpk(a: vec2<u32>, b: vec2<u32>) -> i32 {
  if (isnan_key(a) || isnan_key(b)) { return -2; }
  if (a.x != b.x) { return select(1, -1, a.x < b.x); }
  if (a.y != b.y) { return select(1, -1, a.y < b.y); }
  return 0;
}

fn operand(base: u32, k: u32, t: u32) -> vec2<u32> {
  let r = combos[base + k];
  if (r == CONST_REF) { return vec2<u32>(combos[base + 8u + 2u * k], combos[base + 9u + 2u * k]); }
  return series[r * P.n + t];
}

fn cond(base: u32, l: u32, gt: bool, cross: bool, t: u32) -> bool {
  let c = cmpk(operand(base, l, t), operand(base, l + 1u, t));
  let now = select(c == -1, c == 1, gt);
  if (!now || !cross) { return now; }
  if (t == 0u) { return false; }
  let p = cmpk(operand(base, l, t - 1u), operand(base, l + 1u, t - 1u));
  // crossover needs a[t-1] <= b[t-1]; crossunder a[t-1] >= b[t-1] (false on NaN)
  return select(p == 0 || p == 1, p == 0 || p == -1, gt);
}

@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * ${WORKGROUP}u;
  if (i >= P.count) { return; }
  let base = i * W;
  let flags = combos[base + 6u];
  let enterGt = (flags & ${FLAG.enterGt}u) != 0u;
  let enterCross = (flags & ${FLAG.enterCross}u) != 0u;
  let exitGt = (flags & ${FLAG.exitGt}u) != 0u;
  let exitCross = (flags & ${FLAG.exitCross}u) != 0u;
  let hasStop = (flags & ${FLAG.stop}u) != 0u;
  let o = i * (P.cap + 1u);
  let so = i * 4u;
  // One pass covers bars [P.start, P.end) (at most 32768): llvmpipe, Mesa's software
  // rasterizer, silently ends a shader loop after 65535 iterations, so long series run as
  // several dispatches with the state machine carried in \`state\`.
  var count: u32 = out[o];
  var tgt: i32 = bitcast<i32>(state[so]);
  var stopAt = vec2<u32>(state[so + 1u], state[so + 2u]);
  var stopFrom: u32 = state[so + 3u];
  for (var t: u32 = P.start; t < P.end; t = t + 1u) {
    if (hasStop && tgt == 1 && t >= stopFrom) {
      let c = cmpk(operand(base, 5u, t), stopAt);
      if (c == -1 || c == 0) {
        if (count < P.cap) { out[o + 1u + count] = (t << 2u) | 3u; }
        count = count + 1u;
        tgt = 0;
      }
    }
    var sig: i32 = 0;
    if (cond(base, 0u, enterGt, enterCross, t)) { sig = 1; }
    else if (cond(base, 2u, exitGt, exitCross, t)) { sig = -1; }
    if (hasStop) {
      // explicit orders: buy only with a stop level > 0, close only when long
      if (sig == 1 && cmpk(operand(base, 4u, t), vec2<u32>(0x80000000u, 0u)) != 1) { sig = 0; }
      if (sig == -1 && tgt != 1) { sig = 0; }
    }
    if (sig != 0 && sig != tgt) {
      if (count < P.cap) { out[o + 1u + count] = (t << 2u) | select(2u, 1u, sig == 1); }
      count = count + 1u;
      tgt = sig;
      if (hasStop && sig == 1) {
        stopAt = operand(base, 4u, t);
        stopFrom = t + 2u;
      }
    }
  }
  out[o] = count;
  state[so] = bitcast<u32>(tgt);
  state[so + 1u] = stopAt.x;
  state[so + 2u] = stopAt.y;
  state[so + 3u] = stopFrom;
}
`;

/** Packs the rules of a batch into combo records (see `COMBO_WORDS`). */
export function packCombos(
  rules: readonly ComboRule[],
  slots: ReadonlyMap<string, number>,
): Uint32Array {
  const buf = new Uint32Array(rules.length * COMBO_WORDS);
  const put = (base: number, k: number, o: Operand) => {
    if ("series" in o) {
      const slot = slots.get(o.series);
      if (slot === undefined) throw new Error(`Series ${o.series} is not in the batch`);
      buf[base + k] = slot;
    } else {
      buf[base + k] = CONST_REF;
      const [hi, lo] = orderKey(o.const);
      buf[base + 8 + 2 * k] = hi;
      buf[base + 9 + 2 * k] = lo;
    }
  };
  rules.forEach((r, i) => {
    const base = i * COMBO_WORDS;
    put(base, 0, r.enter.lhs);
    put(base, 1, r.enter.rhs);
    put(base, 2, r.exit.lhs);
    put(base, 3, r.exit.rhs);
    let flags = 0;
    if (r.enter.op === "gt") flags |= FLAG.enterGt;
    if (r.enter.cross) flags |= FLAG.enterCross;
    if (r.exit.op === "gt") flags |= FLAG.exitGt;
    if (r.exit.cross) flags |= FLAG.exitCross;
    if (r.stop) {
      flags |= FLAG.stop;
      put(base, 4, { series: r.stop.level });
      put(base, 5, { series: "low" });
    }
    buf[base + 6] = flags;
  });
  return buf;
}

/** Why no WebGPU device could be had here, or null when one was. */
export async function webgpuUnavailableReason(): Promise<string | null> {
  if (typeof navigator === "undefined" || !("gpu" in navigator) || !navigator.gpu) {
    return "navigator.gpu is missing (run with --unstable-webgpu)";
  }
  try {
    const adapter = await navigator.gpu.requestAdapter();
    return adapter ? null : "navigator.gpu.requestAdapter() returned null (no adapter)";
  } catch (e) {
    return `requestAdapter() failed: ${(e as Error).message}`;
  }
}

/** Options of `WebGpuKernel.create`. */
export interface WebGpuKernelOptions {
  /**
   * Event slots per combination in a batch's first pass; combinations with more events are
   * re-run with room for them. Later batches start from what earlier ones needed. @default 256
   */
  capacity?: number;
  /**
   * Largest storage buffer to use, in bytes (at most the device's limits; tests lower it to
   * exercise splitting). @default the device's maxStorageBufferBindingSize / maxBufferSize
   */
  maxBindingBytes?: number;
}

/** The WebGPU decision kernel. Create with `await WebGpuKernel.create()`. */
export class WebGpuKernel implements DecisionKernel {
  readonly name = "webgpu";
  readonly adapterInfo: string;
  readonly isFallbackAdapter: boolean;
  #device: GPUDevice;
  #pipeline: GPUComputePipeline;
  #capacity: number;
  #maxBinding: number;
  /** Events the busiest combination of the last batch needed: the next batch's first guess. */
  #learned = 0;

  private constructor(
    device: GPUDevice,
    pipeline: GPUComputePipeline,
    info: string,
    fallback: boolean,
    capacity: number,
    maxBindingBytes: number,
  ) {
    this.#device = device;
    this.#pipeline = pipeline;
    this.adapterInfo = info;
    this.isFallbackAdapter = fallback;
    this.#capacity = capacity;
    this.#maxBinding = Math.min(
      device.limits.maxStorageBufferBindingSize,
      device.limits.maxBufferSize,
      maxBindingBytes,
    );
  }

  /** Requests an adapter and compiles the kernel; throws when no adapter exists. */
  static async create(opts: WebGpuKernelOptions = {}): Promise<WebGpuKernel> {
    const reason = await webgpuUnavailableReason();
    if (reason) throw new BackendUnavailableError("webgpu", `WebGPU unavailable: ${reason}`);
    const adapter = (await navigator.gpu.requestAdapter({ powerPreference: "high-performance" }))!;
    const device = await adapter.requestDevice({
      requiredLimits: {
        maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize,
        maxBufferSize: adapter.limits.maxBufferSize,
      },
    });
    const module = device.createShaderModule({ code: DECIDE_WGSL });
    const pipeline = await device.createComputePipelineAsync({
      layout: "auto",
      compute: { module, entryPoint: "main" },
    });
    // deno-lint-ignore no-explicit-any
    const info = (adapter as any).info as GPUAdapterInfo | undefined;
    return new WebGpuKernel(
      device,
      pipeline,
      info ? `${info.description || info.vendor} ${info.device ?? ""}`.trim() : "unknown",
      // deno-lint-ignore no-explicit-any
      Boolean((info as any)?.isFallbackAdapter ?? (adapter as any).isFallbackAdapter),
      opts.capacity ?? 256,
      opts.maxBindingBytes ?? Infinity,
    );
  }

  maxSeries(n: number): number {
    return Math.floor(this.#maxBinding / (n * 8));
  }

  maxCombos(_n: number): number {
    const perCombo = (this.#capacity + 1) * 4;
    return Math.max(1, Math.min(1 << 20, Math.floor(this.#maxBinding / perCombo)));
  }

  async decide(batch: KernelBatch): Promise<Uint32Array[]> {
    const slots = new Map(batch.seriesNames.map((s, i) => [s, i] as const));
    const keys = new Uint32Array(Math.max(2, batch.series.length * batch.n * 2));
    batch.series.forEach((s, i) => writeKeys(s, keys, i * batch.n * 2));
    const seriesBuf = this.#upload(keys, GPUBufferUsage.STORAGE);
    try {
      const all = Array.from({ length: batch.rules.length }, (_, i) => i);
      const result: Uint32Array[] = new Array(batch.rules.length);
      // First guess: the configured capacity, or what the last batch needed when more (grids
      // on long series trade thousands of times: a second pass for every combination would
      // double the device time). Capped so that one combination's slots fit in a buffer.
      const perComboMax = Math.max(1, Math.floor(this.#maxBinding / 4) - 1);
      let cap = Math.min(
        Math.max(this.#capacity, this.#learned),
        Math.max(1, batch.n),
        perComboMax,
      );
      let todo = all, most = 0;
      while (todo.length > 0) {
        const again: number[] = [];
        let need = 0;
        // Dispatches whose output buffer (count × (cap + 1) words) stays within the limit.
        const per = Math.max(1, Math.floor(this.#maxBinding / ((cap + 1) * 4)));
        for (let at = 0; at < todo.length; at += per) {
          const part = todo.slice(at, at + per);
          const rules = part.map((i) => batch.rules[i]);
          const { counts, events } = await this.#run(seriesBuf, rules, slots, batch.n, cap);
          part.forEach((ci, k) => {
            most = Math.max(most, counts[k]);
            if (counts[k] > cap) {
              again.push(ci);
              need = Math.max(need, counts[k]);
            } else result[ci] = events[k];
          });
        }
        if (again.length > 0 && need > perComboMax) {
          throw new RangeError(
            `A combination has ${need} events, more than a ${this.#maxBinding}-byte buffer holds`,
          );
        }
        todo = again;
        cap = need;
      }
      this.#learned = most;
      return result;
    } finally {
      seriesBuf.destroy();
    }
  }

  #upload(data: Uint32Array, usage: number): GPUBuffer {
    const buf = this.#device.createBuffer({
      size: Math.max(16, Math.ceil(data.byteLength / 4) * 4),
      usage: usage | GPUBufferUsage.COPY_DST,
    });
    this.#device.queue.writeBuffer(buf, 0, data);
    return buf;
  }

  async #run(
    seriesBuf: GPUBuffer,
    rules: ComboRule[],
    slots: Map<string, number>,
    n: number,
    cap: number,
  ): Promise<{ counts: Uint32Array; events: Uint32Array[] }> {
    const count = rules.length;
    const comboBuf = this.#upload(packCombos(rules, slots), GPUBufferUsage.STORAGE);
    const outBytes = count * (cap + 1) * 4;
    const outBuf = this.#device.createBuffer({
      size: outBytes,
      usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC,
    });
    const readBuf = this.#device.createBuffer({
      size: outBytes,
      usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
    });
    const init = new Uint32Array(count * 4);
    for (let i = 0; i < count; i++) init.set([0, NAN_WORD, NAN_WORD, 0xffffffff], i * 4);
    const stateBuf = this.#upload(init, GPUBufferUsage.STORAGE);
    const paramBufs: GPUBuffer[] = [];
    try {
      const groups = Math.ceil(count / WORKGROUP);
      const gx = Math.min(groups, 65535), gy = Math.ceil(groups / 65535);
      const enc = this.#device.createCommandEncoder();
      for (let start = 0; start < n; start += PASS_BARS) {
        const end = Math.min(n, start + PASS_BARS);
        const paramBuf = this.#upload(
          new Uint32Array([n, cap, count, start, end, 0, 0, 0]),
          GPUBufferUsage.UNIFORM,
        );
        paramBufs.push(paramBuf);
        const bind = this.#device.createBindGroup({
          layout: this.#pipeline.getBindGroupLayout(0),
          entries: [
            { binding: 0, resource: { buffer: seriesBuf } },
            { binding: 1, resource: { buffer: comboBuf } },
            { binding: 2, resource: { buffer: outBuf } },
            { binding: 3, resource: { buffer: paramBuf } },
            { binding: 4, resource: { buffer: stateBuf } },
          ],
        });
        const pass = enc.beginComputePass();
        pass.setPipeline(this.#pipeline);
        pass.setBindGroup(0, bind);
        pass.dispatchWorkgroups(gx, gy);
        pass.end();
      }
      enc.copyBufferToBuffer(outBuf, 0, readBuf, 0, outBytes);
      this.#device.queue.submit([enc.finish()]);
      await readBuf.mapAsync(GPUMapMode.READ);
      const words = new Uint32Array(readBuf.getMappedRange().slice(0));
      readBuf.unmap();
      const counts = new Uint32Array(count);
      const events: Uint32Array[] = new Array(count);
      for (let i = 0; i < count; i++) {
        const o = i * (cap + 1);
        counts[i] = words[o];
        events[i] = words.slice(o + 1, o + 1 + Math.min(words[o], cap));
      }
      return { counts, events };
    } finally {
      comboBuf.destroy();
      outBuf.destroy();
      readBuf.destroy();
      stateBuf.destroy();
      for (const b of paramBufs) b.destroy();
    }
  }

  dispose(): void {
    this.#device.destroy();
  }
}
