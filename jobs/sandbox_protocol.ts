/**
 * Messages between the parts of the sandbox: the caller's process (`sandbox.ts`,
 * `sandbox_pool.ts`), the long-lived sandbox subprocess (`sandbox_host.ts`), and the
 * permission-less Worker that runs the user strategy together with the engine
 * (`sandbox_worker.ts`, driven by `sandbox_runner.ts` in the subprocess or, in worker mode, in
 * the caller).
 *
 * The host talks to the caller over its stdout in binary frames that start with a random
 * per-job nonce: user code cannot learn the nonce (it never enters the Worker), so bytes the
 * strategy manages to write to stdout can neither forge nor be mistaken for a frame.
 *
 * @module
 */
import type { BacktestConfig, TradeRecord } from "../engine/types.ts";
import type { PartLayout } from "./sandbox_codec.ts";

/** Why a sandboxed job failed; the `kind` of `SandboxError`. */
export type SandboxErrorKind =
  | "timeout"
  | "memory"
  | "compile"
  | "runtime"
  | "permission"
  | "cancelled";

/** Progress of a running backtest (what `RunOptions.onProgress` reports). */
export interface SandboxProgress {
  index: number;
  total: number;
  time: number;
  equity: number;
}

/**
 * What the caller writes to the long-lived host's stdin, each message a little-endian u32
 * length, then UTF-8 JSON: jobs, run one at a time, and after a job's result file has been
 * read, a {@linkcode HostResultRead}.
 */
export type HostMessage = HostRequest | HostResultRead;

/** One job; the bars are in `barsPath`. */
export interface HostRequest {
  type: "job";
  /** Hex nonce that starts every frame the host writes to stdout for this job. */
  nonce: string;
  /** The strategy as JavaScript (an ES module with a default-exported class). */
  js: string;
  params?: Record<string, unknown>;
  config?: Partial<BacktestConfig> & { slippageBps?: number };
  /** Number of bars; the file at `barsPath` holds 6 × length float64 values, column after
   * column (a file, not stdin: a pipe moves the 48 MB of a million bars in 64 KB steps, each a
   * context switch; that took ~0.4 s of a 1M-bar job on the 2-core machine). */
  length: number;
  /**
   * The bar columns (`bars_file.ts`), in the process' private directory. The caller writes
   * the file only when it does not hold this job's bars already (it compares them byte for
   * byte); the host only reads it.
   */
  barsPath: string;
  /**
   * Whether the caller wrote the bars file for this job. False: the file still holds what it
   * held at the end of the host's last job, so columns the host read from it while idle
   * (after `HostResultRead`) are this job's bars.
   */
  barsWritten: boolean;
  /**
   * Where the host writes a successful result (in the same directory; see
   * `FrameType.ResultFile`). The same file for every job of the process, written in place
   * from its start and never truncated: its pages stay in the page cache, so writing 12 MB
   * (a 1M-bar result) is one copy, ~1 ms here, where a new file took 2–25 ms to allocate.
   * It may be longer than this job's result; the frame says how many bytes are this job's.
   */
  resultPath: string;
  onDataTimeoutMs: number;
  /** The job's wall-clock limit: the host stops the job on its own shortly after (a backstop
   * should the caller not kill it first). */
  timeoutMs: number;
  logBytes: number;
  /** Whether the caller wants closed trades streamed (otherwise they only come in the result). */
  streamTrades: boolean;
}

/**
 * The caller has read the last job's result file. Only then does the host start its next
 * spare Worker: a thread start and an engine warm-up (~100 ms of CPU) that would otherwise
 * compete with the caller's read and decode of the result for the two cores of a small
 * machine. A job that comes first gets a Worker started for it.
 */
export interface HostResultRead {
  type: "resultRead";
}

/** Shared-memory slots the Worker writes and the host watches (an `Int32Array` view). */
export const Slot = Object.freeze(
  {
    /** What the Worker is doing now: one of `Phase`. */
    Phase: 0,
    /** Incremented on every entry into user code; tells the host a new call started. */
    Calls: 1,
    /** Index of the bar being processed (for error messages). */
    Bar: 2,
  } as const,
);
/** Number of `Int32` slots in the shared control buffer. */
export const SLOT_COUNT = 4;

/** Values of `Slot.Phase`. */
export const Phase = Object.freeze(
  {
    /** Engine code (or nothing) is running: no per-call deadline applies. */
    Engine: 0,
    /** The user module is being evaluated (top-level code). */
    Loading: 1,
    /** The strategy constructor or `Initialize` is running. */
    Init: 2,
    /** `OnData` is running. */
    OnData: 3,
  } as const,
);

/**
 * The spare Worker's warm-up (sandbox_worker.ts): up to `runs` backtests of built-in strategies
 * over `bars` synthetic bars, one per macrotask, before its job arrives. 10 × 10k measured
 * best among 40 × 2k, 10 × 10k and 5 × 20k (first 1M-bar run in a fresh isolate: median 324
 * ms without, 172 ms with, 5 fresh Workers each, 2-core VM); a slice takes ~10–40 ms, the
 * most a job that arrives meanwhile waits.
 */
export const WARM_UP = Object.freeze({ bars: 10_000, runs: 10 });

/**
 * Where a successful job's time went inside its Worker, in ms: what a fresh isolate costs
 * next to the same run in a warm one (`deno task bench sandbox` prints both).
 */
export interface WorkerPhases {
  /** Importing the strategy module and constructing the strategy. */
  load: number;
  /** The engine's bar loop: from the run's start to its final progress report (bar n − 1). */
  loop: number;
  /** From there to the engine's result: closing out, the result and its metrics. */
  result: number;
  /** Encoding the result for the trip out (`encodeResult`). */
  encode: number;
}

/** Messages the Worker posts to the thread that started it. */
export type WorkerMessage =
  /** Prepared (engine loaded, built-ins frozen): the job's own time starts now. */
  | { type: "ready" }
  | { type: "progress"; progress: SandboxProgress }
  /** Closed trades since the last message, batched with progress so the loop stays fast. */
  | { type: "trades"; trades: TradeRecord[] }
  /**
   * The result, encoded by `encodeResult` (sandbox_codec.ts); the parts are transferred, and
   * so are the job's bar columns, handed back untouched for the host to keep for a next job
   * on the same bars (user code never holds them: the engine keeps them private).
   */
  | {
    type: "result";
    meta: Uint8Array;
    parts: (Float64Array | Uint8Array)[];
    bars: Float64Array[];
    phases: WorkerPhases;
  }
  | { type: "error"; kind: SandboxErrorKind; message: string; bar: number | null; logs: string[] };

/** Frame types on the host's stdout. */
export const FrameType = Object.freeze(
  {
    Progress: 1,
    /** JSON: an array of closed trades. */
    Trades: 2,
    /** JSON: `{ kind, message, bar, logs }`. */
    Error: 4,
    /**
     * JSON: `{ layout, metaOffset, metaBytes }` (`ResultFileInfo`): the encoded result was
     * written to `HostRequest.resultPath`, its binary parts 8-byte aligned at the offsets of
     * `layout`, then the meta JSON. Only this nonce-tagged frame makes the caller read the file.
     */
    ResultFile: 5,
  } as const,
);

/** Bytes in a frame header after the nonce: type (u8), JSON length (u32), binary length (u32). */
export const FRAME_HEADER_BYTES = 9;
/** Length of the nonce in bytes (written as-is, not hex, in frames). */
export const NONCE_BYTES = 16;

/** Where a `FrameType.ResultFile` frame says the parts and the meta JSON are. */
export interface ResultFileInfo {
  layout: PartLayout;
  metaOffset: number;
  metaBytes: number;
  /** The host's phases of the job. */
  phases: HostPhases;
}

/** Where a successful job's time went in the sandbox process, in ms (see `SandboxJobPhases`). */
export interface HostPhases {
  /**
   * Reading the bars file into the Worker's columns; ~0 when the host had read them while idle
   * (the file was not rewritten for this job).
   */
  readBars: number;
  /** The Worker's part, from the job's message to its encoded result. */
  run: number;
  /** The Worker's own split of `run` (the rest of `run`: messages between the threads). */
  worker: WorkerPhases;
  /** Writing the result file. */
  writeResult: number;
}

/**
 * The first message to a fresh Worker (posted as soon as it is created, so a spare Worker is
 * ready before its job arrives): it freezes the trusted modules and the built-ins.
 */
export interface WorkerPrepare {
  type: "prepare";
  /**
   * URLs of the trusted modules that may be in the Worker's module graph (the engine and the
   * sandbox's own). Whatever of them is loaded can also be imported by user code (no permission
   * is checked for a module already loaded), so the Worker freezes their exports first.
   */
  trustedModules: string[];
}

/** The job message to a prepared Worker, with the bar columns transferred. */
export interface WorkerInit {
  type: "job";
  js: string;
  params?: Record<string, unknown>;
  config?: Partial<BacktestConfig> & { slippageBps?: number };
  timestamp: Float64Array;
  open: Float64Array;
  high: Float64Array;
  low: Float64Array;
  close: Float64Array;
  volume: Float64Array;
  /** Shared control slots (see `Slot`). */
  control: Int32Array;
  logBytes: number;
  streamTrades: boolean;
}
