/**
 * Main module of a sandbox subprocess (started and reused by `sandbox_pool.ts`). It runs jobs
 * read from stdin one at a time, each in a fresh permission-less Worker (`sandbox_runner.ts`),
 * and writes nonce-tagged frames to stdout; a successful result goes to the process' result
 * file, announced by a frame. While idle it keeps one spare Worker prepared (engine loaded,
 * built-ins frozen) so the next job starts in milliseconds; that Worker is used for one job
 * only, and after a result it is started once the caller says it has read the result file,
 * when the host also reads the bars file again for a next job on the same bars.
 *
 * The process runs with `--max-old-space-size`, read access to the sandbox and engine sources
 * and to its private job directory, and write access to that directory only; a heap blow-up
 * kills this process, never the caller's. It exits when stdin closes (the caller went away or
 * shut the pool down), removing its job directory (given as its one argument) on the way.
 *
 * @module
 */
import { readBarsFile } from "./bars_file.ts";
import { packParts } from "./sandbox_codec.ts";
import {
  FRAME_HEADER_BYTES,
  FrameType,
  type HostMessage,
  type HostPhases,
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

/** The next message, or null when stdin is closed. */
async function readMessage(): Promise<HostMessage | null> {
  const lenBuf = new Uint8Array(4);
  if (!await readExactly(lenBuf)) return null;
  const header = new Uint8Array(new DataView(lenBuf.buffer).getUint32(0, true));
  if (!await readExactly(header)) throw new Error("stdin ended inside a message");
  return JSON.parse(new TextDecoder().decode(header)) as HostMessage;
}

/**
 * The bar columns the last successful job's Worker handed back, and the bars file they belong
 * to. The next job of the same length reads its bars file into them, whose pages are already
 * faulted in (~4 ms for a million bars here, against ~150 ms into fresh memory); what they
 * held is overwritten. `read`: they hold that file as the host read it while idle, after the
 * caller read the last result, so a next job whose file was not rewritten since
 * (`HostRequest.barsWritten` false) runs on them at once, without reading ~48 MB.
 */
let kept: { path: string; columns: Float64Array[]; read: boolean } | null = null;

/** Reads the kept bars file into the kept columns, while idle. */
function readKeptBars(): void {
  if (kept === null || kept.read || kept.columns.length === 0) return;
  try {
    kept.columns = readBarsFile(kept.path, kept.columns[0].length, kept.columns);
    kept.read = true;
  } catch {
    // The file changed length or went away: the next job reads its own file.
  }
}

/** The job's bar columns: the kept ones if they hold its file as it is, else the file read now. */
function jobColumns(req: HostRequest): Float64Array[] {
  const k = kept;
  kept = null; // they go to this job's Worker (transferred) or nowhere
  if (
    k !== null && k.read && !req.barsWritten && k.path === req.barsPath &&
    k.columns[0].length === req.length
  ) {
    return k.columns;
  }
  return readBarsFile(req.barsPath, req.length, k?.columns ?? null);
}

/**
 * Writes `parts` from the start of `path`, in place (a file write is one copy; a pipe would be
 * hundreds). Not truncated: the file's pages from the last job stay allocated (see
 * `HostRequest.resultPath`); bytes past this result are left over and never read.
 */
function writeFile(path: string, parts: Uint8Array[]): void {
  const file = Deno.openSync(path, { write: true, create: true });
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

/**
 * Runs one job; whether it wrote a result file (false: it failed). Keeps the bar columns its
 * Worker handed back in `kept`.
 */
async function runJob(req: HostRequest, worker: Worker): Promise<boolean> {
  const nonce = hexToBytes(req.nonce);
  if (nonce.length !== NONCE_BYTES) throw new Error("Bad nonce");
  const t0 = performance.now();
  let readBars = 0;
  let columns: Float64Array[];
  try {
    columns = jobColumns(req);
    readBars = performance.now() - t0;
  } catch (e) {
    worker.terminate();
    writeFrame(nonce, FrameType.Error, {
      kind: "runtime",
      message: `Sandbox could not read the bars: ${(e as Error).message}`,
      bar: null,
      logs: [],
    });
    return false;
  }
  const t1 = performance.now();
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
    return false;
  }
  const t2 = performance.now();
  const { chunks, layout } = packParts(outcome.parts);
  let metaOffset = 0;
  for (const c of chunks) metaOffset += c.length;
  writeFile(req.resultPath, [...chunks, outcome.meta]);
  const phases: HostPhases = {
    readBars,
    run: t2 - t1,
    writeResult: performance.now() - t2,
    worker: outcome.phases,
  };
  const info: ResultFileInfo = { layout, metaOffset, metaBytes: outcome.meta.length, phases };
  writeFrame(nonce, FrameType.ResultFile, info);
  // Only now: the Worker's teardown would have competed with the write for the CPU. Until
  // here it was part of the job, under the caller's time and memory watch.
  job.release();
  kept = Array.isArray(outcome.bars)
    ? { path: req.barsPath, columns: outcome.bars, read: false }
    : null;
  return true;
}

/** This process' private job directory (the only one it may write); removed on exit. */
const jobDir = Deno.args[0] ?? "";
/**
 * The next job's Worker, prepared while this process waits for it. After a result it is
 * started once the caller has read the result file (`HostResultRead`), or for the next job.
 */
let spare: Worker | null = startStrategyWorker();
for (let msg = await readMessage(); msg !== null; msg = await readMessage()) {
  if (msg.type === "resultRead") {
    spare ??= startStrategyWorker();
    readKeptBars();
    continue;
  }
  const worker = spare ?? startStrategyWorker();
  spare = null;
  // A failed job wrote no file: nothing of the caller's to wait for.
  if (!await runJob(msg, worker)) spare = startStrategyWorker();
}
spare?.terminate();
// stdin closed: the caller shut the pool down or went away (then it cannot clean up after us).
try {
  Deno.removeSync(jobDir, { recursive: true });
} catch {
  // already removed, or no directory was given
}
Deno.exit(0);
