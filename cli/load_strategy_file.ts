/**
 * Loading a strategy file for the CLI. One function, so that switching the default to the
 * sandbox (jobs/sandbox.ts) only changes what happens here.
 *
 * @module
 */
import type { Strategy, StrategyClass } from "../engine/types.ts";

/** The strategy file is missing, does not compile, or has no usable default export. */
export class StrategyFileError extends Error {
  constructor(readonly file: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "StrategyFileError";
  }
}

/**
 * Imports `path` in this process (trusted code: it runs with the CLI's permissions) and
 * returns its default export, which must be a class with an `OnData` method (or an object
 * with one).
 */
export async function loadStrategyFile(path: string): Promise<StrategyClass | Strategy> {
  let url: URL;
  try {
    url = new URL(path, `file://${Deno.cwd()}/`);
    const info = await Deno.stat(url);
    if (!info.isFile) throw new Error("not a file");
  } catch (e) {
    const why = e instanceof Deno.errors.NotFound ? "file not found" : (e as Error).message;
    throw new StrategyFileError(path, `${path}: cannot read strategy file: ${why}`, { cause: e });
  }
  let mod: Record<string, unknown>;
  try {
    mod = await import(url.href);
  } catch (e) {
    const msg = (e instanceof Error ? e.message : String(e)).split("\n")[0];
    throw new StrategyFileError(path, `${path}: cannot load strategy: ${msg}`, { cause: e });
  }
  const d: unknown = mod.default;
  if (typeof d === "function" && typeof d.prototype?.OnData === "function") {
    return d as StrategyClass;
  }
  if (d !== null && typeof d === "object" && typeof (d as Strategy).OnData === "function") {
    return d as Strategy;
  }
  throw new StrategyFileError(
    path,
    `${path}: the default export must be a strategy class with an OnData(data, ctx) method`,
  );
}
