import assert from "node:assert/strict";
import { selectKth, selectKth3Way } from "../../engine/select_kth.ts";

/** A seeded LCG in [0, 1): the same cases on every run. */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 4294967296;
}

/** Arrays of the shapes the metrics select from, and the ones quickselect is weak on. */
function cases(): { name: string; a: Float64Array }[] {
  const rnd = lcg(11);
  const out: { name: string; a: Float64Array }[] = [];
  for (const n of [1, 2, 3, 15, 16, 17, 100, 1000, 20_000]) {
    const of = (f: (i: number) => number) => Float64Array.from({ length: n }, (_, i) => f(i));
    out.push({ name: `random ${n}`, a: of(() => rnd() - 0.5) });
    out.push({ name: `few values ${n}`, a: of(() => Math.floor(rnd() * 4)) });
    // A strategy's returns: exactly 0 on every flat bar.
    out.push({ name: `mostly zero ${n}`, a: of((i) => (i % 5 === 0 ? rnd() - 0.5 : 0)) });
    out.push({ name: `sorted ${n}`, a: of((i) => i) });
    out.push({ name: `reversed ${n}`, a: of((i) => n - i) });
    out.push({ name: `all equal ${n}`, a: of(() => 7) });
    out.push({ name: `signed zeros ${n}`, a: of((i) => (i % 2 === 0 ? 0 : -0)) });
  }
  return out;
}

/**
 * The Hoare quickselect as `selectKth` was first written (one function, the partition loop
 * inline): `selectKth` must reorder exactly as it did, because the mean that CVaR takes over
 * the values before `k` is summed in their order.
 */
function referenceSelect(a: Float64Array, k: number): void {
  let lo = 0;
  let hi = a.length - 1;
  let rounds = 64;
  while (hi > lo) {
    if (hi - lo < 16 || --rounds < 0) {
      a.subarray(lo, hi + 1).sort();
      return;
    }
    const x = a[lo], y = a[(lo + hi) >>> 1], z = a[hi];
    const pivot = x < y ? (y < z ? y : x < z ? z : x) : (x < z ? x : y < z ? z : y);
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (a[i] < pivot) i++;
      while (a[j] > pivot) j--;
      if (i <= j) {
        const t = a[i];
        a[i] = a[j];
        a[j] = t;
        i++;
        j--;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else return;
  }
}

/**
 * Runs `select` on a copy of every case at its ends, its middle and one seeded k, and checks
 * the partition; `also` checks more of each outcome.
 */
function checkSelections(
  select: (a: Float64Array, k: number) => void,
  seed: number,
  also: (name: string, input: Float64Array, got: Float64Array, k: number) => void = () => {},
): void {
  const rnd = lcg(seed);
  for (const { name: shape, a } of cases()) {
    for (const k of new Set([0, a.length - 1, a.length >> 1, Math.floor(rnd() * a.length)])) {
      const name = `${shape}, k=${k}`;
      const got = a.slice();
      select(got, k);
      const sorted = a.slice().sort();
      assert.ok(got[k] === sorted[k], `${name}: a[k] (±0 are equal values)`);
      for (let i = 0; i < got.length; i++) {
        if (i < k) assert.ok(got[i] <= got[k], `${name}: a[${i}] > a[k]`);
        if (i > k) assert.ok(got[i] >= got[k], `${name}: a[${i}] < a[k]`);
      }
      assert.deepEqual(got.slice().sort(), sorted, `${name}: not a permutation of the input`);
      also(name, a, got, k);
    }
  }
}

Deno.test("selectKth puts the k-th smallest at k, smaller before, larger after, in the order the inline partition gave", () => {
  checkSelections(selectKth, 5, (name, input, got, k) => {
    const want = input.slice();
    referenceSelect(want, k);
    for (let i = 0; i < got.length; i++) {
      assert.ok(Object.is(got[i], want[i]), `${name}: order differs at ${i}`);
    }
  });
});

Deno.test("selectKth3Way puts the k-th smallest at k, smaller before, larger after", () => {
  checkSelections(selectKth3Way, 9);
});
