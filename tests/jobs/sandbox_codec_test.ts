/**
 * The sandbox's result codec: a real engine result (signal and explicit orders, a bracket, a
 * still-open position, a rejected order) survives encode → packed file → decode with the same
 * JSON as in process, and damaged input gets a clear error.
 */
import assert from "node:assert/strict";
import { runBacktest } from "../../engine/backtest.ts";
import { EQUITY_VALUES, TRADE_STATS } from "../../engine/result.ts";
import type { BacktestResult, DataView, StrategyContext } from "../../engine/types.ts";
import { decodeResult, encodeResult, packParts, unpackParts } from "../../jobs/sandbox_codec.ts";
import { randomWalk } from "../_fixtures/random_walk.ts";

/** A strategy that leaves every kind of order in the book (packed and not) and ends long. */
class Mixed {
  OnData(data: DataView, ctx: StrategyContext): number | undefined {
    const t = data.length - 1, c = data.bar.close;
    if (t === 3) ctx.order({ side: "buy", type: "limit", price: c * 0.9, tif: { bars: 2 } });
    if (t === 5) ctx.buy({ stopLoss: c * 0.97, takeProfit: c * 1.03 });
    if (t === 7) ctx.order({ side: "buy", type: "limit", price: -1 }); // rejected
    if (t === 9) ctx.log("ünïcode ✓", t);
    if (t > 20) return t % 9 < 4 ? 1 : -1; // signal orders, packed
    return undefined;
  }
}

function sample(n = 40_000): { result: BacktestResult; times: Float64Array } {
  const bars = randomWalk(n, { seed: 5 });
  const result = runBacktest(bars, Mixed, { config: { mode: "long_short", feeTaker: 0.001 } });
  return { result, times: bars.timestamp };
}

function throughFile(enc: ReturnType<typeof encodeResult>, times: Float64Array): BacktestResult {
  const { chunks, layout } = packParts(enc.parts);
  const total = chunks.reduce((s, c) => s + c.length, 0);
  const file = new Uint8Array(total + enc.meta.length);
  let off = 0;
  for (const c of chunks) {
    file.set(c, off);
    off += c.length;
  }
  file.set(enc.meta, off);
  for (const l of layout) assert.equal(l.offset % 8, 0, "parts are 8-byte aligned");
  return decodeResult(file.subarray(total), unpackParts(file, layout), { barTimes: times });
}

Deno.test("decodeResult(encodeResult()) gives the engine result's JSON, with the given logs", () => {
  const { result, times } = sample();
  const raw = (result as unknown as Record<symbol, Float64Array>)[EQUITY_VALUES];
  const enc = encodeResult(result, { time: null, value: raw }, ["init hello ✓"]);
  const got = throughFile(enc, times);
  const expected = JSON.parse(JSON.stringify({ ...result, logs: ["init hello ✓"] }));
  assert.ok(
    expected.trades.length > 4096 && expected.orders.length > 4096,
    "books of several chunks",
  );
  assert.ok(expected.orders.some((o: { status: string }) => o.status === "rejected"));
  assert.ok(expected.orders.some((o: { type: string }) => o.type === "stop"), "bracket exits");
  assert.equal(expected.trades.at(-1).exitTime, null, "ends with an open position");
  assert.deepEqual(JSON.parse(JSON.stringify(got)), expected);
  assert.deepEqual(Object.keys(got), Object.keys(result), "key order kept");
  assert.deepEqual(got.equity[1], result.equity[1]);
  assert.deepEqual(
    (got as unknown as Record<symbol, unknown>)[TRADE_STATS],
    (result as unknown as Record<symbol, unknown>)[TRADE_STATS],
  );
  // The big parts are columns: the JSON part stays small.
  assert.ok(enc.meta.length < 20_000, `meta is ${enc.meta.length} bytes`);
});

Deno.test("encodeResult() ships its own equity times when they are not the bars'", () => {
  const { result } = sample(50);
  const value = Float64Array.from(result.equity, (p) => p.equity);
  const own = Float64Array.from(result.equity, (_, i) => 7 + i);
  const enc = encodeResult(result, { time: own, value }, []);
  const got = decodeResult(enc.meta, enc.parts, { barTimes: new Float64Array(50) });
  assert.deepEqual(got.equity.slice(0, 3).map((p) => p.time), [7, 8, 9]);
  // Every part owns its buffer, so the Worker can transfer them all.
  for (const p of enc.parts) assert.equal(p.byteLength, p.buffer.byteLength);
});

Deno.test("decodeResult() names what does not fit instead of building a wrong result", () => {
  const { result, times } = sample(200);
  const raw = (result as unknown as Record<symbol, Float64Array>)[EQUITY_VALUES];
  const enc = encodeResult(result, { time: null, value: raw }, []);
  assert.throws(
    () => decodeResult(enc.meta, enc.parts, { barTimes: times.subarray(1) }),
    /equity times and values differ in length/,
  );
  assert.throws(
    () => decodeResult(enc.meta, enc.parts.slice(1), { barTimes: times }),
    /parts do not match their names/,
  );
  const meta = JSON.parse(new TextDecoder().decode(enc.meta));
  const cut = enc.parts.map((p, i) => meta.parts[i] === "trades.pnl" ? p.subarray(1) : p);
  assert.throws(
    () => decodeResult(enc.meta, cut, { barTimes: times }),
    /Trade column pnl does not hold/,
  );
  const status = enc.parts.map((p, i) =>
    meta.parts[i] === "orders.status" ? Uint8Array.from(p as Uint8Array, () => 99) : p
  );
  assert.throws(() => decodeResult(enc.meta, status, { barTimes: times }), /unknown status/);
  assert.throws(() => encodeResult({ ...result }, { time: null, value: raw }, []), /no books/);
});

Deno.test("unpackParts() refuses a truncated buffer", () => {
  const { layout, chunks } = packParts([Float64Array.of(1, 2), new Uint8Array(3)]);
  const bytes = new Uint8Array(chunks.reduce((s, c) => s + c.length, 0) - 1);
  assert.throws(() => unpackParts(bytes, layout), /truncated/);
});
