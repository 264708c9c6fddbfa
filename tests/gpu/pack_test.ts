import assert from "node:assert/strict";
import {
  chunkKey,
  compareKeys,
  decodeEvent,
  encodeEvent,
  maxSeriesFor,
  NAN_CHUNK,
  orderKey,
  planBatches,
  writeChunks,
  writeKeys,
} from "../../gpu/pack.ts";

// Values that stress the encoding: signs, zeros, subnormals, neighbours one ulp apart, infinities.
const VALUES = [
  -Infinity,
  -1e300,
  -100.5,
  -1,
  -Number.MIN_VALUE,
  -0,
  0,
  Number.MIN_VALUE,
  1e-300,
  0.1,
  0.30000000000000004,
  0.3,
  1,
  1 + Number.EPSILON,
  99.99999999999999,
  100,
  1e300,
  Infinity,
];

function cmpNum(a: number, b: number): number {
  if (Number.isNaN(a) || Number.isNaN(b)) return -2;
  return a < b ? -1 : a > b ? 1 : 0;
}

Deno.test("orderKey() orders keys exactly like float64 comparisons, ties and -0 included", () => {
  const rnd = (() => {
    let s = 12345;
    return () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648);
  })();
  const vals = [...VALUES];
  for (let i = 0; i < 300; i++) vals.push((rnd() - 0.5) * 10 ** Math.floor(rnd() * 20 - 10));
  for (const a of vals) {
    for (const b of vals) {
      const [ah, al] = orderKey(a), [bh, bl] = orderKey(b);
      assert.equal(compareKeys(ah, al, bh, bl), cmpNum(a, b), `${a} vs ${b}`);
    }
  }
});

Deno.test("orderKey() makes NaN unordered against everything", () => {
  const [nh, nl] = orderKey(NaN);
  for (const v of [...VALUES, NaN]) {
    const [h, l] = orderKey(v);
    assert.equal(compareKeys(nh, nl, h, l), -2);
    assert.equal(compareKeys(h, l, nh, nl), -2);
  }
});

Deno.test("writeKeys() writes the same words as orderKey()", () => {
  const src = Float64Array.from([...VALUES, NaN]);
  const dst = new Uint32Array(src.length * 2 + 2);
  writeKeys(src, dst, 2);
  src.forEach((v, i) => assert.deepEqual([dst[2 + 2 * i], dst[3 + 2 * i]], orderKey(v)));
});

Deno.test("chunkKey() splits a key into f32-exact chunks whose triples keep the order", () => {
  const src = Float64Array.from(VALUES);
  const chunks = new Float32Array(src.length * 3);
  writeChunks(src, chunks, 0);
  for (let i = 0; i < src.length; i++) {
    for (let k = 0; k < 3; k++) {
      const c = chunks[3 * i + k];
      assert.ok(Number.isInteger(c) && c >= 0 && c < 2 ** 22, `chunk ${c} is not exact`);
    }
    for (let j = 0; j < src.length; j++) {
      const a = [...chunks.subarray(3 * i, 3 * i + 3)], b = [...chunks.subarray(3 * j, 3 * j + 3)];
      const lex = a[0] !== b[0]
        ? Math.sign(a[0] - b[0])
        : a[1] !== b[1]
        ? Math.sign(a[1] - b[1])
        : Math.sign(a[2] - b[2]);
      assert.equal(lex, cmpNum(src[i], src[j]), `${src[i]} vs ${src[j]}`);
    }
  }
  assert.deepEqual(chunkKey(...orderKey(NaN)), [NAN_CHUNK, NAN_CHUNK, NAN_CHUNK]);
});

Deno.test("encodeEvent() round-trips bar and code", () => {
  for (const [bar, code] of [[0, 1], [1, 2], [123_456, 3], [(1 << 30) - 1, 1]] as const) {
    assert.deepEqual(decodeEvent(encodeEvent(bar, code)), { bar, code });
  }
});

Deno.test("planBatches() keeps each batch's distinct series within the limit and covers every combination once", () => {
  const needs: string[][] = [];
  for (let f = 0; f < 10; f++) for (let s = 0; s < 10; s++) needs.push([`f${f}`, `s${s}`]);
  const batches = planBatches(needs, { maxSeries: 12, maxCombos: 30 });
  let next = 0;
  for (const b of batches) {
    assert.equal(b.start, next);
    next = b.end;
    assert.ok(b.series.length <= 12);
    assert.ok(b.end - b.start <= 30);
    const set = new Set(b.series);
    for (let i = b.start; i < b.end; i++) for (const s of needs[i]) assert.ok(set.has(s));
  }
  assert.equal(next, needs.length);
  assert.throws(
    () => planBatches([["a", "b", "c"]], { maxSeries: 2, maxCombos: 5 }),
    /reads 3 series/,
  );
});

Deno.test("maxSeriesFor() fits series of 8-byte keys in a binding", () => {
  assert.equal(maxSeriesFor(200_000, 134_217_728), 83);
  assert.equal(maxSeriesFor(100, 800), 1);
});
