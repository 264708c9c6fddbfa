/**
 * Server statistics, health and the OpenAPI document.
 *
 * @module
 */
import { Hono } from "hono";
import type { AppServices } from "./app_services.ts";
import { openApiDocument } from "./openapi.ts";

/** Version reported by /api/health (deno.json's version). */
export const SERVER_VERSION = "0.1.0";

/** The /api/stats answer. */
export function serverStats(s: AppServices) {
  const mem = Deno.memoryUsage();
  return {
    uptime_s: s.stats.uptimeSeconds(),
    jobs: s.store.counts(),
    queue: {
      length: s.queue.queuedCount,
      max_queued: s.queue.maxQueued,
      running: s.queue.runningCount,
    },
    workers: { busy: s.queue.runningCount, total: s.queue.concurrency },
    executes: { in_flight: s.executes.inFlight, max: s.options.limits.maxConcurrentExecutes },
    memory: {
      rss: mem.rss,
      heap_used: mem.heapUsed,
      heap_total: mem.heapTotal,
      external: mem.external,
    },
    websockets: s.hub.stats(),
    ...s.stats.throughput(),
  };
}

/** The system routes. */
export function systemRoutes(s: AppServices) {
  let doc: string | null = null;
  return new Hono()
    .get("/api/stats", (c) => c.json(serverStats(s)))
    .get("/api/health", async (c) => {
      // A KV read proves the store answers, not only that the process is up.
      const t0 = performance.now();
      await s.store.kv.get(["health"]);
      return c.json({
        status: "ok" as const,
        version: SERVER_VERSION,
        uptime_s: s.stats.uptimeSeconds(),
        kv: { path: s.store.path, latency_ms: performance.now() - t0 },
        workers: s.queue.concurrency,
      });
    })
    .get("/api/openapi.json", (c) => {
      doc ??= JSON.stringify(openApiDocument(s.options));
      return c.body(doc, 200, { "content-type": "application/json; charset=utf-8" });
    });
}
