/**
 * Server options and limits: defaults, overridable by environment variables (for
 * `deno task start`) and by the options object of `createApp` (for tests and embedding).
 *
 * | option | env | default |
 * |---|---|---|
 * | port | `PORT` (or `--port`) | 8080 |
 * | hostname | `HOST` | 127.0.0.1 |
 * | kvPath | `WAGYU_KV_PATH` | `data/wagyu.kv` (`:memory:` keeps nothing) |
 * | recovery | `WAGYU_RECOVERY` | `requeue` (or `fail`) |
 * | workers | `WAGYU_WORKERS` | CPU cores |
 * | apiToken | `WAGYU_API_TOKEN` | unset (no token needed) |
 * | corsOrigins | `WAGYU_CORS_ORIGINS` | empty (same origin only; `*` or a comma list) |
 * | datasetsDir | `WAGYU_DATASETS_DIR` | `data/datasets` |
 * | limits.* | `WAGYU_MAX_*` (see {@link LIMIT_ENV}) | see {@link DEFAULT_LIMITS} |
 *
 * @module
 */

/** Configurable limits; each is named in the error a request that exceeds it gets. */
export interface ServerLimits {
  /** Largest JSON request body in bytes. @default 64 MiB */
  maxBodyBytes: number;
  /** Largest dataset upload in bytes. @default 256 MiB */
  maxUploadBytes: number;
  /** Most bars one backtest may run on (inline or from a dataset). @default 5,000,000 */
  maxBars: number;
  /** Most jobs waiting in the queue; beyond it /start answers 429. @default 1000 */
  maxQueuedJobs: number;
  /** Most parameter combinations of one optimization. @default 1,000,000 */
  maxGridSize: number;
  /** Most /api/strategy/execute requests running at once; beyond it 429. @default 4 × workers */
  maxConcurrentExecutes: number;
  /** Bytes a WebSocket client may have unsent before droppable messages are dropped. @default 1 MiB */
  wsBufferBytes: number;
  /** Largest result embedded in a `complete` message; larger ones are fetched by URL
   * (`data.result_url`): one big message fanned out to many clients costs each of them the
   * full transfer and parse. @default 1 MiB */
  wsResultMaxBytes: number;
  /** Seconds without a pong before a WebSocket is closed (ping interval). @default 30 */
  wsIdleTimeoutS: number;
  /**
   * Largest result embedded in a status answer; larger ones are linked (`result_url`) so
   * that polling the status of a million-bar job does not download it each time.
   * @default 16 MiB
   */
  statusResultMaxBytes: number;
}

/** Environment variable of each limit. */
export const LIMIT_ENV: Readonly<Record<keyof ServerLimits, string>> = {
  maxBodyBytes: "WAGYU_MAX_BODY_BYTES",
  maxUploadBytes: "WAGYU_MAX_UPLOAD_BYTES",
  maxBars: "WAGYU_MAX_BARS",
  maxQueuedJobs: "WAGYU_MAX_QUEUED_JOBS",
  maxGridSize: "WAGYU_MAX_GRID_SIZE",
  maxConcurrentExecutes: "WAGYU_MAX_CONCURRENT_EXECUTES",
  wsBufferBytes: "WAGYU_WS_BUFFER_BYTES",
  wsResultMaxBytes: "WAGYU_WS_RESULT_MAX_BYTES",
  wsIdleTimeoutS: "WAGYU_WS_IDLE_TIMEOUT_S",
  statusResultMaxBytes: "WAGYU_STATUS_RESULT_MAX_BYTES",
};

/** What to do at start-up with jobs a previous process left queued or running. */
export type RecoveryPolicy = "requeue" | "fail";

/** Everything `createApp` needs; every field has a default. */
export interface ServerOptions {
  /** @default 8080 */
  port: number;
  /** @default "127.0.0.1" */
  hostname: string;
  /** Deno KV file; ":memory:" for a store that dies with the process. @default "data/wagyu.kv" */
  kvPath: string;
  /** @default "requeue" */
  recovery: RecoveryPolicy;
  /** Jobs running at once, each in its own Worker. @default navigator.hardwareConcurrency */
  workers: number;
  /** When set, mutating endpoints need `Authorization: Bearer <token>` or `X-API-Token`. */
  apiToken: string | null;
  /** Origins allowed by CORS: [] = same origin only, ["*"] = any. @default [] */
  corsOrigins: string[];
  /** Where uploaded datasets are written. @default "data/datasets" */
  datasetsDir: string;
  /** @default DEFAULT_LIMITS */
  limits: ServerLimits;
  /** Minimum ms between two progress messages of a job (and at least every 1 %). @default 250 */
  progressIntervalMs: number;
}

/** Partial options: `limits` may be partial too. */
export type ServerOptionsInput = Partial<Omit<ServerOptions, "limits">> & {
  limits?: Partial<ServerLimits>;
};

const cores = Math.max(1, navigator.hardwareConcurrency || 1);

/** Default limits. */
export const DEFAULT_LIMITS: Readonly<ServerLimits> = {
  maxBodyBytes: 64 * 1024 * 1024,
  maxUploadBytes: 256 * 1024 * 1024,
  maxBars: 5_000_000,
  maxQueuedJobs: 1000,
  maxGridSize: 1_000_000,
  maxConcurrentExecutes: 4 * cores,
  wsBufferBytes: 1024 * 1024,
  wsResultMaxBytes: 1024 * 1024,
  wsIdleTimeoutS: 30,
  statusResultMaxBytes: 16 * 1024 * 1024,
};

function envGet(env: Record<string, string | undefined>, name: string): string | undefined {
  const v = env[name];
  return v === undefined || v === "" ? undefined : v;
}

function positiveInt(name: string, raw: string | number): number {
  const n = typeof raw === "number" ? raw : Number(raw);
  if (!Number.isInteger(n) || n <= 0) {
    throw new RangeError(`Invalid server option ${name}: expected a positive integer, got ${raw}`);
  }
  return n;
}

/**
 * Resolves options: explicit `input` fields win over environment variables, which win over
 * defaults. Throws `RangeError` naming the option on a bad value.
 */
export function resolveServerOptions(
  input: ServerOptionsInput = {},
  env: Record<string, string | undefined> = {},
): ServerOptions {
  const limits = { ...DEFAULT_LIMITS };
  for (const key of Object.keys(LIMIT_ENV) as (keyof ServerLimits)[]) {
    const fromEnv = envGet(env, LIMIT_ENV[key]);
    if (fromEnv !== undefined) limits[key] = positiveInt(LIMIT_ENV[key], fromEnv);
    const given = input.limits?.[key];
    if (given !== undefined) limits[key] = positiveInt(`limits.${key}`, given);
  }
  const recovery = input.recovery ?? envGet(env, "WAGYU_RECOVERY") ?? "requeue";
  if (recovery !== "requeue" && recovery !== "fail") {
    throw new RangeError(
      `Invalid server option WAGYU_RECOVERY: expected requeue or fail, got ${recovery}`,
    );
  }
  const workers = input.workers ??
    positiveInt("WAGYU_WORKERS", envGet(env, "WAGYU_WORKERS") ?? cores);
  const corsRaw = envGet(env, "WAGYU_CORS_ORIGINS");
  return {
    port: input.port ?? (envGet(env, "PORT") === undefined ? 8080 : portNumber(env.PORT!)),
    hostname: input.hostname ?? envGet(env, "HOST") ?? "127.0.0.1",
    kvPath: input.kvPath ?? envGet(env, "WAGYU_KV_PATH") ?? "data/wagyu.kv",
    recovery,
    workers: positiveInt("workers", workers),
    apiToken: input.apiToken !== undefined
      ? input.apiToken
      : envGet(env, "WAGYU_API_TOKEN") ?? null,
    corsOrigins: input.corsOrigins ??
      (corsRaw === undefined ? [] : corsRaw.split(",").map((s) => s.trim()).filter(Boolean)),
    datasetsDir: input.datasetsDir ?? envGet(env, "WAGYU_DATASETS_DIR") ?? "data/datasets",
    limits,
    progressIntervalMs: input.progressIntervalMs ?? 250,
  };
}

function portNumber(raw: string): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > 65535) {
    throw new RangeError(`Invalid server option PORT: expected 0..65535, got ${raw}`);
  }
  return n;
}
