/**
 * A fast CSV reader for OHLCV files: one pass over the string with `indexOf` and
 * `charCodeAt`, numbers parsed in place (no substring or object per row), values written
 * straight into typed arrays.
 *
 * @module
 */
import { assignRoles, duplicateColumn, missingRoles } from "./column_roles.ts";
import { BarsBuilder, type CleanBars, type CleanOptions } from "./bars_builder.ts";
import {
  epochToMs,
  explainBadTime,
  explainBadTimeOfDay,
  parseIsoTime,
  parseTimeOfDay,
} from "./parse_time.ts";

const POW10 = [
  1,
  1e1,
  1e2,
  1e3,
  1e4,
  1e5,
  1e6,
  1e7,
  1e8,
  1e9,
  1e10,
  1e11,
  1e12,
  1e13,
  1e14,
  1e15,
  1e16,
  1e17,
  1e18,
  1e19,
  1e20,
  1e21,
  1e22,
];

/**
 * Parses `s[a, b)` as a decimal number, or NaN. Plain decimals with ≤ 15 significant digits
 * take the exact fast path (integer mantissa / power of ten, both exact in a double, so the
 * division is correctly rounded and equals `Number(text)`); other decimal or exponent
 * syntax (long mantissas, `1.5e3`) goes through `Number`. Anything else is NaN, including
 * what `Number` would also accept: `0x10`, `0b101`, `0o7`, `Infinity` (a price written that
 * way is a broken export, not a number).
 */
export function parseNumberRange(s: string, a: number, b: number): number {
  while (a < b && s.charCodeAt(a) <= 32) a++;
  while (b > a && s.charCodeAt(b - 1) <= 32) b--;
  if (a >= b) return NaN;
  let i = a;
  let c = s.charCodeAt(i);
  const neg = c === 45;
  if (neg || c === 43) i++;
  let mant = 0, nDigits = 0, frac = 0, dot = false;
  for (; i < b; i++) {
    c = s.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      mant = mant * 10 + (c - 48);
      nDigits++;
      if (dot) frac++;
    } else if (c === 46 && !dot) {
      dot = true;
    } else break;
  }
  if (i === b && nDigits > 0 && nDigits <= 15) {
    const v = frac === 0 ? mant : mant / POW10[frac];
    return neg ? -v : v;
  }
  return isDecimalSyntax(s, a, b) ? Number(s.slice(a, b)) : NaN;
}

/** Whether `s[a, b)` is `[+-]digits[.digits][(e|E)[+-]digits]` (".5" and "5." included). */
function isDecimalSyntax(s: string, a: number, b: number): boolean {
  let i = a, n = 0, c = s.charCodeAt(i);
  if (c === 43 || c === 45) i++;
  for (; i < b && (c = s.charCodeAt(i)) >= 48 && c <= 57; i++) n++;
  if (i < b && s.charCodeAt(i) === 46) {
    for (i++; i < b && (c = s.charCodeAt(i)) >= 48 && c <= 57; i++) n++;
  }
  if (n === 0) return false;
  if (i < b && ((c = s.charCodeAt(i)) === 101 || c === 69)) {
    i++;
    c = s.charCodeAt(i);
    if (c === 43 || c === 45) i++;
    let e = 0;
    for (; i < b && (c = s.charCodeAt(i)) >= 48 && c <= 57; i++) e++;
    if (e === 0) return false;
  }
  return i === b;
}

/** Parses a time field: ISO text, or an epoch number (unit by magnitude; see `epochToMs`). */
function parseTimeField(s: string, a: number, b: number): number {
  while (a < b && s.charCodeAt(a) <= 32) a++;
  while (b > a && s.charCodeAt(b - 1) <= 32) b--;
  if (a >= b) return NaN;
  if (b - a >= 10) {
    const sep = s.charCodeAt(a + 4);
    if (sep === 45 || sep === 47 || sep === 46 && s.charCodeAt(a + 7) === 46) {
      return parseIsoTime(s, a, b);
    }
  }
  const v = parseNumberRange(s, a, b);
  if (!Number.isNaN(v)) return epochToMs(v);
  return parseIsoTime(s, a, b);
}

function detectDelimiter(header: string): number {
  if (header.includes(",")) return 44;
  if (header.includes(";")) return 59;
  if (header.includes("\t")) return 9;
  if (header.includes("|")) return 124;
  return 44;
}

function splitHeader(line: string, delim: string): string[] {
  const out: string[] = [];
  let cur = "", q = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (q) {
      if (ch === '"' && line[i + 1] === '"') {
        cur += '"';
        i++;
      } else if (ch === '"') q = false;
      else cur += ch;
    } else if (ch === '"') q = true;
    else if (ch === delim) {
      out.push(cur);
      cur = "";
    } else cur += ch;
  }
  out.push(cur);
  return out;
}

const ROLE_NAMES = ["time", "open", "high", "low", "close", "volume", "time of day"];

/**
 * Reads OHLCV rows from CSV text into bars plus a quality report. Headers are
 * case-insensitive (time/timestamp/date/datetime, open, high, low, close, volume; others such
 * as "Adj Close" are ignored); an unnamed first column (pandas' index) is the time; a file
 * with no header row is read as `timestamp,open,high,low,close[,volume]`. Quoted fields, CRLF,
 * `;`/tab delimiters, old Mac line ends (a lone CR) and a BOM are accepted. Errors name the
 * 1-based file line; a file without data rows, or whose header names a column of one role
 * twice, is an error.
 */
export function readCsv(text: string, name = "data.csv", opts: CleanOptions = {}): CleanBars {
  // Old Mac files end lines with a lone CR: the reader splits on LF only, so it would take
  // the whole file for the header. A CR before the first LF (other than CRLF's) is the sign;
  // looking there only keeps the check off the hot path for LF and CRLF files.
  const firstLf = text.indexOf("\n");
  const firstCr = (firstLf < 0 ? text : text.slice(0, firstLf)).indexOf("\r");
  if (firstCr >= 0 && firstCr !== firstLf - 1) text = text.replace(/\r\n?/g, "\n");
  const len = text.length;
  let pos = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  let line = 1;
  // Skip leading blank lines to the header.
  while (pos < len) {
    const c = text.charCodeAt(pos);
    if (c === 10) line++;
    else if (c !== 13 && c !== 32 && c !== 9) break;
    pos++;
  }
  const probe = new BarsBuilder(name, 0, "line", opts);
  if (pos >= len) throw probe.error(-1, "file is empty (no header row)");
  let headerEnd = text.indexOf("\n", pos);
  if (headerEnd < 0) headerEnd = len;
  let headerLine = text.slice(pos, headerEnd);
  if (headerLine.endsWith("\r")) headerLine = headerLine.slice(0, -1);
  const delim = detectDelimiter(headerLine);
  const headers = splitHeader(headerLine, String.fromCharCode(delim));
  let roles = assignRoles(headers);
  const dup = duplicateColumn(headers, roles);
  if (dup) throw probe.error(line, dup);
  let missing = missingRoles(roles);
  let hasHeader = true;
  if (missing.length > 0) {
    // A header-less file (ccxt dumps): the first field is a time and the rest are numbers.
    const looksNumeric = headers.length >= 5 &&
      !Number.isNaN(parseTimeField(headerLine, 0, headers[0].length)) &&
      headers.slice(1, 5).every((h) => !Number.isNaN(parseNumberRange(h, 0, h.length)));
    if (!looksNumeric) {
      throw probe.error(
        line,
        `missing column${missing.length > 1 ? "s" : ""} ${
          missing.join(", ")
        } in header "${headerLine}" (expected time/timestamp/date, open, high, low, close[, volume])`,
      );
    }
    hasHeader = false;
    roles = {
      time: 0,
      open: 1,
      high: 2,
      low: 3,
      close: 4,
      volume: headers.length > 5 ? 5 : -1,
      timeOfDay: -1,
    };
    missing = [];
  }
  const col = new Int32Array([
    roles.time,
    roles.open,
    roles.high,
    roles.low,
    roles.close,
    roles.volume,
    roles.timeOfDay,
  ]);
  let maxCol = 0;
  for (let r = 0; r < 7; r++) if (col[r] > maxCol) maxCol = col[r];
  if (hasHeader) {
    pos = headerEnd + 1;
    line++;
  }
  // Capacity: one bar per remaining line (memchr-speed count).
  let cap = 1;
  for (let p = text.indexOf("\n", pos); p >= 0; p = text.indexOf("\n", p + 1)) cap++;
  const builder = new BarsBuilder(name, cap, "line", opts);
  if (roles.volume < 0) builder.warn("no volume column; volume set to 0");

  const nSlots = maxCol + 1;
  const fs = new Int32Array(nSlots);
  const fe = new Int32Array(nSlots);
  const escaped = new Uint8Array(nSlots);
  const val = new Float64Array(7);
  const delimStr = String.fromCharCode(delim);

  while (pos < len) {
    const rowLine = line;
    const c = text.charCodeAt(pos);
    // Blank line (or a lone CR).
    if (c === 10) {
      pos++;
      line++;
      continue;
    }
    if (c === 13) {
      pos++;
      continue;
    }
    let lineEnd = text.indexOf("\n", pos);
    if (lineEnd < 0) lineEnd = len;
    let f = 0;
    for (;;) {
      let start: number, end: number, esc = 0;
      if (text.charCodeAt(pos) === 34) {
        // Quoted field: may hold delimiters, doubled quotes and newlines.
        start = pos + 1;
        let p = start;
        for (;;) {
          const q = text.indexOf('"', p);
          if (q < 0) {
            throw builder.error(rowLine, "unterminated quoted field");
          }
          if (text.charCodeAt(q + 1) === 34) {
            esc = 1;
            p = q + 2;
            continue;
          }
          end = q;
          break;
        }
        for (let k = start; k < end; k++) if (text.charCodeAt(k) === 10) line++;
        pos = end + 1;
        if (pos > lineEnd) {
          lineEnd = text.indexOf("\n", pos);
          if (lineEnd < 0) lineEnd = len;
        }
        // Skip to the delimiter or the end of the line.
        while (pos < lineEnd && text.charCodeAt(pos) !== delim) pos++;
      } else {
        start = pos;
        let d = text.indexOf(delimStr, pos);
        if (d < 0 || d > lineEnd) d = lineEnd;
        end = d;
        pos = d;
      }
      if (f < nSlots) {
        fs[f] = start;
        fe[f] = end;
        escaped[f] = esc;
      }
      f++;
      if (pos < lineEnd && text.charCodeAt(pos) === delim) {
        pos++;
        continue;
      }
      break;
    }
    pos = lineEnd + 1;
    line++;
    if (f === 1 && isBlank(text, fs[0], fe[0])) continue;
    if (f < nSlots) {
      builder.invalid(rowLine, `expected at least ${nSlots} fields, found ${f}`);
      continue;
    }
    // Trailing CR belongs to the line end, not the last field.
    for (let k = 0; k < nSlots; k++) {
      if (fe[k] > fs[k] && text.charCodeAt(fe[k] - 1) === 13) fe[k]--;
    }
    for (let r = 0; r < 7; r++) {
      const k = col[r];
      if (k < 0) {
        val[r] = r === 5 ? 0 : NaN;
        continue;
      }
      let s = text, a = fs[k], b = fe[k];
      if (escaped[k]) {
        s = text.slice(a, b).replaceAll('""', '"');
        a = 0;
        b = s.length;
      }
      val[r] = r === 0
        ? parseTimeField(s, a, b)
        : r === 6
        ? parseTimeOfDay(s, a, b)
        : parseNumberRange(s, a, b);
    }
    // Name a field that did not parse precisely; a literal NaN is left to the validator.
    // (A separate time of day is added to the date only after this, so that a bad one is
    // named as itself, not as a bad date.)
    let bad = -1;
    for (let r = 0; r < 7; r++) {
      if (col[r] >= 0 && Number.isNaN(val[r])) {
        bad = r;
        break;
      }
    }
    if (bad >= 0) {
      const k = col[bad];
      const raw = text.slice(fs[k], fe[k]).trim();
      const lower = raw.toLowerCase();
      if (raw === "") {
        builder.invalid(rowLine, `${ROLE_NAMES[bad]} is empty`);
        continue;
      }
      if (bad === 0 || bad === 6) {
        builder.invalid(rowLine, bad === 0 ? explainBadTime(raw) : explainBadTimeOfDay(raw));
        continue;
      }
      if (lower !== "nan") {
        builder.invalid(rowLine, `${ROLE_NAMES[bad]} ${JSON.stringify(raw)} is not a number`);
        continue;
      }
    }
    if (col[6] >= 0) val[0] += val[6];
    builder.push(val[0], val[1], val[2], val[3], val[4], val[5], rowLine);
  }
  return builder.finishFile();
}

function isBlank(s: string, a: number, b: number): boolean {
  for (let i = a; i < b; i++) if (s.charCodeAt(i) > 32) return false;
  return true;
}
