/**
 * Large buffers whose memory the kernel may back with transparent huge pages.
 *
 * Why: on the VMs this product runs on (Firecracker guests), the first touch of each fresh 4 KiB
 * page costs tens of microseconds, so filling a new 48 MB buffer (1M bars) costs ~200 ms
 * while the work done on it (reading a file into it, a validation pass) costs a few ms. Linux
 * here has transparent huge pages in `madvise` mode; advising a fresh buffer with
 * `MADV_HUGEPAGE` before its first touch makes the kernel fault it in 2 MiB pages, 10-20×
 * faster (measured: 48 MB filled in ~15-40 ms instead of ~200-300 ms).
 *
 * The buffer is an ordinary `Uint8Array` owned by V8 (large ones are fresh anonymous
 * mappings, untouched until used): only its page-aligned interior is advised, so nothing
 * about its lifetime changes. This needs `--allow-ffi` (the same permission nodejs-polars
 * needs) and Linux; anywhere else (Deno Deploy, no FFI) buffers are plain and everything works
 * the same, only slower to fault in.
 *
 * @module
 */

const HUGE = 2 * 1024 * 1024;
/** Smaller buffers gain nothing (at most one huge page fits). */
const MIN_BYTES = 4 * HUGE;
const MADV_HUGEPAGE = 14;

type Madvise = (ptr: Deno.PointerValue, len: bigint, advice: number) => number;
let madvise: Madvise | null | undefined;

function advisor(): Madvise | null {
  if (madvise !== undefined) return madvise;
  madvise = null;
  try {
    if (Deno.build.os !== "linux") return null;
    if (envFlag("WAGYU_NO_HUGEPAGES")) return null;
    if (Deno.permissions.querySync({ name: "ffi" }).state !== "granted") return null;
    const lib = Deno.dlopen("libc.so.6", {
      madvise: { parameters: ["pointer", "usize", "i32"], result: "i32" },
    });
    madvise = lib.symbols.madvise as Madvise;
  } catch {
    madvise = null; // no libc.so.6 (musl, Deno Deploy), no env or FFI permission
  }
  return madvise;
}

function envFlag(name: string): boolean {
  try {
    return Deno.env.get(name) === "1";
  } catch {
    return false; // no env permission: the variable cannot be set either
  }
}

/** Advises the page-aligned interior of `buf` as huge pages; a no-op where unsupported. */
export function adviseHugePages(buf: ArrayBufferView): void {
  if (buf.byteLength < MIN_BYTES) return;
  const fn = advisor();
  if (!fn) return;
  const ptr = Deno.UnsafePointer.of(buf as unknown as BufferSource);
  if (!ptr) return;
  const addr = BigInt(Deno.UnsafePointer.value(ptr));
  const h = BigInt(HUGE);
  const start = (addr + h - 1n) / h * h;
  const end = (addr + BigInt(buf.byteLength)) / h * h;
  if (end > start) fn(Deno.UnsafePointer.create(start), end - start, MADV_HUGEPAGE);
}

/** A zeroed `Uint8Array` of `n` bytes, advised as huge pages when large (see module doc). */
export function allocBytes(n: number): Uint8Array {
  const b = new Uint8Array(n);
  adviseHugePages(b);
  return b;
}

/** A zeroed `Float64Array` of `n` values, advised as huge pages when large. */
export function allocFloat64(n: number): Float64Array {
  const a = new Float64Array(n);
  adviseHugePages(a);
  return a;
}

/** Turns the advice off (or back on) for this process; for benchmarks comparing both. */
export function setHugePages(on: boolean): void {
  madvise = on ? undefined : null;
}

/** True when buffers here are advised (Linux with FFI permission). */
export function hugePagesAvailable(): boolean {
  return advisor() !== null;
}
