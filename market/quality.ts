/**
 * The data quality report attached to every load: inferred timeframe, calendar, gaps,
 * duplicates, ordering problems and repaired rows.
 *
 * @module
 */
import { formatTime } from "./parse_time.ts";

/** One hole in a series: the bars on each side and how many bars are missing between. */
export interface GapInfo {
  /** Timestamp (ms) of the bar before the gap. */
  from: number;
  /** Timestamp (ms) of the bar after the gap. */
  to: number;
  /** Bars missing between `from` and `to` at the inferred timeframe and calendar. */
  missingBars: number;
}

/** Gap statistics of a series. */
export interface GapReport {
  /** Number of gaps. */
  count: number;
  /** Total missing bars over all gaps. */
  missingBars: number;
  /** Missing bars in the largest gap (0 when none). */
  largestBars: number;
  /** Time span of the largest gap in ms (`to - from`; 0 when none). */
  largestMs: number;
  /** The largest gap, or null. */
  largest: GapInfo | null;
  /** Up to 20 largest gaps, largest first. */
  list: GapInfo[];
}

/** What a load found and did; returned by every reader and shown by the CLI and the API. */
export interface QualityReport {
  /** File name or source label. */
  source: string;
  /** Data rows read from the source (header and blank lines excluded). */
  rowsRead: number;
  /** Bars kept after cleaning. */
  bars: number;
  /** First and last timestamps (ms), null when empty. */
  firstTime: number | null;
  lastTime: number | null;
  /** Inferred bar interval in ms (the most common spacing), null with fewer than 2 bars. */
  intervalMs: number | null;
  /** Inferred timeframe label ("1m", "1h", "1d", "1w", "1M", or e.g. "90s"), null if unknown. */
  timeframe: string | null;
  /** "weekdays" when no bar falls on a Saturday or Sunday (exchange-traded data), else "24/7". */
  calendar: "24/7" | "weekdays";
  /** Holes in the series. On a weekdays calendar, weekends and runs of up to two missing
   * weekdays (holidays) are not gaps. */
  gaps: GapReport;
  /** Rows dropped because their timestamp repeated an earlier row's (the first one is kept). */
  duplicatesDropped: number;
  /** Rows whose timestamp was earlier than the previous row's. */
  outOfOrder: number;
  /** True when the rows had to be sorted by time. */
  sorted: boolean;
  /** Invalid rows dropped because `repair: true` was asked. */
  invalidDropped: number;
  /** Human-readable warnings, one line each. */
  warnings: string[];
}

const MIN = 60_000, HOUR = 3_600_000, DAY = 86_400_000;

/** Names an interval in ccxt's timeframe notation ("1m", "4h", "1d", "1w", "1M"). */
export function timeframeLabel(ms: number): string {
  if (ms >= 28 * DAY && ms <= 31 * DAY) return "1M";
  if (ms % (7 * DAY) === 0) return `${ms / (7 * DAY)}w`;
  if (ms % DAY === 0) return `${ms / DAY}d`;
  if (ms % HOUR === 0) return `${ms / HOUR}h`;
  if (ms % MIN === 0) return `${ms / MIN}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}

/** The most common positive spacing between timestamps (sampled on long series), or null. */
export function inferIntervalMs(ts: Float64Array): number | null {
  const n = ts.length;
  if (n < 2) return null;
  const counts = new Map<number, number>();
  // A sample of up to ~20k spacings spread over the series finds the mode of 1M bars in
  // well under a millisecond and is not fooled by one dense region.
  const step = Math.max(1, Math.floor((n - 1) / 20_000));
  for (let i = 1; i < n; i += step) {
    const d = ts[i] - ts[i - 1];
    if (d > 0) counts.set(d, (counts.get(d) ?? 0) + 1);
  }
  let best = 0, bestCount = 0;
  for (const [d, c] of counts) {
    if (c > bestCount || (c === bestCount && d < best)) {
      best = d;
      bestCount = c;
    }
  }
  return bestCount > 0 ? best : null;
}

function dayOfWeek(dayNumber: number): number {
  return ((dayNumber % 7) + 11) % 7; // 1970-01-01 was a Thursday (4); 0 = Sunday
}

/** Weekdays strictly between day numbers a and b (a < b). */
function weekdaysBetween(a: number, b: number): number {
  let count = 0;
  let d = a + 1;
  const weeks = Math.floor((b - d) / 7);
  count += weeks * 5;
  d += weeks * 7;
  for (; d < b; d++) {
    const w = dayOfWeek(d);
    if (w !== 0 && w !== 6) count++;
  }
  return count;
}

/** Builds the timeframe, calendar and gap parts of a report for sorted, unique timestamps. */
export function analyzeTimestamps(
  ts: Float64Array,
): Pick<QualityReport, "intervalMs" | "timeframe" | "calendar" | "gaps"> {
  const n = ts.length;
  const gaps: GapReport = {
    count: 0,
    missingBars: 0,
    largestBars: 0,
    largestMs: 0,
    largest: null,
    list: [],
  };
  const interval = inferIntervalMs(ts);
  let calendar: "24/7" | "weekdays" = "24/7";
  if (n >= 2 && ts[n - 1] - ts[0] >= 14 * DAY) {
    let weekend = false;
    for (let i = 0; i < n; i++) {
      const w = dayOfWeek(Math.floor(ts[i] / DAY));
      if (w === 0 || w === 6) {
        weekend = true;
        break;
      }
    }
    if (!weekend) calendar = "weekdays";
  }
  if (interval === null) return { intervalMs: null, timeframe: null, calendar, gaps };
  const byCalendarDays = calendar === "weekdays" && interval < 7 * DAY;
  const barsPerDay = interval < DAY ? Math.round(DAY / interval) : 1;
  for (let i = 1; i < n; i++) {
    const d = ts[i] - ts[i - 1];
    if (d < interval * 1.5) continue;
    let missing: number;
    if (byCalendarDays) {
      const da = Math.floor(ts[i - 1] / DAY), db = Math.floor(ts[i] / DAY);
      if (da === db) {
        missing = Math.round(d / interval) - 1;
      } else {
        // Exchange calendars: weekends are closed, and up to two missing weekdays in a row
        // are holidays (Good Friday + Easter Monday, Christmas + Boxing Day, 2007-01-02).
        const wd = weekdaysBetween(da, db);
        if (wd < 3) continue;
        missing = interval >= DAY ? wd : wd * barsPerDay;
      }
    } else {
      missing = Math.round(d / interval) - 1;
    }
    if (missing <= 0) continue;
    gaps.count++;
    gaps.missingBars += missing;
    if (missing > gaps.largestBars || (missing === gaps.largestBars && d > gaps.largestMs)) {
      gaps.largestBars = missing;
      gaps.largestMs = d;
      gaps.largest = { from: ts[i - 1], to: ts[i], missingBars: missing };
    }
    if (gaps.list.length < 20 || missing > gaps.list[gaps.list.length - 1].missingBars) {
      gaps.list.push({ from: ts[i - 1], to: ts[i], missingBars: missing });
      gaps.list.sort((a, b) => b.missingBars - a.missingBars || a.from - b.from);
      if (gaps.list.length > 20) gaps.list.length = 20;
    }
  }
  return { intervalMs: interval, timeframe: timeframeLabel(interval), calendar, gaps };
}

/** A one-paragraph, human-readable summary of a report (for the CLI). */
export function formatQuality(q: QualityReport): string {
  const lines: string[] = [];
  const span = q.firstTime === null
    ? "no bars"
    : `${formatTime(q.firstTime)} → ${formatTime(q.lastTime ?? q.firstTime)}`;
  lines.push(
    `${q.source}: ${q.bars} bars (${q.rowsRead} rows read), ${span}, timeframe ${
      q.timeframe ?? "unknown"
    } (${q.calendar})`,
  );
  if (q.gaps.count > 0 && q.gaps.largest) {
    lines.push(
      `  gaps: ${q.gaps.count} (${q.gaps.missingBars} bars missing; largest ${q.gaps.largestBars} bars, ${
        formatTime(q.gaps.largest.from)
      } → ${formatTime(q.gaps.largest.to)})`,
    );
  } else {
    lines.push("  gaps: none");
  }
  for (const w of q.warnings) lines.push(`  warning: ${w}`);
  return lines.join("\n");
}
