/**
 * A SHA-256 digest of a bar series (its length and the bytes of its six columns), the key
 * under which a pooled sandbox process keeps the bars of its last job (`sandbox_pool.ts`).
 *
 * Why a cryptographic hash: the process is shared by every caller's jobs, so a key that one
 * caller could collide on purpose would let its bars stand in for another caller's. SHA-256
 * through `node:crypto` runs at ~1.8 GB/s here (27 ms for a million bars); a JS hash was no
 * faster by enough to give that up, and WebCrypto's took ten times as long.
 *
 * @module
 */
import { createHash } from "node:crypto";
import type { Bars } from "../engine/types.ts";

/** Hex SHA-256 of `length` (u32) then timestamp, open, high, low, close, volume as float64. */
export function barsDigest(bars: Bars): string {
  return columnsDigest([
    bars.timestamp,
    bars.open,
    bars.high,
    bars.low,
    bars.close,
    bars.volume,
  ]);
}

/** {@linkcode barsDigest} of the six columns in that order (all of one length). */
export function columnsDigest(columns: readonly Float64Array[]): string {
  const n = columns[0]?.length ?? 0;
  const h = createHash("sha256");
  const len = new Uint8Array(4);
  new DataView(len.buffer).setUint32(0, n, true);
  h.update(len);
  for (const c of columns) {
    if (c.length !== n) throw new RangeError(`bar columns differ in length: ${c.length} and ${n}`);
    h.update(new Uint8Array(c.buffer, c.byteOffset, c.byteLength));
  }
  return h.digest("hex");
}
