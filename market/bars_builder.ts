/**
 * Accumulates parsed rows into columnar bars, validates each row as it arrives, then sorts,
 * de-duplicates and measures the result. Shared by the CSV, JSON and Parquet readers and the
 * exchange cache, so every source obeys the same rules and messages.
 *
 * @module
 */
import type { Bars } from "../engine/types.ts";
import { DataFileError } from "./data_file_error.ts";
import { formatTime, MAX_TIME_MS, MIN_TIME_MS, TIME_RANGE_TEXT } from "./parse_time.ts";
import { analyzeTimestamps, type GapReport, type QualityReport } from "./quality.ts";

/** How readers treat imperfect data. */
export interface CleanOptions {
  /** Drop invalid rows (NaN, non-positive prices, high < low, …) and report them instead of
   * failing on the first one. @default false */
  repair?: boolean;
  /** Rows out of time order: sort them (with a warning) or fail naming the row.
   * @default "sort" */
  onUnsorted?: "sort" | "reject";
  /** Rows repeating an earlier timestamp: drop them, keeping the first (with a warning), or
   * fail naming the row. @default "drop" */
  onDuplicate?: "drop" | "reject";
}

/** Bars plus the report of how they were obtained. */
export interface CleanBars {
  bars: Bars;
  quality: QualityReport;
}

/** How the place of a row is named in messages: CSV lines or 1-based records. */
export type RowLabel = "line" | "record" | "row";

const MAX_EXAMPLES = 5;

/** Row-by-row accumulator; see the module doc. */
export class BarsBuilder {
  #file: string;
  #label: RowLabel;
  #opts: Required<CleanOptions>;
  #n = 0;
  #rowsRead = 0;
  #invalid = 0;
  #warnings: string[] = [];
  #t: Float64Array;
  #o: Float64Array;
  #h: Float64Array;
  #l: Float64Array;
  #c: Float64Array;
  #v: Float64Array;
  #rowNo: Int32Array;

  constructor(file: string, capacity: number, label: RowLabel, opts: CleanOptions = {}) {
    this.#file = file;
    this.#label = label;
    this.#opts = {
      repair: opts.repair ?? false,
      onUnsorted: opts.onUnsorted ?? "sort",
      onDuplicate: opts.onDuplicate ?? "drop",
    };
    const cap = Math.max(16, capacity);
    this.#t = new Float64Array(cap);
    this.#o = new Float64Array(cap);
    this.#h = new Float64Array(cap);
    this.#l = new Float64Array(cap);
    this.#c = new Float64Array(cap);
    this.#v = new Float64Array(cap);
    this.#rowNo = new Int32Array(cap);
  }

  /**
   * The fast path for columnar sources (Parquet): when every row is valid and timestamps are
   * strictly increasing, the given arrays become the bars as they are (no copy) and only the
   * report is built. Returns null when anything needs the row-by-row path (which then names
   * the row, sorts, drops or repairs).
   */
  static tryClean(
    file: string,
    cols: {
      t: Float64Array;
      o: Float64Array;
      h: Float64Array;
      l: Float64Array;
      c: Float64Array;
      v: Float64Array;
    },
  ): CleanBars | null {
    const { t, o, h, l, c, v } = cols;
    const n = t.length;
    if (o.length < n || h.length < n || l.length < n || c.length < n || v.length < n) return null;
    // One pass with no early exit: the flag accumulates, so the loop body has no branch that
    // depends on the data (measured: ~4 ms per 1M bars warm, vs ~6 ms with an early return).
    // Written so that NaN fails every test. Increasing times need only the first checked
    // against the lower bound of the accepted range.
    let prev = -Infinity, bad = n > 0 && !(t[0] >= MIN_TIME_MS) ? 1 : 0;
    for (let i = 0; i < n; i++) {
      const ti = t[i], oi = o[i], hi = h[i], li = l[i], ci = c[i], vi = v[i];
      bad |= ti > prev && ti <= MAX_TIME_MS && oi > 0 && ci > 0 && li > 0 && hi < Infinity &&
          hi >= oi && hi >= ci && li <= oi && li <= ci && vi >= 0 && vi < Infinity
        ? 0
        : 1;
      prev = ti;
    }
    if (bad !== 0) return null;
    const bars: Bars = { length: n, timestamp: t, open: o, high: h, low: l, close: c, volume: v };
    const extra = analyzeTimestamps(t);
    const quality: QualityReport = {
      source: file,
      rowsRead: n,
      bars: n,
      firstTime: n ? t[0] : null,
      lastTime: n ? t[n - 1] : null,
      ...extra,
      duplicatesDropped: 0,
      outOfOrder: 0,
      sorted: false,
      invalidDropped: 0,
      warnings: [],
    };
    if (extra.gaps.count > 0 && extra.gaps.largest) quality.warnings.push(gapWarning(extra.gaps));
    return { bars, quality };
  }

  /** The error for a problem at `row` (as users count it). */
  error(row: number, reason: string): DataFileError {
    return new DataFileError(
      this.#file,
      row,
      row < 0 ? `${this.#file}: ${reason}` : `${this.#file} ${this.#label} ${row}: ${reason}`,
    );
  }

  /** Records a row that could not be used: throws, or drops it when repairing. */
  invalid(row: number, reason: string): void {
    this.#rowsRead++;
    if (!this.#opts.repair) throw this.error(row, reason);
    this.#invalid++;
    if (this.#invalid <= MAX_EXAMPLES) {
      this.#warnings.push(`dropped invalid ${this.#label} ${row}: ${reason}`);
    }
  }

  /**
   * Adds one row, validating prices and volume, and the timestamp against the years
   * 1900-2200 (`MIN_TIME_MS`..`MAX_TIME_MS`): beyond them an epoch number's unit was surely
   * misread, and past JavaScript's Date range formatting the time would throw far from the
   * file. Order and duplicates are checked at `finish`.
   */
  push(t: number, o: number, h: number, l: number, c: number, v: number, row: number): void {
    // One combined test keeps this hot method small enough to inline; every comparison is
    // false for NaN, and finiteness of h (≥ o, c) and of o, c, l (≤ h) follows from h < ∞.
    if (
      !(t >= MIN_TIME_MS && t <= MAX_TIME_MS && o > 0 && l > 0 && c > 0 && h < Infinity && h >= o &&
        h >= c && l <= o &&
        l <= c && v >= 0 && v < Infinity)
    ) {
      this.#reject(t, o, h, l, c, v, row);
      return;
    }
    const i = this.#n;
    if (i === this.#t.length) this.#grow();
    this.#t[i] = t;
    this.#o[i] = o;
    this.#h[i] = h;
    this.#l[i] = l;
    this.#c[i] = c;
    this.#v[i] = v;
    this.#rowNo[i] = row;
    this.#n = i + 1;
    this.#rowsRead++;
  }

  #reject(t: number, o: number, h: number, l: number, c: number, v: number, row: number): void {
    let reason: string;
    if (!Number.isFinite(t)) reason = `timestamp is ${t}`;
    else if (!(t >= MIN_TIME_MS && t <= MAX_TIME_MS)) {
      const when = Math.abs(t) <= 8.64e15 ? formatTime(t) : `${t} ms`;
      reason = `timestamp ${when} is outside ${TIME_RANGE_TEXT} (epoch numbers are read as ` +
        "seconds, ms, µs or ns by magnitude)";
    } else if (!(o > 0 && o < Infinity)) reason = `open is ${o}`;
    else if (!(h > 0 && h < Infinity)) reason = `high is ${h}`;
    else if (!(l > 0 && l < Infinity)) reason = `low is ${l}`;
    else if (!(c > 0 && c < Infinity)) reason = `close is ${c}`;
    else if (!(v >= 0 && v < Infinity)) reason = `volume is ${v}`;
    else if (h < o || h < c) reason = `high ${h} is below max(open ${o}, close ${c})`;
    else reason = `low ${l} is above min(open ${o}, close ${c})`;
    this.invalid(row, reason);
  }

  /** Adds a warning line to the report. */
  warn(message: string): void {
    this.#warnings.push(message);
  }

  #grow(): void {
    const cap = this.#t.length * 2;
    const g = (a: Float64Array) => {
      const b = new Float64Array(cap);
      b.set(a);
      return b;
    };
    this.#t = g(this.#t);
    this.#o = g(this.#o);
    this.#h = g(this.#h);
    this.#l = g(this.#l);
    this.#c = g(this.#c);
    this.#v = g(this.#v);
    const r = new Int32Array(cap);
    r.set(this.#rowNo);
    this.#rowNo = r;
  }

  /**
   * `finish` for a whole file: one that yields no bars is an error naming the file, not an
   * empty series, since a backtest over nothing would "succeed" with exit 0. The readers of
   * files call this; the exchange loader, for which an empty fetch is a normal answer, calls
   * `finish`.
   */
  finishFile(): CleanBars {
    if (this.#n === 0) {
      throw this.error(
        -1,
        this.#rowsRead === 0
          ? "no data rows"
          : `no valid rows (all ${this.#rowsRead} data rows were invalid and dropped)`,
      );
    }
    return this.finish();
  }

  /** Sorts (or rejects) out-of-order rows, drops (or rejects) duplicates, builds the report. */
  finish(): CleanBars {
    const n = this.#n;
    const t = this.#t;
    let outOfOrder = 0, firstBad = -1;
    for (let i = 1; i < n; i++) {
      if (t[i] < t[i - 1]) {
        outOfOrder++;
        if (firstBad < 0) firstBad = i;
      }
    }
    let order: Uint32Array | null = null;
    if (outOfOrder > 0) {
      if (this.#opts.onUnsorted === "reject") {
        throw this.error(
          this.#rowNo[firstBad],
          `timestamp ${formatTime(t[firstBad])} is before the previous row's ${
            formatTime(t[firstBad - 1])
          } (rows out of order)`,
        );
      }
      const idx = Array.from({ length: n }, (_, i) => i);
      idx.sort((a, b) => t[a] - t[b] || a - b); // stable: keeps the first of equal timestamps first
      order = Uint32Array.from(idx);
      this.#warnings.push(
        `${outOfOrder} row${
          outOfOrder === 1 ? "" : "s"
        } out of time order (first at ${this.#label} ${this.#rowNo[firstBad]}); sorted by time`,
      );
    }
    // Keep list: positions (in sorted order) of the first row of each timestamp.
    let kept = 0, dups = 0, firstDup = -1, prev = NaN;
    const keep = new Uint32Array(n);
    for (let k = 0; k < n; k++) {
      const i = order ? order[k] : k;
      if (t[i] === prev) {
        dups++;
        if (firstDup < 0) firstDup = i;
        continue;
      }
      prev = t[i];
      keep[kept++] = i;
    }
    if (dups > 0) {
      if (this.#opts.onDuplicate === "reject") {
        throw this.error(
          this.#rowNo[firstDup],
          `duplicate timestamp ${formatTime(t[firstDup])}`,
        );
      }
      this.#warnings.push(
        `${dups} duplicate timestamp${
          dups === 1 ? "" : "s"
        } dropped, keeping the first (first at ${this.#label} ${this.#rowNo[firstDup]}: ${
          formatTime(t[firstDup])
        })`,
      );
    }
    if (this.#invalid > MAX_EXAMPLES) {
      this.#warnings.push(`… ${this.#invalid - MAX_EXAMPLES} more invalid rows dropped`);
    }
    const bars = order || dups > 0 ? this.#gather(keep, kept) : this.#trim(n);
    const extra = analyzeTimestamps(bars.timestamp);
    const quality: QualityReport = {
      source: this.#file,
      rowsRead: this.#rowsRead,
      bars: bars.length,
      firstTime: bars.length ? bars.timestamp[0] : null,
      lastTime: bars.length ? bars.timestamp[bars.length - 1] : null,
      ...extra,
      duplicatesDropped: dups,
      outOfOrder,
      sorted: order !== null,
      invalidDropped: this.#invalid,
      warnings: this.#warnings,
    };
    if (extra.gaps.count > 0 && extra.gaps.largest) quality.warnings.push(gapWarning(extra.gaps));
    this.#rowNo = new Int32Array(0);
    return { bars, quality };
  }

  #trim(n: number): Bars {
    // Copy only when the spare capacity is large; otherwise views keep the load at ≤ 64 B/bar
    // plus a little slack.
    const cut = (
      a: Float64Array,
    ) => (a.length - n > (n >> 4) + 16 ? a.slice(0, n) : a.subarray(0, n));
    return {
      length: n,
      timestamp: cut(this.#t),
      open: cut(this.#o),
      high: cut(this.#h),
      low: cut(this.#l),
      close: cut(this.#c),
      volume: cut(this.#v),
    };
  }

  #gather(keep: Uint32Array, n: number): Bars {
    const g = (a: Float64Array) => {
      const b = new Float64Array(n);
      for (let k = 0; k < n; k++) b[k] = a[keep[k]];
      return b;
    };
    return {
      length: n,
      timestamp: g(this.#t),
      open: g(this.#o),
      high: g(this.#h),
      low: g(this.#l),
      close: g(this.#c),
      volume: g(this.#v),
    };
  }
}

function gapWarning(g: GapReport): string {
  const largest = g.largest!;
  return `${g.count} gap${
    g.count === 1 ? "" : "s"
  } (${g.missingBars} bars missing), largest ${g.largestBars} bars from ${
    formatTime(largest.from)
  } to ${formatTime(largest.to)}`;
}
