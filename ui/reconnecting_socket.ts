/**
 * A WebSocket that comes back after the server restarts or the network blips. The server sends
 * a `snapshot` on every subscribe, so a reconnect needs no replay logic here: the next snapshot
 * brings the page up to date.
 *
 * @module
 */

/** A decoded server message (the shapes of DESIGN.md §3 plus `snapshot`, `trade`, heartbeats). */
export interface WsMessage {
  type: string;
  job_id?: string;
  data?: Record<string, unknown>;
  [key: string]: unknown;
}

/** Options of {@link ReconnectingSocket}. */
export interface ReconnectingSocketOptions {
  /** First retry delay in ms. @default 500 */
  minDelayMs?: number;
  /** Largest retry delay in ms. @default 10000 */
  maxDelayMs?: number;
  /** Stop reconnecting once this returns true (e.g. the job finished). */
  isDone?: () => boolean;
  /** Connection state changes, for a status indicator. */
  onState?: (state: "connecting" | "open" | "closed") => void;
  /** Origin to connect to. @default the page's location */
  base?: string | URL;
}

/**
 * Exponential backoff with full jitter: `random(0, min(max, min·2^attempt))`, never below
 * `minDelayMs / 2`, so many tabs do not hammer a restarting server in lockstep.
 */
export function backoffDelay(attempt: number, minDelayMs = 500, maxDelayMs = 10000): number {
  const cap = Math.min(maxDelayMs, minDelayMs * 2 ** Math.min(attempt, 20));
  return Math.max(minDelayMs / 2, Math.random() * cap);
}

/** Turns a same-origin path into a ws:// or wss:// URL. */
export function wsUrl(path: string, base: Location | URL | string = globalThis.location): string {
  const b = typeof base === "string" ? new URL(base) : base;
  const proto = b.protocol === "https:" || b.protocol === "wss:" ? "wss:" : "ws:";
  return `${proto}//${b.host}${path}`;
}

/** A WebSocket that reconnects with backoff until closed or done. */
export class ReconnectingSocket {
  #path: string;
  #onMessage: (msg: WsMessage) => void;
  #opts: ReconnectingSocketOptions;
  #ws: WebSocket | null = null;
  #attempt = 0;
  #timer: ReturnType<typeof setTimeout> | null = null;
  #closed = false;

  constructor(
    path: string,
    onMessage: (msg: WsMessage) => void,
    opts: ReconnectingSocketOptions = {},
  ) {
    this.#path = path;
    this.#onMessage = onMessage;
    this.#opts = opts;
    this.#connect();
  }

  /** Stops for good: closes the socket and cancels any pending retry. */
  close(): void {
    this.#closed = true;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    const ws = this.#ws;
    this.#ws = null;
    if (ws?.readyState === WebSocket.OPEN) ws.close(1000, "client done");
    else if (ws?.readyState === WebSocket.CONNECTING) {
      // closing a socket still connecting makes browsers log an error; close it once open
      ws.onopen = () => ws.close(1000, "client done");
      ws.onmessage = null;
    }
    this.#opts.onState?.("closed");
  }

  #connect(): void {
    if (this.#closed) return;
    this.#opts.onState?.("connecting");
    const ws = new WebSocket(wsUrl(this.#path, this.#opts.base));
    this.#ws = ws;
    ws.onopen = () => {
      this.#attempt = 0;
      this.#opts.onState?.("open");
    };
    ws.onmessage = (ev) => {
      if (typeof ev.data !== "string") return;
      let msg: WsMessage;
      try {
        msg = JSON.parse(ev.data);
      } catch {
        return; // a frame we cannot read is dropped; the next snapshot resyncs
      }
      if (msg && typeof msg.type === "string") this.#onMessage(msg);
    };
    ws.onclose = () => {
      if (this.#ws !== ws) return;
      this.#ws = null;
      if (this.#closed || this.#opts.isDone?.()) {
        this.#closed = true;
        this.#opts.onState?.("closed");
        return;
      }
      this.#opts.onState?.("connecting");
      const delay = backoffDelay(this.#attempt++, this.#opts.minDelayMs, this.#opts.maxDelayMs);
      this.#timer = setTimeout(() => this.#connect(), delay);
    };
    // Errors are followed by close, which schedules the retry.
    ws.onerror = () => {};
  }
}
