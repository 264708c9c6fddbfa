import assert from "node:assert/strict";
import { allocateBars } from "../../engine/bars.ts";
import { BarDataView, type Clock, VisibleBars } from "../../engine/data_view.ts";

function source() {
  const src = allocateBars(5);
  for (let t = 0; t < 5; t++) {
    src.timestamp[t] = 1000 * (t + 1);
    src.open[t] = 10 + t;
    src.high[t] = 12 + t;
    src.low[t] = 9 + t;
    src.close[t] = 11 + t;
    src.volume[t] = 100 + t;
  }
  return src;
}

Deno.test("BarDataView views end at the clock's bar, are cached per bar and renewed on the next", () => {
  const clock: Clock = { t: -1 };
  const data = new BarDataView(new VisibleBars(source()), clock);
  for (let t = 0; t < 5; t++) {
    clock.t = t;
    assert.equal(data.length, t + 1);
    const c = data.close;
    assert.equal(c.length, t + 1);
    assert.equal(data.close, c);
    assert.deepEqual(Array.from(c), Array.from({ length: t + 1 }, (_, i) => 11 + i));
    assert.deepEqual(Array.from(data.volume), Array.from({ length: t + 1 }, (_, i) => 100 + i));
    assert.equal(data.timestamp[t], 1000 * (t + 1));
    assert.equal(data.open[t], 10 + t);
    assert.equal(data.high[t], 12 + t);
    assert.equal(data.low[t], 9 + t);
    assert.deepEqual(JSON.parse(JSON.stringify(data.bar)), {
      time: 1000 * (t + 1),
      open: 10 + t,
      high: 12 + t,
      low: 9 + t,
      close: 11 + t,
      volume: 100 + t,
    });
    assert.equal(data.bar, data.bar);
  }
  const kept = data.bar;
  clock.t = 2;
  assert.notEqual(data.bar, kept);
  assert.equal(kept.close, 15); // a kept bar object never changes
  assert.throws(() => {
    (kept as { close: number }).close = 1;
  }, TypeError);
  assert.equal(data.close.length, 3);
});

Deno.test("VisibleBars fills a column only up to the bar asked for, on first use", () => {
  const v = new VisibleBars(source());
  const close = v.column(4, 1);
  assert.deepEqual(Array.from(close), [11, 12, 0, 0, 0]);
  assert.deepEqual(Array.from(new Float64Array(close.buffer)), [11, 12, 0, 0, 0]);
  assert.deepEqual(Array.from(v.column(4, 3)), [11, 12, 13, 14, 0]);
  assert.equal(v.column(4, 3), close);
  assert.deepEqual(Array.from(v.column(1, 2)), [10, 11, 12, 0, 0]);
  assert.deepEqual(Array.from(v.column(4, 2)), [11, 12, 13, 14, 0]);
});
