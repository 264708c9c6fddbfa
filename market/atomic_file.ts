/**
 * Atomic file writes (temp file, fsync, rename, fsync of the folder) and the sweep of temp
 * files that writers killed mid-write leave behind. Used by the cache and the dataset uploads.
 *
 * @module
 */

/** Age after which any temp file is a crashed writer's leftover. */
const STALE_TMP_MS = 10 * 60_000;

/** True when `pid` is a running process (Linux /proc), null when that cannot be told. */
function pidAlive(pid: number): boolean | null {
  try {
    Deno.statSync("/proc/self");
  } catch {
    return null;
  }
  try {
    Deno.statSync(`/proc/${pid}`);
    return true;
  } catch {
    return false;
  }
}

/**
 * Removes temp files (`<name>.tmp-<pid>-<id>`) that crashed writers left in `dir`: those of
 * processes no longer running, and any older than 10 minutes. A fresh one of a live process
 * may be another writer's (the server and a CLI fetch) and is left alone.
 */
export async function sweepTempFiles(dir: string): Promise<string[]> {
  const removed: string[] = [];
  const staleBefore = Date.now() - STALE_TMP_MS;
  let entries: Deno.DirEntry[];
  try {
    entries = await Array.fromAsync(Deno.readDir(dir));
  } catch {
    return removed; // no folder yet
  }
  for (const e of entries) {
    const m = e.name.match(/\.tmp-(\d+)?/);
    if (!e.isFile || !m) continue;
    const p = `${dir}/${e.name}`;
    const pid = m[1] ? Number(m[1]) : NaN;
    let stale = !Number.isNaN(pid) && pid !== Deno.pid && pidAlive(pid) === false;
    if (!stale) {
      const st = await Deno.stat(p).catch(() => null);
      stale = st !== null && (st.mtime?.getTime() ?? 0) < staleBefore;
    }
    if (stale) {
      await Deno.remove(p).then(() => removed.push(p), () => {});
    }
  }
  return removed;
}

/** Writes `bytes` to `path` atomically: temp file, fsync, rename (then fsync of the folder). */
export async function writeFileAtomic(path: string, bytes: Uint8Array): Promise<void> {
  const dir = path.slice(0, path.lastIndexOf("/"));
  await Deno.mkdir(dir, { recursive: true });
  const tmp = `${path}.tmp-${Deno.pid}-${crypto.randomUUID().slice(0, 8)}`;
  try {
    using f = await Deno.open(tmp, { write: true, create: true, truncate: true });
    // 1 MiB writes keep memory flat; syncData before the rename so that a power cut
    // cannot leave a renamed file whose blocks never reached the disk.
    for (let off = 0; off < bytes.length; off += 1 << 20) {
      let chunk = bytes.subarray(off, Math.min(bytes.length, off + (1 << 20)));
      while (chunk.length > 0) chunk = chunk.subarray(await f.write(chunk));
    }
    await f.syncData();
  } catch (e) {
    await Deno.remove(tmp).catch(() => {});
    throw e;
  }
  await Deno.rename(tmp, path);
  // The rename itself is durable once the folder's entry is on disk.
  try {
    using d = await Deno.open(dir, { read: true });
    await d.syncData();
  } catch {
    // Some file systems refuse fsync on a directory; the rename is still atomic.
  }
}
