/**
 * The web UI's routes: `/` redirects to the quant-testing page, `/app/quant-testing` serves
 * the server-rendered shell, `/static/*` serves files under static/ (the bundle included,
 * built at start when missing or stale). Mount with `app.route("/", uiRoutes)`.
 *
 * @module
 */
import { Hono } from "hono";
import { compress } from "hono/compress";
import { BUNDLE_URL, ensureBundle } from "../ui/build_bundle.ts";
import { renderShell } from "../ui/shell.ts";

const STATIC_ROOT = new URL("../static/", import.meta.url);

const TYPES: Record<string, string> = {
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".json": "application/json",
  ".map": "application/json",
  ".woff2": "font/woff2",
  ".txt": "text/plain; charset=utf-8",
};

/**
 * Builds the UI bundle when it is missing or stale (once per process). `main.ts` calls it at
 * start so the first page view does not wait; the routes below await the same promise. It is
 * not started on import, so tests that import the app without using the UI never spawn a build.
 */
export function prepareUi(): Promise<void> {
  return ensureBundle().catch((err) => {
    console.error(`[wagyu] UI bundle: ${err.message}`);
  });
}

/**
 * A request path under /static/ as a file URL inside static/, or null when it tries to leave
 * that folder (`..`, encoded slashes, backslashes, NUL) or names a hidden file.
 */
export function staticFileUrl(rest: string): URL | null {
  let decoded: string;
  try {
    decoded = decodeURIComponent(rest);
  } catch {
    return null;
  }
  if (decoded.includes("\0") || decoded.includes("\\")) return null;
  const parts = decoded.split("/");
  if (parts.some((p) => p === "" || p === "." || p === ".." || p.startsWith("."))) return null;
  const url = new URL(parts.map(encodeURIComponent).join("/"), STATIC_ROOT);
  return url.href.startsWith(STATIC_ROOT.href) ? url : null;
}

async function bundleVersion(): Promise<string> {
  await prepareUi();
  try {
    const st = await Deno.stat(BUNDLE_URL);
    return `${st.mtime?.getTime() ?? 0}-${st.size}`;
  } catch {
    return "missing";
  }
}

/** The UI's Hono app. */
export const uiRoutes = new Hono();

uiRoutes.get("/", (c) => c.redirect("/app/quant-testing", 302));

uiRoutes.get("/app/quant-testing", async (c) => {
  c.header("Cache-Control", "no-cache");
  return c.html(renderShell({ version: await bundleVersion() }));
});

uiRoutes.use("/static/*", compress());

uiRoutes.get("/static/*", async (c) => {
  const rest = c.req.path.slice("/static/".length);
  const url = staticFileUrl(rest);
  if (!url) return c.json({ error: { code: "not_found", message: "Not found", details: {} } }, 404);
  if (rest.startsWith("build/")) {
    try {
      await ensureBundle();
    } catch (err) {
      return c.json({
        error: { code: "bundle_failed", message: (err as Error).message, details: {} },
      }, 503);
    }
  }
  let file: Deno.FsFile;
  let stat: Deno.FileInfo;
  try {
    file = await Deno.open(url, { read: true });
    stat = await file.stat();
    if (!stat.isFile) {
      file.close();
      throw new Deno.errors.NotFound();
    }
  } catch {
    return c.json({
      error: { code: "not_found", message: `No static file ${rest}`, details: {} },
    }, 404);
  }
  const etag = `W/"${stat.mtime?.getTime() ?? 0}-${stat.size}"`;
  if (c.req.header("if-none-match") === etag) {
    file.close();
    return c.body(null, 304, { ETag: etag });
  }
  const ext = rest.slice(rest.lastIndexOf(".")).toLowerCase();
  return c.body(file.readable, 200, {
    "Content-Type": TYPES[ext] ?? "application/octet-stream",
    "Content-Length": String(stat.size),
    // chunks are named by content hash and never change; everything else revalidates (cheap
    // 304s) and the shell's ?v= makes a rebuilt entry load at once
    "Cache-Control": /^build\/[\w.]+-[A-Z0-9]{8}\.js$/.test(rest)
      ? "public, max-age=31536000, immutable"
      : "no-cache",
    ETag: etag,
    "X-Content-Type-Options": "nosniff",
  });
});
