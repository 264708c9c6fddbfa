/**
 * The WebSocket message contract: every message `/ws/backtest/{id}` and `/ws/backtests` send,
 * as one discriminated union on `type`.
 *
 * The publishers (jobs/job_queue.ts, routes/ws_routes.ts) build their messages as
 * {@link WsMessage}, and the client (client/watch.ts) and the page (ui/) read them through the
 * same types, so renaming or dropping a field on the server breaks `deno check` of the client
 * and the page instead of the page at run time. The types describe what is sent today, field
 * by field: a field that only some senders (or only some moments of a job) include is
 * optional.
 *
 * Types only (every import is `import type`): the browser bundle imports this module.
 *
 * @module
 */
import type { BacktestResult, TradeRecord } from "../engine/types.ts";
import type { ComboResult } from "../optimizer/objective.ts";
import type { BackendName, OptimizationResult } from "../optimizer/run_optimization.ts";
import type { JobErrorDetails, JobKind, JobRecord, JobStatus } from "./job_store.ts";

/**
 * Set on a `snapshot` the hub re-sends to a slow client after dropping droppable messages
 * for it (jobs/ws_hub.ts): the snapshot then replaces what was dropped.
 */
export interface ResyncFields {
  resync?: true;
  /** How many messages were dropped for this client. */
  dropped?: number;
}

/** What a backtest runner adds to its progress (routes/job_runners.ts). */
export interface BacktestProgressFields {
  /** Index of the bar just processed. */
  index?: number;
  /** Bars in the run. */
  total?: number;
  /** Timestamp (ms) of the bar just processed. */
  time?: number;
}

/** What an optimization runner adds to its progress (routes/optimization_routes.ts). */
export interface OptimizationProgressFields {
  /** Combinations finished. */
  done?: number;
  /** Combinations in the run. */
  total?: number;
  /** The best combination so far. */
  best?: ComboResult | null;
  backend?: Exclude<BackendName, "auto">;
}

/**
 * `snapshot` of one job, first on every `/ws/backtest/{id}` connection. A running job's
 * snapshot has its equity, the fields of its last progress report and its last trades; a
 * queued, finished or unknown job's has `trades: []` and no equity.
 */
export interface JobSnapshotData
  extends BacktestProgressFields, OptimizationProgressFields, ResyncFields {
  /** null when the queue does not hold the job (a resync snapshot racing the job's end). */
  kind: JobKind | null;
  status: JobStatus | "unknown";
  progress: number;
  /** Running jobs only; null before the first report with an equity. */
  equity?: number | null;
  /** The last closed trades (at most 200). */
  trades: TradeRecord[];
  /** Trades closed so far (running jobs only): `trades` are the last of these. */
  trades_total?: number;
  /** Absent: tells a one-job snapshot from an all-jobs one. */
  jobs?: undefined;
}

/** One queued or running job in an all-jobs snapshot. */
export interface ActiveJob {
  job_id: string;
  kind: JobKind;
  status: JobStatus;
  progress: number;
  /** Running jobs only (null before their first report with an equity). */
  equity?: number | null;
}

/** `snapshot` of every active job, first on every `/ws/backtests` connection (`job_id: "*"`). */
export interface AllJobsSnapshotData extends ResyncFields {
  jobs: ActiveJob[];
  /** Absent: tells an all-jobs snapshot from a one-job one. */
  status?: undefined;
  progress?: undefined;
}

/** Data of `snapshot`: one job, or every active job. */
export type SnapshotData = JobSnapshotData | AllJobsSnapshotData;

/** Data of `progress` (backtests): at least every 1 % or the queue's interval. */
export interface ProgressData extends BacktestProgressFields {
  status: JobStatus;
  /** 0..1 */
  progress: number;
  /** Absent before the first report with an equity (e.g. while queued). */
  equity?: number;
}

/** Data of `optimization_progress`. */
export interface OptimizationProgressData extends OptimizationProgressFields {
  status: JobStatus;
  /** 0..1 */
  progress: number;
  /**
   * The combinations finished since the previous message, each exactly once (at most 500 per
   * message; more go out as consecutive messages).
   */
  points?: ComboResult[];
}

/**
 * Data of `trade`: the trades closed since the previous `trade` message, in order; `total` is
 * the number of trades the job has closed so far (these are `total − trades.length + 1 …
 * total`).
 */
export interface TradeData {
  trades: TradeRecord[];
  total: number;
}

/**
 * Data of `complete`. `result` is embedded unless larger than the server's limit or the client
 * is behind; then `result_url` says where to fetch it.
 */
export interface CompleteData {
  status: "completed";
  /** Always 1. */
  progress: number;
  /** The job's listing summary. */
  summary: Record<string, unknown> | null;
  result?: BacktestResult | OptimizationResult;
  result_url?: string;
}

/** Data of `error`: the job failed or was cancelled. */
export interface ErrorData {
  status: JobStatus;
  error: string;
  /** The job's `error_details` (see the status endpoint), when it has any. */
  details?: JobErrorDetails;
}

/** A `snapshot` message (`job_id` is `"*"` for the all-jobs snapshot). */
export interface SnapshotMessage {
  type: "snapshot";
  job_id: string;
  data: SnapshotData;
}

/** A `progress` message (backtests). */
export interface ProgressMessage {
  type: "progress";
  job_id: string;
  data: ProgressData;
}

/** An `optimization_progress` message. */
export interface OptimizationProgressMessage {
  type: "optimization_progress";
  job_id: string;
  data: OptimizationProgressData;
}

/** A `trade` message. */
export interface TradeMessage {
  type: "trade";
  job_id: string;
  data: TradeData;
}

/** A `complete` message. */
export interface CompleteMessage {
  type: "complete";
  job_id: string;
  data: CompleteData;
}

/** An `error` message. */
export interface ErrorMessage {
  type: "error";
  job_id: string;
  data: ErrorData;
}

/** Every WebSocket message: `{ type, job_id, data }`, discriminated on `type`. */
export type WsMessage =
  | SnapshotMessage
  | ProgressMessage
  | OptimizationProgressMessage
  | TradeMessage
  | CompleteMessage
  | ErrorMessage;

/** The message types. */
export type WsMessageType = WsMessage["type"];

/** The data of the message of type `T`. */
export type WsMessageData<T extends WsMessageType> = Extract<WsMessage, { type: T }>["data"];

/** The `error` message that ends a failed or cancelled job's stream (live or replayed). */
export function errorMessageOf(rec: JobRecord): ErrorMessage {
  const data: ErrorData = { status: rec.status, error: rec.error ?? rec.status };
  if (rec.errorDetails) data.details = rec.errorDetails;
  return { type: "error", job_id: rec.id, data };
}
