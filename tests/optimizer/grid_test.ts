import assert from "node:assert/strict";
import {
  checkConstraints,
  expandGrid,
  gridSize,
  parseConstraint,
  parseParamArg,
  rangeCount,
  rangeValueAt,
  rangeValues,
} from "../../optimizer/grid.ts";

Deno.test("rangeValues() steps from min to max inclusive without float drift", () => {
  assert.deepEqual(rangeValues("k", { min: 1, max: 2, step: 0.25 }), [1, 1.25, 1.5, 1.75, 2]);
  assert.deepEqual(rangeValues("k", { min: 0.1, max: 0.5, step: 0.1 }), [0.1, 0.2, 0.3, 0.4, 0.5]);
  assert.deepEqual(rangeValues("n", { min: 5, max: 22, step: 5 }), [5, 10, 15, 20]);
  assert.deepEqual(rangeValues("x", { values: ["a", 2, true] }), ["a", 2, true]);
});

Deno.test("rangeValues() rejects bad ranges naming the parameter", () => {
  assert.throws(
    () => rangeValues("fast", { min: 5, max: 1, step: 1 }),
    /"fast": max 1 is below min 5/,
  );
  assert.throws(() => rangeValues("fast", { min: 1, max: 5, step: 0 }), /"fast": step must be > 0/);
  assert.throws(
    () => rangeValues("fast", { min: NaN, max: 5, step: 1 }),
    /"fast": min must be a finite/,
  );
  assert.throws(
    () => rangeValues("fast", { values: [] }),
    /"fast": values must be a non-empty list/,
  );
});

Deno.test("expandGrid() applies constraints and counts like a naive double loop", () => {
  const spec = {
    params: { fast: { min: 2, max: 30, step: 2 }, slow: { min: 10, max: 60, step: 5 } },
    constraints: ["fast < slow"],
  };
  const combos = expandGrid(spec);
  const naive: { fast: number; slow: number }[] = [];
  for (let f = 2; f <= 30; f += 2) {
    for (let s = 10; s <= 60; s += 5) if (f < s) naive.push({ fast: f, slow: s });
  }
  assert.deepEqual(combos, naive);
  assert.equal(gridSize(spec), 15 * 11);
});

Deno.test("expandGrid() adds fixed params and supports list values", () => {
  const combos = expandGrid({ params: { k: { values: [1, 2] } } }, { period: 20 });
  assert.deepEqual(combos, [{ period: 20, k: 1 }, { period: 20, k: 2 }]);
});

Deno.test("parseConstraint() reads names, numbers and every operator; rejects junk", () => {
  assert.deepEqual(parseConstraint("fast<slow"), { lhs: "fast", op: "<", rhs: "slow" });
  assert.deepEqual(parseConstraint(" k >= 1.5 "), { lhs: "k", op: ">=", rhs: 1.5 });
  assert.throws(() => parseConstraint("fast <> slow"), /Cannot parse constraint "fast <> slow"/);
  assert.throws(
    () => expandGrid({ params: { a: { values: [1] } }, constraints: ["a < b"] }),
    /unknown parameter "b"/,
  );
});

Deno.test("parseParamArg() reads the CLI forms", () => {
  assert.deepEqual(parseParamArg("fast=5:20:5"), ["fast", { min: 5, max: 20, step: 5 }]);
  assert.deepEqual(parseParamArg("k=1.5,2,2.5"), ["k", { values: [1.5, 2, 2.5] }]);
  assert.throws(() => parseParamArg("fast"), /expected name=min:max:step/);
  assert.throws(() => parseParamArg("fast=1:2"), /three numbers/);
});

Deno.test("gridSize() counts axes without building them; rangeValueAt() is rangeValues()[i]", () => {
  const axes = Object.fromEntries(
    Array.from({ length: 20 }, (_, i) => [`p${i}`, { min: 0, max: 4_999_999, step: 1 }]),
  );
  assert.equal(gridSize({ params: axes }), 5e6 ** 20);
  const spec = { min: 0.1, max: 1, step: 0.3 };
  const all = rangeValues("k", spec);
  assert.deepEqual(all, [0.1, 0.4, 0.7, 1]);
  assert.deepEqual(all.map((_, i) => rangeValueAt("k", spec, i)), all);
  assert.equal(rangeCount("k", { values: ["a", "b"] }), 2);
  assert.throws(() => rangeValueAt("k", spec, 4), /no value 4/);
  assert.throws(() => gridSize({ params: { k: { min: 0, max: 1e7, step: 1 } } }), /more than/);
});

Deno.test("checkConstraints() parses each constraint and names an unknown parameter", () => {
  const spec = { params: { fast: { values: [5] }, slow: { values: [20] } } };
  assert.deepEqual(checkConstraints({ ...spec, constraints: ["fast < slow"] }), [
    { lhs: "fast", op: "<", rhs: "slow" },
  ]);
  // a fixed parameter may be named too
  assert.equal(checkConstraints({ ...spec, constraints: ["slow < k"] }, { k: 3 }).length, 1);
  assert.throws(
    () => checkConstraints({ ...spec, constraints: ["fast < nope"] }),
    /unknown parameter "nope" \(the grid has fast, slow\)/,
  );
  assert.throws(() => checkConstraints({ ...spec, constraints: ["fast <<< slow"] }), SyntaxError);
});
