import assert from "node:assert/strict";
import { validateBars } from "../../engine/bars.ts";
import {
  DataFileError,
  loadBars,
  loadBarsFromBytes,
  parseCsv,
  parseJson,
  readCsv,
  readJson,
} from "../../market/load_bars.ts";
import { parseNumberRange } from "../../market/parse_csv.ts";
import { mulberry32 } from "../../market/sample_data.ts";

const GOOG = new URL("../../../shared/data/GOOG.csv", import.meta.url).pathname;
const BT = new URL("../../../shared/data/backtrader_2006-day-001.txt", import.meta.url).pathname;

/** An independent, deliberately naive reader for the two reference files. */
function naive(text: string): number[][] {
  return text.trim().split("\n").slice(1).map((line) => {
    const f = line.split(",");
    return [Date.parse(f[0] + "T00:00:00Z"), ...f.slice(1, 6).map(Number)];
  });
}

function assertSame(bars: ReturnType<typeof parseCsv>, rows: number[][]) {
  assert.equal(bars.length, rows.length);
  const cols = [bars.timestamp, bars.open, bars.high, bars.low, bars.close, bars.volume];
  for (let i = 0; i < rows.length; i++) {
    for (let k = 0; k < 6; k++) {
      if (cols[k][i] !== rows[i][k]) {
        assert.fail(`row ${i} col ${k}: ${cols[k][i]} vs ${rows[i][k]}`);
      }
    }
  }
}

Deno.test("loadBars() reads GOOG.csv (unnamed index column): 2148 bars matching a naive reader", async () => {
  const { bars, quality, source } = await loadBars(GOOG);
  assert.equal(source, "GOOG.csv");
  assert.equal(bars.length, 2148);
  // Rows read by hand from the file (lines 2, 1000 and 2149).
  assert.deepEqual(
    [bars.timestamp[0], bars.open[0], bars.high[0], bars.low[0], bars.close[0], bars.volume[0]],
    [Date.UTC(2004, 7, 19), 100, 104.06, 95.96, 100.34, 22351900],
  );
  assert.deepEqual(
    [bars.timestamp[998], bars.open[998], bars.high[998], bars.low[998], bars.close[998]],
    [Date.UTC(2008, 7, 6), 478.37, 489.77, 472.51, 486.34],
  );
  assert.equal(bars.timestamp[2147], Date.UTC(2013, 2, 1));
  assert.equal(bars.close[2147], 806.19);
  assert.equal(bars.volume[2147], 2175400);
  assertSame(bars, naive(await Deno.readTextFile(GOOG)));
  validateBars(bars);
  assert.equal(quality.timeframe, "1d");
  assert.equal(quality.calendar, "weekdays");
  assert.equal(quality.gaps.count, 0);
  assert.equal(quality.duplicatesDropped, 0);
  assert.deepEqual(quality.warnings, []);
});

Deno.test("loadBars() reads the backtrader file (Date column, extra OpenInterest): 255 bars", async () => {
  const { bars, quality } = await loadBars(BT);
  assert.equal(bars.length, 255);
  assert.deepEqual(
    [
      bars.timestamp[98],
      bars.open[98],
      bars.high[98],
      bars.low[98],
      bars.close[98],
      bars.volume[98],
    ],
    [Date.UTC(2006, 4, 23), 3541.56, 3637.39, 3541.56, 3620.28, 0],
  );
  assert.equal(bars.close[254], 4119.94);
  assertSame(bars, naive(await Deno.readTextFile(BT)));
  assert.equal(quality.rowsRead, 255);
  assert.equal(quality.firstTime, Date.UTC(2006, 0, 2));
  assert.equal(quality.lastTime, Date.UTC(2006, 11, 29));
});

Deno.test("parseNumberRange() equals Number() on 20k random decimals and edge forms", () => {
  const rand = mulberry32(99);
  const cases: string[] = [
    "0",
    "-0.5",
    "+3",
    "1e3",
    "1.5E-7",
    "123456789012345678",
    ".5",
    "5.",
    " 42 ",
  ];
  for (let i = 0; i < 20_000; i++) {
    const digits = 1 + Math.floor(rand() * 17);
    const v = (rand() * 10 ** (digits - 6)).toFixed(Math.floor(rand() * 9));
    cases.push(rand() < 0.1 ? `-${v}` : v);
  }
  for (const s of cases) {
    const got = parseNumberRange(s, 0, s.length);
    assert.ok(Object.is(got, Number(s)) || (got === 0 && Number(s) === 0), `${s}: ${got}`);
  }
  assert.ok(Number.isNaN(parseNumberRange("abc", 0, 3)));
  assert.ok(Number.isNaN(parseNumberRange("", 0, 0)));
  assert.ok(Number.isNaN(parseNumberRange("1.2.3", 0, 5)));
});

Deno.test("parseCsv() accepts epoch seconds, epoch ms, ISO with offsets, and YYYYMMDD", () => {
  const s = parseCsv("Timestamp,O,H,L,C,V\n1700000000,1,2,0.5,1.5,10\n1700000060,1,2,0.5,1.5,10\n");
  assert.deepEqual([...s.timestamp], [1_700_000_000_000, 1_700_000_060_000]);
  const ms = parseCsv("time,open,high,low,close,volume\n1700000000000,1,2,0.5,1.5,10\n");
  assert.equal(ms.timestamp[0], 1_700_000_000_000);
  const iso = parseCsv(
    "datetime,open,high,low,close\n" +
      "2024-03-01T10:00:00Z,1,2,0.5,1.5\n" +
      "2024-03-01 11:00:00,1,2,0.5,1.5\n" +
      "2024-03-01T14:30:00+02:00,1,2,0.5,1.5\n" +
      "2024-03-01T13:00:00.250Z,1,2,0.5,1.5\n",
  );
  assert.deepEqual([...iso.timestamp], [
    Date.UTC(2024, 2, 1, 10),
    Date.UTC(2024, 2, 1, 11),
    Date.UTC(2024, 2, 1, 12, 30),
    Date.UTC(2024, 2, 1, 13, 0, 0, 250),
  ]);
  assert.deepEqual([...iso.volume], [0, 0, 0, 0]);
  const ymd = parseCsv("date,open,high,low,close,volume\n20060102,1,2,0.5,1.5,3\n");
  assert.equal(ymd.timestamp[0], Date.UTC(2006, 0, 2));
  const named = parseCsv(
    'date,open,high,low,close\n"Aug 19, 2004",1,2,0.5,1.5\n2004.08.20,1,2,0.5,1.5\n',
  );
  assert.deepEqual([...named.timestamp], [Date.UTC(2004, 7, 19), Date.UTC(2004, 7, 20)]);
});

Deno.test("parseCsv() handles quotes, CRLF, BOM, extra and Adj Close columns, ; delimiters", () => {
  const text = '\uFEFF"Date","Open","High","Low","Close","Adj Close","Volume","Note"\r\n' +
    '2020-01-02,"10.5",11,10,"10.75",99,1000,"a, ""quoted"" note"\r\n' +
    "\r\n" +
    '2020-01-03,10.75,12,10.5,11.5,98,2000,"multi\nline"\r\n';
  const b = parseCsv(text, "q.csv");
  assert.equal(b.length, 2);
  assert.deepEqual([...b.close], [10.75, 11.5]);
  assert.deepEqual([...b.volume], [1000, 2000]);
  const semi = parseCsv("date;open;high;low;close;volume\n2020-01-02;1;2;0.5;1.5;7\n");
  assert.equal(semi.volume[0], 7);
  const tab = parseCsv("date\topen\thigh\tlow\tclose\n2020-01-02\t1\t2\t0.5\t1.5\n");
  assert.equal(tab.close[0], 1.5);
});

Deno.test("parseCsv() reads header-less ccxt dumps and separate Date/Time columns", () => {
  const b = parseCsv("1700000000000,1,2,0.5,1.5,10\n1700000060000,1.5,2,1,1.8,12\n");
  assert.deepEqual([...b.close], [1.5, 1.8]);
  const dt = parseCsv(
    "Date,Time,Open,High,Low,Close,Volume\n2006-01-02,09:30:00,1,2,0.5,1.5,1\n2006-01-02,09:35:00,1,2,0.5,1.5,1\n",
  );
  assert.deepEqual([...dt.timestamp], [Date.UTC(2006, 0, 2, 9, 30), Date.UTC(2006, 0, 2, 9, 35)]);
});

function errorOf(fn: () => unknown): DataFileError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof DataFileError, `expected DataFileError, got ${e}`);
    return e;
  }
  assert.fail("expected an error");
}

Deno.test("parseCsv() rejects bad rows with the file, the 1-based line and the reason", () => {
  const head = "date,open,high,low,close,volume\n2020-01-01,1,2,0.5,1.5,1\n";
  let e = errorOf(() => parseCsv(head + "2020-01-02,1,2,0.5,NaN,1\n", "GOOG.csv"));
  assert.equal(e.message, "GOOG.csv line 3: close is NaN");
  assert.equal(e.row, 3);
  assert.equal(e.file, "GOOG.csv");
  e = errorOf(() => parseCsv(head + "\n\n2020-01-02,1,2,0.5,,1\n", "x.csv"));
  assert.equal(e.message, "x.csv line 5: close is empty");
  e = errorOf(() => parseCsv(head + "2020-01-02,1,2,0.5,1.5x,1\n", "x.csv"));
  assert.equal(e.message, 'x.csv line 3: close "1.5x" is not a number');
  e = errorOf(() => parseCsv(head + "yesterday,1,2,0.5,1.5,1\n", "x.csv"));
  assert.equal(
    e.message,
    'x.csv line 3: time "yesterday" is not a date or epoch number (expected YYYY-MM-DD, ISO 8601 or epoch s/ms)',
  );
  // Day/month order is ambiguous: refused rather than guessed.
  e = errorOf(() => parseCsv(head + "01/02/2020,1,2,0.5,1.5,1\n", "x.csv"));
  assert.match(e.message, /^x\.csv line 3: time "01\/02\/2020" is not a date/);
  e = errorOf(() => parseCsv(head + "2020-01-02,1,1.2,0.5,1.5,1\n", "x.csv"));
  assert.equal(e.message, "x.csv line 3: high 1.2 is below max(open 1, close 1.5)");
  e = errorOf(() => parseCsv(head + "2020-01-02,1,2,-1,1.5,1\n", "x.csv"));
  assert.equal(e.message, "x.csv line 3: low is -1");
  e = errorOf(() => parseCsv(head + "2020-01-02,1,2\n", "x.csv"));
  assert.equal(e.message, "x.csv line 3: expected at least 6 fields, found 3");
  e = errorOf(() => parseCsv("date,open,high,close\n2020-01-01,1,2,1\n", "x.csv"));
  assert.match(e.message, /^x\.csv line 1: missing column low in header/);
  e = errorOf(() => parseCsv("", "empty.csv"));
  assert.equal(e.message, "empty.csv: file is empty (no header row)");
});

Deno.test("readCsv() with repair drops invalid rows and reports them", () => {
  const text = "date,open,high,low,close,volume\n2020-01-01,1,2,0.5,1.5,1\n" +
    "2020-01-02,1,2,0.5,NaN,1\n2020-01-03,1,2,0.5,1.5,-4\n2020-01-04,1,2,0.5,1.5,1\n";
  const { bars, quality } = readCsv(text, "r.csv", { repair: true });
  assert.equal(bars.length, 2);
  assert.deepEqual([...bars.timestamp], [Date.UTC(2020, 0, 1), Date.UTC(2020, 0, 4)]);
  assert.equal(quality.invalidDropped, 2);
  assert.equal(quality.rowsRead, 4);
  assert.deepEqual(quality.warnings.slice(0, 2), [
    "dropped invalid line 3: close is NaN",
    "dropped invalid line 4: volume is -4",
  ]);
});

Deno.test("readCsv() sorts unsorted rows with a warning, or rejects them on request", () => {
  const text = "date,open,high,low,close,volume\n2020-01-03,3,3,3,3,1\n2020-01-01,1,1,1,1,1\n" +
    "2020-01-02,2,2,2,2,1\n";
  const { bars, quality } = readCsv(text, "u.csv");
  assert.deepEqual([...bars.close], [1, 2, 3]);
  assert.equal(quality.sorted, true);
  assert.equal(quality.outOfOrder, 1);
  assert.match(quality.warnings[0], /1 row out of time order \(first at line 3\); sorted by time/);
  const e = errorOf(() => readCsv(text, "u.csv", { onUnsorted: "reject" }));
  assert.equal(
    e.message,
    "u.csv line 3: timestamp 2020-01-01 is before the previous row's 2020-01-03 (rows out of order)",
  );
});

Deno.test("readCsv() drops duplicate timestamps keeping the first, or rejects them", () => {
  const text = "date,open,high,low,close,volume\n2020-01-01,1,1,1,1,1\n2020-01-02,2,2,2,2,1\n" +
    "2020-01-02,9,9,9,9,1\n2020-01-03,3,3,3,3,1\n";
  const { bars, quality } = readCsv(text, "d.csv");
  assert.deepEqual([...bars.close], [1, 2, 3]);
  assert.equal(quality.duplicatesDropped, 1);
  assert.match(
    quality.warnings[0],
    /1 duplicate timestamp dropped, keeping the first \(first at line 4: 2020-01-02\)/,
  );
  const e = errorOf(() => readCsv(text, "d.csv", { onDuplicate: "reject" }));
  assert.equal(e.message, "d.csv line 4: duplicate timestamp 2020-01-02");
  assert.equal(e.row, 4);
});

Deno.test("quality report: hourly 24/7 gaps and inferred timeframe, counted by hand", () => {
  const H = 3_600_000;
  const hours = [0, 1, 2, 5, 6, 7, 8, 20, 21]; // missing 3-4 (2 bars) and 9-19 (11 bars)
  const text = "time,open,high,low,close\n" +
    hours.map((h) => `${Date.UTC(2024, 0, 1) + h * H},1,1,1,1`).join("\n");
  const { quality } = readCsv(text, "h.csv");
  assert.equal(quality.timeframe, "1h");
  assert.equal(quality.intervalMs, H);
  assert.equal(quality.calendar, "24/7");
  assert.equal(quality.gaps.count, 2);
  assert.equal(quality.gaps.missingBars, 13);
  assert.equal(quality.gaps.largestBars, 11);
  assert.equal(quality.gaps.largestMs, 12 * H);
  assert.deepEqual(quality.gaps.largest, {
    from: Date.UTC(2024, 0, 1, 8),
    to: Date.UTC(2024, 0, 1, 20),
    missingBars: 11,
  });
});

Deno.test("quality report: weekday daily data has no gaps for weekends/holidays, one for a missing week", () => {
  const days: string[] = [];
  for (let d = Date.UTC(2024, 0, 1); d < Date.UTC(2024, 2, 1); d += 86_400_000) {
    const dow = new Date(d).getUTCDay();
    if (dow === 0 || dow === 6) continue;
    const iso = new Date(d).toISOString().slice(0, 10);
    if (iso === "2024-01-15") continue; // a holiday
    if (iso >= "2024-02-05" && iso <= "2024-02-09") continue; // a missing week: 5 bars
    days.push(`${iso},1,1,1,1,1`);
  }
  const { quality } = readCsv("date,open,high,low,close,volume\n" + days.join("\n"), "w.csv");
  assert.equal(quality.calendar, "weekdays");
  assert.equal(quality.timeframe, "1d");
  assert.equal(quality.gaps.count, 1);
  assert.equal(quality.gaps.largestBars, 5);
  assert.equal(quality.gaps.largest?.from, Date.UTC(2024, 1, 2));
});

Deno.test("parseJson() reads ccxt rows, case-insensitive objects, wrapped and columnar forms", () => {
  const rows = parseJson("[[1700000000000,1,2,0.5,1.5,10],[1700000060000,1.5,2,1,1.8,12]]");
  assert.deepEqual([...rows.close], [1.5, 1.8]);
  const objs = parseJson(
    '[{"Date":"2020-01-02","OPEN":1,"High":2,"low":0.5,"Close":"1.5","Volume":3},' +
      '{"Date":"2020-01-03","OPEN":1,"High":2,"low":0.5,"Close":1.25,"Volume":4,"extra":true}]',
  );
  assert.deepEqual([...objs.timestamp], [Date.UTC(2020, 0, 2), Date.UTC(2020, 0, 3)]);
  assert.deepEqual([...objs.close], [1.5, 1.25]);
  const wrapped = parseJson('{"data":[[1700000000,1,2,0.5,1.5,10]]}');
  assert.equal(wrapped.timestamp[0], 1_700_000_000_000);
  const columnar = parseJson(
    '{"timestamp":[1700000000000,1700000060000],"open":[1,1],"high":[2,2],"low":[1,1],"close":[1,2]}',
  );
  assert.deepEqual([...columnar.close], [1, 2]);
});

Deno.test("parseJson() names the 1-based record and the reason", () => {
  let e = errorOf(() =>
    parseJson("[[1700000000000,1,2,0.5,1.5,10],[1700000060000,1,2,0.5,null,1]]", "b.json")
  );
  assert.equal(e.message, "b.json record 2: close is null");
  e = errorOf(() =>
    parseJson('[{"time":"2020-01-02","open":1,"high":2,"low":0.5,"close":"x"}]', "b.json")
  );
  assert.equal(e.message, 'b.json record 1: close "x" is not a number');
  e = errorOf(() => parseJson("[1,2", "b.json"));
  assert.match(e.message, /^b\.json: invalid JSON: /);
  e = errorOf(() => parseJson('[{"when":1,"open":1}]', "b.json"));
  assert.match(e.message, /^b\.json record 1: missing keys time, high, low, close/);
  const { bars, quality } = readJson("[[1,1,2,0.5,1.5,1],[2,1,2,0.5,0,1]]", "r.json", {
    repair: true,
  });
  assert.equal(bars.length, 1);
  assert.equal(quality.invalidDropped, 1);
});

Deno.test("loadBars() refuses unknown extensions and missing files with one clear line", async () => {
  await assert.rejects(() => loadBars("/nonexistent/dir/x.csv"), (e: Error) => {
    assert.ok(e instanceof DataFileError);
    assert.match(e.message, /^x\.csv: cannot read \/nonexistent\/dir\/x\.csv: file not found$/);
    return true;
  });
  await assert.rejects(
    () => loadBarsFromBytes(new Uint8Array(1), "x.xlsx"),
    /x\.xlsx: unknown file type \(expected \.csv, \.txt, \.json or \.parquet\)/,
  );
});
