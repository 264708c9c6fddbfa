/**
 * The glibc malloc settings WagYu's processes run with (`GLIBC_TUNABLES`).
 *
 * Why: on the VMs this project runs on, the first touch of each fresh 4 KiB page costs tens of
 * microseconds, so a fresh 8 MB column (one million bars) costs 20–40 ms to fault in while the
 * work done on it costs under 1 ms (measured: a fresh 8 MB `Float64Array` filled in 20–22 ms,
 * 0.8–2 ms with these settings). V8 takes `ArrayBuffer` memory from malloc, so:
 * - `hugetlb=1` lets malloc advise its memory as transparent huge pages (2 MiB faults);
 * - `mmap_threshold` of 256 MiB serves large buffers from malloc's heap instead of fresh
 *   mappings, and `trim_threshold` of 1 GiB keeps freed heap memory in the process, so the
 *   next run's buffers reuse pages already faulted in;
 * - `arena_max=1` keeps every thread on that one heap: a sandbox job runs in a new Worker
 *   thread, whose own arena would be unmapped when it ends, so each job faulted its ~60 MB in
 *   afresh (measured: ~15,000 page faults per 1M-bar job in the pooled process, ~3,000 with
 *   one arena).
 * The price: a process keeps up to its high-water mark of buffer memory (bounded by the
 * sandbox's RSS limits and recycling), and threads share one malloc lock (Deno's allocations
 * are few and small next to the engine's).
 *
 * Set by the `deno task` entries (start, dev, backtest, optimize, bench) and passed explicitly
 * to the sandbox subprocesses: glibc 2.36 applies every tunable but then rewrites the variable
 * in its own environment down to the first one, so children would inherit only `hugetlb=1`. Only glibc reads it; elsewhere (musl, macOS, Deno Deploy) it is inert.
 *
 * @module
 */

/** The value of `GLIBC_TUNABLES`; deno.json's tasks repeat it (checked by a test). */
export const MALLOC_TUNABLES =
  "glibc.malloc.hugetlb=1:glibc.malloc.mmap_threshold=268435456:glibc.malloc.trim_threshold=1073741824:glibc.malloc.arena_max=1";
