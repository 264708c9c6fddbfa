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

/** Closed trades in the order they closed. */
export class TradeBook {
  #count = 0;
  #chunks: TradeColumns[] = [];
  /** Distinct exit reasons, by first use (the engine has six; any string is accepted). */
  #reasons: string[] = [];

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
