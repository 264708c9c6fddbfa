import assert from "node:assert/strict";
import { datasetNameOf, defaultRow } from "../../ui/strategy_session.ts";
import { gridValues } from "../../ui/grid_values.ts";

Deno.test("defaultRow() sweeps an integer param from half to double in four values", () => {
  const r = defaultRow("fast", 10);
  assert.deepEqual(r, { name: "fast", value: 10, min: 5, max: 20, step: 5, sweep: true });
  assert.deepEqual(gridValues(r.min, r.max, r.step), [5, 10, 15, 20]);
  const k = defaultRow("k", 2.5);
  assert.ok(k.min < 2.5 && k.max > 2.5 && k.step > 0, JSON.stringify(k));
  assert.ok(gridValues(k.min, k.max, k.step).includes(2.5));
});

Deno.test("defaultRow() keeps non-numeric params out of the sweep", () => {
  assert.equal(defaultRow("mode", "fast").sweep, false);
  assert.equal(defaultRow("flag", true).sweep, false);
  assert.equal(defaultRow("bad", NaN).sweep, false);
});

Deno.test("datasetNameOf() turns any file name into a name the API accepts", () => {
  const ok = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;
  for (
    const [input, want] of [
      ["GOOG.csv", "GOOG.csv"],
      ["my data (1).csv", "my_data__1_.csv"],
      ["C:\\Users\\x\\prices.parquet", "prices.parquet"],
      ["../../etc/passwd.csv", "passwd.csv"],
      ["..hidden..csv", "hidden.csv"],
    ]
  ) {
    const got = datasetNameOf(input);
    assert.equal(got, want, input);
    assert.match(got, ok);
    assert.ok(!got.includes(".."), got);
  }
});
