/**
 * Warm, reusable sandbox subprocesses (`sandbox_host.ts`) for `runInSandbox`.
 *
 * A fresh `deno run` per job cost 0.2–0.8 s before the strategy's first bar (process start,
 * module load, Worker start, engine load). The pool keeps up to `size` idle processes per
 * heap cap; each runs one job at a time, every job in a fresh permission-less Worker that the
 * process prepared while idle (so prototype pollution never reaches another job). A process
 * is retired when it dies or is killed (memory breach, job time limit, cancellation), after
 * `maxJobs` jobs, when its resident memory stays high after a job, or after `idleMs` idle.
 *
 * Bars travel as a file in the process' private directory (`bars_file.ts`) that stays there
 * between jobs: a job whose bars equal the file's byte for byte (checked, ~5 ms per million
 * bars) writes nothing, and a job goes to an idle process whose file holds its bars first. A
 * 1M-bar file cost 20–200 ms to write, read and fault in on the 2-core VM. Results come back
 * through one result file per process, rewritten in place; after reading it the pool tells
 * the process (`HostResultRead`), which only then starts its next spare Worker.
 *
 * Idle processes hold no reference on the event loop (`unref`), so a program, or a `deno test`
 * file, ends normally while some are warm; their stdin then closes and they exit.
 *
 * @module
 */
import { cappedDenoArgs, readRssBytes } from "./capped_process.ts";
import type { BacktestResult, Bars, TradeRecord } from "../engine/types.ts";
import { barsFileHolds, writeBarsFile } from "./bars_file.ts";
import { MALLOC_TUNABLES } from "./malloc_tunables.ts";
import { decodeResult, unpackParts } from "./sandbox_codec.ts";
import {
  FRAME_HEADER_BYTES,
  FrameType,
  type HostMessage,
  type HostPhases,
  type HostRequest,
  NONCE_BYTES,
  type ResultFileInfo,
  type SandboxErrorKind,
  type SandboxProgress,
} from "./sandbox_protocol.ts";

/** Settings of the process pool. */
export interface SandboxPoolOptions {
  /** Idle processes kept warm (all heap caps together). @default min(2, CPU count) */
  size: number;
  /** Jobs a process runs before it is replaced. @default 200 */
  maxJobs: number;
  /** An idle process exits after this long. @default 60000 */
  idleMs: number;
}

/**
 * Where the time of a successful pooled job went, in ms: what the sandbox costs beyond the
 * run itself (`deno task bench sandbox` prints them).
 */
export interface SandboxJobPhases extends HostPhases {
  /** Choosing a process: comparing the job's bars with the bars files of idle ones. */
  compareBars: number;
  /** Writing the bars file (0 when the process' file held the job's bars). */
  writeBars: number;
  /** Reading and decoding the result file in this process. */
  readResult: number;
  /** The whole job as its caller waited for it (the rest: messages, scheduling). */
  total: number;
}

/** Counters of a {@linkcode SandboxPool} (tests, monitoring). */
export interface SandboxPoolStats {
  /** Processes started so far. */
  spawned: number;
  /** Processes waiting for a job now. */
  idle: number;
  /** Processes alive now (idle or running a job). */
  alive: number;
  /** Their process ids. */
  pids: number[];
  /** Jobs whose bars went to their process as a file. */
  barsSent: number;
  /** Jobs that ran on the bars their process kept from its last job (no file). */
  barsReused: number;
  /** Phases of the last successful job (null: none yet). */
  lastJob: SandboxJobPhases | null;
}

/** How a pooled job ended. */
export type PoolOutcome =
  | {
    type: "result";
    result: BacktestResult;
    /** Its phases in and around the process (the pool adds the rest). */
    phases: Omit<SandboxJobPhases, "compareBars" | "total">;
  }
  | { type: "error"; kind: SandboxErrorKind; message: string; bar: number | null; logs: string[] };

/** One job for {@linkcode SandboxPool.run}. */
export interface PoolJob {
  js: string;
  bars: Bars;
  params?: Record<string, unknown>;
  config?: HostRequest["config"];
  timeoutMs: number;
  onDataTimeoutMs: number;
  memoryMb: number;
  logBytes: number;
  onProgress?: (p: SandboxProgress) => void;
  onTrade?: (t: TradeRecord) => void;
  signal?: AbortSignal;
}

const HOST_URL = new URL("./sandbox_host.ts", import.meta.url);
const READABLE = [
  ...[
    "sandbox_host.ts",
    "sandbox_worker.ts",
    "sandbox_protocol.ts",
    "sandbox_runner.ts",
    "sandbox_codec.ts",
    "sandbox_warm_up.ts",
    "bars_file.ts",
  ].map((f) => new URL(`./${f}`, import.meta.url)),
  new URL("../engine/", import.meta.url),
].map((u) => decodeURIComponent(u.pathname));
const RSS_POLL_MS = 20;
const MAX_STDERR = 64 * 1024;
const MAX_FRAME_JSON = 512 * 1024 * 1024;

/** Incremental parser of the host's nonce-tagged frames; stray bytes are skipped. */
class FrameReader {
  #buf = new Uint8Array(1 << 16);
  #len = 0;
  constructor(readonly nonce: Uint8Array) {}

  push(chunk: Uint8Array): void {
    if (this.#len + chunk.length > this.#buf.length) {
      let cap = this.#buf.length;
      while (cap < this.#len + chunk.length) cap *= 2;
      const next = new Uint8Array(cap);
      next.set(this.#buf.subarray(0, this.#len));
      this.#buf = next;
    }
    this.#buf.set(chunk, this.#len);
    this.#len += chunk.length;
  }

  /** The next complete frame, or null when more bytes are needed. */
  next(): { type: number; json: unknown } | null {
    const start = this.#findNonce();
    if (start > 0) this.#drop(start);
    if (start < 0) {
      // Keep a tail that could be the start of a nonce; the rest is stray output.
      this.#drop(this.#len - Math.min(this.#len, NONCE_BYTES - 1));
      return null;
    }
    const headEnd = NONCE_BYTES + FRAME_HEADER_BYTES;
    if (this.#len < headEnd) return null;
    const view = new DataView(this.#buf.buffer, this.#buf.byteOffset, headEnd);
    const type = view.getUint8(NONCE_BYTES);
    const jsonLen = view.getUint32(NONCE_BYTES + 1, true);
    const binLen = view.getUint32(NONCE_BYTES + 5, true);
    if (jsonLen > MAX_FRAME_JSON) throw new Error(`Sandbox frame too large (${jsonLen} bytes)`);
    const total = headEnd + jsonLen + binLen;
    if (this.#len < total) return null;
    const json = JSON.parse(
      new TextDecoder().decode(this.#buf.subarray(headEnd, headEnd + jsonLen)),
    );
    this.#drop(total);
    return { type, json };
  }

  #findNonce(): number {
    const b = this.#buf, nonce = this.nonce, first = nonce[0];
    outer: for (let i = 0; i + NONCE_BYTES <= this.#len; i++) {
      if (b[i] !== first) continue;
      for (let j = 1; j < NONCE_BYTES; j++) if (b[i + j] !== nonce[j]) continue outer;
      return i;
    }
    return -1;
  }

  #drop(count: number): void {
    this.#buf.copyWithin(0, count, this.#len);
    this.#len -= count;
  }
}

/** Reads the encoded result the host wrote to `path` (see `ResultFileInfo`). */
function readResultFile(
  path: string,
  info: ResultFileInfo,
  barTimes: Float64Array,
): BacktestResult {
  const size = info.metaOffset + info.metaBytes;
  // Into a buffer of the announced size: `Deno.readFileSync` took twice the CPU here.
  const bytes = new Uint8Array(size);
  const file = Deno.openSync(path, { read: true });
  try {
    let off = 0;
    while (off < size) {
      const n = file.readSync(bytes.subarray(off));
      if (n === null) throw new Error(`Sandbox result file has ${off} bytes, expected ${size}`);
      off += n;
    }
  } finally {
    file.close();
  }
  // The buffer starts at offset 0, so the parts' 8-aligned offsets stay aligned.
  return decodeResult(bytes.subarray(info.metaOffset), unpackParts(bytes, info.layout), {
    barTimes,
  });
}

/**
 * A private (0700) directory for one process' bars and results: files move tens of MB in a
 * few copies where pipes took hundreds of small steps. (Not `/dev/shm`, though reads from it
 * took a third of the CPU on the 2-core VM: Deno asks `--allow-all` for any path under /dev.)
 */
function makeJobDir(): string {
  return Deno.makeTempDirSync({ prefix: "wagyu-sandbox-" });
}

interface ActiveJob {
  frames: FrameReader;
  onFrame(f: { type: number; json: unknown }): void;
  onExit(): void;
}

/** One long-lived sandbox subprocess. */
class SandboxProcess {
  readonly child: Deno.ChildProcess;
  readonly dir: string;
  /** The bars file (`bars_file.ts`), kept between jobs. */
  readonly barsPath: string;
  /** The result file, rewritten in place by every job (see `HostRequest.resultPath`). */
  readonly resultPath: string;
  /** Bars in that file when it was last written whole (null: none, or a write failed). */
  barsLength: number | null = null;
  jobs = 0;
  dead = false;
  idleTimer: ReturnType<typeof setTimeout> | undefined;
  readonly exited: Promise<void>;
  #stderr = "";
  #writer: WritableStreamDefaultWriter<Uint8Array>;
  #job: ActiveJob | null = null;

  constructor(readonly memoryMb: number) {
    this.dir = makeJobDir();
    this.barsPath = `${this.dir}/bars`;
    this.resultPath = `${this.dir}/result`;
    this.child = new Deno.Command(Deno.execPath(), {
      args: cappedDenoArgs(memoryMb, [...READABLE, this.dir], [
        `--allow-write=${this.dir}`,
        HOST_URL.href,
        this.dir,
      ]),
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
      // Buffers of one job reuse the pages of the last (jobs/malloc_tunables.ts).
      env: { GLIBC_TUNABLES: MALLOC_TUNABLES },
    }).spawn();
    this.child.unref();
    this.#writer = this.child.stdin.getWriter();
    this.#writer.closed.catch(() => {});
    void this.#readStdout();
    const readingErr = this.#readStderr();
    this.exited = this.child.status.then(async () => {
      this.dead = true;
      clearTimeout(this.idleTimer);
      await readingErr;
      this.#job?.onExit();
      await Deno.remove(this.dir, { recursive: true }).catch(() => {});
    });
  }

  async #readStdout(): Promise<void> {
    try {
      for await (const chunk of this.child.stdout) {
        const job = this.#job;
        if (job === null) continue; // stray output between jobs
        job.frames.push(chunk);
        for (let f = job.frames.next(); f && this.#job === job; f = job.frames.next()) {
          job.onFrame(f);
        }
      }
    } catch {
      this.kill();
    }
  }

  async #readStderr(): Promise<void> {
    const dec = new TextDecoder();
    try {
      for await (const chunk of this.child.stderr) {
        this.#stderr += dec.decode(chunk, { stream: true });
        if (this.#stderr.length > MAX_STDERR) this.#stderr = this.#stderr.slice(-MAX_STDERR / 2);
      }
    } catch {
      // the process is gone
    }
  }

  kill(): void {
    try {
      this.child.kill("SIGKILL");
    } catch {
      // already exited
    }
  }

  /** Asks the process to exit (stdin closes) and waits for it. */
  async close(): Promise<void> {
    clearTimeout(this.idleTimer);
    await this.#writer.close().catch(() => {});
    const t = setTimeout(() => this.kill(), 2000);
    await this.exited;
    clearTimeout(t);
  }

  rssBytes(): number | null {
    return this.dead ? null : readRssBytes(this.child.pid);
  }

  /** Whether this process' bars file holds exactly `bars` (a next job then writes none). */
  holds(bars: Bars): boolean {
    return this.barsLength === bars.length && barsFileHolds(this.barsPath, bars);
  }

  /** Runs one job (`holds`: whether its bars file holds the job's bars); must be idle. */
  async run(job: PoolJob, holds: boolean, stats: BarsCounters): Promise<PoolOutcome> {
    this.jobs++;
    this.child.ref();
    try {
      return await this.#run(job, holds, stats);
    } finally {
      this.#job = null;
      if (!this.dead) this.child.unref();
    }
  }

  /**
   * Writes one message to the host's stdin. Not awaited: the process may die before it reads
   * it, and its exit explains why.
   */
  #send(msg: HostMessage): void {
    const json = new TextEncoder().encode(JSON.stringify(msg));
    const bytes = new Uint8Array(4 + json.length);
    new DataView(bytes.buffer).setUint32(0, json.length, true);
    bytes.set(json, 4);
    this.#writer.write(bytes).catch(() => {});
  }

  async #run(job: PoolJob, holds: boolean, stats: BarsCounters): Promise<PoolOutcome> {
    const { barsPath, resultPath } = this;
    let writeBars = 0;
    const nonceBytes = crypto.getRandomValues(new Uint8Array(NONCE_BYTES));
    const nonce = Array.from(nonceBytes, (b) => b.toString(16).padStart(2, "0")).join("");
    let killedFor: { kind: SandboxErrorKind; message: string } | null = null;
    let callbackError: unknown = null;
    const kill = (kind: SandboxErrorKind, message: string) => {
      if (killedFor) return;
      killedFor = { kind, message };
      this.kill();
    };
    let settle!: (o: PoolOutcome) => void;
    const done = new Promise<PoolOutcome>((resolve) => (settle = resolve));
    this.#job = {
      frames: new FrameReader(nonceBytes),
      onFrame: (f) => {
        try {
          switch (f.type) {
            case FrameType.Progress:
              job.onProgress?.(f.json as SandboxProgress);
              break;
            case FrameType.Trades:
              for (const t of f.json as TradeRecord[]) job.onTrade?.(t);
              break;
            case FrameType.ResultFile: {
              const info = f.json as ResultFileInfo;
              try {
                const t = performance.now();
                const result = readResultFile(resultPath, info, job.bars.timestamp);
                const readResult = performance.now() - t;
                settle({
                  type: "result",
                  result,
                  phases: { writeBars, ...info.phases, readResult },
                });
              } finally {
                this.#send({ type: "resultRead" });
              }
              break;
            }
            case FrameType.Error: {
              const e = f.json as Extract<PoolOutcome, { type: "error" }>;
              settle({ type: "error", kind: e.kind, message: e.message, bar: e.bar, logs: e.logs });
              break;
            }
          }
        } catch (err) {
          // A throwing progress/trade callback must not leave the job running.
          callbackError ??= err;
          kill("runtime", "Progress callback failed");
        }
      },
      onExit: () => {
        if (killedFor) {
          const k = killedFor as { kind: SandboxErrorKind; message: string };
          return settle({ type: "error", kind: k.kind, message: k.message, bar: null, logs: [] });
        }
        const stderr = this.#stderr;
        if (/heap limit|out of memory|allocation failed/i.test(stderr)) {
          return settle({
            type: "error",
            kind: "memory",
            message:
              `Strategy exceeded the memory limit of ${this.memoryMb} MB (JavaScript heap out of memory)`,
            bar: null,
            logs: [],
          });
        }
        const tail = stderr.trim().split("\n").slice(-5).join("\n");
        settle({
          type: "error",
          kind: "runtime",
          message: `Sandbox process exited unexpectedly${tail ? `: ${tail}` : ""}`,
          bar: null,
          logs: [],
        });
      },
    };
    if (this.dead) this.#job.onExit();

    const wall = setTimeout(
      () => kill("timeout", `Backtest exceeded the time limit of ${job.timeoutMs} ms`),
      job.timeoutMs,
    );
    const rssLimit = (2 * job.memoryMb + 256) * 1024 * 1024;
    const rssTimer = setInterval(() => {
      const rss = this.rssBytes();
      if (rss !== null && rss > rssLimit) {
        kill(
          "memory",
          `Strategy exceeded the memory limit: process memory reached ${
            Math.round(rss / 1048576)
          } MB (limit ${Math.round(rssLimit / 1048576)} MB)`,
        );
      }
    }, RSS_POLL_MS);
    const onAbort = () => kill("cancelled", "Backtest cancelled");
    job.signal?.addEventListener("abort", onAbort);
    try {
      if (holds) stats.barsReused++;
      else {
        const t = performance.now();
        this.barsLength = null; // until the whole file is written
        await writeBarsFile(barsPath, job.bars);
        this.barsLength = job.bars.length;
        stats.barsSent++;
        writeBars = performance.now() - t;
      }
      this.#send({
        type: "job",
        nonce,
        js: job.js,
        params: job.params,
        config: job.config,
        length: job.bars.length,
        barsPath,
        barsWritten: !holds,
        resultPath,
        onDataTimeoutMs: job.onDataTimeoutMs,
        timeoutMs: job.timeoutMs,
        logBytes: job.logBytes,
        streamTrades: job.onTrade !== undefined,
      });
      const outcome = await done;
      if (callbackError) throw callbackError;
      return outcome;
    } catch (err) {
      if (callbackError) throw callbackError;
      if (!this.dead) this.kill();
      throw err;
    } finally {
      clearTimeout(wall);
      clearInterval(rssTimer);
      job.signal?.removeEventListener("abort", onAbort);
      // The bars and result files stay for the next job (the directory goes with the process).
    }
  }
}

/** How the pool's jobs got their bars (see {@linkcode SandboxPoolStats}). */
interface BarsCounters {
  barsSent: number;
  barsReused: number;
}

/** Warm sandbox subprocesses, each running one job at a time. */
export class SandboxPool {
  readonly options: SandboxPoolOptions;
  #idle: SandboxProcess[] = [];
  #all = new Set<SandboxProcess>();
  #spawned = 0;
  #closed = false;
  #bars: BarsCounters = { barsSent: 0, barsReused: 0 };
  #lastJob: SandboxJobPhases | null = null;

  constructor(options: Partial<SandboxPoolOptions> = {}) {
    this.options = {
      size: Math.min(2, navigator.hardwareConcurrency || 1),
      maxJobs: 200,
      idleMs: 60_000,
      ...options,
    };
  }

  /** Processes started so far, idle now, alive now, and the alive ones' pids. */
  get stats(): SandboxPoolStats {
    const pids: number[] = [];
    for (const p of this.#all) if (!p.dead) pids.push(p.child.pid);
    return {
      spawned: this.#spawned,
      idle: this.#idle.length,
      alive: pids.length,
      pids,
      ...this.#bars,
      lastJob: this.#lastJob,
    };
  }

  #spawn(memoryMb: number): SandboxProcess {
    const p = new SandboxProcess(memoryMb);
    this.#spawned++;
    this.#all.add(p);
    p.exited.then(() => {
      this.#all.delete(p);
      const i = this.#idle.indexOf(p);
      if (i >= 0) this.#idle.splice(i, 1);
    });
    return p;
  }

  #park(p: SandboxProcess): void {
    if (this.#closed || this.options.size < 1) {
      void p.close();
      return;
    }
    this.#idle.push(p);
    // Over capacity: the longest idle goes.
    while (this.#idle.length > this.options.size) void this.#idle.shift()!.close();
    clearTimeout(p.idleTimer);
    const timer = setTimeout(() => {
      const i = this.#idle.indexOf(p);
      if (i >= 0) this.#idle.splice(i, 1);
      void p.close();
    }, this.options.idleMs);
    Deno.unrefTimer(timer);
    p.idleTimer = timer;
  }

  /** Stops idle processes beyond `options.size` (after the options changed). */
  trim(): void {
    while (this.#idle.length > this.options.size) void this.#idle.shift()!.close();
  }

  /** Starts processes until `count` (at most `size`) are idle with this heap cap. */
  warm(memoryMb: number, count: number = this.options.size): void {
    let have = this.#idle.filter((p) => p.memoryMb === memoryMb).length;
    const want = Math.min(count, this.options.size);
    while (!this.#closed && have++ < want) this.#park(this.#spawn(memoryMb));
  }

  /**
   * Runs `job` in an idle process with its heap cap (one that kept these very bars first), or
   * a new one.
   */
  async run(job: PoolJob): Promise<PoolOutcome> {
    if (this.#closed) this.#closed = false;
    const t0 = performance.now();
    const fits = (p: SandboxProcess) => p.memoryMb === job.memoryMb && !p.dead;
    let i = this.#idle.findIndex((p) => fits(p) && p.holds(job.bars));
    const compareBars = performance.now() - t0;
    const holds = i >= 0;
    if (i < 0) i = this.#idle.findIndex(fits);
    const p = i >= 0 ? this.#idle.splice(i, 1)[0] : this.#spawn(job.memoryMb);
    clearTimeout(p.idleTimer);
    try {
      const outcome = await p.run(job, holds, this.#bars);
      if (outcome.type === "result") {
        this.#lastJob = { compareBars, ...outcome.phases, total: performance.now() - t0 };
      }
      return outcome;
    } finally {
      const rss = p.rssBytes();
      // Memory the last job left behind (fragmentation, a big result) is not given back to
      // the system; past this the process is replaced rather than kept.
      const bloated = rss !== null && rss > (p.memoryMb + 256) * 1024 * 1024;
      if (p.dead || p.jobs >= this.options.maxJobs || bloated) {
        if (!p.dead) void p.close();
      } else {
        this.#park(p);
      }
    }
  }

  /** Stops every process (idle ones at once, busy ones are killed) and waits for them. */
  async close(): Promise<void> {
    this.#closed = true;
    const idle = this.#idle;
    this.#idle = [];
    await Promise.all([...this.#all].map((p) => {
      if (!idle.includes(p)) p.kill();
      return p.close();
    }));
  }
}
