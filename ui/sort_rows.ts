/**
 * Sorting and paging for the trades table (kept pure so it is tested without a browser).
 *
 * @module
 */

/** Sort direction. */
export type SortDir = "asc" | "desc";

/**
 * A sorted copy of `rows` by `key`; nulls (open trades' exit fields) always go last, ties keep
 * their original order (the sort is stable).
 */
export function sortRows<T>(rows: readonly T[], key: keyof T, dir: SortDir): T[] {
  const sign = dir === "asc" ? 1 : -1;
  return rows
    .map((row, i) => ({ row, i }))
    .sort((a, b) => {
      const x = a.row[key] as unknown;
      const y = b.row[key] as unknown;
      const xNull = x === null || x === undefined || (typeof x === "number" && Number.isNaN(x));
      const yNull = y === null || y === undefined || (typeof y === "number" && Number.isNaN(y));
      if (xNull || yNull) return xNull === yNull ? a.i - b.i : xNull ? 1 : -1;
      const c = typeof x === "number" && typeof y === "number"
        ? x - y
        : String(x).localeCompare(String(y));
      return c !== 0 ? sign * c : a.i - b.i;
    })
    .map((e) => e.row);
}

/** Page `page` (0-based, clamped to the valid range) of `rows`, `size` rows a page. */
export function pageOf<T>(
  rows: readonly T[],
  page: number,
  size: number,
): { rows: T[]; page: number; pages: number } {
  const pages = Math.max(1, Math.ceil(rows.length / size));
  const p = Math.min(Math.max(0, Math.floor(page)), pages - 1);
  return { rows: rows.slice(p * size, p * size + size), page: p, pages };
}
