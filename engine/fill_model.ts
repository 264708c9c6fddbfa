/**
 * Fill models: whether an order fills on a bar and at what price before slippage. One small
 * interface, one class per order type (docs/SEMANTICS.md "Fills").
 *
 * @module
 */
import type { Bars, OrderSide, OrderType } from "./types.ts";

/** The parts of an order a fill model reads. Fill models only read it; they never change it. */
export interface FillableOrder {
  readonly side: OrderSide;
  readonly price: number | null;
  readonly stopPrice: number | null;
  /**
   * A stop-limit whose stop triggered on an earlier bar (it now rests as a limit). The broker
   * sets it after a bar's fills, so every pass over one bar sees the order as it was when the
   * bar began.
   */
  readonly triggered: boolean;
}

/** Decides the base fill price of an order on bar `t`, or NaN when it does not fill. */
export interface FillModel {
  /** True when the fill pays the maker rate (a resting limit). */
  readonly maker: boolean;
  /** True when slippage applies. */
  readonly slips: boolean;
  fillPrice(order: FillableOrder, bars: Bars, t: number): number;
}

/** Market: the bar's open. */
export class MarketFill implements FillModel {
  readonly maker = false;
  readonly slips = true;
  fillPrice(_order: FillableOrder, bars: Bars, t: number): number {
    return bars.open[t];
  }
}

function limitPrice(side: OrderSide, limit: number, bars: Bars, t: number): number {
  const open = bars.open[t];
  if (side === "buy") return bars.low[t] <= limit ? Math.min(open, limit) : NaN;
  return bars.high[t] >= limit ? Math.max(open, limit) : NaN;
}

/** Limit: buy when low ≤ limit at min(open, limit); sell when high ≥ limit at max(open, limit). */
export class LimitFill implements FillModel {
  readonly maker = true;
  readonly slips = false;
  fillPrice(order: FillableOrder, bars: Bars, t: number): number {
    return limitPrice(order.side, order.price!, bars, t);
  }
}

/** True when bar `t` reaches the order's stop: high ≥ stop for buys, low ≤ stop for sells. */
export function stopTriggered(order: FillableOrder, bars: Bars, t: number): boolean {
  const stop = order.stopPrice!;
  return order.side === "buy" ? bars.high[t] >= stop : bars.low[t] <= stop;
}

/** Stop: buy when high ≥ stop at max(open, stop); sell when low ≤ stop at min(open, stop). */
export class StopFill implements FillModel {
  readonly maker = false;
  readonly slips = true;
  fillPrice(order: FillableOrder, bars: Bars, t: number): number {
    const stop = order.stopPrice!, open = bars.open[t];
    if (order.side === "buy") return bars.high[t] >= stop ? Math.max(open, stop) : NaN;
    return bars.low[t] <= stop ? Math.min(open, stop) : NaN;
  }
}

/**
 * Stop-limit: triggers like a stop. On the trigger bar it fills at the trigger price only when
 * that price is at or better than the limit; otherwise it rests as a limit from the next bar
 * (the broker marks it `triggered` once the bar's fills are done: see {@linkcode stopTriggered}).
 */
export class StopLimitFill implements FillModel {
  readonly maker = true;
  readonly slips = false;
  fillPrice(order: FillableOrder, bars: Bars, t: number): number {
    const limit = order.price!;
    if (order.triggered) return limitPrice(order.side, limit, bars, t);
    const stop = order.stopPrice!, open = bars.open[t];
    if (order.side === "buy") {
      if (!(bars.high[t] >= stop)) return NaN;
      const trigger = Math.max(open, stop);
      return trigger <= limit ? trigger : NaN;
    }
    if (!(bars.low[t] <= stop)) return NaN;
    const trigger = Math.min(open, stop);
    return trigger >= limit ? trigger : NaN;
  }
}

const MODELS: Readonly<Record<OrderType, FillModel>> = Object.freeze({
  market: new MarketFill(),
  limit: new LimitFill(),
  stop: new StopFill(),
  stop_limit: new StopLimitFill(),
});

/** The fill model of an order type. */
export function fillModelFor(type: OrderType): FillModel {
  return MODELS[type];
}
