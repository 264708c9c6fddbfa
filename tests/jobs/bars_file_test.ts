import assert from "node:assert/strict";
import { allocateBars } from "../../engine/bars.ts";
import type { Bars } from "../../engine/types.ts";
import {
  barColumns,
  barsFileBytes,
  barsFileHolds,
  readBarsFile,
  writeBarsFile,
} from "../../jobs/bars_file.ts";

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

function copy(b: Bars): Bars {
  return {
    length: b.length,
    timestamp: b.timestamp.slice(),
    open: b.open.slice(),
    high: b.high.slice(),
    low: b.low.slice(),
    close: b.close.slice(),
    volume: b.volume.slice(),
  };
}

Deno.test("writeBarsFile() writes the six columns as float64, column after column", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const b = sample(5);
    await writeBarsFile(`${dir}/bars`, b);
    const bytes = await Deno.readFile(`${dir}/bars`);
    assert.equal(bytes.length, barsFileBytes(5));
    assert.equal(bytes.length, 240);
    const all = new Float64Array(bytes.buffer, bytes.byteOffset, 30);
    FIELDS.forEach((f, c) => assert.deepEqual([...all.subarray(5 * c, 5 * c + 5)], [...b[f]]));
    assert.equal((await Deno.stat(`${dir}/bars`)).mode! & 0o777, 0o600);
    // Rewriting with fewer bars truncates.
    await writeBarsFile(`${dir}/bars`, sample(2));
    assert.equal((await Deno.stat(`${dir}/bars`)).size, 96);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("barsFileHolds() is true only for exactly the bars in the file", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/bars`;
  try {
    assert.equal(barsFileHolds(path, sample(3)), false, "no file");
    // Big enough to span several 1 MB comparison steps per column (300k bars: 2.4 MB each).
    const n = 300_000;
    const b = sample(n);
    await writeBarsFile(path, b);
    assert.equal(barsFileHolds(path, b), true);
    assert.equal(barsFileHolds(path, copy(b)), true, "equal content, another object");
    for (const f of FIELDS) {
      for (const i of [0, 140_000, n - 1]) {
        const c = copy(b);
        c[f][i] = c[f][i] * (1 + Number.EPSILON) + 1e-9;
        assert.equal(barsFileHolds(path, c), false, `${f}[${i}] changed`);
      }
    }
    // Columns in another order, one bar fewer, a prefix of the file.
    const swapped: Bars = { ...copy(b), open: b.close.slice(), close: b.open.slice() };
    assert.equal(barsFileHolds(path, swapped), false);
    const short = sample(n - 1);
    assert.equal(barsFileHolds(path, short), false);
    // Bars that are views into a bigger buffer compare by their own bytes.
    const big = sample(n + 10);
    const view: Bars = { length: n } as Bars;
    for (const f of FIELDS) {
      (view as unknown as Record<string, Float64Array>)[f] = new Float64Array(big[f].buffer, 0, n);
    }
    assert.equal(barsFileHolds(path, view), true);
    // A truncated file (a write that failed half way) holds nothing.
    await Deno.truncate(path, barsFileBytes(n) - 8);
    assert.equal(barsFileHolds(path, b), false);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("readBarsFile() reads into the columns it is given when they fit, else new ones", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/bars`;
  try {
    const b = sample(7);
    await writeBarsFile(path, b);
    const fresh = readBarsFile(path, 7);
    assert.deepEqual(fresh.map((c) => [...c]), barColumns(b).map((c) => [...c]));
    const reuse = Array.from({ length: 6 }, () => new Float64Array(7).fill(-1));
    const got = readBarsFile(path, 7, reuse);
    got.forEach((c, i) => assert.equal(c, reuse[i], "the same buffers"));
    assert.deepEqual(got.map((c) => [...c]), barColumns(b).map((c) => [...c]));
    // Wrong length or count: new buffers, the old ones untouched.
    const wrong = Array.from({ length: 6 }, () => new Float64Array(6).fill(-1));
    const other = readBarsFile(path, 7, wrong);
    assert.ok(other.every((c, i) => c !== wrong[i] && c.length === 7));
    assert.ok(wrong.every((c) => c.every((x) => x === -1)));
    assert.notEqual(readBarsFile(path, 7, reuse.slice(0, 5))[0], reuse[0]);
    // A file of the wrong size is an error that says so.
    assert.throws(() => readBarsFile(path, 8), /Bars file has 336 bytes, expected 384/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
