/**
 * Broker: the order manager (submission, validation, fills, brackets, time in force,
 * cancellation) and the margin check with liquidation. Rules: docs/SEMANTICS.md.
 *
 * @module
 */
import { createFeeModel, type FeeModel, type FeeQuery } from "./fee_model.ts";
import { fillModelFor, stopTriggered } from "./fill_model.ts";
import { Order, OrderBook, type OrderOrigin, type QuantityMode } from "./orders.ts";
import type { Portfolio } from "./portfolio.ts";
import { createSlippage, type Slippage, type SlippageQuery } from "./slippage_model.ts";
import type {
  BacktestConfig,
  Bars,
  EngineEvent,
  OrderRequest,
  OrderSide,
  OrderType,
  TimeInForce,
} from "./types.ts";

const DAY_MS = 86_400_000;
/** Relative tolerance for "cost exceeds buying power": sizing at exactly 100 % must pass. */
const BP_TOLERANCE = 1e-9;

/** Options of {@linkcode Broker}. */
export interface BrokerOptions {
  /** Receives order, fill and liquidation events; off = no event objects are built. */
  onEvent?: (e: EngineEvent) => void;
}

const ORDER_TYPES: ReadonlySet<string> = new Set(["market", "limit", "stop", "stop_limit"]);

function validTif(tif: unknown): tif is TimeInForce {
  if (tif === "GTC" || tif === "DAY") return true;
  if (tif === null || typeof tif !== "object") return false;
  const bars = (tif as { bars?: unknown }).bars;
  return typeof bars === "number" && Number.isInteger(bars) && bars >= 1;
}

function positivePrice(v: unknown): v is number {
  return typeof v === "number" && Number.isFinite(v) && v > 0;
}

function show(v: unknown): string {
  if (typeof v === "number") return String(v);
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}

/**
 * Holds every order, fills live ones against each bar and keeps the portfolio in step.
 * The engine calls, per bar: {@linkcode Broker.processBar} (activation, fills, expiry),
 * {@linkcode Broker.checkMargin}, then the strategy submits through
 * {@linkcode Broker.submitRequest} / {@linkcode Broker.submitSignal}.
 */
export class Broker {
  /** Orders not retired yet (live, or finished since the last `#compact`). */
  #live: Order[] = [];
  /** Every order in submission order (the result's `orders`: {@linkcode OrderBook.records}). */
  readonly orders: OrderBook = new OrderBook(this.#live);
  #bars: Bars;
  #config: BacktestConfig;
  #pf: Portfolio;
  #fees: FeeModel;
  #slip: Slippage;
  #onEvent: ((e: EngineEvent) => void) | undefined;
  #nextId = 1;
  #signalOrder: Order | null = null;
  /**
   * Packed-away orders nobody references any more, reused by `#create` (see `Order.reuse`).
   * Only signal orders go here: the engine loop ignores what `submitSignal` returns, while
   * orders from `submitRequest` / `submitClose` are handed to callers that may keep them.
   */
  #free: Order[] = [];
  /** Reused query objects: fills happen in the hot loop, so they allocate no parameter objects. */
  #feeQ: FeeQuery = { quantity: 0, price: 0, maker: false };
  #slipQ: SlippageQuery = { side: "buy", price: 0, quantity: 0, volume: 0 };

  constructor(bars: Bars, config: BacktestConfig, portfolio: Portfolio, opts: BrokerOptions = {}) {
    this.#bars = bars;
    this.#config = config;
    this.#pf = portfolio;
    this.#fees = createFeeModel(config);
    this.#slip = createSlippage(config.slippage);
    this.#onEvent = opts.onEvent;
  }

  /** Number of orders that can still fill; the engine skips fill processing when 0. */
  get liveCount(): number {
    return this.#live.length;
  }

  #create(
    side: OrderSide,
    type: OrderType,
    mode: QuantityMode,
    quantity: number,
    price: number | null,
    stopPrice: number | null,
    tif: TimeInForce,
    origin: OrderOrigin,
    reduceOnly: boolean,
    tag: string | null,
    t: number,
  ): Order {
    const free = this.#free;
    let o: Order;
    if (free.length > 0) {
      o = free.pop()!;
      o.reuse(
        this.#nextId++,
        side,
        type,
        mode,
        quantity,
        price,
        stopPrice,
        tif,
        origin,
        reduceOnly,
        tag,
        t,
        this.#bars.timestamp[t],
      );
    } else {
      o = new Order(
        this.#nextId++,
        side,
        type,
        mode,
        quantity,
        price,
        stopPrice,
        tif,
        origin,
        reduceOnly,
        tag,
        t,
        this.#bars.timestamp[t],
      );
    }
    this.orders.add(o);
    this.#live.push(o);
    this.#event(o, t);
    return o;
  }

  #event(o: Order, t: number): void {
    if (this.#onEvent === undefined) return;
    const status = o.status;
    if (status === "filled" || status === "partially_filled") return;
    this.#onEvent({
      type: "order",
      index: t,
      time: this.#bars.timestamp[t],
      orderId: o.id,
      status,
      reason: o.reason,
    });
  }

  #reject(o: Order, t: number, reason: string): void {
    o.apply(o.filledQuantity > 0 ? "cancel" : "reject", this.#bars.timestamp[t], reason);
    this.#event(o, t);
  }

  #cancel(o: Order, t: number, reason: string): void {
    o.apply("cancel", this.#bars.timestamp[t], reason);
    this.#event(o, t);
  }

  /**
   * Validates and places a strategy's order on bar `t` (eligible from `t + 1`). A malformed
   * request (unknown side, type or time in force) throws a `TypeError`; bad numbers give an
   * order rejected with the reason, so the strategy can see it.
   */
  submitRequest(req: OrderRequest, t: number, origin: OrderOrigin = "order"): Order {
    if (req === null || typeof req !== "object") {
      throw new TypeError(`Invalid order request: expected an object, got ${show(req)}`);
    }
    const side = req.side;
    if (side !== "buy" && side !== "sell") {
      throw new TypeError(`Invalid order side ${show(side)}: expected "buy" or "sell"`);
    }
    const type = req.type ?? "market";
    if (!ORDER_TYPES.has(type)) {
      throw new TypeError(
        `Invalid order type ${show(type)}: expected market, limit, stop or stop_limit`,
      );
    }
    const tif = req.tif ?? "GTC";
    if (!validTif(tif)) {
      throw new TypeError(
        `Invalid time in force ${show(tif)}: expected "GTC", "DAY" or { bars: n } (n ≥ 1)`,
      );
    }
    if (req.tag !== undefined && typeof req.tag !== "string") {
      throw new TypeError(`Invalid order tag ${show(req.tag)}: expected a string`);
    }
    const needsLimit = type === "limit" || type === "stop_limit";
    const needsStop = type === "stop" || type === "stop_limit";
    const sized = req.quantity === undefined;
    const o = this.#create(
      side,
      type,
      sized ? "sized" : "fixed",
      sized ? NaN : Number(req.quantity),
      needsLimit && typeof req.price === "number" ? req.price : null,
      needsStop && typeof req.stopPrice === "number" ? req.stopPrice : null,
      typeof tif === "object" ? { bars: tif.bars } : tif,
      origin,
      false,
      req.tag ?? null,
      t,
    );
    let reason: string | null = null;
    if (
      !sized && !(typeof req.quantity === "number" && Number.isFinite(req.quantity) &&
        req.quantity > 0)
    ) {
      reason = `invalid quantity: expected a finite number > 0, got ${show(req.quantity)}`;
    } else if (needsLimit && !positivePrice(req.price)) {
      reason = `invalid price: a ${type} order needs price > 0, got ${show(req.price)}`;
    } else if (needsStop && !positivePrice(req.stopPrice)) {
      reason = `invalid price: a ${type} order needs stopPrice > 0, got ${show(req.stopPrice)}`;
    } else if (req.stopLoss !== undefined && !positivePrice(req.stopLoss)) {
      reason = `invalid price: stopLoss must be > 0, got ${show(req.stopLoss)}`;
    } else if (req.takeProfit !== undefined && !positivePrice(req.takeProfit)) {
      reason = `invalid price: takeProfit must be > 0, got ${show(req.takeProfit)}`;
    } else if (
      req.stopLoss !== undefined && req.takeProfit !== undefined &&
      (side === "buy" ? req.stopLoss >= req.takeProfit : req.stopLoss <= req.takeProfit)
    ) {
      reason = `invalid price: stopLoss ${req.stopLoss} must be ${
        side === "buy" ? "below" : "above"
      } takeProfit ${req.takeProfit} for a ${side}`;
    }
    if (reason !== null) {
      this.#reject(o, t, reason);
      return o;
    }
    o.stopLoss = req.stopLoss ?? null;
    o.takeProfit = req.takeProfit ?? null;
    return o;
  }

  /** A market order that flattens the position at fill time (`ctx.close()`); null when flat. */
  submitClose(t: number, origin: OrderOrigin = "order"): Order | null {
    const pos = this.#pf.position;
    if (pos === 0) return null;
    return this.#create(
      pos > 0 ? "sell" : "buy",
      "market",
      "close",
      NaN,
      null,
      null,
      "GTC",
      origin,
      true,
      null,
      t,
    );
  }

  /**
   * Turns a change of target (1 long, -1 short, 0 flat) into a market order: a sized entry
   * (closing any opposite position first) or a close. A still-live order of the previous
   * signal is cancelled first. Returns null when the position already matches. The returned
   * object is reused for a later signal order once this one is finished and packed away.
   */
  submitSignal(target: -1 | 0 | 1, t: number): Order | null {
    const prev = this.#signalOrder;
    if (prev !== null && prev.live) this.#cancel(prev, t, "replaced by a newer signal");
    const pos = this.#pf.position;
    let o: Order | null = null;
    if (target === 0) {
      o = this.submitClose(t, "signal");
    } else if (target === 1 ? !(pos > 0) : !(pos < 0)) {
      o = this.#create(
        target === 1 ? "buy" : "sell",
        "market",
        "sized",
        NaN,
        null,
        null,
        "GTC",
        "signal",
        false,
        null,
        t,
      );
    }
    this.#signalOrder = o;
    return o;
  }

  /** Cancels a live order by id; false when there is none (unknown or already done). */
  cancel(id: string, t: number, reason = "cancelled by the strategy"): boolean {
    for (const o of this.#live) {
      if (o.id === id && o.live) {
        this.#cancel(o, t, reason);
        return true;
      }
    }
    return false;
  }

  /**
   * Bar `t`'s fills: orders placed before `t` become pending, then fill in a fixed order —
   * market orders (at the open), then stops (so a bracket's stop wins over its take-profit
   * on a bar that touches both), then limits — and unfilled ones age for time in force.
   * An order's group is that of its state when the bar began: a stop-limit whose stop this bar
   * triggers without filling is marked `triggered` only after the fill passes, so it rests as a
   * limit from bar `t + 1` and never fills as one on its trigger bar.
   */
  processBar(t: number): void {
    const live = this.#live;
    const time = this.#bars.timestamp[t];
    for (let i = 0; i < live.length; i++) {
      const o = live[i];
      if (o.status === "submitted" && o.eligibleFrom <= t) {
        o.apply("accept", time);
        o.firstEligibleBar = t;
        this.#event(o, t);
      }
    }
    for (let pass = 0; pass < 3; pass++) {
      // Orders created while filling (bracket exits) are appended and skipped: not eligible.
      for (let i = 0; i < live.length; i++) {
        const o = live[i];
        if (o.status !== "pending" && o.status !== "partially_filled") continue;
        const p = o.type === "market"
          ? 0
          : o.type === "stop" || (o.type === "stop_limit" && !o.triggered)
          ? 1
          : 2;
        if (p !== pass) continue;
        const model = fillModelFor(o.type);
        const base = model.fillPrice(o, this.#bars, t);
        if (base === base) this.#execute(o, t, base, model.maker, model.slips, false);
      }
    }
    const n = this.#bars.length;
    for (let i = 0; i < live.length; i++) {
      const o = live[i];
      if (o.status !== "pending" && o.status !== "partially_filled") continue;
      if (o.type === "stop_limit" && !o.triggered && stopTriggered(o, this.#bars, t)) {
        o.triggered = true;
      }
      o.eligibleBars++;
      const tif = o.tif;
      if (tif === "GTC") continue;
      if (tif === "DAY") {
        const ts = this.#bars.timestamp;
        if (
          t + 1 < n &&
          Math.floor(ts[t + 1] / DAY_MS) !== Math.floor(ts[o.firstEligibleBar] / DAY_MS)
        ) {
          o.apply("expire", time, "end of day");
          this.#event(o, t);
        }
      } else if (o.eligibleBars >= tif.bars) {
        o.apply("expire", time, `time in force of ${tif.bars} bars elapsed`);
        this.#event(o, t);
      }
    }
    this.#compact();
  }

  #compact(): void {
    const live = this.#live;
    let j = 0;
    for (let i = 0; i < live.length; i++) {
      const o = live[i];
      if (o.live) live[j++] = o;
      else if (this.orders.retire(o) && o.origin === "signal" && this.#free.length < 8) {
        // Packed, and a signal's order: only the loop (which ignores it) got it back.
        if (this.#signalOrder === o) this.#signalOrder = null;
        this.#free.push(o);
      }
    }
    // pop, not `live.length = j`: setting the length frees the backing store, so the next
    // push allocates a new one — once per order, which made it the costliest line per order.
    while (live.length > j) live.pop();
  }

  /**
   * `fillOn: "close"`: market orders placed on bar `t` fill at its close (with slippage).
   * Other order types still wait for the next bar.
   */
  fillMarketAtClose(t: number): void {
    const live = this.#live;
    const time = this.#bars.timestamp[t];
    for (let i = 0; i < live.length; i++) {
      const o = live[i];
      if (o.type !== "market" || o.status !== "submitted" || o.submittedBar !== t) continue;
      o.apply("accept", time);
      o.firstEligibleBar = t;
      this.#event(o, t);
      this.#execute(o, t, this.#bars.close[t], false, true, false);
    }
    this.#compact();
  }

  /** `closeAtEnd`: flattens the position at bar `t`'s close, taker fee and slippage. */
  closeAtEnd(t: number): void {
    const o = this.submitClose(t, "end");
    if (o === null) return;
    o.apply("accept", this.#bars.timestamp[t]);
    o.firstEligibleBar = t;
    this.#event(o, t);
    this.#execute(o, t, this.#bars.close[t], false, true, true);
    this.#compact();
  }

  /**
   * Maintenance margin at bar `t`'s adverse extreme (low for longs, high for shorts). A breach
   * liquidates the whole position at the price where equity equals the requirement, or at the
   * open when the bar opened beyond it, with the taker fee.
   */
  checkMargin(t: number): void {
    const pf = this.#pf, pos = pf.position, cash = pf.cash;
    if (pos === 0) return;
    // Runs on every bar with a position: the common long case returns before any other read.
    if (pos > 0 && cash >= 0) return; // equity ≥ q × price ≥ m × q × price at any price
    const m = this.#config.maintenanceMargin;
    const open = this.#bars.open[t];
    let price: number;
    if (pos > 0) {
      const pStar = -cash / (pos * (1 - m));
      if (!(this.#bars.low[t] < pStar)) return;
      price = open < pStar ? open : pStar;
    } else {
      const pStar = cash / (-pos * (1 + m));
      if (!(this.#bars.high[t] > pStar)) return;
      price = open > pStar ? open : pStar;
    }
    this.#liquidate(t, pos, price);
  }

  /**
   * Closes the whole position `pos` at `price` on bar `t` (a margin call). Out of
   * `checkMargin`, which runs on every bar with a position, so that it stays small enough to be
   * inlined into the loop.
   */
  #liquidate(t: number, pos: number, price: number): void {
    const time = this.#bars.timestamp[t];
    const o = this.#create(
      pos > 0 ? "sell" : "buy",
      "market",
      "fixed",
      Math.abs(pos),
      null,
      null,
      "GTC",
      "liquidation",
      true,
      "liquidation",
      t,
    );
    o.apply("accept", time);
    o.firstEligibleBar = t;
    this.#event(o, t);
    this.#onEvent?.({ type: "liquidation", index: t, time, quantity: pos, price });
    this.#fill(o, t, -pos, price, false);
    o.apply("fill", time);
    this.#afterFill(o, t, pos);
    this.#compact();
  }

  /** Quantity of a new position by the configured sizing (docs/SEMANTICS.md). */
  #sizedQuantity(equity: number, price: number, buy: boolean): number {
    const c = this.#config, s = c.sizing;
    let q: number;
    if (s.kind === "fraction") {
      const rate = c.feeTaker;
      q = (s.value * equity * c.leverage - c.feeFixed) / (price * (1 + rate));
    } else if (s.kind === "units") {
      q = s.value;
    } else {
      q = s.value / price;
    }
    if (c.wholeUnits) q = Math.floor(q);
    if (!buy && c.mode === "long_only") q = 0;
    return q;
  }

  #fee(quantity: number, price: number, maker: boolean): number {
    const q = this.#feeQ;
    q.quantity = quantity;
    q.price = price;
    q.maker = maker;
    return this.#fees.fee(q);
  }

  #slipPrice(side: OrderSide, price: number, quantity: number, volume: number): number {
    const q = this.#slipQ;
    q.side = side;
    q.price = price;
    q.quantity = quantity;
    q.volume = volume;
    return this.#slip.price(q);
  }

  #fill(o: Order, t: number, qty: number, price: number, maker: boolean): void {
    const abs = Math.abs(qty);
    const fee = this.#fee(abs, price, maker);
    const time = this.#bars.timestamp[t];
    this.#pf.fill(qty, price, fee, time, o.origin);
    o.filledQuantity += abs;
    o.fillNotional += abs * price;
    o.fees += fee;
    this.#onEvent?.({
      type: "fill",
      index: t,
      time,
      orderId: o.id,
      side: o.side,
      quantity: abs,
      price,
      fee,
    });
  }

  /**
   * Fills `o` at bar `t` from the model's base price: sizes it at its first fill, caps it by
   * volume, applies slippage, checks buying power for the part that opens or adds, and splits
   * a fill that crosses zero into a closing and an opening fill.
   */
  #execute(
    o: Order,
    t: number,
    base: number,
    maker: boolean,
    slips: boolean,
    uncapped: boolean,
  ): void {
    const pf = this.#pf, c = this.#config, bars = this.#bars;
    const pos = pf.position;
    const buy = o.side === "buy";
    const dir = buy ? 1 : -1;
    const opposite = pos !== 0 && (pos > 0) !== buy;
    if (o.reduceOnly && !opposite) {
      this.#cancel(o, t, "position already flat");
      return;
    }
    if (o.quantity !== o.quantity) {
      if (o.quantityMode === "close") {
        o.quantity = Math.abs(pos);
      } else {
        const sp = slips ? this.#slip.sizingPrice(o.side, base) : base;
        const closeQ = opposite ? Math.abs(pos) : 0;
        const closeFee = closeQ > 0 ? this.#fee(closeQ, sp, maker) : 0;
        const equity = pf.cash + pos * sp - closeFee;
        const openQ = this.#sizedQuantity(equity, sp, buy);
        if (closeQ === 0 && !(openQ > 0)) {
          o.quantity = 0;
          this.#reject(o, t, "insufficient buying power");
          return;
        }
        o.quantity = closeQ + (openQ > 0 ? openQ : 0);
      }
    }
    let qty = o.quantity - o.filledQuantity;
    if (o.reduceOnly && qty > Math.abs(pos)) qty = Math.abs(pos);
    const volume = bars.volume[t];
    if (slips && !uncapped) {
      const cap = this.#slip.maxQuantity(volume);
      if (qty > cap) qty = c.wholeUnits ? Math.floor(cap) : cap;
      if (!(qty > 0)) return; // no volume to trade against on this bar: stays pending
    }
    const price = slips ? this.#slipPrice(o.side, base, qty, volume) : base;
    if (!(price > 0)) {
      this.#reject(o, t, `invalid price: slippage moved the fill price to ${price}`);
      return;
    }
    const closeQ = opposite ? Math.min(qty, Math.abs(pos)) : 0;
    let openQ = qty - closeQ;
    let shortfall: string | null = null;
    if (openQ > 0) {
      if (!buy && c.mode === "long_only") {
        if (closeQ === 0) {
          this.#reject(o, t, "shorting is disabled in long_only mode");
          return;
        }
        openQ = 0;
        shortfall = "shorting is disabled in long_only mode";
      } else {
        const closeFee = closeQ > 0 ? this.#fee(closeQ, price, maker) : 0;
        const posAfter = pos + dir * closeQ;
        const equity = pf.cash + pos * price - closeFee;
        const bp = equity * c.leverage - Math.abs(posAfter) * price;
        const cost = openQ * price + this.#fee(openQ, price, maker);
        if (!(cost <= bp + Math.abs(bp) * BP_TOLERANCE)) {
          if (closeQ === 0) {
            this.#reject(o, t, "insufficient buying power");
            return;
          }
          openQ = 0;
          shortfall = "insufficient buying power";
        }
      }
    }
    if (closeQ > 0) this.#fill(o, t, -Math.sign(pos) * closeQ, price, maker);
    if (openQ > 0) this.#fill(o, t, dir * openQ, price, maker);
    const time = bars.timestamp[t];
    if (shortfall !== null) {
      this.#cancel(o, t, shortfall);
    } else if (o.reduceOnly && pf.position === 0) {
      // A reduce-only exit larger than what was left is done once the position is flat.
      o.quantity = o.filledQuantity;
      o.apply("fill", time);
    } else if (o.filledQuantity >= o.quantity * (1 - 1e-12)) {
      o.apply("fill", time);
    } else {
      o.apply("partial_fill", time);
    }
    this.#afterFill(o, t, pos);
  }

  /** OCO, bracket clean-up when the position flattens or flips, and new bracket exits. */
  #afterFill(o: Order, t: number, posBefore: number): void {
    const peer = o.ocoPeer;
    if (peer !== null && peer.live) this.#cancel(peer, t, `one-cancels-other: ${o.id} filled`);
    const pos = this.#pf.position;
    if (posBefore !== 0 && (pos === 0 || (pos > 0) !== (posBefore > 0))) {
      for (const x of this.#live) {
        if (x.live && x !== o && (x.origin === "stop_loss" || x.origin === "take_profit")) {
          this.#cancel(x, t, "position closed");
        }
      }
    }
    if ((o.stopLoss !== null || o.takeProfit !== null) && pos !== 0) {
      const exitSide: OrderSide = pos > 0 ? "sell" : "buy";
      let sl: Order | null = null, tp: Order | null = null;
      if (o.stopLoss !== null) {
        sl = this.#create(
          exitSide,
          "stop",
          "close",
          NaN,
          null,
          o.stopLoss,
          "GTC",
          "stop_loss",
          true,
          `${o.id}:stop_loss`,
          t,
        );
      }
      if (o.takeProfit !== null) {
        tp = this.#create(
          exitSide,
          "limit",
          "close",
          NaN,
          o.takeProfit,
          null,
          "GTC",
          "take_profit",
          true,
          `${o.id}:take_profit`,
          t,
        );
      }
      if (sl !== null && tp !== null) {
        sl.ocoPeer = tp;
        tp.ocoPeer = sl;
      }
      // Only the first fill of an entry places its exits.
      o.stopLoss = null;
      o.takeProfit = null;
    }
  }
}
