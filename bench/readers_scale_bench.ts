/**
 * The data readers at 10^7 rows (issue 8, "hostile input: … 10^7 rows"): too big for the test
 * suite on a 2-core machine, so checked here. For each format it writes a 10^7-row file of
 * generated bars to a temporary folder, loads it with `loadBars` and checks the row count and
 * every value of a sample of rows against the generator, or — where a format cannot hold that
 * many rows (a JSON text over V8's string limit) — that the answer is one clear
 * `DataFileError`, not a crash. A truncated copy of the CSV must load its complete rows or fail
 * with a `DataFileError`. Prints time, bytes and the process's memory high-water mark.
 *
 * `deno task bench readers` (`--rows N` to change 10^7).
 *
 * @module
 */
import { allocateBars } from "../engine/bars.ts";
import type { Bars } from "../engine/types.ts";
import { loadBars } from "../market/load_bars.ts";
import { DataFileError } from "../market/data_file_error.ts";
import { writeParquetBytes } from "../market/parquet_codec.ts";

const rowsArg = Deno.args.indexOf("--rows");
const N = rowsArg >= 0 ? Number(Deno.args[rowsArg + 1]) : 10_000_000;
if (!Number.isInteger(N) || N < 2) throw new Error(`--rows must be an integer ≥ 2, got ${N}`);

/** Bar i of the generated series: exact decimal values, so a reader's result is checkable. */
function barAt(i: number): [number, number, number, number, number, number] {
  const t = Date.UTC(2000, 0, 1) + i * 60_000;
  const c = 100 + (i % 1000) / 100; // 100.00 … 109.99
  const o = 100 + ((i * 7) % 1000) / 100;
  return [t, o, Math.max(o, c) + 0.5, Math.min(o, c) - 0.5, c, i % 5000];
}

function vmHwmMb(): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(Deno.readTextFileSync("/proc/self/status"));
  return m ? Number(m[1]) / 1024 : NaN;
}

/** Checks count and 1,000 evenly spaced rows (plus the first and the last) against barAt. */
function check(bars: Bars, n: number, what: string): void {
  if (bars.length !== n) throw new Error(`${what}: ${bars.length} rows, expected ${n}`);
  const cols = [bars.timestamp, bars.open, bars.high, bars.low, bars.close, bars.volume];
  for (let k = 0; k <= 1000; k++) {
    const i = k === 1000 ? n - 1 : Math.floor((k * n) / 1000);
    const want = barAt(i);
    for (let c = 0; c < 6; c++) {
      if (cols[c][i] !== want[c]) {
        throw new Error(`${what}: row ${i} column ${c} is ${cols[c][i]}, expected ${want[c]}`);
      }
    }
  }
}

/** Writes `n` rows produced by `row(i)` to `path`, 100,000 rows per write. */
async function writeRows(
  path: string,
  head: string,
  n: number,
  row: (i: number) => string,
  tail = "",
): Promise<number> {
  const f = await Deno.open(path, { write: true, create: true, truncate: true });
  const enc = new TextEncoder();
  let bytes = 0;
  const put = async (s: string) => {
    const b = enc.encode(s);
    bytes += b.length;
    for (let off = 0; off < b.length;) off += await f.write(b.subarray(off));
  };
  await put(head);
  for (let start = 0; start < n; start += 100_000) {
    const parts: string[] = [];
    for (let i = start; i < Math.min(n, start + 100_000); i++) parts.push(row(i));
    await put(parts.join(""));
  }
  await put(tail);
  f.close();
  return bytes;
}

async function timed<T>(fn: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const t0 = performance.now();
  const value = await fn();
  return { value, ms: performance.now() - t0 };
}

const dir = await Deno.makeTempDir({ prefix: "wagyu_readers_scale_" });
const mb = (b: number) => `${(b / 1e6).toFixed(0)} MB`;
let failures = 0;
try {
  console.log(`Readers at ${N.toLocaleString("en-US")} rows (load ${Deno.loadavg().join(" ")})`);

  // CSV, epoch-ms timestamps.
  const csv = `${dir}/big.csv`;
  const csvBytes = await writeRows(
    csv,
    "timestamp,open,high,low,close,volume\n",
    N,
    (i) => barAt(i).join(",") + "\n",
  );
  {
    const { value, ms } = await timed(() => loadBars(csv));
    check(value.bars, N, "CSV");
    console.log(
      `CSV      ${mb(csvBytes)}: ${N.toLocaleString("en-US")} rows in ${ms.toFixed(0)} ms ` +
        `(${(N / ms / 1000).toFixed(2)} M rows/s), values checked; VmHWM ${
          vmHwmMb().toFixed(0)
        } MB`,
    );
  }

  // The same CSV cut in the middle of a row: the complete rows, or a DataFileError.
  {
    const cut = `${dir}/cut.csv`;
    const all = await Deno.readFile(csv);
    const at = Math.floor(all.length * 0.73);
    await Deno.writeFile(cut, all.subarray(0, at));
    try {
      const { bars } = await loadBars(cut);
      const complete = bars.length;
      check(bars, complete, "truncated CSV");
      console.log(`CSV cut at byte ${at}: ${complete.toLocaleString("en-US")} rows, all correct`);
    } catch (e) {
      if (!(e instanceof DataFileError)) throw e;
      console.log(`CSV cut at byte ${at}: DataFileError "${e.message}"`);
    }
  }
  await Deno.remove(csv);

  // Parquet written by the pure-JS codec.
  {
    const bars = allocateBars(N);
    for (let i = 0; i < N; i++) {
      const b = barAt(i);
      bars.timestamp[i] = b[0];
      bars.open[i] = b[1];
      bars.high[i] = b[2];
      bars.low[i] = b[3];
      bars.close[i] = b[4];
      bars.volume[i] = b[5];
    }
    const pq = `${dir}/big.parquet`;
    const bytes = writeParquetBytes(bars);
    await Deno.writeFile(pq, bytes);
    const { value, ms } = await timed(() => loadBars(pq));
    check(value.bars, N, "Parquet");
    console.log(
      `Parquet  ${mb(bytes.length)}: ${N.toLocaleString("en-US")} rows in ${ms.toFixed(0)} ms, ` +
        `values checked; VmHWM ${vmHwmMb().toFixed(0)} MB`,
    );
    await Deno.remove(pq);
  }

  // JSON, ccxt rows: past ~5·10^6 rows the text is longer than V8's longest string.
  {
    const json = `${dir}/big.json`;
    const bytes = await writeRows(
      json,
      "[",
      N,
      (i) => (i > 0 ? "," : "") + JSON.stringify(barAt(i)),
      "]",
    );
    try {
      const { value, ms } = await timed(() => loadBars(json));
      check(value.bars, N, "JSON");
      console.log(
        `JSON     ${mb(bytes)}: ${N.toLocaleString("en-US")} rows in ${ms.toFixed(0)} ms, ` +
          `values checked; VmHWM ${vmHwmMb().toFixed(0)} MB`,
      );
    } catch (e) {
      if (!(e instanceof DataFileError)) {
        failures++;
        console.log(`JSON     ${mb(bytes)}: FAILED with ${(e as Error).name}: ${e}`);
      } else console.log(`JSON     ${mb(bytes)}: DataFileError "${e.message}"`);
    }
    await Deno.remove(json);
  }
} finally {
  await Deno.remove(dir, { recursive: true });
}
if (failures > 0) Deno.exit(1);
