import assert from "node:assert/strict";
import { EQUITY_VALUES } from "../../engine/result.ts";
import type { BacktestResult } from "../../engine/types.ts";
import { decodeResult, encodeResult, packParts, unpackParts } from "../../jobs/sandbox_codec.ts";

/** A small hand-made result with the awkward values: NaN, null, -0, non-ASCII text. */
function sample(): { result: BacktestResult; times: Float64Array; values: Float64Array } {
  const times = Float64Array.of(1000, 2000, 3000);
  const values = Float64Array.of(100, 101.5, -0);
  const result = {
    config: { cash: 100 },
    params: { fast: 3, label: "ünïcode ✓" },
    bars: { count: 3, start: 1000, end: 3000 },
    metrics: { sharpe: NaN, totalReturn: 0.015 },
    trades: [{ side: "long", entryTime: 1000, exitTime: null, pnl: 1.5, tag: "€" }],
    equity: times.reduce((a, t, i) => [...a, { time: t, equity: values[i] }], [] as unknown[]),
    orders: [{ id: "o1", price: null, history: [{ status: "submitted", time: 1000 }] }],
    logs: ["old"],
  } as unknown as BacktestResult;
  return { result, times, values };
}

Deno.test("decodeResult(encodeResult()) gives the result's JSON, with the given logs and bar times", () => {
  const { result, times, values } = sample();
  const enc = encodeResult(result, { time: null, value: values }, ["init hello ✓"]);
  // Through a packed buffer at an offset, as the result file travels.
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
  const got = decodeResult(file.subarray(total), unpackParts(file, layout), {
    equityValuesKey: EQUITY_VALUES,
    barTimes: times,
  });
  const expected = JSON.parse(JSON.stringify({ ...result, logs: ["init hello ✓"] }));
  assert.deepEqual(JSON.parse(JSON.stringify(got)), expected);
  assert.deepEqual(Object.keys(got), Object.keys(result), "key order kept");
  assert.deepEqual(got.equity[1], { time: 2000, equity: 101.5 });
  assert.deepEqual(
    Array.from((got as unknown as Record<symbol, Float64Array>)[EQUITY_VALUES]),
    [100, 101.5, -0],
  );
  assert.equal(got.metrics.sharpe, null, "NaN crosses as JSON null, as the API serves it");
});

Deno.test("encodeResult() ships its own equity times when they are not the bars'", () => {
  const { result, values } = sample();
  const own = Float64Array.of(7, 8, 9);
  const enc = encodeResult(result, { time: own, value: values }, []);
  assert.equal(enc.parts.length, 3);
  const got = decodeResult(enc.meta, enc.parts, {
    equityValuesKey: EQUITY_VALUES,
    barTimes: Float64Array.of(1, 2, 3),
  });
  assert.deepEqual(got.equity.map((p) => p.time), [7, 8, 9]);
  // Every part owns its buffer, so the Worker can transfer them all.
  for (const p of enc.parts) assert.equal(p.byteLength, p.buffer.byteLength);
});

Deno.test("unpackParts() refuses a truncated buffer", () => {
  const { layout, chunks } = packParts([Float64Array.of(1, 2), new Uint8Array(3)]);
  const bytes = new Uint8Array(chunks.reduce((s, c) => s + c.length, 0) - 1);
  assert.throws(() => unpackParts(bytes, layout), /truncated/);
});
