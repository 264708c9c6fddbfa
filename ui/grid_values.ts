/**
 * The values one parameter takes in a grid, from the min/max/step of the parameter table.
 *
 * @module
 */

/**
 * `min, min+step, …` up to and including `max` (with a tolerance of 1e-9·step so 0.1 steps do
 * not lose the last value to rounding), each rounded to 10 significant digits.
 * Throws a RangeError naming the bad field.
 */
export function gridValues(min: number, max: number, step: number): number[] {
  if (!Number.isFinite(min)) throw new RangeError("min must be a finite number");
  if (!Number.isFinite(max)) throw new RangeError("max must be a finite number");
  if (!Number.isFinite(step) || step <= 0) throw new RangeError("step must be a number > 0");
  if (max < min) throw new RangeError("max must be ≥ min");
  const n = Math.floor((max - min) / step + 1e-9) + 1;
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) out[i] = Number((min + i * step).toPrecision(10));
  return out;
}
