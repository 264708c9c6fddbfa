/**
 * The services every route module gets: options, the job store and queue, the WebSocket hub
 * and the statistics counters.
 *
 * @module
 */
import type { JobQueue } from "../jobs/job_queue.ts";
import type { JobStore } from "../jobs/job_store.ts";
import type { ServerStats } from "../jobs/server_stats.ts";
import type { WsHub } from "../jobs/ws_hub.ts";
import type { ServerOptions } from "./server_options.ts";
import type { CcxtLoaderOptions } from "../market/ccxt_loader.ts";

/** Shared server state handed to the route modules. */
export interface AppServices {
  options: ServerOptions;
  store: JobStore;
  queue: JobQueue;
  hub: WsHub;
  stats: ServerStats;
  /** Synchronous executes running now (bounded by `limits.maxConcurrentExecutes`). */
  executes: { inFlight: number };
  /** Exchange-data caches, opened on first use. */
  exchange: () => Promise<Pick<CcxtLoaderOptions, "cache" | "memory">>;
}
