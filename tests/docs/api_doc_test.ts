import assert from "node:assert/strict";
import { createApp } from "../../main.ts";
import { WsMessageSchema } from "../../routes/schemas.ts";

const DOC = new URL("../../docs/API.md", import.meta.url);

interface Section {
  method: string;
  path: string;
  text: string;
}

/** The `### METHOD /path` sections of docs/API.md with their text up to the next heading. */
function sections(md: string): Section[] {
  const out: Section[] = [];
  const re = /^### (GET|POST|PUT|DELETE|WS) (\/\S+)\s*$/gm;
  const heads = [...md.matchAll(re)];
  heads.forEach((h, i) => {
    const end = i + 1 < heads.length ? heads[i + 1].index! : md.length;
    const rest = md.slice(h.index! + h[0].length, end);
    out.push({ method: h[1], path: h[2], text: rest.split(/^## /m)[0] });
  });
  return out;
}

Deno.test("docs/API.md documents every path and method of /api/openapi.json, and no other", async () => {
  const wagyu = await createApp({ kvPath: ":memory:", datasetsDir: await Deno.makeTempDir() });
  try {
    const res = await wagyu.app.request("/api/openapi.json");
    assert.equal(res.status, 200);
    const doc = await res.json() as { paths: Record<string, Record<string, unknown>> };
    const documented = sections(await Deno.readTextFile(DOC));
    const key = (m: string, p: string) => `${m.toUpperCase()} ${p}`;
    const inDoc = new Set(documented.map((s) => key(s.method, s.path)));
    const inSpec = new Set(
      Object.entries(doc.paths).flatMap(([p, ops]) => Object.keys(ops).map((m) => key(m, p))),
    );
    assert.ok(inSpec.size >= 15, `only ${inSpec.size} operations in the OpenAPI document`);
    const missing = [...inSpec].filter((k) => !inDoc.has(k));
    assert.deepEqual(missing, [], "operations missing from docs/API.md");
    const stale = [...inDoc].filter((k) => !k.startsWith("WS ") && !inSpec.has(k));
    assert.deepEqual(stale, [], "docs/API.md documents operations the server does not have");
  } finally {
    await wagyu.close();
  }
});

Deno.test("docs/API.md gives every endpoint a curl example and a client example", async () => {
  const documented = sections(await Deno.readTextFile(DOC));
  assert.ok(documented.length > 0);
  for (const s of documented) {
    const where = `${s.method} ${s.path}`;
    if (s.method === "WS") {
      assert.match(s.text, /```ts[\s\S]*api\.watch/, `${where}: no client example`);
      continue;
    }
    assert.match(s.text, /```sh[\s\S]*curl /, `${where}: no curl example`);
    assert.match(s.text, /```ts[\s\S]*\bapi\.\w+\(/, `${where}: no client example`);
    // The curl example calls this path (with an example id in place of {id}).
    const pattern = s.path.replace(/\{\w+\}/g, "[^/?' ]+").replace(/\./g, "\\.");
    assert.match(
      s.text,
      new RegExp(`localhost:8080${pattern}`),
      `${where}: curl hits another path`,
    );
  }
});

Deno.test("docs/API.md lists every WebSocket message type of the server's schema", async () => {
  const md = await Deno.readTextFile(DOC);
  const table = md.slice(md.indexOf("### Messages"));
  for (const type of WsMessageSchema.shape.type.options) {
    assert.match(table, new RegExp(`^\\| \`${type}\` +\\|`, "m"), `message type ${type} missing`);
  }
  const paths = sections(md).filter((s) => s.method === "WS").map((s) => s.path);
  assert.deepEqual(paths.sort(), ["/ws/backtest/{job_id}", "/ws/backtests"]);
});
