/**
 * Runs an untrusted strategy (TypeScript or JavaScript source) against bars, isolated from
 * the calling process.
 *
 * Every job runs in a fresh Worker with `deno: { permissions: "none" }` that holds the user
 * strategy and the engine loop together (`sandbox_worker.ts`, driven by `sandbox_runner.ts`),
 * so no message crosses per bar. Where that Worker lives depends on the mode
 * ({@linkcode sandboxMode}):
 *
 * - `process` (default where this process may run `deno`): in a pooled subprocess
 *   (`sandbox_pool.ts`, `sandbox_host.ts`) started with `--v8-flags=--max-old-space-size`, no
 *   permissions except reading the sandbox and engine sources and its private job directory.
 *   Why a subprocess: a Worker that reaches V8's heap limit aborts the whole process (checked
 *   on Deno 2.9.6), and Deno's web Workers take no heap cap. Up to `size` processes stay warm
 *   between jobs (each with a Worker already prepared), so a job starts in tens of ms instead
 *   of a process start; see `configureSandboxPool`, `warmSandboxPool`, `closeSandboxPool`.
 * - `worker` (env `WAGYU_SANDBOX=worker`, or no run permission: the Deno Deploy profile): the
 *   Worker runs in this process and the bars go in as transferred copies (no subprocess, no
 *   temp files). Time and log limits hold; the memory limit does not: a Worker takes no heap
 *   cap, so memory is bounded by the platform's isolate limit, and a heap blow-up there can
 *   end the server (hostile_test.ts runs every other hostile case in this mode too).
 *
 * Limits (see `SandboxLimits`):
 * - `timeoutMs`: wall clock for the whole job, enforced here by killing the subprocess (or
 *   terminating the Worker in worker mode, counted from the Worker being ready).
 * - `onDataTimeoutMs`: per call into user code (module top level, constructor, `Initialize`,
 *   each `OnData`). The Worker writes the phase and a call counter to shared memory that user
 *   code cannot reach (plain stores: a few ns per bar); the thread that started it polls every
 *   `clamp(onDataTimeoutMs / 10, 5, 50)` ms and terminates the Worker when one call has not
 *   returned for the budget, so a stuck call is caught between the budget and the budget plus
 *   two poll intervals (≤ 100 ms) after it started. Calls shorter than the budget are never
 *   stopped, however many there are; `timeoutMs` bounds their sum.
 * - `memoryMb` (process mode): V8 old-space cap of each isolate in the subprocess (a JS heap
 *   bomb dies at once with V8's "Reached heap limit"), plus a watchdog here that polls the
 *   subprocess' resident memory (`/proc/<pid>/statm`, every 20 ms) and kills it above
 *   `2 × memoryMb + 256` MB, which catches `ArrayBuffer` bombs that live outside the V8 heap.
 *   Pooled processes are kept per heap cap; a job with another cap gets its own process.
 * - `logBytes`: console output and `ctx.log` lines kept per job (characters); the rest is
 *   dropped with a note in the last line. Lines are prefixed like the engine's `ctx.log` (the
 *   bar's ISO time, or "init") and come back in `result.logs` or `SandboxError.logs`.
 *
 * What user code meets inside: no permissions (file, net, env, run, ffi, sys throw
 * `NotCapable`, reported as kind "permission"); `Deno.exit`, `self.close` and `Worker` throw;
 * stdio is gone; built-in prototypes (Object, Array, Function, typed arrays, iterators),
 * `Math`, `JSON`, `Reflect` are frozen, and so are the exports of the engine modules loaded in
 * the Worker (user code can `import()` an already loaded module without a permission check),
 * so no hook can observe the engine's full bar arrays. `OnData` must be synchronous: a
 * returned Promise is an error. Results equal the in-process engine's after JSON (NaN → null);
 * `equity` and `orders` are decoded on first read, as the engine builds them lazily.
 *
 * Data path (process mode): the bars go to the subprocess as a file (6 float64 columns) in
 * its private directory (`bars_file.ts`). The file stays there between jobs: when the next job
 * brings bars of the same size, the pool compares them byte for byte with the file (~5 ms per
 * 1M bars from the page cache, where a SHA-256 digest on both sides cost ~30 ms each) and sends
 * nothing when they match; the process reads the file into the columns its last job handed
 * back (~4 ms, where fresh pages cost ~150 ms), while idle after that job, so a next job on the
 * same bars starts without reading them (`HostRequest.barsWritten`). A successful result
 * comes back as a file there (equity as float64, orders and trades as the engine's columns;
 * `sandbox_codec.ts`), one file per process rewritten in place (its pages stay in the page
 * cache), announced by a nonce-tagged frame on stdout; progress, trades and errors stay small
 * frames on stdout. The process ends the job's Worker once the file is written and starts its
 * next spare Worker once the caller says it has read it, so neither competes with the
 * hand-over for the CPU.
 *
 * Cost (`deno task bench sandbox`: 1M-bar SMA cross, 2-core VM shared with other work, so
 * the numbers move by ±30 %): a 10-bar job takes ~8 ms to its result through the warm pool,
 * ~5 ms in worker mode, ~150 ms through a fresh process. By the straight-line fit over 125k
 * to 1M bars, worker mode costs the same per bar as in-process (its extra ~85 ms is fixed:
 * the fresh isolate's first big run, JIT included), after two fixes measured there: the next
 * job's columns are copied into the last job's pages (`keptColumns`) and the next spare
 * Worker starts after the result is handed over (`keepSpareWorkerSoon`). The warm pool adds
 * 35–90 % per bar by that fit (the target is < 10 %). The phases timed inside one 1M-bar job
 * come to ~30 ms: the bars' compare (~5 ms) or file (20–200 ms), the process' read of them
 * (done while idle when the file was kept, else ~5 ms), the result file's write (5–10 ms) and
 * its read and decode here (4–40 ms, into fresh pages). The rest is the Worker's run, which
 * the Worker splits itself (the `worker` part of `SandboxJobPhases`): at 1M bars its bar loop
 * took 157 ms and its result with the metrics 137 ms, against 64 and 70 ms for the same run in
 * a warm isolate (one bench run): a fresh isolate runs both its first big loop and the dozen
 * single-pass metrics over a million returns at under half speed while V8 tiers them up. That
 * is the isolate's age, not the Worker: a fresh process' main isolate, after the same warm-up,
 * ran the 1M-bar loop in ~108 ms (~34 ms at 250k bars). V8 compiles the engine anew in every
 * isolate: its background compiler threads used 110–150 ms of CPU in a 1M-bar job, about 70 %
 * of the job thread's own (the bar loop alone was recompiled three times as the job's class,
 * callbacks and branches reached it). A spare Worker warms the engine up while it waits
 * (`WARM_UP`), which took a fresh isolate's first 1M-bar run from ~320 ms to ~170 ms (a warm
 * repeat: ~150 ms); longer warm-ups (30 × 10k, 6 × 50k bars) left 110–150 ms of compiling
 * to the job. Two more measured and left out (same-process A/Bs of alternating 1M-bar jobs
 * through two pools): computing the metrics in the sandbox process' main isolate instead of
 * the Worker (the Worker ran with `metrics: false`, the process computed them from the
 * result's columns) emptied the Worker's result phase (~124 ms) but took the process ~115 ms
 * right after each job (~70 ms only when repeated at once), 266.6 against 272.8 ms over 16
 * pairs; and a larger young generation for the process (`--min-semi-space-size=16`) moved the
 * totals by less than the machine's noise (313 → 280 ms over 12 pairs, then 355 → 369 over 20).
 * Two floors follow. In process mode the data path alone (the bars' compare, the result file's
 * write and read) is 23–35 ms per 1M bars, 14–17 % of the in-process run (the bench prints it),
 * so files between processes cannot reach the target even with a warm isolate, and Deno has no
 * shared memory between processes short of FFI. In either mode, what would reach warm speed is
 * an isolate that ran earlier jobs: in one isolate, after the warm-up, 1M-bar runs each of a
 * fresh module instance of the SMA cross took 160–690 ms for the first, then 115–130 ms from
 * the fourth on (three fresh processes). That means reusing a Worker across jobs, which lets a
 * job's leftovers (globals, timers, `FinalizationRegistry` callbacks, state in modules it
 * imported, such as `data:` ones) reach the next; it is not done.
 * Measured after that and left out (a 1M-bar job through a one-process pool, medians of 7,
 * the machine's noise ±50 ms around 280–320 ms): V8 flags for the sandbox process
 * (`--no-lazy-feedback-allocation`, lower `--invocation-count-for-turbofan`, `-for-maglev`,
 * `-for-osr`, `--osr-from-maglev`, `--always-sparkplug`, `--initial-heap-size=200`,
 * `--no-flush-bytecode`) moved nothing beyond the noise; `--no-maglev`,
 * `--no-concurrent-recompilation`, `--single-threaded-gc` and `--efficiency-mode` made it
 * slower (350–440 ms). A warm-up through the job's own code path (a structured-clone-built job
 * message, the job's progress and trade closures) cut the deoptimizations inside a 1M-bar job
 * from ~30 to ~6 (`--trace-deopt`) with no change in time. A Worker kept for the next job of
 * the same code (a fresh module instance each) ran ten jobs in 725, 357, 306, 231, 244, 156,
 * 160, 171, 237, 305 ms, and in the bench's mix of sizes its runs were slower than a fresh
 * Worker's (316 against 263 ms). `node:worker_threads`' `resourceLimits` do cap one thread's
 * heap in Deno 2.9.6 (the thread ends with `ERR_WORKER_OUT_OF_MEMORY`, the process lives), but
 * such a thread shares its parent's permissions (a revoke in it revoked the parent's), still
 * imported a local file after revoking read, and under a Worker with its own permissions its
 * out-of-memory end was not reported within 20 s: no in-process heap cap to build on yet.
 *
 * @module
 */
import type { BacktestConfig, BacktestResult, Bars, TradeRecord } from "../engine/types.ts";
import { type Diagnostic, transpileStrategy } from "./compile.ts";
import { decodeResult } from "./sandbox_codec.ts";
import { SandboxPool, type SandboxPoolOptions, type SandboxPoolStats } from "./sandbox_pool.ts";
import type { SandboxErrorKind, SandboxProgress } from "./sandbox_protocol.ts";
import { runInWorker, startStrategyWorker } from "./sandbox_runner.ts";

export type { SandboxErrorKind, SandboxProgress, WorkerPhases } from "./sandbox_protocol.ts";
export type { SandboxJobPhases, SandboxPoolOptions, SandboxPoolStats } from "./sandbox_pool.ts";

/** Resource limits of one sandboxed job. */
export interface SandboxLimits {
  /** Wall-clock limit of the whole job, start-up included. @default 120000 */
  timeoutMs: number;
  /** Limit of one call into user code (`OnData`, `Initialize`, constructor, module top level). @default 2000 */
  onDataTimeoutMs: number;
  /** V8 heap cap in MB (the process' resident cap is 2 × this + 256 MB). @default 512 */
  memoryMb: number;
  /** Captured log size in characters (console output and `ctx.log`). @default 262144 */
  logBytes: number;
}

/** Default limits. */
export const DEFAULT_SANDBOX_LIMITS: Readonly<SandboxLimits> = Object.freeze({
  timeoutMs: 120_000,
  onDataTimeoutMs: 2_000,
  memoryMb: 512,
  logBytes: 256 * 1024,
});

/** What to run. */
export interface SandboxRequest {
  /** TypeScript or JavaScript source of a module whose default export is the strategy class. */
  code: string;
  bars: Bars;
  /** Merged over the strategy's own `params`. */
  params?: Record<string, unknown>;
  config?: Partial<BacktestConfig> & { slippageBps?: number };
}

/** Options of `runInSandbox`. */
export interface SandboxOptions {
  limits?: Partial<SandboxLimits>;
  /** Called with the engine's progress reports (about 100 per run). */
  onProgress?: (p: SandboxProgress) => void;
  /** Called with each closed trade as it closes. */
  onTrade?: (t: TradeRecord) => void;
  /** Aborting kills the job; the promise rejects with kind "cancelled". */
  signal?: AbortSignal;
  /** Where to run (tests, benchmarks). @default sandboxMode() */
  mode?: SandboxMode;
}

/** A sandboxed job failed; `kind` says why, the message says what happened. */
export class SandboxError extends Error {
  /** Which limit or failure ended the job. */
  readonly kind: SandboxErrorKind;
  /** Compiler diagnostics (kind "compile" from TypeScript syntax errors). */
  readonly diagnostics: Diagnostic[];
  /** The bar being processed when the strategy failed, when known. */
  readonly bar: number | null;
  /** Console and `ctx.log` output captured before the failure. */
  readonly logs: string[];
  constructor(
    kind: SandboxErrorKind,
    message: string,
    opts: { diagnostics?: Diagnostic[]; bar?: number | null; logs?: string[] } = {},
  ) {
    super(message);
    this.name = "SandboxError";
    this.kind = kind;
    this.diagnostics = opts.diagnostics ?? [];
    this.bar = opts.bar ?? null;
    this.logs = opts.logs ?? [];
  }
}

/** Where jobs run: `process` (pooled subprocesses) or `worker` (Workers in this process). */
export type SandboxMode = "process" | "worker";

/**
 * The mode `runInSandbox` uses: `worker` when env `WAGYU_SANDBOX=worker` or when this process
 * may not start `deno` subprocesses (e.g. a Deno Deploy profile without `--allow-run`), else
 * `process`. Checked per job, so a permission granted later takes effect.
 */
export function sandboxMode(): SandboxMode {
  let env: string | undefined;
  try {
    env = Deno.env.get("WAGYU_SANDBOX");
  } catch {
    env = undefined; // no env permission: decide by the run permission
  }
  if (env === "worker") return "worker";
  if (env === "process") return "process";
  const run = Deno.permissions.querySync({ name: "run", command: Deno.execPath() }).state;
  return run === "granted" ? "process" : "worker";
}

let pool: SandboxPool | null = null;
let poolOptions: Partial<SandboxPoolOptions> = {};

function getPool(): SandboxPool {
  pool ??= new SandboxPool(poolOptions);
  return pool;
}

/**
 * Sets the process pool's options (size, jobs per process, idle time); `{ size: 0 }` keeps
 * no process warm (a fresh process per job). Applies to processes parked from now on.
 */
export function configureSandboxPool(options: Partial<SandboxPoolOptions>): void {
  poolOptions = { ...poolOptions, ...options };
  if (pool) {
    Object.assign(pool.options, options);
    pool.trim();
  }
}

/**
 * Starts what a first job needs, in the background: the pool's processes (in process mode;
 * `processes`, default the pool size, with heap cap `memoryMb`) and the TypeScript compiler.
 * Call it when a server starts, or when a CLI begins loading its data.
 */
export function warmSandboxPool(
  opts: { memoryMb?: number; processes?: number } = {},
): void {
  void transpileStrategy("").catch(() => {});
  if (sandboxMode() !== "process") return;
  getPool().warm(opts.memoryMb ?? DEFAULT_SANDBOX_LIMITS.memoryMb, opts.processes);
}

/**
 * Stops the pool's processes (running jobs fail) and waits for them to exit; also ends worker
 * mode's spare Worker. Call it when a server stops.
 */
export async function closeSandboxPool(): Promise<void> {
  clearTimeout(spareSoon);
  spareSoon = undefined;
  if (spareWorker !== null) {
    clearTimeout(spareWorker.timer);
    spareWorker.worker.terminate();
    spareWorker = null;
  }
  keptColumns = null;
  const p = pool;
  pool = null;
  await p?.close();
}

/** Pool counters: processes started so far, idle and alive now, bars sent or reused. */
export function sandboxPoolStats(): SandboxPoolStats {
  return pool?.stats ??
    { spawned: 0, idle: 0, alive: 0, pids: [], barsSent: 0, barsReused: 0, lastJob: null };
}

/** Extra time a worker-mode job's Worker may take to start before its own limit begins. */
const STARTUP_GRACE_MS = 30_000;
/** How long worker mode keeps a prepared spare Worker for the next job. */
const SPARE_WORKER_IDLE_MS = 5_000;

/**
 * Worker mode's prepared spare (engine loaded, built-ins frozen): the next job starts without
 * a Worker start-up. Short-lived, since a live Worker keeps a program from ending.
 */
let spareWorker: { worker: Worker; timer: ReturnType<typeof setTimeout> } | null = null;

function takeWorker(): Worker {
  const spare = spareWorker;
  if (spare === null) return startStrategyWorker();
  spareWorker = null;
  clearTimeout(spare.timer);
  return spare.worker;
}

function keepSpareWorker(): void {
  if (spareWorker !== null) return;
  const worker = startStrategyWorker();
  const timer = setTimeout(() => {
    if (spareWorker?.worker !== worker) return;
    spareWorker = null;
    worker.terminate();
    keptColumns = null;
  }, SPARE_WORKER_IDLE_MS);
  Deno.unrefTimer(timer);
  spareWorker = { worker, timer };
}

/** A pending `keepSpareWorker` (see `keepSpareWorkerSoon`). */
let spareSoon: ReturnType<typeof setTimeout> | undefined;

/**
 * Starts the next spare after the job's caller has its result: `new Worker` blocks this
 * thread for 15–30 ms (measured), which is no part of the job that just ended.
 */
function keepSpareWorkerSoon(): void {
  if (spareSoon !== undefined) return;
  const timer = setTimeout(() => {
    spareSoon = undefined;
    keepSpareWorker();
  }, 0);
  Deno.unrefTimer(timer);
  spareSoon = timer;
}

/**
 * The last worker-mode job's column copies, handed back by its Worker (its views of them are
 * detached by the transfer): the next job of the same length copies its bars into them, whose
 * pages are already faulted in, instead of into fresh memory (a fresh 48 MB copy of 1M bars
 * took 15–85 ms here, against a few ms for a copy into warm pages). Dropped with the spare.
 */
let keptColumns: Float64Array[] | null = null;

/** Copies of the six columns for a Worker to own: `keptColumns` when they fit. */
function columnCopies(b: Bars): Float64Array[] {
  const cols = [b.timestamp, b.open, b.high, b.low, b.close, b.volume];
  const kept = keptColumns;
  keptColumns = null;
  const fits = (k: unknown) =>
    k instanceof Float64Array && k.buffer instanceof ArrayBuffer && k.length === b.length;
  if (kept === null || kept.length !== cols.length || !kept.every(fits)) {
    return cols.map((c) => c.slice());
  }
  for (let i = 0; i < cols.length; i++) kept[i].set(cols[i]);
  return kept;
}

function resolveLimits(partial: Partial<SandboxLimits> = {}): SandboxLimits {
  const l = { ...DEFAULT_SANDBOX_LIMITS, ...partial };
  for (const k of ["timeoutMs", "onDataTimeoutMs", "memoryMb", "logBytes"] as const) {
    if (!Number.isFinite(l[k]) || l[k] <= 0) {
      throw new RangeError(`Sandbox limit ${k} must be a positive number, got ${l[k]}`);
    }
  }
  return l;
}

/**
 * Compiles `req.code` and runs it against `req.bars` in the sandbox (see the module doc for
 * the two modes). Rejects with `SandboxError` on a compile error, a breached limit, a
 * strategy error or cancellation; the calling process and other jobs are unaffected.
 *
 * @example
 * ```ts
 * const result = await runInSandbox(
 *   { code: "export default class S { OnData() { return 1; } }", bars },
 *   { limits: { timeoutMs: 10_000 } },
 * );
 * ```
 */
export async function runInSandbox(
  req: SandboxRequest,
  opts: SandboxOptions = {},
): Promise<BacktestResult> {
  const limits = resolveLimits(opts.limits);
  if (opts.signal?.aborted) throw new SandboxError("cancelled", "Backtest cancelled");
  const compiled = await transpileStrategy(req.code);
  if (!compiled.ok) {
    const first = compiled.diagnostics[0];
    throw new SandboxError(
      "compile",
      first
        ? `Strategy does not compile: line ${first.line}, column ${first.column}: ${first.message}`
        : "Strategy does not compile",
      { diagnostics: compiled.diagnostics },
    );
  }
  const { bars } = req;
  const n = bars.length;
  for (const k of ["timestamp", "open", "high", "low", "close", "volume"] as const) {
    if (!(bars[k] instanceof Float64Array) || bars[k].length !== n) {
      throw new TypeError(`Bars column ${k} must be a Float64Array of length ${n}`);
    }
  }
  if (opts.signal?.aborted) throw new SandboxError("cancelled", "Backtest cancelled");
  if ((opts.mode ?? sandboxMode()) === "worker") {
    return await runInThisProcess(compiled.js, req, limits, opts);
  }
  const outcome = await getPool().run({
    js: compiled.js,
    bars,
    params: req.params,
    config: req.config,
    timeoutMs: limits.timeoutMs,
    onDataTimeoutMs: limits.onDataTimeoutMs,
    memoryMb: limits.memoryMb,
    logBytes: limits.logBytes,
    onProgress: opts.onProgress,
    onTrade: opts.onTrade,
    signal: opts.signal,
  });
  if (outcome.type === "result") return outcome.result;
  throw new SandboxError(outcome.kind, outcome.message, { bar: outcome.bar, logs: outcome.logs });
}

/**
 * Worker mode: the permission-less Worker runs in this process; bars go in as transferred
 * copies. Time and log limits hold as in process mode; the memory limit does not (a Worker
 * takes no heap cap): memory is bounded by the platform's isolate limit, and a heap blow-up
 * there can end this process.
 */
async function runInThisProcess(
  js: string,
  req: SandboxRequest,
  limits: SandboxLimits,
  opts: SandboxOptions,
): Promise<BacktestResult> {
  const b = req.bars;
  const columns = columnCopies(b);
  let callbackError: unknown = null;
  const guard = <T>(f: ((x: T) => void) | undefined) =>
    f === undefined ? undefined : (x: T) => {
      try {
        f(x);
      } catch (err) {
        callbackError ??= err;
        job.stop("runtime", "Progress callback failed");
      }
    };
  const onTrade = guard(opts.onTrade);
  const timedOut = () =>
    job.stop("timeout", `Backtest exceeded the time limit of ${limits.timeoutMs} ms`);
  // Until the Worker is ready: its start-up, with a margin for a cold start.
  let wall = setTimeout(timedOut, limits.timeoutMs + STARTUP_GRACE_MS);
  const job = runInWorker(takeWorker(), {
    js,
    params: req.params,
    config: req.config,
    columns,
    onDataTimeoutMs: limits.onDataTimeoutMs,
    logBytes: limits.logBytes,
    streamTrades: opts.onTrade !== undefined,
  }, {
    // The limit counts from a ready Worker: a Worker's first start in a `deno test` process
    // includes type-checking the engine, seconds on a loaded machine.
    onReady: () => {
      clearTimeout(wall);
      wall = setTimeout(timedOut, limits.timeoutMs);
    },
    onProgress: guard(opts.onProgress),
    onTrades: onTrade && ((ts) => {
      for (const t of ts) onTrade(t);
    }),
  });
  const onAbort = () => job.stop("cancelled", "Backtest cancelled");
  opts.signal?.addEventListener("abort", onAbort);
  try {
    const outcome = await job.done;
    if (callbackError) throw callbackError;
    if (outcome.type === "error") {
      throw new SandboxError(outcome.kind, outcome.message, {
        bar: outcome.bar,
        logs: outcome.logs,
      });
    }
    keptColumns = outcome.bars;
    return decodeResult(outcome.meta, outcome.parts, {
      barTimes: req.bars.timestamp,
    });
  } finally {
    clearTimeout(wall);
    opts.signal?.removeEventListener("abort", onAbort);
    // Its teardown runs on its own thread, beside whatever the caller does next.
    job.release();
    keepSpareWorkerSoon();
  }
}
