/**
 * `ctx.ta`: incremental indicators without look-ahead.
 *
 * The engine calls `setIndex(t)` before `OnData` at bar `t`. Each distinct (indicator,
 * parameters, source) gets its own state machine from engine/indicators.ts on first use, fed
 * the bars in order; the value handed out at bar `t` is the state machine's output after
 * consuming bars `0..t`, so it depends on no later bar. A strategy that asks for an indicator
 * only on some bars therefore still gets exactly the value of the full series at `t`.
 *
 * Two ways of feeding, one answer (tests/engine/ta_test.ts checks both against the series):
 * - by default the arrays are filled bar by bar by the caller and every call catches its
 *   state machine up from the last bar it consumed to `t`, reading indices `≤ t` only;
 * - with `ahead` (the engine's mode) the arrays are the engine's complete series, which the
 *   strategy never sees: single-series indicators then run their state machine over blocks of
 *   {@linkcode AHEAD} bars in one tight loop (the indicator's `nextBlock`, state in locals,
 *   where it has one) and keep the outputs, and a call at bar `t`
 *   returns the kept output for `t`. The outputs for later bars sit in a `#private` field and
 *   are only ever returned at their own bar. Why: stepping a state machine once per call cost
 *   ~20 ns a call (a call chain V8 cannot inline into `OnData`); a block step costs ~2–3 ns a
 *   bar, and a call becomes a cache check and one array read.
 *
 * Lookups sit in the engine's hot loop, so they build no strings: each indicator kind has a
 * `Map` keyed by a small number combining the period and the source index.
 *
 * @module
 */
import { Atr, Bollinger, Ema, Highest, Lowest, Macd, Rsi, Sma, Stdev } from "./indicators.ts";
import type { Bars, IndicatorRef, Source, TechnicalAnalysis } from "./types.ts";

/** Number of sources; keys are `period * SOURCES + sourceIndex`. */
const SOURCES = 8;
const SRC_CLOSE = 3;

/** Maps a source name to its index; throws a TypeError naming a bad one. */
function sourceIndex(source: Source | undefined): number {
  switch (source) {
    case undefined:
    case "close":
      return SRC_CLOSE;
    case "open":
      return 0;
    case "high":
      return 1;
    case "low":
      return 2;
    case "volume":
      return 4;
    case "hl2":
      return 5;
    case "hlc3":
      return 6;
    case "ohlc4":
      return 7;
    default:
      throw new TypeError(
        `Unknown source ${
          JSON.stringify(source)
        }: expected open, high, low, close, volume, hl2, hlc3 or ohlc4`,
      );
  }
}

function checkPeriod(name: string, period: unknown): void {
  if (typeof period !== "number" || !(period >= 1) || !Number.isInteger(period)) {
    throw new RangeError(`ta.${name}: period must be an integer >= 1, got ${String(period)}`);
  }
}

interface Stepper {
  next(x: number): number;
  /** `out[off + i] = next(src[from + i])` for `i < len`, bit for bit (a tight loop). */
  nextBlock?(src: Float64Array, from: number, len: number, out: Float64Array, off: number): void;
}

/** Outputs computed ahead per slot in `ahead` mode (8 KiB a slot). */
export const AHEAD = 1024;
const NO_BLOCK = new Float64Array(0);

/** One single-input state machine plus where it reads and what it returned last. */
class Slot<T extends Stepper = Stepper> {
  /** Last bar index consumed (-1: none). */
  last = -1;
  /**
   * `[value at bar last - 1, value at bar last]` (NaN when unknown). A typed array, not two
   * number fields: V8 boxes doubles stored in object fields, which tripled the cost of a
   * lookup in the engine's hot loop.
   */
  readonly v: Float64Array = new Float64Array([NaN, NaN]);
  /** The block holds the outputs for bars `from .. from + len - 1`. */
  from = 0;
  len = 0;
  /**
   * `[output at from - 1, outputs at from .. from + len - 1]`: in `ahead` mode a block of
   * {@linkcode AHEAD} outputs computed ahead; by default `v` itself (`len` 1, `from` = the
   * current bar).
   */
  block: Float64Array = NO_BLOCK;
  constructor(
    readonly ind: T,
    readonly src: number,
    /** The source column when the source is a plain field, null for hl2/hlc3/ohlc4. */
    readonly arr: Float64Array | null,
  ) {}
}

/** Indicator kinds with one input series; also the index into `Ta.#maps`. */
type Kind = 0 | 1 | 2 | 3 | 4 | 5;
const Kind = { Sma: 0, Ema: 1, Rsi: 2, Stdev: 3, Highest: 4, Lowest: 5 } as const;

function createStepper(kind: Kind, period: number): Stepper {
  switch (kind) {
    case Kind.Sma:
      return new Sma(period);
    case Kind.Ema:
      return new Ema(period);
    case Kind.Rsi:
      return new Rsi(period);
    case Kind.Stdev:
      return new Stdev(period);
    case Kind.Highest:
      return new Highest(period);
    case Kind.Lowest:
      return new Lowest(period);
  }
}

const KIND_NAMES = ["sma", "ema", "rsi", "stdev", "highest", "lowest"];

/** What the n-th single-series lookup of a bar asked for, and the slot it resolved to. */
class CallSite {
  constructor(
    readonly kind: Kind,
    readonly period: number,
    readonly source: Source | undefined,
    readonly slot: Slot,
  ) {}
}

/** Options of {@linkcode Ta}. */
export interface TaOptions {
  /**
   * The arrays hold every bar already and are hidden from the strategy (the engine's own
   * series): compute single-series indicators ahead in blocks, each output handed out only at
   * its own bar. Never for arrays that strategy code can read.
   * @default false
   */
  ahead?: boolean;
}

/** Lookups per bar remembered by the call-sequence cache; later ones go to the maps. */
const MAX_CALL_SITES = 64;
/** Placeholder site: kind -1 and period NaN never match a lookup. */
const NO_SITE = new CallSite(-1 as Kind, NaN, undefined, new Slot({ next: () => NaN }, 3, null));

/**
 * The engine's `TechnicalAnalysis` implementation (what strategies see as `ctx.ta`).
 *
 * Derived sources: `hl2 = (high + low) / 2`, `hlc3 = (high + low + close) / 3`,
 * `ohlc4 = (open + high + low + close) / 4`, summed left to right.
 *
 * @example
 * ```ts
 * const visible = allocateBars(bars.length);
 * const ta = new Ta(visible);
 * for (let t = 0; t < bars.length; t++) {
 *   visible.close[t] = bars.close[t]; // … and the other fields
 *   ta.setIndex(t);
 *   const fast = ta.sma(10); // SMA(10) of close at bar t, NaN for t < 9
 * }
 * ```
 */
export class Ta implements TechnicalAnalysis {
  #open: Float64Array;
  #high: Float64Array;
  #low: Float64Array;
  #close: Float64Array;
  #volume: Float64Array;
  #t = -1;
  #maps: Map<number, Slot>[] = [];
  #atr = new Map<number, { atr: Atr; last: number; v: Float64Array }>();
  #bollinger = new Map<number, Map<number, Slot<Bollinger>>>();
  #macd = new Map<number, Map<number, Map<number, Slot<Macd>>>>();
  // Call-sequence cache: strategies ask for the same indicators in the same order every bar,
  // so the n-th lookup of this bar is checked against the n-th of the last bar with three
  // comparisons, skipping validation, key building and the Map.
  #calls: CallSite[] = [];
  #cursor = 0;
  // Scratch for crossover/crossunder, so resolving a reference allocates nothing.
  #ref = new Float64Array(2); // [value at t-1, value at t]

  #ahead: boolean;
  /** Number of bars in the arrays (the end of a block in `ahead` mode). */
  #n: number;

  /**
   * `bars`: by default arrays the caller fills bar by bar, of which only indices `≤ t` are
   * ever read; with `ahead`, the complete series (see the module doc).
   */
  constructor(bars: Bars, options: TaOptions = {}) {
    this.#ahead = options.ahead === true;
    this.#n = bars.length;
    this.#open = bars.open;
    this.#high = bars.high;
    this.#low = bars.low;
    this.#close = bars.close;
    this.#volume = bars.volume;
    this.#reset();
  }

  /**
   * Makes bar `t` the current bar (called by the engine before `OnData` at `t`). Moving
   * backwards (a new run over the same arrays) drops every state machine.
   */
  setIndex(t: number): void {
    if (t < this.#t) this.#reset();
    this.#t = t;
    this.#cursor = 0;
  }

  /** Index of the current bar (-1 before the first `setIndex`). */
  get index(): number {
    return this.#t;
  }

  #reset(): void {
    this.#maps = [new Map(), new Map(), new Map(), new Map(), new Map(), new Map()];
    this.#atr.clear();
    this.#bollinger.clear();
    this.#macd.clear();
    // Placeholder sites never match (kind -1), so a lookup needs no bounds check.
    this.#calls = Array.from({ length: MAX_CALL_SITES + 1 }, () => NO_SITE);
    this.#cursor = 0;
  }

  /** Simple moving average of `source` (default close) at the current bar. */
  sma(period: number, source?: Source): number {
    return this.#series(Kind.Sma, period, source);
  }

  /** Exponential moving average (SMA-seeded) at the current bar. */
  ema(period: number, source?: Source): number {
    return this.#series(Kind.Ema, period, source);
  }

  /** Wilder's RSI at the current bar. @default period 14 */
  rsi(period = 14, source?: Source): number {
    return this.#series(Kind.Rsi, period, source);
  }

  /** Population standard deviation over `period` bars at the current bar. */
  stdev(period: number, source?: Source): number {
    return this.#series(Kind.Stdev, period, source);
  }

  /** Highest value over the last `period` bars, the current bar included. */
  highest(period: number, source?: Source): number {
    return this.#series(Kind.Highest, period, source);
  }

  /** Lowest value over the last `period` bars, the current bar included. */
  lowest(period: number, source?: Source): number {
    return this.#series(Kind.Lowest, period, source);
  }

  /** Wilder's ATR (true range of high/low/close) at the current bar. @default period 14 */
  atr(period = 14): number {
    checkPeriod("atr", period);
    let s = this.#atr.get(period);
    if (s === undefined) {
      s = { atr: new Atr(period), last: -1, v: new Float64Array([NaN]) };
      this.#atr.set(period, s);
    }
    const t = this.#t;
    if (s.last < t) {
      const h = this.#high, l = this.#low, c = this.#close;
      const a = s.atr;
      let v = s.v[0];
      for (let i = s.last + 1; i <= t; i++) v = a.next(h[i], l[i], c[i]);
      s.v[0] = v;
      s.last = t;
    }
    return s.v[0];
  }

  /** Bollinger Bands at the current bar (a fresh object each call). @default 20, 2 */
  bollinger(
    period = 20,
    k = 2,
    source?: Source,
  ): { upper: number; middle: number; lower: number } {
    checkPeriod("bollinger", period);
    const s = sourceIndex(source);
    const key = period * SOURCES + s;
    let byK = this.#bollinger.get(key);
    if (byK === undefined) {
      byK = new Map();
      this.#bollinger.set(key, byK);
    }
    let slot = byK.get(k);
    if (slot === undefined) {
      slot = new Slot(new Bollinger(period, k), s, this.#column(s));
      byK.set(k, slot);
    }
    this.#advance(slot);
    const b = slot.ind;
    return { upper: b.upper, middle: b.middle, lower: b.lower };
  }

  /** MACD at the current bar (a fresh object each call). @default 12, 26, 9 */
  macd(
    fast = 12,
    slow = 26,
    signal = 9,
    source?: Source,
  ): { macd: number; signal: number; histogram: number } {
    checkPeriod("macd fast", fast);
    checkPeriod("macd slow", slow);
    checkPeriod("macd signal", signal);
    const s = sourceIndex(source);
    const key = fast * SOURCES + s;
    let bySlow = this.#macd.get(key);
    if (bySlow === undefined) {
      bySlow = new Map();
      this.#macd.set(key, bySlow);
    }
    let bySignal = bySlow.get(slow);
    if (bySignal === undefined) {
      bySignal = new Map();
      bySlow.set(slow, bySignal);
    }
    let slot = bySignal.get(signal);
    if (slot === undefined) {
      slot = new Slot(new Macd(fast, slow, signal), s, this.#column(s));
      bySignal.set(signal, slot);
    }
    this.#advance(slot);
    const m = slot.ind;
    return { macd: m.macd, signal: m.signal, histogram: m.histogram };
  }

  /** True when `a` crossed above `b` on this bar: `a[t-1] <= b[t-1] && a[t] > b[t]`. */
  crossover(a: IndicatorRef, b: IndicatorRef): boolean {
    const r = this.#ref;
    this.#resolve(a);
    const ap = r[0], ac = r[1];
    this.#resolve(b);
    return ap <= r[0] && ac > r[1];
  }

  /** True when `a` crossed below `b` on this bar: `a[t-1] >= b[t-1] && a[t] < b[t]`. */
  crossunder(a: IndicatorRef, b: IndicatorRef): boolean {
    const r = this.#ref;
    this.#resolve(a);
    const ap = r[0], ac = r[1];
    this.#resolve(b);
    return ap >= r[0] && ac < r[1];
  }

  /** Sets #refPrev/#refCur to the reference's values at t-1 and t (NaN when unknown). */
  #resolve(ref: IndicatorRef): void {
    if (typeof ref === "number") {
      this.#ref[0] = ref;
      this.#ref[1] = ref;
      return;
    }
    if (ref === null || typeof ref !== "object") {
      throw new TypeError(
        `Invalid indicator reference ${
          String(ref)
        }: expected a number, {sma: n}, {ema: n}, {rsi: n} or {source: "close"}`,
      );
    }
    let slot: Slot;
    if ("sma" in ref) slot = this.#slot(Kind.Sma, ref.sma, ref.source);
    else if ("ema" in ref) slot = this.#slot(Kind.Ema, ref.ema, ref.source);
    else if ("rsi" in ref) slot = this.#slot(Kind.Rsi, ref.rsi, ref.source);
    else if ("source" in ref) {
      const s = sourceIndex(ref.source);
      const t = this.#t;
      this.#ref[1] = t >= 0 ? this.#value(s, t) : NaN;
      this.#ref[0] = t >= 1 ? this.#value(s, t - 1) : NaN;
      return;
    } else {
      throw new TypeError(
        `Invalid indicator reference ${
          JSON.stringify(ref)
        }: expected a number, {sma: n}, {ema: n}, {rsi: n} or {source: "close"}`,
      );
    }
    const t = this.#t;
    if (this.#ahead) {
      if (t < 0) {
        this.#ref[0] = this.#ref[1] = NaN;
        return;
      }
      if (!(t - slot.from < slot.len)) this.#fill(slot);
      // block[0] is the output at from - 1, so bar t - 1 is always in the block.
      this.#ref[1] = slot.block[t - slot.from + 1];
      this.#ref[0] = t >= 1 ? slot.block[t - slot.from] : NaN;
      return;
    }
    this.#advance(slot);
    // `prev` is only the value at t-1 when the slot consumed bar t-1 too, which #advance
    // guarantees (it always steps through every bar up to t).
    this.#ref[1] = slot.v[1];
    this.#ref[0] = t >= 1 ? slot.v[0] : NaN;
  }

  // The hot path (#series, #slot's hit, #step, the state machines' `next`) is split into small
  // functions on purpose: V8 inlines the whole chain into the strategy's OnData only while
  // it fits its inlining budget (measured: ~2x the bars/s of one big lookup function).
  //
  // One load returns the value, after a miss as after a hit: returning the miss path's result
  // from a second `return` made TurboFan merge two doubles into a boxed value, a heap number
  // allocated on every lookup (~26 bytes a bar and a scavenge every ~2 ms in the engine loop).
  #series(kind: Kind, period: number, source: Source | undefined): number {
    const slot = this.#slot(kind, period, source);
    const j = this.#t - slot.from;
    if (!(j >= 0 && j < slot.len)) this.#seriesMiss(slot);
    return slot.block[this.#t - slot.from + 1];
  }

  /** Makes `slot.block[t - slot.from + 1]` the slot's value at the current bar `t`. */
  #seriesMiss(slot: Slot): void {
    const t = this.#t;
    if (this.#ahead) {
      if (t >= 0) {
        this.#fill(slot);
      } else if (slot.block.length === 0) {
        // Initialize: no bar yet. An empty first block whose `block[0]` (bar -1) is NaN.
        slot.block = new Float64Array(AHEAD + 1);
        slot.block[0] = NaN;
      }
      return;
    }
    // By default the "block" is `v` itself: `[value at t - 1, value at t]`, valid for bar t.
    if (slot.last !== t) this.#step(slot);
    slot.block = slot.v;
    slot.from = t;
    slot.len = 1;
  }

  /**
   * `ahead` mode: runs the slot's state machine over the next blocks of bars until the block
   * holds bar `t` (t only moves forward between resets, so `t ≥ from + len` here).
   */
  #fill(slot: Slot): void {
    const t = this.#t, n = this.#n, ind = slot.ind, arr = slot.arr, src = slot.src;
    let block = slot.block;
    if (block.length === 0) block = slot.block = new Float64Array(AHEAD + 1);
    let from = slot.from + slot.len;
    let before = slot.len > 0 ? block[slot.len] : NaN;
    for (;;) {
      const len = Math.min(AHEAD, n - from);
      block[0] = before;
      if (arr !== null) {
        if (ind.nextBlock !== undefined) ind.nextBlock(arr, from, len, block, 1);
        else for (let i = 0; i < len; i++) block[i + 1] = ind.next(arr[from + i]);
      } else {
        for (let i = 0; i < len; i++) block[i + 1] = ind.next(this.#value(src, from + i));
      }
      if (t < from + len) {
        slot.from = from;
        slot.len = len;
        slot.last = from + len - 1;
        return;
      }
      before = block[len];
      from += len;
    }
  }

  /** Brings a slot to the current bar: one step from a plain column, or a full catch-up. */
  #step(slot: Slot): void {
    const t = this.#t;
    const arr = slot.arr;
    if (slot.last === t - 1 && arr !== null) {
      const v = slot.v;
      v[0] = v[1];
      v[1] = slot.ind.next(arr[t]);
      slot.last = t;
    } else {
      this.#advance(slot);
    }
  }

  /** The slot of (kind, period, source), through the call-sequence cache. */
  #slot(kind: Kind, period: number, source: Source | undefined): Slot {
    // Always in bounds: #calls holds MAX_CALL_SITES + 1 sites and the cursor stops there.
    const c = this.#calls[this.#cursor];
    // `period` was validated when the site was recorded; NaN never compares equal.
    if (c.kind === kind && c.period === period && c.source === source) {
      this.#cursor++;
      return c.slot;
    }
    return this.#slotMiss(kind, period, source);
  }

  /** Call-sequence cache miss: look the slot up and record it at this position. */
  #slotMiss(kind: Kind, period: number, source: Source | undefined): Slot {
    const slot = this.#lookup(kind, period, source);
    const i = this.#cursor;
    if (i < MAX_CALL_SITES) {
      this.#calls[i] = new CallSite(kind, period, source, slot);
      this.#cursor = i + 1;
    }
    return slot;
  }

  /** The slot of (kind, period, source) from the per-kind map, created on first use. */
  #lookup(kind: Kind, period: number, source: Source | undefined): Slot {
    // Validate before building the key: 10.5 * 8 + 4 would collide with 10 * 8 + 8.
    if (typeof period !== "number" || !(period >= 1) || !Number.isInteger(period)) {
      checkPeriod(KIND_NAMES[kind], period);
    }
    const s = source === undefined ? SRC_CLOSE : sourceIndex(source);
    const map = this.#maps[kind];
    const key = period * SOURCES + s;
    let slot = map.get(key);
    if (slot === undefined) {
      slot = new Slot(createStepper(kind, period), s, this.#column(s));
      map.set(key, slot);
    }
    return slot;
  }

  /** Steps a slot's state machine through every bar after its last one, up to t. */
  #advance(slot: Slot): void {
    const t = this.#t;
    let i = slot.last + 1;
    if (i > t) return;
    const ind = slot.ind;
    let prev = slot.v[0];
    let cur = slot.v[1];
    const arr = slot.arr;
    if (arr !== null) {
      for (; i <= t; i++) {
        prev = cur;
        cur = ind.next(arr[i]);
      }
    } else {
      const s = slot.src;
      for (; i <= t; i++) {
        prev = cur;
        cur = ind.next(this.#value(s, i));
      }
    }
    slot.v[0] = prev;
    slot.v[1] = cur;
    slot.last = t;
  }

  #column(s: number): Float64Array | null {
    switch (s) {
      case 0:
        return this.#open;
      case 1:
        return this.#high;
      case 2:
        return this.#low;
      case 3:
        return this.#close;
      case 4:
        return this.#volume;
      default:
        return null;
    }
  }

  #value(s: number, i: number): number {
    switch (s) {
      case 0:
        return this.#open[i];
      case 1:
        return this.#high[i];
      case 2:
        return this.#low[i];
      case 3:
        return this.#close[i];
      case 4:
        return this.#volume[i];
      case 5:
        return (this.#high[i] + this.#low[i]) / 2;
      case 6:
        return (this.#high[i] + this.#low[i] + this.#close[i]) / 3;
      default:
        return (this.#open[i] + this.#high[i] + this.#low[i] + this.#close[i]) / 4;
    }
  }
}
