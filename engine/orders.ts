/**
 * Orders: the lifecycle as one (status, event) → status table, and the engine's mutable
 * order object with its recorded history.
 *
 * @module
 */
import type { OrderRecord, OrderSide, OrderStatus, OrderType, TimeInForce } from "./types.ts";

/** What can happen to an order. */
export type OrderEventKind = "accept" | "reject" | "cancel" | "expire" | "partial_fill" | "fill";

/**
 * The lifecycle. `submitted` → `pending` when the order becomes eligible (the bar after it was
 * placed); fills move it to `partially_filled` / `filled`. Terminal statuses have no exits.
 */
export const ORDER_TRANSITIONS: Readonly<
  Record<OrderStatus, Readonly<Partial<Record<OrderEventKind, OrderStatus>>>>
> = Object.freeze({
  submitted: { accept: "pending", reject: "rejected", cancel: "cancelled" },
  pending: {
    fill: "filled",
    partial_fill: "partially_filled",
    cancel: "cancelled",
    reject: "rejected",
    expire: "expired",
  },
  partially_filled: {
    fill: "filled",
    partial_fill: "partially_filled",
    cancel: "cancelled",
    expire: "expired",
  },
  filled: {},
  cancelled: {},
  rejected: {},
  expired: {},
});

/** An event that the lifecycle table does not allow in the order's current status. */
export class OrderTransitionError extends Error {
  constructor(readonly from: OrderStatus, readonly event: OrderEventKind) {
    super(`Invalid order transition: cannot ${event} an order that is ${from}`);
    this.name = "OrderTransitionError";
  }
}

/** Looks up the next status; throws {@linkcode OrderTransitionError} when not allowed. */
export function nextOrderStatus(from: OrderStatus, event: OrderEventKind): OrderStatus {
  const to = ORDER_TRANSITIONS[from]?.[event];
  if (to === undefined) throw new OrderTransitionError(from, event);
  return to;
}

/** True for statuses that no event can leave. */
export function isTerminal(status: OrderStatus): boolean {
  return status === "filled" || status === "cancelled" || status === "rejected" ||
    status === "expired";
}

/** Why an order exists; it becomes the exit reason of the trades its fills close. */
export type OrderOrigin =
  | "signal"
  | "order"
  | "stop_loss"
  | "take_profit"
  | "liquidation"
  | "end";

/**
 * How the quantity is decided: `fixed` (given), `sized` (from the configured sizing at the
 * first fill, after closing any opposite position) or `close` (whatever flattens the position
 * at fill time).
 */
export type QuantityMode = "fixed" | "sized" | "close";

/** The engine's order. Mutable; the result holds its {@linkcode Order.toRecord} snapshot. */
export class Order {
  /** Units; NaN until a `sized` / `close` order is sized at its first fill. */
  quantity: number;
  filledQuantity = 0;
  /** Σ fill quantity × price, for the average fill price. */
  fillNotional = 0;
  fees = 0;
  status: OrderStatus = "submitted";
  reason: string | null = null;
  /** First bar the order may fill on. */
  eligibleFrom: number;
  /** Bar it became pending (-1 before). */
  firstEligibleBar = -1;
  /** Bars it has been eligible for (for `{ bars: n }`). */
  eligibleBars = 0;
  /** A stop-limit whose stop has triggered rests as a limit. */
  triggered = false;
  /** The other exit of a bracket (one filling cancels the other). */
  ocoPeer: Order | null = null;
  /** Bracket exits to place when this entry first fills. */
  stopLoss: number | null = null;
  takeProfit: number | null = null;
  /**
   * The lifecycle after `submitted`, stored flat: a signal's market order (submitted → pending →
   * filled) allocates nothing for it. {@linkcode Order.history} builds the records on demand.
   */
  #s1: OrderStatus = "submitted";
  #t1 = 0;
  #s2: OrderStatus = "submitted";
  #t2 = 0;
  /** Entries after the first three, once there are any. */
  #more: { status: OrderStatus; time: number }[] | null = null;
  /** Recorded entries (≥ 1: `submitted`). */
  #entries = 1;
  /** The materialized history, kept in step once built. */
  #history: { status: OrderStatus; time: number }[] | null = null;

  constructor(
    readonly id: string,
    readonly side: OrderSide,
    readonly type: OrderType,
    readonly quantityMode: QuantityMode,
    quantity: number,
    readonly price: number | null,
    readonly stopPrice: number | null,
    readonly tif: TimeInForce,
    readonly origin: OrderOrigin,
    readonly reduceOnly: boolean,
    readonly tag: string | null,
    readonly submittedBar: number,
    readonly submittedTime: number,
  ) {
    this.quantity = quantity;
    this.eligibleFrom = submittedBar + 1;
  }

  /** Status changes as `{ status, time }`, oldest first (the first is `submitted`). */
  get history(): { status: OrderStatus; time: number }[] {
    let h = this.#history;
    if (h === null) {
      h = [{ status: "submitted", time: this.submittedTime }];
      if (this.#entries > 1) h.push({ status: this.#s1, time: this.#t1 });
      if (this.#entries > 2) h.push({ status: this.#s2, time: this.#t2 });
      if (this.#more !== null) {
        for (const e of this.#more) h.push({ status: e.status, time: e.time });
      }
      this.#history = h;
    }
    return h;
  }

  /** Position in {@linkcode OrderBook} (-1 until added). */
  seq = -1;

  /**
   * True when the record is fully described by {@linkcode OrderBook}'s columns: a GTC market
   * order without tag or reason and at most three history entries (every signal order).
   */
  get packable(): boolean {
    return this.type === "market" && this.tif === "GTC" && this.tag === null &&
      this.reason === null && this.#entries <= 3;
  }

  /** Writes the record's fields into `c` at `i` (see {@linkcode Order.packable}). */
  packInto(c: OrderColumns, i: number): void {
    c.side[i] = this.side === "buy" ? 0 : 1;
    c.status[i] = statusCode(this.status);
    c.entries[i] = this.#entries;
    c.s1[i] = statusCode(this.#s1);
    c.s2[i] = statusCode(this.#s2);
    c.quantity[i] = this.quantity;
    c.filled[i] = this.filledQuantity;
    c.notional[i] = this.fillNotional;
    c.fees[i] = this.fees;
    c.submitted[i] = this.submittedTime;
    c.t1[i] = this.#t1;
    c.t2[i] = this.#t2;
  }

  /** Units still to fill (NaN while unsized). */
  get remaining(): number {
    return this.quantity - this.filledQuantity;
  }

  /** True while the order can still fill or be cancelled. */
  get live(): boolean {
    return !isTerminal(this.status);
  }

  /** Applies a lifecycle event through the transition table and records it. */
  apply(event: OrderEventKind, time: number, reason: string | null = null): void {
    const from = this.status;
    const to = nextOrderStatus(from, event);
    this.status = to;
    if (reason !== null) this.reason = reason;
    // Repeated partial fills are one status; record each change, not each slice. (The last
    // recorded status is always the current one: `status` only changes here.)
    if (from === to && to === "partially_filled") return;
    const k = this.#entries++;
    if (k === 1) {
      this.#s1 = to;
      this.#t1 = time;
    } else if (k === 2) {
      this.#s2 = to;
      this.#t2 = time;
    } else {
      (this.#more ??= []).push({ status: to, time });
    }
    this.#history?.push({ status: to, time });
  }

  /** The record for the result JSON (shares `history`: called once the run is over). */
  toRecord(): OrderRecord {
    return {
      id: this.id,
      side: this.side,
      type: this.type,
      quantity: Number.isNaN(this.quantity) ? 0 : this.quantity,
      filledQuantity: this.filledQuantity,
      price: this.price,
      stopPrice: this.stopPrice,
      tif: this.tif,
      status: this.status,
      reason: this.reason,
      submittedTime: this.submittedTime,
      avgFillPrice: this.filledQuantity > 0 ? this.fillNotional / this.filledQuantity : null,
      fees: this.fees,
      tag: this.tag,
      history: this.history,
    };
  }
}

const STATUSES: readonly OrderStatus[] = [
  "submitted",
  "pending",
  "partially_filled",
  "filled",
  "cancelled",
  "rejected",
  "expired",
];
/** Index of `s` in `STATUSES` (a switch: a keyed lookup by a varying string is slower). */
function statusCode(s: OrderStatus): number {
  switch (s) {
    case "submitted":
      return 0;
    case "pending":
      return 1;
    case "partially_filled":
      return 2;
    case "filled":
      return 3;
    case "cancelled":
      return 4;
    case "rejected":
      return 5;
    default:
      return 6;
  }
}

/** Columns of the finished orders {@linkcode OrderBook} packs (one slot per order). */
export interface OrderColumns {
  side: Uint8Array;
  status: Uint8Array;
  entries: Uint8Array;
  s1: Uint8Array;
  s2: Uint8Array;
  quantity: Float64Array;
  filled: Float64Array;
  notional: Float64Array;
  fees: Float64Array;
  submitted: Float64Array;
  t1: Float64Array;
  t2: Float64Array;
}

function bytes(cap: number, from: Uint8Array): Uint8Array {
  const a = new Uint8Array(cap);
  a.set(from);
  return a;
}

function floats(cap: number, from: Float64Array): Float64Array {
  const a = new Float64Array(cap);
  a.set(from);
  return a;
}

/** `from`'s columns copied into columns of `cap` slots (one monomorphic call per kind). */
function columns(cap: number, from: OrderColumns): OrderColumns {
  return {
    side: bytes(cap, from.side),
    status: bytes(cap, from.status),
    entries: bytes(cap, from.entries),
    s1: bytes(cap, from.s1),
    s2: bytes(cap, from.s2),
    quantity: floats(cap, from.quantity),
    filled: floats(cap, from.filled),
    notional: floats(cap, from.notional),
    fees: floats(cap, from.fees),
    submitted: floats(cap, from.submitted),
    t1: floats(cap, from.t1),
    t2: floats(cap, from.t2),
  };
}

const NO_COLUMNS: OrderColumns = Object.freeze({
  side: new Uint8Array(0),
  status: new Uint8Array(0),
  entries: new Uint8Array(0),
  s1: new Uint8Array(0),
  s2: new Uint8Array(0),
  quantity: new Float64Array(0),
  filled: new Float64Array(0),
  notional: new Float64Array(0),
  fees: new Float64Array(0),
  submitted: new Float64Array(0),
  t1: new Float64Array(0),
  t2: new Float64Array(0),
});

/**
 * Every order of a run, in submission order. A finished order that fits the columns (see
 * {@linkcode Order.packable}) is packed into typed arrays and its object let go: a run places
 * tens of thousands of orders, and keeping each as a ~300-byte object graph made garbage
 * collection the largest cost of the loop. {@linkcode OrderBook.records} rebuilds the exact
 * records {@linkcode Order.toRecord} gives.
 */
export class OrderBook {
  #count = 0;
  /** The owner's live orders (kept in step by it): not retired yet, read by `records`. */
  #live: readonly Order[];
  /** Retired orders that do not fit the columns, by `seq`. */
  #kept = new Map<number, Order>();
  #cols: OrderColumns = NO_COLUMNS;

  /** `live`: the owner's array of orders not retired yet (it may change in place). */
  constructor(live: readonly Order[]) {
    this.#live = live;
  }

  /** Number of orders. */
  get length(): number {
    return this.#count;
  }

  /** Appends `o` (sets its `seq`); it must stay in the `live` array until retired. */
  add(o: Order): void {
    o.seq = this.#count++;
  }

  /** Stores finished order `o`: packed when it fits the columns, else the object. */
  retire(o: Order): void {
    const i = o.seq;
    if (!o.packable) {
      this.#kept.set(i, o);
      return;
    }
    if (i >= this.#cols.side.length) {
      // ×4: a long run retires tens of thousands of orders; few regrowths, little copying.
      this.#cols = columns(Math.max(256, i + 1, this.#cols.side.length * 4), this.#cols);
    }
    o.packInto(this.#cols, i);
  }

  /** The orders' records for the result, in submission order. */
  records(): OrderRecord[] {
    const n = this.#count, c = this.#cols;
    const out = new Array<OrderRecord>(n);
    for (const o of this.#kept.values()) out[o.seq] = o.toRecord();
    for (const o of this.#live) out[o.seq] = o.toRecord();
    for (let i = 0; i < n; i++) {
      // Packed orders have ≥ 1 history entry; the others were filled in above.
      if (i >= c.entries.length || c.entries[i] === 0) continue;
      const q = c.quantity[i], filled = c.filled[i], time = c.submitted[i];
      const history: { status: OrderStatus; time: number }[] = [{ status: "submitted", time }];
      if (c.entries[i] > 1) history.push({ status: STATUSES[c.s1[i]], time: c.t1[i] });
      if (c.entries[i] > 2) history.push({ status: STATUSES[c.s2[i]], time: c.t2[i] });
      out[i] = {
        id: `o${i + 1}`,
        side: c.side[i] === 0 ? "buy" : "sell",
        type: "market",
        quantity: Number.isNaN(q) ? 0 : q,
        filledQuantity: filled,
        price: null,
        stopPrice: null,
        tif: "GTC",
        status: STATUSES[c.status[i]],
        reason: null,
        submittedTime: time,
        avgFillPrice: filled > 0 ? c.notional[i] / filled : null,
        fees: c.fees[i],
        tag: null,
        history,
      };
    }
    return out;
  }
}
