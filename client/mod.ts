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

export type { WatchMessage, WatchOptions, WatchState } from "./watch.ts";
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
/**
 * A job's status; once it completed, `result_url` names its result and `result` holds it
 * (unless asked without, or too large to embed).
 */
export type JobStatusResponse<R> = JobView & { result?: R; result_url?: string };

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
 * A typed client of the WagYu server at `baseUrl` (e.g. `http://localhost:8080`, or
 * `location.origin` in the page). Every method resolves with the parsed answer or rejects with
 * an {@link ApiClientError} (status 0, code `network`, when no answer came back).
 *
 * Every call goes through the route types (`rpc`), including the endpoints whose answers are
 * typed here, so renaming or removing a route breaks the client (and its users) at `deno check`.
 */
export function createClient(baseUrl: string, opts: ClientOptions = {}) {
  const base = baseUrl.replace(/\/+$/, "");
  const headers: Record<string, string> = opts.token
    ? { authorization: `Bearer ${opts.token}` }
    : {};
  const rawFetch = opts.fetch ??
    ((input: RequestInfo | URL, init?: RequestInit) => fetch(input, init));
  // A refused connection or DNS failure rejects fetch with a bare TypeError; callers (the
  // page's banner among them) get the same error type as for an error answer.
  const fetchFn = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    try {
      return await rawFetch(input, init);
    } catch (err) {
      if (err instanceof DOMException && err.name === "AbortError") throw err;
      const method = init?.method ?? "GET";
      const url = input instanceof Request ? input.url : String(input);
      throw new ApiClientError(0, "network", `Cannot reach the server (${method} ${url}): ${err}`);
    }
  };
  const rpc = hc<AppType>(base, { headers, fetch: fetchFn });
  // hono's client puts path params into the URL as they are.
  const param = (jobId: string) => ({ param: { id: encodeURIComponent(jobId) } });
  // The status routes read `?result=false` without a declared query schema, so the typed
  // client has no `query` for them: the URL comes from the route type, the query is added.
  const withoutResult = (url: URL, o: { result?: boolean }) => {
    if (o.result === false) url.searchParams.set("result", "false");
    return url;
  };
  const wsUrl = (u: URL) => u.href.replace(/^http/, "ws");

  return {
    /** The raw hono RPC client (`rpc.api.health.$get()` …), for what the helpers do not cover. */
    rpc,
    baseUrl: base,

    /** `GET /api/health`. */
    health: async (): Promise<HealthResponse> => unwrap(await rpc.api.health.$get()),
    /** `GET /api/stats`. */
    stats: async (): Promise<ServerStatsResponse> => unwrap(await rpc.api.stats.$get()),
    /** `GET /api/openapi.json`. */
    openapi: async (): Promise<Record<string, unknown>> =>
      unwrap(await rpc.api["openapi.json"].$get()),
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
    backtestStatus: async (
      jobId: string,
      o: { result?: boolean } = {},
    ): Promise<JobStatusResponse<BacktestResult>> =>
      unwrap(
        await fetchFn(withoutResult(rpc.api.backtest[":id"].status.$url(param(jobId)), o), {
          headers,
        }),
      ),
    /** `GET /api/backtest/{id}/result` (409 while the job is not completed). */
    backtestResult: async (jobId: string): Promise<BacktestResult> =>
      unwrap(await rpc.api.backtest[":id"].result.$get(param(jobId))),
    /** `GET /api/backtest/{id}/report`: the self-contained HTML report of a finished job. */
    backtestReport: async (jobId: string): Promise<string> => {
      const res = await rpc.api.backtest[":id"].report.$get(param(jobId));
      if (!res.ok) await unwrap(res);
      return await res.text();
    },
    /** `POST /api/backtest/{id}/cancel`. */
    cancelBacktest: async (jobId: string): Promise<JobView> =>
      unwrap(await rpc.api.backtest[":id"].cancel.$post(param(jobId))),
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
    optimizationStatus: async (
      jobId: string,
      o: { result?: boolean } = {},
    ): Promise<JobStatusResponse<OptimizationResult>> =>
      unwrap(
        await fetchFn(withoutResult(rpc.api.optimization[":id"].status.$url(param(jobId)), o), {
          headers,
        }),
      ),
    /** `GET /api/optimization/{id}/result`. */
    optimizationResult: async (jobId: string): Promise<OptimizationResult> =>
      unwrap(await rpc.api.optimization[":id"].result.$get(param(jobId))),
    /** `POST /api/optimization/{id}/cancel`. */
    cancelOptimization: async (jobId: string): Promise<JobView> =>
      unwrap(await rpc.api.optimization[":id"].cancel.$post(param(jobId))),

    /** `GET /api/datasets`. */
    datasets: async (): Promise<DatasetList> => unwrap(await rpc.api.datasets.$get()),
    /**
     * `POST /api/datasets?name=…`: uploads a CSV, JSON or Parquet file (validated); in the
     * page, a `File` from an `<input type=file>` goes as is.
     */
    uploadDataset: async (
      name: string,
      bytes: Uint8Array | string | Blob,
      o: { overwrite?: boolean } = {},
    ): Promise<DatasetUploaded> =>
      unwrap(
        await rpc.api.datasets.$post(
          { query: { name, ...(o.overwrite ? { overwrite: "true" as const } : {}) } },
          {
            headers: { "content-type": "application/octet-stream" },
            init: { body: bytes as BodyInit },
          },
        ),
      ),

    /**
     * Streams the messages of one job (`/ws/backtest/{id}`) until its `complete` or `error`.
     * Reconnects after a dropped connection; the first message of each connection is a
     * `snapshot`, and trades missed while disconnected are replayed from it as `trade`
     * messages. A `complete` sent without its result (`result_url`) gets it fetched.
     */
    watch: (jobId: string, o: WatchOptions = {}): AsyncGenerator<WatchMessage, void, undefined> => {
      const url = rpc.ws.backtest[":id"].$url(param(jobId));
      return openWatch({
        wsUrl: wsUrl(url),
        probeUrl: url.href,
        httpBase: base,
        fetch: fetchFn,
        headers,
        perJob: true,
      }, o);
    },
    /** Streams every job's messages (`/ws/backtests`) until `signal` aborts or the loop breaks. */
    watchAll: (o: WatchOptions = {}): AsyncGenerator<WatchMessage, void, undefined> => {
      const url = rpc.ws.backtests.$url();
      return openWatch({
        wsUrl: wsUrl(url),
        probeUrl: url.href,
        httpBase: base,
        fetch: fetchFn,
        headers,
        perJob: false,
      }, o);
    },
  };
}
