/**
 * Lazy access to nodejs-polars (a native addon). Loading it can fail where native addons are
 * not allowed (Deno Deploy) — callers then choose a pure-JS path instead of crashing.
 *
 * @module
 */
import type plType from "nodejs-polars";

/** The nodejs-polars module's default export. */
export type Polars = typeof plType;

let cached: Promise<Polars | null> | null = null;
let loadError: unknown = null;

/** Resolves to nodejs-polars, or null when it cannot load here (see `polarsLoadError`). */
export function loadPolars(): Promise<Polars | null> {
  if (polarsDisabled()) return Promise.resolve(null);
  cached ??= import("nodejs-polars").then(
    (m) => (m.default ?? m) as Polars,
    (e) => {
      loadError = e;
      return null;
    },
  );
  return cached;
}

/** `WAGYU_NO_POLARS=1` forces the pure-JS paths (tests of the Deno Deploy configuration). */
function polarsDisabled(): boolean {
  try {
    return Deno.env.get("WAGYU_NO_POLARS") === "1";
  } catch {
    return false; // no env permission: the variable cannot be set either
  }
}

/** Why the last `loadPolars()` failed, or null. */
export function polarsLoadError(): unknown {
  return loadError;
}
