/**
 * Buffer layout math for the GPU backends, pure and testable without a device.
 *
 * Exactness: the kernels never do arithmetic on prices. Every value a rule compares (an
 * indicator at bar t, a price, a threshold) is computed once in float64 on the CPU and uploaded
 * as an order-preserving integer key, so that `key(a) < key(b)` exactly when `a < b` in float64.
 * A comparison on the device therefore decides exactly what the engine's float64 comparison
 * decides, including ties, and the trade list agrees bar for bar. WGSL reads a key as two u32
 * words; gpu.js (whose numbers are f32 on its accelerated backends) reads three 22-bit chunks,
 * each exactly representable in f32.
 *
 * @module
 */

/** Key words of NaN (both words all ones): compares false with everything, like float64 NaN. */
export const NAN_WORD = 0xffffffff;

const _f64 = new Float64Array(1);
const _u32 = new Uint32Array(_f64.buffer);

/**
 * The order-preserving key of a float64 as [high word, low word]: flips all bits of negatives
 * and the sign bit of positives, so unsigned lexicographic order equals numeric order. -0 is
 * folded onto +0 (they are equal in float64) and every NaN onto [NAN_WORD, NAN_WORD].
 *
 * @example
 * ```ts
 * const [ah, al] = orderKey(1.5), [bh, bl] = orderKey(2);
 * ah < bh || (ah === bh && al < bl); // true
 * ```
 */
export function orderKey(x: number): [number, number] {
  if (Number.isNaN(x)) return [NAN_WORD, NAN_WORD];
  _f64[0] = x === 0 ? 0 : x;
  // little-endian: _u32[1] holds sign, exponent and the top of the mantissa
  let hi = _u32[1], lo = _u32[0];
  if (hi & 0x80000000) {
    hi = ~hi >>> 0;
    lo = ~lo >>> 0;
  } else {
    hi = (hi | 0x80000000) >>> 0;
  }
  return [hi, lo];
}

/** Writes the keys of `src` into `dst` as interleaved [hi, lo] words starting at `offset`. */
export function writeKeys(src: Float64Array, dst: Uint32Array, offset: number): void {
  const f = new Float64Array(1), u = new Uint32Array(f.buffer);
  for (let i = 0, j = offset; i < src.length; i++, j += 2) {
    const x = src[i];
    if (x !== x) {
      dst[j] = NAN_WORD;
      dst[j + 1] = NAN_WORD;
      continue;
    }
    f[0] = x === 0 ? 0 : x;
    const hi = u[1], lo = u[0];
    if (hi & 0x80000000) {
      dst[j] = ~hi >>> 0;
      dst[j + 1] = ~lo >>> 0;
    } else {
      dst[j] = (hi | 0x80000000) >>> 0;
      dst[j + 1] = lo;
    }
  }
}

/**
 * Three-way comparison of two keys the way the kernels do it: -2 when either is NaN
 * (unordered), else -1, 0 or 1.
 */
export function compareKeys(ah: number, al: number, bh: number, bl: number): number {
  if ((ah === NAN_WORD && al === NAN_WORD) || (bh === NAN_WORD && bl === NAN_WORD)) return -2;
  if (ah !== bh) return ah < bh ? -1 : 1;
  if (al !== bl) return al < bl ? -1 : 1;
  return 0;
}

/** Chunk size (bits) of the f32-safe key split used by gpu.js: 22 + 21 + 21 = 64 bits. */
export const CHUNK_BITS = [22, 21, 21] as const;

/** NaN marker of the f32 chunk form (no key chunk reaches it: chunks are < 2^22). */
export const NAN_CHUNK = 4194304 * 2;

/**
 * Splits a key into three integers below 2^22, each exact in f32; lexicographic order of the
 * triples equals numeric order. NaN becomes [NAN_CHUNK, NAN_CHUNK, NAN_CHUNK].
 */
export function chunkKey(hi: number, lo: number): [number, number, number] {
  if (hi === NAN_WORD && lo === NAN_WORD) return [NAN_CHUNK, NAN_CHUNK, NAN_CHUNK];
  const c0 = hi >>> 10; // top 22 bits
  const c1 = ((hi & 0x3ff) << 11) | (lo >>> 21); // 10 + 11 = 21 bits
  const c2 = lo & 0x1fffff; // 21 bits
  return [c0, c1 >>> 0, c2];
}

/** Writes the f32 chunk form of `src` into `dst` as interleaved triples starting at `offset`. */
export function writeChunks(src: Float64Array, dst: Float32Array, offset: number): void {
  const tmp = new Uint32Array(2);
  for (let i = 0, j = offset; i < src.length; i++, j += 3) {
    writeKeys(src.subarray(i, i + 1), tmp, 0);
    const c = chunkKey(tmp[0], tmp[1]);
    dst[j] = c[0];
    dst[j + 1] = c[1];
    dst[j + 2] = c[2];
  }
}

/** Operand reference meaning "a constant stored in the combo record" rather than a series. */
export const CONST_REF = 0xffffffff;

/**
 * u32 words per combination in the WGSL combo buffer:
 * [0..5] operand refs (enter lhs, enter rhs, exit lhs, exit rhs, stop level, unused),
 * [6] flags, [7] unused, [8..19] constant keys (hi, lo) of the six operands.
 */
export const COMBO_WORDS = 20;

/** Flag bits of word 6 of a combo record. */
export const FLAG = {
  /** Enter condition is lhs > rhs (else lhs < rhs). */
  enterGt: 1,
  /** Enter requires a cross: the opposite-or-equal relation on the previous bar. */
  enterCross: 2,
  exitGt: 4,
  exitCross: 8,
  /** A protective stop: exit when low ≤ the stop level fixed at the entry-signal bar. */
  stop: 16,
} as const;

/** Per-combination output words: one count word then `capacity` event words. */
export function outputWords(capacity: number): number {
  return capacity + 1;
}

/**
 * Event word: bar index shifted left by 2, low bits the code. Codes: 1 = target long,
 * 2 = target short/flat (-1), 3 = protective stop hit on this bar.
 */
export function encodeEvent(bar: number, code: 1 | 2 | 3): number {
  return ((bar << 2) | code) >>> 0;
}

/** Inverse of `encodeEvent`. */
export function decodeEvent(word: number): { bar: number; code: number } {
  return { bar: word >>> 2, code: word & 3 };
}

/** Largest bar count the event encoding can index. */
export const MAX_BARS = 1 << 30;

/** A batch: combinations [start, end) and the distinct series they read, in slot order. */
export interface Batch {
  start: number;
  end: number;
  series: string[];
}

/**
 * Splits combinations into batches whose distinct series fit the device buffer limit and
 * whose outputs fit `maxCombos`. Combinations keep their order; a batch grows while the union
 * of the series it reads stays within `maxSeries`.
 *
 * @example
 * ```ts
 * planBatches([["a", "b"], ["a", "c"], ["d", "e"]], { maxSeries: 3, maxCombos: 10 });
 * // [{ start: 0, end: 2, series: ["a", "b", "c"] }, { start: 2, end: 3, series: ["d", "e"] }]
 * ```
 */
export function planBatches(
  comboSeries: readonly (readonly string[])[],
  opts: { maxSeries: number; maxCombos: number },
): Batch[] {
  if (!(opts.maxSeries >= 1)) throw new RangeError(`maxSeries must be >= 1, got ${opts.maxSeries}`);
  if (!(opts.maxCombos >= 1)) throw new RangeError(`maxCombos must be >= 1, got ${opts.maxCombos}`);
  const batches: Batch[] = [];
  let cur: Batch | null = null;
  let set = new Set<string>();
  for (let i = 0; i < comboSeries.length; i++) {
    const need = comboSeries[i];
    if (need.length > opts.maxSeries) {
      throw new RangeError(
        `Combination ${i} reads ${need.length} series; the device holds ${opts.maxSeries}`,
      );
    }
    let added = 0;
    for (const s of need) if (!set.has(s)) added++;
    if (cur && (set.size + added > opts.maxSeries || cur.end - cur.start >= opts.maxCombos)) {
      batches.push(cur);
      cur = null;
    }
    if (!cur) {
      cur = { start: i, end: i, series: [] };
      set = new Set();
    }
    for (const s of need) {
      if (!set.has(s)) {
        set.add(s);
        cur.series.push(s);
      }
    }
    cur.end = i + 1;
  }
  if (cur) batches.push(cur);
  return batches;
}

/** How many series of `bars` bars fit a storage binding of `maxBindingBytes` (8 bytes a key). */
export function maxSeriesFor(bars: number, maxBindingBytes: number): number {
  return Math.floor(maxBindingBytes / (bars * 8));
}
