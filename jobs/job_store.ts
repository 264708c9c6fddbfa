/**
 * Durable job records in Deno KV: each job's request, status and result survive a restart
 * (or a SIGKILL) of the server.
 *
 * Layout (all keys under the store's KV):
 * - `["job", id]` → {@link JobRecord} (small: no payloads inline)
 * - `["job_by_status", status, id]` → the same record, so listing one status is one range read
 * - `["blob", blobId, i]` → chunk i of a gzip-compressed JSON payload (request or result);
 *   payloads larger than one KV value (64 KiB) are split into {@link CHUNK_BYTES} chunks
 * - `["blob_pending", blobId]` → set while a payload is being written, removed in the same
 *   atomic commit that points a job at it; a marker left by a killed process names an
 *   orphaned, half-written payload, which {@link JobStore.open} deletes.
 *
 * Job ids sort by creation time, so listing `["job"]` in reverse gives newest first.
 *
 * @module
 */

/** What a job does. */
export type JobKind = "backtest" | "optimization";

/** Job lifecycle: queued → running → completed | failed | cancelled (and queued → cancelled). */
export type JobStatus = "queued" | "running" | "completed" | "failed" | "cancelled";

/** All statuses, in lifecycle order. */
export const JOB_STATUSES: readonly JobStatus[] = [
  "queued",
  "running",
  "completed",
  "failed",
  "cancelled",
];

/** True for the three final statuses. */
export function isFinalStatus(s: JobStatus): boolean {
  return s === "completed" || s === "failed" || s === "cancelled";
}

/** Where a payload lives. */
export interface BlobRef {
  id: string;
  chunks: number;
  /** Compressed bytes stored. */
  bytes: number;
  /** Uncompressed JSON bytes. */
  jsonBytes: number;
}

/** A failure's machine-readable part: an API error code and its details (small JSON). */
export interface JobErrorDetails {
  code: string;
  [key: string]: unknown;
}

/** One job as stored. */
export interface JobRecord {
  id: string;
  kind: JobKind;
  status: JobStatus;
  /** ms since epoch. */
  createdAt: number;
  startedAt: number | null;
  finishedAt: number | null;
  /** Last persisted progress, 0..1 (1 when completed). */
  progress: number;
  /** Why it failed or was cancelled. */
  error: string | null;
  /**
   * What else is known of a failure, as the API's error `details` (for a strategy error: its
   * kind, the bar, the last lines of its console output); null otherwise, absent in records
   * stored before it existed.
   */
  errorDetails?: JobErrorDetails | null;
  /** How many times a worker started it (> 1 after a re-queue on restart). */
  attempts: number;
  /** Notes on the job's history (re-queued after a restart, …). */
  notes: string[];
  /** Small JSON summary for listings (bars count, metrics subset); null until completed. */
  summary: Record<string, unknown> | null;
  request: BlobRef;
  result: BlobRef | null;
}

/** Size of one stored payload chunk (KV values are limited to 64 KiB). */
export const CHUNK_BYTES = 60_000;
// A KV atomic commit is limited to 800 KiB of mutations: 12 chunks stay under it.
const CHUNKS_PER_COMMIT = 12;

/** The transition table: which status may follow which. */
const TRANSITIONS: Readonly<Record<JobStatus, readonly JobStatus[]>> = {
  queued: ["running", "cancelled", "failed"],
  // running → queued only when a restart re-queues it.
  running: ["completed", "failed", "cancelled", "queued"],
  completed: [],
  failed: [],
  cancelled: [],
};

/** A status change that the lifecycle does not allow. */
export class JobStateError extends Error {
  readonly from: JobStatus;
  readonly to: JobStatus;
  constructor(id: string, from: JobStatus, to: JobStatus) {
    super(`Job ${id} cannot go from ${from} to ${to}`);
    this.name = "JobStateError";
    this.from = from;
    this.to = to;
  }
}

/** Options of {@link JobStore.list}. */
export interface ListJobsOptions {
  status?: JobStatus;
  kind?: JobKind;
  /** @default 50 */
  limit?: number;
  /** Opaque cursor from a previous page. */
  cursor?: string;
}

/** Fields a transition may set. */
export type JobPatch =
  & Partial<
    Pick<
      JobRecord,
      "startedAt" | "finishedAt" | "progress" | "error" | "errorDetails" | "attempts" | "summary"
    >
  >
  & { note?: string };

let lastIdTime = 0;
function newJobId(): string {
  // Time-ordered ids: 9 base-36 digits of ms (sorts until year 5188) + 8 random hex.
  let t = Date.now();
  if (t <= lastIdTime) t = lastIdTime + 1;
  lastIdTime = t;
  const rnd = crypto.getRandomValues(new Uint8Array(4));
  return t.toString(36).padStart(9, "0") + [...rnd].map((b) => b.toString(16).padStart(2, "0"))
    .join("");
}

/** Job ids look like this (used to reject junk before touching KV). */
export const JOB_ID_PATTERN = /^[0-9a-z]{9}[0-9a-f]{8}$/;

async function gzip(bytes: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([bytes as BlobPart]).stream().pipeThrough(new CompressionStream("gzip"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

async function gunzip(bytes: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([bytes as BlobPart]).stream().pipeThrough(
    new DecompressionStream("gzip"),
  );
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/**
 * Deno KV–backed job store. Writes from one process are serialized by the caller (the job
 * queue); every status change is one atomic commit of the record and its status index.
 */
export class JobStore {
  readonly kv: Deno.Kv;
  readonly path: string;
  #counts: Record<JobStatus, number> = {
    queued: 0,
    running: 0,
    completed: 0,
    failed: 0,
    cancelled: 0,
  };
  #closed = false;

  private constructor(kv: Deno.Kv, path: string) {
    this.kv = kv;
    this.path = path;
  }

  /**
   * Opens (creating its directory) the KV file at `path`, or an in-memory store for
   * ":memory:", deletes half-written payloads a killed process left, and counts jobs.
   */
  static async open(path: string): Promise<JobStore> {
    if (path !== ":memory:") {
      const slash = path.lastIndexOf("/");
      if (slash > 0) await Deno.mkdir(path.slice(0, slash), { recursive: true });
    }
    const store = new JobStore(await Deno.openKv(path), path);
    await store.#deleteOrphans();
    await store.#recount();
    return store;
  }

  /** Jobs per status (kept in memory, exact for this process's writes). */
  counts(): Record<JobStatus, number> {
    return { ...this.#counts };
  }

  async #recount(): Promise<void> {
    for (const s of JOB_STATUSES) {
      let n = 0;
      for await (const _ of this.kv.list({ prefix: ["job_by_status", s] })) n++;
      this.#counts[s] = n;
    }
  }

  async #deleteOrphans(): Promise<void> {
    for await (const e of this.kv.list<number>({ prefix: ["blob_pending"] })) {
      const blobId = e.key[1] as string;
      await this.#deleteBlob(blobId);
      await this.kv.delete(e.key);
    }
  }

  async #deleteBlob(blobId: string): Promise<void> {
    let op = this.kv.atomic();
    let n = 0;
    for await (const e of this.kv.list({ prefix: ["blob", blobId] })) {
      op = op.delete(e.key);
      if (++n % 500 === 0) {
        await op.commit();
        op = this.kv.atomic();
      }
    }
    await op.commit();
  }

  /** Writes `json` as a pending chunked payload; the caller's commit must clear the marker. */
  async #writeBlob(json: string): Promise<BlobRef> {
    const raw = new TextEncoder().encode(json);
    const packed = await gzip(raw);
    const id = crypto.randomUUID();
    const chunks = Math.ceil(packed.length / CHUNK_BYTES);
    await this.kv.set(["blob_pending", id], Date.now());
    for (let c = 0; c < chunks; c += CHUNKS_PER_COMMIT) {
      let op = this.kv.atomic();
      for (let i = c; i < Math.min(chunks, c + CHUNKS_PER_COMMIT); i++) {
        op = op.set(["blob", id, i], packed.subarray(i * CHUNK_BYTES, (i + 1) * CHUNK_BYTES));
      }
      const res = await op.commit();
      if (!res.ok) throw new Error(`KV commit of payload ${id} failed`);
    }
    return { id, chunks, bytes: packed.length, jsonBytes: raw.length };
  }

  async #readBlob(ref: BlobRef): Promise<string> {
    const packed = new Uint8Array(ref.bytes);
    let offset = 0;
    let expected = 0;
    for await (const e of this.kv.list<Uint8Array>({ prefix: ["blob", ref.id] })) {
      if (e.key[2] !== expected) {
        throw new Error(`Payload ${ref.id} is missing chunk ${expected}`);
      }
      packed.set(e.value, offset);
      offset += e.value.length;
      expected++;
    }
    if (expected !== ref.chunks || offset !== ref.bytes) {
      throw new Error(
        `Payload ${ref.id} is incomplete: ${expected}/${ref.chunks} chunks, ${offset}/${ref.bytes} bytes`,
      );
    }
    return new TextDecoder().decode(await gunzip(packed));
  }

  /** Creates a queued job holding `request` (any JSON value). */
  async create(kind: JobKind, request: unknown): Promise<JobRecord> {
    const blob = await this.#writeBlob(JSON.stringify(request));
    const rec: JobRecord = {
      id: newJobId(),
      kind,
      status: "queued",
      createdAt: Date.now(),
      startedAt: null,
      finishedAt: null,
      progress: 0,
      error: null,
      errorDetails: null,
      attempts: 0,
      notes: [],
      summary: null,
      request: blob,
      result: null,
    };
    const res = await this.kv.atomic()
      .check({ key: ["job", rec.id], versionstamp: null })
      .set(["job", rec.id], rec)
      .set(["job_by_status", rec.status, rec.id], rec)
      .delete(["blob_pending", blob.id])
      .commit();
    if (!res.ok) throw new Error(`Job id collision for ${rec.id}`);
    this.#counts.queued++;
    return rec;
  }

  /** The record, or null for an unknown id. */
  async get(id: string): Promise<JobRecord | null> {
    if (!JOB_ID_PATTERN.test(id)) return null;
    return (await this.kv.get<JobRecord>(["job", id])).value;
  }

  /** The job's request JSON value. */
  async getRequest(rec: JobRecord): Promise<unknown> {
    return JSON.parse(await this.#readBlob(rec.request));
  }

  /** The job's result as JSON text (no parse/serialize round trip), null when none. */
  async getResultText(rec: JobRecord): Promise<string | null> {
    return rec.result === null ? null : await this.#readBlob(rec.result);
  }

  /**
   * Moves a job to `to`, applying `patch`, in one atomic commit with its status index.
   * Throws {@link JobStateError} for a transition the lifecycle forbids. `resultJson` (the
   * result already serialized) is stored chunked and committed with the transition.
   */
  async transition(
    id: string,
    to: JobStatus,
    patch: JobPatch = {},
    resultJson?: string,
  ): Promise<JobRecord> {
    const entry = await this.kv.get<JobRecord>(["job", id]);
    const cur = entry.value;
    if (cur === null) throw new Error(`Unknown job ${id}`);
    if (cur.status !== to && !TRANSITIONS[cur.status].includes(to)) {
      throw new JobStateError(id, cur.status, to);
    }
    const { note, ...fields } = patch;
    const next: JobRecord = { ...cur, ...fields, status: to };
    if (note !== undefined) next.notes = [...cur.notes, note];
    if (resultJson !== undefined) next.result = await this.#writeBlob(resultJson);
    let op = this.kv.atomic()
      .check(entry)
      .set(["job", id], next)
      .delete(["job_by_status", cur.status, id])
      .set(["job_by_status", to, id], next);
    if (next.result !== null && next.result !== cur.result) {
      op = op.delete(["blob_pending", next.result.id]);
    }
    const res = await op.commit();
    if (!res.ok) throw new Error(`Job ${id} changed while being updated`);
    this.#counts[cur.status]--;
    this.#counts[to]++;
    return next;
  }

  /** A page of jobs, newest first, optionally one status or kind. */
  async list(opts: ListJobsOptions = {}): Promise<{ jobs: JobRecord[]; cursor: string | null }> {
    const limit = opts.limit ?? 50;
    const prefix = opts.status ? ["job_by_status", opts.status] : ["job"];
    const iter = this.kv.list<JobRecord>({ prefix }, {
      reverse: true,
      cursor: opts.cursor,
      // Filtering by kind happens after the read; read more to fill the page. One entry past
      // the page tells whether there is a next page at all (a full last page gets no cursor).
      limit: opts.kind ? undefined : limit + 1,
    });
    const jobs: JobRecord[] = [];
    let pageEnd = "";
    let cursor: string | null = null;
    for await (const e of iter) {
      if (opts.kind && e.value.kind !== opts.kind) continue;
      if (jobs.length === limit) {
        cursor = pageEnd || null;
        break;
      }
      jobs.push(e.value);
      if (jobs.length === limit) pageEnd = iter.cursor;
    }
    return { jobs, cursor };
  }

  /** Jobs in `status`, oldest first (restart recovery). */
  async listByStatusOldestFirst(status: JobStatus): Promise<JobRecord[]> {
    const out: JobRecord[] = [];
    for await (const e of this.kv.list<JobRecord>({ prefix: ["job_by_status", status] })) {
      out.push(e.value);
    }
    return out;
  }

  /** Closes the KV handle (idempotent). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.kv.close();
  }
}
