/**
 * Where market data may be stored in this process: files under data/ (local runs), or Deno KV
 * only (the Deno Deploy profile: no writable disk, no native addons). Chosen automatically:
 * KV when `WAGYU_PROFILE=deploy` or when the process may not write the folder
 * (`Deno.permissions.querySync({ name: "write", path })`, e.g. `--allow-write=data/deploy`).
 *
 * @module
 */

/** The KV file of the deploy profile when `WAGYU_KV_PATH` is unset (as in main.ts). */
export const DEPLOY_KV_PATH = "data/deploy/wagyu.kv";

function env(name: string): string | undefined {
  try {
    return Deno.env.get(name);
  } catch {
    return undefined; // no env permission
  }
}

/** True under `WAGYU_PROFILE=deploy`. */
export function isDeployProfile(): boolean {
  return env("WAGYU_PROFILE") === "deploy";
}

/** True when this process has write permission for `path` (asks nothing, never prompts). */
export function mayWrite(path: string): boolean {
  try {
    return Deno.permissions.querySync({ name: "write", path }).state === "granted";
  } catch {
    return false;
  }
}

/** "kv" when files under `dir` must not be written here (deploy profile, no permission). */
export function storageFor(dir: string): "file" | "kv" {
  return isDeployProfile() || !mayWrite(dir) ? "kv" : "file";
}

/**
 * The KV store market data uses when it cannot use files: `WAGYU_KV_PATH`, else (deploy profile)
 * `data/deploy/wagyu.kv`, else undefined (the platform's default store, e.g. Deno Deploy's).
 */
export function marketKvPath(): string | undefined {
  return env("WAGYU_KV_PATH") ?? (isDeployProfile() ? DEPLOY_KV_PATH : undefined);
}

const shared = new Map<string, Promise<Deno.Kv>>();

/**
 * One KV handle per path for the process (datasets and the cache share it), opened on first
 * use and kept open: the deploy profile's storage lives as long as the server.
 */
export function sharedKv(path: string | undefined = marketKvPath()): Promise<Deno.Kv> {
  const k = path ?? "";
  let kv = shared.get(k);
  if (!kv) {
    kv = (async () => {
      if (path && path !== ":memory:") {
        const dir = path.slice(0, path.lastIndexOf("/"));
        if (dir) await Deno.mkdir(dir, { recursive: true }).catch(() => {});
      }
      return await Deno.openKv(path);
    })();
    kv.catch(() => shared.delete(k));
    shared.set(k, kv);
  }
  return kv;
}
