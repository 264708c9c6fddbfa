/**
 * The GOOG reference file (../shared/data/GOOG.csv: 2,148 daily bars, header
 * `,Open,High,Low,Close,Volume`, first column YYYY-MM-DD), parsed here in a few lines so the
 * suites that use it do not depend on market/'s readers.
 *
 * @module
 */
import { allocateBars, validateBars } from "../../engine/bars.ts";
import type { Bars } from "../../engine/types.ts";

/** Where the reference file lies. */
export const GOOG_URL = new URL("../../../shared/data/GOOG.csv", import.meta.url);

/** The 2,148 daily GOOG bars, validated. */
export function loadGoog(): Bars {
  const lines = Deno.readTextFileSync(GOOG_URL).trim().split(/\r?\n/).slice(1);
  const bars = allocateBars(lines.length);
  lines.forEach((line, i) => {
    const [d, o, h, l, c, v] = line.split(",");
    bars.timestamp[i] = Date.parse(d + "T00:00:00Z");
    bars.open[i] = Number(o);
    bars.high[i] = Number(h);
    bars.low[i] = Number(l);
    bars.close[i] = Number(c);
    bars.volume[i] = Number(v);
  });
  validateBars(bars);
  return bars;
}
