/**
 * The API as one chained Hono app (so `hc<AppType>` can derive a typed client), composed of
 * the route modules.
 *
 * @module
 */
import { Hono } from "hono";
import type { AppServices } from "./app_services.ts";
import { backtestRoutes } from "./backtest_routes.ts";
import { datasetRoutes } from "./dataset_routes.ts";
import { optimizationRoutes } from "./optimization_routes.ts";
import { systemRoutes } from "./system_routes.ts";
import { wsRoutes } from "./ws_routes.ts";

/** Every API and WebSocket route. */
export function apiRoutes(s: AppServices) {
  return new Hono()
    .route("/", backtestRoutes(s))
    .route("/", optimizationRoutes(s))
    .route("/", datasetRoutes(s))
    .route("/", systemRoutes(s))
    .route("/", wsRoutes(s));
}

/** The API's type, for hono's RPC client: `hc<AppType>("http://localhost:8080")`. */
export type AppType = ReturnType<typeof apiRoutes>;
