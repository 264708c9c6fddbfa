/**
 * How jobs look in API answers (snake_case fields, as the WebSocket messages), and the
 * lookups the job routes share.
 *
 * @module
 */
import type { Context } from "hono";
import type { JobErrorDetails, JobKind, JobRecord } from "../jobs/job_store.ts";
import { JobStateError } from "../jobs/job_store.ts";
import { QueueFullError } from "../jobs/job_queue.ts";
import { ApiError, limitError } from "./api_error.ts";
import type { AppServices } from "./app_services.ts";

/** A job as listed and as the status endpoint shows it (without the result). */
export interface JobView {
  job_id: string;
  kind: JobKind;
  status: JobRecord["status"];
  progress: number;
  equity: number | null;
  error: string | null;
  /**
   * A failure's code and details, as the synchronous endpoints' error `details` (a strategy
   * error: `kind`, `bar`, the last lines of its console output in `logs`); null otherwise.
   */
  error_details: JobErrorDetails | null;
  created_at: number;
  started_at: number | null;
  finished_at: number | null;
  attempts: number;
  notes: string[];
  summary: Record<string, unknown> | null;
}

/** The API view of `rec`, with live progress when the job is running here. */
export function jobView(rec: JobRecord, s: AppServices): JobView {
  const live = s.queue.live(rec.id);
  return {
    job_id: rec.id,
    kind: rec.kind,
    status: live?.status ?? rec.status,
    progress: live?.progress ?? rec.progress,
    equity: live?.equity ?? null,
    error: rec.error,
    error_details: rec.errorDetails ?? null,
    created_at: rec.createdAt,
    started_at: rec.startedAt,
    finished_at: rec.finishedAt,
    attempts: rec.attempts,
    notes: rec.notes,
    summary: rec.summary,
  };
}

/** The job `id` of `kind`, or a 404. */
export async function findJob(s: AppServices, id: string, kind: JobKind): Promise<JobRecord> {
  const rec = await s.store.get(id);
  if (rec === null || rec.kind !== kind) {
    throw new ApiError(404, "job_not_found", `No ${kind} job with id ${id}`, { job_id: id });
  }
  return rec;
}

/**
 * Status answer: the view plus, when completed, `result_url` and the stored result (spliced
 * in as text) unless it is over `statusResultMaxBytes` or the client asked `?result=false`.
 */
export async function statusResponse(
  c: Context,
  rec: JobRecord,
  s: AppServices,
  withResult: boolean,
): Promise<Response> {
  const view: JobView & { result_url?: string } = jobView(rec, s);
  const completed = rec.status === "completed" && rec.result !== null;
  if (completed) view.result_url = `/api/${rec.kind}/${rec.id}/result`;
  const embed = withResult && completed &&
    rec.result!.jsonBytes <= s.options.limits.statusResultMaxBytes;
  const text = embed ? await s.store.getResultText(rec) : null;
  const body = text === null
    ? JSON.stringify(view)
    : `${JSON.stringify(view).slice(0, -1)},"result":${text}}`;
  return c.body(body, 200, { "content-type": "application/json; charset=utf-8" });
}

/** Result answer: the stored result text, 409 while the job is not completed. */
export async function resultResponse(
  c: Context,
  rec: JobRecord,
  s: AppServices,
): Promise<Response> {
  if (rec.status !== "completed") {
    throw new ApiError(
      409,
      "job_not_completed",
      `Job ${rec.id} is ${rec.status}; its result exists once it is completed`,
      { job_id: rec.id, status: rec.status },
    );
  }
  const text = await s.store.getResultText(rec);
  return c.body(text ?? "null", 200, { "content-type": "application/json; charset=utf-8" });
}

/** Submits a job, mapping a full queue to 429 naming `maxQueuedJobs`. */
export async function submitJob(
  s: AppServices,
  kind: JobKind,
  request: unknown,
): Promise<JobRecord> {
  try {
    return await s.queue.submit(kind, request);
  } catch (err) {
    if (err instanceof QueueFullError) {
      throw limitError(429, "maxQueuedJobs", err.max, null, "The job queue");
    }
    throw err;
  }
}

/** Cancels a job, mapping a finished job to 409. */
export async function cancelJob(s: AppServices, rec: JobRecord): Promise<JobRecord> {
  try {
    return await s.queue.cancel(rec.id);
  } catch (err) {
    if (err instanceof JobStateError) {
      throw new ApiError(
        409,
        "job_not_cancellable",
        `Job ${rec.id} is ${err.from} and can no longer be cancelled`,
        { job_id: rec.id, status: err.from },
      );
    }
    throw err;
  }
}
