/**
 * The `workers` backend: the real engine in a pool of Deno Workers (one per core by default),
 * for any strategy, built-in or user code. Each worker runs with `permissions: "none"` and
 * loads the strategy source from a `data:` URL, so untrusted code can touch no file, network
 * or environment. Work is handed out in small chunks from one shared queue: a worker that
 * finishes early takes the next chunk (work stealing by pulling), so uneven combinations
 * (a fast period of 2 trades far more than one of 50) do not leave a core idle.
 *
 * @module
 */
import type { BacktestConfig, Bars } from "../../engine/types.ts";
import type { FamilyId } from "../../gpu/families.ts";
import type { ParamSet } from "../grid.ts";
import type { ComboMetrics } from "../objective.ts";
import { StrategyError } from "../../engine/backtest.ts";
import { ComboTimeoutError, poolError, type PoolReply, type PoolRequest } from "./pool_protocol.ts";

/** The bar columns as sent to pool workers. */
type PoolColumns = Extract<PoolRequest, { type: "init" }>["columns"];

/** Where the strategy comes from: TypeScript or JavaScript source (no imports). */
export interface StrategySource {
  /** Source text of a module whose default export is the strategy class. */
  code: string;
  /** "ts" (default) or "js". */
  lang?: "ts" | "js";
}

/** Options of `runWorkerPool`. */
export interface WorkerPoolOptions {
  /** Workers. @default navigator.hardwareConcurrency */
  size?: number;
  /**
   * Combinations per chunk. @default guided: a quarter of the remaining combinations' share
   * per worker, between 1 and 32 (large chunks first, single combinations at the end)
   */
  chunkSize?: number;
  config?: Partial<BacktestConfig> & { slippageBps?: number };
  /** Called as chunks finish: index of the chunk's first combination and its results. */
  onChunk?: (start: number, results: ComboMetrics[]) => void;
  signal?: AbortSignal;
  /**
   * Time budget per combination (ms): a chunk running past budget × its size terminates its
   * worker and fails the run, naming the chunk (an endless loop in user code). @default none
   */
  comboTimeoutMs?: number;
  /**
   * Run a built-in family with the CPU decision kernel and float64 replay instead of the
   * engine (`source` is then ignored).
   */
  family?: { id: FamilyId; annualization: number };
}

/** Encodes source as a `data:` URL a permission-less worker can import. */
export function dataUrlOf(src: StrategySource): string {
  const bytes = new TextEncoder().encode(src.code);
  let bin = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  const type = src.lang === "js" ? "text/javascript" : "application/typescript";
  return `data:${type};base64,${btoa(bin)}`;
}

/**
 * The bar columns copied once into one `SharedArrayBuffer`, so every worker's init message
 * shares the same memory instead of structured-cloning 48 bytes × bars into each worker (a
 * copy made serially on the calling thread, plus fresh pages for every worker to fault in).
 * The caller's arrays are never shared: a strategy that writes to its bars cannot reach them.
 */
export function sharedColumns(bars: Bars): PoolColumns {
  const n = bars.length;
  const sab = new SharedArrayBuffer(n * 8 * 6);
  const col = (k: number, src: Float64Array) => {
    const out = new Float64Array(sab, k * n * 8, n);
    out.set(src.subarray(0, n));
    return out;
  };
  return {
    timestamp: col(0, bars.timestamp),
    open: col(1, bars.open),
    high: col(2, bars.high),
    low: col(3, bars.low),
    close: col(4, bars.close),
    volume: col(5, bars.volume),
  };
}

/** Largest chunk the guided default hands out. */
const MAX_CHUNK = 32;

/** Default pool size: one worker per core. */
export function defaultPoolSize(): number {
  return Math.max(1, navigator.hardwareConcurrency || 1);
}

/**
 * The next chunk's size under guided self-scheduling: a share of what is left (so that early
 * chunks are large and cheap to hand out, and the last ones small, so that no worker is left
 * with a long chunk while the others idle at the end), between 1 and `max`.
 */
export function guidedChunk(remaining: number, size: number, max: number): number {
  return Math.max(1, Math.min(max, Math.ceil(remaining / (size * 4))));
}

/** Chunks handed to one worker and not answered yet (see `runWorkerPool`). */
const IN_FLIGHT = 2;

/**
 * Runs every combination through the engine in a worker pool and returns their metrics in
 * combination order. Rejects with the first worker error (naming the combination), on abort,
 * or on a chunk timeout; all workers are terminated in every case.
 *
 * Each worker holds up to two chunks: the one it runs and the next, already in its message
 * queue, so it never waits for a round trip through the calling thread (which may be busy
 * with the other workers' results, progress reports or a server's requests) between chunks.
 */
export async function runWorkerPool(
  bars: Bars,
  source: StrategySource,
  combos: ParamSet[],
  opts: WorkerPoolOptions = {},
): Promise<ComboMetrics[]> {
  const total = combos.length;
  const out: ComboMetrics[] = new Array(total);
  if (total === 0) return out;
  const size = Math.max(1, Math.min(opts.size ?? defaultPoolSize(), total));
  const nextChunk = () => opts.chunkSize ?? guidedChunk(total - next, size, MAX_CHUNK);
  let next = 0;
  const workers: Worker[] = [];
  const moduleUrl = opts.family ? "" : dataUrlOf(source);
  const columns = sharedColumns(bars);
  try {
    await new Promise<void>((resolve, reject) => {
      let running = 0;
      let failed = false;
      const fail = (e: Error) => {
        if (failed) return;
        failed = true;
        reject(e);
      };
      const onAbort = () => fail(opts.signal?.reason ?? new DOMException("Aborted", "AbortError"));
      if (opts.signal?.aborted) return onAbort();
      opts.signal?.addEventListener("abort", onAbort, { once: true });

      /** One worker's state: its chunks in flight (oldest first) and the oldest's timer. */
      interface Slot {
        w: Worker;
        inFlight: { start: number; end: number }[];
        timer?: ReturnType<typeof setTimeout>;
        finished: boolean;
      }
      // The time budget runs for the chunk the worker is on (the oldest in flight).
      const arm = (slot: Slot) => {
        if (slot.timer !== undefined) clearTimeout(slot.timer);
        slot.timer = undefined;
        const head = slot.inFlight[0];
        if (opts.comboTimeoutMs === undefined || !head) return;
        const ms = opts.comboTimeoutMs * (head.end - head.start);
        slot.timer = setTimeout(() => {
          slot.w.terminate();
          fail(
            new ComboTimeoutError(
              `Timed out: combinations ${head.start}..${head.end - 1} (${
                JSON.stringify(combos[head.start])
              } first) ran past ${ms} ms`,
            ),
          );
        }, ms);
      };
      const topUp = (slot: Slot) => {
        if (failed) return;
        while (slot.inFlight.length < IN_FLIGHT && next < total) {
          const start = next;
          next = Math.min(total, next + nextChunk());
          slot.inFlight.push({ start, end: next });
          const msg: PoolRequest = { type: "chunk", start, params: combos.slice(start, next) };
          slot.w.postMessage(msg);
          if (slot.inFlight.length === 1) arm(slot);
        }
        if (slot.inFlight.length === 0 && !slot.finished) {
          slot.finished = true;
          if (--running === 0) {
            opts.signal?.removeEventListener("abort", onAbort);
            resolve();
          }
        }
      };
      for (let i = 0; i < size; i++) {
        const w = new Worker(new URL("./engine_worker.ts", import.meta.url), {
          type: "module",
          deno: { permissions: "none" },
        });
        workers.push(w);
        running++;
        const slot: Slot = { w, inFlight: [], finished: false };
        w.onerror = (e) => {
          e.preventDefault();
          // An error nothing caught in the worker: the strategy's (a timer it left throwing).
          fail(new StrategyError(`Strategy failed: ${e.message}`, -1));
        };
        w.onmessage = (e: MessageEvent<PoolReply>) => {
          const m = e.data;
          if (m.type === "error") {
            if (slot.timer !== undefined) clearTimeout(slot.timer);
            return fail(poolError(m.name, m.message, m.bar));
          }
          if (m.type === "done") {
            const k = slot.inFlight.findIndex((c) => c.start === m.start);
            if (k >= 0) slot.inFlight.splice(k, 1);
            if (k === 0) arm(slot);
            for (let j = 0; j < m.results.length; j++) out[m.start + j] = m.results[j];
            opts.onChunk?.(m.start, m.results);
          }
          topUp(slot);
        };
        const init: PoolRequest = {
          type: "init",
          moduleUrl,
          columns,
          config: opts.config ?? {},
          family: opts.family,
        };
        w.postMessage(init);
      }
    });
  } finally {
    for (const w of workers) w.terminate();
  }
  return out;
}
