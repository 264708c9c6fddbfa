/**
 * `deno task convert <in> <out.parquet>`: reads a CSV, JSON or Parquet file of OHLCV bars
 * (with the same checks and quality report as every load) and writes it as Parquet (or CSV
 * when `out` ends in .csv), atomically. Exit codes: 0 ok, 2 bad input.
 *
 * @module
 */
import { writeParquetBytes } from "../market/parquet_codec.ts";
import { DataFileError, formatQuality, loadBars } from "../market/load_bars.ts";
import { writeCsv } from "../market/sample_data.ts";

const HELP = `Usage: deno task convert <in> <out.parquet|out.csv> [options]

Converts OHLCV bars from CSV, JSON or Parquet to Parquet (timestamp as UTC milliseconds,
open/high/low/close/volume as float64; readable by nodejs-polars, pandas, DuckDB) or CSV.

Options:
  --repair            drop invalid rows (reported) instead of failing on the first one
  --reject-unsorted   fail on rows out of time order (default: sort them, with a warning)
  --reject-duplicates fail on repeated timestamps (default: keep the first, with a warning)
  --help              show this help

Examples:
  deno task convert data/sample/SAMPLE_USD_1h.csv /tmp/sample.parquet
  deno task convert prices.json prices.csv --repair

Exit codes:
  0  ok
  1  failure (e.g. the output cannot be written)
  2  bad input (usage, an unreadable input file, an invalid row)
`;

/** Runs the CLI; returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  const flags = new Set(argv.filter((a) => a.startsWith("--")));
  const pos = argv.filter((a) => !a.startsWith("--"));
  if (flags.has("--help")) {
    console.log(HELP);
    return 0;
  }
  const known = ["--repair", "--reject-unsorted", "--reject-duplicates"];
  const unknown = [...flags].find((f) => !known.includes(f));
  if (unknown) {
    console.error(`convert: unknown option ${unknown} (see --help)`);
    return 2;
  }
  if (pos.length !== 2) {
    console.error(
      `convert: expected <in> <out.parquet>, got ${pos.length} argument(s) (see --help)`,
    );
    return 2;
  }
  const [input, output] = pos;
  const outLower = output.toLowerCase();
  if (!outLower.endsWith(".parquet") && !outLower.endsWith(".csv")) {
    console.error(`convert: output must end in .parquet or .csv, got ${output}`);
    return 2;
  }
  try {
    const { bars, quality } = await loadBars(input, {
      repair: flags.has("--repair"),
      onUnsorted: flags.has("--reject-unsorted") ? "reject" : "sort",
      onDuplicate: flags.has("--reject-duplicates") ? "reject" : "drop",
    });
    const bytes = outLower.endsWith(".csv")
      ? new TextEncoder().encode(writeCsv(bars))
      : writeParquetBytes(bars);
    const tmp = `${output}.tmp-${Deno.pid}`;
    await Deno.writeFile(tmp, bytes);
    await Deno.rename(tmp, output);
    console.error(formatQuality(quality));
    console.error(`wrote ${bars.length} bars to ${output} (${bytes.length} bytes)`);
    return 0;
  } catch (e) {
    if (e instanceof DataFileError) {
      console.error(`convert: ${e.message}`);
      return 2;
    }
    throw e;
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
