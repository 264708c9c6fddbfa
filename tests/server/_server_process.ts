/**
 * The server as a real subprocess (`deno run -A main.ts --port 0`), for the tests that kill it
 * with SIGKILL and start it again on the same KV file, the load test (which reads the
 * process's memory from /proc) and the deploy-profile test (narrower permission flags).
 */
import assert from "node:assert/strict";
import { json } from "../routes/_test_server.ts";

const ROOT = decodeURIComponent(new URL("../../", import.meta.url).pathname);

/** A running server process and the base URL it listens on. */
export interface ServerProcess {
  child: Deno.ChildProcess;
  url: string;
  /** What it wrote to stderr so far (for failure messages). */
  output: string[];
}

/** Options of {@link spawnServer}. */
export interface SpawnServerOptions {
  /** Extra environment (WAGYU_WORKERS defaults to "1"). */
  env?: Record<string, string>;
  /** How long to wait for the "listening on" line. @default 60_000 */
  startTimeoutMs?: number;
  /** Permission flags given to `deno run` instead of `-A` (e.g. the deploy profile's). */
  permissions?: string[];
  /** More `deno run` flags before main.ts, e.g. `--v8-flags=--expose-gc`. */
  denoFlags?: string[];
  /** Working directory (holding main.ts). @default the repository root */
  cwd?: string;
}

/**
 * Starts the server on a loopback port with the KV file `kvPath` (`""`: `WAGYU_KV_PATH` is not
 * set, so the server picks its default); resolves once it listens.
 */
export async function spawnServer(
  kvPath: string,
  opts: SpawnServerOptions = {},
): Promise<ServerProcess> {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      ...(opts.permissions ?? ["-A"]),
      ...(opts.denoFlags ?? []),
      "main.ts",
      "--port",
      "0",
    ],
    cwd: opts.cwd ?? ROOT,
    env: {
      ...(kvPath === "" ? {} : { WAGYU_KV_PATH: kvPath }),
      WAGYU_WORKERS: "1",
      HOST: "127.0.0.1",
      ...opts.env,
    },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const output: string[] = [];
  child.stderr.pipeTo(
    new WritableStream({ write: (c) => void output.push(new TextDecoder().decode(c)) }),
  ).catch(() => {});
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  // A server that never says it listens is killed, so the read below ends.
  const timer = setTimeout(() => {
    try {
      child.kill("SIGKILL");
    } catch { /* already gone */ }
  }, opts.startTimeoutMs ?? 60_000);
  let buf = "";
  try {
    for (;;) {
      const { value, done } = await lines.read();
      if (done) break;
      buf += value;
      const m = buf.match(/listening on (http:\/\/[\d.]+:\d+)/);
      if (m) {
        // Keep draining stdout so the child never blocks on a full pipe.
        (async () => {
          while (!(await lines.read()).done) { /* drain */ }
        })().catch(() => {});
        return { child, url: m[1], output };
      }
    }
  } finally {
    clearTimeout(timer);
  }
  await child.status;
  throw new Error(`Server did not start: ${buf} ${output.join("")}`);
}

/** Kills the server with SIGKILL and checks that it died of it. */
export async function kill9(p: ServerProcess): Promise<void> {
  p.child.kill("SIGKILL");
  const status = await p.child.status;
  assert.equal(status.signal, "SIGKILL");
}

/** POSTs `body` as JSON and reads the answer with {@link json}. */
export async function postJson(url: string, body: unknown) {
  return await json(
    await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    }),
  );
}
