/**
 * Browser-side wrapper around WagYu's REST API: one `fetch` per call, JSON in and out, and the
 * server's `{ error: { code, message, details } }` envelope turned into an {@link ApiError} so
 * every panel can show the server's own message instead of a bare status code.
 *
 * @module
 */

/** An error answered by the API (or a network failure, with status 0). */
export class ApiError extends Error {
  /** HTTP status; 0 when the request never got an answer. */
  status: number;
  /** The server's machine-readable code (e.g. "invalid_input"), or "network". */
  code: string;
  /** Whatever the server put in `error.details` (zod issues, limits, diagnostics). */
  details: unknown;

  constructor(status: number, code: string, message: string, details?: unknown) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

/** Options of {@link apiRequest}. */
export interface ApiRequestOptions {
  /** HTTP method. @default "GET" when there is no body, else "POST" */
  method?: string;
  /** Serialized as JSON. */
  body?: unknown;
  /** Sent as is (a file upload), instead of `body`. */
  rawBody?: Blob;
  /** Aborts the request. */
  signal?: AbortSignal;
}

/**
 * Calls `path` on the same origin and returns the decoded JSON.
 *
 * @example
 * ```ts ignore
 * const { job_id } = await apiRequest<{ job_id: string }>("/api/backtest/start", { body });
 * ```
 */
export async function apiRequest<T>(path: string, opts: ApiRequestOptions = {}): Promise<T> {
  const hasBody = opts.body !== undefined || opts.rawBody !== undefined;
  const method = opts.method ?? (hasBody ? "POST" : "GET");
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      headers: opts.rawBody
        ? { "content-type": "application/octet-stream" }
        : opts.body === undefined
        ? undefined
        : { "content-type": "application/json" },
      body: opts.rawBody ?? (opts.body === undefined ? undefined : JSON.stringify(opts.body)),
      signal: opts.signal,
    });
  } catch (err) {
    throw new ApiError(0, "network", `Cannot reach the server (${method} ${path}): ${err}`);
  }
  const text = await res.text();
  let json: unknown = undefined;
  if (text.length > 0) {
    try {
      json = JSON.parse(text);
    } catch {
      if (!res.ok) {
        throw new ApiError(res.status, "http", `${method} ${path}: ${text.slice(0, 200)}`);
      }
      throw new ApiError(res.status, "bad_json", `${method} ${path} answered something not JSON`);
    }
  }
  if (!res.ok) {
    const env = (json as { error?: { code?: string; message?: string; details?: unknown } })
      ?.error;
    throw new ApiError(
      res.status,
      env?.code ?? "http",
      env?.message ?? `${method} ${path} failed with HTTP ${res.status}`,
      env?.details,
    );
  }
  return json as T;
}

/**
 * Picks the array out of a list answer whatever its envelope: the API answers lists either bare
 * or wrapped (`{ items }`, `{ jobs }`, `{ strategies }`, …), and panels only need the rows.
 */
export function listFrom<T>(json: unknown, ...keys: string[]): T[] {
  if (Array.isArray(json)) return json as T[];
  if (json && typeof json === "object") {
    const obj = json as Record<string, unknown>;
    for (const k of [...keys, "items", "data", "results"]) {
      if (Array.isArray(obj[k])) return obj[k] as T[];
    }
  }
  return [];
}
