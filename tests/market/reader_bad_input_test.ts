/**
 * Bad input the readers used to accept silently (the data-reader audit): each case must be a
 * `DataFileError` naming the file, the line or record and the problem, or read correctly.
 */
import assert from "node:assert/strict";
import pl from "nodejs-polars";
import {
  DataFileError,
  loadBars,
  loadBarsFromBytes,
  readCsv,
  readJson,
} from "../../market/load_bars.ts";
import { writeParquetBytes } from "../../market/parquet_codec.ts";

const H = "time,open,high,low,close,volume\n";
const ROW = ",1,2,0.5,1.5,10\n";
const JAN1 = Date.UTC(2023, 0, 1), DAY = 86_400_000;

function errorOf(f: () => unknown): DataFileError {
  try {
    f();
  } catch (e) {
    assert.ok(e instanceof DataFileError, `expected a DataFileError, got ${e}`);
    return e;
  }
  assert.fail("expected an error, got bars");
}

async function rejection(p: Promise<unknown>): Promise<DataFileError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof DataFileError, `expected a DataFileError, got ${e}`);
    return e;
  }
  assert.fail("expected an error, got bars");
}

const csvError = (body: string, header = H) => errorOf(() => readCsv(header + body, "a.csv"));
const csvTimes = (body: string, header = H) => [...readCsv(header + body, "a.csv").bars.timestamp];

/** Writes a polars frame to `dir` and loads it by path and from bytes (the upload path). */
async function loadBoth(
  dir: string,
  name: string,
  // deno-lint-ignore no-explicit-any
  df: any,
  compression = "uncompressed",
) {
  const path = `${dir}/${name}`;
  df.writeParquet(path, { compression });
  const file = await loadBars(path).catch((e) => e);
  const bytes = await loadBarsFromBytes(await Deno.readFile(path), name).catch((e) => e);
  return [file, bytes];
}

const base = {
  open: [1, 1, 1],
  high: [2, 2, 2],
  low: [0.5, 0.5, 0.5],
  close: [1.5, 1.5, 1.5],
  volume: [10, 10, 10],
};
const SECS = [0, 1, 2].map((k) => (JAN1 + k * DAY) / 1000);

Deno.test("loadBars() reads a plain numeric Parquet `timestamp` column by magnitude (s, ms, µs), by path and from bytes alike", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const want = [JAN1, JAN1 + DAY, JAN1 + 2 * DAY];
    const cases = [
      ["s_i64.parquet", pl.Series("timestamp", SECS, pl.Int64), "uncompressed"],
      ["s_f64.parquet", pl.Series("timestamp", SECS, pl.Float64), "uncompressed"],
      [
        "us_i64.parquet",
        pl.Series("timestamp", SECS.map((s) => s * 1e6), pl.Int64),
        "uncompressed",
      ],
      [
        "ms_i64.parquet",
        pl.Series("timestamp", SECS.map((s) => s * 1e3), pl.Int64),
        "uncompressed",
      ],
      ["s_snappy.parquet", pl.Series("timestamp", SECS, pl.Int64), "snappy"],
      ["time_s.parquet", pl.Series("time", SECS, pl.Int64), "uncompressed"],
      // A TIMESTAMP logical type gives the unit, whatever the magnitude would say.
      [
        "dt_ms.parquet",
        pl.Series("timestamp", SECS.map((s) => s * 1e3), pl.Int64).cast(pl.Datetime("ms")),
        "uncompressed",
      ],
    ] as const;
    for (const [name, ts, compression] of cases) {
      const df = pl.DataFrame([ts, ...Object.entries(base).map(([k, v]) => pl.Series(k, v))]);
      for (const got of await loadBoth(dir, name, df, compression)) {
        assert.ok(!(got instanceof Error), `${name}: ${got}`);
        assert.deepEqual([...got.bars.timestamp], want, name);
      }
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("readers refuse files with no data rows (header-only CSV, empty JSON forms, empty Parquet)", async () => {
  assert.equal(csvError("").message, "a.csv: no data rows");
  assert.equal(csvError("\n\n").message, "a.csv: no data rows");
  for (
    const text of [
      "[]",
      '{"data":[]}',
      '{"time":[],"open":[],"high":[],"low":[],"close":[],"volume":[]}',
    ]
  ) {
    assert.equal(errorOf(() => readJson(text, "a.json")).message, "a.json: no data rows", text);
  }
  // Every row dropped by repair leaves nothing to back-test either.
  const e = errorOf(() => readCsv(H + "2023-01-01,1,2,0.5,0,10\n", "a.csv", { repair: true }));
  assert.match(e.message, /^a\.csv: no valid rows \(all 1 data rows were invalid/);
  const dir = await Deno.makeTempDir();
  try {
    const df = pl.DataFrame([
      pl.Series("timestamp", [], pl.Int64).cast(pl.Datetime("ms")),
      ...Object.keys(base).map((k) => pl.Series(k, [], pl.Float64)),
    ]);
    for (const got of await loadBoth(dir, "empty.parquet", df)) {
      assert.ok(got instanceof DataFileError, String(got));
      assert.equal(got.message, "empty.parquet: no data rows");
    }
    const got = await rejection(
      loadBarsFromBytes(
        writeParquetBytes({
          length: 0,
          timestamp: new Float64Array(0),
          open: new Float64Array(0),
          high: new Float64Array(0),
          low: new Float64Array(0),
          close: new Float64Array(0),
          volume: new Float64Array(0),
        }),
        "js.parquet",
      ),
    );
    assert.equal(got.message, "js.parquet: no data rows");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("readCsv() reads old Mac line ends (a lone CR) as lines, numbering them", () => {
  const text =
    "time,open,high,low,close,volume\r2023-01-01,1,2,0.5,1.5,10\r2023-01-02,1,2,0.5,1.5,10\r";
  const { bars } = readCsv(text, "mac.csv");
  assert.deepEqual([...bars.timestamp], [JAN1, JAN1 + DAY]);
  assert.deepEqual([...bars.volume], [10, 10]);
  const e = errorOf(() => readCsv(text + "2023-01-03,1,2,0.5,x,10\r", "mac.csv"));
  assert.equal(e.message, 'mac.csv line 4: close "x" is not a number');
});

Deno.test("readers refuse February 29 of a non-leap year (ISO and YYYYMMDD), keep leap days", () => {
  assert.equal(
    csvError("2023-02-28" + ROW + "2023-02-29" + ROW + "2023-03-01" + ROW).message,
    'a.csv line 3: time "2023-02-29" is not a date (2023-02 has no day 29)',
  );
  assert.match(
    csvError("20230228" + ROW + "20230229" + ROW).message,
    /^a\.csv line 3: .*no day 29/,
  );
  assert.match(csvError("1900-02-29" + ROW).message, /line 2: .*not a date/);
  const e = errorOf(() => readJson('[["2023-02-29",1,2,0.5,1.5,10]]', "a.json"));
  assert.match(e.message, /^a\.json record 1: time "2023-02-29" is not a date/);
  assert.deepEqual(csvTimes("2024-02-29" + ROW + "20000229" + ROW), [
    Date.UTC(2000, 1, 29),
    Date.UTC(2024, 1, 29),
  ]);
});

Deno.test("readers refuse junk text in the time column, keep month-name dates", () => {
  for (const junk of ["row 12", "Date 5", "abc 1", "May be 2004", "Jan Feb 2004"]) {
    assert.equal(
      csvError(`"${junk}"` + ROW).message,
      `a.csv line 2: time "${junk}" is not a date or epoch number (expected YYYY-MM-DD, ISO 8601 or epoch s/ms)`,
    );
  }
  assert.match(
    errorOf(() => readJson('[["row 12",1,2,0.5,1.5,10]]', "a.json")).message,
    /^a\.json record 1: time "row 12"/,
  );
  assert.deepEqual(
    csvTimes('"Aug 19, 2004"' + ROW + "19 August 2004" + ROW + "01-Jan-2023" + ROW),
    [Date.UTC(2004, 7, 19), Date.UTC(2023, 0, 1)],
  );
  assert.deepEqual(csvTimes('"Mon Jan 02 2023 10:00:00 GMT+0100"' + ROW), [
    Date.UTC(2023, 0, 2, 9),
  ]);
  // V8 would roll Feb 30 into March.
  assert.match(
    csvError('"Feb 30, 2023"' + ROW).message,
    /line 2: time "Feb 30, 2023" is not a date/,
  );
});

Deno.test("readers refuse time zone names other than UTC/GMT/Z", () => {
  for (const t of ["Jan 3, 2023 10:00 EST", "2023-01-03 10:00:00 EST", "Jan 3, 2023 10:00 CET"]) {
    const zone = t.slice(-3);
    assert.equal(
      csvError(`"${t}"` + ROW).message,
      `a.csv line 2: time "${t}" has time zone ${zone}, which is not read (use UTC, GMT, Z or an offset such as +05:00)`,
    );
  }
  const at10 = Date.UTC(2023, 0, 3, 10);
  assert.deepEqual(csvTimes('"Jan 3, 2023 10:00 UTC"' + ROW), [at10]);
  assert.deepEqual(csvTimes('"Jan 3, 2023 10:00 GMT"' + ROW), [at10]);
  assert.deepEqual(csvTimes("2023-01-03T10:00Z" + ROW), [at10]);
});

Deno.test("readers refuse out-of-range hours, seconds and offsets instead of rolling over", () => {
  const cases: [string, RegExp][] = [
    ["2023-01-01T24:30", /hour 24 is out of range/],
    ["2023-01-01T25:00", /hour 25 is out of range/],
    ["2023-01-01T24:00:01", /hour 24 is out of range/],
    ["2023-01-01T10:00:60Z", /second 60 is out of range/],
    ["2023-01-01T10:00:00+99:99", /offset \+99:99 is out of range/],
    ["2023-01-01T10:00:00+15:00", /offset \+15:00 is out of range/],
    ["2023-01-01T10:00:00-05:60", /offset -05:60 is out of range/],
  ];
  for (const [t, why] of cases) {
    const e = csvError(t + ROW);
    assert.match(e.message, new RegExp(`^a\\.csv line 2: time "${t.replace("+", "\\+")}": `), t);
    assert.match(e.message, why, t);
  }
  assert.deepEqual(csvTimes("2023-01-01T24:00" + ROW), [JAN1 + DAY]);
  assert.deepEqual(csvTimes("2023-01-02T24:00:00" + ROW), [JAN1 + 2 * DAY]);
  assert.deepEqual(csvTimes("2023-01-01T10:00:00+14:00" + ROW), [JAN1 - 4 * 3_600_000]);
  const tod = "Date,Time,Open,High,Low,Close,Volume\n";
  assert.match(
    csvError("2023-01-01,24:30,1,2,0.5,1.5,10\n", tod).message,
    /line 2: time of day "24:30": hour 24/,
  );
  assert.match(csvError("2023-01-01,10:00:60,1,2,0.5,1.5,10\n", tod).message, /second 60/);
});

Deno.test("readers refuse timestamps outside 1900-2200 with the row named", async () => {
  const why = "is outside 1900-01-01 to 2200-01-01";
  for (
    const [t, shown] of [["1e300", "1e\\+294 ms"], ["9e15", "2255-"], ["99999999999", "5138-"]]
  ) {
    const e = csvError("2023-01-01" + ROW + t + ROW);
    assert.match(e.message, new RegExp(`^a\\.csv line 3: timestamp ${shown}.* ${why}`), t);
  }
  assert.match(
    csvError("1899-12-31" + ROW).message,
    new RegExp(`line 2: timestamp 1899-12-31 ${why}`),
  );
  const e = errorOf(() => readJson("[[1e300,1,2,0.5,1.5,10]]", "a.json"));
  assert.match(e.message, new RegExp(`^a\\.json record 1: timestamp .* ${why}`));
  const one = (v: number) => new Float64Array([v]);
  const bars = {
    length: 1,
    timestamp: one(8e15),
    open: one(1),
    high: one(2),
    low: one(0.5),
    close: one(1.5),
    volume: one(1),
  };
  const p = await rejection(loadBarsFromBytes(writeParquetBytes(bars), "far.parquet"));
  assert.match(p.message, new RegExp(`^far\\.parquet row 1: timestamp .* ${why}`));
});

Deno.test("readJson() columnar form refuses a column that is not an array", () => {
  const rest = '"open":[1],"high":[2],"low":[0.5],"close":[1.5]';
  for (
    const [v, got] of [["null", "null"], ["5", "5"], ['"abc"', '"abc"'], ['{"a":1}', "an object"]]
  ) {
    const e = errorOf(() => readJson(`{"time":${v},${rest}}`, "c.json"));
    assert.equal(e.message, `c.json: column time must be an array, got ${got}`);
  }
  const e = errorOf(() => readJson(`{"time":[1672531200],${rest},"volume":5}`, "c.json"));
  assert.equal(e.message, "c.json: column volume must be an array, got 5");
});

Deno.test("readJson() refuses a record without the volume the others have; no volume at all is volume 0", () => {
  let e = errorOf(() =>
    readJson(
      '[{"time":"2023-01-01","open":1,"high":2,"low":0.5,"close":1.5,"volume":10},' +
        '{"time":"2023-01-02","open":1,"high":2,"low":0.5,"close":1.5}]',
      "v.json",
    )
  );
  assert.equal(e.message, "v.json record 2: volume is missing");
  // Also when only a later record has one, and in ccxt rows.
  e = errorOf(() =>
    readJson(
      '[{"time":"2023-01-01","open":1,"high":2,"low":0.5,"close":1.5},' +
        '{"time":"2023-01-02","open":1,"high":2,"low":0.5,"close":1.5,"volume":10}]',
      "v.json",
    )
  );
  assert.equal(e.message, "v.json record 1: volume is missing");
  e = errorOf(() =>
    readJson("[[1672531200000,1,2,0.5,1.5,10],[1672617600000,1,2,0.5,1.5]]", "v.json")
  );
  assert.equal(e.message, "v.json record 2: volume is missing");
  // As in CSV without a volume column: volume 0 and a warning.
  const { bars, quality } = readJson(
    '[{"time":"2023-01-01","open":1,"high":2,"low":0.5,"close":1.5},' +
      '{"time":"2023-01-02","open":1,"high":2,"low":0.5,"close":1.5}]',
    "v.json",
  );
  assert.deepEqual([...bars.volume], [0, 0]);
  assert.ok(quality.warnings.includes("no volume key; volume set to 0"));
  const ccxt = readJson("[[1672531200000,1,2,0.5,1.5],[1672617600000,1,2,0.5,1.5]]", "v.json");
  assert.deepEqual([...ccxt.bars.volume], [0, 0]);
  const csv = readCsv("time,open,high,low,close\n2023-01-01,1,2,0.5,1.5\n", "v.csv");
  assert.deepEqual([...csv.bars.volume], [0]);
  assert.ok(csv.quality.warnings.includes("no volume column; volume set to 0"));
});

Deno.test("readers refuse two columns for one role (CSV, JSON keys, Parquet)", async () => {
  assert.equal(
    csvError("2023-01-01,1,2,0.5,1.5,1.9,10\n", "time,open,high,low,close,close,volume\n").message,
    'a.csv line 1: duplicate column for close: columns 5 ("close") and 6 ("close")',
  );
  assert.equal(
    csvError("2023-01-01,1,2,0.5,1.5,1.9,10\n", "time,open,high,low,Close,close,volume\n").message,
    'a.csv line 1: duplicate column for close: columns 5 ("Close") and 6 ("close")',
  );
  assert.match(
    csvError("2023-01-01,2023-01-02,1,2,0.5,1.5\n", "time,Time,open,high,low,close\n").message,
    /duplicate column for time: columns 1 \("time"\) and 2 \("Time"\)/,
  );
  // Aliases of one role are not duplicates, nor are unnamed columns.
  assert.equal(
    csvTimes("1672531200,2023-01-01,1,2,0.5,1.5\n", "timestamp,date,open,high,low,close\n")[0],
    JAN1,
  );
  assert.equal(csvTimes("0,2023-01-01,1,2,0.5,1.5,\n", ",time,open,high,low,close,\n")[0], JAN1);
  let e = errorOf(() =>
    readJson('[{"time":"2023-01-01","open":1,"high":2,"low":0.5,"Close":9,"close":1.5}]', "d.json")
  );
  assert.equal(
    e.message,
    'd.json record 1: duplicate key for close: keys 5 ("Close") and 6 ("close")',
  );
  e = errorOf(() =>
    readJson(
      '{"time":[1672531200],"open":[1],"high":[2],"low":[0.5],"Close":[9],"close":[1.5]}',
      "d.json",
    )
  );
  assert.equal(
    e.message,
    'd.json: duplicate column for close: columns 5 ("Close") and 6 ("close")',
  );
  const dir = await Deno.makeTempDir();
  try {
    const df = pl.DataFrame([
      pl.Series("timestamp", SECS.map((s) => s * 1000), pl.Int64),
      pl.Series("Close", [9, 9, 9]),
      ...Object.entries(base).map(([k, v]) => pl.Series(k, v)),
    ]);
    for (const got of await loadBoth(dir, "dup.parquet", df)) {
      assert.ok(got instanceof DataFileError, String(got));
      assert.equal(
        got.message,
        'dup.parquet: duplicate column for close: columns 2 ("Close") and 6 ("close")',
      );
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("readers refuse hex, binary and octal numbers, keep decimal and exponent syntax", () => {
  assert.equal(
    csvError("2023-01-01,0x10,0x20,0x8,0x10,10\n").message,
    'a.csv line 2: open "0x10" is not a number',
  );
  assert.equal(
    csvError("2023-01-01,1,2,0.5,1.5,0b101\n").message,
    'a.csv line 2: volume "0b101" is not a number',
  );
  assert.equal(
    csvError("2023-01-01,1,2,0.5,0o7,1\n").message,
    'a.csv line 2: close "0o7" is not a number',
  );
  assert.match(
    csvError("0x63b0cd00,1,2,0.5,1.5,1\n").message,
    /line 2: time "0x63b0cd00" is not a date/,
  );
  const e = errorOf(() => readJson('[[1672531200000,"0x1",2,0.5,1.5,10]]', "h.json"));
  assert.equal(e.message, 'h.json record 1: open "0x1" is not a number');
  const { bars } = readCsv(H + "2023-01-01,1e0,2.0E+0,.5,1.5e-0,1234567890123456789\n", "a.csv");
  assert.deepEqual([bars.open[0], bars.high[0], bars.low[0], bars.close[0]], [1, 2, 0.5, 1.5]);
  assert.equal(bars.volume[0], 1234567890123456789);
  assert.equal(readJson('[[1672531200000,"1e0",2,0.5," 1.5 ",10]]', "h.json").bars.close[0], 1.5);
});

Deno.test("readers name a bad time of day in a separate Time column as such, not the date", () => {
  const head = "Date,Time,Open,High,Low,Close,Volume\n";
  assert.equal(
    csvError("2023-01-01,10:00,1,2,0.5,1.5,10\n2023-01-01,25:00,1,2,0.5,1.5,10\n", head).message,
    'a.csv line 3: time of day "25:00": hour 25 is out of range (00-23; 24 only as 24:00, the end of the day)',
  );
  assert.equal(
    csvError("2023-01-01,ten,1,2,0.5,1.5,10\n", head).message,
    'a.csv line 2: time of day "ten" is not HH:MM[:SS]',
  );
  const e = errorOf(() =>
    readJson(
      '[{"Date":"2023-01-01","Time":"25:00","Open":1,"High":2,"Low":0.5,"Close":1.5}]',
      "t.json",
    )
  );
  assert.match(e.message, /^t\.json record 1: time of day "25:00": hour 25 is out of range/);
  assert.deepEqual(csvTimes("2023-01-01,10:30,1,2,0.5,1.5,10\n", head), [JAN1 + 10.5 * 3_600_000]);
});
