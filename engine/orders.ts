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

/**
 * Looks up the next status; throws {@linkcode OrderTransitionError} when not allowed.
 *
 * The table above, as a switch on the event: a lookup runs several times per order in the
 * engine's hot loop, and a keyed load through two levels of string-keyed objects cost more
 * than the rest of an order's lifecycle bookkeeping. tests/engine/orders_test.ts checks every
 * (status, event) pair against the table.
 */
export function nextOrderStatus(from: OrderStatus, event: OrderEventKind): OrderStatus {
  let to: OrderStatus | undefined;
  switch (event) {
    case "accept":
      if (from === "submitted") to = "pending";
      break;
    case "fill":
      if (from === "pending" || from === "partially_filled") to = "filled";
      break;
    case "partial_fill":
      if (from === "pending" || from === "partially_filled") to = "partially_filled";
      break;
    case "cancel":
      if (from === "submitted" || from === "pending" || from === "partially_filled") {
        to = "cancelled";
      }
      break;
    case "reject":
      if (from === "submitted" || from === "pending") to = "rejected";
      break;
    case "expire":
      if (from === "pending" || from === "partially_filled") to = "expired";
      break;
  }
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
  quantity!: number;
  filledQuantity = 0;
  /** Σ fill quantity × price, for the average fill price. */
  fillNotional = 0;
  fees = 0;
  status: OrderStatus = "submitted";
  reason: string | null = null;
  /** First bar the order may fill on. */
  eligibleFrom!: number;
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

  /** The id as given, or null until {@linkcode Order.id} first builds it from its number. */
  #id: string | null = null;
  #num = 0;

  /**
   * `id`: the order id, or its number `k` for the id `o<k>` — built only when read, since a
   * signal's order is usually never asked for it.
   */
  // Set at creation (by `reuse`, which the constructor calls) and never changed afterwards —
  // except by a later `reuse`, once the engine has packed the old order away (so not `readonly`).
  side!: OrderSide;
  type!: OrderType;
  quantityMode!: QuantityMode;
  price!: number | null;
  stopPrice!: number | null;
  tif!: TimeInForce;
  origin!: OrderOrigin;
  reduceOnly!: boolean;
  tag!: string | null;
  submittedBar!: number;
  submittedTime!: number;

  constructor(
    id: string | number,
    side: OrderSide,
    type: OrderType,
    quantityMode: QuantityMode,
    quantity: number,
    price: number | null,
    stopPrice: number | null,
    tif: TimeInForce,
    origin: OrderOrigin,
    reduceOnly: boolean,
    tag: string | null,
    submittedBar: number,
    submittedTime: number,
  ) {
    // One place sets every field (reuse), so a reused order is exactly a new one by construction.
    this.reuse(
      typeof id === "number" ? id : 0,
      side,
      type,
      quantityMode,
      quantity,
      price,
      stopPrice,
      tif,
      origin,
      reduceOnly,
      tag,
      submittedBar,
      submittedTime,
    );
    if (typeof id === "string") this.#id = id;
  }

  /**
   * Makes this object a new order, exactly as `new Order(...)` with the same arguments would.
   * For the engine only, on an order whose record {@linkcode OrderBook} has packed and that
   * nothing references any more: a run places tens of thousands of signal orders, and reusing
   * their objects spares the garbage collector that many allocations.
   */
  reuse(
    num: number,
    side: OrderSide,
    type: OrderType,
    quantityMode: QuantityMode,
    quantity: number,
    price: number | null,
    stopPrice: number | null,
    tif: TimeInForce,
    origin: OrderOrigin,
    reduceOnly: boolean,
    tag: string | null,
    submittedBar: number,
    submittedTime: number,
  ): void {
    this.quantity = quantity;
    this.filledQuantity = 0;
    this.fillNotional = 0;
    this.fees = 0;
    this.status = "submitted";
    this.reason = null;
    this.eligibleFrom = submittedBar + 1;
    this.firstEligibleBar = -1;
    this.eligibleBars = 0;
    this.triggered = false;
    this.ocoPeer = null;
    this.stopLoss = null;
    this.takeProfit = null;
    this.#s1 = "submitted";
    this.#t1 = 0;
    this.#s2 = "submitted";
    this.#t2 = 0;
    this.#more = null;
    this.#entries = 1;
    this.#history = null;
    this.#id = null;
    this.#num = num;
    this.seq = -1;
    this.side = side;
    this.type = type;
    this.quantityMode = quantityMode;
    this.price = price;
    this.stopPrice = stopPrice;
    this.tif = tif;
    this.origin = origin;
    this.reduceOnly = reduceOnly;
    this.tag = tag;
    this.submittedBar = submittedBar;
    this.submittedTime = submittedTime;
  }

  /** The order id (`o1`, `o2`, … for the engine's orders). */
  get id(): string {
    return this.#id ??= `o${this.#num}`;
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

/** Orders per chunk of {@linkcode OrderBook}'s columns (4,096 × 61 bytes = 244 KiB). */
const CHUNK_BITS = 12;
const CHUNK = 1 << CHUNK_BITS;

/** One chunk of columns. Chunks are never copied: a long run just adds chunks. */
function chunk(): OrderColumns {
  return {
    side: new Uint8Array(CHUNK),
    status: new Uint8Array(CHUNK),
    entries: new Uint8Array(CHUNK),
    s1: new Uint8Array(CHUNK),
    s2: new Uint8Array(CHUNK),
    quantity: new Float64Array(CHUNK),
    filled: new Float64Array(CHUNK),
    notional: new Float64Array(CHUNK),
    fees: new Float64Array(CHUNK),
    submitted: new Float64Array(CHUNK),
    t1: new Float64Array(CHUNK),
    t2: new Float64Array(CHUNK),
  };
}

const ORDER_FIELDS = [
  "side",
  "status",
  "entries",
  "s1",
  "s2",
  "quantity",
  "filled",
  "notional",
  "fees",
  "submitted",
  "t1",
  "t2",
] as const satisfies readonly (keyof OrderColumns)[];
const ORDER_BYTE_FIELDS: ReadonlySet<string> = new Set(["side", "status", "entries", "s1", "s2"]);

/**
 * A whole {@linkcode OrderBook} as flat columns of `count` values each, plus the orders that
 * are not packed (still live, or not fitting the columns) as their records: what the sandbox
 * ships out of its Worker (copying typed arrays is native code, fast even in a fresh isolate).
 */
export interface OrderBookColumns extends OrderColumns {
  count: number;
  /** `[seq, record]` of every order the columns do not hold (their `entries` slot is 0). */
  records: [number, OrderRecord][];
}

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
  /** Packed orders: order `i` sits in chunk `i >> CHUNK_BITS` at `i & (CHUNK - 1)`. */
  #chunks: OrderColumns[] = [];
  /** Records of a book made by {@linkcode OrderBook.fromColumns} (read-only then), by seq. */
  #given: Map<number, OrderRecord> | null = null;

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
    if (this.#given !== null) throw new TypeError("OrderBook.add(): this book is read-only");
    o.seq = this.#count++;
  }

  /** The book as flat columns of exactly `length` values (copies) and the unpacked records. */
  toColumns(): OrderBookColumns {
    const n = this.#count, chunks = this.#chunks;
    const flat = {} as OrderColumns;
    for (const f of ORDER_FIELDS) {
      const out = ORDER_BYTE_FIELDS.has(f) ? new Uint8Array(n) : new Float64Array(n);
      for (let k = 0; k < chunks.length && (k << CHUNK_BITS) < n; k++) {
        const from = k << CHUNK_BITS;
        const col = chunks[k][f];
        out.set(from + CHUNK <= n ? col : col.subarray(0, n - from), from);
      }
      (flat as unknown as Record<string, Uint8Array | Float64Array>)[f] = out;
    }
    const records: [number, OrderRecord][] = [];
    for (const o of this.#kept.values()) records.push([o.seq, o.toRecord()]);
    for (const o of this.#live) records.push([o.seq, o.toRecord()]);
    for (const [seq, r] of this.#given ?? []) records.push([seq, r]);
    return { ...flat, count: n, records };
  }

  /**
   * A read-only book over `c` (from {@linkcode OrderBook.toColumns}): its records are those of
   * the book it was taken from. Throws a TypeError on columns that do not fit together.
   */
  static fromColumns(c: OrderBookColumns): OrderBook {
    const n = c.count;
    if (!Number.isInteger(n) || n < 0) throw new TypeError(`Invalid order count ${n}`);
    for (const f of ORDER_FIELDS) {
      if (c[f]?.length !== n) throw new TypeError(`Order column ${f} does not hold ${n} values`);
    }
    for (const f of ["status", "s1", "s2"] as const) {
      if (c[f].some((x) => x >= STATUSES.length)) {
        throw new TypeError(`Order column ${f} holds an unknown status`);
      }
    }
    const given = new Map<number, OrderRecord>();
    for (const [seq, r] of c.records) {
      if (!(Number.isInteger(seq) && seq >= 0 && seq < n) || c.entries[seq] !== 0) {
        throw new TypeError(`Order record ${seq} does not fit the columns`);
      }
      given.set(seq, r);
    }
    for (let g = 0; g < n; g++) {
      if (c.entries[g] === 0 && !given.has(g)) throw new TypeError(`Order ${g} is missing`);
    }
    const book = new OrderBook([]);
    for (let from = 0; from < n; from += CHUNK) {
      const view = {} as OrderColumns;
      for (const f of ORDER_FIELDS) {
        (view as unknown as Record<string, Uint8Array | Float64Array>)[f] = c[f].subarray(
          from,
          Math.min(n, from + CHUNK),
        );
      }
      book.#chunks.push(view);
    }
    book.#count = n;
    book.#given = given;
    return book;
  }

  /**
   * Stores finished order `o`: packed when it fits the columns (returns true: the book keeps no
   * reference to it), else the object (returns false).
   */
  retire(o: Order): boolean {
    if (this.#given !== null) throw new TypeError("OrderBook.retire(): this book is read-only");
    const i = o.seq;
    if (!o.packable) {
      this.#kept.set(i, o);
      return false;
    }
    const chunks = this.#chunks;
    const k = i >> CHUNK_BITS;
    while (chunks.length <= k) chunks.push(chunk());
    o.packInto(chunks[k], i & (CHUNK - 1));
    return true;
  }

  /** The orders' records for the result, in submission order. */
  records(): OrderRecord[] {
    const n = this.#count, chunks = this.#chunks;
    const out = new Array<OrderRecord>(n);
    for (const [seq, r] of this.#given ?? []) out[seq] = r;
    for (const o of this.#kept.values()) out[o.seq] = o.toRecord();
    for (const o of this.#live) out[o.seq] = o.toRecord();
    const packed = Math.min(n, chunks.length << CHUNK_BITS);
    for (let g = 0; g < packed; g++) {
      const c = chunks[g >> CHUNK_BITS], i = g & (CHUNK - 1);
      // Packed orders have ≥ 1 history entry; the others were filled in above.
      if (c.entries[i] === 0) continue;
      const q = c.quantity[i], filled = c.filled[i], time = c.submitted[i];
      const history: { status: OrderStatus; time: number }[] = [{ status: "submitted", time }];
      if (c.entries[i] > 1) history.push({ status: STATUSES[c.s1[i]], time: c.t1[i] });
      if (c.entries[i] > 2) history.push({ status: STATUSES[c.s2[i]], time: c.t2[i] });
      out[g] = {
        id: `o${g + 1}`,
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
