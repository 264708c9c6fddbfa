/**
 * The job queue: bounded concurrency over durable jobs, cancel while queued or running,
 * throttled progress, restart recovery.
 *
 * Jobs are stored in a {@link JobStore} (every status change is persisted before it is
 * announced) and announced on a {@link WsHub}. What a job does is a {@link JobRunner} per
 * job kind, supplied by the app (a backtest runner runs the strategy in a sandbox Worker, so
 * the server's event loop stays free while jobs run).
 *
 * @module
 */
import type { TradeRecord } from "../engine/types.ts";
import type { ComboResult } from "../optimizer/objective.ts";
import {
  isFinalStatus,
  type JobErrorDetails,
  type JobKind,
  type JobRecord,
  JobStateError,
  type JobStatus,
  type JobStore,
} from "./job_store.ts";
import type { WsHub } from "./ws_hub.ts";
import type {
  ActiveJob,
  BacktestProgressFields,
  CompleteData,
  OptimizationProgressData,
  OptimizationProgressFields,
  ProgressData,
  SnapshotMessage,
  WsMessage,
} from "./ws_messages.ts";
import { errorMessageOf } from "./ws_messages.ts";
import type { ServerStats } from "./server_stats.ts";

/**
 * Progress a runner reports. `progress` is 0..1; the other fields go into the `progress` or
 * `optimization_progress` message as they are (their types are the message contract of
 * jobs/ws_messages.ts, so a runner cannot send a field the client does not know).
 */
export interface JobProgress extends BacktestProgressFields, OptimizationProgressFields {
  progress: number;
  equity?: number;
  /** New items for a scatter plot: accumulated across throttled reports, see {@link JobContext}. */
  points?: unknown[];
}

/** The fields of a runner's last report that every progress message and snapshot repeat. */
type ProgressExtra = Omit<JobProgress, "progress" | "equity" | "points">;

/** What a runner gets. */
export interface JobContext {
  readonly job: JobRecord;
  /** The request stored with the job. */
  readonly request: unknown;
  /** Aborted when the job is cancelled or the queue shuts down. */
  readonly signal: AbortSignal;
  /**
   * Reports progress; throttled to a message per 1 % or per `progressIntervalMs`. An array in
   * `points` (an optimization's combinations finished since the last report) is accumulated,
   * never dropped: every point goes out exactly once, with the next message(s).
   */
  progress(p: JobProgress): void;
  /** Announces a closed trade. */
  trade(t: TradeRecord): void;
}

/** What a runner returns. */
export interface JobOutcome {
  /** The result (any JSON value). */
  result: unknown;
  /** Small summary kept on the record for listings. */
  summary?: Record<string, unknown>;
  /** Bars processed (for throughput statistics). */
  bars?: number;
}

/** Runs one job; rejects to fail it. */
export type JobRunner = (ctx: JobContext) => Promise<JobOutcome>;

/** The queue is at `maxQueued` jobs. */
export class QueueFullError extends Error {
  readonly max: number;
  constructor(max: number) {
    super(`The job queue is full (${max} jobs waiting)`);
    this.name = "QueueFullError";
    this.max = max;
  }
}

/** What a failed job stores: the message, and its details when the error has any. */
export interface JobFailure {
  message: string;
  details: JobErrorDetails | null;
}

/** Options of {@link JobQueue}. */
export interface JobQueueOptions {
  /** Runners per job kind. */
  runners: Partial<Record<JobKind, JobRunner>>;
  /** Jobs running at once. @default navigator.hardwareConcurrency */
  concurrency?: number;
  /** Most jobs waiting; beyond it `submit` throws {@link QueueFullError}. @default 1000 */
  maxQueued?: number;
  /** Most ms between progress messages while a job advances. @default 250 */
  progressIntervalMs?: number;
  /** Largest result JSON embedded in `complete` messages. @default 1 MiB */
  wsResultMaxBytes?: number;
  /**
   * Turns a runner's error into the message stored on the job (no stack traces), and
   * optionally its details (stored with it, kept small: a KV value holds the whole record).
   */
  describeError?: (err: unknown, job: JobRecord) => string | JobFailure;
  /** Counters for /api/stats. */
  stats?: ServerStats;
  /** URL of a job's result, for `complete` messages without an embedded result. */
  resultUrl?: (job: JobRecord) => string;
}

interface Live {
  job: JobRecord;
  status: JobStatus;
  progress: number;
  equity: number | null;
  extra: ProgressExtra;
  trades: TradeRecord[];
  tradesTotal: number;
  /** Trades not announced yet: sent as one `trade` message with the next progress. */
  pendingTrades: TradeRecord[];
  /** Points reported but not announced yet: sent with the next progress message(s). */
  pendingPoints: unknown[];
  /** Whether this job still counts in `runningCount` (see #release). */
  counted: boolean;
  controller: AbortController;
  done: Promise<void>;
  lastSentAt: number;
  lastSentProgress: number;
  timer: ReturnType<typeof setInterval> | undefined;
}

/** Trades kept per running job for late subscribers' snapshots. */
const SNAPSHOT_TRADES = 200;
/** Most trades in one `trade` message. */
const MAX_TRADES_PER_MESSAGE = 500;
/**
 * Most points in one progress message (an optimization's points are ~250 bytes of JSON each,
 * so a message stays near 128 KiB, well under a client's 1 MiB buffer). More pending points
 * go out as several consecutive messages.
 */
export const MAX_POINTS_PER_MESSAGE = 500;

/**
 * Bounded-concurrency job queue backed by a {@link JobStore} and announced on a
 * {@link WsHub}.
 */
export class JobQueue {
  readonly store: JobStore;
  readonly hub: WsHub;
  readonly concurrency: number;
  readonly maxQueued: number;
  readonly #runners: Partial<Record<JobKind, JobRunner>>;
  readonly #intervalMs: number;
  readonly #wsResultMaxBytes: number;
  readonly #describe: (err: unknown, job: JobRecord) => string | JobFailure;
  readonly #stats: ServerStats | undefined;
  readonly #resultUrl: (job: JobRecord) => string;
  readonly #waiting: JobRecord[] = [];
  /** Submits between their limit check and their push onto #waiting (a KV write). */
  #reserving = 0;
  readonly #live = new Map<string, Live>();
  #running = 0;
  #closed = false;
  #abandon = false;

  constructor(store: JobStore, hub: WsHub, opts: JobQueueOptions) {
    this.store = store;
    this.hub = hub;
    this.#runners = opts.runners;
    this.concurrency = opts.concurrency ?? Math.max(1, navigator.hardwareConcurrency || 1);
    this.maxQueued = opts.maxQueued ?? 1000;
    this.#intervalMs = opts.progressIntervalMs ?? 250;
    this.#wsResultMaxBytes = opts.wsResultMaxBytes ?? 1024 * 1024;
    this.#describe = opts.describeError ??
      ((err) => err instanceof Error ? err.message : String(err));
    this.#stats = opts.stats;
    this.#resultUrl = opts.resultUrl ?? ((job) => `/api/backtest/${job.id}/result`);
  }

  /** Jobs waiting. */
  get queuedCount(): number {
    return this.#waiting.length;
  }

  /** Jobs running now. */
  get runningCount(): number {
    return this.#running;
  }

  /**
   * Restart recovery: jobs a previous process left queued or running are re-queued (policy
   * "requeue", oldest first) or failed with the reason (policy "fail"). Returns what it did.
   */
  async recover(policy: "requeue" | "fail"): Promise<{ requeued: string[]; failed: string[] }> {
    const running = await this.store.listByStatusOldestFirst("running");
    const queued = await this.store.listByStatusOldestFirst("queued");
    const all = [...running, ...queued].sort((a, b) => a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
    const requeued: string[] = [];
    const failed: string[] = [];
    for (const job of all) {
      const was = job.status;
      if (policy === "fail") {
        await this.store.transition(job.id, "failed", {
          finishedAt: Date.now(),
          error: `The server restarted while this job was ${was}; ` +
            `restart recovery is set to fail (WAGYU_RECOVERY=fail)`,
        });
        this.#stats?.recordEnd("failed", job.kind);
        failed.push(job.id);
      } else {
        const rec = was === "running"
          ? await this.store.transition(job.id, "queued", {
            startedAt: null,
            progress: 0,
            note: `Re-queued after a server restart interrupted attempt ${job.attempts}`,
          })
          : job;
        this.#waiting.push(rec);
        requeued.push(job.id);
      }
    }
    this.#pump();
    return { requeued, failed };
  }

  /** Stores a new queued job and schedules it. Throws {@link QueueFullError}. */
  async submit(kind: JobKind, request: unknown): Promise<JobRecord> {
    if (this.#closed) throw new Error("The job queue is shut down");
    if (!this.#runners[kind]) throw new Error(`No runner for job kind ${kind}`);
    // Submits that are still writing their record count against the limit too: without this,
    // a burst arriving together passes the check before any of them is in #waiting.
    if (this.#waiting.length + this.#reserving >= this.maxQueued) {
      throw new QueueFullError(this.maxQueued);
    }
    this.#reserving++;
    let job: JobRecord;
    try {
      job = await this.store.create(kind, request);
    } finally {
      this.#reserving--;
    }
    this.#waiting.push(job);
    this.hub.publish(this.#progressMessage(job.id, kind, "queued", 0, null, {}));
    this.#pump();
    return job;
  }

  /** Live state of a job that is queued or running in this process, else null. */
  live(id: string): { status: JobStatus; progress: number; equity: number | null } | null {
    const l = this.#live.get(id);
    if (l) return { status: l.status, progress: l.progress, equity: l.equity };
    const w = this.#waiting.find((j) => j.id === id);
    return w ? { status: "queued", progress: 0, equity: null } : null;
  }

  /**
   * Cancels a queued or running job and resolves with its final record. Throws
   * {@link JobStateError} when the job is already final, and `Error` for an unknown id.
   */
  async cancel(id: string): Promise<JobRecord> {
    const idx = this.#waiting.findIndex((j) => j.id === id);
    if (idx >= 0) {
      const [job] = this.#waiting.splice(idx, 1);
      const rec = await this.store.transition(id, "cancelled", {
        finishedAt: Date.now(),
        error: "Cancelled while queued",
      });
      this.#stats?.recordEnd("cancelled", job.kind);
      this.#announceEnd(rec, job.kind);
      return rec;
    }
    const live = this.#live.get(id);
    if (live) {
      live.controller.abort(new DOMException("Job cancelled", "AbortError"));
      await live.done;
      const rec = await this.store.get(id);
      if (rec === null) throw new Error(`Job ${id} vanished`);
      if (rec.status !== "cancelled") throw new JobStateError(id, rec.status, "cancelled");
      return rec;
    }
    const rec = await this.store.get(id);
    if (rec === null) throw new Error(`Unknown job ${id}`);
    throw new JobStateError(id, rec.status, "cancelled");
  }

  /** Snapshot message of one job (or of all active jobs for `null`), from memory. */
  snapshot(jobId: string | null): SnapshotMessage {
    if (jobId === null) {
      const jobs: ActiveJob[] = [
        ...this.#waiting.map((j): ActiveJob => ({
          job_id: j.id,
          kind: j.kind,
          status: "queued",
          progress: 0,
        })),
        ...[...this.#live.values()].map((l) => ({
          job_id: l.job.id,
          kind: l.job.kind,
          status: l.status,
          progress: l.progress,
          equity: l.equity,
        })),
      ];
      return { type: "snapshot", job_id: "*", data: { jobs } };
    }
    const l = this.#live.get(jobId);
    if (l) {
      return {
        type: "snapshot",
        job_id: jobId,
        data: {
          kind: l.job.kind,
          status: l.status,
          progress: l.progress,
          equity: l.equity,
          ...l.extra,
          trades: l.trades,
          trades_total: l.tradesTotal,
        },
      };
    }
    const w = this.#waiting.find((j) => j.id === jobId);
    return {
      type: "snapshot",
      job_id: jobId,
      data: { kind: w?.kind ?? null, status: w ? "queued" : "unknown", progress: 0, trades: [] },
    };
  }

  #progressMessage(
    id: string,
    kind: JobKind,
    status: JobStatus,
    progress: number,
    equity: number | null,
    extra: ProgressExtra & { points?: OptimizationProgressData["points"] },
  ): WsMessage {
    const data: ProgressData & OptimizationProgressData = { status, progress, ...extra };
    if (equity !== null) data.equity = equity;
    return kind === "optimization"
      ? { type: "optimization_progress", job_id: id, data }
      : { type: "progress", job_id: id, data };
  }

  #pump(): void {
    while (!this.#closed && this.#running < this.concurrency && this.#waiting.length > 0) {
      const job = this.#waiting.shift()!;
      this.#running++;
      const live: Live = {
        job,
        // Reported as running only once the store says so, so that what a client sees
        // survives a crash (see #run).
        status: "queued",
        progress: 0,
        equity: null,
        extra: {},
        trades: [],
        tradesTotal: 0,
        pendingTrades: [],
        pendingPoints: [],
        counted: true,
        controller: new AbortController(),
        done: Promise.resolve(),
        lastSentAt: 0,
        lastSentProgress: -1,
        timer: undefined,
      };
      this.#live.set(job.id, live);
      live.done = this.#run(live).finally(() => {
        this.#live.delete(job.id);
        this.#release(live);
        this.#pump();
      });
    }
  }

  /** Announces the trades closed since the last announcement, in order, as one message. */
  #flushTrades(live: Live): void {
    if (live.pendingTrades.length === 0) return;
    const trades = live.pendingTrades;
    live.pendingTrades = [];
    this.hub.publish(
      {
        type: "trade",
        job_id: live.job.id,
        data: { trades, total: live.tradesTotal },
      } satisfies WsMessage,
    );
  }

  /**
   * Stops counting a job as running. Called in the same synchronous step as the stats
   * update that follows its final store transition, so that nobody who sees the job final
   * (its status, its `complete`/`error` message, /api/stats) sees it still running.
   */
  #release(live: Live): void {
    if (!live.counted) return;
    live.counted = false;
    this.#running--;
  }

  #emitProgress(live: Live): void {
    this.#flushTrades(live);
    live.lastSentAt = Date.now();
    live.lastSentProgress = live.progress;
    // Every pending point goes out once: in batches of MAX_POINTS_PER_MESSAGE, each batch a
    // full progress message (so a client that reads any one of them has the current state).
    do {
      const extra = live.pendingPoints.length > 0
        ? {
          ...live.extra,
          // The app's optimization runner reports ComboResult points
          // (routes/optimization_routes.ts); the queue passes them on untouched.
          points: live.pendingPoints.splice(0, MAX_POINTS_PER_MESSAGE) as ComboResult[],
        }
        : live.extra;
      this.hub.publish(
        this.#progressMessage(
          live.job.id,
          live.job.kind,
          live.status,
          live.progress,
          live.equity,
          extra,
        ),
      );
    } while (live.pendingPoints.length > 0);
  }

  /** Sends the points still pending (before a job's final message). */
  #flushPoints(live: Live): void {
    if (live.pendingPoints.length > 0) this.#emitProgress(live);
  }

  async #run(live: Live): Promise<void> {
    const id = live.job.id;
    const kind = live.job.kind;
    const t0 = performance.now();
    let job: JobRecord;
    try {
      job = await this.store.transition(id, "running", {
        startedAt: Date.now(),
        attempts: live.job.attempts + 1,
      });
    } catch (err) {
      // The record was changed underneath us (cannot happen within one process); leave it.
      console.error(`[wagyu] job ${id} could not start: ${err}`);
      return;
    }
    live.job = job;
    live.status = "running";
    this.#emitProgress(live);
    // Liveness: a message at least every interval even while the runner reports nothing.
    live.timer = setInterval(() => {
      if (Date.now() - live.lastSentAt >= this.#intervalMs) this.#emitProgress(live);
    }, this.#intervalMs);
    const runner = this.#runners[kind]!;
    try {
      if (live.controller.signal.aborted) throw live.controller.signal.reason;
      const request = await this.store.getRequest(job);
      // A cancel while the request was read: never start the runner with a dead signal.
      if (live.controller.signal.aborted) throw live.controller.signal.reason;
      const ctx: JobContext = {
        job,
        request,
        signal: live.controller.signal,
        progress: (p) => {
          const { progress, equity, points, ...extra } = p;
          live.progress = Math.min(1, Math.max(0, progress));
          if (typeof equity === "number") live.equity = equity;
          live.extra = extra;
          // Points are new items, not state: a throttled report must not drop them.
          if (Array.isArray(points)) {
            for (let i = 0; i < points.length; i++) live.pendingPoints.push(points[i]);
          }
          // A message each time a whole percent is crossed (0.01, 0.02, … exactly, without
          // the drift of "1 % since the last one"), at least every interval, and as soon as a
          // full batch of points waits (bounded memory and message size).
          if (
            Math.floor(live.progress * 100) > Math.floor(live.lastSentProgress * 100) ||
            Date.now() - live.lastSentAt >= this.#intervalMs ||
            live.pendingPoints.length >= MAX_POINTS_PER_MESSAGE
          ) {
            this.#emitProgress(live);
          }
        },
        trade: (t) => {
          live.tradesTotal++;
          live.trades.push(t);
          if (live.trades.length > SNAPSHOT_TRADES) live.trades.shift();
          // Batched: a strategy closing thousands of trades must not send thousands of
          // messages to every subscriber; they go out with the next progress message.
          live.pendingTrades.push(t);
          if (live.pendingTrades.length >= MAX_TRADES_PER_MESSAGE) this.#flushTrades(live);
        },
      };
      const outcome = await runner(ctx);
      if (live.controller.signal.aborted) throw live.controller.signal.reason;
      clearInterval(live.timer);
      this.#flushTrades(live);
      this.#flushPoints(live);
      const json = JSON.stringify(outcome.result ?? null);
      const rec = await this.store.transition(id, "completed", {
        finishedAt: Date.now(),
        progress: 1,
        summary: outcome.summary ?? null,
      }, json);
      this.#stats?.recordRun(kind, outcome.bars ?? 0, performance.now() - t0);
      this.#release(live);
      const data: CompleteData = { status: "completed", progress: 1, summary: rec.summary };
      const light: WsMessage = {
        type: "complete",
        job_id: id,
        data: { ...data, result_url: this.#resultUrl(rec) },
      };
      if (json.length <= this.#wsResultMaxBytes) {
        const text = `{"type":"complete","job_id":${JSON.stringify(id)},"data":${
          JSON.stringify(data).slice(0, -1)
        },"result":${json}}}`;
        this.hub.publish(
          { type: "complete", job_id: id, data: { ...data } } satisfies WsMessage,
          light,
          text,
        );
      } else {
        this.hub.publish(light);
      }
      this.hub.endJob(id);
    } catch (err) {
      clearInterval(live.timer);
      // On shutdown the job stays "running" in the store: the next start recovers it.
      if (this.#abandon) return;
      const cancelled = live.controller.signal.aborted;
      const failure = cancelled ? "Cancelled while running" : this.#describe(err, job);
      const { message, details } = typeof failure === "string"
        ? { message: failure, details: null }
        : failure;
      // What the job finished before it ended still reaches the scatter plots.
      this.#flushTrades(live);
      this.#flushPoints(live);
      try {
        const rec = await this.store.transition(id, cancelled ? "cancelled" : "failed", {
          finishedAt: Date.now(),
          error: message,
          errorDetails: details,
        });
        this.#stats?.recordEnd(cancelled ? "cancelled" : "failed", kind);
        this.#release(live);
        this.#announceEnd(rec, kind);
      } catch (storeErr) {
        console.error(`[wagyu] job ${id} could not be marked ended: ${storeErr}`);
      }
    } finally {
      clearInterval(live.timer);
    }
  }

  #announceEnd(rec: JobRecord, kind: JobKind): void {
    void kind;
    this.hub.publish(errorMessageOf(rec));
    this.hub.endJob(rec.id);
  }

  /** True when `status` is final (re-exported for routes). */
  static isFinal(status: JobStatus): boolean {
    return isFinalStatus(status);
  }

  /**
   * Stops taking jobs and aborts the running ones without recording them as cancelled:
   * they stay "running" in the store and the next start recovers them.
   */
  async close(): Promise<void> {
    this.#closed = true;
    const done = [...this.#live.values()].map((l) => {
      clearInterval(l.timer);
      return l.done;
    });
    this.#abandon = true;
    this.#waiting.length = 0;
    for (const l of this.#live.values()) l.controller.abort(new Error("Server shutting down"));
    await Promise.allSettled(done);
  }
}
