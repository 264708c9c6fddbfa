/**
 * Writes the sample datasets WagYu ships in `data/sample/` (run:
 * `deno run -A market/generate_samples.ts`). Deterministic: the files are committed, and a test
 * checks that regenerating them gives the same bytes.
 *
 * @module
 */
import { generateBars, type GenerateBarsOptions, writeCsv } from "./sample_data.ts";

/** One shipped dataset: its file name and how it is generated. */
export interface SampleSpec {
  file: string;
  description: string;
  n: number;
  options: GenerateBarsOptions;
}

/** The shipped datasets. */
export const SAMPLE_SPECS: readonly SampleSpec[] = [
  {
    file: "SAMPLE_USD_1d.csv",
    description: "Synthetic stock-like asset, 5 years of weekday daily bars (2019–2023)",
    n: 1304,
    options: {
      seed: 4,
      startTime: Date.UTC(2019, 0, 2),
      intervalMs: 86_400_000,
      calendar: "weekdays",
      startPrice: 100,
      drift: 0.1,
      volatility: 0.28,
      volume: 2_500_000,
    },
  },
  {
    file: "SAMPLE_USD_1h.csv",
    description: "Synthetic 24/7 asset, 6 months of hourly bars (2023-07 to 2023-12)",
    n: 4416,
    options: {
      seed: 20230701,
      startTime: Date.UTC(2023, 6, 1),
      intervalMs: 3_600_000,
      startPrice: 250,
      drift: 0.05,
      volatility: 0.45,
      volume: 40_000,
    },
  },
  {
    file: "BTCLIKE_USD_1d.csv",
    description:
      "Synthetic BTC-like 24/7 asset, 5 years of daily bars (2019–2023), high volatility",
    n: 1826,
    options: {
      seed: 20090103,
      startTime: Date.UTC(2019, 0, 1),
      intervalMs: 86_400_000,
      startPrice: 3700,
      drift: 0.35,
      volatility: 0.7,
      garchAlpha: 0.1,
      garchBeta: 0.88,
      volume: 25_000,
    },
  },
];

/** The CSV text of a sample spec. */
export function sampleCsv(spec: SampleSpec): string {
  return writeCsv(generateBars(spec.n, spec.options));
}

if (import.meta.main) {
  const dir = new URL("../data/sample/", import.meta.url);
  Deno.mkdirSync(dir, { recursive: true });
  for (const spec of SAMPLE_SPECS) {
    const text = sampleCsv(spec);
    Deno.writeTextFileSync(new URL(spec.file, dir), text);
    console.log(`${spec.file}: ${spec.n} bars, ${text.length} bytes`);
  }
}
