/**
 * Test fixtures: a real loopback server that attaches every WebSocket to a WsHub, and a raw
 * TCP WebSocket client that reads frames only when asked (a slow consumer) and never answers
 * pings.
 */
import type { WsHub, WsMessage } from "../../jobs/ws_hub.ts";

/** Serves `hub` on a free port: `/all` subscribes to all jobs, `/job/<id>` to one. */
export function serveHub(hub: WsHub, initial: (jobId: string | null) => WsMessage[] = () => []) {
  const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen: () => {} }, (req) => {
    const path = new URL(req.url).pathname;
    const jobId = path.startsWith("/job/") ? path.slice(5) : null;
    const { socket, response } = Deno.upgradeWebSocket(req, { idleTimeout: 1 });
    hub.add(socket, jobId, initial(jobId));
    return response;
  });
  return { server, url: `ws://127.0.0.1:${server.addr.port}` };
}

/** Opens a WebSocket and resolves once open; messages are collected in `messages`. */
export async function openClient(url: string) {
  const ws = new WebSocket(url);
  const messages: WsMessage[] = [];
  const closed = new Promise<number>((r) => ws.addEventListener("close", (e) => r(e.code)));
  ws.onmessage = (e) => messages.push(JSON.parse(e.data as string));
  await new Promise<void>((resolve, reject) => {
    ws.onopen = () => resolve();
    ws.onerror = () => reject(new Error("WebSocket failed to open"));
  });
  return { ws, messages, closed };
}

/** One server-to-client frame. */
export interface RawFrame {
  opcode: number;
  payload: Uint8Array;
}

/** A WebSocket client on a bare TCP connection: reads frames only when asked, never pongs. */
export class RawWsClient {
  #conn: Deno.TcpConn;
  #buf = new Uint8Array(0);
  private constructor(conn: Deno.TcpConn) {
    this.#conn = conn;
  }

  static async connect(port: number, path: string): Promise<RawWsClient> {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    // Keep the receive window small so the server's buffer fills quickly.
    const c = new RawWsClient(conn);
    await conn.write(new TextEncoder().encode(
      `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`,
    ));
    // Read the 101 response head.
    while (true) {
      const text = new TextDecoder().decode(c.#buf);
      const end = text.indexOf("\r\n\r\n");
      if (end >= 0) {
        if (!text.startsWith("HTTP/1.1 101")) throw new Error(`Upgrade refused: ${text}`);
        c.#buf = c.#buf.slice(new TextEncoder().encode(text.slice(0, end + 4)).length);
        break;
      }
      if (!(await c.#fill())) throw new Error("Connection closed during the handshake");
    }
    return c;
  }

  async #fill(): Promise<boolean> {
    const chunk = new Uint8Array(65536);
    const n = await this.#conn.read(chunk);
    if (n === null) return false;
    const next = new Uint8Array(this.#buf.length + n);
    next.set(this.#buf);
    next.set(chunk.subarray(0, n), this.#buf.length);
    this.#buf = next;
    return true;
  }

  /** The next frame, or null at EOF. */
  async next(): Promise<RawFrame | null> {
    while (true) {
      const b = this.#buf;
      if (b.length >= 2) {
        let len = b[1] & 0x7f;
        let off = 2;
        if (len === 126 && b.length >= 4) {
          len = (b[2] << 8) | b[3];
          off = 4;
        } else if (len === 127 && b.length >= 10) {
          len = Number(new DataView(b.buffer, b.byteOffset + 2, 8).getBigUint64(0));
          off = 10;
        } else if (len >= 126) {
          len = -1;
        }
        if (len >= 0 && b.length >= off + len) {
          const frame = { opcode: b[0] & 0x0f, payload: b.slice(off, off + len) };
          this.#buf = b.slice(off + len);
          return frame;
        }
      }
      if (!(await this.#fill())) return null;
    }
  }

  /** Reads text frames until one satisfies `pred`; returns all read. */
  async readUntil(pred: (m: WsMessage) => boolean): Promise<WsMessage[]> {
    const out: WsMessage[] = [];
    while (true) {
      const f = await this.next();
      if (f === null) throw new Error("EOF before the expected message");
      if (f.opcode !== 1) continue;
      const m = JSON.parse(new TextDecoder().decode(f.payload)) as WsMessage;
      out.push(m);
      if (pred(m)) return out;
    }
  }

  close(): void {
    try {
      this.#conn.close();
    } catch {
      // Already closed.
    }
  }
}
