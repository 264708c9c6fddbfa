/**
 * The `workers` backend for untrusted strategy code, one process away: `runWorkerPool` run in
 * a `deno` subprocess (`isolated_pool_host.ts`) started with a V8 heap cap, which every
 * isolate there gets, its pool Workers included. In this process a Worker that reaches V8's
 * heap limit aborts the whole process (checked on Deno 2.9.6: an optimization whose
 * strategy allocated without bound ended the server), and Deno's Workers take no heap cap of
 * their own; there it ends only that process, and the optimization fails saying so.
 *
 * The subprocess may read the engine and optimizer sources and nothing else; its Workers run
 * the strategy with no permissions, as in this process. A watchdog polls its resident memory
 * as the sandbox's does, for `ArrayBuffer` bombs that live outside the V8 heap.
 *
 * @module
 */
import type { Bars } from "../../engine/types.ts";
import { cappedDenoArgs, readRssBytes } from "../../jobs/capped_process.ts";
import type { ParamSet } from "../grid.ts";
import type { ComboMetrics } from "../objective.ts";
import {
  decodeMetrics,
  type IsolatedPoolHeader,
  type IsolatedPoolLine,
} from "./isolated_pool_protocol.ts";
import { poolError } from "./pool_protocol.ts";
import { defaultPoolSize, type StrategySource, type WorkerPoolOptions } from "./workers.ts";

/** Options of {@linkcode runWorkerPoolIsolated}. */
export interface IsolatedPoolOptions extends Omit<WorkerPoolOptions, "family"> {
  /** V8 heap cap of each isolate in the subprocess, MB. @default 512 */
  memoryMb?: number;
}

/** The strategy exceeded the memory cap: its optimization was stopped. */
export class OptimizationMemoryError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "OptimizationMemoryError";
  }
}

const HOST_URL = new URL("./isolated_pool_host.ts", import.meta.url);
const READABLE = [new URL("../../engine/", import.meta.url), new URL("../", import.meta.url)]
  .map((u) => decodeURIComponent(u.pathname));
const RSS_POLL_MS = 25;
const MAX_STDERR = 64 * 1024;

/**
 * Same as `runWorkerPool(bars, source, combos, opts)` (same results, same `onChunk` calls),
 * in a subprocess with a heap cap of `memoryMb` per isolate. Its resident memory is capped at
 * (pool size + 1) × `memoryMb` + 256 MB.
 */
export async function runWorkerPoolIsolated(
  bars: Bars,
  source: StrategySource,
  combos: ParamSet[],
  opts: IsolatedPoolOptions = {},
): Promise<ComboMetrics[]> {
  const total = combos.length;
  const out: ComboMetrics[] = new Array(total);
  if (total === 0) return out;
  opts.signal?.throwIfAborted();
  const memoryMb = opts.memoryMb ?? 512;
  const size = Math.max(1, Math.min(opts.size ?? defaultPoolSize(), total));
  const rssCapMb = (size + 1) * memoryMb + 256;
  const child = new Deno.Command(Deno.execPath(), {
    args: cappedDenoArgs(memoryMb, READABLE, [HOST_URL.href]),
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let stopped: Error | null = null;
  /** Why the child is stopped when the run itself ended it (not an error of the run). */
  const finished = new Error("finished");
  const stop = (e: Error) => {
    stopped ??= e;
    try {
      child.kill("SIGKILL");
    } catch {
      // already gone
    }
  };
  const onAbort = () => stop(opts.signal?.reason ?? new DOMException("Aborted", "AbortError"));
  opts.signal?.addEventListener("abort", onAbort, { once: true });
  const watchdog = setInterval(() => {
    const mb = (readRssBytes(child.pid) ?? 0) / 2 ** 20;
    if (mb > rssCapMb) {
      stop(
        new OptimizationMemoryError(
          `The strategy used more than ${rssCapMb} MB of memory ` +
            `(${Math.round(mb)} MB resident): the optimization was stopped`,
        ),
      );
    }
  }, RSS_POLL_MS);
  let stderr = "";
  const readingErr = (async () => {
    for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) {
      if (stderr.length < MAX_STDERR) stderr += chunk.slice(0, MAX_STDERR - stderr.length);
    }
  })().catch(() => {});
  try {
    const header: IsolatedPoolHeader = {
      bars: bars.length,
      source,
      combos,
      options: {
        size,
        chunkSize: opts.chunkSize,
        config: opts.config,
        comboTimeoutMs: opts.comboTimeoutMs,
      },
    };
    const writer = child.stdin.getWriter();
    const writing = (async () => {
      await writer.write(new TextEncoder().encode(JSON.stringify(header) + "\n"));
      for (const c of [bars.timestamp, bars.open, bars.high, bars.low, bars.close, bars.volume]) {
        await writer.write(new Uint8Array(c.buffer, c.byteOffset, bars.length * 8));
      }
      await writer.close();
    })().catch(() => {}); // a killed child closes its stdin: its exit says why
    let end = null as IsolatedPoolLine | null;
    let rest = "";
    reading: for await (const text of child.stdout.pipeThrough(new TextDecoderStream())) {
      rest += text;
      let nl: number;
      while ((nl = rest.indexOf("\n")) >= 0) {
        const line = JSON.parse(rest.slice(0, nl)) as IsolatedPoolLine;
        rest = rest.slice(nl + 1);
        if (line.type === "chunk") {
          const results = line.results.map(decodeMetrics);
          for (let k = 0; k < results.length; k++) out[line.start + k] = results[k];
          opts.onChunk?.(line.start, results);
        } else {
          // The last line: the other Workers may still be busy (an endless loop); stop them.
          end = line;
          stop(finished);
          break reading;
        }
      }
    }
    await writing;
    const status = await child.status;
    await readingErr;
    if (end?.type === "done") return out;
    if (end?.type === "error") throw poolError(end.name, end.message, end.bar);
    if (stopped) throw stopped;
    if (/Reached heap limit|out of memory/i.test(stderr)) {
      throw new OptimizationMemoryError(
        `The strategy ran out of memory (a heap cap of ${memoryMb} MB per isolate): ` +
          `the optimization was stopped`,
      );
    }
    const tail = stderr.trim().split("\n").slice(-3).join(" ").slice(0, 500);
    throw new Error(
      `The optimization process ended unexpectedly (exit code ${status.code})` +
        (tail ? `: ${tail}` : ""),
    );
  } catch (err) {
    if (stopped !== null && stopped !== finished) throw stopped;
    throw err;
  } finally {
    clearInterval(watchdog);
    opts.signal?.removeEventListener("abort", onAbort);
    stop(finished);
    await child.status.catch(() => {});
  }
}
