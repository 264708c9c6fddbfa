/**
 * Worker entry of the sandbox: runs one user strategy together with the engine loop, so no
 * message crosses the Worker boundary per bar. Started by `sandbox_runner.ts` with
 * `deno: { permissions: "none" }`: file, network, env, run, ffi and sys access throw
 * `NotCapable`, and imports of local or remote modules from the user code are refused.
 *
 * On its first message ("prepare", posted when the Worker is created, so a spare Worker does
 * this before its job arrives) this file (1) replaces `console` with a bounded per-job
 * capture, (2) removes the ways out it does not need (`Deno.exit`, `self.close`, `Worker`,
 * stdio, and the state shared beyond the isolate: `caches`, blob URLs, `BroadcastChannel`,
 * `navigator.locks` and `.gpu`, `Deno.openKv`),
 * and (3) freezes the intrinsics the engine calls on bar arrays, so user code cannot
 * hook a prototype method or getter to observe the engine's full (future) bars. Then it runs
 * exactly one job ("job") and is terminated: every job gets a fresh Worker (a fresh isolate),
 * so prototype pollution never reaches another job, even in a reused sandbox process.
 *
 * Per-call time limits: user code cannot be interrupted from inside, so around every entry
 * into user code (module evaluation, constructor, `Initialize`, `OnData`) this file writes the
 * phase and a call counter into shared memory; the host polls it and terminates the Worker
 * when one call outlives its budget.
 *
 * @module
 */
import { runBacktest, StrategyError } from "../engine/backtest.ts";
import { EQUITY_VALUES } from "../engine/result.ts";
import type {
  BacktestResult,
  Bars,
  Strategy,
  StrategyContext,
  TradeRecord,
} from "../engine/types.ts";
import { encodeResult } from "./sandbox_codec.ts";
import { WARM_UP_STRATEGIES, warmUpBars } from "./sandbox_warm_up.ts";
import {
  Phase,
  type SandboxErrorKind,
  Slot,
  SLOT_COUNT,
  WARM_UP,
  type WorkerInit,
  type WorkerMessage,
  type WorkerPhases,
  type WorkerPrepare,
} from "./sandbox_protocol.ts";

// Captured before user code runs: the user module can replace the globals, not these.
const post = globalThis.postMessage.bind(globalThis) as (
  m: WorkerMessage,
  t?: Transferable[],
) => void;
const inspect = Deno.inspect;
const atomicsStore = Atomics.store;
const atomicsAdd = Atomics.add;
const SLOT_PHASE = Slot.Phase, SLOT_CALLS = Slot.Calls, SLOT_BAR = Slot.Bar;
const PHASE_ONDATA = Phase.OnData, PHASE_ENGINE = Phase.Engine;
const isNotCapable = (e: unknown): boolean =>
  e instanceof Error &&
  (e.name === "NotCapable" || e.name === "PermissionDenied" ||
    e instanceof Deno.errors.NotCapable || e instanceof Deno.errors.PermissionDenied ||
    /Requires \w+ access/.test(e.message));

/**
 * Bounded capture of the strategy's output: console calls and `ctx.log` both land here, in
 * call order, prefixed like the engine's own `ctx.log` lines (the current bar's ISO time, or
 * "init" before the first bar).
 */
class LogCapture {
  readonly lines: string[] = [];
  #bytes = 0;
  #droppedLines = 0;
  /** Timestamp of the bar being processed; NaN before the first bar. */
  time = NaN;
  /** Characters kept (set from the job; lines logged before it count against it). */
  constructor(public limit: number) {}
  /** False once the limit is reached: callers skip formatting what would be dropped. */
  get open(): boolean {
    return this.#droppedLines === 0;
  }
  add(text: string): void {
    if (this.#droppedLines > 0) {
      this.#droppedLines++;
      return;
    }
    const line = (Number.isNaN(this.time) ? "init" : new Date(this.time).toISOString()) + " " +
      text;
    this.#push(line);
  }
  #push(line: string): boolean {
    if (this.#droppedLines > 0 || this.#bytes + line.length + 1 > this.limit) {
      this.#droppedLines++;
      return false;
    }
    this.#bytes += line.length + 1;
    this.lines.push(line);
    return true;
  }
  /** The lines, then `extra` lines as they are, then a note on how many were dropped. */
  finish(extra: readonly string[] = []): string[] {
    for (const l of extra) this.#push(l);
    if (this.#droppedLines === 0) return this.lines;
    return [
      ...this.lines,
      `[log truncated: ${this.#droppedLines} more lines dropped (log limit ${this.limit} characters)]`,
    ];
  }
}

/** The job's capture; module-level so late errors (unhandled rejections) can return it. */
const currentLogs = new LogCapture(64 * 1024);

function formatArgs(args: unknown[]): string {
  let out = "";
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (i > 0) out += " ";
    out += typeof a === "string" ? a : inspect(a, { depth: 4, colors: false });
  }
  return out;
}

function installConsole(capture: LogCapture): void {
  const sink = (prefix: string) => (...args: unknown[]) => {
    if (capture.open) capture.add(prefix + formatArgs(args));
    else capture.add("");
  };
  const c = globalThis.console as unknown as Record<string, unknown>;
  for (const name of ["log", "info", "debug", "trace", "dir", "dirxml", "table"]) {
    c[name] = sink("");
  }
  c.warn = sink("[warn] ");
  c.error = sink("[error] ");
  c.assert = (cond: unknown, ...args: unknown[]) => {
    if (!cond) capture.add("[assert] " + formatArgs(args));
  };
}

/** Thrown by the ways out the sandbox removes; named like Deno's own permission error. */
class SandboxRefusal extends Error {
  constructor(what: string) {
    super(`${what} is not allowed in a strategy (sandboxed: no permissions)`);
    this.name = "NotCapable";
  }
}

function refuse(what: string): () => never {
  return () => {
    throw new SandboxRefusal(what);
  };
}

function harden(): void {
  const d = Deno as unknown as Record<string | symbol, unknown>;
  d.exit = refuse("Deno.exit()");
  // Signals are the process': a listener replaces the default action (in worker mode, a
  // running job's SIGTERM listener kept the server from stopping on SIGTERM).
  d.addSignalListener = refuse("Deno.addSignalListener()");
  for (const k of ["stdin", "stdout", "stderr"]) delete d[k];
  // `Deno[Deno.internal]` exposes runtime internals (core ops) that bypass the rest of this.
  const internal = (Deno as unknown as { internal?: symbol }).internal;
  if (internal !== undefined) delete d[internal];
  const g = globalThis as unknown as Record<string, unknown>;
  g.close = refuse("self.close()");
  // Only this file talks to the host (through `post`, captured above): a strategy posting a
  // message of its own could forge its result.
  g.postMessage = refuse("postMessage()");
  g.Worker = function Worker() {
    throw new SandboxRefusal("Creating a Worker");
  };
  // State outside this isolate that needs no permission, each checked on Deno 2.9.6. The
  // Cache API's storage is the process' (a later job in the same process read what an
  // earlier one put; it grows on disk); a blob URL's Blob stays in the process after the
  // Worker ends (a later job fetched it; memory a job could leave behind without bound); a
  // BroadcastChannel reaches every other Worker of the process (on Deno Deploy, other
  // isolates too); Web Locks are the process'; `navigator.gpu` is the machine's GPU (worker
  // mode, beside the optimizer's kernels); `Deno.openKv` (worker mode, where the server runs
  // with KV) opens a store of its own. A strategy needs none of them.
  g.BroadcastChannel = function BroadcastChannel() {
    throw new SandboxRefusal("BroadcastChannel");
  };
  for (const name of ["caches", "CacheStorage", "Cache"]) {
    Object.defineProperty(g, name, {
      get: refuse(`The Cache API (${name})`),
      configurable: false,
    });
  }
  const url = URL as unknown as Record<string, unknown>;
  url.createObjectURL = refuse("URL.createObjectURL()");
  for (const name of ["locks", "gpu"]) {
    Object.defineProperty(navigator, name, {
      get: refuse(`navigator.${name}`),
      configurable: false,
    });
  }
  // A lazy getter where the unstable API is on: replaced, not assigned.
  if ("openKv" in d) Object.defineProperty(d, "openKv", { value: refuse("Deno.openKv()") });
  // The intrinsics the engine may call with its own (full-length) bar arrays as `this` or
  // argument; frozen so user code cannot wrap them. Error prototypes stay writable because
  // error subclasses assign `this.name`.
  const typedArray = Object.getPrototypeOf(Float64Array.prototype);
  const arrayIterator = Object.getPrototypeOf([][Symbol.iterator]());
  for (
    const o of [
      Object,
      Object.prototype,
      Array,
      Array.prototype,
      Function.prototype,
      typedArray,
      Float64Array.prototype,
      Int32Array.prototype,
      Uint8Array.prototype,
      arrayIterator,
      Object.getPrototypeOf(arrayIterator),
      Math,
      Number,
      Number.prototype,
      JSON,
      Reflect,
      ArrayBuffer.prototype,
      // What the result encoder (sandbox_codec.ts) calls after user code has run.
      TextEncoder.prototype,
    ]
  ) Object.freeze(o);
}

/**
 * Freezes the exports of every trusted module already in this Worker's graph (and the
 * prototypes of exported classes): user code can `import()` a loaded module without any
 * permission check, and patching e.g. `Broker.prototype` would hand it the engine's objects,
 * which hold the full bar series.
 */
async function lockTrustedModules(urls: readonly string[]): Promise<void> {
  for (const url of urls) {
    let ns: Record<string, unknown>;
    try {
      ns = await import(url);
    } catch {
      continue; // not loaded here, so user code cannot load it either (no read permission)
    }
    for (const v of Object.values(ns)) {
      if (typeof v === "function") {
        Object.freeze(v);
        if (typeof v.prototype === "object" && v.prototype !== null) Object.freeze(v.prototype);
      } else if (typeof v === "object" && v !== null) {
        Object.freeze(v);
      }
    }
  }
}

function describeThrown(e: unknown): string {
  if (e instanceof Error) {
    const m = e.message || e.name;
    // Node's polyfills patch built-ins as they load, which the frozen intrinsics refuse.
    if (e.stack?.includes("ext:deno_node")) {
      return `${m.split("\n")[0]} (node: built-in modules are not available in strategies)`;
    }
    // Explain the TypeError a write to a frozen built-in gives.
    return /not extensible|read[- ]only property|Cannot (re)?define property/i.test(m)
      ? `${m} (built-in objects and prototypes are frozen in the sandbox)`
      : m;
  }
  try {
    return `threw a non-Error value: ${inspect(e, { depth: 2, colors: false })}`;
  } catch {
    return "threw a non-Error value";
  }
}

let reported = false;
function fail(
  kind: SandboxErrorKind,
  message: string,
  bar: number | null,
  logs: LogCapture = currentLogs,
): void {
  if (reported) return;
  reported = true;
  post({ type: "error", kind, message, bar, logs: logs.finish() });
}

/**
 * Routes `ctx.log` into the job's capture so console and `ctx.log` lines keep their order and
 * share one size limit. Best effort: if the engine's context refuses the property, its own
 * `logs` are appended to the result instead.
 */
function captureCtxLog(ctx: StrategyContext, logs: LogCapture): void {
  try {
    Object.defineProperty(ctx, "log", {
      value: (...args: unknown[]) => logs.add(logs.open ? formatArgs(args) : ""),
    });
  } catch {
    // keep the engine's ctx.log
  }
}

/** A thrown non-Error value becomes an Error whose message shows the value. */
function asError(e: unknown): unknown {
  return e instanceof Error ? e : new Error(describeThrown(e));
}

/** Wraps the user instance so every entry into user code is visible to the host's watchdog. */
function watchedStrategy(
  inst: Strategy,
  control: Int32Array,
  timestamps: Float64Array,
  logs: LogCapture,
): Strategy {
  let bar = -1;
  let seenCtx: StrategyContext | null = null;
  const wrapper: Strategy = {
    get params() {
      return inst.params;
    },
    set params(p) {
      inst.params = p;
    },
    OnData(data, ctx) {
      bar++;
      logs.time = timestamps[bar];
      if (seenCtx !== ctx) {
        seenCtx = ctx;
        captureCtxLog(ctx, logs);
      }
      // Plain (non-atomic) stores: aligned Int32 writes do not tear, the host only needs to
      // see them eventually, and a seq-cst store per bar would cost more than the check.
      control[SLOT_BAR] = bar;
      control[SLOT_CALLS] = bar;
      control[SLOT_PHASE] = PHASE_ONDATA;
      let signal;
      try {
        signal = inst.OnData(data, ctx);
      } catch (e) {
        control[SLOT_PHASE] = PHASE_ENGINE;
        throw asError(e);
      }
      control[SLOT_PHASE] = PHASE_ENGINE;
      if (
        signal !== null && typeof signal === "object" &&
        typeof (signal as { then?: unknown }).then === "function"
      ) {
        throw new TypeError(
          "OnData returned a Promise: OnData must be synchronous (no async, no await)",
        );
      }
      return signal;
    },
  };
  if (typeof inst.Initialize === "function") {
    wrapper.Initialize = (ctx: StrategyContext) => {
      seenCtx = ctx;
      captureCtxLog(ctx, logs);
      atomicsAdd(control, Slot.Calls, 1);
      atomicsStore(control, Slot.Phase, Phase.Init);
      try {
        inst.Initialize!(ctx);
      } catch (e) {
        throw asError(e);
      }
      atomicsStore(control, Slot.Phase, Phase.Engine);
    };
  }
  return wrapper;
}

function toDataUrl(js: string): string {
  const bytes = new TextEncoder().encode(js);
  let bin = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return "data:text/javascript;base64," + btoa(bin);
}

/** The result as the codec's parts (sandbox_codec.ts), for a run over `n` bars. */
function encodeRun(result: BacktestResult, n: number, logLines: string[]) {
  // The curve travels as two float64 arrays: the engine's raw values when it exposes them (no
  // million `{ time, equity }` objects built only to be taken apart), else the objects.
  const raw = (result as { [EQUITY_VALUES]?: Float64Array })[EQUITY_VALUES];
  let equityTime: Float64Array | null, equityValue: Float64Array;
  if (raw instanceof Float64Array && raw.length === n) {
    equityTime = null; // the bars' timestamps: the caller has them
    equityValue = raw;
  } else {
    const curve = result.equity, len = curve.length;
    equityTime = new Float64Array(len);
    equityValue = new Float64Array(len);
    for (let i = 0; i < len; i++) {
      equityTime[i] = curve[i].time;
      equityValue[i] = curve[i].equity;
    }
  }
  return encodeResult(result, { time: equityTime, value: equityValue }, logLines);
}

/** Set when the job message arrives: the warm-up stops at its next slice. */
let jobArrived = false;

/**
 * Runs the engine on synthetic bars with built-in (trusted) strategies, through the same
 * wrapper, progress and encoder paths as a job, before any user code is loaded. Why: a fresh
 * isolate runs its first 1M-bar backtest at about half speed while V8 compiles the engine
 * (median 324 ms without this, 172 ms after it; see `WARM_UP`), and a spare Worker has that
 * time while it waits.
 * Slices end between macrotasks, so a job that arrives waits one slice at most; the results
 * are thrown away, and nothing of them is visible to the job (the engine's pooled arrays are
 * zeroed, bars and logs are the warm-up's own).
 */
async function warmUp(): Promise<void> {
  const bars = warmUpBars(WARM_UP.bars);
  const logs = new LogCapture(1024);
  const control = new Int32Array(SLOT_COUNT);
  for (let i = 0; i < WARM_UP.runs && !jobArrived; i++) {
    await new Promise((r) => setTimeout(r, 0));
    if (jobArrived) return;
    const inst = new WARM_UP_STRATEGIES[i % WARM_UP_STRATEGIES.length]();
    const result = runBacktest(bars, watchedStrategy(inst, control, bars.timestamp, logs), {
      onProgress: () => {},
    });
    encodeRun(result, bars.length, []);
  }
}

/** Everything that does not depend on the job: done while a spare Worker waits for one. */
async function prepare(msg: WorkerPrepare): Promise<void> {
  installConsole(currentLogs);
  // Loaded before the freeze: the encoder runs after user code, with the built-ins it saw.
  await lockTrustedModules(msg.trustedModules);
  harden();
  post({ type: "ready" });
  if (!jobArrived) void warmUp().catch(() => {});
}

async function run(init: WorkerInit): Promise<void> {
  const { control } = init;
  const logs = currentLogs;
  logs.limit = init.logBytes;
  const bars: Bars = {
    length: init.timestamp.length,
    timestamp: init.timestamp,
    open: init.open,
    high: init.high,
    low: init.low,
    close: init.close,
    volume: init.volume,
  };
  const url = toDataUrl(init.js);

  const tLoad = performance.now();
  let mod: Record<string, unknown>;
  atomicsAdd(control, Slot.Calls, 1);
  atomicsStore(control, Slot.Phase, Phase.Loading);
  try {
    mod = await import(url);
  } catch (e) {
    return fail(
      isNotCapable(e) ? "permission" : "runtime",
      `Strategy module failed to load: ${describeThrown(e)}`,
      null,
      logs,
    );
  } finally {
    atomicsStore(control, Slot.Phase, Phase.Engine);
  }
  const Cls = mod.default;
  if (typeof Cls !== "function") {
    return fail(
      "compile",
      "The strategy module has no default-exported class: add `export default class MyStrategy { OnData(data, ctx) { ... } }`",
      null,
      logs,
    );
  }
  let inst: Strategy;
  atomicsAdd(control, Slot.Calls, 1);
  atomicsStore(control, Slot.Phase, Phase.Init);
  try {
    inst = new (Cls as new () => Strategy)();
  } catch (e) {
    return fail(
      isNotCapable(e) ? "permission" : "runtime",
      `Strategy constructor threw: ${describeThrown(e)}`,
      null,
      logs,
    );
  } finally {
    atomicsStore(control, Slot.Phase, Phase.Engine);
  }
  // Checked on the instance: `OnData = (data, ctx) => ...` as a class field is fine too.
  if (typeof (inst as Partial<Strategy>).OnData !== "function") {
    return fail(
      "compile",
      `The default-exported class ${Cls.name || "(anonymous)"} has no OnData(data, ctx) method`,
      null,
      logs,
    );
  }

  let result: BacktestResult;
  let trades: TradeRecord[] = [];
  const n = bars.length;
  const tRun = performance.now();
  // The engine reports progress at the last bar whenever it reports progress: the loop's end.
  let tLoopEnd = NaN;
  const flushTrades = () => {
    if (trades.length > 0) {
      post({ type: "trades", trades });
      trades = [];
    }
  };
  try {
    result = runBacktest(bars, watchedStrategy(inst, control, bars.timestamp, logs), {
      config: init.config,
      params: init.params as Record<string, number | string | boolean> | undefined,
      onProgress: (progress) => {
        if (progress.index === n - 1) tLoopEnd = performance.now();
        flushTrades();
        post({ type: "progress", progress });
      },
      onTrade: init.streamTrades ? (trade) => void trades.push(trade) : undefined,
    });
  } catch (e) {
    atomicsStore(control, Slot.Phase, Phase.Engine);
    const cause = e instanceof StrategyError ? (e as Error).cause ?? e : e;
    const bar = e instanceof StrategyError ? e.bar : null;
    const kind: SandboxErrorKind = isNotCapable(cause) || isNotCapable(e)
      ? "permission"
      : "runtime";
    return fail(kind, describeThrown(e), bar, logs);
  }

  const tResult = performance.now();
  if (Number.isNaN(tLoopEnd)) tLoopEnd = tResult; // no bars
  flushTrades();
  reported = true;
  const { meta, parts } = encodeRun(result, n, logs.finish(result.logs));
  const phases: WorkerPhases = {
    load: tRun - tLoad,
    loop: tLoopEnd - tRun,
    result: tResult - tLoopEnd,
    encode: performance.now() - tResult,
  };
  const transfer: ArrayBuffer[] = [meta.buffer as ArrayBuffer];
  const columns = [init.timestamp, init.open, init.high, init.low, init.close, init.volume];
  for (const p of [...parts, ...columns]) {
    if (!transfer.includes(p.buffer as ArrayBuffer)) transfer.push(p.buffer as ArrayBuffer);
  }
  post({ type: "result", meta, parts, bars: columns, phases }, transfer);
}

globalThis.addEventListener("unhandledrejection", (e) => {
  e.preventDefault();
  fail(
    isNotCapable(e.reason) ? "permission" : "runtime",
    `Unhandled promise rejection in strategy: ${describeThrown(e.reason)}`,
    null,
  );
});

let ready: Promise<void> | null = null;
globalThis.onmessage = (e: MessageEvent<WorkerPrepare | WorkerInit>) => {
  const msg = e.data;
  if (msg.type === "prepare") {
    ready ??= prepare(msg);
    return;
  }
  // One job per Worker: nothing after it is listened to.
  globalThis.onmessage = null;
  jobArrived = true;
  (ready ?? Promise.reject(new Error("job before prepare"))).then(() => run(msg)).catch(
    (err) => fail("runtime", `Sandbox worker failed: ${describeThrown(err)}`, null),
  );
};
