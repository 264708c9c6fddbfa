import assert from "node:assert/strict";
import { gridValues } from "../../ui/grid_values.ts";

Deno.test("gridValues() includes both ends of an integer range", () => {
  assert.deepEqual(gridValues(5, 20, 5), [5, 10, 15, 20]);
  assert.deepEqual(gridValues(3, 3, 1), [3]);
});

Deno.test("gridValues() keeps the last value of a 0.1 step despite float rounding", () => {
  // 0.1 + 0.2 style drift: (0.3 - 0.1) / 0.1 = 1.9999999999999998
  assert.deepEqual(gridValues(0.1, 0.3, 0.1), [0.1, 0.2, 0.3]);
  assert.deepEqual(gridValues(1, 2, 0.25), [1, 1.25, 1.5, 1.75, 2]);
});

Deno.test("gridValues() stops below max when the step does not land on it", () => {
  assert.deepEqual(gridValues(1, 10, 4), [1, 5, 9]);
});

Deno.test("gridValues() rejects a bad step, reversed range and NaN, naming the field", () => {
  assert.throws(() => gridValues(1, 5, 0), /step/);
  assert.throws(() => gridValues(1, 5, -1), /step/);
  assert.throws(() => gridValues(5, 1, 1), /max/);
  assert.throws(() => gridValues(NaN, 1, 1), /min/);
});
