/**
 * In-place selection of the k-th smallest value (quickselect), shared by the metrics'
 * percentiles and the annualization's median.
 *
 * @module
 */

/** The median of the first, middle and last of a[lo..hi]: the pivot of both selections. */
function medianOf3(a: Float64Array, lo: number, hi: number): number {
  const x = a[lo];
  const y = a[(lo + hi) >>> 1];
  const z = a[hi];
  return x < y ? (y < z ? y : x < z ? z : x) : (x < z ? x : y < z ? z : y);
}

/** Where {@linkcode hoarePartition} left its left index (its return value is the right one). */
let partitionEnd = 0;

/**
 * One Hoare partition of a[lo..hi] around `pivot`: returns the final right index j and leaves
 * the left index i in `partitionEnd` (a[lo..j] ≤ pivot ≤ a[i..hi]).
 *
 * A function of its own, so that V8 compiles it whole: inlined in `selectKth`'s outer loop,
 * its inner scans were compiled on stack replacement from inside, and each scan's exit
 * deoptimized ("exit from OSR'd inner loop": ~170 deopts and recompiles in the metrics of one
 * 1M-bar backtest), and a fresh isolate's first selection over a million values took 13–17 ms
 * instead of 9.
 */
function hoarePartition(a: Float64Array, lo: number, hi: number, pivot: number): number {
  let i = lo;
  let j = hi;
  while (i <= j) {
    while (a[i] < pivot) i++;
    while (a[j] > pivot) j--;
    if (i <= j) {
      const t = a[i];
      a[i] = a[j];
      a[j] = t;
      i++;
      j--;
    }
  }
  partitionEnd = i;
  return j;
}

/**
 * Reorders the NaN-free `a` so that `a[k]` is its k-th smallest value, with nothing larger before
 * it and nothing smaller after it (numpy's `partition`): O(n) where a full sort is O(n log n).
 */
export function selectKth(a: Float64Array, k: number): void {
  let lo = 0;
  let hi = a.length - 1;
  // Quickselect degrades on adversarial input: after enough rounds, sort what is left.
  let rounds = 64;
  while (hi > lo) {
    if (hi - lo < 16 || --rounds < 0) {
      a.subarray(lo, hi + 1).sort();
      return;
    }
    const j = hoarePartition(a, lo, hi, medianOf3(a, lo, hi));
    const i = partitionEnd;
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else return; // a[j+1 .. i-1] all equal the pivot
  }
}

/**
 * Like {@linkcode selectKth} (same postcondition on values), with a three-way partition that
 * sets every value equal to the pivot aside in one pass: much faster on series with many equal
 * values (a strategy's returns are exactly 0 on every bar it is flat). It leaves `a` in a
 * different order than `selectKth`, so use it only where the result depends on values alone
 * (a percentile), not on the order of the elements before `k` (a mean over them).
 */
export function selectKth3Way(a: Float64Array, k: number): void {
  let lo = 0;
  let hi = a.length - 1;
  let rounds = 64;
  while (hi > lo) {
    if (hi - lo < 16 || --rounds < 0) {
      a.subarray(lo, hi + 1).sort();
      return;
    }
    const pivot = medianOf3(a, lo, hi);
    // Dijkstra: a[lo..lt) < pivot, a[lt..i) == pivot, a(gt..hi] > pivot.
    let lt = lo;
    let i = lo;
    let gt = hi;
    while (i <= gt) {
      const v = a[i];
      if (v < pivot) {
        a[i] = a[lt];
        a[lt] = v;
        lt++;
        i++;
      } else if (v > pivot) {
        a[i] = a[gt];
        a[gt] = v;
        gt--;
      } else {
        i++;
      }
    }
    if (k < lt) hi = lt - 1;
    else if (k > gt) lo = gt + 1;
    else return; // a[k] equals the pivot
  }
}
