/**
 * JSON OHLCV reader: ccxt-style `[[ts, o, h, l, c, v], …]`, an array of objects with
 * case-insensitive keys, either wrapped in `{ "data" | "bars" | "ohlcv": [...] }`, or a
 * columnar object `{ "timestamp": [...], "open": [...], … }`.
 *
 * @module
 */
import { assignRoles, duplicateColumn, missingRoles, type Role } from "./column_roles.ts";
import { BarsBuilder, type CleanBars, type CleanOptions } from "./bars_builder.ts";
import { parseNumberRange } from "./parse_csv.ts";
import {
  epochToMs,
  explainBadTime,
  explainBadTimeOfDay,
  parseIsoTime,
  parseTimeOfDay,
} from "./parse_time.ts";

const FIELDS = ["time", "open", "high", "low", "close", "volume"] as const;

function timeValue(v: unknown): number {
  if (typeof v === "number") return epochToMs(v);
  if (typeof v === "string") {
    const n = v.trim() !== "" && /^[+-]?\d+(\.\d+)?$/.test(v.trim()) ? Number(v) : NaN;
    return Number.isNaN(n) ? parseIsoTime(v, 0, v.length) : epochToMs(n);
  }
  return NaN;
}

/** A JSON number, or a string in decimal or exponent syntax (not `0x10`: see parse_csv.ts). */
function numValue(v: unknown): number {
  if (typeof v === "number") return v;
  if (typeof v === "string") return parseNumberRange(v, 0, v.length);
  return NaN;
}

/** The message for a time value that did not parse. */
function badTime(v: unknown): string {
  if (v === undefined) return "time is missing";
  if (typeof v === "string") return explainBadTime(v.trim());
  if (typeof v === "number") return explainBadTime(String(v));
  return `time ${
    JSON.stringify(v)
  } is not a date or epoch number (expected YYYY-MM-DD, ISO 8601 or epoch s/ms)`;
}

/** The reason text after the field name: "is null", "\"x\" is not a number", … */
function describe(v: unknown): string {
  if (v === undefined) return "is missing";
  if (v === null) return "is null";
  if (typeof v === "number") return `is ${v}`;
  return `${JSON.stringify(v)} is not a number`;
}

/**
 * Reads JSON text into bars plus a quality report. Errors name the 1-based record. A file
 * without bars is an error; so is a record that lacks the volume others have (records with
 * no volume at all get volume 0 and a warning, like a CSV file without a volume column).
 */
export function readJson(text: string, name = "data.json", opts: CleanOptions = {}): CleanBars {
  const probe = new BarsBuilder(name, 0, "record", opts);
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw probe.error(-1, `invalid JSON: ${(e as Error).message}`);
  }
  if (doc !== null && typeof doc === "object" && !Array.isArray(doc)) {
    const o = doc as Record<string, unknown>;
    const key = ["data", "bars", "ohlcv", "candles"].find((k) => Array.isArray(o[k]));
    if (key) doc = o[key];
    else return readColumnar(o, name, opts);
  }
  if (!Array.isArray(doc)) {
    throw probe.error(-1, "expected an array of bars or an object with a data array");
  }
  const rows = doc as unknown[];
  const b = new BarsBuilder(name, rows.length, "record", opts);
  const firstObj = rows.find((r) => r !== null && typeof r === "object" && !Array.isArray(r)) as
    | Record<string, unknown>
    | undefined;
  let keyRole: Map<string, Role> | null = null;
  // Whether records carry a volume: then one without it is an error, not volume 0.
  let hasVolume = rows.some((r) => Array.isArray(r) && r.length >= 6);
  if (firstObj) {
    const keys = Object.keys(firstObj);
    const roles = assignRoles(keys);
    const dup = duplicateColumn(keys, roles);
    if (dup) throw b.error(1, dup.replaceAll("column", "key"));
    const missing = missingRoles(roles);
    if (missing.length > 0) {
      throw b.error(
        1,
        `missing key${missing.length > 1 ? "s" : ""} ${missing.join(", ")} (found ${
          keys.join(", ")
        })`,
      );
    }
    keyRole = new Map();
    for (const [role, i] of Object.entries(roles)) if (i >= 0) keyRole.set(keys[i], role as Role);
    if (roles.volume < 0) {
      // The first record decides the other roles; a volume key seen only in later records
      // still means the records without it lack one (found once here, off the row loop).
      const volumeKey = findVolumeKey(rows, keyRole);
      if (volumeKey !== null) keyRole.set(volumeKey, "volume");
    }
    hasVolume ||= [...keyRole.values()].includes("volume");
    if (!hasVolume) b.warn("no volume key; volume set to 0");
  }
  const noVolume = hasVolume ? undefined : 0;
  const raw: unknown[] = [undefined, undefined, undefined, undefined, undefined, 0, undefined];
  for (let i = 0; i < rows.length; i++) {
    const rec = i + 1;
    const r = rows[i];
    if (Array.isArray(r)) {
      if (r.length < 5) {
        b.invalid(
          rec,
          `expected [timestamp, open, high, low, close, volume], got ${JSON.stringify(r)}`,
        );
        continue;
      }
      for (let k = 0; k < 6; k++) raw[k] = k < r.length ? r[k] : noVolume;
      raw[6] = undefined;
    } else if (r !== null && typeof r === "object" && keyRole) {
      raw[0] =
        raw[1] =
        raw[2] =
        raw[3] =
        raw[4] =
        raw[6] =
          undefined;
      raw[5] = noVolume;
      const o = r as Record<string, unknown>;
      for (const k in o) {
        const role = keyRole.get(k);
        if (role !== undefined) raw[ROLE_SLOT[role]] = o[k];
      }
    } else {
      b.invalid(rec, `expected an array or an object, got ${JSON.stringify(r)}`);
      continue;
    }
    let t = timeValue(raw[0]);
    if (Number.isNaN(t)) {
      b.invalid(rec, badTime(raw[0]));
      continue;
    }
    if (raw[6] !== undefined) {
      const s = String(raw[6]);
      const tod = parseTimeOfDay(s, 0, s.length);
      if (Number.isNaN(tod)) {
        b.invalid(rec, explainBadTimeOfDay(s.trim()));
        continue;
      }
      t += tod;
    }
    const o = numValue(raw[1]), h = numValue(raw[2]), l = numValue(raw[3]);
    const c = numValue(raw[4]), v = numValue(raw[5]);
    const vals = [o, h, l, c, v];
    const bad = vals.findIndex((x, k) => Number.isNaN(x) && typeof raw[k + 1] !== "number");
    if (bad >= 0) {
      b.invalid(rec, `${FIELDS[bad + 1]} ${describe(raw[bad + 1])}`);
      continue;
    }
    b.push(t, o, h, l, c, v, rec);
  }
  return b.finishFile();
}

/** A key of some record that names a volume, when the first record has none; else null. */
function findVolumeKey(rows: unknown[], known: Map<string, Role>): string | null {
  const seen = new Set<string>();
  for (const r of rows) {
    if (r === null || typeof r !== "object" || Array.isArray(r)) continue;
    for (const k in r as Record<string, unknown>) {
      if (known.has(k) || seen.has(k)) continue;
      seen.add(k);
      if (assignRoles([k]).volume === 0) return k;
    }
  }
  return null;
}

const ROLE_SLOT: Record<Role, number> = {
  time: 0,
  open: 1,
  high: 2,
  low: 3,
  close: 4,
  volume: 5,
  timeOfDay: 6,
};

function readColumnar(
  o: Record<string, unknown>,
  name: string,
  opts: CleanOptions,
): CleanBars {
  const keys = Object.keys(o);
  const roles = assignRoles(keys);
  const probe = new BarsBuilder(name, 0, "record", opts);
  const missing = missingRoles(roles);
  if (missing.length > 0) {
    throw probe.error(
      -1,
      `expected an array of bars, or columns time, open, high, low, close (missing ${
        missing.join(", ")
      })`,
    );
  }
  const dup = duplicateColumn(keys, roles);
  if (dup) throw probe.error(-1, dup);
  const cols = FIELDS.map((f) => (roles[f] >= 0 ? o[keys[roles[f]]] : null));
  for (let k = 0; k < 6; k++) {
    if (roles[FIELDS[k]] >= 0 && !Array.isArray(cols[k])) {
      throw probe.error(
        -1,
        `column ${FIELDS[k]} must be an array, got ${describeJson(cols[k])}`,
      );
    }
  }
  const n = (cols[0] as unknown[]).length;
  for (let k = 1; k < 6; k++) {
    if (cols[k] !== null && (cols[k] as unknown[]).length !== n) {
      throw probe.error(
        -1,
        `column ${FIELDS[k]} must be an array of ${n} values (as many as time), got ${
          (cols[k] as unknown[]).length
        }`,
      );
    }
  }
  const b = new BarsBuilder(name, n, "record", opts);
  if (cols[5] === null) b.warn("no volume column; volume set to 0");
  const get = (k: number, i: number) => (cols[k] ? (cols[k] as unknown[])[i] : 0);
  for (let i = 0; i < n; i++) {
    const t = timeValue(get(0, i));
    if (Number.isNaN(t)) {
      b.invalid(i + 1, badTime(get(0, i)));
      continue;
    }
    b.push(
      t,
      numValue(get(1, i)),
      numValue(get(2, i)),
      numValue(get(3, i)),
      numValue(get(4, i)),
      numValue(get(5, i)),
      i + 1,
    );
  }
  return b.finishFile();
}

/** A short description of a JSON value for messages: null, a number, a string, an object. */
function describeJson(v: unknown): string {
  if (v === null || typeof v !== "object") {
    const s = JSON.stringify(v) ?? String(v);
    return s.length > 40 ? `${s.slice(0, 40)}…` : s;
  }
  return "an object";
}
