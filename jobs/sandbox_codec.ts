/**
 * Encoding of a `BacktestResult` for the trip out of the sandbox Worker.
 *
 * The equity curve travels as float64 values (the engine's raw curve when it exposes one, so
 * the million `{ time, equity }` objects are never built in the Worker; its times are the
 * bars' own, which the caller already holds, so they do not travel); `orders` as its
 * own UTF-8 JSON part that the caller parses on first read (many callers never read it); the
 * rest (config, metrics, trades, logs) as UTF-8 JSON.
 *
 * Why JSON and not columns: the Worker is a fresh isolate for every job, so any JavaScript
 * encoder runs cold (unoptimized) there. A columnar encoder measured on a 1M-bar SMA cross
 * (~20k trades, ~40k orders) took 1.1–1.4 s on its first run against 0.2–0.5 s for
 * `JSON.stringify`, which is native code and fast from the first call; `node:v8`'s
 * `serialize` and `structuredClone` were slower than JSON as well.
 *
 * Fidelity is that of JSON: NaN and ±Infinity become null, which is what the API serves.
 *
 * @module
 */
import type { BacktestResult } from "../engine/types.ts";

/** Element type of a binary part. */
export type PartType = "f64" | "u8";

/** A result split for transfer (see {@linkcode encodeResult}). */
export interface EncodedResult {
  /** UTF-8 JSON of the result with `equity` and `orders` null (key order kept). */
  meta: Uint8Array;
  /**
   * Equity values (float64, `bars.count`), `orders` as UTF-8 JSON, then the equity times
   * (float64) unless they are the bars' timestamps; each owns its whole buffer (transferable).
   */
  parts: (Float64Array | Uint8Array)[];
}

type Part = Float64Array | Uint8Array;

// Captured at load: in the sandbox Worker the encoder runs after user code, which may have
// replaced the globals (the prototypes these use are frozen there).
const utf8 = new TextEncoder();
const stringify = JSON.stringify;

/**
 * Encodes `result` for transfer; `logs` replaces `result.logs`. `equity.time` null means the
 * curve's times are the bars' timestamps (the decoder takes them from its own bars).
 */
export function encodeResult(
  result: BacktestResult,
  equity: { time: Float64Array | null; value: Float64Array },
  logs: string[],
): EncodedResult {
  const rest: Record<string, unknown> = {};
  for (const k of Object.keys(result)) {
    rest[k] = k === "equity" || k === "orders"
      ? null
      : (result as unknown as Record<string, unknown>)[k];
  }
  rest.logs = logs;
  const own = (a: Float64Array) =>
    a.byteOffset === 0 && a.byteLength === a.buffer.byteLength ? a : a.slice();
  const value = own(equity.value);
  const orders = utf8.encode(stringify(result.orders));
  const parts: Part[] = [value, orders];
  if (equity.time !== null) {
    parts.push(equity.time.buffer === value.buffer ? equity.time.slice() : own(equity.time));
  }
  return { meta: utf8.encode(stringify(rest)), parts };
}

/**
 * Rebuilds a result from {@linkcode encodeResult}'s output (`barTimes`: the job's bar
 * timestamps). `orders` is parsed, and the `equity` objects built, on first read; the raw
 * curve is kept under `equityValuesKey`.
 */
export function decodeResult(
  meta: Uint8Array,
  parts: readonly Part[],
  opts: { equityValuesKey: symbol; barTimes: Float64Array },
): BacktestResult {
  const result = JSON.parse(new TextDecoder().decode(meta)) as Record<string, unknown>;
  const [value, ordersBytes, ownTimes] = parts as [Float64Array, Uint8Array, Float64Array?];
  const time = ownTimes ?? opts.barTimes;
  const n = time.length;
  if (value.length !== n) {
    throw new Error("Sandbox result: equity times and values differ in length");
  }
  let orders: unknown[] | null = null;
  Object.defineProperty(result, "orders", {
    enumerable: true,
    configurable: true,
    get() {
      orders ??= JSON.parse(new TextDecoder().decode(ordersBytes)) as unknown[];
      return orders;
    },
    set(v: unknown[]) {
      orders = v;
    },
  });
  let curve: { time: number; equity: number }[] | null = null;
  // Redefining the existing (null) key keeps the engine's key order.
  Object.defineProperty(result, "equity", {
    enumerable: true,
    configurable: true,
    get() {
      if (curve === null) {
        curve = new Array<{ time: number; equity: number }>(n);
        for (let i = 0; i < n; i++) curve[i] = { time: time[i], equity: value[i] };
      }
      return curve;
    },
    set(v: { time: number; equity: number }[]) {
      curve = v;
    },
  });
  Object.defineProperty(result, opts.equityValuesKey, { value });
  return result as unknown as BacktestResult;
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
