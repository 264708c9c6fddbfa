/**
 * JSON OHLCV reader: ccxt-style `[[ts, o, h, l, c, v], …]`, an array of objects with
 * case-insensitive keys, either wrapped in `{ "data" | "bars" | "ohlcv": [...] }`, or a
 * columnar object `{ "timestamp": [...], "open": [...], … }`.
 *
 * @module
 */
import { assignRoles, missingRoles, type Role } from "./column_roles.ts";
import { BarsBuilder, type CleanBars, type CleanOptions } from "./bars_builder.ts";
import { epochToMs, parseIsoTime, parseTimeOfDay } from "./parse_time.ts";

const FIELDS = ["time", "open", "high", "low", "close", "volume"] as const;

function timeValue(v: unknown): number {
  if (typeof v === "number") return epochToMs(v);
  if (typeof v === "string") {
    const n = v.trim() !== "" && /^[+-]?\d+(\.\d+)?$/.test(v.trim()) ? Number(v) : NaN;
    return Number.isNaN(n) ? parseIsoTime(v, 0, v.length) : epochToMs(n);
  }
  return NaN;
}

function numValue(v: unknown): number {
  if (typeof v === "number") return v;
  if (typeof v === "string" && v.trim() !== "") return Number(v);
  return NaN;
}

/** The reason text after the field name: "is null", "\"x\" is not a number", … */
function describe(v: unknown): string {
  if (v === undefined) return "is missing";
  if (v === null) return "is null";
  if (typeof v === "number") return `is ${v}`;
  return `${JSON.stringify(v)} is not a number`;
}

/** Reads JSON text into bars plus a quality report. Errors name the 1-based record. */
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
  if (firstObj) {
    const keys = Object.keys(firstObj);
    const roles = assignRoles(keys);
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
    if (roles.volume < 0) b.warn("no volume key; volume set to 0");
  }
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
      for (let k = 0; k < 6; k++) raw[k] = k < r.length ? r[k] : 0;
      raw[6] = undefined;
    } else if (r !== null && typeof r === "object" && keyRole) {
      raw[0] =
        raw[1] =
        raw[2] =
        raw[3] =
        raw[4] =
        raw[6] =
          undefined;
      raw[5] = 0;
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
    if (raw[6] !== undefined) {
      const s = String(raw[6]);
      t += parseTimeOfDay(s, 0, s.length);
    }
    if (Number.isNaN(t)) {
      b.invalid(
        rec,
        raw[0] === undefined
          ? "time is missing"
          : `time ${
            JSON.stringify(raw[0])
          } is not a date or epoch number (expected YYYY-MM-DD, ISO 8601 or epoch s/ms)`,
      );
      continue;
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
  return b.finish();
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
  const cols = FIELDS.map((f) => (roles[f] >= 0 ? o[keys[roles[f]]] : null));
  const n = (cols[0] as unknown[]).length;
  for (let k = 0; k < 5; k++) {
    if (!Array.isArray(cols[k]) || (cols[k] as unknown[]).length !== n) {
      throw probe.error(-1, `column ${FIELDS[k]} must be an array of ${n} values`);
    }
  }
  const b = new BarsBuilder(name, n, "record", opts);
  if (cols[5] === null) b.warn("no volume column; volume set to 0");
  const get = (k: number, i: number) => (cols[k] ? (cols[k] as unknown[])[i] : 0);
  for (let i = 0; i < n; i++) {
    const t = timeValue(get(0, i));
    if (Number.isNaN(t)) {
      b.invalid(
        i + 1,
        `time ${
          JSON.stringify(get(0, i))
        } is not a date or epoch number (expected YYYY-MM-DD, ISO 8601 or epoch s/ms)`,
      );
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
  return b.finish();
}
