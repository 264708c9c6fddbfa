/**
 * Request validation with zod through hono's `validator`, so that validated types flow into
 * the RPC client type (`hc<AppType>`). Failures throw a 400 `ApiError` whose details list the
 * zod issues (path and message).
 *
 * @module
 */
import { validator } from "hono/validator";
import type { z } from "zod";
import { ApiError } from "./api_error.ts";

type Issue = z.core.$ZodIssue;

/**
 * Replaces a union failure by the issues of the branch that got furthest (a bad row of
 * `data.bars` reads "data.bars.12.4: expected a number", not "data: invalid input"); when no
 * branch got past its first level the union's own message stays.
 */
export function flattenIssues(issues: readonly Issue[]): Issue[] {
  const out: Issue[] = [];
  for (const issue of issues) {
    if (issue.code !== "invalid_union" || !("errors" in issue)) {
      out.push(issue);
      continue;
    }
    let best: Issue[] | null = null;
    let depth = 0;
    for (const branch of issue.errors) {
      const d = Math.max(0, ...branch.map((i) => i.path.length));
      const unrelated = branch.some((i) => i.code === "unrecognized_keys");
      if (!unrelated && d > depth) {
        depth = d;
        best = branch;
      }
    }
    if (best === null) out.push(issue);
    else {
      out.push(...flattenIssues(best.map((i) => ({ ...i, path: [...issue.path, ...i.path] }))));
    }
  }
  return out;
}

/** The first issues of a zod error, as `path: message` lines. */
export function describeIssues(error: z.ZodError): string {
  return flattenIssues(error.issues).slice(0, 5).map((i) => {
    const path = i.path.length ? i.path.join(".") : "(body)";
    return `${path}: ${i.message}`;
  }).join("; ");
}

function fail(where: string, error: z.ZodError): never {
  throw new ApiError(400, "invalid_request", `Invalid ${where}: ${describeIssues(error)}`, {
    issues: flattenIssues(error.issues).slice(0, 20).map((i) => ({
      path: i.path,
      code: i.code,
      message: i.message,
    })),
  });
}

/** `application/json` or a `+json` type, parameters (charset) allowed. */
const JSON_TYPE = /^application\/(?:[\w.-]+\+)?json\s*(?:;|$)/i;

/**
 * Validates the JSON body against `schema`. A body of another content type is refused with 415
 * naming the header: hono's validator reads it as `{}`, which would answer with a misleading
 * list of every required field.
 */
export function jsonBody<T extends z.ZodType>(schema: T) {
  return validator("json", (value, c): z.output<T> => {
    const type = c.req.header("content-type") ?? "";
    if (!JSON_TYPE.test(type)) {
      throw new ApiError(
        415,
        "unsupported_media_type",
        `Expected a JSON body with Content-Type: application/json, got ${
          type ? `Content-Type: ${type}` : "no Content-Type"
        }`,
        { header: "content-type" },
      );
    }
    const r = schema.safeParse(value);
    if (!r.success) fail("request body", r.error);
    return r.data;
  });
}

/** Validates the query string against `schema`. */
export function queryParams<T extends z.ZodType>(schema: T) {
  return validator("query", (value): z.output<T> => {
    // hono gives `string | string[]`; a repeated key is a client error here.
    const r = schema.safeParse(value);
    if (!r.success) fail("query", r.error);
    return r.data;
  });
}
