/**
 * Canonical float64 indicator definitions.
 *
 * Every indicator exists twice: as an incremental state machine (a class whose `next(...)`
 * consumes one bar and returns the value at that bar) and as a series function (`sma(src, p)`
 * → `Float64Array`). The series function is nothing but the state machine run over the input,
 * so `series[t]` and the `t`-th `next()` result are bit-identical by construction. `Ta`
 * (engine/ta.ts) drives the state machines bar by bar; the GPU optimizer uploads the series.
 * Both must agree with each other bit for bit, which is why every arithmetic step below is
 * spelled out: change one and the optimizer's conformance suite must change with it.
 *
 * Common rules, for every indicator:
 * - Warm-up values are `NaN`. "Valid from index i" counts from the first input that is not
 *   NaN (index 0 for bar data).
 * - Leading NaN inputs are skipped: the indicator starts at the first non-NaN input. This is
 *   what lets MACD's signal line run over the MACD line, which is NaN while it warms up.
 * - A NaN input after the start is a caller error (bars are validated finite); it poisons the
 *   state machine, which returns NaN for that bar and every later one.
 * - `period` must be an integer ≥ 1, otherwise a `RangeError` names the indicator and value.
 * - Sums run left to right (oldest value first) starting from 0, in IEEE-754 float64 with
 *   round-to-nearest, exactly as the JavaScript expressions quoted in each JSDoc.
 *
 * @module
 */

/** Throws a RangeError unless `period` is an integer ≥ 1. */
export function validatePeriod(name: string, period: number): void {
  if (typeof period !== "number" || !Number.isInteger(period) || period < 1) {
    throw new RangeError(
      `${name}: period must be an integer >= 1, got ${String(period)}`,
    );
  }
}

// ---------------------------------------------------------------------------------------------
// SMA

/**
 * Simple moving average, incremental.
 *
 * Valid from index `period - 1`. With inputs `x[0..]` (after skipped leading NaNs), `j` the
 * input count minus one and `p` the period, the running sum `S` is:
 * - warm-up and the first window: `S = S + x[j]` for `j = 0 … p-1`, starting at `S = 0`;
 * - re-sum every `p` steps, when `(j - (p - 1)) % p === 0`: `S` is recomputed from scratch as
 *   `((0 + x[j-p+1]) + x[j-p+2]) + … + x[j]` (oldest first), so rounding drift never lives
 *   longer than one window;
 * - otherwise: `S = S + (x[j] - x[j-p])`.
 *
 * The value is `S / p`.
 *
 * @example
 * ```ts
 * const s = new Sma(2);
 * s.next(1); // NaN
 * s.next(3); // 2
 * s.next(5); // 4
 * ```
 */
export class Sma {
  /** Window length. */
  readonly period: number;
  #buf: Float64Array;
  #pos = 0;
  #count = 0;
  #sum = 0;
  #untilResum = 0;
  /** Warmed up and not poisoned: `next` takes the short path (kept small to be inlined). */
  #ready = false;
  #started = false;
  #poisoned = false;

  constructor(period: number) {
    validatePeriod("sma", period);
    this.period = period;
    this.#buf = new Float64Array(period);
  }

  /** Consumes the next input and returns the SMA at this bar (NaN during warm-up). */
  next(x: number): number {
    if (!this.#ready || x !== x) return this.#slowNext(x);
    const p = this.period;
    const buf = this.#buf;
    const pos = this.#pos;
    const old = buf[pos];
    buf[pos] = x;
    this.#pos = pos + 1 === p ? 0 : pos + 1;
    if (--this.#untilResum === 0) this.#resum();
    else this.#sum = this.#sum + (x - old);
    return this.#sum / p;
  }

  /**
   * `out[off + i] = next(src[from + i])` for `i < len`, bit for bit, with the state held in
   * locals while the window is warm and the inputs are not NaN (the `ahead` mode of
   * engine/ta.ts runs whole blocks through here: several times faster than calling `next`).
   */
  nextBlock(src: Float64Array, from: number, len: number, out: Float64Array, off: number): void {
    const p = this.period;
    const buf = this.#buf;
    let i = 0;
    while (i < len) {
      if (this.#ready) {
        let pos = this.#pos, sum = this.#sum, until = this.#untilResum;
        for (; i < len; i++) {
          const x = src[from + i];
          if (x !== x) break;
          const old = buf[pos];
          buf[pos] = x;
          pos = pos + 1 === p ? 0 : pos + 1;
          if (--until === 0) {
            // On locals: calling #resum here (its field stores) allocated every `p` bars.
            sum = windowSum(buf, pos);
            until = p;
          } else sum = sum + (x - old);
          out[off + i] = sum / p;
        }
        this.#pos = pos;
        this.#sum = sum;
        this.#untilResum = until;
        if (i === len) return;
      }
      out[off + i] = this.next(src[from + i]);
      i++;
    }
  }

  /** Warm-up, NaN inputs and the poisoned state. */
  #slowNext(x: number): number {
    if (x !== x) {
      if (this.#started) {
        this.#poisoned = true;
        this.#ready = false;
      }
      return NaN;
    }
    if (this.#poisoned) return NaN;
    this.#started = true;
    const p = this.period;
    this.#buf[this.#count] = x;
    this.#sum = this.#sum + x;
    this.#count++;
    if (this.#count < p) return NaN;
    this.#untilResum = p;
    this.#ready = true;
    return this.#sum / p;
  }

  /** Exact window sum, oldest first; kept out of `next` so that `next` stays inlinable. */
  #resum(): void {
    this.#untilResum = this.period;
    this.#sum = windowSum(this.#buf, this.#pos);
  }
}

/**
 * The exact sum of a full ring buffer, oldest first: `oldest` is the slot after the one just
 * written. The SMA's re-sum (see {@link Sma}), shared by `next` and `nextBlock`.
 */
function windowSum(buf: Float64Array, oldest: number): number {
  let s = 0;
  for (let i = oldest; i < buf.length; i++) s = s + buf[i];
  for (let i = 0; i < oldest; i++) s = s + buf[i];
  return s;
}

/** SMA series: `out[t]` is the `Sma` value after consuming `src[0..t]`. See {@link Sma}. */
export function sma(src: ArrayLike<number>, period: number): Float64Array {
  const s = new Sma(period);
  const out = new Float64Array(src.length);
  for (let i = 0; i < src.length; i++) out[i] = s.next(src[i]);
  return out;
}

// ---------------------------------------------------------------------------------------------
// EMA

/**
 * Exponential moving average, incremental, seeded with the SMA of the first `period` inputs.
 *
 * Valid from index `period - 1`. `alpha = 2 / (p + 1)` (one float64 division). Warm-up:
 * `S = S + x[j]` from `S = 0` for `j = 0 … p-1`; the value at `j = p-1` is `E = S / p`
 * (bit-identical to the first {@link Sma} value). After that: `E = E + alpha * (x[j] - E)`.
 */
export class Ema {
  /** Smoothing length. */
  readonly period: number;
  /** `2 / (period + 1)`. */
  readonly alpha: number;
  #count = 0;
  #sum = 0;
  #value = NaN;
  #ready = false;
  #started = false;
  #poisoned = false;

  constructor(period: number) {
    validatePeriod("ema", period);
    this.period = period;
    this.alpha = 2 / (period + 1);
  }

  /** Consumes the next input and returns the EMA at this bar (NaN during warm-up). */
  next(x: number): number {
    if (!this.#ready || x !== x) return this.#slowNext(x);
    const e = this.#value;
    return (this.#value = e + this.alpha * (x - e));
  }

  /** `out[off + i] = next(src[from + i])` for `i < len`, bit for bit (see `Sma.nextBlock`). */
  nextBlock(src: Float64Array, from: number, len: number, out: Float64Array, off: number): void {
    const a = this.alpha;
    let i = 0;
    while (i < len) {
      if (this.#ready) {
        let e = this.#value;
        for (; i < len; i++) {
          const x = src[from + i];
          if (x !== x) break;
          e = e + a * (x - e);
          out[off + i] = e;
        }
        this.#value = e;
        if (i === len) return;
      }
      out[off + i] = this.next(src[from + i]);
      i++;
    }
  }

  /** Warm-up, NaN inputs and the poisoned state. */
  #slowNext(x: number): number {
    if (x !== x) {
      if (this.#started) {
        this.#poisoned = true;
        this.#ready = false;
      }
      return NaN;
    }
    if (this.#poisoned) return NaN;
    this.#started = true;
    this.#sum = this.#sum + x;
    this.#count++;
    if (this.#count < this.period) return NaN;
    this.#ready = true;
    return (this.#value = this.#sum / this.period);
  }
}

/** EMA series: `out[t]` is the `Ema` value after consuming `src[0..t]`. See {@link Ema}. */
export function ema(src: ArrayLike<number>, period: number): Float64Array {
  const s = new Ema(period);
  const out = new Float64Array(src.length);
  for (let i = 0; i < src.length; i++) out[i] = s.next(src[i]);
  return out;
}

// ---------------------------------------------------------------------------------------------
// RSI

/**
 * Relative strength index with Wilder's smoothing, incremental.
 *
 * Valid from index `period` (it needs `period` price changes). For `j ≥ 1`:
 * `d = x[j] - x[j-1]`, `gain = d > 0 ? d : 0`, `loss = d < 0 ? -d : 0`.
 * Seed at `j = p`: `G = (0 + gain[1] + … + gain[p]) / p` (sum left to right), same for `L`.
 * After: `G = (G * (p - 1) + gain) / p`, `L = (L * (p - 1) + loss) / p`.
 * Value: `L === 0 ? (G === 0 ? 50 : 100) : 100 - 100 / (1 + G / L)`.
 */
export class Rsi {
  /** Smoothing length. */
  readonly period: number;
  #count = 0;
  #prev = NaN;
  #sumGain = 0;
  #sumLoss = 0;
  #avgGain = NaN;
  #avgLoss = NaN;
  #ready = false;
  #started = false;
  #poisoned = false;

  constructor(period: number) {
    validatePeriod("rsi", period);
    this.period = period;
  }

  /** Consumes the next input and returns the RSI at this bar (NaN during warm-up). */
  next(x: number): number {
    if (!this.#ready || x !== x) return this.#slowNext(x);
    const d = x - this.#prev;
    this.#prev = x;
    const p = this.period;
    const g = (this.#avgGain = (this.#avgGain * (p - 1) + (d > 0 ? d : 0)) / p);
    const l = (this.#avgLoss = (this.#avgLoss * (p - 1) + (d < 0 ? -d : 0)) / p);
    return l === 0 ? (g === 0 ? 50 : 100) : 100 - 100 / (1 + g / l);
  }

  /** `out[off + i] = next(src[from + i])` for `i < len`, bit for bit (see `Sma.nextBlock`). */
  nextBlock(src: Float64Array, from: number, len: number, out: Float64Array, off: number): void {
    const p = this.period, q = p - 1;
    let i = 0;
    while (i < len) {
      if (this.#ready) {
        let prev = this.#prev, g = this.#avgGain, l = this.#avgLoss;
        for (; i < len; i++) {
          const x = src[from + i];
          if (x !== x) break;
          const d = x - prev;
          prev = x;
          g = (g * q + (d > 0 ? d : 0)) / p;
          l = (l * q + (d < 0 ? -d : 0)) / p;
          out[off + i] = l === 0 ? (g === 0 ? 50 : 100) : 100 - 100 / (1 + g / l);
        }
        this.#prev = prev;
        this.#avgGain = g;
        this.#avgLoss = l;
        if (i === len) return;
      }
      out[off + i] = this.next(src[from + i]);
      i++;
    }
  }

  /** Warm-up, NaN inputs and the poisoned state. */
  #slowNext(x: number): number {
    if (x !== x) {
      if (this.#started) {
        this.#poisoned = true;
        this.#ready = false;
      }
      return NaN;
    }
    if (this.#poisoned) return NaN;
    if (!this.#started) {
      this.#started = true;
      this.#prev = x;
      return NaN;
    }
    const d = x - this.#prev;
    this.#prev = x;
    const p = this.period;
    this.#sumGain = this.#sumGain + (d > 0 ? d : 0);
    this.#sumLoss = this.#sumLoss + (d < 0 ? -d : 0);
    this.#count++;
    if (this.#count < p) return NaN;
    this.#ready = true;
    const g = (this.#avgGain = this.#sumGain / p);
    const l = (this.#avgLoss = this.#sumLoss / p);
    return l === 0 ? (g === 0 ? 50 : 100) : 100 - 100 / (1 + g / l);
  }
}

/** RSI series: `out[t]` is the `Rsi` value after consuming `src[0..t]`. See {@link Rsi}. */
export function rsi(src: ArrayLike<number>, period: number): Float64Array {
  const s = new Rsi(period);
  const out = new Float64Array(src.length);
  for (let i = 0; i < src.length; i++) out[i] = s.next(src[i]);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Standard deviation and Bollinger Bands

/**
 * Population standard deviation over the last `period` inputs (as in Bollinger Bands),
 * incremental.
 *
 * Valid from index `period - 1`. The mean `m` is the {@link Sma} value at this bar (same
 * rolling-sum arithmetic). The variance is a second pass over the window, oldest first:
 * `V = (0 + (x[j-p+1] - m) * (x[j-p+1] - m) + … + (x[j] - m) * (x[j] - m)) / p`, and the
 * value is `Math.sqrt(V)`. The two-pass form costs O(period) per bar but never cancels
 * catastrophically the way a sum of squares does on prices far from zero.
 */
export class Stdev {
  /** Window length. */
  readonly period: number;
  #sma: Sma;
  #buf: Float64Array;
  #pos = 0;
  #count = 0;
  #mean = NaN;

  constructor(period: number) {
    validatePeriod("stdev", period);
    this.period = period;
    this.#sma = new Sma(period);
    this.#buf = new Float64Array(period);
  }

  /** The window mean (SMA) at the last bar consumed; NaN during warm-up. */
  get mean(): number {
    return this.#mean;
  }

  /** Consumes the next input and returns the population stdev at this bar. */
  next(x: number): number {
    const m = this.#sma.next(x);
    this.#mean = m;
    if (m !== m) {
      // Warm-up (or a skipped leading NaN, or poisoned): keep the ring aligned with the SMA.
      if (x === x && this.#count < this.period) this.#buf[this.#count++] = x;
      return NaN;
    }
    const p = this.period;
    const buf = this.#buf;
    if (this.#count < p) {
      buf[this.#count++] = x;
    } else {
      buf[this.#pos] = x;
      this.#pos = this.#pos + 1 === p ? 0 : this.#pos + 1;
    }
    let v = 0;
    for (let i = this.#pos; i < p; i++) {
      const d = buf[i] - m;
      v = v + d * d;
    }
    for (let i = 0; i < this.#pos; i++) {
      const d = buf[i] - m;
      v = v + d * d;
    }
    return Math.sqrt(v / p);
  }
}

/** Stdev series: `out[t]` is the `Stdev` value after `src[0..t]`. See {@link Stdev}. */
export function stdev(src: ArrayLike<number>, period: number): Float64Array {
  const s = new Stdev(period);
  const out = new Float64Array(src.length);
  for (let i = 0; i < src.length; i++) out[i] = s.next(src[i]);
  return out;
}

/** Bollinger Bands series. */
export interface BollingerSeries {
  upper: Float64Array;
  middle: Float64Array;
  lower: Float64Array;
}

/**
 * Bollinger Bands, incremental. Valid from index `period - 1`.
 *
 * `middle = m` (the {@link Sma}), `sd` = the {@link Stdev} value,
 * `upper = m + k * sd`, `lower = m - k * sd`.
 */
export class Bollinger {
  /** Window length. */
  readonly period: number;
  /** Band width in standard deviations. */
  readonly k: number;
  /** Upper band at the last bar consumed. */
  upper = NaN;
  /** Middle band (SMA) at the last bar consumed. */
  middle = NaN;
  /** Lower band at the last bar consumed. */
  lower = NaN;
  #sd: Stdev;

  constructor(period: number, k: number) {
    validatePeriod("bollinger", period);
    if (typeof k !== "number" || !Number.isFinite(k)) {
      throw new RangeError(`bollinger: k must be a finite number, got ${String(k)}`);
    }
    this.period = period;
    this.k = k;
    this.#sd = new Stdev(period);
  }

  /** Consumes the next input, updates `upper`/`middle`/`lower` and returns `middle`. */
  next(x: number): number {
    const sd = this.#sd.next(x);
    const m = this.#sd.mean;
    this.middle = m;
    this.upper = m + this.k * sd;
    this.lower = m - this.k * sd;
    return m;
  }
}

/** Bollinger Bands series. See {@link Bollinger}. */
export function bollinger(src: ArrayLike<number>, period: number, k: number): BollingerSeries {
  const b = new Bollinger(period, k);
  const n = src.length;
  const upper = new Float64Array(n);
  const middle = new Float64Array(n);
  const lower = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    middle[i] = b.next(src[i]);
    upper[i] = b.upper;
    lower[i] = b.lower;
  }
  return { upper, middle, lower };
}

// ---------------------------------------------------------------------------------------------
// MACD

/** MACD series. */
export interface MacdSeries {
  macd: Float64Array;
  signal: Float64Array;
  histogram: Float64Array;
}

/**
 * MACD, incremental: `macd = emaFast(x) - emaSlow(x)` ({@link Ema} arithmetic), `signal` =
 * an {@link Ema} of period `signal` over the MACD line (starting at its first valid value, so
 * leading NaNs are skipped), `histogram = macd - signal`.
 *
 * `macd` is valid from index `max(fast, slow) - 1`; `signal` and `histogram` from
 * `max(fast, slow) - 1 + signal - 1`.
 */
export class Macd {
  /** Fast EMA period. */
  readonly fast: number;
  /** Slow EMA period. */
  readonly slow: number;
  /** Signal EMA period. */
  readonly signalPeriod: number;
  /** MACD line at the last bar consumed. */
  macd = NaN;
  /** Signal line at the last bar consumed. */
  signal = NaN;
  /** Histogram at the last bar consumed. */
  histogram = NaN;
  #fast: Ema;
  #slow: Ema;
  #signal: Ema;

  constructor(fast: number, slow: number, signal: number) {
    validatePeriod("macd fast", fast);
    validatePeriod("macd slow", slow);
    validatePeriod("macd signal", signal);
    this.fast = fast;
    this.slow = slow;
    this.signalPeriod = signal;
    this.#fast = new Ema(fast);
    this.#slow = new Ema(slow);
    this.#signal = new Ema(signal);
  }

  /** Consumes the next input, updates `macd`/`signal`/`histogram` and returns `macd`. */
  next(x: number): number {
    const m = this.#fast.next(x) - this.#slow.next(x);
    const s = this.#signal.next(m);
    this.macd = m;
    this.signal = s;
    this.histogram = m - s;
    return m;
  }
}

/** MACD series. See {@link Macd}. */
export function macd(
  src: ArrayLike<number>,
  fast: number,
  slow: number,
  signal: number,
): MacdSeries {
  const s = new Macd(fast, slow, signal);
  const n = src.length;
  const m = new Float64Array(n);
  const sig = new Float64Array(n);
  const h = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    m[i] = s.next(src[i]);
    sig[i] = s.signal;
    h[i] = s.histogram;
  }
  return { macd: m, signal: sig, histogram: h };
}

// ---------------------------------------------------------------------------------------------
// ATR

/**
 * Average true range with Wilder's smoothing (TradingView's `ta.atr`), incremental.
 *
 * True range: on the first bar `tr = high - low`; afterwards
 * `tr = Math.max(high - low, Math.abs(high - prevClose), Math.abs(low - prevClose))`.
 * Seed at `j = p-1`: `A = (0 + tr[0] + … + tr[p-1]) / p`; after: `A = (A * (p - 1) + tr) / p`.
 * Valid from index `period - 1`. A bar with any NaN field before the start is skipped.
 */
export class Atr {
  /** Smoothing length. */
  readonly period: number;
  #count = 0;
  #sum = 0;
  #value = NaN;
  #prevClose = NaN;
  #started = false;
  #poisoned = false;

  constructor(period: number) {
    validatePeriod("atr", period);
    this.period = period;
  }

  /** Consumes the next bar and returns the ATR at this bar (NaN during warm-up). */
  next(high: number, low: number, close: number): number {
    if (high !== high || low !== low || close !== close) {
      if (this.#started) this.#poisoned = true;
      return NaN;
    }
    if (this.#poisoned) return NaN;
    let tr: number;
    if (!this.#started) {
      this.#started = true;
      tr = high - low;
    } else {
      const pc = this.#prevClose;
      tr = Math.max(high - low, Math.abs(high - pc), Math.abs(low - pc));
    }
    this.#prevClose = close;
    const p = this.period;
    if (this.#count < p) {
      this.#sum = this.#sum + tr;
      this.#count++;
      if (this.#count < p) return NaN;
      this.#value = this.#sum / p;
      return this.#value;
    }
    this.#value = (this.#value * (p - 1) + tr) / p;
    return this.#value;
  }
}

/** ATR series. See {@link Atr}. */
export function atr(
  high: ArrayLike<number>,
  low: ArrayLike<number>,
  close: ArrayLike<number>,
  period: number,
): Float64Array {
  const n = high.length;
  if (low.length !== n || close.length !== n) {
    throw new RangeError(
      `atr: high, low and close must have the same length, got ${n}, ${low.length}, ${close.length}`,
    );
  }
  const s = new Atr(period);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = s.next(high[i], low[i], close[i]);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Highest / lowest

/**
 * Rolling extreme over the last `period` inputs (the current one included), O(1) amortized
 * with a monotonic deque held in two preallocated ring buffers. No arithmetic: the value is
 * one of the inputs, so any correct implementation agrees bit for bit.
 */
class RollingExtreme {
  readonly period: number;
  #vals: Float64Array;
  #idx: Float64Array;
  #head = 0;
  #size = 0;
  #j = -1;
  #max: boolean;
  #started = false;
  #poisoned = false;

  constructor(name: string, period: number, max: boolean) {
    validatePeriod(name, period);
    this.period = period;
    this.#vals = new Float64Array(period);
    this.#idx = new Float64Array(period);
    this.#max = max;
  }

  next(x: number): number {
    if (x !== x) {
      if (this.#started) this.#poisoned = true;
      return NaN;
    }
    if (this.#poisoned) return NaN;
    this.#started = true;
    const p = this.period;
    const vals = this.#vals;
    const idx = this.#idx;
    const j = ++this.#j;
    // Drop the front when it left the window.
    if (this.#size > 0 && idx[this.#head] <= j - p) {
      this.#head = this.#head + 1 === p ? 0 : this.#head + 1;
      this.#size--;
    }
    // Drop dominated values from the back: they can never be the extreme again.
    let back = this.#head + this.#size - 1;
    if (back >= p) back -= p;
    if (this.#max) {
      while (this.#size > 0 && vals[back] <= x) {
        this.#size--;
        back = back === 0 ? p - 1 : back - 1;
      }
    } else {
      while (this.#size > 0 && vals[back] >= x) {
        this.#size--;
        back = back === 0 ? p - 1 : back - 1;
      }
    }
    let slot = this.#head + this.#size;
    if (slot >= p) slot -= p;
    vals[slot] = x;
    idx[slot] = j;
    this.#size++;
    return j >= p - 1 ? vals[this.#head] : NaN;
  }
}

/**
 * Highest value of the last `period` inputs, current one included: `max(x[j-p+1..j])`.
 * Valid from index `period - 1`.
 */
export class Highest {
  /** Window length. */
  readonly period: number;
  #r: RollingExtreme;
  constructor(period: number) {
    this.#r = new RollingExtreme("highest", period, true);
    this.period = period;
  }
  /** Consumes the next input and returns the window maximum (NaN during warm-up). */
  next(x: number): number {
    return this.#r.next(x);
  }
}

/**
 * Lowest value of the last `period` inputs, current one included: `min(x[j-p+1..j])`.
 * Valid from index `period - 1`.
 */
export class Lowest {
  /** Window length. */
  readonly period: number;
  #r: RollingExtreme;
  constructor(period: number) {
    this.#r = new RollingExtreme("lowest", period, false);
    this.period = period;
  }
  /** Consumes the next input and returns the window minimum (NaN during warm-up). */
  next(x: number): number {
    return this.#r.next(x);
  }
}

/** Rolling maximum series. See {@link Highest}. */
export function highest(src: ArrayLike<number>, period: number): Float64Array {
  const s = new Highest(period);
  const out = new Float64Array(src.length);
  for (let i = 0; i < src.length; i++) out[i] = s.next(src[i]);
  return out;
}

/** Rolling minimum series. See {@link Lowest}. */
export function lowest(src: ArrayLike<number>, period: number): Float64Array {
  const s = new Lowest(period);
  const out = new Float64Array(src.length);
  for (let i = 0; i < src.length; i++) out[i] = s.next(src[i]);
  return out;
}
