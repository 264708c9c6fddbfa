/**
 * Runs an untrusted strategy (TypeScript or JavaScript source) against bars, isolated from
 * the calling process.
 *
 * Layout: the caller spawns one Deno subprocess per job (`sandbox_host.ts`) with
 * `--v8-flags=--max-old-space-size=<memoryMb>`, no permissions except reading the sandbox and
 * engine sources, and no env/net/run access; that process runs the strategy and the engine
 * loop inside a Worker with `deno: { permissions: "none" }`. Why a subprocess rather than a
 * Worker in the caller: a Worker that reaches V8's heap limit aborts the whole process (checked
 * on Deno 2.9.6), and Deno's web Workers take no heap cap; `node:worker_threads`'
 * `resourceLimits` works but those workers share the parent's permissions.
 *
 * Limits (see `SandboxLimits`):
 * - `timeoutMs`: wall clock for the whole job, enforced here by killing the subprocess.
 * - `onDataTimeoutMs`: per call into user code (module top level, constructor, `Initialize`,
 *   each `OnData`). The Worker writes the phase and a call counter to shared memory on every
 *   entry and exit (plain stores: a few ns per bar); the host polls every
 *   `clamp(onDataTimeoutMs / 10, 5, 50)` ms and terminates the Worker when one call has not
 *   returned for the budget, so a stuck call is caught between the budget and the budget plus
 *   two poll intervals (≤ 100 ms) after it started. Calls shorter than the budget are never
 *   stopped, however many there are; `timeoutMs` bounds their sum.
 * - `memoryMb`: V8 old-space cap of each isolate in the subprocess (a JS heap bomb dies at
 *   once with V8's "Reached heap limit"), plus a watchdog here that polls the subprocess'
 *   resident memory (`/proc/<pid>/statm`, every 20 ms) and kills it above
 *   `2 × memoryMb + 256` MB, which catches `ArrayBuffer` bombs that live outside the V8 heap.
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
 * `equity` and `orders` are decoded on first read, as the engine builds `equity` lazily.
 *
 * Data path: the bars go to the host as a file (6 float64 columns) in a private per-job temp
 * directory, and a successful result comes back as a file in the same directory (the host may
 * write that one path and nothing else), announced by a nonce-tagged frame on stdout; progress,
 * trades and errors stay small frames on stdout. The Worker itself still has no permissions.
 *
 * Cost (bench/sandbox_bench.ts, 1M-bar SMA cross, 2-core machine): a fixed start-up of about
 * 0.16–0.25 s, and a per-bar overhead well above the 10 % target. Profiled per phase (1M bars,
 * loaded machine): the engine's run in a fresh isolate ~0.95–1.4 s (a warm in-process run is
 * ~0.57 s); building the equity curve's million `{ time, equity }` objects only to copy them
 * into float64 arrays ~0.55–0.85 s, because the engine never sets `EQUITY_VALUES` (one
 * `Object.defineProperty(result, EQUITY_VALUES, { value: equity })` in `buildResult` removes
 * it); building and stringifying 38k order records ~0.35–0.6 s; the rest (bars in, result out,
 * parse) ~0.1–0.5 s depending on load.
 *
 * @module
 */
import { EQUITY_VALUES } from "../engine/result.ts";
import type { BacktestConfig, BacktestResult, Bars, TradeRecord } from "../engine/types.ts";
import { type Diagnostic, transpileStrategy } from "./compile.ts";
import {
  FRAME_HEADER_BYTES,
  FrameType,
  type HostRequest,
  NONCE_BYTES,
  type SandboxErrorKind,
  type SandboxProgress,
} from "./sandbox_protocol.ts";

export type { SandboxErrorKind, SandboxProgress } from "./sandbox_protocol.ts";

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

const HOST_URL = new URL("./sandbox_host.ts", import.meta.url);
const READABLE = [
  new URL("./sandbox_host.ts", import.meta.url),
  new URL("./sandbox_worker.ts", import.meta.url),
  new URL("./sandbox_protocol.ts", import.meta.url),
  new URL("../engine/", import.meta.url),
].map((u) => decodeURIComponent(u.pathname));
const RSS_POLL_MS = 20;
const MAX_STDERR = 64 * 1024;
const MAX_FRAME_JSON = 512 * 1024 * 1024;

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
 * Compiles `req.code` and runs it against `req.bars` in a fresh sandbox process. Rejects with
 * `SandboxError` on a compile error, a breached limit, a strategy error or cancellation; the
 * calling process and other jobs are unaffected.
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
  return await runHost(compiled.js, req, limits, opts);
}

function encodeRequest(
  js: string,
  req: SandboxRequest,
  limits: SandboxLimits,
  nonce: string,
  opts: SandboxOptions,
  paths: { barsPath: string; resultPath: string },
) {
  const host: HostRequest = {
    nonce,
    js,
    params: req.params,
    config: req.config,
    length: req.bars.length,
    barsPath: paths.barsPath,
    resultPath: paths.resultPath,
    onDataTimeoutMs: limits.onDataTimeoutMs,
    timeoutMs: limits.timeoutMs,
    logBytes: limits.logBytes,
    streamTrades: opts.onTrade !== undefined,
  };
  const header = new TextEncoder().encode(JSON.stringify(host));
  const len = new Uint8Array(4);
  new DataView(len.buffer).setUint32(0, header.length, true);
  return [len, header];
}

/** Writes the bar columns, one after another, to `path` (read by the host; see `HostRequest`). */
async function writeBarsFile(path: string, b: Bars): Promise<void> {
  const file = await Deno.open(path, { write: true, createNew: true, mode: 0o600 });
  try {
    for (const c of [b.timestamp, b.open, b.high, b.low, b.close, b.volume]) {
      const bytes = new Uint8Array(c.buffer, c.byteOffset, c.byteLength);
      let off = 0;
      while (off < bytes.length) off += await file.write(bytes.subarray(off));
    }
  } finally {
    file.close();
  }
}

/** Incremental parser of the host's nonce-tagged frames; stray bytes are skipped. */
class FrameReader {
  #buf = new Uint8Array(1 << 16);
  #len = 0;
  strayBytes = 0;
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
  next(): { type: number; json: unknown; binary: Uint8Array } | null {
    const start = this.#findNonce();
    if (start > 0) this.#drop(start);
    if (start < 0) {
      // Keep a tail that could be the start of a nonce; the rest is stray output.
      const keep = Math.min(this.#len, NONCE_BYTES - 1);
      this.#drop(this.#len - keep);
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
    const binary = this.#buf.slice(headEnd + jsonLen, total);
    this.#drop(total, false);
    return { type, json, binary };
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

  #drop(count: number, stray = true): void {
    if (stray) this.strayBytes += count;
    this.#buf.copyWithin(0, count, this.#len);
    this.#len -= count;
  }
}

function readRssBytes(pid: number): number | null {
  try {
    const statm = Deno.readTextFileSync(`/proc/${pid}/statm`);
    return Number(statm.split(" ")[1]) * 4096;
  } catch {
    return null;
  }
}

async function runHost(
  js: string,
  req: SandboxRequest,
  limits: SandboxLimits,
  opts: SandboxOptions,
): Promise<BacktestResult> {
  // A private directory (mode 0700) per job for the bars going in and the result coming out:
  // files move tens of MB in a few copies where the pipes took hundreds of small steps.
  const dir = await Deno.makeTempDir({ prefix: "wagyu-sandbox-" });
  try {
    return await runHostIn(dir, js, req, limits, opts);
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

async function runHostIn(
  dir: string,
  js: string,
  req: SandboxRequest,
  limits: SandboxLimits,
  opts: SandboxOptions,
): Promise<BacktestResult> {
  const barsPath = `${dir}/bars.bin`;
  const resultPath = `${dir}/result.bin`;
  await writeBarsFile(barsPath, req.bars);
  const nonceBytes = crypto.getRandomValues(new Uint8Array(NONCE_BYTES));
  const nonce = Array.from(nonceBytes, (b) => b.toString(16).padStart(2, "0")).join("");
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--quiet",
      "--no-prompt",
      "--no-config",
      "--no-lock",
      "--unstable-worker-options",
      `--v8-flags=--max-old-space-size=${Math.ceil(limits.memoryMb)}`,
      `--allow-read=${[...READABLE, barsPath].join(",")}`,
      `--allow-write=${resultPath}`,
      HOST_URL.href,
    ],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();

  let killedFor: { kind: SandboxErrorKind; message: string } | null = null;
  const kill = (kind: SandboxErrorKind, message: string) => {
    if (killedFor) return;
    killedFor = { kind, message };
    try {
      child.kill("SIGKILL");
    } catch {
      // already exited
    }
  };
  const wall = setTimeout(
    () => kill("timeout", `Backtest exceeded the time limit of ${limits.timeoutMs} ms`),
    limits.timeoutMs,
  );
  const rssLimit = (2 * limits.memoryMb + 256) * 1024 * 1024;
  let rssPeak = 0;
  const rssTimer = setInterval(() => {
    const rss = readRssBytes(child.pid);
    if (rss === null) return;
    if (rss > rssPeak) rssPeak = rss;
    if (rss > rssLimit) {
      kill(
        "memory",
        `Strategy exceeded the memory limit: process memory reached ${
          Math.round(rss / 1048576)
        } MB (limit ${Math.round(rssLimit / 1048576)} MB)`,
      );
    }
  }, RSS_POLL_MS);
  const onAbort = () => kill("cancelled", "Backtest cancelled");
  opts.signal?.addEventListener("abort", onAbort);

  // Feed stdin without awaiting first: the host may fail (and stop reading) early.
  const writer = child.stdin.getWriter();
  const feeding = (async () => {
    try {
      const parts = encodeRequest(js, req, limits, nonce, opts, { barsPath, resultPath });
      for (const part of parts) await writer.write(part);
      await writer.close();
    } catch {
      // The process died; its exit status explains why.
    }
  })();

  let stderr = "";
  const readingErr = (async () => {
    const dec = new TextDecoder();
    for await (const chunk of child.stderr) {
      if (stderr.length < MAX_STDERR) stderr += dec.decode(chunk, { stream: true });
    }
  })();

  const frames = new FrameReader(nonceBytes);
  let result: BacktestResult | null = null;
  let failure: SandboxError | null = null;
  let callbackError: unknown = null;
  try {
    for await (const chunk of child.stdout) {
      frames.push(chunk);
      for (let f = frames.next(); f; f = frames.next()) {
        try {
          switch (f.type) {
            case FrameType.Progress:
              opts.onProgress?.(f.json as SandboxProgress);
              break;
            case FrameType.Trades:
              for (const t of f.json as TradeRecord[]) opts.onTrade?.(t);
              break;
            case FrameType.Result:
              result = decodeResult(f.json as BacktestResult, f.binary);
              break;
            case FrameType.ResultFile:
              result = readResultFile(resultPath, f.json as ResultFileInfo);
              break;
            case FrameType.Error: {
              const e = f.json as {
                kind: SandboxErrorKind;
                message: string;
                bar: number | null;
                logs: string[];
              };
              failure = new SandboxError(e.kind, e.message, { bar: e.bar, logs: e.logs });
              break;
            }
          }
        } catch (err) {
          // A throwing progress/trade callback must not leave the job running.
          callbackError ??= err;
          kill("runtime", "Progress callback failed");
        }
      }
    }
  } catch (err) {
    if (!killedFor) kill("runtime", `Sandbox protocol error: ${(err as Error).message}`);
  }
  const status = await child.status;
  clearTimeout(wall);
  clearInterval(rssTimer);
  opts.signal?.removeEventListener("abort", onAbort);
  await feeding;
  await readingErr;

  if (callbackError) throw callbackError;
  if (result) return result;
  if (failure) throw failure;
  if (killedFor) {
    const k = killedFor as { kind: SandboxErrorKind; message: string };
    throw new SandboxError(k.kind, k.message);
  }
  if (/heap limit|out of memory|allocation failed/i.test(stderr)) {
    throw new SandboxError(
      "memory",
      `Strategy exceeded the memory limit of ${limits.memoryMb} MB (JavaScript heap out of memory)`,
    );
  }
  const tail = stderr.trim().split("\n").slice(-5).join("\n");
  throw new SandboxError(
    "runtime",
    `Sandbox process exited unexpectedly (code ${status.code}${
      status.signal ? `, signal ${status.signal}` : ""
    })${tail ? `: ${tail}` : ""}`,
  );
}

interface ResultFileInfo {
  jsonBytes: number;
  binaryBytes: number;
}

/** Reads the result the host wrote to `path`: the binary part, then the JSON part. */
function readResultFile(path: string, info: ResultFileInfo): BacktestResult {
  const bytes = Deno.readFileSync(path);
  if (bytes.length !== info.binaryBytes + info.jsonBytes) {
    throw new Error(
      `Sandbox result file has ${bytes.length} bytes, expected ${
        info.binaryBytes + info.jsonBytes
      }`,
    );
  }
  const json = JSON.parse(new TextDecoder().decode(bytes.subarray(info.binaryBytes)));
  // The file's buffer starts at offset 0, so the float64 arrays at its start are aligned.
  return decodeResult(json as BacktestResult, bytes.subarray(0, info.binaryBytes));
}

/**
 * Puts the equity curve (times, then values, as float64) and the orders (JSON) back into the
 * result. Like the engine's own result, the `{ time, equity }` objects are built, and the
 * orders parsed, on first read: many callers (status polls, metrics-only sweeps) never read
 * them, and on a long run they cost more than the whole transfer.
 */
function decodeResult(result: BacktestResult, binary: Uint8Array): BacktestResult {
  const n = result.bars.count;
  const f = new Float64Array(binary.buffer, binary.byteOffset, 2 * n);
  const ordersBytes = binary.subarray(16 * n);
  let orders: BacktestResult["orders"] | null = null;
  Object.defineProperty(result, "orders", {
    enumerable: true,
    configurable: true,
    get() {
      orders ??= JSON.parse(new TextDecoder().decode(ordersBytes));
      return orders;
    },
    set(v: BacktestResult["orders"]) {
      orders = v;
    },
  });
  let curve: { time: number; equity: number }[] | null = null;
  // Redefining the existing (null) key keeps the engine's key order.
  Object.defineProperty(result, "equity", {
    enumerable: true,
    configurable: true,
    get() {
      if (curve === null) {
        curve = new Array<{ time: number; equity: number }>(n);
        for (let i = 0; i < n; i++) curve[i] = { time: f[i], equity: f[n + i] };
      }
      return curve;
    },
    set(v: { time: number; equity: number }[]) {
      curve = v;
    },
  });
  Object.defineProperty(result, EQUITY_VALUES, { value: f.subarray(n, 2 * n) });
  return result;
}
