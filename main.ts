/**
 * The WagYu server: builds the Hono app (REST API under /api, WebSockets under /ws, the UI)
 * over a Deno KV job store and a bounded job queue, and serves it with `Deno.serve`.
 *
 * `deno task start` (port from `PORT` or `--port`, default 8080). Options and limits:
 * routes/server_options.ts.
 *
 * `deno task start:deploy` runs it with Deno Deploy-like permissions (no subprocesses, no FFI,
 * writes only under data/deploy/) and `WAGYU_PROFILE=deploy`, which puts the KV file there
 * ({@link DEPLOY_KV_PATH}) and skips the UI bundle build (it must be prebuilt:
 * `deno task bundle`). See docs/RELIABILITY.md.
 *
 * `WAGYU_DEBUG_GC=1` with `--v8-flags=--expose-gc` adds `POST /api/debug/gc` (a full GC, then
 * the memory figures), used by the load benchmark's leak check; it is never in the API docs.
 *
 * @module
 */
import { Hono } from "hono";
import { JobQueue } from "./jobs/job_queue.ts";
import { JobStore } from "./jobs/job_store.ts";
import { ServerStats } from "./jobs/server_stats.ts";
import { WsHub } from "./jobs/ws_hub.ts";
import { closeSandboxPool, warmSandboxPool } from "./jobs/sandbox.ts";
import { ApiError, errorResponse, logInternalError } from "./routes/api_error.ts";
import { apiRoutes } from "./routes/api.ts";
import type { AppServices } from "./routes/app_services.ts";
import { createRunners } from "./routes/job_runners.ts";
import { jobFailure } from "./routes/backtest_input.ts";
import { securityMiddleware, sizeLimit } from "./routes/security.ts";
import {
  resolveServerOptions,
  type ServerOptions,
  type ServerOptionsInput,
} from "./routes/server_options.ts";
import { prepareUi, uiRoutes } from "./routes/ui.ts";
import { openCache } from "./market/parquet_cache.ts";
import { createMemoryCache } from "./market/ccxt_loader.ts";

export type { AppType } from "./routes/api.ts";

/** The KV file of the `deploy` profile: the only place that profile may write. */
export const DEPLOY_KV_PATH = "data/deploy/wagyu.kv";

/** The run profiles `WAGYU_PROFILE` accepts ("" / unset = local, everything allowed). */
export type ServerProfile = "local" | "deploy";

/** Reads `WAGYU_PROFILE`; throws `RangeError` naming it on an unknown value. */
export function serverProfile(env: Record<string, string | undefined>): ServerProfile {
  const raw = env.WAGYU_PROFILE ?? "";
  if (raw === "" || raw === "local") return "local";
  if (raw === "deploy") return "deploy";
  throw new RangeError(`Invalid WAGYU_PROFILE: expected deploy or local, got ${raw}`);
}

/** The profile's defaults under the explicit input (explicit input and env still win). */
function withProfile(
  input: ServerOptionsInput,
  env: Record<string, string | undefined>,
): ServerOptionsInput {
  if (serverProfile(env) !== "deploy") return input;
  // KV is the deploy profile's only writable storage: its file lives in the one folder the
  // task grants writes to (Deploy itself ignores the path and gives the project's KV).
  return env.WAGYU_KV_PATH ? input : { kvPath: DEPLOY_KV_PATH, ...input };
}

/** `POST /api/debug/gc`: a full GC (needs `--v8-flags=--expose-gc`), then memory figures. */
function debugGcRoute(app: Hono): void {
  app.post("/api/debug/gc", (c) => {
    const gc = (globalThis as { gc?: () => void }).gc;
    if (typeof gc !== "function") {
      const err = new ApiError(
        409,
        "gc_unavailable",
        "Start the server with --v8-flags=--expose-gc",
        null,
      );
      return c.json(err.toBody(), 409);
    }
    // Two passes: the first can only queue finalizers/weak callbacks the second then frees.
    gc();
    gc();
    const m = Deno.memoryUsage();
    return c.json({
      rss: m.rss,
      heap_used: m.heapUsed,
      heap_total: m.heapTotal,
      external: m.external,
    });
  });
}

/** A built app with its services; `close()` releases the KV store and the queue. */
export interface WagyuApp {
  app: Hono;
  services: AppServices;
  options: ServerOptions;
  /** What restart recovery did with the jobs a previous process left unfinished. */
  recovered: { requeued: string[]; failed: string[] };
  /** Stops the queue (running jobs stay "running" in the store for the next start's recovery). */
  close(): Promise<void>;
}

/**
 * Builds the app: opens the job store, recovers unfinished jobs, wires the queue, the hub and
 * the routes. Explicit `input` wins over environment variables (`env`, default none).
 */
export async function createApp(
  input: ServerOptionsInput = {},
  env: Record<string, string | undefined> = {},
): Promise<WagyuApp> {
  const options = resolveServerOptions(withProfile(input, env), env);
  const store = await JobStore.open(options.kvPath);
  const stats = new ServerStats();
  // The hub and the queue refer to each other (snapshots come from the queue's memory).
  let queue: JobQueue | null = null;
  const hub = new WsHub({
    bufferBytes: options.limits.wsBufferBytes,
    snapshot: (id) => queue!.snapshot(id),
  });
  let exchangeCaches: ReturnType<AppServices["exchange"]> | null = null;
  const exchange = () =>
    exchangeCaches ??= (async () => ({
      // No writable cache (read-only disk) is not fatal: fetches then go uncached.
      cache: await openCache().catch(() => null),
      memory: createMemoryCache(),
    }))();
  const services = {
    options,
    store,
    hub,
    stats,
    executes: { inFlight: 0 },
    exchange,
  } as Omit<AppServices, "queue"> as AppServices;
  queue = new JobQueue(store, hub, {
    runners: createRunners(services),
    concurrency: options.workers,
    maxQueued: options.limits.maxQueuedJobs,
    progressIntervalMs: options.progressIntervalMs,
    wsResultMaxBytes: options.limits.wsResultMaxBytes,
    stats,
    describeError: (err, job) => {
      const failure = jobFailure(err);
      if (failure) return failure;
      const id = logInternalError(err, `job ${job.id}`);
      return `Internal error (id ${id}); the server log has the details`;
    },
    resultUrl: (job) =>
      job.kind === "optimization"
        ? `/api/optimization/${job.id}/result`
        : `/api/backtest/${job.id}/result`,
  });
  services.queue = queue;
  const recovered = await queue.recover(options.recovery);

  const app = new Hono();
  app.onError(errorResponse);
  for (const mw of securityMiddleware(options)) app.use("/api/*", mw);
  const jsonLimit = sizeLimit("maxBodyBytes", options.limits.maxBodyBytes);
  app.use("/api/*", async (c, next) => {
    // Uploads stream with their own limit (maxUploadBytes).
    if (c.req.path === "/api/datasets") return await next();
    return await jsonLimit(c, next);
  });
  if (env.WAGYU_DEBUG_GC === "1") debugGcRoute(app);
  app.route("/", apiRoutes(services));
  app.route("/", uiRoutes);
  app.notFound((c) => {
    const err = new ApiError(404, "not_found", `No route for ${c.req.method} ${c.req.path}`, {
      path: c.req.path,
    });
    return c.json(err.toBody(), 404);
  });
  return {
    app,
    services,
    options,
    recovered,
    close: async () => {
      await queue!.close();
      hub.closeAll();
      store.close();
    },
  };
}

/** A running server: the app, the `Deno.serve` handle and its base URL. */
export interface RunningServer {
  wagyu: WagyuApp;
  server: Deno.HttpServer<Deno.NetAddr>;
  url: string;
  /** Graceful stop: no new connections, queue closed, KV closed. */
  shutdown(): Promise<void>;
}

/** Creates the app and serves it (port 0 picks a free port). */
export async function startServer(
  input: ServerOptionsInput = {},
  env: Record<string, string | undefined> = {},
): Promise<RunningServer> {
  const wagyu = await createApp(input, env);
  const server = Deno.serve({
    port: wagyu.options.port,
    hostname: wagyu.options.hostname,
    onListen: () => {},
  }, wagyu.app.fetch);
  const { hostname, port } = server.addr;
  const url = `http://${hostname.includes(":") ? `[${hostname}]` : hostname}:${port}`;
  return {
    wagyu,
    server,
    url,
    shutdown: async () => {
      await wagyu.close();
      await server.shutdown();
    },
  };
}

function portFromArgs(args: string[]): number | undefined {
  const i = args.findIndex((a) => a === "--port" || a.startsWith("--port="));
  if (i < 0) return undefined;
  const raw = args[i].includes("=") ? args[i].split("=")[1] : args[i + 1];
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > 65535) {
    throw new RangeError(`Invalid --port: expected 0..65535, got ${raw}`);
  }
  return n;
}

if (import.meta.main) {
  // Builds the UI bundle now when missing or stale; the deploy profile cannot (no subprocess,
  // no writes to static/build) and serves the prebuilt one.
  if (serverProfile(Deno.env.toObject()) !== "deploy") void prepareUi();
  const running = await startServer({ port: portFromArgs(Deno.args) }, Deno.env.toObject());
  warmSandboxPool(); // the first strategy run skips a sandbox process start
  const { recovered, options } = running.wagyu;
  console.log(
    `WagYu listening on ${running.url} (KV ${options.kvPath}, ${options.workers} workers` +
      (serverProfile(Deno.env.toObject()) === "deploy" ? ", deploy profile" : "") +
      (recovered.requeued.length ? `, ${recovered.requeued.length} jobs re-queued` : "") +
      (recovered.failed.length ? `, ${recovered.failed.length} jobs failed by restart` : "") +
      ")",
  );
  const stop = async () => {
    await running.shutdown();
    await closeSandboxPool();
    Deno.exit(0);
  };
  Deno.addSignalListener("SIGINT", stop);
  Deno.addSignalListener("SIGTERM", stop);
}
