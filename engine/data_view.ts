/**
 * The strategy's `data`: history up to and including the current bar.
 *
 * The strategy never sees the engine's bar arrays: it sees {@linkcode VisibleBars}, separate
 * columns the engine fills up to the current bar `t` only, so they (and their backing buffers)
 * hold no later bar. Columns are allocated and filled lazily, only when a strategy first reads
 * them, and views are made at most once per bar and only for the fields it touches: a strategy
 * that reads none of them costs no copy and no allocation per bar.
 *
 * @module
 */
import type { Bar, Bars, DataView } from "./types.ts";

/** The engine's current bar index, shared by the views it hands to a strategy. */
export interface Clock {
  t: number;
}

const EMPTY: Float64Array = new Float64Array(0);

/**
 * Columns of finished runs, all zeros, for the next run over bars of the same length.
 *
 * Why: a fresh 8 MB column (1M bars) is 2,048 pages the OS faults in on first touch, which on
 * the VMs this project runs on cost more than the whole event loop (see engine/scratch.ts).
 * Sweeps and benchmarks run the same bars over and over, so each run takes its columns from
 * here and gives them back zeroed. Held through `WeakRef`s: reused within one synchronous job,
 * reclaimable by the garbage collector once it is over.
 *
 * No look-ahead: a pooled column holds nothing (zeros) and the next run fills it up to its
 * current bar only, so a view a strategy kept from an earlier run never shows a bar after the
 * current one of the run in progress either.
 */
const POOL: WeakRef<Float64Array>[] = [];
/** Most columns kept (six per run, two runs' worth). */
const POOL_MAX = 12;

/** A zeroed column of `n` values: a pooled one when there is one of that length, else new. */
function takeColumn(n: number): Float64Array {
  for (let i = POOL.length - 1; i >= 0; i--) {
    const a = POOL[i].deref();
    if (a === undefined) {
      POOL.splice(i, 1);
    } else if (a.length === n) {
      POOL.splice(i, 1);
      return a;
    }
  }
  return new Float64Array(n);
}

/** Column order of {@linkcode VisibleBars.column}. */
export const COLUMN = Object.freeze({
  timestamp: 0,
  open: 1,
  high: 2,
  low: 3,
  close: 4,
  volume: 5,
});

/**
 * The strategy-visible copy of a bar series: each column is allocated on first use and filled
 * from the source up to the index asked for, never beyond it.
 */
export class VisibleBars {
  /** Number of bars in the source (the columns' length once allocated). */
  readonly length: number;
  #src: Float64Array[];
  #cols: Float64Array[] = [EMPTY, EMPTY, EMPTY, EMPTY, EMPTY, EMPTY];
  /** Last bar copied into each column (-1: none; columns are allocated at the first copy). */
  #synced: Int32Array = new Int32Array(6).fill(-1);
  /** Columns handed out as views (bit `1 << k`): strategy code may have written anywhere in them. */
  #exposed = 0;

  constructor(src: Bars) {
    this.length = src.length;
    this.#src = [src.timestamp, src.open, src.high, src.low, src.close, src.volume];
  }

  /** Column `k` (see {@linkcode COLUMN}) filled up to bar `t`; later slots stay 0. */
  column(k: number, t: number): Float64Array {
    let s = this.#synced[k];
    let a = this.#cols[k];
    if (s >= t && a.length === this.length) return a;
    // EMPTY until first use rather than null: one element kind, a monomorphic per-bar path.
    if (a.length !== this.length) a = this.#cols[k] = takeColumn(this.length);
    const src = this.#src[k];
    while (s < t) {
      s++;
      a[s] = src[s];
    }
    this.#synced[k] = s;
    return a;
  }

  /**
   * Column `k` filled up to bar `t`, as a new view of its first `t + 1` values. A constructor
   * over the column's buffer (offset 0) instead of `subarray`: same view, without the species
   * lookup, which made this the most expensive line of a `data.close` strategy.
   */
  view(k: number, t: number): Float64Array {
    this.#exposed |= 1 << k;
    const a = this.#cols[k];
    // The per-bar case (one bar further than last time) without the call into `column`.
    if (this.#synced[k] === t - 1 && a.length === this.length) {
      a[t] = this.#src[k][t];
      this.#synced[k] = t;
      return new Float64Array(a.buffer, 0, t + 1);
    }
    return new Float64Array(this.column(k, t).buffer, 0, t + 1);
  }

  /**
   * Gives the columns back to the pool, zeroed (the run is over). A later read allocates again,
   * so a strategy that still reads its `data` after the run gets correct, if fresh, columns.
   */
  release(): void {
    const n = this.length;
    if (n < 4096) return; // small columns cost no page faults worth pooling
    for (let k = 0; k < 6; k++) {
      const a = this.#cols[k];
      if (a.length !== n) continue;
      // A column seen through a view may hold anything the strategy wrote past its end.
      if ((this.#exposed & (1 << k)) !== 0) a.fill(0);
      else a.fill(0, 0, this.#synced[k] + 1);
      this.#cols[k] = EMPTY;
      this.#synced[k] = -1;
      if (POOL.length >= POOL_MAX) POOL.shift();
      POOL.push(new WeakRef(a));
    }
    this.#exposed = 0;
  }

  /** The source value of column `k` at bar `t` (callers pass only the current bar or earlier). */
  at(k: number, t: number): number {
    return this.#src[k][t];
  }
}

/**
 * `data.bar`: one bar, read-only. Fields are getters over the bar's index, so building one costs
 * a single small object (no boxed numbers); `JSON.stringify` gives the plain object.
 */
export class BarView implements Bar {
  #v: VisibleBars;
  #t: number;

  constructor(visible: VisibleBars, t: number) {
    this.#v = visible;
    this.#t = t;
  }

  get time(): number {
    return this.#v.at(0, this.#t);
  }
  get open(): number {
    return this.#v.at(1, this.#t);
  }
  get high(): number {
    return this.#v.at(2, this.#t);
  }
  get low(): number {
    return this.#v.at(3, this.#t);
  }
  get close(): number {
    return this.#v.at(4, this.#t);
  }
  get volume(): number {
    return this.#v.at(5, this.#t);
  }

  /** The bar as a plain object. */
  toJSON(): Bar {
    return {
      time: this.time,
      open: this.open,
      high: this.high,
      low: this.low,
      close: this.close,
      volume: this.volume,
    };
  }
}

/** `DataView` over arrays the engine fills bar by bar; see the module doc. */
export class BarDataView implements DataView {
  #v: VisibleBars;
  #clock: Clock;
  #tsAt = -1;
  #ts: Float64Array = EMPTY;
  #openAt = -1;
  #open: Float64Array = EMPTY;
  #highAt = -1;
  #high: Float64Array = EMPTY;
  #lowAt = -1;
  #low: Float64Array = EMPTY;
  #closeAt = -1;
  #close: Float64Array = EMPTY;
  #volumeAt = -1;
  #volume: Float64Array = EMPTY;
  #barAt = -1;
  #bar: Bar | null = null;

  /** Reads `visible` up to `clock.t`, the engine's current bar. */
  constructor(visible: VisibleBars, clock: Clock) {
    this.#v = visible;
    this.#clock = clock;
  }

  /** Number of visible bars (current index + 1). */
  get length(): number {
    return this.#clock.t + 1;
  }

  get timestamp(): Float64Array {
    const t = this.#clock.t;
    if (this.#tsAt !== t) {
      this.#ts = this.#v.view(0, t);
      this.#tsAt = t;
    }
    return this.#ts;
  }

  get open(): Float64Array {
    const t = this.#clock.t;
    if (this.#openAt !== t) {
      this.#open = this.#v.view(1, t);
      this.#openAt = t;
    }
    return this.#open;
  }

  get high(): Float64Array {
    const t = this.#clock.t;
    if (this.#highAt !== t) {
      this.#high = this.#v.view(2, t);
      this.#highAt = t;
    }
    return this.#high;
  }

  get low(): Float64Array {
    const t = this.#clock.t;
    if (this.#lowAt !== t) {
      this.#low = this.#v.view(3, t);
      this.#lowAt = t;
    }
    return this.#low;
  }

  get close(): Float64Array {
    const t = this.#clock.t;
    if (this.#closeAt !== t) {
      this.#close = this.#v.view(4, t);
      this.#closeAt = t;
    }
    return this.#close;
  }

  get volume(): Float64Array {
    const t = this.#clock.t;
    if (this.#volumeAt !== t) {
      this.#volume = this.#v.view(5, t);
      this.#volumeAt = t;
    }
    return this.#volume;
  }

  /** The current bar (a new read-only object each bar, so a kept reference stays true). */
  get bar(): Bar {
    const t = this.#clock.t;
    if (this.#barAt !== t || this.#bar === null) {
      this.#bar = new BarView(this.#v, t);
      this.#barAt = t;
    }
    return this.#bar;
  }
}
