/**
 * The API's single error type and the handler that turns any thrown value into the JSON
 * envelope `{ error: { code, message, details } }`. Unexpected errors become a 500 with an
 * id that is logged server-side together with the stack; the client never sees the stack.
 *
 * @module
 */
import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";

/** HTTP statuses the API answers errors with. */
export type ApiErrorStatus =
  | 400
  | 401
  | 403
  | 404
  | 409
  | 413
  | 415
  | 422
  | 426
  | 429
  | 500
  | 503;

/** The JSON body of every error answer. */
export interface ApiErrorBody {
  error: { code: string; message: string; details: unknown };
}

/**
 * An error with an HTTP status, a machine-readable code and optional details (zod issues,
 * the limit that was exceeded, compiler diagnostics).
 *
 * @example
 * ```ts
 * throw new ApiError(404, "job_not_found", "No job with id abc", { job_id: "abc" });
 * ```
 */
export class ApiError extends Error {
  /** HTTP status code. */
  readonly status: ApiErrorStatus;
  /** Stable machine-readable code, snake_case. */
  readonly code: string;
  /** Structured details (JSON-serializable), null when there are none. */
  readonly details: unknown;
  constructor(status: ApiErrorStatus, code: string, message: string, details: unknown = null) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.details = details;
  }

  /** The JSON envelope. */
  toBody(): ApiErrorBody {
    return { error: { code: this.code, message: this.message, details: this.details } };
  }
}

/** A configurable limit was exceeded: 413 (sizes) or 429 (queue), naming the limit. */
export function limitError(
  status: 413 | 429 | 400,
  limit: string,
  max: number,
  actual: number | null,
  what: string,
): ApiError {
  return new ApiError(
    status,
    status === 429 ? "queue_full" : status === 413 ? "payload_too_large" : "limit_exceeded",
    `${what} exceeds the limit ${limit}=${max}${actual === null ? "" : ` (got ${actual})`}`,
    { limit, max, actual },
  );
}

/** Logs an unexpected error with a fresh id and returns the id (what the client sees). */
export function logInternalError(err: unknown, where: string): string {
  const id = crypto.randomUUID();
  const stack = err instanceof Error ? (err.stack ?? err.message) : String(err);
  console.error(`[wagyu] internal error ${id} in ${where}: ${stack}`);
  return id;
}

/** Converts any thrown value into an error `Response` (hono `onError` handler). */
export function errorResponse(err: unknown, c: Context): Response {
  if (err instanceof ApiError) {
    return c.json(err.toBody(), err.status as ContentfulStatusCode);
  }
  // hono's own HTTPException (e.g. from middleware) carries a status; keep its status but
  // answer with our envelope.
  const status = (err as { status?: unknown })?.status;
  if (
    typeof status === "number" && status >= 400 && status < 500 &&
    typeof (err as { getResponse?: unknown }).getResponse === "function"
  ) {
    const message = err instanceof Error && err.message ? err.message : "Request rejected";
    return c.json(
      { error: { code: "http_error", message, details: null } },
      status as ContentfulStatusCode,
    );
  }
  const id = logInternalError(err, `${c.req.method} ${new URL(c.req.url).pathname}`);
  return c.json(
    {
      error: {
        code: "internal_error",
        message: `Internal server error (id ${id}); the server log has the details`,
        details: { id },
      },
    },
    500,
  );
}
