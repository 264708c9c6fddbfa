/**
 * Allocation-free timestamp parsing for the readers: ISO dates and date-times, epoch numbers
 * in seconds / milliseconds / microseconds / nanoseconds, and compact `YYYYMMDD` dates.
 *
 * @module
 */

/** Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's `days_from_civil`). */
export function daysFromCivil(y: number, m: number, d: number): number {
  y -= m <= 2 ? 1 : 0;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

const DAY_MS = 86_400_000;
const DAYS_IN_MONTH = [0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** Whether day `d` exists in month `m` (1-12) of year `y`: February 29 only in leap years. */
function isRealDay(y: number, m: number, d: number): boolean {
  if (m < 1 || m > 12 || d < 1 || d > DAYS_IN_MONTH[m]) return false;
  return m !== 2 || d < 29 || (y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0));
}

/** Earliest timestamp a reader accepts (1900-01-01T00:00Z, ms). */
export const MIN_TIME_MS = -2_208_988_800_000;
/** Latest timestamp a reader accepts (2200-01-01T00:00Z, ms). */
export const MAX_TIME_MS = 7_258_118_400_000;
/** The accepted range as users read it, for messages. */
export const TIME_RANGE_TEXT = "1900-01-01 to 2200-01-01";

function digits(s: string, i: number, n: number): number {
  let v = 0;
  for (let k = 0; k < n; k++) {
    const c = s.charCodeAt(i + k) - 48;
    if (c < 0 || c > 9) return -1;
    v = v * 10 + c;
  }
  return v;
}

/**
 * Converts an epoch number to ms, choosing the unit by magnitude: |v| < 1e11 is seconds
 * (1e11 s is the year 5138, while 1e11 ms is 1973), < 1e14 ms, < 1e17 µs, else ns. An
 * integer that reads as a valid `YYYYMMDD` date between 1900 and 2100 is taken as that date
 * (as epoch seconds it would fall in August 1970, which market data does not). One that is
 * shaped like such a date but names a day that does not exist (20230229, 20230431) is NaN:
 * it is a typo'd date, and reading it as 1970 seconds would hide that.
 */
export function epochToMs(v: number): number {
  const a = Math.abs(v);
  if (a >= 19000101 && a <= 21001231 && Number.isInteger(v)) {
    const y = Math.floor(v / 10000), m = Math.floor(v / 100) % 100, d = v % 100;
    if (m >= 1 && m <= 12 && d >= 1 && d <= 31) {
      return isRealDay(y, m, d) ? daysFromCivil(y, m, d) * DAY_MS : NaN;
    }
  }
  if (a < 1e11) return v * 1000;
  if (a < 1e14) return v;
  if (a < 1e17) return v / 1000;
  return v / 1e6;
}

/**
 * Parses `s[a, b)` as an ISO-8601-like date or date-time and returns ms since the epoch, or
 * NaN. Accepts `YYYY-MM-DD` (also `/` or `.` separators), then optionally `T` or a space and
 * `HH:MM[:SS[.fff…]]`, then optionally `Z` or `±HH[:MM]`. No offset means UTC (market data
 * files almost always carry exchange or UTC dates; local-time guessing would make results
 * depend on the machine). Hours run 00-23 (24:00 exactly is the end of the day), seconds
 * 00-59, offsets up to ±14:59; a day that does not exist (2023-02-29) is NaN. Dates spelled
 * with an English month name and a 4-digit year ("Aug 19, 2004") go through `Date.parse`
 * (as UTC; see `parseMonthName`); ambiguous all-numeric orders such as 01/02/2020 are
 * refused.
 */
export function parseIsoTime(s: string, a: number, b: number): number {
  while (a < b && s.charCodeAt(a) === 32) a++;
  while (b > a && s.charCodeAt(b - 1) === 32) b--;
  const len = b - a;
  if (len >= 10) {
    const y = digits(s, a, 4), m = digits(s, a + 5, 2), d = digits(s, a + 8, 2);
    const s1 = s.charCodeAt(a + 4), s2 = s.charCodeAt(a + 7);
    if (
      y >= 0 && m >= 1 && m <= 12 && d >= 1 && d <= DAYS_IN_MONTH[m] && s1 === s2 &&
      (s1 === 45 || s1 === 47 || s1 === 46)
    ) {
      if (m === 2 && d === 29 && !isRealDay(y, m, d)) return NaN;
      let ms = daysFromCivil(y, m, d) * DAY_MS;
      let i = a + 10;
      if (i === b) return ms;
      const sep = s.charCodeAt(i);
      if ((sep === 84 || sep === 32) && b - i >= 6) {
        const hh = digits(s, i + 1, 2), mm = digits(s, i + 4, 2);
        if (hh < 0 || hh > 24 || s.charCodeAt(i + 3) !== 58 || mm < 0 || mm > 59) return NaN;
        // 24:00 is the end of the day; 24:30 would silently roll into the next one.
        if (hh === 24 && mm !== 0) return NaN;
        ms += hh * 3_600_000 + mm * 60_000;
        i += 6;
        if (i < b && s.charCodeAt(i) === 58) {
          const ss = digits(s, i + 1, 2);
          if (ss < 0 || ss > 59 || (hh === 24 && ss !== 0)) return NaN;
          ms += ss * 1000;
          i += 3;
          if (i < b && (s.charCodeAt(i) === 46 || s.charCodeAt(i) === 44)) {
            i++;
            let scale = 100, frac = 0;
            while (i < b) {
              const c = s.charCodeAt(i) - 48;
              if (c < 0 || c > 9) break;
              frac += c * scale;
              scale /= 10;
              i++;
            }
            if (hh === 24 && frac !== 0) return NaN;
            ms += Math.round(frac * 1000) / 1000;
          }
        }
      }
      if (i === b) return ms;
      const z = s.charCodeAt(i);
      if ((z === 90 || z === 122) && i + 1 === b) return ms;
      if (z === 43 || z === 45) {
        const oh = digits(s, i + 1, 2);
        let j = i + 3;
        if (j < b && s.charCodeAt(j) === 58) j++;
        const om = j < b ? digits(s, j, 2) : 0;
        if (oh < 0 || om < 0 || (j < b && j + 2 !== b) || (j >= b && j !== b)) return NaN;
        if (oh > 14 || om > 59) return NaN; // real offsets run from -12:00 to +14:00
        const off = (oh * 60 + om) * 60_000;
        return z === 43 ? ms - off : ms + off;
      }
      return NaN;
    }
  }
  if (len === 0) return NaN;
  return parseMonthName(s.slice(a, b));
}

const MONTHS = [
  "jan",
  "feb",
  "mar",
  "apr",
  "may",
  "jun",
  "jul",
  "aug",
  "sep",
  "oct",
  "nov",
  "dec",
];
const MONTH_WORDS = new Map<string, number>();
[
  "january",
  "february",
  "march",
  "april",
  "may",
  "june",
  "july",
  "august",
  "september",
  "october",
  "november",
  "december",
].forEach((full, k) => {
  MONTH_WORDS.set(full, k + 1);
  MONTH_WORDS.set(MONTHS[k], k + 1);
});
MONTH_WORDS.set("sept", 9);
const WEEKDAY_WORDS = new Set(
  ["mon", "tue", "tues", "wed", "thu", "thur", "thurs", "fri", "sat", "sun"].concat(
    ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"],
  ),
);
/** Words `Date.parse` may see besides the month and weekday: UTC markers and the 12-hour clock. */
const OTHER_WORDS = new Set(["utc", "gmt", "z", "am", "pm"]);

/**
 * The fallback for dates spelled with a month name ("Aug 19, 2004", "19 August 2004 10:00
 * GMT"). V8's `Date.parse` is lenient: it turns "row 12" into 2001-12-01 and ignores zone
 * names such as EST, so the text must first prove it is a date: exactly one English month
 * name, a 4-digit year, and no other words than a weekday, AM/PM and UTC/GMT/Z. An offset
 * (`+05:30`, `GMT+0100`) must be a real one; without one the text is UTC, and then the parsed
 * month must be the named one (V8 rolls Feb 30 into March). Only reached for text the ISO and
 * epoch paths refused, so its regexes cost nothing on the common paths.
 */
function parseMonthName(str: string): number {
  const words = str.toLowerCase().match(/[a-z]+/g);
  if (!words || !/(^|[^0-9])[0-9]{4}([^0-9]|$)/.test(str)) return NaN;
  let month = 0;
  for (const w of words) {
    const m = MONTH_WORDS.get(w);
    if (m !== undefined) {
      if (month !== 0) return NaN;
      month = m;
    } else if (!WEEKDAY_WORDS.has(w) && !OTHER_WORDS.has(w)) return NaN;
  }
  if (month === 0) return NaN;
  // An offset follows a clock reading; "01-Jan-2023" ends in "-2023" too.
  const off = /\d:\d\d(?::\d\d(?:\.\d+)?)?\s*(?:GMT|UTC)?\s*[+-](\d\d):?(\d\d)$/i.exec(str);
  if (off && (Number(off[1]) > 14 || Number(off[2]) > 59)) return NaN;
  const zoned = off !== null || /(UTC|GMT|Z)$/i.test(str);
  const t = Date.parse(zoned ? str : `${str} UTC`);
  if (!Number.isFinite(t)) return NaN;
  if (!off && new Date(t).getUTCMonth() + 1 !== month) return NaN;
  return t;
}

/**
 * Why a time text that `parseIsoTime` refused is not a date, for the reader's message: a zone
 * name, an hour, minute, second or offset out of range, a day that does not exist, or the
 * general expectation. Called only on the error path.
 */
export function explainBadTime(raw: string): string {
  const q = JSON.stringify(raw);
  const zone = /[0-9.]\s*([A-Za-z]{2,5})$/.exec(raw)?.[1];
  if (zone && !/^(UTC|GMT|AM|PM)$/i.test(zone) && !MONTH_WORDS.has(zone.toLowerCase())) {
    return `time ${q} has time zone ${zone}, which is not read (use UTC, GMT, Z or an offset such as +05:00)`;
  }
  const ymd = /^(\d{4})([-/.]?)(\d\d)\2(\d\d)/.exec(raw);
  if (ymd) {
    const y = Number(ymd[1]), m = Number(ymd[3]), d = Number(ymd[4]);
    if (m >= 1 && m <= 12 && d >= 1 && !isRealDay(y, m, d)) {
      return `time ${q} is not a date (${y}-${ymd[3]} has no day ${d})`;
    }
    const hms = /^.{8,10}[T ](\d\d):(\d\d)(?::(\d\d))?/.exec(raw);
    if (hms) {
      const why = explainClock(hms[1], hms[2], hms[3]);
      if (why) return `time ${q}: ${why}`;
    }
    const o = /[+-](\d\d):?(\d\d)?$/.exec(raw);
    if (o && raw.length > 16 && (Number(o[1]) > 14 || Number(o[2] ?? 0) > 59)) {
      return `time ${q}: offset ${o[0]} is out of range (at most ±14:59)`;
    }
  }
  return `time ${q} is not a date or epoch number (expected YYYY-MM-DD, ISO 8601 or epoch s/ms)`;
}

/** What is out of range in a clock reading, or "" (hours 0-23 or 24:00, minutes/seconds 0-59). */
function explainClock(hh: string, mm: string, ss: string | undefined): string {
  const h = Number(hh), m = Number(mm), s = Number(ss ?? 0);
  if (h > 24 || (h === 24 && (m > 0 || s > 0))) {
    return `hour ${hh} is out of range (00-23; 24 only as 24:00, the end of the day)`;
  }
  if (m > 59) return `minute ${mm} is out of range (00-59)`;
  if (s > 59) return `second ${ss} is out of range (00-59)`;
  return "";
}

/** Why a time of day that `parseTimeOfDay` refused is not one (for the reader's message). */
export function explainBadTimeOfDay(raw: string): string {
  const q = JSON.stringify(raw);
  const hms = /^(\d\d):?(\d\d)(?::?(\d\d))?$/.exec(raw);
  const why = hms ? explainClock(hms[1], hms[2], hms[3]) : "";
  return why ? `time of day ${q}: ${why}` : `time of day ${q} is not HH:MM[:SS]`;
}

/** Parses a time of day `HH:MM[:SS]` or `HHMMSS` / `HHMM` into ms since midnight, or NaN. */
export function parseTimeOfDay(s: string, a: number, b: number): number {
  while (a < b && s.charCodeAt(a) === 32) a++;
  while (b > a && s.charCodeAt(b - 1) === 32) b--;
  const len = b - a;
  let hh = -1, mm = -1, ss = 0;
  if (len >= 4 && s.charCodeAt(a + 2) === 58) {
    hh = digits(s, a, 2);
    mm = digits(s, a + 3, 2);
    if (len >= 8 && s.charCodeAt(a + 5) === 58) ss = digits(s, a + 6, 2);
    else if (len !== 5) return NaN;
  } else if (len === 6 || len === 4) {
    hh = digits(s, a, 2);
    mm = digits(s, a + 2, 2);
    if (len === 6) ss = digits(s, a + 4, 2);
  }
  if (hh < 0 || hh > 24 || mm < 0 || mm > 59 || ss < 0 || ss > 59) return NaN;
  if (hh === 24 && (mm !== 0 || ss !== 0)) return NaN; // only 24:00 (the end of the day)
  return hh * 3_600_000 + mm * 60_000 + ss * 1000;
}

/** Formats ms as ISO text for messages (date only when at midnight UTC). */
export function formatTime(t: number): string {
  if (!Number.isFinite(t)) return String(t);
  const d = new Date(t);
  if (Number.isNaN(d.getTime())) return String(t);
  const iso = d.toISOString();
  return t % DAY_MS === 0 ? iso.slice(0, 10) : iso.replace(".000Z", "Z");
}
