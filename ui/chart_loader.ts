/**
 * chart.js loads in its own chunk after the first render; both chart islands share this one
 * download (started when the bundle's entry runs).
 *
 * @module
 */

/** The chart module (chart.js registered and themed, plus helpers). */
export type ChartModule = typeof import("./chart_setup.ts");

/** Resolves once chart.js is loaded. */
export const chartModule: Promise<ChartModule> = import("./chart_setup.ts");
