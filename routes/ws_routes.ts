/**
 * WebSocket endpoints, on Deno's native upgrade (`Deno.upgradeWebSocket`):
 * `/ws/backtest/{job_id}` streams one job (snapshot on subscribe, then progress, trades and
 * the terminal `complete` or `error`, then a clean close 1000); `/ws/backtests` streams every
 * job's messages (snapshot of the active jobs on subscribe). Heartbeats are ping frames every
 * `wsIdleTimeoutS`; a client that does not answer with a pong in time is closed.
 *
 * @module
 */
import { Hono } from "hono";
import type { JobRecord } from "../jobs/job_store.ts";
import {
  type CompleteData,
  errorMessageOf,
  type SnapshotMessage,
  type WsMessage,
} from "../jobs/ws_messages.ts";
import { ApiError } from "./api_error.ts";
import type { AppServices } from "./app_services.ts";
import { checkOrigin } from "./security.ts";

function requireUpgrade(req: Request): void {
  if (req.headers.get("upgrade")?.toLowerCase() !== "websocket") {
    throw new ApiError(426, "upgrade_required", "This endpoint speaks WebSocket only", {
      header: "Upgrade: websocket",
    });
  }
}

/** The messages a subscriber to a finished job gets: its snapshot and its terminal message. */
async function finishedJobMessages(rec: JobRecord, s: AppServices): Promise<WsMessage[]> {
  const snapshot: SnapshotMessage = {
    type: "snapshot",
    job_id: rec.id,
    data: { kind: rec.kind, status: rec.status, progress: rec.progress, trades: [] },
  };
  if (rec.status === "completed") {
    const data: CompleteData = {
      status: "completed",
      progress: 1,
      summary: rec.summary,
    };
    const url = rec.kind === "optimization"
      ? `/api/optimization/${rec.id}/result`
      : `/api/backtest/${rec.id}/result`;
    if (rec.result && rec.result.jsonBytes <= s.options.limits.wsResultMaxBytes) {
      data.result = JSON.parse((await s.store.getResultText(rec)) ?? "null");
    } else data.result_url = url;
    return [snapshot, { type: "complete", job_id: rec.id, data }];
  }
  return [snapshot, errorMessageOf(rec)];
}

/** The WebSocket routes. */
export function wsRoutes(s: AppServices) {
  const idleTimeout = s.options.limits.wsIdleTimeoutS;
  return new Hono()
    .get("/ws/backtests", (c) => {
      checkOrigin(c.req.raw, s.options.corsOrigins);
      requireUpgrade(c.req.raw);
      const { socket, response } = Deno.upgradeWebSocket(c.req.raw, { idleTimeout });
      s.hub.add(socket, null, [s.queue.snapshot(null)]);
      return response;
    })
    .get("/ws/backtest/:id", async (c) => {
      checkOrigin(c.req.raw, s.options.corsOrigins);
      const id = c.req.param("id");
      const rec = await s.store.get(id);
      if (rec === null) {
        throw new ApiError(404, "job_not_found", `No job with id ${id}`, { job_id: id });
      }
      requireUpgrade(c.req.raw);
      const { socket, response } = Deno.upgradeWebSocket(c.req.raw, { idleTimeout });
      const live = s.queue.live(id);
      if (live) {
        // Subscribe before anything else can be published, with the snapshot first.
        s.hub.add(socket, id, [s.queue.snapshot(id)]);
      } else {
        const fresh = (await s.store.get(id)) ?? rec;
        if (s.queue.live(id)) s.hub.add(socket, id, [s.queue.snapshot(id)]);
        else s.hub.add(socket, id, await finishedJobMessages(fresh, s), true);
      }
      return response;
    });
}
