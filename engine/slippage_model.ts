/**
 * Slippage models: the adverse price move (and, for volume share, the quantity cap) of market
 * and stop fills. One small interface, one class per variant.
 *
 * @module
 */
import type { OrderSide, SlippageModel } from "./types.ts";

/** What a slippage model needs to know about a fill. */
export interface SlippageQuery {
  side: OrderSide;
  /** Price before slippage (open, stop or close). */
  price: number;
  /** Units wanted. */
  quantity: number;
  /** The fill bar's volume. */
  volume: number;
}

/** Turns a base price into a fill price and caps the fillable quantity. */
export interface Slippage {
  /** Most units that can fill on a bar with this volume (Infinity when unlimited). */
  maxQuantity(volume: number): number;
  /** Fill price for `q.quantity` units (already capped by {@linkcode maxQuantity}). */
  price(q: SlippageQuery): number;
  /**
   * The least favourable price any fill of this order could get on this bar; sizing uses it
   * so that a sized order never exceeds buying power once slippage is known.
   */
  sizingPrice(side: OrderSide, price: number): number;
}

/** No slippage. */
export class NoSlippage implements Slippage {
  maxQuantity(_volume: number): number {
    return Infinity;
  }
  price(q: SlippageQuery): number {
    return q.price;
  }
  sizingPrice(_side: OrderSide, price: number): number {
    return price;
  }
}

/** A fixed fraction `bps / 10 000` of the price, against the order. */
export class BpsSlippage implements Slippage {
  readonly s: number;
  constructor(readonly bps: number) {
    this.s = bps / 10_000;
  }
  maxQuantity(_volume: number): number {
    return Infinity;
  }
  price(q: SlippageQuery): number {
    return q.side === "buy" ? q.price * (1 + this.s) : q.price * (1 - this.s);
  }
  sizingPrice(side: OrderSide, price: number): number {
    return side === "buy" ? price * (1 + this.s) : price * (1 - this.s);
  }
}

/** A fixed number of price ticks, against the order. */
export class TickSlippage implements Slippage {
  readonly move: number;
  constructor(readonly ticks: number, readonly tickSize: number) {
    this.move = ticks * tickSize;
  }
  maxQuantity(_volume: number): number {
    return Infinity;
  }
  price(q: SlippageQuery): number {
    return q.side === "buy" ? q.price + this.move : q.price - this.move;
  }
  sizingPrice(side: OrderSide, price: number): number {
    return side === "buy" ? price + this.move : price - this.move;
  }
}

/**
 * Zipline's volume share model: a bar fills at most `volumeLimit × volume` units and moves the
 * price by `priceImpact × share²`, `share = filled / volume`.
 */
export class VolumeShareSlippage implements Slippage {
  constructor(readonly volumeLimit: number, readonly priceImpact: number) {}
  maxQuantity(volume: number): number {
    return this.volumeLimit * volume;
  }
  price(q: SlippageQuery): number {
    const share = q.volume > 0 ? q.quantity / q.volume : 0;
    const s = this.priceImpact * share * share;
    return q.side === "buy" ? q.price * (1 + s) : q.price * (1 - s);
  }
  sizingPrice(side: OrderSide, price: number): number {
    // Buys: the worst impact (share = volumeLimit). Sells: the price before impact, the
    // highest a sell can get, so the margin a short needs is never underestimated.
    const worst = this.priceImpact * this.volumeLimit * this.volumeLimit;
    return side === "buy" ? price * (1 + worst) : price;
  }
}

/** The slippage model a configuration describes. */
export function createSlippage(model: SlippageModel): Slippage {
  switch (model.kind) {
    case "none":
      return new NoSlippage();
    case "bps":
      return model.bps === 0 ? new NoSlippage() : new BpsSlippage(model.bps);
    case "ticks":
      return new TickSlippage(model.ticks, model.tickSize);
    case "volume_share":
      return new VolumeShareSlippage(model.volumeLimit, model.priceImpact);
    default: {
      const _exhaustive: never = model;
      throw new TypeError(`Unknown slippage model ${JSON.stringify(_exhaustive)}`);
    }
  }
}
