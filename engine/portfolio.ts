/**
 * Portfolio: cash, the single position (signed quantity, average price), realized P&L, fees
 * and the trade log.
 *
 * @module
 */
import { TradeBook } from "./trade_book.ts";
import type { TradeRecord } from "./types.ts";

/** Cash and one position in the backtested instrument, updated by fills. */
export class Portfolio {
  cash: number;
  /** Signed quantity: > 0 long, < 0 short. */
  position = 0;
  /** Average entry price of the open position (0 when flat). */
  avgPrice = 0;
  feesPaid = 0;
  /** Σ pnl of closed trades (net of their fees). */
  realizedPnl = 0;
  /** Closed trades in the order they closed, as columns (records are built when read). */
  readonly book: TradeBook = new TradeBook();
  #entryTime = 0;
  /** Entry fees of the open position not yet attributed to a closed trade. */
  #entryFees = 0;
  #onTrade: ((t: TradeRecord) => void) | undefined;

  constructor(cash: number, onTrade?: (t: TradeRecord) => void) {
    this.cash = cash;
    this.#onTrade = onTrade;
  }

  /** Closed trades in the order they closed (new record objects on each read). */
  get trades(): TradeRecord[] {
    return this.book.records();
  }

  /** Cash plus the position valued at `price`. */
  equityAt(price: number): number {
    return this.position === 0 ? this.cash : this.cash + this.position * price;
  }

  /** Unrealized P&L of the open position at `price` (before fees). */
  unrealizedPnl(price: number): number {
    return this.position * (price - this.avgPrice);
  }

  /**
   * Applies one fill of signed quantity `qty` (> 0 buys) at `price` with `fee`. A fill must
   * not cross zero: callers split a reversal into a closing fill and an opening fill.
   * A reducing fill closes that many units as one trade with `exitReason`.
   */
  fill(qty: number, price: number, fee: number, time: number, exitReason: string): void {
    const pos = this.position;
    this.cash -= qty * price + fee;
    this.feesPaid += fee;
    if (pos === 0 || (pos > 0) === (qty > 0)) {
      const a = Math.abs(pos), b = Math.abs(qty);
      this.avgPrice = pos === 0 ? price : (a * this.avgPrice + b * price) / (a + b);
      if (pos === 0) {
        this.#entryTime = time;
        this.#entryFees = 0;
      }
      this.#entryFees += fee;
      this.position = pos + qty;
      return;
    }
    const closed = Math.abs(qty), open = Math.abs(pos);
    if (closed > open * (1 + 1e-12)) {
      throw new RangeError(`Portfolio.fill(): a fill of ${qty} crosses a position of ${pos}`);
    }
    const dir = pos > 0 ? 1 : -1;
    const entryFees = closed >= open ? this.#entryFees : this.#entryFees * (closed / open);
    this.#entryFees -= entryFees;
    const pnl = (price - this.avgPrice) * closed * dir - entryFees - fee;
    const entryPrice = this.avgPrice, returnPct = pnl / (this.avgPrice * closed);
    const fees = entryFees + fee;
    this.realizedPnl += pnl;
    this.book.add(
      dir < 0,
      closed,
      this.#entryTime,
      entryPrice,
      time,
      price,
      pnl,
      returnPct,
      fees,
      exitReason,
    );
    const onTrade = this.#onTrade;
    if (closed >= open) {
      this.position = 0;
      this.avgPrice = 0;
      this.#entryFees = 0;
    } else {
      this.position = pos + qty;
    }
    if (onTrade !== undefined) onTrade(this.book.record(this.book.length - 1));
  }

  /** The open position as a trade with null exit fields and unrealized pnl at `price`. */
  openTrade(price: number): TradeRecord | null {
    if (this.position === 0) return null;
    const q = Math.abs(this.position), dir = this.position > 0 ? 1 : -1;
    const pnl = (price - this.avgPrice) * q * dir - this.#entryFees;
    return {
      side: dir > 0 ? "long" : "short",
      quantity: q,
      entryTime: this.#entryTime,
      entryPrice: this.avgPrice,
      exitTime: null,
      exitPrice: null,
      pnl,
      returnPct: pnl / (this.avgPrice * q),
      fees: this.#entryFees,
      exitReason: null,
    };
  }
}
