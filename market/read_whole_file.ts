/**
 * Reads a file into one exactly-sized buffer.
 *
 * @module
 */
import { allocBytes } from "./huge_pages.ts";

/**
 * Reads a file into one exactly-sized buffer (advised as huge pages when large: see
 * `huge_pages.ts`). `Deno.readFile` grows and copies its buffer, which on a 48 MB Parquet
 * file costs as much again as the read itself.
 */
export async function readWholeFile(path: string): Promise<Uint8Array> {
  using f = await Deno.open(path);
  const size = (await f.stat()).size;
  const buf = allocBytes(size);
  let off = 0;
  while (off < size) {
    const n = await f.read(buf.subarray(off));
    if (n === null) break;
    off += n;
  }
  if (off === size) {
    // The file may have grown since stat; finish with the general path if so.
    const probe = new Uint8Array(1);
    if ((await f.read(probe)) === null) return buf;
  }
  return off < size ? buf.subarray(0, off) : await Deno.readFile(path);
}
