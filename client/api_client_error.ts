/**
 * The client's error type and the answer reader every client call goes through.
 *
 * @module
 */

/** An error answer of the server (`{ error: { code, message, details } }`) or a transport error. */
export class ApiClientError extends Error {
  /** HTTP status (0 when no answer came back, e.g. a WebSocket that never opened). */
  readonly status: number;
  /** The server's error code, e.g. `job_not_found`, `invalid_request`. */
  readonly code: string;
  readonly details: unknown;
  /** The whole answer as parsed (the `{ error }` envelope), or null when it was not JSON. */
  readonly body: unknown;
  constructor(
    status: number,
    code: string,
    message: string,
    details: unknown = null,
    body: unknown = null,
  ) {
    super(message);
    this.name = "ApiClientError";
    this.status = status;
    this.code = code;
    this.details = details;
    this.body = body;
  }
}

/** What {@link readAnswer} needs of a response (a `Response` or hono's `ClientResponse`). */
export interface AnswerLike {
  readonly ok: boolean;
  readonly status: number;
  readonly url: string;
  text(): Promise<string>;
}

/** Reads an answer: its JSON on 2xx, an {@link ApiClientError} carrying the server's error otherwise. */
export async function readAnswer<T>(res: AnswerLike): Promise<T> {
  const text = await res.text();
  let body: unknown = null;
  let parsed = false;
  try {
    body = text ? JSON.parse(text) : null;
    parsed = true;
  } catch {
    // A non-JSON answer (a proxy's HTML error page) is reported as such below.
  }
  if (res.ok) {
    if (!parsed) {
      throw new ApiClientError(res.status, "invalid_response", `Expected JSON from ${res.url}`);
    }
    return body as T;
  }
  const err = (body as { error?: { code?: string; message?: string; details?: unknown } } | null)
    ?.error;
  throw new ApiClientError(
    res.status,
    err?.code ?? "http_error",
    err?.message ?? `HTTP ${res.status} from ${res.url}: ${text.slice(0, 200)}`,
    err?.details ?? null,
    body,
  );
}
