/**
 * The typed WagYu API client: `createClient(baseUrl, { token })`.
 *
 * Request and response types come from the server's own routes (`AppType`, via hono's RPC
 * client `hc`), so a changed route breaks the client at type-check time instead of drifting.
 * The few endpoints that answer with pre-serialized JSON text (status and result, which splice
 * the stored result in without re-parsing it) are typed here with the engine's result types.
 *
 * `client.watch(jobId)` streams one job's WebSocket messages as an async iterator, reconnecting
 * after a dropped connection and catching up from the `snapshot` the server sends first.
 *
 * ```ts
 * import { createClient } from "wagyu/client";
 * const api = createClient("http://localhost:8080");
 * const { job_id } = await api.startBacktest({
 *   strategy: { template: "sma_cross" },
 *   data: { dataset: "sample_daily.csv" },
 * });
 * for await (const m of api.watch(job_id)) {
 *   if (m.type === "progress") console.log(m.data.progress);
 *   if (m.type === "complete") console.log(m.data.result?.metrics);
 * }
 * ```
 *
 * @module
 */
import { hc, type InferRequestType, type InferResponseType } from "hono/client";
import type { AppType } from "../routes/api.ts";
import type { BacktestResult, TradeRecord } from "../engine/types.ts";
import type { JobKind, JobStatus } from "../jobs/job_store.ts";
import type { JobView } from "../routes/job_view.ts";
import type { OptimizationResult } from "../optimizer/run_optimization.ts";
import { openWatch, type WatchMessage, type WatchOptions } from "./watch.ts";
import { ApiClientError, readAnswer } from "./api_client_error.ts";

export { ApiClientError, readAnswer };

export type { WatchMessage, WatchOptions } from "./watch.ts";
export type { BacktestResult, JobKind, JobStatus, JobView, OptimizationResult, TradeRecord };

type Rpc = ReturnType<typeof hc<AppType>>;

/** Body of `/api/strategy/execute` and `/api/backtest/start`. */
export type BacktestRequest = InferRequestType<Rpc["api"]["backtest"]["start"]["$post"]>["json"];
/** Body of `/api/optimization/start`. */
export type OptimizationRequest = InferRequestType<
  Rpc["api"]["optimization"]["start"]["$post"]
>["json"];
/** Query of `GET /api/backtests`. */
export type ListJobsQuery = InferRequestType<Rpc["api"]["backtests"]["$get"]>["query"];
/** Answer of `/api/strategy/compile`. */
export type CompileResponse = InferResponseType<Rpc["api"]["strategy"]["compile"]["$post"]>;
/** Answer of `/api/backtest/start` and `/api/optimization/start`. */
export type JobStarted = InferResponseType<Rpc["api"]["backtest"]["start"]["$post"], 202>;
/** Answer of `/api/backtests`. */
export type JobList = InferResponseType<Rpc["api"]["backtests"]["$get"]>;
/** Answer of `/api/strategies`. */
export type StrategyList = InferResponseType<Rpc["api"]["strategies"]["$get"]>;
/** Answer of `GET /api/datasets`. */
export type DatasetList = InferResponseType<Rpc["api"]["datasets"]["$get"]>;
/** Answer of `POST /api/datasets`. */
export type DatasetUploaded = InferResponseType<Rpc["api"]["datasets"]["$post"], 201>;
/** Answer of `/api/stats`. */
export type ServerStatsResponse = InferResponseType<Rpc["api"]["stats"]["$get"]>;
/** Answer of `/api/health`. */
export type HealthResponse = InferResponseType<Rpc["api"]["health"]["$get"]>;
/** A job's status; `result` is present once it completed (unless asked without). */
export type JobStatusResponse<R> = JobView & { result?: R };

/** Options of {@link createClient}. */
export interface ClientOptions {
  /** API token (`WAGYU_API_TOKEN` on the server), sent as `Authorization: Bearer`. */
  token?: string;
  /** A fetch to use instead of the global one (tests, proxies). */
  fetch?: typeof fetch;
}

const unwrap = readAnswer;

/** The client {@link createClient} returns. */
export type WagyuClient = ReturnType<typeof createClient>;

/**
 * A typed client of the WagYu server at `baseUrl` (e.g. `http://localhost:8080`). Every
 * method resolves with the parsed answer or rejects with an {@link ApiClientError}.
 */
export function createClient(baseUrl: string, opts: ClientOptions = {}) {
  const base = baseUrl.replace(/\/+$/, "");
  const headers: Record<string, string> = opts.token
    ? { authorization: `Bearer ${opts.token}` }
    : {};
  const fetchFn = opts.fetch ??
    ((input: RequestInfo | URL, init?: RequestInit) => fetch(input, init));
  const rpc = hc<AppType>(base, { headers, fetch: fetchFn });
  const get = async <T>(path: string): Promise<T> =>
    unwrap<T>(await fetchFn(base + path, { headers }));
  const id = (s: string) => encodeURIComponent(s);

  return {
    /** The raw hono RPC client (`rpc.api.health.$get()` …), for what the helpers do not cover. */
    rpc,
    baseUrl: base,

    /** `GET /api/health`. */
    health: async (): Promise<HealthResponse> => unwrap(await rpc.api.health.$get()),
    /** `GET /api/stats`. */
    stats: async (): Promise<ServerStatsResponse> => unwrap(await rpc.api.stats.$get()),
    /** `GET /api/openapi.json`. */
    openapi: (): Promise<Record<string, unknown>> => get("/api/openapi.json"),
    /** `GET /api/strategies`: the templates with their source and params. */
    strategies: async (): Promise<StrategyList> => unwrap(await rpc.api.strategies.$get()),
    /** `POST /api/strategy/compile`. */
    compile: async (code: string): Promise<CompileResponse> =>
      unwrap(await rpc.api.strategy.compile.$post({ json: { code } })),
    /** `POST /api/strategy/execute`: a synchronous backtest. */
    execute: async (req: BacktestRequest): Promise<BacktestResult> =>
      unwrap(await rpc.api.strategy.execute.$post({ json: req })),

    /** `POST /api/backtest/start`. */
    startBacktest: async (req: BacktestRequest): Promise<JobStarted> =>
      unwrap(await rpc.api.backtest.start.$post({ json: req })),
    /** `GET /api/backtest/{id}/status` (`result: false` leaves the result out). */
    backtestStatus: (
      jobId: string,
      o: { result?: boolean } = {},
    ): Promise<JobStatusResponse<BacktestResult>> =>
      get(`/api/backtest/${id(jobId)}/status${o.result === false ? "?result=false" : ""}`),
    /** `GET /api/backtest/{id}/result` (409 while the job is not completed). */
    backtestResult: (jobId: string): Promise<BacktestResult> =>
      get(`/api/backtest/${id(jobId)}/result`),
    /** `GET /api/backtest/{id}/report`: the self-contained HTML report of a finished job. */
    backtestReport: async (jobId: string): Promise<string> => {
      const res = await fetchFn(`${base}/api/backtest/${id(jobId)}/report`, { headers });
      if (!res.ok) await unwrap(res);
      return await res.text();
    },
    /** `POST /api/backtest/{id}/cancel`. */
    cancelBacktest: async (jobId: string): Promise<JobView> =>
      unwrap(await rpc.api.backtest[":id"].cancel.$post({ param: { id: jobId } })),
    /** `GET /api/backtests` (filter by status or kind, paging with `cursor`). */
    listBacktests: async (query: ListJobsQuery = {}): Promise<JobList> => {
      // hono's client sends query values as strings; drop undefined ones.
      const q: Record<string, string> = {};
      for (const [k, v] of Object.entries(query)) if (v !== undefined) q[k] = String(v);
      return unwrap(await rpc.api.backtests.$get({ query: q as unknown as ListJobsQuery }));
    },

    /** `POST /api/optimization/start`. */
    startOptimization: async (req: OptimizationRequest): Promise<JobStarted> =>
      unwrap(await rpc.api.optimization.start.$post({ json: req })),
    /** `GET /api/optimization/{id}/status`. */
    optimizationStatus: (
      jobId: string,
      o: { result?: boolean } = {},
    ): Promise<JobStatusResponse<OptimizationResult>> =>
      get(`/api/optimization/${id(jobId)}/status${o.result === false ? "?result=false" : ""}`),
    /** `GET /api/optimization/{id}/result`. */
    optimizationResult: (jobId: string): Promise<OptimizationResult> =>
      get(`/api/optimization/${id(jobId)}/result`),
    /** `POST /api/optimization/{id}/cancel`. */
    cancelOptimization: async (jobId: string): Promise<JobView> =>
      unwrap(await rpc.api.optimization[":id"].cancel.$post({ param: { id: jobId } })),

    /** `GET /api/datasets`. */
    datasets: async (): Promise<DatasetList> => unwrap(await rpc.api.datasets.$get()),
    /** `POST /api/datasets?name=…`: uploads a CSV, JSON or Parquet file (validated). */
    uploadDataset: async (
      name: string,
      bytes: Uint8Array | string,
      o: { overwrite?: boolean } = {},
    ): Promise<DatasetUploaded> => {
      const q = new URLSearchParams({ name });
      if (o.overwrite) q.set("overwrite", "true");
      const res = await fetchFn(`${base}/api/datasets?${q}`, {
        method: "POST",
        headers: { ...headers, "content-type": "application/octet-stream" },
        body: bytes as BodyInit,
      });
      return await unwrap(res);
    },

    /**
     * Streams the messages of one job (`/ws/backtest/{id}`) until its `complete` or `error`.
     * Reconnects after a dropped connection; the first message of each connection is a
     * `snapshot`, and trades missed while disconnected are replayed from it as `trade`
     * messages. A `complete` sent without its result (`result_url`) gets it fetched.
     */
    watch: (jobId: string, o: WatchOptions = {}): AsyncGenerator<WatchMessage, void, undefined> =>
      openWatch({
        wsUrl: `${base.replace(/^http/, "ws")}/ws/backtest/${id(jobId)}`,
        probeUrl: `${base}/ws/backtest/${id(jobId)}`,
        httpBase: base,
        fetch: fetchFn,
        headers,
        perJob: true,
      }, o),
    /** Streams every job's messages (`/ws/backtests`) until `signal` aborts or the loop breaks. */
    watchAll: (o: WatchOptions = {}): AsyncGenerator<WatchMessage, void, undefined> =>
      openWatch({
        wsUrl: `${base.replace(/^http/, "ws")}/ws/backtests`,
        probeUrl: `${base}/ws/backtests`,
        httpBase: base,
        fetch: fetchFn,
        headers,
        perJob: false,
      }, o),
  };
}
