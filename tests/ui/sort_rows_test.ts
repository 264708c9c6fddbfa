import assert from "node:assert/strict";
import { pageOf, sortRows } from "../../ui/sort_rows.ts";

interface Row {
  id: number;
  pnl: number;
  exit: number | null;
  side: string;
}
const rows: Row[] = [
  { id: 1, pnl: 5, exit: 30, side: "long" },
  { id: 2, pnl: -2, exit: null, side: "short" },
  { id: 3, pnl: 5, exit: 10, side: "long" },
  { id: 4, pnl: 0, exit: 20, side: "short" },
];

Deno.test("sortRows() sorts numbers both ways and keeps ties in original order", () => {
  assert.deepEqual(sortRows(rows, "pnl", "asc").map((r) => r.id), [2, 4, 1, 3]);
  assert.deepEqual(sortRows(rows, "pnl", "desc").map((r) => r.id), [1, 3, 4, 2]);
});

Deno.test("sortRows() puts nulls last in both directions", () => {
  assert.deepEqual(sortRows(rows, "exit", "asc").map((r) => r.id), [3, 4, 1, 2]);
  assert.deepEqual(sortRows(rows, "exit", "desc").map((r) => r.id), [1, 4, 3, 2]);
});

Deno.test("sortRows() sorts strings and does not mutate its input", () => {
  const before = rows.map((r) => r.id);
  assert.deepEqual(sortRows(rows, "side", "desc").map((r) => r.id), [2, 4, 1, 3]);
  assert.deepEqual(rows.map((r) => r.id), before);
});

Deno.test("pageOf() pages and clamps out-of-range pages", () => {
  const xs = Array.from({ length: 45 }, (_, i) => i);
  assert.deepEqual(pageOf(xs, 0, 20).rows, xs.slice(0, 20));
  assert.deepEqual(pageOf(xs, 2, 20), { rows: [40, 41, 42, 43, 44], page: 2, pages: 3 });
  assert.equal(pageOf(xs, 9, 20).page, 2);
  assert.equal(pageOf(xs, -3, 20).page, 0);
  assert.deepEqual(pageOf([], 0, 20), { rows: [], page: 0, pages: 1 });
});
