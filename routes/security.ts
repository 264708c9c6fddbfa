/**
 * The security policy, in one place:
 * - CORS: cross-origin browser access only from the configured origins (`WAGYU_CORS_ORIGINS`,
 *   a comma list or `*`); by default none, i.e. the UI served by this server only.
 * - Cross-origin writes: a mutating request (or a WebSocket upgrade) whose `Origin` is neither
 *   this server's nor an allowed origin gets 403, so a foreign page cannot drive the API with
 *   "simple" requests that skip the CORS preflight.
 * - API token: when `WAGYU_API_TOKEN` is set, mutating endpoints (POST, PUT, PATCH, DELETE
 *   under /api) need `Authorization: Bearer <token>` or `X-API-Token: <token>` (401 otherwise);
 *   reads stay open.
 * - Size limits: JSON bodies up to `maxBodyBytes`, uploads up to `maxUploadBytes` (413).
 *
 * @module
 */
import type { MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import { cors } from "hono/cors";
import { ApiError, limitError } from "./api_error.ts";
import type { ServerOptions } from "./server_options.ts";

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

function sameOrigin(req: Request, origin: string): boolean {
  const host = req.headers.get("host");
  if (host === null) return false;
  try {
    return new URL(origin).host === host;
  } catch {
    return false;
  }
}

/** Throws 403 when `req` carries an `Origin` that is neither this server nor allowed. */
export function checkOrigin(req: Request, allowed: readonly string[]): void {
  const origin = req.headers.get("origin");
  if (origin === null || allowed.includes("*") || allowed.includes(origin)) return;
  if (sameOrigin(req, origin)) return;
  throw new ApiError(403, "origin_not_allowed", `Origin ${origin} is not allowed`, {
    origin,
    setting: "WAGYU_CORS_ORIGINS",
  });
}

function tokenEquals(a: string, b: string): boolean {
  // Constant-time over the longer length so timing does not reveal a matching prefix.
  const x = new TextEncoder().encode(a), y = new TextEncoder().encode(b);
  let diff = x.length ^ y.length;
  for (let i = 0; i < Math.max(x.length, y.length); i++) diff |= (x[i] ?? 0) ^ (y[i] ?? 0);
  return diff === 0;
}

/** The middlewares of the policy, in the order they must run. */
export function securityMiddleware(opts: ServerOptions): MiddlewareHandler[] {
  const out: MiddlewareHandler[] = [];
  if (opts.corsOrigins.length > 0) {
    out.push(cors({
      origin: opts.corsOrigins.includes("*") ? "*" : [...opts.corsOrigins],
      allowMethods: ["GET", "POST", "OPTIONS"],
      allowHeaders: ["Content-Type", "Authorization", "X-API-Token"],
      maxAge: 600,
    }));
  }
  out.push(async (c, next) => {
    if (SAFE_METHODS.has(c.req.method)) return await next();
    checkOrigin(c.req.raw, opts.corsOrigins);
    if (opts.apiToken !== null) {
      const auth = c.req.header("authorization");
      // The scheme is case-insensitive (RFC 9110, 11.1): "bearer x" is "Bearer x".
      const bearer = auth?.match(/^bearer\s+(.+)$/i);
      const given = bearer ? bearer[1].trim() : c.req.header("x-api-token");
      if (given === undefined || !tokenEquals(given, opts.apiToken)) {
        throw new ApiError(
          401,
          "unauthorized",
          "This server requires an API token for changes: send Authorization: Bearer <token>",
          { setting: "WAGYU_API_TOKEN" },
        );
      }
    }
    await next();
  });
  return out;
}

/** 413 beyond `max` bytes (checked on Content-Length and while streaming). */
export function sizeLimit(
  limit: "maxBodyBytes" | "maxUploadBytes",
  max: number,
): MiddlewareHandler {
  return bodyLimit({
    maxSize: max,
    onError: () => {
      throw limitError(413, limit, max, null, "Request body");
    },
  });
}
