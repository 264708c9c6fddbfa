/**
 * Main module of a sandbox subprocess (started and reused by `sandbox_pool.ts`). It runs jobs
 * read from stdin one at a time, each in a fresh permission-less Worker (`sandbox_runner.ts`),
 * and writes nonce-tagged frames to stdout; a successful result goes to the job's result file,
 * announced by a frame. While idle it keeps one spare Worker prepared (engine loaded, built-ins
 * frozen) so the next job starts in milliseconds; that Worker is used for one job only.
 *
 * The process runs with `--max-old-space-size`, read access to the sandbox and engine sources
 * and to its private job directory, and write access to that directory only; a heap blow-up
 * kills this process, never the caller's. It exits when stdin closes (the caller went away or
 * shut the pool down), removing its job directory (given as its one argument) on the way.
 *
 * @module
 */
import { columnsDigest } from "./bars_digest.ts";
import { packParts } from "./sandbox_codec.ts";
import {
  FRAME_HEADER_BYTES,
  FrameType,
  type HostRequest,
  NONCE_BYTES,
} from "./sandbox_protocol.ts";
import type { ResultFileInfo } from "./sandbox_protocol.ts";
import { runInWorker, startStrategyWorker } from "./sandbox_runner.ts";

const encoder = new TextEncoder();

async function readExactly(buf: Uint8Array): Promise<boolean> {
  let off = 0;
  while (off < buf.length) {
    const n = await Deno.stdin.read(buf.subarray(off));
    if (n === null) {
      if (off === 0) return false;
      throw new Error(`stdin ended after ${off} of ${buf.length} bytes`);
    }
    off += n;
  }
  return true;
}

/** The next job, or null when stdin is closed. */
async function readRequest(): Promise<HostRequest | null> {
  const lenBuf = new Uint8Array(4);
  if (!await readExactly(lenBuf)) return null;
  const header = new Uint8Array(new DataView(lenBuf.buffer).getUint32(0, true));
  if (!await readExactly(header)) throw new Error("stdin ended inside a job header");
  return JSON.parse(new TextDecoder().decode(header)) as HostRequest;
}

/**
 * The bars of the last job, handed back by its Worker and checked against their digest: a
 * next job on the same bars (the caller knows from `ResultFileInfo.barsKept`) gets them
 * without a file. A million bars are 48 MB, which took 20–200 ms to write, read and fault in
 * on the 2-core VM; keeping them costs one digest here (~27 ms), after the result is out.
 */
let kept: { digest: string; columns: Float64Array[] } | null = null;

/** This job's bar columns: from its file, or the kept ones when the request says so. */
function jobBars(req: HostRequest): Float64Array[] {
  const k = kept;
  kept = null; // whatever happens, they go to this job's Worker (transferred) or nowhere
  if (req.barsPath === null) {
    if (k === null || k.digest !== req.barsDigest) {
      throw new Error("the bars of the last job were not kept (the caller's bookkeeping is off)");
    }
    return k.columns;
  }
  return readBars(req.barsPath, req.length);
}

/** Reads the bar columns, one buffer each (each is transferred to the Worker on its own). */
function readBars(path: string, length: number): Float64Array[] {
  const columns: Float64Array[] = [];
  const file = Deno.openSync(path, { read: true });
  try {
    for (let c = 0; c < 6; c++) {
      const col = new Float64Array(length);
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
  return columns;
}

/** Writes `parts` to `path` (a file write is one copy; a pipe would be hundreds). */
function writeFile(path: string, parts: Uint8Array[]): void {
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

function writeFrame(nonce: Uint8Array, type: number, json: unknown): void {
  const body = encoder.encode(JSON.stringify(json));
  const head = new Uint8Array(NONCE_BYTES + FRAME_HEADER_BYTES);
  head.set(nonce);
  const view = new DataView(head.buffer);
  view.setUint8(NONCE_BYTES, type);
  view.setUint32(NONCE_BYTES + 1, body.length, true);
  view.setUint32(NONCE_BYTES + 5, 0, true);
  writeAll(head);
  writeAll(body);
}

/** Runs one job; returns the bars its Worker handed back (to check, then keep), if any. */
async function runJob(
  req: HostRequest,
  worker: Worker,
): Promise<{ digest: string; columns: Float64Array[] } | null> {
  const nonce = hexToBytes(req.nonce);
  if (nonce.length !== NONCE_BYTES) throw new Error("Bad nonce");
  let columns: Float64Array[];
  try {
    columns = jobBars(req);
  } catch (e) {
    worker.terminate();
    writeFrame(nonce, FrameType.Error, {
      kind: "runtime",
      message: `Sandbox could not read the bars: ${(e as Error).message}`,
      bar: null,
      logs: [],
    });
    return null;
  }
  const job = runInWorker(worker, {
    js: req.js,
    params: req.params,
    config: req.config,
    columns,
    onDataTimeoutMs: req.onDataTimeoutMs,
    logBytes: req.logBytes,
    streamTrades: req.streamTrades,
  }, {
    onProgress: (p) => writeFrame(nonce, FrameType.Progress, p),
    onTrades: (t) => writeFrame(nonce, FrameType.Trades, t),
  });
  // Backstop should the caller not enforce the limit (it kills this process first).
  const backstop = setTimeout(
    () => job.stop("timeout", `Backtest exceeded the time limit of ${req.timeoutMs} ms`),
    req.timeoutMs + 2000,
  );
  const outcome = await job.done;
  clearTimeout(backstop);
  if (outcome.type === "error") {
    const { kind, message, bar, logs } = outcome;
    writeFrame(nonce, FrameType.Error, { kind, message, bar, logs });
    return null;
  }
  const { chunks, layout } = packParts(outcome.parts);
  let metaOffset = 0;
  for (const c of chunks) metaOffset += c.length;
  writeFile(req.resultPath, [...chunks, outcome.meta]);
  const back = outcome.bars;
  const barsKept = Array.isArray(back) && back.length === 6 &&
    back.every((c) => c instanceof Float64Array && c.length === req.length);
  const info: ResultFileInfo = { layout, metaOffset, metaBytes: outcome.meta.length, barsKept };
  writeFrame(nonce, FrameType.ResultFile, info);
  return barsKept ? { digest: req.barsDigest, columns: back } : null;
}

/**
 * Keeps the bars a job's Worker handed back, once they match their digest. Checked after the
 * result is out (while the caller reads it) and before the next request is read: user code
 * never holds these arrays (the engine keeps them private, which is also what keeps later
 * bars from it), so a mismatch means that broke. Then this process ends rather than hand
 * changed bars to another job: the caller's next job on it fails with this line, and a fresh
 * process takes over.
 */
function keep(bars: { digest: string; columns: Float64Array[] }): void {
  if (columnsDigest(bars.columns) !== bars.digest) {
    console.error("sandbox: the bars handed back by the last job do not match their digest");
    Deno.exit(70);
  }
  kept = bars;
}

/** This process' private job directory (the only one it may write); removed on exit. */
const jobDir = Deno.args[0] ?? "";
let spare = startStrategyWorker();
for (let req = await readRequest(); req !== null; req = await readRequest()) {
  const worker = spare;
  const back = await runJob(req, worker);
  // The next job's Worker: prepared while this process waits for it.
  spare = startStrategyWorker();
  if (back !== null) keep(back);
}
spare.terminate();
// stdin closed: the caller shut the pool down or went away (then it cannot clean up after us).
try {
  Deno.removeSync(jobDir, { recursive: true });
} catch {
  // already removed, or no directory was given
}
Deno.exit(0);
