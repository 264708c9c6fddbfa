/**
 * Encoding of a `BacktestResult` for the trip out of the sandbox Worker.
 *
 * Everything large travels as typed arrays that the engine already holds: the equity curve
 * (the engine's raw values; its times are the bars' own, which the caller already holds, so
 * they do not travel), and the trade and order books as their columns
 * (`TradeBook.toColumns`, `OrderBook.toColumns`). The rest (config, params, metrics, logs,
 * the open trade, the few orders the columns do not hold) is one small UTF-8 JSON part.
 * The decoder rebuilds the books from the columns and attaches them with the engine's own
 * `attachRunParts`, so `trades`, `orders` and `equity` are built on first read by the same
 * code as in process, and a caller that only stores the JSON pays for them once.
 *
 * Why not JSON for the books: the Worker is a fresh isolate for every job, so anything but
 * native code runs cold there; `JSON.stringify` of a 1M-bar SMA cross's ~20k trades and ~40k
 * orders took 0.25–0.4 s there (and as long to parse on the other side), while copying the
 * columns is a handful of `TypedArray.prototype.set` calls.
 *
 * Fidelity is that of the engine for the columns (every float64 exact) and of JSON for the
 * rest: NaN and ±Infinity in metrics become null, which is what the API serves.
 *
 * @module
 */
import { OrderBook, type OrderBookColumns } from "../engine/orders.ts";
import { attachRunParts, RUN_BOOKS, type RunBooks } from "../engine/result.ts";
import { TradeBook, type TradeBookColumns } from "../engine/trade_book.ts";
import type { BacktestResult, OrderRecord, TradeRecord } from "../engine/types.ts";

/** Element type of a binary part. */
export type PartType = "f64" | "u8";

/** A result split for transfer (see {@linkcode encodeResult}). */
export interface EncodedResult {
  /** UTF-8 JSON: the result without its large parts, and the names of `parts`. */
  meta: Uint8Array;
  /**
   * Equity values (float64, one per bar), the trade columns, the order columns, then the
   * equity times unless they are the bars' timestamps; each owns its whole buffer
   * (transferable).
   */
  parts: Part[];
}

type Part = Float64Array | Uint8Array;

/** What the JSON part holds besides the result's small keys. */
interface Meta {
  /** The result with `trades`, `equity` and `orders` null (key order kept). */
  result: Record<string, unknown>;
  /** Name of each binary part, in order: `equity`, `equityTime`, `trades.<col>`, `orders.<col>`. */
  parts: string[];
  trades: { count: number; reasons: string[] };
  open: TradeRecord | null;
  orders: { count: number; records: [number, OrderRecord][] };
}

// Captured at load: in the sandbox Worker the encoder runs after user code, which may have
// replaced the globals (the prototypes these use are frozen there).
const utf8 = new TextEncoder();
const stringify = JSON.stringify;
const isArray = Array.isArray;

function ownBuffer<T extends Part>(a: T): T {
  return (a.byteOffset === 0 && a.byteLength === a.buffer.byteLength ? a : a.slice()) as T;
}

/**
 * Encodes an engine result (it must carry the engine's books, `RUN_BOOKS`) for transfer;
 * `logs` replaces `result.logs`. `equity.time` null means the curve's times are the bars'
 * timestamps (the decoder takes them from its own bars).
 */
export function encodeResult(
  result: BacktestResult,
  equity: { time: Float64Array | null; value: Float64Array },
  logs: string[],
): EncodedResult {
  const books = (result as { [RUN_BOOKS]?: RunBooks })[RUN_BOOKS];
  if (books === undefined) throw new TypeError("encodeResult(): not an engine result (no books)");
  const rest: Record<string, unknown> = {};
  for (const k of Object.keys(result)) {
    rest[k] = k === "equity" || k === "orders" || k === "trades"
      ? null
      : (result as unknown as Record<string, unknown>)[k];
  }
  rest.logs = logs;
  const names: string[] = ["equity"];
  const parts: Part[] = [ownBuffer(equity.value)];
  const trades = books.trades.toColumns();
  const orders = books.orders.toColumns();
  for (const [prefix, cols] of [["trades", trades], ["orders", orders]] as const) {
    for (const [k, v] of Object.entries(cols)) {
      if (v instanceof Float64Array || v instanceof Uint8Array) {
        names.push(`${prefix}.${k}`);
        parts.push(v);
      }
    }
  }
  if (equity.time !== null) {
    names.push("equityTime");
    parts.push(
      equity.time.buffer === parts[0].buffer ? equity.time.slice() : ownBuffer(equity.time),
    );
  }
  const meta: Meta = {
    result: rest,
    parts: names,
    trades: { count: trades.count, reasons: trades.reasons },
    open: books.open,
    orders: { count: orders.count, records: orders.records },
  };
  return { meta: utf8.encode(stringify(meta)), parts };
}

/**
 * Rebuilds a result from {@linkcode encodeResult}'s output (`barTimes`: the job's bar
 * timestamps). Throws a TypeError naming what does not fit (a part's size, a column).
 */
export function decodeResult(
  metaBytes: Uint8Array,
  parts: readonly Part[],
  opts: { barTimes: Float64Array },
): BacktestResult {
  const meta = JSON.parse(new TextDecoder().decode(metaBytes)) as Meta;
  if (!isArray(meta.parts) || meta.parts.length !== parts.length) {
    throw new TypeError("Sandbox result: the parts do not match their names");
  }
  const byName = new Map<string, Part>();
  meta.parts.forEach((name, i) => byName.set(name, parts[i]));
  const value = byName.get("equity");
  const time = (byName.get("equityTime") as Float64Array | undefined) ?? opts.barTimes;
  if (!(value instanceof Float64Array) || value.length !== time.length) {
    throw new TypeError("Sandbox result: equity times and values differ in length");
  }
  const columns = (prefix: string) => {
    const out: Record<string, Part> = {};
    for (const [name, p] of byName) {
      if (name.startsWith(prefix)) out[name.slice(prefix.length)] = p;
    }
    return out;
  };
  const trades = TradeBook.fromColumns({
    ...columns("trades."),
    ...meta.trades,
  } as unknown as TradeBookColumns);
  const orders = OrderBook.fromColumns({
    ...columns("orders."),
    ...meta.orders,
  } as unknown as OrderBookColumns);
  const result = meta.result as unknown as BacktestResult;
  const open = meta.open;
  let stats: ReturnType<TradeBook["stats"]> | null = null;
  attachRunParts(result, {
    times: time,
    equity: value,
    orders,
    trades,
    open,
    tradeStats: () => stats ??= trades.stats(open),
  });
  return result;
}

/** Layout of the parts in a packed buffer (see {@linkcode packParts}). */
export type PartLayout = { type: PartType; offset: number; length: number }[];

/**
 * Lays `parts` out one after another, each at an 8-byte-aligned offset, for a file: returns
 * the byte chunks to write (data and padding) and the layout {@linkcode unpackParts} needs.
 */
export function packParts(parts: readonly Part[]): { chunks: Uint8Array[]; layout: PartLayout } {
  const chunks: Uint8Array[] = [];
  const layout: PartLayout = [];
  let off = 0;
  for (const p of parts) {
    const pad = (8 - (off % 8)) % 8;
    if (pad > 0) chunks.push(new Uint8Array(pad));
    off += pad;
    layout.push({ type: p instanceof Float64Array ? "f64" : "u8", offset: off, length: p.length });
    chunks.push(new Uint8Array(p.buffer, p.byteOffset, p.byteLength));
    off += p.byteLength;
  }
  return { chunks, layout };
}

/** Views of the parts in `bytes` (whose `byteOffset` must be a multiple of 8). */
export function unpackParts(bytes: Uint8Array, layout: PartLayout): Part[] {
  return layout.map(({ type, offset, length }) => {
    const end = offset + length * (type === "f64" ? 8 : 1);
    if (end > bytes.length) throw new Error("Sandbox result is truncated");
    return type === "f64"
      ? new Float64Array(bytes.buffer, bytes.byteOffset + offset, length)
      : bytes.subarray(offset, end);
  });
}
