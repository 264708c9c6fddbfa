/**
 * WebSocket fan-out of job events to subscribers of one job (`/ws/backtest/{id}`) or of all
 * jobs (`/ws/backtests`).
 *
 * Messages are exactly `{ type, job_id, data }` (docs: README "API"). Each message is
 * serialized once and the same string goes to every subscriber.
 *
 * Slow clients never block the engine or other clients. The drop-and-resync policy:
 * - `progress`, `trade` and `optimization_progress` are droppable: when a client has more
 *   than `bufferBytes` unsent (`socket.bufferedAmount`), they are dropped for that client and
 *   the client is marked stale;
 * - the next time a message for a stale client's subscription is published and its buffer
 *   is below half the limit, the hub first sends a fresh `snapshot` (current status,
 *   progress, equity, trades so far, and `resync: true` with the number of messages dropped),
 *   then resumes the live stream;
 * - `complete` and `error` are never dropped; when the client is over the limit, `complete`
 *   goes without the embedded result and with `result_url` instead, so a terminal message is
 *   always small for a client that is behind.
 * Per-job sockets are closed with code 1000 once the job's terminal message has been sent
 * (after the socket's buffer drains, at most `closeDrainMs`, 30 s). Heartbeats are WebSocket
 * ping/pong frames (`idleTimeout` of `Deno.upgradeWebSocket`, set by the route).
 *
 * @module
 */

import type { WsMessage as TypedWsMessage, WsMessageType } from "./ws_messages.ts";

export type { WsMessageType };

/**
 * One message, `{ type, job_id, data }`, with its payload untyped: what a generic reader
 * parses off the wire. The typed contract, which the publishers (jobs/job_queue.ts,
 * routes/ws_routes.ts) build and the client reads, is `WsMessage` of jobs/ws_messages.ts.
 */
export interface WsMessage {
  type: WsMessageType;
  job_id: string;
  data: Record<string, unknown>;
}

/**
 * What the hub carries: a typed message, or an untyped one (the hub looks into `data` only
 * for `status` and `progress`, and adds `resync` and `dropped` to a resync snapshot).
 */
export type HubMessage = TypedWsMessage | WsMessage;

/** Options of {@link WsHub}. */
export interface WsHubOptions {
  /** Unsent bytes per client beyond which droppable messages are dropped. @default 1 MiB */
  bufferBytes?: number;
  /** Builds the resync snapshot of a job (or of all jobs for `null`) from in-memory state. */
  snapshot?: (jobId: string | null) => HubMessage;
  /** Most ms to wait for a socket's buffer to drain before the end-of-job close. @default 30000 */
  closeDrainMs?: number;
  /** Least ms between two `progress` messages of one job to all-jobs subscribers. @default 250 */
  allJobsProgressMs?: number;
}

interface Client {
  socket: WebSocket;
  /** null = all jobs. */
  jobId: string | null;
  stale: boolean;
  dropped: number;
  closing: boolean;
  /** Messages waiting for the socket to open; null once open. */
  pending: string[] | null;
}

const DROPPABLE: ReadonlySet<WsMessageType> = new Set([
  "progress",
  "trade",
  "optimization_progress",
]);

/**
 * All-jobs subscribers get a job's `progress` at most this often (status changes and the
 * final progress always go out). They watch many jobs at once: one message per percent per
 * job, fanned out to every all-jobs socket, costs the server more than the jobs themselves
 * (measured by bench/load_bench.ts: 0.91 vs 3.71 jobs/s with 50 all-jobs subscribers).
 */
const ALL_JOBS_PROGRESS_MS = 250;

/** Counters exposed in /api/stats. */
export interface WsHubStats {
  clients: number;
  sent: number;
  dropped: number;
  resyncs: number;
}

/**
 * Fan-out hub. Attach sockets with {@link WsHub.add}; publish with {@link WsHub.publish};
 * end a job's per-job sockets with {@link WsHub.endJob}.
 */
export class WsHub {
  readonly #clients = new Set<Client>();
  readonly #byJob = new Map<string, Set<Client>>();
  readonly #bufferBytes: number;
  readonly #closeDrainMs: number;
  readonly #snapshot: ((jobId: string | null) => HubMessage) | undefined;
  readonly #allJobsProgressMs: number;
  /** Per job: when a `progress` last went to all-jobs subscribers, and with which status. */
  readonly #allJobsLast = new Map<string, { at: number; status: unknown }>();
  #sent = 0;
  #dropped = 0;
  #resyncs = 0;

  constructor(opts: WsHubOptions = {}) {
    this.#bufferBytes = opts.bufferBytes ?? 1024 * 1024;
    this.#closeDrainMs = opts.closeDrainMs ?? 30_000;
    this.#snapshot = opts.snapshot;
    this.#allJobsProgressMs = opts.allJobsProgressMs ?? ALL_JOBS_PROGRESS_MS;
  }

  /** Whether all-jobs subscribers get this message (see {@link ALL_JOBS_PROGRESS_MS}). */
  #dueForAllJobs(msg: HubMessage): boolean {
    if (msg.type === "complete" || msg.type === "error") {
      this.#allJobsLast.delete(msg.job_id);
      return true;
    }
    if (msg.type !== "progress") return true;
    const data = msg.data as { status?: unknown; progress?: unknown };
    const now = performance.now();
    const last = this.#allJobsLast.get(msg.job_id);
    if (
      last && last.status === data.status && data.progress !== 1 &&
      now - last.at < this.#allJobsProgressMs
    ) return false;
    this.#allJobsLast.set(msg.job_id, { at: now, status: data.status });
    return true;
  }

  /** Counters since start. */
  stats(): WsHubStats {
    return {
      clients: this.#clients.size,
      sent: this.#sent,
      dropped: this.#dropped,
      resyncs: this.#resyncs,
    };
  }

  /** Number of sockets subscribed to `jobId` (per-job sockets only). */
  subscriberCount(jobId: string): number {
    return this.#byJob.get(jobId)?.size ?? 0;
  }

  /**
   * Registers `socket` for one job (or all jobs with `null`) and sends `initial` (the
   * subscribe snapshot, and the terminal message for a finished job) once it is open.
   * With `closeAfterInitial` the socket is closed cleanly after those messages.
   */
  add(
    socket: WebSocket,
    jobId: string | null,
    initial: HubMessage[],
    closeAfterInitial = false,
  ): void {
    // Registered at once (not on "open") so that nothing published between the snapshot and
    // the socket opening is lost: until then messages wait in `pending`.
    const client: Client = {
      socket,
      jobId,
      stale: false,
      dropped: 0,
      closing: false,
      pending: initial.map((m) => JSON.stringify(m)),
    };
    if (closeAfterInitial) {
      client.closing = true;
    } else {
      this.#clients.add(client);
      if (jobId !== null) {
        let set = this.#byJob.get(jobId);
        if (!set) this.#byJob.set(jobId, set = new Set());
        set.add(client);
      }
    }
    const start = () => {
      const pending = client.pending ?? [];
      client.pending = null;
      for (const text of pending) this.#send(client, text);
      if (client.closing) this.#closeWhenDrained(client);
    };
    if (socket.readyState === WebSocket.OPEN) start();
    else socket.addEventListener("open", start, { once: true });
    socket.addEventListener("close", () => this.#remove(client), { once: true });
    socket.addEventListener("error", () => this.#remove(client), { once: true });
  }

  #remove(client: Client): void {
    this.#clients.delete(client);
    if (client.jobId !== null) {
      const set = this.#byJob.get(client.jobId);
      set?.delete(client);
      if (set && set.size === 0) this.#byJob.delete(client.jobId);
    }
  }

  #send(client: Client, text: string): void {
    if (client.pending !== null) {
      client.pending.push(text);
      return;
    }
    if (client.socket.readyState !== WebSocket.OPEN) return;
    try {
      client.socket.send(text);
      this.#sent++;
    } catch {
      // The peer went away between the state check and the send; its close event cleans up.
    }
  }

  /**
   * Sends `msg` to the subscribers of its job and to all-jobs subscribers. `complete` may
   * carry a large result: `light` is the same message without it (sent to clients over
   * their buffer limit). `text`, when given, is `msg` already serialized (a large result is
   * then stringified once for the store and the sockets).
   */
  publish(msg: HubMessage, light?: HubMessage, text?: string): void {
    if (this.#clients.size === 0) return;
    let text_: string | null = text ?? null;
    let lightText: string | null = null;
    const droppable = DROPPABLE.has(msg.type);
    const toAllJobs = this.#dueForAllJobs(msg);
    for (const client of this.#clients) {
      if (client.closing) continue;
      if (client.jobId !== null && client.jobId !== msg.job_id) continue;
      if (client.jobId === null && !toAllJobs) continue;
      // A socket not open yet counts as full once many messages wait for it.
      const buffered = client.pending === null
        ? client.socket.bufferedAmount
        : client.pending.length >= 256
        ? Infinity
        : 0;
      if (droppable) {
        if (buffered > this.#bufferBytes) {
          client.stale = true;
          client.dropped++;
          this.#dropped++;
          continue;
        }
        if (client.stale) {
          if (buffered > this.#bufferBytes / 2) {
            client.dropped++;
            this.#dropped++;
            continue;
          }
          this.#resync(client);
        }
        this.#send(client, text_ ??= JSON.stringify(msg));
      } else if (light && buffered > this.#bufferBytes) {
        this.#send(client, lightText ??= JSON.stringify(light));
      } else {
        this.#send(client, text_ ??= JSON.stringify(msg));
      }
    }
  }

  #resync(client: Client): void {
    client.stale = false;
    this.#resyncs++;
    if (!this.#snapshot) return;
    const snap = this.#snapshot(client.jobId);
    snap.data = { ...snap.data, resync: true, dropped: client.dropped };
    this.#send(client, JSON.stringify(snap));
  }

  /** Closes the per-job sockets of `jobId` cleanly (1000) once their buffers drain. */
  endJob(jobId: string): void {
    const set = this.#byJob.get(jobId);
    if (!set) return;
    this.#byJob.delete(jobId);
    for (const client of set) {
      this.#clients.delete(client);
      this.#closeWhenDrained(client);
    }
  }

  #closeWhenDrained(client: Client): void {
    client.closing = true;
    // Not open yet: the open handler closes it after flushing.
    if (client.pending !== null) return;
    const deadline = Date.now() + this.#closeDrainMs;
    const tryClose = () => {
      const s = client.socket;
      if (s.readyState !== WebSocket.OPEN) return;
      if (s.bufferedAmount > 0 && Date.now() < deadline) {
        setTimeout(tryClose, 10);
        return;
      }
      try {
        s.close(1000, "job finished");
      } catch {
        // Already closing.
      }
    };
    tryClose();
  }

  /** Closes every socket (server shutdown) with 1001 "going away". */
  closeAll(): void {
    for (const client of this.#clients) {
      try {
        client.socket.close(1001, "server shutting down");
      } catch {
        // Already closed.
      }
    }
    this.#clients.clear();
    this.#byJob.clear();
  }
}
