/**
 * What the subprocesses that run untrusted strategy code share: the `deno run` flags that
 * cap each isolate's V8 heap and grant only reads of their own sources, and the resident
 * memory read that their watchdogs poll (for `ArrayBuffer` bombs outside the V8 heap).
 * Used by the sandbox pool (`sandbox_pool.ts`) and the optimizer's isolated pool
 * (`optimizer/backends/isolated_pool.ts`).
 *
 * @module
 */

/**
 * `deno run` arguments for `entry`: no prompt, config or lock file, Worker permission
 * options on, a V8 old-space cap of `memoryMb` for every isolate, reads of `readable` only,
 * then `more` (further permission flags, the entry and its arguments).
 */
export function cappedDenoArgs(memoryMb: number, readable: string[], more: string[]): string[] {
  return [
    "run",
    "--quiet",
    "--no-prompt",
    "--no-config",
    "--no-lock",
    "--unstable-worker-options",
    `--v8-flags=--max-old-space-size=${Math.ceil(memoryMb)}`,
    `--allow-read=${readable.join(",")}`,
    ...more,
  ];
}

/** Resident memory of process `pid` in bytes, or null once it has gone. */
export function readRssBytes(pid: number): number | null {
  try {
    const statm = Deno.readTextFileSync(`/proc/${pid}/statm`);
    return Number(statm.split(" ")[1]) * 4096;
  } catch {
    return null;
  }
}
