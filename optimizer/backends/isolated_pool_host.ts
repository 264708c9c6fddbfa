/**
 * Subprocess side of `isolated_pool.ts`: reads one request from stdin (a JSON header line,
 * then the bars as 6 float64 columns), runs `runWorkerPool` on it, and writes each finished
 * chunk to stdout as one JSON line (non-finite numbers as strings, `encodeMetrics`). Started
 * with a V8 heap cap that every isolate here gets, this process' pool Workers included, so a
 * memory bomb in user code ends this process, not the server.
 *
 * @module
 */
import { allocateBars } from "../../engine/bars.ts";
import type { Bars } from "../../engine/types.ts";
import {
  encodeMetrics,
  type IsolatedPoolHeader,
  type IsolatedPoolLine,
} from "./isolated_pool_protocol.ts";
import { errorReply } from "./pool_protocol.ts";
import { runWorkerPool } from "./workers.ts";

const out = Deno.stdout.writable.getWriter();
const encoder = new TextEncoder();
const write = (line: IsolatedPoolLine) => out.write(encoder.encode(JSON.stringify(line) + "\n"));

const input = new Uint8Array(await new Response(Deno.stdin.readable).arrayBuffer());
const nl = input.indexOf(10);
const header = JSON.parse(new TextDecoder().decode(input.subarray(0, nl))) as IsolatedPoolHeader;
const bars: Bars = allocateBars(header.bars);
const body = input.slice(nl + 1); // a copy, aligned for the float64 views
const cols = [bars.timestamp, bars.open, bars.high, bars.low, bars.close, bars.volume];
cols.forEach((c, k) => c.set(new Float64Array(body.buffer, k * header.bars * 8, header.bars)));

let writes = Promise.resolve();
try {
  await runWorkerPool(bars, header.source, header.combos, {
    ...header.options,
    onChunk: (start, results) => {
      writes = writes.then(() =>
        write({ type: "chunk", start, results: results.map(encodeMetrics) })
      );
    },
  });
  await writes;
  await write({ type: "done" });
} catch (err) {
  await writes;
  const { name, message, bar } = errorReply(err);
  await write({ type: "error", name: name ?? "Error", message, bar });
}
await out.close();
// Workers still busy (another combination's endless loop) would keep this process alive.
Deno.exit(0);
