/**
 * Test helpers: a real WagYu server on 127.0.0.1, port 0, with an in-memory (or given) KV
 * store; the typed client (`client/mod.ts`) for normal calls, and raw fetch and WebSocket
 * helpers for the tests that send what the typed client cannot (malformed bodies, missing
 * tokens, foreign origins) or that check the wire format itself.
 */
import assert from "node:assert/strict";
import { ApiClientError, createClient, type WagyuClient } from "../../client/mod.ts";
import { type RunningServer, startServer } from "../../main.ts";
import type { ServerOptionsInput } from "../../routes/server_options.ts";
import { barsToRows } from "../../engine/bars.ts";
import { loadBars } from "../../market/load_bars.ts";
import type { WsMessage } from "../../jobs/ws_hub.ts";

/** A started server plus helpers bound to its URL. */
export interface TestServer {
  url: string;
  wsUrl: string;
  running: RunningServer;
  /** The typed API client bound to this server (no token). */
  api: WagyuClient;
  /** Raw POST, for deliberately malformed or unauthenticated requests. */
  post(path: string, body: unknown, headers?: Record<string, string>): Promise<Response>;
  /** Raw GET, for requests the typed client does not send (unknown routes, bad queries). */
  get(path: string): Promise<Response>;
  /** `ws://…/ws/backtest/{id}`, built from the route types (for raw wire-format tests). */
  jobSocketUrl(id: string): string;
  shutdown(): Promise<void>;
}

/** Starts a server on a free loopback port. */
export async function startTestServer(opts: ServerOptionsInput = {}): Promise<TestServer> {
  const running = await startServer({
    port: 0,
    hostname: "127.0.0.1",
    kvPath: ":memory:",
    datasetsDir: await Deno.makeTempDir({ prefix: "wagyu_datasets_" }),
    ...opts,
  });
  const url = running.url;
  const api = createClient(url);
  return {
    url,
    wsUrl: url.replace(/^http/, "ws"),
    running,
    api,
    post: (path, body, headers = {}) =>
      fetch(url + path, {
        method: "POST",
        headers: { "content-type": "application/json", ...headers },
        body: typeof body === "string" ? body : JSON.stringify(body),
      }),
    get: (path) => fetch(url + path),
    jobSocketUrl: (id) =>
      api.rpc.ws.backtest[":id"].$url({ param: { id: encodeURIComponent(id) } }).href
        .replace(/^http/, "ws"),
    shutdown: () => running.shutdown(),
  };
}

/** GOOG.csv (2,148 daily bars) as ccxt-style rows, optionally the first `n`. */
export async function googRows(n?: number): Promise<number[][]> {
  const path = decodeURIComponent(
    new URL("../../../shared/data/GOOG.csv", import.meta.url).pathname,
  );
  const { bars } = await loadBars(path);
  const rows = barsToRows(bars);
  return n === undefined ? rows : rows.slice(0, n);
}

/** Reads a JSON body and asserts nothing; returns status and body. */
// deno-lint-ignore no-explicit-any
export async function json(res: Response): Promise<{ status: number; body: any }> {
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

/** A strategy that spends about `ms` per bar (to keep a job running for a while). */
export function slowStrategy(ms: number): string {
  return `export default class Slow {
  OnData(data) {
    const end = Date.now() + ${ms};
    while (Date.now() < end) { /* busy */ }
    return data.close[data.length - 1] > data.open[data.length - 1] ? 1 : -1;
  }
}`;
}

/** Collects a WebSocket's messages until it closes (or `until` says stop). */
export function collectWs(
  url: string,
  until?: (m: WsMessage) => boolean,
): Promise<{ messages: WsMessage[]; code: number }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    const messages: WsMessage[] = [];
    ws.onmessage = (e) => {
      const m = JSON.parse(e.data as string) as WsMessage;
      messages.push(m);
      if (until?.(m)) ws.close();
    };
    ws.onerror = (e) => reject(new Error(`WebSocket error: ${(e as ErrorEvent).message}`));
    ws.onclose = (e) => resolve({ messages, code: e.code });
  });
}

/**
 * Awaits a typed-client call that must fail and returns its {@link ApiClientError} (the
 * server's status, code, message and details), failing the test if it succeeded.
 */
export async function failure(call: Promise<unknown>): Promise<ApiClientError> {
  try {
    const value = await call;
    assert.fail(`expected an error answer, got ${JSON.stringify(value)?.slice(0, 300)}`);
  } catch (err) {
    if (err instanceof ApiClientError) return err;
    throw err;
  }
}

/** Polls the status endpoint (through the typed client) until the job is final. */
export async function waitForJob(
  srv: TestServer,
  id: string,
  kind: "backtest" | "optimization" = "backtest",
  timeoutMs = 30_000,
) {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    const st = kind === "optimization"
      ? await srv.api.optimizationStatus(id, { result: false })
      : await srv.api.backtestStatus(id, { result: false });
    if (["completed", "failed", "cancelled"].includes(st.status)) return st;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`Job ${id} did not finish in ${timeoutMs} ms`);
}
