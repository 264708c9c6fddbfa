/**
 * Runs one sandbox job in a fresh permission-less Worker (`sandbox_worker.ts`) of the current
 * process and enforces the per-call time budget. Used by the sandbox subprocess
 * (`sandbox_host.ts`) and, in worker mode, by `runInSandbox` itself.
 *
 * The per-call watchdog: around every entry into user code the Worker writes the phase and a
 * call counter into a `SharedArrayBuffer` that only the Worker's trusted code and this module
 * hold (plain stores: a few ns per bar). This module polls it every
 * `clamp(onDataTimeoutMs / 10, 5, 50)` ms and terminates the Worker when one call has not
 * returned for the budget, so a stuck call is caught between the budget and the budget plus
 * two poll intervals after it started; calls shorter than the budget are never stopped.
 *
 * @module
 */
import type { EncodedResult } from "./sandbox_codec.ts";
import {
  Phase,
  type SandboxErrorKind,
  type SandboxProgress,
  Slot,
  SLOT_COUNT,
  type WorkerInit,
  type WorkerMessage,
  type WorkerPhases,
  type WorkerPrepare,
} from "./sandbox_protocol.ts";
import type { TradeRecord } from "../engine/types.ts";

/** A job for {@linkcode runInWorker}. */
export interface RunnerJob {
  js: string;
  params?: Record<string, unknown>;
  config?: WorkerInit["config"];
  /** timestamp, open, high, low, close, volume; their buffers are transferred (detached). */
  columns: Float64Array[];
  onDataTimeoutMs: number;
  logBytes: number;
  streamTrades: boolean;
}

/** How a job ended. */
export type RunnerOutcome =
  /** `bars`: the job's columns, handed back by the Worker (see `WorkerMessage`). */
  | ({ type: "result"; bars: Float64Array[]; phases: WorkerPhases } & EncodedResult)
  | { type: "error"; kind: SandboxErrorKind; message: string; bar: number | null; logs: string[] };

/** Callbacks of {@linkcode runInWorker}. */
export interface RunnerHooks {
  /** The Worker is prepared and starts the job (its start-up is over). */
  onReady?: () => void;
  onProgress?: (p: SandboxProgress) => void;
  onTrades?: (t: TradeRecord[]) => void;
}

/** A running job: its outcome, and a way to end it early. */
export interface RunningJob {
  done: Promise<RunnerOutcome>;
  /** Terminates the Worker; `done` resolves with this error unless the job already ended. */
  stop(kind: SandboxErrorKind, message: string, bar?: number | null): void;
  /**
   * Terminates the Worker after a result; the taker of the result calls it once the result is
   * stored, so that the isolate's teardown (freeing its heap on its thread) does not compete
   * with storing it for the CPU. The Worker has nothing left to do (only timers the strategy
   * left behind could still run), and is ended anyway `LINGER_MS` after its result. A no-op
   * once it has ended.
   */
  release(): void;
}

/** Longest a Worker lives after its result when nobody releases it. */
const LINGER_MS = 1000;

const WORKER_URL = new URL("./sandbox_worker.ts", import.meta.url);

/**
 * URLs of the modules that may be in the Worker's module graph (the engine's and the
 * sandbox's own): the Worker freezes the exports of those loaded, since user code can
 * `import()` an already loaded module without a permission check.
 */
function trustedModules(): string[] {
  const engine = new URL("../engine/", import.meta.url);
  const out = ["./sandbox_protocol.ts", "./sandbox_codec.ts", "./sandbox_warm_up.ts"].map((f) =>
    new URL(f, import.meta.url).href
  );
  for (const e of Deno.readDirSync(engine)) {
    if (e.isFile && e.name.endsWith(".ts")) out.push(new URL(e.name, engine).href);
  }
  return out.sort();
}

let trusted: string[] | null = null;
/** Workers that said "ready" before their job's handlers were attached. */
const prepared = new WeakSet<Worker>();

/**
 * Creates a permission-less Worker and tells it to prepare (load the engine, freeze the
 * built-ins), so that a spare one is ready before its job arrives. Each Worker runs one job.
 */
export function startStrategyWorker(): Worker {
  trusted ??= trustedModules();
  const worker = new Worker(WORKER_URL, {
    type: "module",
    name: "strategy",
    deno: { permissions: "none" },
  });
  const prepare: WorkerPrepare = { type: "prepare", trustedModules: trusted };
  // Replaced by runInWorker's handler; a message with no handler would be lost.
  worker.onmessage = (e: MessageEvent<WorkerMessage>) => {
    if (e.data.type === "ready") prepared.add(worker);
  };
  worker.postMessage(prepare);
  return worker;
}

/**
 * Runs `job` in `worker` (from {@linkcode startStrategyWorker}), which it terminates: at once
 * after an error, on `release()` after a result.
 */
export function runInWorker(worker: Worker, job: RunnerJob, hooks: RunnerHooks = {}): RunningJob {
  const control = new Int32Array(new SharedArrayBuffer(SLOT_COUNT * 4));
  let settle!: (o: RunnerOutcome) => void;
  const done = new Promise<RunnerOutcome>((resolve) => (settle = resolve));
  let finished = false;
  // deno-lint-ignore prefer-const -- assigned below, read by `finish` (set before any event)
  let watchdog: ReturnType<typeof setInterval> | undefined;
  let lingering: ReturnType<typeof setTimeout> | undefined;
  let ended = false;
  const release = () => {
    if (ended) return;
    ended = true;
    clearTimeout(lingering);
    worker.terminate();
  };
  const finish = (o: RunnerOutcome) => {
    if (finished) return;
    finished = true;
    clearInterval(watchdog);
    if (o.type === "result") {
      lingering = setTimeout(release, LINGER_MS);
      Deno.unrefTimer(lingering);
    } else {
      release();
    }
    settle(o);
  };
  const stop = (kind: SandboxErrorKind, message: string, bar: number | null = null) =>
    finish({ type: "error", kind, message, bar, logs: [] });

  worker.onmessage = (e: MessageEvent<WorkerMessage>) => {
    if (finished) return;
    const m = e.data;
    switch (m.type) {
      case "ready":
        hooks.onReady?.();
        break;
      case "progress":
        hooks.onProgress?.(m.progress);
        break;
      case "trades":
        hooks.onTrades?.(m.trades);
        break;
      case "result":
        finish({ type: "result", meta: m.meta, parts: m.parts, bars: m.bars, phases: m.phases });
        break;
      case "error":
        finish({ type: "error", kind: m.kind, message: m.message, bar: m.bar, logs: m.logs });
        break;
      default: {
        const _exhaustive: never = m;
        stop("runtime", `Unknown message from the strategy worker: ${JSON.stringify(_exhaustive)}`);
      }
    }
  };
  if (prepared.has(worker)) queueMicrotask(() => hooks.onReady?.());
  worker.onerror = (e: ErrorEvent) => {
    e.preventDefault();
    stop("runtime", `Strategy error: ${e.message}`);
  };
  worker.onmessageerror = () =>
    stop("runtime", "The strategy sent a message that could not be read");

  // A call is "stuck" when the phase says user code is running and the call counter has not
  // moved for longer than the budget.
  const budget = job.onDataTimeoutMs;
  const pollMs = Math.max(5, Math.min(50, Math.floor(budget / 10)));
  let lastCalls = -1;
  let lastPhase = -1;
  let since = performance.now();
  watchdog = setInterval(() => {
    const phase = Atomics.load(control, Slot.Phase);
    const calls = Atomics.load(control, Slot.Calls);
    const now = performance.now();
    if (phase === Phase.Engine || calls !== lastCalls || phase !== lastPhase) {
      lastCalls = calls;
      lastPhase = phase;
      since = now;
      return;
    }
    const ms = Math.round(now - since);
    if (now - since <= budget) return;
    const bar = Atomics.load(control, Slot.Bar);
    switch (phase) {
      case Phase.Loading:
        return stop(
          "timeout",
          `Strategy module top-level code did not finish within ${budget} ms (an infinite loop, or a top-level promise that never settles?)`,
        );
      case Phase.Init:
        return stop(
          "timeout",
          `Strategy constructor or Initialize() did not return within ${budget} ms`,
        );
      default:
        return stop(
          "timeout",
          `OnData on bar ${bar} did not return within the per-call limit of ${budget} ms (ran at least ${ms} ms)`,
          bar,
        );
    }
  }, pollMs);

  const [timestamp, open, high, low, close, volume] = job.columns;
  const init: WorkerInit = {
    type: "job",
    js: job.js,
    params: job.params,
    config: job.config,
    timestamp,
    open,
    high,
    low,
    close,
    volume,
    control,
    logBytes: job.logBytes,
    streamTrades: job.streamTrades,
  };
  worker.postMessage(init, job.columns.map((c) => c.buffer));
  return { done, stop, release };
}
