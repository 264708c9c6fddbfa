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
 * (as epoch seconds it would fall in August 1970, which market data does not).
 */
export function epochToMs(v: number): number {
  const a = Math.abs(v);
  if (a >= 19000101 && a <= 21001231 && Number.isInteger(v)) {
    const y = Math.floor(v / 10000), m = Math.floor(v / 100) % 100, d = v % 100;
    if (m >= 1 && m <= 12 && d >= 1 && d <= DAYS_IN_MONTH[m]) {
      return daysFromCivil(y, m, d) * DAY_MS;
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
 * depend on the machine). Dates spelled with a month name ("Aug 19, 2004") go through
 * `Date.parse` (as UTC); ambiguous all-numeric orders such as 01/02/2020 are refused.
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
      let ms = daysFromCivil(y, m, d) * DAY_MS;
      let i = a + 10;
      if (i === b) return ms;
      const sep = s.charCodeAt(i);
      if ((sep === 84 || sep === 32) && b - i >= 6) {
        const hh = digits(s, i + 1, 2), mm = digits(s, i + 4, 2);
        if (hh < 0 || hh > 24 || s.charCodeAt(i + 3) !== 58 || mm < 0 || mm > 59) return NaN;
        ms += hh * 3_600_000 + mm * 60_000;
        i += 6;
        if (i < b && s.charCodeAt(i) === 58) {
          const ss = digits(s, i + 1, 2);
          if (ss < 0 || ss > 60) return NaN;
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
        const off = (oh * 60 + om) * 60_000;
        return z === 43 ? ms - off : ms + off;
      }
      return NaN;
    }
  }
  if (len === 0) return NaN;
  // Other spellings only when they name the month ("Aug 19, 2004"): all-numeric ones like
  // 01/02/2020 are ambiguous (US or European order), and guessing would give wrong dates.
  const str = s.slice(a, b);
  if (!/[a-z]{3}/i.test(str)) return NaN;
  const zoned = /(UTC|GMT|Z|[+-]\d\d:?\d\d)$/i.test(str);
  const t = Date.parse(zoned ? str : `${str} UTC`);
  return Number.isFinite(t) ? t : NaN;
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
  if (hh < 0 || hh > 24 || mm < 0 || mm > 59 || ss < 0 || ss > 60) return NaN;
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
