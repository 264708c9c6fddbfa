/**
 * The trade log of a run, stored as columns, and the trade statistics computed from them.
 *
 * Why columns: a fast signal strategy closes tens of thousands of trades per run, and each
 * `TradeRecord` object (with its boxed numbers) lives until the result is dropped, so the
 * garbage collector copied and promoted every one of them; on the VMs this project runs on
 * that cost as much as the rest of the loop. Records are built only when read
 * ({@linkcode TradeBook.records}), and the metrics read the columns directly
 * ({@linkcode TradeBook.stats}, the same arithmetic as `tradeStats` over the records).
 *
 * @module
 */
import { type TradeStats, TradeStatsAccumulator } from "./trade_stats.ts";
import type { TradeRecord } from "./types.ts";

const CHUNK_BITS = 12;
const CHUNK = 1 << CHUNK_BITS;

/** One chunk of trade columns (4,096 trades). */
interface TradeColumns {
  /** 0 long, 1 short. */
  side: Uint8Array;
  /** Index into the book's exit reasons. */
  reason: Uint8Array;
  quantity: Float64Array;
  entryTime: Float64Array;
  entryPrice: Float64Array;
  exitTime: Float64Array;
  exitPrice: Float64Array;
  pnl: Float64Array;
  returnPct: Float64Array;
  fees: Float64Array;
}

function chunk(): TradeColumns {
  return {
    side: new Uint8Array(CHUNK),
    reason: new Uint8Array(CHUNK),
    quantity: new Float64Array(CHUNK),
    entryTime: new Float64Array(CHUNK),
    entryPrice: new Float64Array(CHUNK),
    exitTime: new Float64Array(CHUNK),
    exitPrice: new Float64Array(CHUNK),
    pnl: new Float64Array(CHUNK),
    returnPct: new Float64Array(CHUNK),
    fees: new Float64Array(CHUNK),
  };
}

/**
 * A whole book as flat columns of `count` values each (see {@linkcode TradeBook.toColumns}):
 * what the sandbox ships out of its Worker instead of records, since copying typed arrays is
 * native code, fast even in a fresh isolate.
 */
export interface TradeBookColumns extends TradeColumns {
  count: number;
  /** The exit reasons `reason` indexes. */
  reasons: string[];
}

const TRADE_FIELDS = [
  "side",
  "reason",
  "quantity",
  "entryTime",
  "entryPrice",
  "exitTime",
  "exitPrice",
  "pnl",
  "returnPct",
  "fees",
] as const satisfies readonly (keyof TradeColumns)[];

/** Closed trades in the order they closed. */
export class TradeBook {
  #count = 0;
  #chunks: TradeColumns[] = [];
  /** Distinct exit reasons, by first use (the engine has six; any string is accepted). */
  #reasons: string[] = [];
  /** Made by {@linkcode TradeBook.fromColumns}: read-only. */
  #sealed = false;

  /** The book as flat columns of exactly `length` values (copies). */
  toColumns(): TradeBookColumns {
    const n = this.#count, chunks = this.#chunks;
    const flat = {} as TradeColumns;
    for (const f of TRADE_FIELDS) {
      const out = f === "side" || f === "reason" ? new Uint8Array(n) : new Float64Array(n);
      for (let k = 0; k < chunks.length; k++) {
        const from = k << CHUNK_BITS;
        const col = chunks[k][f];
        out.set(from + CHUNK <= n ? col : col.subarray(0, n - from), from);
      }
      (flat as unknown as Record<string, Uint8Array | Float64Array>)[f] = out;
    }
    return { ...flat, count: n, reasons: [...this.#reasons] };
  }

  /**
   * A read-only book over `c` (from {@linkcode TradeBook.toColumns}): its records and stats
   * are those of the book it was taken from. Throws a TypeError on columns of the wrong size.
   */
  static fromColumns(c: TradeBookColumns): TradeBook {
    const n = c.count;
    if (!Number.isInteger(n) || n < 0) throw new TypeError(`Invalid trade count ${n}`);
    for (const f of TRADE_FIELDS) {
      if (c[f]?.length !== n) throw new TypeError(`Trade column ${f} does not hold ${n} values`);
    }
    if (c.reason.some((r) => r >= c.reasons.length)) {
      throw new TypeError("Trade column reason indexes a missing exit reason");
    }
    const book = new TradeBook();
    for (let from = 0; from < n; from += CHUNK) {
      const view = {} as TradeColumns;
      for (const f of TRADE_FIELDS) {
        (view as unknown as Record<string, Uint8Array | Float64Array>)[f] = c[f].subarray(
          from,
          Math.min(n, from + CHUNK),
        );
      }
      book.#chunks.push(view);
    }
    book.#count = n;
    book.#reasons = [...c.reasons];
    book.#sealed = true;
    return book;
  }

  /** Number of trades. */
  get length(): number {
    return this.#count;
  }

  #reasonIndex(reason: string): number {
    const rs = this.#reasons;
    for (let i = 0; i < rs.length; i++) if (rs[i] === reason) return i;
    if (rs.length === 255) throw new RangeError("TradeBook: more than 255 distinct exit reasons");
    rs.push(reason);
    return rs.length - 1;
  }

  /** Appends a closed trade (the fields of a `TradeRecord`). */
  add(
    short: boolean,
    quantity: number,
    entryTime: number,
    entryPrice: number,
    exitTime: number,
    exitPrice: number,
    pnl: number,
    returnPct: number,
    fees: number,
    exitReason: string,
  ): void {
    if (this.#sealed) throw new TypeError("TradeBook.add(): this book is read-only");
    const g = this.#count++;
    const k = g >> CHUNK_BITS, i = g & (CHUNK - 1);
    const chunks = this.#chunks;
    if (k === chunks.length) chunks.push(chunk());
    const c = chunks[k];
    c.side[i] = short ? 1 : 0;
    c.reason[i] = this.#reasonIndex(exitReason);
    c.quantity[i] = quantity;
    c.entryTime[i] = entryTime;
    c.entryPrice[i] = entryPrice;
    c.exitTime[i] = exitTime;
    c.exitPrice[i] = exitPrice;
    c.pnl[i] = pnl;
    c.returnPct[i] = returnPct;
    c.fees[i] = fees;
  }

  /** Trade `g` as a new record. */
  record(g: number): TradeRecord {
    const c = this.#chunks[g >> CHUNK_BITS], i = g & (CHUNK - 1);
    return {
      side: c.side[i] === 0 ? "long" : "short",
      quantity: c.quantity[i],
      entryTime: c.entryTime[i],
      entryPrice: c.entryPrice[i],
      exitTime: c.exitTime[i],
      exitPrice: c.exitPrice[i],
      pnl: c.pnl[i],
      returnPct: c.returnPct[i],
      fees: c.fees[i],
      exitReason: this.#reasons[c.reason[i]],
    };
  }

  /** Every trade as new records, in the order they closed. */
  records(): TradeRecord[] {
    const n = this.#count;
    const out = new Array<TradeRecord>(n);
    for (let g = 0; g < n; g++) out[g] = this.record(g);
    return out;
  }

  /**
   * `tradeStats(records())` followed by `open` (the open trade, or null), computed from the
   * columns with the same arithmetic in the same order, so the numbers are identical.
   */
  stats(open: TradeRecord | null): TradeStats {
    const acc = new TradeStatsAccumulator();
    const n = this.#count, chunks = this.#chunks;
    for (let g = 0; g < n; g++) {
      const c = chunks[g >> CHUNK_BITS], i = g & (CHUNK - 1);
      const pnl = c.pnl[i];
      if (Number.isNaN(pnl)) throw new TypeError(`Trade ${g}: pnl must be a number, got NaN`);
      acc.addFees(c.fees[i]);
      acc.addClosed(pnl, c.returnPct[i]);
    }
    if (open !== null) {
      if (Number.isNaN(open.pnl)) throw new TypeError(`Trade ${n}: pnl must be a number, got NaN`);
      acc.addFees(open.fees);
    }
    return acc.result();
  }
}
