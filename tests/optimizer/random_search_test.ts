import assert from "node:assert/strict";
import { expandGrid } from "../../optimizer/grid.ts";
import { randomSample } from "../../optimizer/random_search.ts";

const SPEC = {
  params: { fast: { min: 2, max: 40, step: 1 }, slow: { min: 10, max: 100, step: 2 } },
  constraints: ["fast < slow"],
};

Deno.test("randomSample() draws distinct grid members satisfying the constraints, reproducibly", () => {
  const a = randomSample(SPEC, 50, { seed: 9 });
  const b = randomSample(SPEC, 50, { seed: 9 });
  const c = randomSample(SPEC, 50, { seed: 10 });
  assert.deepEqual(a, b);
  assert.notDeepEqual(a, c);
  assert.equal(a.length, 50);
  const grid = new Set(expandGrid(SPEC).map((p) => JSON.stringify(p)));
  const seen = new Set<string>();
  for (const p of a) {
    const k = JSON.stringify(p);
    assert.ok(grid.has(k), `${k} is not in the grid`);
    assert.ok(!seen.has(k), `${k} drawn twice`);
    seen.add(k);
  }
});

Deno.test("randomSample() returns the whole grid when asked for more than it has", () => {
  const small = { params: { a: { values: [1, 2, 3] } } };
  assert.equal(randomSample(small, 10).length, 3);
  assert.throws(() => randomSample(small, 0), /samples must be an integer >= 1/);
});

Deno.test("randomSample() samples grids too large to enumerate", () => {
  const huge = {
    params: {
      a: { min: 1, max: 2000, step: 1 },
      b: { min: 1, max: 2000, step: 1 },
    },
    constraints: ["a < b"],
  };
  const s = randomSample(huge, 100, { seed: 3 });
  assert.equal(s.length, 100);
  assert.ok(s.every((p) => (p.a as number) < (p.b as number)));
  assert.equal(new Set(s.map((p) => `${p.a},${p.b}`)).size, 100);
});
