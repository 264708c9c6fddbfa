/**
 * Builds the browser bundle (static/build/islands_entry.js and its lazily loaded chunks) with
 * `deno bundle --platform browser --code-splitting`, and rebuilds it when a source under
 * islands/, ui/ or client/ (or the import map) is newer than it. The server calls
 * {@link ensureBundle} at start; `deno task bundle` runs this file.
 *
 * @module
 */

const ROOT = new URL("../", import.meta.url);
const BUILD_DIR = new URL("static/build/", ROOT);
/** The entry chunk the shell loads (CodeMirror and chart.js follow as separate chunks). */
export const BUNDLE_URL = new URL("islands_entry.js", BUILD_DIR);
const ENTRY = new URL("ui/islands_entry.ts", ROOT);
/** Folders whose modules the page bundles (client/: the typed API client the page calls). */
const SOURCE_DIRS = ["islands/", "ui/", "client/"];
const SOURCE_FILES = ["deno.json", "deno.lock"];

async function mtime(url: URL): Promise<number | null> {
  try {
    return (await Deno.stat(url)).mtime?.getTime() ?? null;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return null;
    throw err;
  }
}

async function newestSource(): Promise<number> {
  let newest = 0;
  for (const dir of SOURCE_DIRS) {
    for await (const e of Deno.readDir(new URL(dir, ROOT))) {
      if (!e.isFile || !/\.(ts|tsx)$/.test(e.name)) continue;
      newest = Math.max(newest, (await mtime(new URL(dir + e.name, ROOT))) ?? 0);
    }
  }
  for (const f of SOURCE_FILES) newest = Math.max(newest, (await mtime(new URL(f, ROOT))) ?? 0);
  return newest;
}

/** True when the bundle is missing or older than a source it is built from. */
export async function bundleIsStale(): Promise<boolean> {
  const built = await mtime(BUNDLE_URL);
  return built === null || built < await newestSource();
}

/** Raised when `deno bundle` fails; `message` holds its output. */
export class BundleError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "BundleError";
  }
}

/**
 * Runs `deno bundle` into a temporary folder, moves the chunks (content-hashed names) into
 * static/build/ and the entry last, so a server serving the old bundle (or a second process
 * building at the same time) never sees half of one. Chunks of older builds are removed.
 */
export async function buildBundle(): Promise<{ files: Record<string, number>; ms: number }> {
  const t0 = performance.now();
  await Deno.mkdir(BUILD_DIR, { recursive: true });
  const tmp = new URL(`.tmp-${Deno.pid}-${crypto.randomUUID()}/`, BUILD_DIR);
  try {
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "bundle",
        "--platform",
        "browser",
        "--code-splitting",
        "--minify",
        "--quiet",
        "--outdir",
        decodeURIComponent(tmp.pathname),
        decodeURIComponent(ENTRY.pathname),
      ],
      cwd: decodeURIComponent(ROOT.pathname),
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!out.success) {
      const text = new TextDecoder().decode(out.stderr) + new TextDecoder().decode(out.stdout);
      throw new BundleError(`deno bundle failed (exit ${out.code}): ${text.slice(-4000)}`);
    }
    const files: Record<string, number> = {};
    const entryName = "islands_entry.js";
    for await (const e of Deno.readDir(tmp)) {
      if (!e.isFile) continue;
      files[e.name] = (await Deno.stat(new URL(e.name, tmp))).size;
      if (e.name !== entryName) await Deno.rename(new URL(e.name, tmp), new URL(e.name, BUILD_DIR));
    }
    if (!(entryName in files)) throw new BundleError(`deno bundle wrote no ${entryName}`);
    await Deno.rename(new URL(entryName, tmp), BUNDLE_URL);
    await removeOldChunks(new Set(Object.keys(files)));
    return { files, ms: performance.now() - t0 };
  } finally {
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
  }
}

/** Deletes chunks no build references any more (leaving a minute's grace for a concurrent one). */
async function removeOldChunks(keep: Set<string>): Promise<void> {
  const cutoff = Date.now() - 60_000;
  for await (const e of Deno.readDir(BUILD_DIR)) {
    if (!e.isFile || keep.has(e.name) || !e.name.endsWith(".js")) continue;
    const at = await mtime(new URL(e.name, BUILD_DIR));
    if (at !== null && at < cutoff) await Deno.remove(new URL(e.name, BUILD_DIR)).catch(() => {});
  }
}

async function gzipSize(url: URL): Promise<number> {
  const file = await Deno.open(url);
  const gz = await new Response(file.readable.pipeThrough(new CompressionStream("gzip")))
    .arrayBuffer();
  return gz.byteLength;
}

/**
 * Sizes of the built files, raw and gzipped; `initial` is what the first render needs (the
 * entry and the chunks it imports statically), `total` everything.
 */
export async function bundleReport(): Promise<
  { files: { name: string; bytes: number; gzip: number }[]; initialGzip: number; totalGzip: number }
> {
  const entryText = await Deno.readTextFile(BUNDLE_URL);
  // static imports of the entry: `import{..}from"./chunk-X.js"` (dynamic ones use import("…"))
  const staticDeps = new Set(
    [...entryText.matchAll(/(?:^|[;}\s])import\s*[^("']*?from\s*["']\.\/([^"']+)["']/g)].map((m) =>
      m[1]
    ),
  );
  const files = [];
  let initialGzip = 0;
  let totalGzip = 0;
  for await (const e of Deno.readDir(BUILD_DIR)) {
    if (!e.isFile || !e.name.endsWith(".js") || e.name.startsWith(".")) continue;
    const url = new URL(e.name, BUILD_DIR);
    const bytes = (await Deno.stat(url)).size;
    const gzip = await gzipSize(url);
    files.push({ name: e.name, bytes, gzip });
    totalGzip += gzip;
    if (e.name === "islands_entry.js" || staticDeps.has(e.name)) initialGzip += gzip;
  }
  return { files, initialGzip, totalGzip };
}

let pending: Promise<void> | null = null;
const LOCK = new URL(".build.lock", BUILD_DIR);
/** A lock older than this belongs to a build that died; it is taken over. */
const LOCK_STALE_MS = 120_000;

/**
 * Runs `fn` holding static/build/.build.lock, so processes started together (parallel test
 * files, several servers) build once instead of each spawning `deno bundle`.
 */
async function withBuildLock(fn: () => Promise<void>): Promise<void> {
  await Deno.mkdir(BUILD_DIR, { recursive: true });
  const t0 = Date.now();
  while (true) {
    try {
      (await Deno.open(LOCK, { write: true, createNew: true })).close();
      break;
    } catch (err) {
      if (!(err instanceof Deno.errors.AlreadyExists)) throw err;
      const at = await mtime(LOCK);
      if (at !== null && Date.now() - at > LOCK_STALE_MS) {
        await Deno.remove(LOCK).catch(() => {});
      } else if (Date.now() - t0 > LOCK_STALE_MS) {
        throw new BundleError("Timed out waiting for another process's bundle build");
      } else await new Promise((r) => setTimeout(r, 200));
    }
  }
  try {
    await fn();
  } finally {
    await Deno.remove(LOCK).catch(() => {});
  }
}

/** Whether this process may run `deno bundle` and write static/build/. */
function mayBuild(): boolean {
  const granted = (d: Deno.PermissionDescriptor) => {
    try {
      return Deno.permissions.querySync(d).state === "granted";
    } catch {
      return false;
    }
  };
  return granted({ name: "run" }) &&
    granted({ name: "write", path: decodeURIComponent(BUILD_DIR.pathname) });
}

/**
 * Builds the bundle once per process when it is missing or stale; later calls share the
 * same promise. A failed build is retried on the next call.
 */
export function ensureBundle(): Promise<void> {
  pending ??= (async () => {
    if (!(await bundleIsStale())) return;
    // Where this process may not start `deno bundle` (the Deno Deploy profile: no subprocesses,
    // no writes to static/build), a stale bundle is still the best there is: serve it as it is.
    if (!mayBuild() && await mtime(BUNDLE_URL) !== null) {
      console.warn(
        "static/build is older than the UI sources and this process may not rebuild it " +
          "(no run or write permission): serving it as it is; run `deno task bundle` to refresh",
      );
      return;
    }
    // another process may have built it while this one waited for the lock
    await withBuildLock(async () => {
      if (await bundleIsStale()) await buildBundle();
    });
  })().catch((err) => {
    pending = null;
    throw err;
  });
  return pending;
}

if (import.meta.main) {
  const { ms } = await buildBundle();
  const r = await bundleReport();
  for (const f of r.files) {
    console.log(
      `static/build/${f.name}: ${(f.bytes / 1024).toFixed(1)} KiB, ${
        (f.gzip / 1024).toFixed(1)
      } KiB gzipped`,
    );
  }
  console.log(
    `initial JS ${(r.initialGzip / 1024).toFixed(1)} KiB gzipped, all JS ${
      (r.totalGzip / 1024).toFixed(1)
    } KiB gzipped (built in ${ms.toFixed(0)} ms)`,
  );
}
