/**
 * WagYu's engine: the public surface. Pure TypeScript (no I/O), so the same module runs on the
 * server, in a Worker and in the browser.
 *
 * @example
 * ```ts
 * import { barsFromRows, runBacktest } from "./mod.ts";
 * const bars = barsFromRows([[0, 10, 11, 9, 10.5, 100], [86_400_000, 10.5, 12, 10, 11, 120]]);
 * const result = runBacktest(bars, class { OnData() { return 1; } });
 * console.log(result.metrics.totalReturn);
 * ```
 *
 * @module
 */
export * from "./types.ts";
export {
  allocateBars,
  BarsError,
  barsFromRows,
  barsToRows,
  sliceBars,
  validateBars,
} from "./bars.ts";
export { type ConfigInput, DEFAULT_CONFIG, parseSizing, resolveConfig } from "./config.ts";
export { BacktestCancelled, runBacktest, type RunOptions, StrategyError } from "./backtest.ts";
export { annualizationOf, buyAndHoldReturns } from "./result.ts";
export {
  isTerminal,
  nextOrderStatus,
  Order,
  ORDER_TRANSITIONS,
  type OrderEventKind,
  type OrderOrigin,
  OrderTransitionError,
  type QuantityMode,
} from "./orders.ts";
export { Broker, type BrokerOptions } from "./broker.ts";
export { Portfolio } from "./portfolio.ts";
export { createFeeModel, type FeeModel, type FeeQuery, MakerTakerFee, NoFee } from "./fee_model.ts";
export {
  BpsSlippage,
  createSlippage,
  NoSlippage,
  type Slippage,
  type SlippageQuery,
  TickSlippage,
  VolumeShareSlippage,
} from "./slippage_model.ts";
export {
  type FillableOrder,
  type FillModel,
  fillModelFor,
  LimitFill,
  MarketFill,
  StopFill,
  StopLimitFill,
} from "./fill_model.ts";
export { BarDataView, type Clock } from "./data_view.ts";
export { type ContextHost, StrategyCtx } from "./context.ts";
export { Ta } from "./ta.ts";
export * from "./indicators.ts";
export * from "./metrics.ts";
export { computeMetrics } from "./trade_stats.ts";
export { inferAnnualization } from "./annualization.ts";
