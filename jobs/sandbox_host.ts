/**
 * Main module of the sandbox subprocess (started by `runInSandbox`). It reads one job from
 * stdin (and its bars from the file the job names), runs it in a permission-less Worker
 * (`sandbox_worker.ts`), enforces the per-call time budget by watching the Worker's shared
 * control slots, and writes nonce-tagged frames to stdout (a successful result goes to the
 * job's result file, announced by a frame). The process itself runs with
 * `--max-old-space-size`, read access to the sandbox and engine sources and the bars file, and
 * write access to the result file only; a heap blow-up kills this process, never the caller's.
 *
 * @module
 */
import {
  FRAME_HEADER_BYTES,
  FrameType,
  type HostRequest,
  NONCE_BYTES,
  Phase,
  type SandboxErrorKind,
  Slot,
  SLOT_COUNT,
  type WorkerInit,
  type WorkerMessage,
} from "./sandbox_protocol.ts";

const encoder = new TextEncoder();

async function readExactly(buf: Uint8Array): Promise<void> {
  let off = 0;
  while (off < buf.length) {
    const n = await Deno.stdin.read(buf.subarray(off));
    if (n === null) throw new Error(`stdin ended after ${off} of ${buf.length} bytes`);
    off += n;
  }
}

async function readRequest(): Promise<{ req: HostRequest; columns: Float64Array[] }> {
  const lenBuf = new Uint8Array(4);
  await readExactly(lenBuf);
  const headerLen = new DataView(lenBuf.buffer).getUint32(0, true);
  const header = new Uint8Array(headerLen);
  await readExactly(header);
  const req = JSON.parse(new TextDecoder().decode(header)) as HostRequest;
  // One buffer per column: each is transferred to the Worker on its own.
  const columns: Float64Array[] = [];
  const file = Deno.openSync(req.barsPath, { read: true });
  try {
    for (let c = 0; c < 6; c++) {
      const col = new Float64Array(req.length);
      const bytes = new Uint8Array(col.buffer);
      let off = 0;
      while (off < bytes.length) {
        const n = file.readSync(bytes.subarray(off));
        if (n === null) throw new Error(`Bars file ended in column ${c}, at byte ${off}`);
        off += n;
      }
      columns.push(col);
    }
  } finally {
    file.close();
  }
  return { req, columns };
}

/** Writes `parts` to the result file (a file write is one copy; a pipe would be hundreds). */
function writeResultFile(path: string, parts: Uint8Array[]): void {
  const file = Deno.openSync(path, { write: true, create: true, truncate: true });
  try {
    for (const p of parts) {
      let off = 0;
      while (off < p.length) off += file.writeSync(p.subarray(off));
    }
  } finally {
    file.close();
  }
}

function hexToBytes(hex: string): Uint8Array {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

function writeAll(bytes: Uint8Array): void {
  let off = 0;
  while (off < bytes.length) off += Deno.stdout.writeSync(bytes.subarray(off));
}

const { req, columns } = await readRequest();
const nonce = hexToBytes(req.nonce);
if (nonce.length !== NONCE_BYTES) throw new Error("Bad nonce");

function writeFrame(type: number, json: unknown, binary?: Uint8Array[]): void {
  const body = json instanceof Uint8Array ? json : encoder.encode(JSON.stringify(json));
  let binLen = 0;
  for (const b of binary ?? []) binLen += b.length;
  const head = new Uint8Array(NONCE_BYTES + FRAME_HEADER_BYTES);
  head.set(nonce);
  const view = new DataView(head.buffer);
  view.setUint8(NONCE_BYTES, type);
  view.setUint32(NONCE_BYTES + 1, body.length, true);
  view.setUint32(NONCE_BYTES + 5, binLen, true);
  writeAll(head);
  writeAll(body);
  for (const b of binary ?? []) writeAll(b);
}

let finished = false;
function finishWithError(kind: SandboxErrorKind, message: string, bar: number | null): void {
  if (finished) return;
  finished = true;
  worker.terminate();
  writeFrame(FrameType.Error, { kind, message, bar, logs: [] });
  Deno.exit(0);
}

const control = new Int32Array(new SharedArrayBuffer(SLOT_COUNT * 4));
const worker = new Worker(new URL("./sandbox_worker.ts", import.meta.url), {
  type: "module",
  name: "strategy",
  deno: { permissions: "none" },
});

worker.onmessage = (e: MessageEvent<WorkerMessage>) => {
  if (finished) return;
  const m = e.data;
  switch (m.type) {
    case "progress":
      writeFrame(FrameType.Progress, m.progress);
      break;
    case "trades":
      writeFrame(FrameType.Trades, m.trades);
      break;
    case "result":
      finished = true;
      worker.terminate();
      {
        const binary = [
          new Uint8Array(m.equityTime.buffer, m.equityTime.byteOffset, m.equityTime.byteLength),
          new Uint8Array(m.equityValue.buffer, m.equityValue.byteOffset, m.equityValue.byteLength),
          m.orders,
        ];
        writeResultFile(req.resultPath, [...binary, m.json]);
        let binaryBytes = 0;
        for (const b of binary) binaryBytes += b.length;
        writeFrame(FrameType.ResultFile, { jsonBytes: m.json.length, binaryBytes });
      }
      Deno.exit(0);
      break;
    case "error":
      finished = true;
      worker.terminate();
      writeFrame(FrameType.Error, { kind: m.kind, message: m.message, bar: m.bar, logs: m.logs });
      Deno.exit(0);
      break;
    default: {
      const _exhaustive: never = m;
      throw new Error(`Unknown worker message ${JSON.stringify(_exhaustive)}`);
    }
  }
};
worker.onerror = (e: ErrorEvent) => {
  e.preventDefault();
  finishWithError("runtime", `Strategy error: ${e.message}`, null);
};
worker.onmessageerror = () => {
  finishWithError("runtime", "The strategy sent a message that could not be read", null);
};

// Backstop for an orphaned host (the caller enforces the limit itself and kills us first).
setTimeout(
  () => finishWithError("timeout", `Backtest exceeded the time limit of ${req.timeoutMs} ms`, null),
  req.timeoutMs + 2000,
);

// The watchdog: a call is "stuck" when the phase says user code is running and the call
// counter has not moved for longer than the budget. Poll often enough that the overshoot is
// a small fraction of the budget.
const budget = req.onDataTimeoutMs;
const pollMs = Math.max(5, Math.min(50, Math.floor(budget / 10)));
let lastCalls = -1;
let lastPhase = -1;
let since = performance.now();
setInterval(() => {
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
      finishWithError(
        "timeout",
        `Strategy module top-level code did not finish within ${budget} ms (an infinite loop, or a top-level promise that never settles?)`,
        null,
      );
      break;
    case Phase.Init:
      finishWithError(
        "timeout",
        `Strategy constructor or Initialize() did not return within ${budget} ms`,
        null,
      );
      break;
    default:
      finishWithError(
        "timeout",
        `OnData on bar ${bar} did not return within the per-call limit of ${budget} ms (ran at least ${ms} ms)`,
        bar,
      );
  }
}, pollMs);

/** The engine's modules and the protocol: what the Worker's module graph can contain. */
function trustedModules(): string[] {
  const engine = new URL("../engine/", import.meta.url);
  const out = [new URL("./sandbox_protocol.ts", import.meta.url).href];
  for (const e of Deno.readDirSync(engine)) {
    if (e.isFile && e.name.endsWith(".ts")) out.push(new URL(e.name, engine).href);
  }
  return out.sort();
}

const init: WorkerInit = {
  js: req.js,
  params: req.params,
  config: req.config,
  timestamp: columns[0],
  open: columns[1],
  high: columns[2],
  low: columns[3],
  close: columns[4],
  volume: columns[5],
  control,
  logBytes: req.logBytes,
  streamTrades: req.streamTrades,
  trustedModules: trustedModules(),
};
worker.postMessage(init, columns.map((c) => c.buffer));
