/**
 * `watch()`: a job's WebSocket messages as an async iterator, with reconnect and catch-up.
 *
 * The server sends a `snapshot` first on every connection (status, progress, equity and the
 * last trades with their total count). After a reconnect the iterator yields that snapshot and
 * then replays, as a `trade` message, the trades the snapshot holds that were not seen yet, so
 * a consumer that collects trades stays right across a dropped connection. Trades of live
 * `trade` messages already yielded are not yielded twice (each message says how many trades
 * the job has closed so far).
 *
 * @module
 */
import type { BacktestResult, TradeRecord } from "../engine/types.ts";
import type {
  CompleteMessage,
  ErrorMessage,
  OptimizationProgressMessage,
  ProgressMessage,
  SnapshotMessage,
  TradeData,
  WsMessage,
} from "../jobs/ws_messages.ts";
import type { OptimizationResult } from "../optimizer/run_optimization.ts";
import { ApiClientError, readAnswer } from "./api_client_error.ts";

// The message types are the server's own (jobs/ws_messages.ts, what jobs/job_queue.ts and
// routes/ws_routes.ts build), so a changed message breaks `deno check` of the client and page.
export type {
  CompleteMessage,
  ErrorMessage,
  OptimizationProgressMessage,
  ProgressMessage,
  SnapshotMessage,
};

/**
 * A `trade` message as `watch()` yields it: the server's, plus `replayed` on trades the client
 * re-created from a snapshot or from the result after a reconnect.
 */
export interface TradeMessage {
  type: "trade";
  job_id: string;
  data: TradeData & { replayed?: boolean };
}

/** A trade message as the server may send it: batched, or one trade with its number. */
type RawTradeData = { trades?: TradeRecord[]; total?: number; trade?: TradeRecord; n?: number };

/** Every message `watch()` yields: the server's messages (jobs/ws_messages.ts). */
export type WatchMessage = Exclude<WsMessage, { type: "trade" }> | TradeMessage;

/** Options of `watch()`. */
export interface WatchOptions {
  /** Consecutive failed connections before giving up with an error. @default 8 */
  retries?: number;
  /**
   * First reconnect delay in ms; doubles per failure up to `maxBackoffMs` (each wait is a random
   * 50–100 % of that). @default 100
   */
  backoffMs?: number;
  /** Longest reconnect delay in ms. @default 5000 */
  maxBackoffMs?: number;
  /**
   * Connection state changes, for a status indicator: `connecting` before each attempt,
   * `open` once a socket is open, `closed` when the iterator ends. A second `open` means a
   * reconnect (the page reloads what it may have missed).
   */
  onState?: (state: WatchState) => void;
  /** Stops the iterator (it then ends without error). */
  signal?: AbortSignal;
  /** Fetch the result when `complete` only carries `result_url`. @default true */
  fetchResult?: boolean;
}

/** Connection states reported through {@link WatchOptions.onState}. */
export type WatchState = "connecting" | "open" | "closed";

/** Where and how to connect (built by the client). */
export interface WatchTarget {
  wsUrl: string;
  /** The same path over HTTP: a plain GET tells 404 (unknown job) from a network failure. */
  probeUrl: string;
  httpBase: string;
  fetch: typeof fetch;
  headers: Record<string, string>;
  /** One job: ends at its terminal message. All jobs: runs until aborted. */
  perJob: boolean;
}

type ChannelEvent =
  | { kind: "open" }
  | { kind: "message"; data: string }
  | { kind: "close"; code: number; reason: string }
  | { kind: "abort" };

/** A WebSocket's events as a pull queue (messages are never lost between two pulls). */
class SocketChannel {
  readonly #socket: WebSocket;
  readonly #queue: ChannelEvent[] = [];
  #wake: (() => void) | null = null;
  readonly #onAbort = () => this.#push({ kind: "abort" });
  readonly #signal: AbortSignal | undefined;

  constructor(url: string, signal: AbortSignal | undefined) {
    this.#signal = signal;
    this.#socket = new WebSocket(url);
    this.#socket.onopen = () => this.#push({ kind: "open" });
    this.#socket.onmessage = (e) => {
      this.#push({ kind: "message", data: typeof e.data === "string" ? e.data : String(e.data) });
    };
    this.#socket.onclose = (e) => this.#push({ kind: "close", code: e.code, reason: e.reason });
    // An error is always followed by a close event, which carries what we need.
    this.#socket.onerror = () => {};
    signal?.addEventListener("abort", this.#onAbort, { once: true });
  }

  #push(ev: ChannelEvent): void {
    this.#queue.push(ev);
    const wake = this.#wake;
    this.#wake = null;
    wake?.();
  }

  async next(): Promise<ChannelEvent> {
    while (this.#queue.length === 0) {
      await new Promise<void>((resolve) => this.#wake = resolve);
    }
    return this.#queue.shift()!;
  }

  close(): void {
    this.#signal?.removeEventListener("abort", this.#onAbort);
    const s = this.#socket;
    s.onmessage = null;
    if (s.readyState === WebSocket.CONNECTING) {
      // Closing a socket still connecting makes browsers log an error: close it once open.
      s.onopen = () => s.close(1000, "client done");
    } else if (s.readyState === WebSocket.OPEN) {
      try {
        s.close(1000, "client done");
      } catch {
        // Already closing.
      }
    }
  }
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
  });
}

/** The trades of a batch ending at number `total` that come after number `seen`. */
function unseen(trades: TradeRecord[], total: number, seen: number): TradeRecord[] {
  const first = total - trades.length + 1;
  return first > seen ? trades : trades.slice(seen + 1 - first);
}

/** The iterator behind `client.watch()` and `client.watchAll()`. */
export async function* openWatch(
  t: WatchTarget,
  o: WatchOptions = {},
): AsyncGenerator<WatchMessage, void, undefined> {
  const retries = o.retries ?? 8;
  const backoffMs = o.backoffMs ?? 100;
  let failures = 0;
  let tradesSeen = 0;
  let lastClose = "";
  /** Connections that delivered at least one message. */
  let connections = 0;
  const maxBackoffMs = o.maxBackoffMs ?? 5000;
  try {
    yield* connectLoop();
  } finally {
    o.onState?.("closed");
  }

  async function* connectLoop(): AsyncGenerator<WatchMessage, void, undefined> {
    while (!o.signal?.aborted) {
      o.onState?.("connecting");
      const ch = new SocketChannel(t.wsUrl, o.signal);
      let received = false;
      try {
        while (true) {
          const ev = await ch.next();
          if (ev.kind === "abort") return;
          if (ev.kind === "open") {
            o.onState?.("open");
            continue;
          }
          if (ev.kind === "close") {
            lastClose = `code ${ev.code}${ev.reason ? ` (${ev.reason})` : ""}`;
            break;
          }
          if (!received) connections++;
          received = true;
          failures = 0;
          const msg = JSON.parse(ev.data) as WatchMessage;
          if (!t.perJob) {
            yield msg;
            continue;
          }
          if (msg.type === "snapshot") {
            yield msg;
            // Catch-up: the snapshot's trades are the last `trades.length` of `trades_total`.
            const snap = msg.data;
            const trades = snap.jobs ? [] : snap.trades ?? [];
            const total = (snap.jobs ? undefined : snap.trades_total) ?? trades.length;
            const missed = unseen(trades, total, tradesSeen);
            if (missed.length > 0) {
              tradesSeen = total;
              yield {
                type: "trade",
                job_id: msg.job_id,
                data: { trades: missed, total, replayed: true },
              };
            }
            continue;
          }
          if (msg.type === "trade") {
            const raw = msg.data as RawTradeData;
            const trades = raw.trades ?? (raw.trade ? [raw.trade] : []);
            const total = raw.total ?? raw.n ?? tradesSeen + trades.length;
            const fresh = unseen(trades, total, tradesSeen);
            if (fresh.length === 0) continue;
            tradesSeen = total;
            yield { type: "trade", job_id: msg.job_id, data: { trades: fresh, total } };
            continue;
          }
          if (msg.type === "complete") {
            const url = msg.data.result_url;
            if (msg.data.result === undefined && url && o.fetchResult !== false) {
              const res = await t.fetch(t.httpBase + url, { headers: t.headers });
              msg.data.result = await readAnswer<BacktestResult | OptimizationResult>(res);
            }
            // A job that ended while we were disconnected: its finished-job snapshot holds no
            // trades, so the closed trades not seen yet come from the result.
            const result = msg.data.result as Partial<BacktestResult> | undefined;
            if ((tradesSeen > 0 || connections > 1) && Array.isArray(result?.trades)) {
              const closed = result.trades.filter((tr) => tr.exitTime !== null);
              const missed = unseen(closed, closed.length, tradesSeen);
              if (missed.length > 0) {
                tradesSeen = closed.length;
                yield {
                  type: "trade",
                  job_id: msg.job_id,
                  data: { trades: missed, total: closed.length, replayed: true },
                };
              }
            }
            yield msg;
            return;
          }
          yield msg;
          if (msg.type === "error") return;
        }
      } finally {
        ch.close();
      }
      if (o.signal?.aborted) return;
      if (!received) {
        failures++;
        if (failures === 1) {
          // A refused upgrade looks like any network failure to a WebSocket; a plain GET
          // returns the server's reason (404 unknown job, 403 origin) when there is one.
          const res = await t.fetch(t.probeUrl, { headers: t.headers }).catch(() => null);
          if (res && res.status !== 426 && !res.ok) await readAnswer(res);
          else await res?.body?.cancel();
        }
        if (failures > retries) {
          throw new ApiClientError(
            0,
            "websocket_unavailable",
            `WebSocket ${t.wsUrl} failed ${failures} times in a row (last: ${lastClose})`,
          );
        }
      }
      const delay = Math.min(backoffMs * 2 ** Math.max(0, failures - 1), maxBackoffMs);
      // Jitter (half to all of the delay): many pages do not reconnect to a restarted server
      // in lockstep.
      await sleep(delay * (0.5 + Math.random() / 2), o.signal);
    }
  }
}
