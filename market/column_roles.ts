/**
 * Maps header names (case-insensitive) of CSV, JSON and Parquet sources to OHLCV roles.
 *
 * @module
 */

/** Column roles in the order readers store them. `timeOfDay` is a separate "Time" column next
 * to a "Date" column (backtrader and many broker exports). */
export const ROLES = ["time", "open", "high", "low", "close", "volume", "timeOfDay"] as const;
/** One of `ROLES`. */
export type Role = typeof ROLES[number];

const TIME_NAMES = [
  "timestamp",
  "datetime",
  "date_time",
  "open_time",
  "open time",
  "opentime",
  "time",
  "date",
  "ts",
  "unix",
  "t",
];
const NAMES: Record<Exclude<Role, "time" | "timeOfDay">, string[]> = {
  open: ["open", "o"],
  high: ["high", "h"],
  low: ["low", "l"],
  close: ["close", "c", "last"],
  volume: ["volume", "vol", "v"],
};

/** Lower-cases and trims a header name and strips surrounding quotes. */
export function normalizeHeader(name: string): string {
  let s = name.trim().toLowerCase();
  if (s.length >= 2 && s.startsWith('"') && s.endsWith('"')) s = s.slice(1, -1).trim();
  return s;
}

/**
 * Finds the column index of each role in `headers` (-1 when absent). The time column is the
 * first of timestamp, datetime, …, time, date present; an empty first header (the index
 * column pandas writes) is the time column when no named one exists. When both "date" and
 * "time" exist, "date" is the date and "time" the time of day.
 */
export function assignRoles(headers: readonly string[]): Record<Role, number> {
  const h = headers.map(normalizeHeader);
  const roles: Record<Role, number> = {
    time: -1,
    open: -1,
    high: -1,
    low: -1,
    close: -1,
    volume: -1,
    timeOfDay: -1,
  };
  const dateIdx = h.indexOf("date"), timeIdx = h.indexOf("time");
  if (dateIdx >= 0 && timeIdx >= 0 && !h.includes("timestamp") && !h.includes("datetime")) {
    roles.time = dateIdx;
    roles.timeOfDay = timeIdx;
  } else {
    for (const name of TIME_NAMES) {
      const i = h.indexOf(name);
      if (i >= 0) {
        roles.time = i;
        break;
      }
    }
    if (roles.time < 0 && h.length > 0 && h[0] === "") roles.time = 0;
  }
  for (const role of ["open", "high", "low", "close", "volume"] as const) {
    for (const name of NAMES[role]) {
      const i = h.indexOf(name);
      if (i >= 0) {
        roles[role] = i;
        break;
      }
    }
  }
  return roles;
}

/**
 * Names a role whose chosen column's name appears twice (after normalizing: `close,close`,
 * `Close,close`), as "duplicate column for close: columns 5 ("Close") and 6 ("close")"
 * (1-based), or returns null. Taking either one silently could back-test the wrong prices.
 * Different aliases of one role (`timestamp` and `date`) are not duplicates: the first alias
 * wins, as documented in `assignRoles`.
 */
export function duplicateColumn(
  headers: readonly string[],
  roles: Record<Role, number>,
): string | null {
  const h = headers.map(normalizeHeader);
  for (const role of ROLES) {
    const i = roles[role];
    // An unnamed column (pandas' index, a trailing delimiter) may well appear twice.
    if (i < 0 || h[i] === "") continue;
    // `assignRoles` picks the first column of a name, so a duplicate can only come later.
    const j = h.indexOf(h[i], i + 1);
    if (j < 0) continue;
    const name = role === "timeOfDay" ? "time of day" : role;
    return `duplicate column for ${name}: columns ${i + 1} (${JSON.stringify(headers[i])}) and ${
      j + 1
    } (${JSON.stringify(headers[j])})`;
  }
  return null;
}

/** Names the roles `assignRoles` could not find among the required ones (all but volume). */
export function missingRoles(roles: Record<Role, number>): string[] {
  const out: string[] = [];
  for (const r of ["time", "open", "high", "low", "close"] as const) {
    if (roles[r] < 0) out.push(r);
  }
  return out;
}
