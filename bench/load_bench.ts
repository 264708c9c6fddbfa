/**
 * Load benchmark (`deno task bench load`, or `deno run -A bench/load_bench.ts --help` for the
 * flags): a real server process on a loopback port, a KV file in a temp folder, and in this
 * process N HTTP clients and M WebSocket subscribers for a fixed time. Bounded in time and
 * count, and it stops by itself (a hard deadline kills the server and exits 1).
 *
 * 1. Load: each client loops until the deadline (or `--max-jobs` accepted jobs), sending
 *    `POST /api/backtest/start` (without waiting for the job) and, one request in
 *    `--execute-every`, `POST /api/strategy/execute`; a 429 makes it back off `--backoff` ms.
 *    M subscribers stay on `/ws/backtests`. Then every accepted job must complete (a drain
 *    bounded by `--drain`). Reported: requests/s, jobs/s, p50/p99 latency per endpoint and
 *    of jobs (202 to `complete`), answers by status (429s, 5xx), WebSocket messages, and the
 *    memory high-water mark of the server process (`VmHWM` in /proc/<pid>/status; the
 *    sandbox subprocesses' RSS is summed separately) and of `/api/stats` `memory`.
 * 2. Leak check: `--warmup` jobs, a full GC (`POST /api/debug/gc`: the server runs with
 *    `WAGYU_DEBUG_GC=1 --v8-flags=--expose-gc`), then `--leak-jobs` more jobs (a window of
 *    `--window` in flight), then the GC again: heap and RSS after vs. the post-warm-up baseline.
 *
 * The harness ({@link runLoad}, {@link leakCheck}) is also what tests/faults/load_test.ts runs,
 * with small sizes.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { type ServerProcess, spawnServer } from "../tests/server/_server_process.ts";

/** Nearest-rank percentile of an ascending array (NaN when empty). */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

/** Latency figures (ms) of a set of samples. */
export interface LatencyStats {
  count: number;
  p50: number;
  p99: number;
  max: number;
}

function latencyStats(samples: number[]): LatencyStats {
  const s = [...samples].sort((a, b) => a - b);
  return { count: s.length, p50: percentile(s, 50), p99: percentile(s, 99), max: s.at(-1) ?? NaN };
}

/**
 * `n` deterministic daily bars as ccxt rows `[ts, o, h, l, c, v]` (a seeded random walk), so
 * the requests do not depend on a data file.
 */
export function syntheticRows(n: number, seed = 1): number[][] {
  let s = seed >>> 0;
  const rand = () => {
    // mulberry32
    s = (s + 0x6D2B79F5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const rows: number[][] = [];
  let price = 100;
  const t0 = Date.UTC(2020, 0, 1);
  for (let i = 0; i < n; i++) {
    const open = price;
    price = Math.max(1, price * (1 + (rand() - 0.5) * 0.04));
    const high = Math.max(open, price) * (1 + rand() * 0.01);
    const low = Math.min(open, price) * (1 - rand() * 0.01);
    rows.push([t0 + i * 86_400_000, open, high, low, price, 1000 + Math.floor(rand() * 1000)]);
  }
  return rows;
}

/** Memory of one process from /proc/<pid>/status, in bytes (null when it is gone). */
export function procMemory(pid: number): { rss: number; hwm: number } | null {
  try {
    const text = Deno.readTextFileSync(`/proc/${pid}/status`);
    const kb = (key: string) => Number(text.match(new RegExp(`^${key}:\\s+(\\d+) kB`, "m"))?.[1]);
    return { rss: kb("VmRSS") * 1024, hwm: kb("VmHWM") * 1024 };
  } catch {
    return null;
  }
}

/** Pids of every descendant of `pid` (the sandbox subprocesses), from /proc/…/children. */
export function descendants(pid: number): number[] {
  const out: number[] = [];
  const stack = [pid];
  while (stack.length) {
    const p = stack.pop()!;
    let tasks: string[] = [];
    try {
      tasks = [...Deno.readDirSync(`/proc/${p}/task`)].map((e) => e.name);
    } catch {
      continue;
    }
    for (const t of tasks) {
      let kids = "";
      try {
        kids = Deno.readTextFileSync(`/proc/${p}/task/${t}/children`);
      } catch {
        continue;
      }
      for (const k of kids.split(" ").filter(Boolean).map(Number)) {
        out.push(k);
        stack.push(k);
      }
    }
  }
  return out;
}

/** Samples the server's RSS (and its children's) every `everyMs` until stopped. */
class MemorySampler {
  maxRss = 0;
  maxChildrenRss = 0;
  maxChildren = 0;
  #timer: ReturnType<typeof setInterval>;
  constructor(readonly pid: number, everyMs = 100) {
    this.#timer = setInterval(() => this.sample(), everyMs);
    this.sample();
  }
  sample(): void {
    const m = procMemory(this.pid);
    if (m) this.maxRss = Math.max(this.maxRss, m.rss);
    const kids = descendants(this.pid);
    let sum = 0;
    // A child that just exited (a zombie) has no VmRSS line: count it as 0.
    for (const k of kids) sum += procMemory(k)?.rss || 0;
    this.maxChildrenRss = Math.max(this.maxChildrenRss, sum);
    this.maxChildren = Math.max(this.maxChildren, kids.length);
  }
  stop(): void {
    clearInterval(this.#timer);
  }
}

/** What one finished job reported on the WebSocket. */
export interface JobEnd {
  at: number;
  type: "complete" | "error";
  status: string;
  summary: Record<string, unknown> | null;
  /** The job's error message when it did not complete. */
  error: string | null;
}

/**
 * One `/ws/backtests` subscriber that records every job's terminal message (a job may finish
 * before its 202 reaches the client, so ends are kept whether or not the id is known yet).
 */
export class JobWatcher {
  readonly ends = new Map<string, JobEnd>();
  messages = 0;
  closed = false;
  closeCode = 0;
  #ws: WebSocket;
  #waiters = new Map<string, (e: JobEnd) => void>();
  #opened: Promise<void>;

  constructor(url: string) {
    this.#ws = new WebSocket(url.replace(/^http/, "ws") + "/ws/backtests");
    this.#opened = new Promise((resolve, reject) => {
      this.#ws.onopen = () => resolve();
      this.#ws.onerror = (e) => reject(new Error(`WebSocket error: ${(e as ErrorEvent).message}`));
    });
    this.#ws.onmessage = (e) => {
      this.messages++;
      const m = JSON.parse(e.data as string);
      if (m.type !== "complete" && m.type !== "error") return;
      const end: JobEnd = {
        at: performance.now(),
        type: m.type,
        status: String(m.data?.status ?? m.type),
        summary: m.data?.summary ?? null,
        error: m.data?.error === undefined ? null : String(m.data.error),
      };
      this.ends.set(m.job_id, end);
      this.#waiters.get(m.job_id)?.(end);
      this.#waiters.delete(m.job_id);
    };
    this.#ws.onclose = (e) => {
      this.closed = true;
      this.closeCode = e.code;
    };
  }

  /** Resolves once the socket is open. */
  opened(): Promise<void> {
    return this.#opened;
  }

  /** Resolves with the job's end (at once when it already ended). */
  wait(id: string): Promise<JobEnd> {
    const e = this.ends.get(id);
    if (e) return Promise.resolve(e);
    return new Promise((resolve) => this.#waiters.set(id, resolve));
  }

  close(): void {
    this.#ws.close();
  }
}

/** A request body and how to send it. */
export interface LoadRequest {
  /** Body of `/api/backtest/start` and `/api/strategy/execute`. */
  body: unknown;
}

/** Options of {@link runLoad}. */
export interface LoadOptions {
  url: string;
  /** The server's pid, for /proc memory figures. */
  pid: number;
  clients: number;
  subscribers: number;
  durationMs: number;
  /** Stop submitting once this many jobs were accepted. @default Infinity */
  maxJobs?: number;
  /** One request in this many is a synchronous execute (0 = never). @default 4 */
  executeEvery?: number;
  /** Pause after a 429. @default 50 */
  backoffMs?: number;
  /** How long to wait for accepted jobs after the submit phase. @default 120_000 */
  drainMs?: number;
  /** Request bodies, used in turn. */
  requests: LoadRequest[];
  /** Per-request timeout (a hang counts as an error). @default 30_000 */
  requestTimeoutMs?: number;
}

/** The figures of one load run. */
export interface LoadReport {
  clients: number;
  subscribers: number;
  submitSeconds: number;
  totalSeconds: number;
  requests: { total: number; perSecond: number; byStatus: Record<string, number> };
  latencyMs: { start: LatencyStats; execute: LatencyStats; job: LatencyStats };
  rejected429: { start: number; execute: number };
  jobs: {
    accepted: number;
    completed: number;
    failed: number;
    /** Accepted jobs with no terminal message within the drain. */
    unfinished: string[];
    /** Completed jobs per second, first submit to last completion. */
    perSecond: number;
    /** Distinct `totalReturn` values per request body index (identical requests agree). */
    totalReturns: Record<number, number[]>;
  };
  executes: { ok: number; totalReturns: Record<number, number[]> };
  /** 5xx answers and network errors (a crash or a hang), with what came back. */
  errors: string[];
  ws: {
    subscribers: number;
    messages: number;
    /** Fewest accepted jobs' terminal messages one subscriber saw (all of them = none lost). */
    minEndsSeen: number;
    closedEarly: number;
  };
  memory: {
    /** VmHWM of the server process at the end (its peak RSS since it started). */
    serverHwm: number;
    /** Highest sampled VmRSS of the server process during the run. */
    serverRssMax: number;
    /** Highest sampled sum of the RSS of the server's subprocesses (sandboxes). */
    childrenRssMax: number;
    childrenMax: number;
    /** Highest `/api/stats` memory.rss and memory.heap_used seen (polled every second). */
    statsRssMax: number;
    statsHeapUsedMax: number;
  };
}

async function timed(
  url: string,
  body: unknown,
  timeoutMs: number,
): Promise<{ status: number; ms: number; json: unknown; text: string } | { error: string }> {
  const t0 = performance.now();
  try {
    const res = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await res.text();
    const ms = performance.now() - t0;
    let json: unknown = null;
    try {
      json = JSON.parse(text);
    } catch { /* reported below when the status is a 5xx */ }
    return { status: res.status, ms, json, text };
  } catch (err) {
    return { error: `${(err as Error).name}: ${(err as Error).message}` };
  }
}

/** Runs the load phase; see the module doc. */
export async function runLoad(o: LoadOptions): Promise<LoadReport> {
  const maxJobs = o.maxJobs ?? Infinity;
  const executeEvery = o.executeEvery ?? 4;
  const backoffMs = o.backoffMs ?? 50;
  const timeoutMs = o.requestTimeoutMs ?? 30_000;
  const watchers = Array.from({ length: Math.max(1, o.subscribers) }, () => new JobWatcher(o.url));
  await Promise.all(watchers.map((w) => w.opened()));
  const tracker = watchers[0];
  const sampler = new MemorySampler(o.pid);
  let statsRssMax = 0, statsHeapUsedMax = 0;
  const statsTimer = setInterval(async () => {
    try {
      const s = await (await fetch(`${o.url}/api/stats`, { signal: AbortSignal.timeout(5000) }))
        .json();
      statsRssMax = Math.max(statsRssMax, s.memory.rss);
      statsHeapUsedMax = Math.max(statsHeapUsedMax, s.memory.heap_used);
    } catch { /* the load loop reports errors */ }
  }, 1000);

  const byStatus: Record<string, number> = {};
  const lat = { start: [] as number[], execute: [] as number[] };
  const rejected = { start: 0, execute: 0 };
  const errors: string[] = [];
  const accepted = new Map<string, { at: number; req: number }>();
  const execReturns: Record<number, Set<number>> = {};
  let execOk = 0;
  let total = 0;
  const t0 = performance.now();
  const deadline = t0 + o.durationMs;
  let firstSubmit = Infinity;

  const client = async (ci: number) => {
    let n = ci; // staggers which clients send executes
    while (performance.now() < deadline && accepted.size < maxJobs) {
      const isExec = executeEvery > 0 && n % executeEvery === executeEvery - 1;
      const reqIndex = n % o.requests.length;
      n++;
      const kind = isExec ? "execute" : "start";
      const path = isExec ? "/api/strategy/execute" : "/api/backtest/start";
      const sentAt = performance.now();
      firstSubmit = Math.min(firstSubmit, sentAt);
      const r = await timed(o.url + path, o.requests[reqIndex].body, timeoutMs);
      total++;
      if ("error" in r) {
        errors.push(`${kind}: ${r.error}`);
        byStatus.network_error = (byStatus.network_error ?? 0) + 1;
        await new Promise((res) => setTimeout(res, backoffMs));
        continue;
      }
      byStatus[r.status] = (byStatus[r.status] ?? 0) + 1;
      lat[kind].push(r.ms);
      if (r.status >= 500) errors.push(`${kind} ${r.status}: ${r.text.slice(0, 300)}`);
      if (r.status === 429) {
        rejected[kind]++;
        await new Promise((res) => setTimeout(res, backoffMs));
      } else if (kind === "start" && r.status === 202) {
        accepted.set((r.json as { job_id: string }).job_id, { at: sentAt, req: reqIndex });
      } else if (kind === "execute" && r.status === 200) {
        execOk++;
        const tr = (r.json as { metrics?: { totalReturn?: number } }).metrics?.totalReturn;
        (execReturns[reqIndex] ??= new Set()).add(tr ?? NaN);
      } else if (r.status !== 202 && r.status !== 200) {
        errors.push(`${kind} unexpected ${r.status}: ${r.text.slice(0, 300)}`);
      }
    }
  };
  await Promise.all(Array.from({ length: o.clients }, (_, i) => client(i)));
  const submitEnd = performance.now();

  // Drain: every accepted job must end, within the bound.
  const drainEnd = submitEnd + (o.drainMs ?? 120_000);
  const pending = [...accepted.keys()];
  await Promise.race([
    Promise.all(pending.map((id) => tracker.wait(id))),
    new Promise((res) => setTimeout(res, Math.max(0, drainEnd - performance.now()))),
  ]);
  // Let the other subscribers receive the last messages.
  await new Promise((res) => setTimeout(res, 300));
  clearInterval(statsTimer);
  sampler.sample();
  sampler.stop();
  const end = performance.now();

  const jobLat: number[] = [];
  const totalReturns: Record<number, Set<number>> = {};
  let completed = 0, failed = 0, lastEnd = firstSubmit;
  const unfinished: string[] = [];
  for (const [id, a] of accepted) {
    const e = tracker.ends.get(id);
    if (!e) {
      unfinished.push(id);
      continue;
    }
    lastEnd = Math.max(lastEnd, e.at);
    jobLat.push(e.at - a.at);
    if (e.type === "complete") {
      completed++;
      (totalReturns[a.req] ??= new Set()).add(Number(e.summary?.totalReturn ?? NaN));
    } else {
      failed++;
      errors.push(`job ${id} ended ${e.status}: ${e.error}`);
    }
  }
  const ids = [...accepted.keys()];
  const minEndsSeen = Math.min(...watchers.map((w) => ids.filter((id) => w.ends.has(id)).length));
  const closedEarly = watchers.filter((w) => w.closed).length;
  const messages = watchers.reduce((a, w) => a + w.messages, 0);
  for (const w of watchers) w.close();
  const mem = procMemory(o.pid);
  const toArrays = (r: Record<number, Set<number>>) =>
    Object.fromEntries(Object.entries(r).map(([k, v]) => [k, [...v]]));
  return {
    clients: o.clients,
    subscribers: watchers.length,
    submitSeconds: (submitEnd - t0) / 1000,
    totalSeconds: (end - t0) / 1000,
    requests: { total, perSecond: total / ((submitEnd - t0) / 1000), byStatus },
    latencyMs: {
      start: latencyStats(lat.start),
      execute: latencyStats(lat.execute),
      job: latencyStats(jobLat),
    },
    rejected429: rejected,
    jobs: {
      accepted: accepted.size,
      completed,
      failed,
      unfinished,
      perSecond: completed / Math.max(1e-9, (lastEnd - firstSubmit) / 1000),
      totalReturns: toArrays(totalReturns),
    },
    executes: { ok: execOk, totalReturns: toArrays(execReturns) },
    errors,
    ws: { subscribers: watchers.length, messages, minEndsSeen, closedEarly },
    memory: {
      serverHwm: mem?.hwm ?? NaN,
      serverRssMax: sampler.maxRss,
      childrenRssMax: sampler.maxChildrenRss,
      childrenMax: sampler.maxChildren,
      statsRssMax,
      statsHeapUsedMax,
    },
  };
}

/** Memory after a full GC, from the server's debug endpoint and /proc. */
export interface GcMemory {
  heapUsed: number;
  rss: number;
  external: number;
}

/** Asks the server for a full GC (`POST /api/debug/gc`) and returns its memory after it. */
export async function gcMemory(url: string): Promise<GcMemory> {
  const res = await fetch(`${url}/api/debug/gc`, { method: "POST" });
  const body = await res.json();
  if (res.status !== 200) {
    throw new Error(`POST /api/debug/gc answered ${res.status}: ${JSON.stringify(body)}`);
  }
  return { heapUsed: body.heap_used, rss: body.rss, external: body.external };
}

/** Options of {@link leakCheck}. */
export interface LeakOptions {
  url: string;
  warmupJobs: number;
  jobs: number;
  /** Jobs in flight at once. @default 4 */
  window?: number;
  body: unknown;
  /** Stop submitting after this long (the report says how many ran). @default Infinity */
  budgetMs?: number;
}

/** The leak check's figures. */
export interface LeakReport {
  warmupJobs: number;
  jobs: number;
  seconds: number;
  rejected429: number;
  failed: number;
  /** The first few failed jobs' errors. */
  failures: string[];
  baseline: GcMemory;
  after: GcMemory;
}

/** Runs `n` jobs with at most `window` in flight; returns how many completed and failed. */
async function runJobs(
  url: string,
  watcher: JobWatcher,
  n: number,
  window: number,
  body: unknown,
  until: number,
): Promise<{ ran: number; rejected: number; failed: number; failures: string[] }> {
  let next = 0, rejected = 0, failed = 0, ran = 0;
  const failures: string[] = [];
  const lane = async () => {
    while (next < n && performance.now() < until) {
      next++;
      const r = await timed(`${url}/api/backtest/start`, body, 30_000);
      if ("error" in r) throw new Error(`start failed: ${r.error}`);
      if (r.status === 429) {
        rejected++;
        next--;
        await new Promise((res) => setTimeout(res, 20));
        continue;
      }
      if (r.status !== 202) throw new Error(`start answered ${r.status}: ${r.text.slice(0, 300)}`);
      const id = (r.json as { job_id: string }).job_id;
      let timer: ReturnType<typeof setTimeout> | undefined;
      const end = await Promise.race([
        watcher.wait(id),
        new Promise<never>((_, reject) => {
          // A job that never ends fails the run instead of hanging it.
          timer = setTimeout(() => reject(new Error(`job ${id} did not end in 120 s`)), 120_000);
        }),
      ]).finally(() => clearTimeout(timer));
      ran++;
      if (end.type !== "complete") {
        failed++;
        if (failures.length < 5) failures.push(`${end.status}: ${end.error}`);
      }
    }
  };
  await Promise.all(Array.from({ length: window }, lane));
  return { ran, rejected, failed, failures };
}

/** Warm-up, GC, `jobs` jobs, GC: memory after vs. the post-warm-up baseline. */
export async function leakCheck(o: LeakOptions): Promise<LeakReport> {
  const watcher = new JobWatcher(o.url);
  await watcher.opened();
  const window = o.window ?? 4;
  const until = performance.now() + (o.budgetMs ?? Infinity);
  try {
    await runJobs(o.url, watcher, o.warmupJobs, window, o.body, Infinity);
    await new Promise((res) => setTimeout(res, 200));
    const baseline = await gcMemory(o.url);
    const t0 = performance.now();
    const r = await runJobs(o.url, watcher, o.jobs, window, o.body, until);
    const seconds = (performance.now() - t0) / 1000;
    // Sockets and sandbox processes of the last jobs wind down asynchronously.
    await new Promise((res) => setTimeout(res, 500));
    const after = await gcMemory(o.url);
    return {
      warmupJobs: o.warmupJobs,
      jobs: r.ran,
      seconds,
      rejected429: r.rejected,
      failed: r.failed,
      failures: r.failures,
      baseline,
      after,
    };
  } finally {
    watcher.close();
  }
}

/** Server environment for a load run (limits small enough to be reached). */
export interface LoadServerOptions {
  workers: number;
  maxQueued: number;
  maxExecutes: number;
  dir: string;
  /** `WAGYU_SANDBOX` (e.g. "worker"); unset = the sandbox's default (subprocesses). */
  sandbox?: string;
}

/** Spawns the server for a load run, with the debug GC endpoint on. */
export function spawnLoadServer(o: LoadServerOptions): Promise<ServerProcess> {
  return spawnServer(`${o.dir}/load.kv`, {
    env: {
      WAGYU_WORKERS: String(o.workers),
      WAGYU_MAX_QUEUED_JOBS: String(o.maxQueued),
      WAGYU_MAX_CONCURRENT_EXECUTES: String(o.maxExecutes),
      WAGYU_DATASETS_DIR: `${o.dir}/datasets`,
      WAGYU_DEBUG_GC: "1",
      ...(o.sandbox ? { WAGYU_SANDBOX: o.sandbox } : {}),
    },
    denoFlags: ["--v8-flags=--expose-gc"],
  });
}

/** The request bodies of a run: a template and a user-code strategy on `bars` inline bars. */
export function loadRequests(bars: number): LoadRequest[] {
  const rows = syntheticRows(bars);
  return [
    {
      body: {
        strategy: { template: "sma_cross" },
        params: { fast: 5, slow: 20 },
        data: { bars: rows },
      },
    },
    {
      body: {
        strategy: {
          code: `export default class Momentum {
  OnData(data) {
    const n = data.length;
    if (n < 6) return 0;
    return data.close[n - 1] > data.close[n - 6] ? 1 : -1;
  }
}`,
        },
        data: { bars: rows },
      },
    },
  ];
}

const mb = (b: number) => `${(b / 1024 / 1024).toFixed(1)} MB`;
const ms = (s: LatencyStats) =>
  `p50 ${s.p50.toFixed(0)} ms, p99 ${s.p99.toFixed(0)} ms, max ${
    s.max.toFixed(0)
  } ms (n=${s.count})`;

/** Prints a load report as the docs quote it. */
export function formatLoad(r: LoadReport): string {
  return [
    `clients ${r.clients}, WS subscribers ${r.subscribers}, submit phase ${
      r.submitSeconds.toFixed(1)
    } s, total ${r.totalSeconds.toFixed(1)} s`,
    `requests: ${r.requests.total} (${r.requests.perSecond.toFixed(1)} req/s), by status ${
      JSON.stringify(r.requests.byStatus)
    }`,
    `429 rejections: start ${r.rejected429.start}, execute ${r.rejected429.execute}`,
    `jobs: accepted ${r.jobs.accepted}, completed ${r.jobs.completed}, failed ${r.jobs.failed}, unfinished ${r.jobs.unfinished.length}; ${
      r.jobs.perSecond.toFixed(2)
    } jobs/s`,
    `latency start: ${ms(r.latencyMs.start)}`,
    `latency execute: ${ms(r.latencyMs.execute)}`,
    `latency job (202 -> complete on WS): ${ms(r.latencyMs.job)}`,
    `ws: ${r.ws.messages} messages to ${r.ws.subscribers} subscribers, fewest job ends seen by one: ${r.ws.minEndsSeen}/${r.jobs.accepted}, closed early ${r.ws.closedEarly}`,
    `memory: server VmHWM ${mb(r.memory.serverHwm)}, server RSS max ${
      mb(r.memory.serverRssMax)
    }, sandbox subprocesses RSS max ${
      mb(r.memory.childrenRssMax)
    } (${r.memory.childrenMax} at once), /api/stats rss max ${
      mb(r.memory.statsRssMax)
    }, heap_used max ${mb(r.memory.statsHeapUsedMax)}`,
    `errors (5xx, network, failed jobs): ${r.errors.length}${
      r.errors.length ? "\n  " + r.errors.slice(0, 10).join("\n  ") : ""
    }`,
  ].join("\n");
}

/** Prints a leak report. */
export function formatLeak(r: LeakReport): string {
  const d = (a: number, b: number) => `${mb(b)} -> ${mb(a)} (${a >= b ? "+" : ""}${mb(a - b)})`;
  return [
    `leak check: ${r.warmupJobs} warm-up jobs, then ${r.jobs} jobs in ${r.seconds.toFixed(1)} s (${
      (r.jobs / r.seconds).toFixed(2)
    } jobs/s), ${r.rejected429} × 429, ${r.failed} failed${
      r.failures.length ? ` (first: ${r.failures.join("; ")})` : ""
    }`,
    `after full GC: heap_used ${d(r.after.heapUsed, r.baseline.heapUsed)}, rss ${
      d(r.after.rss, r.baseline.rss)
    }, external ${d(r.after.external, r.baseline.external)}`,
  ].join("\n");
}

const HELP = `deno run -A bench/load_bench.ts [flags]
  --clients N         submitting HTTP clients (8)
  --subscribers M     /ws/backtests subscribers (50)
  --duration S        seconds of load (20)
  --max-jobs N        stop submitting after N accepted jobs (100000)
  --execute-every K   one request in K is /api/strategy/execute, 0 = none (4)
  --bars B            bars per request (250)
  --workers W         server WAGYU_WORKERS (2)
  --max-queued Q      server WAGYU_MAX_QUEUED_JOBS (64)
  --max-executes E    server WAGYU_MAX_CONCURRENT_EXECUTES (4)
  --leak-jobs J       jobs of the leak check, 0 = skip (1000)
  --warmup W          warm-up jobs before the leak baseline (50)
  --window K          leak-check jobs in flight (4)
  --sandbox MODE      server WAGYU_SANDBOX, e.g. worker (unset: subprocess sandbox)
  --limit S           hard limit of the whole run in seconds (1200)
  --json FILE         also write the reports as JSON`;

if (import.meta.main) {
  const { values: f } = parseArgs({
    args: Deno.args,
    options: {
      clients: { type: "string", default: "8" },
      subscribers: { type: "string", default: "50" },
      duration: { type: "string", default: "20" },
      "max-jobs": { type: "string", default: "100000" },
      "execute-every": { type: "string", default: "4" },
      bars: { type: "string", default: "250" },
      workers: { type: "string", default: "2" },
      "max-queued": { type: "string", default: "64" },
      "max-executes": { type: "string", default: "4" },
      "leak-jobs": { type: "string", default: "1000" },
      warmup: { type: "string", default: "50" },
      window: { type: "string", default: "4" },
      limit: { type: "string", default: "1200" },
      sandbox: { type: "string" },
      json: { type: "string" },
      help: { type: "boolean", default: false },
    },
  });
  if (f.help) {
    console.log(HELP);
    Deno.exit(0);
  }
  const num = (k: keyof typeof f) => {
    const n = Number(f[k]);
    if (!Number.isFinite(n) || n < 0) throw new RangeError(`--${k}: expected a number ≥ 0`);
    return n;
  };
  const dir = await Deno.makeTempDir({ prefix: "wagyu_load_" });
  const server = await spawnLoadServer({
    workers: num("workers"),
    maxQueued: num("max-queued"),
    maxExecutes: num("max-executes"),
    dir,
    sandbox: f.sandbox,
  });
  const hardLimit = setTimeout(() => {
    console.error(`load bench: hard limit of ${f.limit} s reached; killing the server`);
    server.child.kill("SIGKILL");
    Deno.exit(1);
  }, num("limit") * 1000);
  let crashed = false;
  server.child.status.then((s) => {
    if (!stopping) {
      crashed = true;
      console.error(`SERVER EXITED during the run: ${JSON.stringify(s)}`);
    }
  });
  let stopping = false;
  try {
    const [load] = [loadRequests(num("bars"))];
    const uptime = await Deno.readTextFile("/proc/loadavg").catch(() => "?");
    console.log(`loadavg before: ${uptime.trim()}; ${navigator.hardwareConcurrency} cores`);
    console.log(
      `server: workers ${f.workers}, max queued ${f["max-queued"]}, max executes ${
        f["max-executes"]
      }, sandbox ${
        f.sandbox ?? "default"
      }; ${f.bars} bars per request (sma_cross template and a user-code strategy, alternating)`,
    );
    const report = await runLoad({
      url: server.url,
      pid: server.child.pid,
      clients: num("clients"),
      subscribers: num("subscribers"),
      durationMs: num("duration") * 1000,
      maxJobs: num("max-jobs"),
      executeEvery: num("execute-every"),
      requests: load,
    });
    console.log(formatLoad(report));
    let leak: LeakReport | null = null;
    if (num("leak-jobs") > 0) {
      leak = await leakCheck({
        url: server.url,
        warmupJobs: num("warmup"),
        jobs: num("leak-jobs"),
        window: num("window"),
        body: load[0].body,
      });
      console.log(formatLeak(leak));
    }
    const m = procMemory(server.child.pid);
    console.log(`server VmHWM at the end ${mb(m?.hwm ?? NaN)}, VmRSS ${mb(m?.rss ?? NaN)}`);
    const after = await Deno.readTextFile("/proc/loadavg").catch(() => "?");
    console.log(`loadavg after: ${after.trim()}`);
    if (f.json) await Deno.writeTextFile(f.json, JSON.stringify({ report, leak }, null, 2));
    const bad = crashed || report.errors.length > 0 || report.jobs.unfinished.length > 0 ||
      (leak?.failed ?? 0) > 0;
    if (bad) {
      // Internal errors name an id whose stack trace is only in the server's log.
      console.log(`server stderr (last 4000 chars):\n${server.output.join("").slice(-4000)}`);
    }
    if (bad) Deno.exitCode = 1;
  } finally {
    stopping = true;
    clearTimeout(hardLimit);
    server.child.kill("SIGTERM");
    await server.child.status;
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}
