/**
 * Fee models: one small interface, one class per variant.
 *
 * @module
 */
import type { BacktestConfig } from "./types.ts";

/** One fill as the fee model sees it. */
export interface FeeQuery {
  /** Units filled (> 0). */
  quantity: number;
  price: number;
  /** True for maker fills (limit and stop-limit), false for taker fills (market, stop). */
  maker: boolean;
}

/** Computes the fee charged for one fill. */
export interface FeeModel {
  fee(q: FeeQuery): number;
}

/** No fees at all. */
export class NoFee implements FeeModel {
  fee(_q: FeeQuery): number {
    return 0;
  }
}

/** `|quantity| × price × rate + fixed`, rate = maker or taker by the fill's kind. */
export class MakerTakerFee implements FeeModel {
  constructor(readonly maker: number, readonly taker: number, readonly fixed: number) {}
  fee(q: FeeQuery): number {
    return Math.abs(q.quantity) * q.price * (q.maker ? this.maker : this.taker) + this.fixed;
  }
}

/** The fee model a configuration describes. */
export function createFeeModel(config: BacktestConfig): FeeModel {
  if (config.feeMaker === 0 && config.feeTaker === 0 && config.feeFixed === 0) return new NoFee();
  return new MakerTakerFee(config.feeMaker, config.feeTaker, config.feeFixed);
}
