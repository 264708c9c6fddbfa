/**
 * Random search: a seeded sample of a grid's combinations (constraints applied), for grids
 * too large to sweep or as a quick first look.
 *
 * @module
 */
import {
  expandGrid,
  gridSize,
  type GridSpec,
  type ParamSet,
  parseConstraint,
  rangeValues,
  satisfies,
} from "./grid.ts";
import { mulberry32 } from "../market/sample_data.ts";

/** Grids up to this size are enumerated and sampled exactly without replacement. */
const ENUMERATE_LIMIT = 1_000_000;

/**
 * `samples` distinct combinations drawn uniformly from the grid (all of them when the grid
 * has fewer), in the order drawn. The same seed gives the same sample.
 *
 * @example
 * ```ts
 * randomSample({ params: { fast: { min: 2, max: 50, step: 1 }, slow: { min: 10, max: 200, step: 1 } },
 *   constraints: ["fast < slow"] }, 100, { seed: 42 }).length; // 100
 * ```
 */
export function randomSample(
  spec: GridSpec,
  samples: number,
  opts: { seed?: number; fixed?: ParamSet } = {},
): ParamSet[] {
  if (!Number.isInteger(samples) || samples < 1) {
    throw new RangeError(`samples must be an integer >= 1, got ${samples}`);
  }
  const rnd = mulberry32(opts.seed ?? 1);
  const fixed = opts.fixed ?? {};
  if (gridSize(spec) <= ENUMERATE_LIMIT) {
    const all = expandGrid(spec, fixed);
    // partial Fisher-Yates: the first `k` entries become the sample
    const k = Math.min(samples, all.length);
    for (let i = 0; i < k; i++) {
      const j = i + Math.floor(rnd() * (all.length - i));
      [all[i], all[j]] = [all[j], all[i]];
    }
    return all.slice(0, k);
  }
  const names = Object.keys(spec.params);
  const lists = names.map((n) => rangeValues(n, spec.params[n]));
  const constraints = (spec.constraints ?? []).map(parseConstraint);
  const seen = new Set<string>();
  const out: ParamSet[] = [];
  let tries = 0;
  while (out.length < samples && tries < samples * 1000) {
    tries++;
    const p: ParamSet = { ...fixed };
    const idx = lists.map((l) => Math.floor(rnd() * l.length));
    names.forEach((n, j) => (p[n] = lists[j][idx[j]]));
    const key = idx.join(",");
    if (seen.has(key) || !satisfies(p, constraints)) continue;
    seen.add(key);
    out.push(p);
  }
  return out;
}
