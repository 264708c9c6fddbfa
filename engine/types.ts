/**
 * The engine's public contract: bars, configuration, the strategy API, events and the
 * result JSON. Every other part of WagYu (CLI, server, sandbox, optimizer, UI) speaks these
 * types, so change them only together with docs/SEMANTICS.md.
 *
 * @module
 */

/** Columnar OHLCV bars. Timestamps are ms since the epoch (UTC), strictly increasing. */
export interface Bars {
  readonly length: number;
  readonly timestamp: Float64Array;
  readonly open: Float64Array;
  readonly high: Float64Array;
  readonly low: Float64Array;
  readonly close: Float64Array;
  readonly volume: Float64Array;
}

/** One bar as an object (what `data.bar` holds). */
export interface Bar {
  time: number;
  open: number;
  high: number;
  low: number;
  close: number;
  volume: number;
}

/** Trading mode: what a -1 signal means. */
export type TradingMode = "long_only" | "long_short";

/** How a signal is turned into a quantity. */
export type Sizing =
  | { kind: "fraction"; value: number }
  | { kind: "units"; value: number }
  | { kind: "notional"; value: number };

/** Slippage models; the adverse price move applied to market and stop fills. */
export type SlippageModel =
  | { kind: "none" }
  | { kind: "bps"; bps: number }
  | { kind: "ticks"; ticks: number; tickSize: number }
  /** Zipline-style: impact = priceImpact × share², fill capped at volumeLimit × bar volume. */
  | { kind: "volume_share"; volumeLimit: number; priceImpact: number };

/** Full backtest configuration (all fields resolved; see `resolveConfig`). */
export interface BacktestConfig {
  /** Starting cash. @default 10000 */
  cash: number;
  /** Taker fee rate (market and stop orders), e.g. 0.001 = 10 bps. @default 0 */
  feeTaker: number;
  /** Maker fee rate (resting limit orders). @default 0 */
  feeMaker: number;
  /** Fixed fee per fill. @default 0 */
  feeFixed: number;
  /** @default { kind: "none" } */
  slippage: SlippageModel;
  /** @default "long_only" */
  mode: TradingMode;
  /** @default { kind: "fraction", value: 1 } */
  sizing: Sizing;
  /** Round quantities down to whole units. @default false */
  wholeUnits: boolean;
  /** Close open positions at the last bar's close. @default false */
  closeAtEnd: boolean;
  /** Periods per year for metrics; null = inferred from the bar interval. @default null */
  annualization: number | null;
  /** Gross leverage allowed (buying power = equity × leverage). @default 1 */
  leverage: number;
  /** Maintenance margin as a fraction of position notional. @default 0.25 */
  maintenanceMargin: number;
  /** When market orders fill: next bar's open (default) or this bar's close (opt-in). */
  fillOn: "next_open" | "close";
}

/** Time in force: good-till-cancelled, the trading day, or a number of bars. */
export type TimeInForce = "GTC" | "DAY" | { bars: number };

export type OrderSide = "buy" | "sell";
export type OrderType = "market" | "limit" | "stop" | "stop_limit";
export type OrderStatus =
  | "submitted"
  | "pending"
  | "partially_filled"
  | "filled"
  | "cancelled"
  | "rejected"
  | "expired";

/** What a strategy passes to `ctx.order()`. */
export interface OrderRequest {
  side: OrderSide;
  type?: OrderType;
  /** Units; when absent, the configured sizing decides. */
  quantity?: number;
  /** Limit price (limit and stop_limit). */
  price?: number;
  /** Stop trigger price (stop and stop_limit). */
  stopPrice?: number;
  tif?: TimeInForce;
  /** Bracket exits attached to this entry, placed when it fills. */
  stopLoss?: number;
  takeProfit?: number;
  /** Free-form tag, kept in the order record. */
  tag?: string;
}

/** Options of `ctx.buy()` / `ctx.sell()`. */
export type SimpleOrderOptions = Omit<OrderRequest, "side">;

/** The strategy's view of its position. */
export interface PositionView {
  /** Signed quantity: > 0 long, < 0 short, 0 flat. */
  readonly quantity: number;
  readonly side: "long" | "short" | "flat";
  readonly avgPrice: number;
}

/** History up to and including the current bar. */
export interface DataView {
  readonly length: number;
  readonly timestamp: Float64Array;
  readonly open: Float64Array;
  readonly high: Float64Array;
  readonly low: Float64Array;
  readonly close: Float64Array;
  readonly volume: Float64Array;
  readonly bar: Bar;
}

/** Price field an indicator reads. */
export type Source = "open" | "high" | "low" | "close" | "volume" | "hl2" | "hlc3" | "ohlc4";

/** Incremental indicators: each returns the value at the current bar (NaN while warming up). */
export interface TechnicalAnalysis {
  sma(period: number, source?: Source): number;
  ema(period: number, source?: Source): number;
  rsi(period?: number, source?: Source): number;
  macd(
    fast?: number,
    slow?: number,
    signal?: number,
    source?: Source,
  ): { macd: number; signal: number; histogram: number };
  bollinger(
    period?: number,
    k?: number,
    source?: Source,
  ): { upper: number; middle: number; lower: number };
  atr(period?: number): number;
  stdev(period: number, source?: Source): number;
  highest(period: number, source?: Source): number;
  lowest(period: number, source?: Source): number;
  /** True when series a crossed above b on this bar (a[t-1] <= b[t-1] and a[t] > b[t]). */
  crossover(a: IndicatorRef, b: IndicatorRef): boolean;
  crossunder(a: IndicatorRef, b: IndicatorRef): boolean;
}

/** A reference to a series for crossover tests: an indicator spec or a constant. */
export type IndicatorRef =
  | number
  | { sma: number; source?: Source }
  | { ema: number; source?: Source }
  | { rsi: number; source?: Source }
  | { source: Source };

/** The context a strategy receives. */
export interface StrategyContext {
  readonly params: Readonly<Record<string, number | string | boolean>>;
  readonly cash: number;
  readonly equity: number;
  readonly position: PositionView;
  /** Index of the current bar (0-based). */
  readonly barIndex: number;
  buy(opts?: SimpleOrderOptions): string;
  sell(opts?: SimpleOrderOptions): string;
  /** Market order that flattens the position; returns its id or null when flat. */
  close(): string | null;
  order(req: OrderRequest): string;
  cancel(id: string): boolean;
  log(...args: unknown[]): void;
  readonly ta: TechnicalAnalysis;
}

/** A signal: 1 long, -1 short (long_short) or flat (long_only), 0 / undefined hold. */
export type Signal = 1 | -1 | 0 | undefined | void;

/** What a user strategy instance looks like. */
export interface Strategy {
  params?: Record<string, number | string | boolean>;
  Initialize?(ctx: StrategyContext): void;
  OnData(data: DataView, ctx: StrategyContext): Signal | number;
}

/** A strategy module's default export. */
export type StrategyClass = new () => Strategy;

/** An order as recorded in the result, with its lifecycle. */
export interface OrderRecord {
  id: string;
  side: OrderSide;
  type: OrderType;
  quantity: number;
  filledQuantity: number;
  price: number | null;
  stopPrice: number | null;
  tif: TimeInForce;
  status: OrderStatus;
  /** Why it was rejected, cancelled or expired. */
  reason: string | null;
  submittedTime: number;
  /** Average fill price, null when nothing filled. */
  avgFillPrice: number | null;
  fees: number;
  tag: string | null;
  /** Each status change with the bar time it happened at. */
  history: { status: OrderStatus; time: number }[];
}

/** A round trip (or an open position at the end, with exit fields null). */
export interface TradeRecord {
  side: "long" | "short";
  quantity: number;
  entryTime: number;
  entryPrice: number;
  exitTime: number | null;
  exitPrice: number | null;
  /** Net of entry and exit fees; for an open trade, unrealized at the last close. */
  pnl: number;
  /** pnl / (entryPrice × quantity). */
  returnPct: number;
  fees: number;
  /** "signal" | "order" | "stop_loss" | "take_profit" | "liquidation" | "end". */
  exitReason: string | null;
}

/** The result JSON (what `--json` writes and `/api/strategy/execute` answers). */
export interface BacktestResult {
  config: BacktestConfig;
  params: Record<string, number | string | boolean>;
  bars: { count: number; start: number | null; end: number | null };
  metrics: Record<string, number | null>;
  trades: TradeRecord[];
  equity: { time: number; equity: number }[];
  orders: OrderRecord[];
  logs: string[];
}

/** Engine events, one closed union, in the per-bar order bar → signal → order → fill. */
export type EngineEvent =
  | { type: "bar"; index: number; time: number }
  | { type: "signal"; index: number; time: number; signal: -1 | 0 | 1 }
  | {
    type: "order";
    index: number;
    time: number;
    orderId: string;
    status: Exclude<OrderStatus, "filled" | "partially_filled">;
    reason: string | null;
  }
  | {
    type: "fill";
    index: number;
    time: number;
    orderId: string;
    side: OrderSide;
    quantity: number;
    price: number;
    fee: number;
  }
  | { type: "liquidation"; index: number; time: number; quantity: number; price: number };
