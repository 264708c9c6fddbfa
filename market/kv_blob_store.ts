/**
 * Named byte blobs (uploaded dataset files) in Deno KV, for the deploy profile where nothing
 * may be written to disk. A blob is split into chunks under Deno KV's 64 KiB value limit and
 * written under a fresh generation; one atomic commit of its index entry switches readers to
 * it, so a reader sees the old blob or the new one, whole, never a mix (the KV counterpart of
 * temp file + rename). Chunks of an interrupted write are swept by the next write or `sweep()`.
 *
 * @module
 */
import { deleteWhere } from "./kv_delete_where.ts";

const CHUNK = 60 * 1024;
const CHUNKS_PER_COMMIT = 8; // under 800 KiB per atomic operation

/** What the index holds for one blob. */
export interface BlobInfo {
  name: string;
  size: number;
  /** When it was written (ms). */
  mtime: number;
}

interface IndexValue extends BlobInfo {
  gen: string;
  chunks: number;
}

/** A store of named blobs under `prefix` in a KV store. */
export class KvBlobStore {
  readonly #kv: Deno.Kv;
  readonly #prefix: Deno.KvKeyPart[];

  constructor(kv: Deno.Kv, prefix: Deno.KvKeyPart[]) {
    this.#kv = kv;
    this.#prefix = prefix;
  }

  /** Stores `bytes` as `name`, replacing any previous blob atomically. */
  async put(name: string, bytes: Uint8Array): Promise<BlobInfo> {
    // The generation names its start time, so that `sweep` can tell a crashed writer's chunks
    // (old) from those of a write in progress in another process (recent).
    const gen = `${Date.now()}-${crypto.randomUUID().slice(0, 8)}`;
    const n = Math.ceil(bytes.length / CHUNK);
    for (let i = 0; i < n; i += CHUNKS_PER_COMMIT) {
      const op = this.#kv.atomic();
      for (let j = i; j < Math.min(n, i + CHUNKS_PER_COMMIT); j++) {
        op.set([...this.#prefix, "chunk", name, gen, j], bytes.slice(j * CHUNK, (j + 1) * CHUNK));
      }
      if (!(await op.commit()).ok) throw new Error(`KV write of ${name} failed`);
    }
    const info: IndexValue = { name, size: bytes.length, mtime: Date.now(), gen, chunks: n };
    const old = await this.#kv.get<IndexValue>([...this.#prefix, "index", name]);
    const res = await this.#kv.atomic().check(old).set([...this.#prefix, "index", name], info)
      .commit();
    if (!res.ok) {
      await this.#deleteChunks(name, (g) => g === gen);
      throw new Error(`Concurrent write of ${name}; try again`);
    }
    await this.#deleteChunks(name, (g) => g !== gen);
    return { name, size: info.size, mtime: info.mtime };
  }

  /** The blob's bytes, or null when there is none; throws when its chunks are incomplete. */
  async get(name: string): Promise<Uint8Array | null> {
    const idx = await this.#kv.get<IndexValue>([...this.#prefix, "index", name]);
    if (!idx.value) return null;
    const { gen, chunks, size } = idx.value;
    const out = new Uint8Array(size);
    let off = 0, i = 0;
    for await (
      const e of this.#kv.list<Uint8Array>({ prefix: [...this.#prefix, "chunk", name, gen] })
    ) {
      if (
        e.key[e.key.length - 1] !== i || !(e.value instanceof Uint8Array) ||
        off + e.value.length > size
      ) {
        throw new Error(`KV blob ${name} is damaged at chunk ${i}`);
      }
      out.set(e.value, off);
      off += e.value.length;
      i++;
    }
    if (i !== chunks || off !== size) {
      throw new Error(`KV blob ${name} is damaged: ${i} of ${chunks} chunks`);
    }
    return out;
  }

  /** The blob's index entry, or null. */
  async stat(name: string): Promise<BlobInfo | null> {
    const v = (await this.#kv.get<IndexValue>([...this.#prefix, "index", name])).value;
    return v ? { name: v.name, size: v.size, mtime: v.mtime } : null;
  }

  /** All blobs, by name. */
  async list(): Promise<BlobInfo[]> {
    const out: BlobInfo[] = [];
    for await (const e of this.#kv.list<IndexValue>({ prefix: [...this.#prefix, "index"] })) {
      out.push({ name: e.value.name, size: e.value.size, mtime: e.value.mtime });
    }
    return out;
  }

  /** Deletes a blob; false when there was none. */
  async delete(name: string): Promise<boolean> {
    const idx = await this.#kv.get<IndexValue>([...this.#prefix, "index", name]);
    if (!idx.value) return false;
    await this.#kv.delete([...this.#prefix, "index", name]);
    await this.#deleteChunks(name, () => true);
    return true;
  }

  /**
   * Deletes chunks no index entry points to, left by a writer killed mid-write, once they are
   * older than `minAgeMs` (a younger generation may be another process's write in progress).
   */
  async sweep(minAgeMs = 10 * 60_000): Promise<number> {
    const before = Date.now() - minAgeMs;
    const live = new Map<string, string>();
    for (const b of await this.#listIndex()) live.set(b.name, b.gen);
    let removed = 0;
    let op = this.#kv.atomic(), pending = 0;
    for await (const e of this.#kv.list({ prefix: [...this.#prefix, "chunk"] })) {
      const name = e.key[this.#prefix.length + 1] as string;
      const gen = e.key[this.#prefix.length + 2];
      if (live.get(name) === gen || !(parseInt(String(gen), 10) < before)) continue;
      op.delete(e.key);
      removed++;
      if (++pending === 500) {
        await op.commit();
        op = this.#kv.atomic();
        pending = 0;
      }
    }
    if (pending > 0) await op.commit();
    return removed;
  }

  async #listIndex(): Promise<IndexValue[]> {
    const out: IndexValue[] = [];
    for await (const e of this.#kv.list<IndexValue>({ prefix: [...this.#prefix, "index"] })) {
      out.push(e.value);
    }
    return out;
  }

  #deleteChunks(name: string, drop: (gen: Deno.KvKeyPart) => boolean): Promise<void> {
    const at = this.#prefix.length + 2; // [...prefix, "chunk", name, gen, …]
    return deleteWhere(this.#kv, [...this.#prefix, "chunk", name], (key) => drop(key[at]));
  }
}
