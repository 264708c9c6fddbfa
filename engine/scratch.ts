/**
 * Reusable scratch arrays for the engine's internal temporaries (metrics, annualization).
 *
 * Why: a fresh 1M-element `Float64Array` is 8 MB of pages the OS has to fault in on first
 * touch. On the VMs this project runs on that costs 40–120 ms per 8 MB (measured; a second
 * write to the same pages costs 0.4 ms), so the half-dozen per-run temporaries of the metrics
 * cost more than the whole event loop. Reusing them across runs removes that cost for the
 * common case of many runs in a row (benchmarks, optimizer sweeps).
 *
 * The pool holds its arrays through `WeakRef`s: inside one synchronous job (a sweep) they stay
 * alive and are reused; once the job is over, the garbage collector may reclaim them, so an
 * idle process does not keep tens of megabytes for a run long finished.
 *
 * Rules for callers: a scratch array's contents are garbage on entry (write before reading),
 * it must never escape to a caller (never returned, never stored), and two temporaries alive
 * at the same time must use different slots. Slots are listed in {@linkcode SCRATCH}.
 *
 * @module
 */

/** Scratch slots; code holding one must not call anything that uses the same slot. */
export const SCRATCH = Object.freeze({
  /** `computeMetrics`' per-bar returns of the equity curve. */
  returns: 0,
  /** The result's buy-and-hold benchmark returns. */
  benchmark: 1,
  /** Leaf temporaries of metric functions and `inferAnnualization` (never held across calls). */
  temp: 2,
  /** A second leaf temporary, alive together with `temp` (alpha/beta). */
  temp2: 3,
});

const refs: (WeakRef<Float64Array> | null)[] = [null, null, null, null];

/** Shortest array worth pooling: below this a fresh allocation is as cheap (no page faults). */
const MIN_POOLED = 4096;

/**
 * A `Float64Array` of exactly `n` elements with arbitrary contents, backed by the slot's
 * reused buffer when it is large enough (a view of it), else by a new one that the slot keeps.
 */
export function scratchArray(slot: number, n: number): Float64Array {
  if (n < MIN_POOLED) return new Float64Array(n);
  let buf = refs[slot]?.deref();
  if (buf === undefined || buf.length < n) {
    buf = new Float64Array(n);
    refs[slot] = new WeakRef(buf);
  }
  return buf.length === n ? buf : buf.subarray(0, n);
}
