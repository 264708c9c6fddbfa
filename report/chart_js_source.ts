/**
 * The chart.js UMD build as text, to inline into self-contained HTML reports (no network is
 * needed to open them). Read once from the npm package that deno.json pins.
 *
 * @module
 */

let cached: string | null = null;

function candidates(): URL[] {
  const out: URL[] = [];
  try {
    // "chart.js" resolves to dist/chart.js; the UMD build sits next to it.
    out.push(new URL("./chart.umd.min.js", import.meta.resolve("chart.js")));
  } catch {
    // Not in this import map (embedded elsewhere): fall back to the repo's node_modules.
  }
  out.push(new URL("../node_modules/chart.js/dist/chart.umd.min.js", import.meta.url));
  return out;
}

/**
 * chart.js's minified UMD source, without its source-map comment (a file opened from disk
 * would otherwise ask for a map that is not there). Throws naming the paths tried.
 */
export function chartJsSource(): string {
  if (cached !== null) return cached;
  const tried: string[] = [];
  for (const url of candidates()) {
    tried.push(url.href);
    try {
      const text = Deno.readTextFileSync(url);
      cached = text.replace(/\n\/\/# sourceMappingURL=\S+\s*$/, "\n");
      return cached;
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
    }
  }
  throw new Error(
    `chart.js UMD build not found (tried ${tried.join(", ")}); run \`deno install\` first`,
  );
}
