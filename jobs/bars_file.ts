/**
 * The bars file of a pooled sandbox process (`sandbox_pool.ts` writes it, `sandbox_host.ts`
 * reads it): the six columns (timestamp, open, high, low, close, volume) as float64, one
 * after another, in the process' private directory.
 *
 * The file stays between jobs, so a next job on the same bars writes nothing: the caller
 * compares the job's bars with the file byte for byte first (`barsFileHolds`). That is an
 * exact check, so nothing can stand in for another caller's bars, and it costs ~5 ms for a
 * million bars (48 MB, from the page cache) where the SHA-256 digest used before cost ~27 ms
 * on each side of the pipe. The host reads the file into the columns its last job's Worker
 * handed back (`readBarsFile`): a read into pages already faulted in took ~4 ms for 48 MB
 * here, into fresh memory ~150 ms. It does so while idle, once the caller has read the last
 * result, and again for a job only when the caller wrote the file for it.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import type { Bars } from "../engine/types.ts";

/** The columns of `b` in file order. */
export function barColumns(b: Bars): Float64Array[] {
  return [b.timestamp, b.open, b.high, b.low, b.close, b.volume];
}

/** Size in bytes of the bars file of `length` bars. */
export function barsFileBytes(length: number): number {
  return 6 * 8 * length;
}

/** Writes the bars to `path` (created 0600, or truncated). */
export async function writeBarsFile(path: string, b: Bars): Promise<void> {
  const file = await Deno.open(path, { write: true, create: true, truncate: true, mode: 0o600 });
  try {
    for (const c of barColumns(b)) {
      const bytes = new Uint8Array(c.buffer, c.byteOffset, c.byteLength);
      let off = 0;
      while (off < bytes.length) off += await file.write(bytes.subarray(off));
    }
  } finally {
    file.close();
  }
}

const CHUNK_BYTES = 1 << 20;
let chunk: Uint8Array | null = null;

/**
 * Whether the file at `path` holds exactly these bars (its size, then every byte, compared
 * in 1 MB steps through one reused buffer). False when the file is missing or unreadable.
 */
export function barsFileHolds(path: string, b: Bars): boolean {
  let file: Deno.FsFile;
  try {
    file = Deno.openSync(path, { read: true });
  } catch {
    return false;
  }
  try {
    if (file.statSync().size !== barsFileBytes(b.length)) return false;
    chunk ??= new Uint8Array(CHUNK_BYTES);
    const got = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    for (const c of barColumns(b)) {
      const want = Buffer.from(c.buffer, c.byteOffset, c.byteLength);
      for (let off = 0; off < want.length; off += CHUNK_BYTES) {
        const m = Math.min(CHUNK_BYTES, want.length - off);
        if (!readFully(file, chunk.subarray(0, m))) return false;
        // Views, not compare()'s offset arguments: Deno 2.9.6 checks those against the wrong end.
        if (!got.subarray(0, m).equals(want.subarray(off, off + m))) return false;
      }
    }
    return true;
  } catch {
    return false;
  } finally {
    file.close();
  }
}

/**
 * Reads `length` bars from `path` as six columns, each in its own buffer (each is transferred
 * to the Worker on its own): into `reuse` when it holds six float64 columns of that length,
 * else into new ones.
 */
export function readBarsFile(
  path: string,
  length: number,
  reuse: readonly Float64Array[] | null = null,
): Float64Array[] {
  const fits = reuse !== null && reuse.length === 6 &&
    reuse.every((c) =>
      c instanceof Float64Array && c.buffer instanceof ArrayBuffer && c.length === length
    );
  const columns = fits ? [...reuse] : Array.from({ length: 6 }, () => new Float64Array(length));
  const file = Deno.openSync(path, { read: true });
  try {
    const size = file.statSync().size;
    if (size !== barsFileBytes(length)) {
      throw new Error(`Bars file has ${size} bytes, expected ${barsFileBytes(length)}`);
    }
    for (let c = 0; c < 6; c++) {
      const col = columns[c];
      if (!readFully(file, new Uint8Array(col.buffer, col.byteOffset, col.byteLength))) {
        throw new Error(`Bars file ended in column ${c}`);
      }
    }
  } finally {
    file.close();
  }
  return columns;
}

/** Fills `buf` from `file`; false when the file ends first. */
function readFully(file: Deno.FsFile, buf: Uint8Array): boolean {
  let off = 0;
  while (off < buf.length) {
    const n = file.readSync(buf.subarray(off));
    if (n === null) return false;
    off += n;
  }
  return true;
}
