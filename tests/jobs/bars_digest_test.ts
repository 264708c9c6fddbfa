import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { allocateBars } from "../../engine/bars.ts";
import type { Bars } from "../../engine/types.ts";
import { barsDigest, columnsDigest } from "../../jobs/bars_digest.ts";

const FIELDS = ["timestamp", "open", "high", "low", "close", "volume"] as const;

function sample(n: number): Bars {
  const b = allocateBars(n);
  for (let i = 0; i < n; i++) {
    b.timestamp[i] = 1_700_000_000_000 + i * 60_000;
    b.open[i] = 100 + i;
    b.high[i] = 101 + i;
    b.low[i] = 99 + i;
    b.close[i] = 100.5 + i;
    b.volume[i] = 10 * i;
  }
  return b;
}

Deno.test("barsDigest() is SHA-256 of the length (u32 LE) then the six columns' bytes", () => {
  const b = sample(3);
  const h = createHash("sha256");
  h.update(new Uint8Array([3, 0, 0, 0]));
  for (const f of FIELDS) h.update(new Uint8Array(b[f].buffer, b[f].byteOffset, b[f].byteLength));
  assert.equal(barsDigest(b), h.digest("hex"));
  assert.equal(barsDigest(sample(3)), barsDigest(b), "equal content, equal digest");
});

Deno.test("barsDigest() changes with any single value, the column order and the length", () => {
  const base = sample(50);
  const d0 = barsDigest(base);
  const seen = new Set([d0]);
  for (const f of FIELDS) {
    for (const i of [0, 17, 49]) {
      const b = sample(50);
      // The smallest change: one ulp in the last bit.
      const bits = new BigUint64Array(b[f].buffer, b[f].byteOffset + i * 8, 1);
      bits[0] ^= 1n;
      const d = barsDigest(b);
      assert.ok(!seen.has(d), `${f}[${i}] changed by one bit gives a new digest`);
      seen.add(d);
    }
  }
  const s = sample(50);
  const swapped: Bars = { ...s, open: s.close, close: s.open };
  assert.notEqual(barsDigest(swapped), d0);
  assert.notEqual(barsDigest(sample(49)), d0);
  // Views into larger buffers hash only their own elements.
  const big = sample(60);
  const view = {
    length: 50,
    ...Object.fromEntries(FIELDS.map((f) => [f, big[f].subarray(0, 50)])),
  } as unknown as Bars;
  assert.equal(barsDigest(view), barsDigest(sample(50)));
});

Deno.test("columnsDigest() refuses columns of different lengths", () => {
  const b = sample(5);
  assert.throws(
    () => columnsDigest([b.timestamp, b.open, b.high, b.low, b.close, new Float64Array(4)]),
    /differ in length: 4 and 5/,
  );
});
