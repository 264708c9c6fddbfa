/**
 * engine/annualization.ts: periods per year inferred from bar timestamps
 * (docs/SEMANTICS.md, "Metrics"), on real daily files and on generated calendars whose
 * expected answer follows from the rule by hand.
 */
import assert from "node:assert/strict";
import { inferAnnualization } from "../../engine/annualization.ts";

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

async function fileDates(name: string): Promise<Float64Array> {
  const text = await Deno.readTextFile(new URL(`../../../shared/data/${name}`, import.meta.url));
  const rows = text.trim().split("\n").slice(1);
  return Float64Array.from(rows, (row) => Date.parse(`${row.split(",")[0]}T00:00:00Z`));
}

/** Bars at `hoursUtc` (fractional hours) on each day from `start` for `days` days, if `keep`. */
function calendar(
  start: string,
  days: number,
  hoursUtc: number[],
  keep: (dayOfWeek: number) => boolean,
): Float64Array {
  const t0 = Date.parse(`${start}T00:00:00Z`);
  const out: number[] = [];
  for (let d = 0; d < days; d++) {
    const day = t0 + d * DAY;
    if (!keep(new Date(day).getUTCDay())) continue;
    for (const h of hoursUtc) out.push(day + h * HOUR);
  }
  return Float64Array.from(out);
}

const weekdays = (dow: number) => dow >= 1 && dow <= 5;
const everyDay = () => true;
const hours = (from: number, to: number, step = 1) =>
  Array.from({ length: Math.round((to - from) / step) }, (_, i) => from + i * step);

Deno.test("inferAnnualization() gives 252 for the daily GOOG and backtrader files", async () => {
  assert.equal(inferAnnualization(await fileDates("GOOG.csv")), 252);
  assert.equal(inferAnnualization(await fileDates("backtrader_2006-day-001.txt")), 252);
});

Deno.test("inferAnnualization() gives 365 × bars per day for 24/7 data", () => {
  assert.equal(inferAnnualization(calendar("2024-01-01", 60, [0], everyDay)), 365);
  assert.equal(inferAnnualization(calendar("2024-01-01", 10, hours(0, 24), everyDay)), 365 * 24);
  assert.equal(
    inferAnnualization(calendar("2024-01-01", 10, hours(0, 24, 0.25), everyDay)),
    365 * 96,
  );
  // a short series that spans one weekend is enough (Fri 2024-01-05 … Mon 2024-01-08)
  assert.equal(inferAnnualization(calendar("2024-01-05", 4, [0], everyDay)), 365);
  // a partial first and last day do not move the median bars per day
  const hourly = calendar("2024-01-01", 9, hours(0, 24), everyDay);
  assert.equal(inferAnnualization(hourly.subarray(7, hourly.length - 5)), 365 * 24);
});

Deno.test("inferAnnualization() gives 252 × bars per day for intraday weekday sessions", () => {
  // US equities, hourly bars 13:30 … 19:30 UTC: 7 a day
  assert.equal(
    inferAnnualization(calendar("2024-01-01", 28, hours(13.5, 20.5), weekdays)),
    252 * 7,
  );
  // minute bars 13:30 … 19:59: 390 a day
  assert.equal(
    inferAnnualization(calendar("2024-01-01", 7, hours(13.5, 20, 1 / 60), weekdays)),
    252 * 390,
  );
  // futures: Sunday 23:00 to Friday 22:00 UTC with a daily break at 22:00 → 23 bars a full day;
  // Sunday bars but no Saturday bars: not 24/7
  const out: number[] = [];
  const t0 = Date.parse("2024-01-07T23:00:00Z"); // a Sunday
  for (let h = 0; h < 4 * 7 * 24; h++) {
    const t = t0 + h * HOUR;
    const d = new Date(t);
    const dow = d.getUTCDay();
    const hr = d.getUTCHours();
    if (dow === 6 || (dow === 5 && hr >= 22) || (dow === 0 && hr < 23) || hr === 22) continue;
    out.push(t);
  }
  assert.equal(inferAnnualization(Float64Array.from(out)), 252 * 23);
});

Deno.test("inferAnnualization() does not mistake shifted or odd weekday calendars for 24/7", () => {
  // Tokyo daily bars stamped at local midnight: Sunday … Thursday 15:00 UTC
  assert.equal(inferAnnualization(calendar("2024-01-01", 90, [15], (d) => d <= 4)), 252);
  // a weekday calendar with one Saturday session
  const ts = Array.from(calendar("2024-01-01", 60, [0], weekdays));
  ts.push(Date.parse("2024-03-09T00:00:00Z"));
  assert.equal(inferAnnualization(Float64Array.from(ts).sort()), 252);
});

Deno.test("inferAnnualization() gives 52, 12, 4 and 1 for weekly, monthly, quarterly, yearly", () => {
  assert.equal(inferAnnualization(calendar("2024-01-01", 364, [0], (d) => d === 1)), 52);
  assert.equal(inferAnnualization(calendar("2024-01-07", 364, [0], (d) => d === 0)), 52);
  const monthStarts = (months: number, step: number) =>
    Float64Array.from({ length: months }, (_, i) => Date.UTC(2000, i * step, 1));
  assert.equal(inferAnnualization(monthStarts(36, 1)), 12);
  assert.equal(inferAnnualization(monthStarts(12, 3)), 4);
  assert.equal(inferAnnualization(monthStarts(10, 12)), 1);
});

Deno.test("inferAnnualization() defaults to 252 without two bars and rejects bad timestamps", () => {
  assert.equal(inferAnnualization(new Float64Array(0)), 252);
  assert.equal(inferAnnualization(Float64Array.of(Date.UTC(2024, 0, 6))), 252);
  assert.throws(
    () => inferAnnualization(Float64Array.of(0, NaN, 2)),
    /Row 1: timestamp is not a finite number/,
  );
  assert.throws(
    () => inferAnnualization(Float64Array.of(0, DAY, DAY)),
    /Row 2: timestamp 86400000 is not after the previous row's 86400000/,
  );
});
