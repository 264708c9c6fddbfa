/**
 * Scaling past one machine: a grid split into shards that travel as Deno KV queue messages,
 * so every process (or Deno Deploy isolate) listening on the same KV takes a share.
 *
 * Exactly once: KV queues deliver at least once, so a shard is computed only by the process
 * whose atomic claim (`check` that the claim key is absent, then `set`) commits; a redelivered
 * or duplicate message finds the claim and is dropped. A claim older than `claimTtlMs` with no
 * result (its process died) can be taken over, again atomically. Results are stored per shard
 * and merged in grid order by `collectShards`.
 *
 * Keys: ["wagyu_opt", id, "job"] the job spec; […, "claim", shard]; […, "result", shard];
 * […, "code", k] the k-th piece of a strategy's source. The bars are not in KV (values are
 * capped at 64 KiB): the job names a data file every process can read.
 *
 * Strategies: a built-in family runs the CPU decision kernel in the processing process; user
 * source (`code`) is stored once in KV, in pieces under the 64 KiB value limit with its length
 * and SHA-256 (the job holds the reference, the shard messages only the job id), and each
 * processor runs it in a pool of permission-less workers (optimizer/backends/workers.ts), as
 * the `workers` backend does. A shard whose strategy fails stores the error, which
 * `collectShards` reports naming the shard, instead of being retried forever.
 *
 * @module
 */
import type { BacktestConfig, Bars } from "../engine/types.ts";
import { resolveConfig } from "../engine/config.ts";
import { annualizationOf } from "../engine/result.ts";
import { CpuKernel, evaluateFamilyGrid } from "../gpu/family_grid.ts";
import type { FamilyId } from "../gpu/families.ts";
import { runWorkerPool } from "./backends/workers.ts";
import { expandGrid, type GridSpec } from "./grid.ts";
import {
  type ComboMetrics,
  type ComboResult,
  parseFilter,
  parseObjective,
  rankCombos,
} from "./objective.ts";

const ROOT = "wagyu_opt";

/** A sharded optimization job: a built-in `family` or strategy `code`, exactly one. */
export interface ShardJob {
  id: string;
  /** A data file every process can read (CSV, JSON or Parquet). */
  dataPath: string;
  /** A built-in family, run with the CPU decision kernel. */
  family?: FamilyId;
  /**
   * Strategy source (default export a strategy class, no imports), run in permission-less
   * workers. Stored in KV by `enqueueShards` (at most `MAX_SHARD_CODE_BYTES`).
   */
  code?: string;
  /** Language of `code`. @default "ts" */
  lang?: "ts" | "js";
  grid: GridSpec;
  config?: Partial<BacktestConfig> & { slippageBps?: number };
  /** Combinations per shard. @default 100 */
  shardSize?: number;
  /** Workers per shard for `code`. @default one per core */
  workers?: number;
  /** Time budget per combination for `code` (ms). @default 120_000 */
  comboTimeoutMs?: number;
}

/** Where a job's strategy source lies in KV. */
export interface CodeRef {
  /** Pieces under […, "code", 0..pieces-1]. */
  pieces: number;
  /** UTF-8 length. */
  bytes: number;
  /** Hex SHA-256 of the UTF-8 bytes: a processor checks what it reassembled. */
  sha256: string;
}

/** The job as stored: `code` replaced by its reference. */
export type StoredShardJob = Omit<ShardJob, "code"> & { total: number; codeRef?: CodeRef };

/** Largest strategy source a sharded job accepts. */
export const MAX_SHARD_CODE_BYTES = 1024 * 1024;
/** Bytes per stored piece of source (KV values are capped at 64 KiB). */
const CODE_PIECE = 60_000;

/** The queue message of one shard. */
export interface ShardMessage {
  kind: "wagyu.opt_shard";
  jobId: string;
  shard: number;
  start: number;
  end: number;
}

/** What a processor stored for one shard. */
export interface ShardResult {
  processor: string;
  start: number;
  metrics: ComboMetrics[];
  /** Set when the strategy failed on this shard (then `metrics` is empty). */
  error?: string;
}

async function _sha256(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  const d = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return Array.from(d, (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * Runs a KV operation, retrying while SQLite reports "database is locked": several processes
 * share one local KV file, and a busy file is a wait, not a failure.
 */
async function _retry<T>(op: () => Promise<T>): Promise<T> {
  for (let attempt = 0;; attempt++) {
    try {
      return await op();
    } catch (e) {
      if (attempt >= 50 || !/database is locked|busy/i.test(String((e as Error).message))) throw e;
      await new Promise((r) => setTimeout(r, 5 + Math.random() * 20 * Math.min(attempt + 1, 10)));
    }
  }
}

/**
 * Stores the job (and its strategy source, in pieces) and enqueues one message per shard;
 * returns the number of shards.
 */
export async function enqueueShards(kv: Deno.Kv, job: ShardJob): Promise<number> {
  const total = expandGrid(job.grid).length;
  const size = job.shardSize ?? 100;
  if (!Number.isInteger(size) || size < 1 || size > 400) {
    throw new RangeError(`shardSize must be an integer in 1..400 (KV value limit), got ${size}`);
  }
  if ((job.family === undefined) === (job.code === undefined)) {
    throw new RangeError("A sharded job needs exactly one of family or code");
  }
  const { code, ...rest } = job;
  const stored: StoredShardJob = { ...rest, total };
  if (code !== undefined) {
    const bytes = new TextEncoder().encode(code);
    if (bytes.length > MAX_SHARD_CODE_BYTES) {
      throw new RangeError(
        `code is ${bytes.length} bytes; a sharded job takes at most ${MAX_SHARD_CODE_BYTES}`,
      );
    }
    const pieces = Math.max(1, Math.ceil(bytes.length / CODE_PIECE));
    for (let k = 0; k < pieces; k++) {
      const piece = bytes.slice(k * CODE_PIECE, (k + 1) * CODE_PIECE);
      await _retry(() => kv.set([ROOT, job.id, "code", k], piece));
    }
    stored.codeRef = { pieces, bytes: bytes.length, sha256: await _sha256(bytes) };
  }
  // The job last: a processor that can read it can read its source.
  await _retry(() => kv.set([ROOT, job.id, "job"], stored));
  const shards = Math.ceil(total / size);
  for (let s = 0; s < shards; s++) {
    const msg: ShardMessage = {
      kind: "wagyu.opt_shard",
      jobId: job.id,
      shard: s,
      start: s * size,
      end: Math.min(total, (s + 1) * size),
    };
    await _retry(() => kv.enqueue(msg));
  }
  return shards;
}

/** Options of `processShard` / `listenForShards`. */
export interface ShardProcessorOptions {
  /** Name recorded with each claim and result (e.g. host:pid). */
  processor: string;
  /** Loads a job's data file (cached by the caller if it likes). */
  loadBars: (path: string) => Promise<Bars>;
  /** A claim without a result older than this may be taken over. @default 600_000 */
  claimTtlMs?: number;
}

/** Whether a queue value is a shard message. */
export function isShardMessage(v: unknown): v is ShardMessage {
  return typeof v === "object" && v !== null && (v as ShardMessage).kind === "wagyu.opt_shard";
}

/**
 * Claims and computes one shard; returns false when another processor holds it or it is done.
 */
export async function processShard(
  kv: Deno.Kv,
  msg: ShardMessage,
  opts: ShardProcessorOptions,
): Promise<boolean> {
  const claimKey = [ROOT, msg.jobId, "claim", msg.shard];
  const resultKey = [ROOT, msg.jobId, "result", msg.shard];
  const [claim, result] = await _retry(() =>
    kv.getMany<[{ processor: string; at: number }, ShardResult]>([claimKey, resultKey])
  );
  if (result.value !== null) return false;
  if (claim.value !== null && Date.now() - claim.value.at < (opts.claimTtlMs ?? 600_000)) {
    return false;
  }
  const won = await _retry(() =>
    kv.atomic()
      .check({ key: claimKey, versionstamp: claim.versionstamp })
      .set(claimKey, { processor: opts.processor, at: Date.now() })
      .commit()
  );
  if (!won.ok) return false;
  const job = (await _retry(() => kv.get<StoredShardJob>([ROOT, msg.jobId, "job"]))).value;
  if (!job) throw new Error(`Shard ${msg.shard} of unknown job ${msg.jobId}`);
  const bars = await opts.loadBars(job.dataPath);
  const combos = expandGrid(job.grid).slice(msg.start, msg.end);
  let value: ShardResult;
  try {
    const metrics = job.codeRef
      ? await runWorkerPool(
        bars,
        { code: await readShardCode(kv, msg.jobId, job.codeRef), lang: job.lang },
        combos,
        {
          size: job.workers,
          config: job.config,
          comboTimeoutMs: job.comboTimeoutMs ?? 120_000,
        },
      )
      : await evaluateFamilyGrid(bars, job.family!, combos, new CpuKernel(), {
        config: job.config,
        annualization: annualizationOf(resolveConfig(job.config ?? {}), bars),
      });
    value = { processor: opts.processor, start: msg.start, metrics };
  } catch (e) {
    // The strategy's fault, not the process's: every processor would fail the same way, so
    // the shard is answered (with the error) rather than redelivered.
    value = { processor: opts.processor, start: msg.start, metrics: [], error: String(e) };
  }
  await _retry(() => kv.set(resultKey, value));
  return true;
}

/** Reassembles a job's strategy source from KV, checking its length and SHA-256. */
export async function readShardCode(kv: Deno.Kv, jobId: string, ref: CodeRef): Promise<string> {
  const bytes = new Uint8Array(ref.bytes);
  let at = 0;
  for (let k = 0; k < ref.pieces; k++) {
    const piece = (await _retry(() => kv.get<Uint8Array>([ROOT, jobId, "code", k]))).value;
    if (!(piece instanceof Uint8Array) || at + piece.length > ref.bytes) {
      throw new Error(`Sharded job ${jobId}: piece ${k} of its strategy source is missing or long`);
    }
    bytes.set(piece, at);
    at += piece.length;
  }
  if (at !== ref.bytes || await _sha256(bytes) !== ref.sha256) {
    throw new Error(`Sharded job ${jobId}: its strategy source does not match its SHA-256`);
  }
  return new TextDecoder().decode(bytes);
}

/** A self-renewing wake-up message; see `listenForShards`. */
const TICK = { kind: "wagyu.opt_tick" } as const;

/**
 * Listens on the KV queue and processes shard messages until the KV is closed. Local KV
 * (SQLite) notices messages enqueued by another process only on a slow poll (about a minute),
 * so each listener keeps one delayed tick message in the queue: whoever dequeues a tick
 * enqueues the next, and the wake-up makes every listener look for ready shards within
 * `tickMs`. (On Deno Deploy the queue pushes and the ticks are merely cheap.)
 */
export async function listenForShards(
  kv: Deno.Kv,
  opts: ShardProcessorOptions & {
    tickMs?: number;
    onComputed?: (m: ShardMessage) => void | Promise<void>;
  },
): Promise<void> {
  const tickMs = opts.tickMs ?? 200;
  await _retry(() => kv.enqueue(TICK, { delay: tickMs }));
  return kv.listenQueue(async (m: unknown) => {
    if (typeof m === "object" && m !== null && (m as { kind?: string }).kind === TICK.kind) {
      await _retry(() => kv.enqueue(TICK, { delay: tickMs }));
      return;
    }
    if (isShardMessage(m) && await processShard(kv, m, opts)) await opts.onComputed?.(m);
  });
}

/** The merged result of a sharded job. */
export interface ShardedResult {
  combos: ComboResult[];
  best: ComboResult | null;
  /** Which processor computed each shard. */
  processors: string[];
}

/**
 * Waits until every shard of job `id` has a result (polling every `pollMs`), then merges them
 * in grid order and ranks by `objective` with `filters`.
 */
export async function collectShards(
  kv: Deno.Kv,
  id: string,
  opts: { objective?: string; filters?: string[]; timeoutMs?: number; pollMs?: number } = {},
): Promise<ShardedResult> {
  const job = (await kv.get<StoredShardJob>([ROOT, id, "job"])).value;
  if (!job) throw new Error(`Unknown sharded job ${id}`);
  const size = job.shardSize ?? 100;
  const shards = Math.ceil(job.total / size);
  const deadline = Date.now() + (opts.timeoutMs ?? 600_000);
  const results: ShardResult[] = new Array(shards);
  let have = 0;
  while (have < shards) {
    const found = await _retry(async () => {
      const out: Deno.KvEntry<ShardResult>[] = [];
      for await (const e of kv.list<ShardResult>({ prefix: [ROOT, id, "result"] })) out.push(e);
      return out;
    });
    for (const e of found) {
      const s = e.key[3] as number;
      if (!results[s]) {
        results[s] = e.value;
        have++;
      }
    }
    if (have < shards) {
      if (Date.now() > deadline) {
        throw new Error(`Sharded job ${id}: ${have} of ${shards} shards done before the timeout`);
      }
      await new Promise((r) => setTimeout(r, opts.pollMs ?? 50));
    }
  }
  const failed = results.findIndex((r) => r.error !== undefined);
  if (failed >= 0) {
    throw new Error(`Sharded job ${id}, shard ${failed}: ${results[failed].error}`);
  }
  const params = expandGrid(job.grid);
  const combos: ComboResult[] = [];
  for (const r of results) {
    r.metrics.forEach((m, k) => combos.push({ params: params[r.start + k], metrics: m }));
  }
  const top = rankCombos(combos, {
    objective: parseObjective(opts.objective ?? "sharpe"),
    filters: (opts.filters ?? []).map(parseFilter),
    top: 1,
  });
  return { combos, best: top[0] ?? null, processors: results.map((r) => r.processor) };
}
