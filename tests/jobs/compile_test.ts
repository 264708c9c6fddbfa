import assert from "node:assert/strict";
import { TEMPLATES } from "../../examples/index.ts";
import { compileStrategy, type Diagnostic, transpileStrategy } from "../../jobs/compile.ts";

const ROOT = new URL("../../", import.meta.url);

async function errors(code: string): Promise<Diagnostic[]> {
  const r = await compileStrategy(code);
  assert.equal(r.ok, false, "expected diagnostics");
  return r.ok ? [] : r.diagnostics;
}

Deno.test("compileStrategy() accepts every bundled example and extracts its params", async () => {
  assert.ok(TEMPLATES.length >= 5);
  for (const t of TEMPLATES) {
    const code = await Deno.readTextFile(new URL(t.file, ROOT));
    const r = await compileStrategy(code);
    assert.ok(r.ok, `${t.file}: ${JSON.stringify(r.ok ? null : r.diagnostics)}`);
    assert.deepEqual(r.params, t.params, t.file);
  }
});

Deno.test("compileStrategy() reports a syntax error at its line and column", async () => {
  const d = await errors(
    "export default class S {\n  OnData(data, ctx) {\n    return 1 +;\n  }\n}",
  );
  // Line 3 is "    return 1 +;": the ";" where an expression belongs is column 15.
  assert.deepEqual(d, [{
    line: 3,
    column: 15,
    message: "Expression expected.",
    severity: "error",
    code: 1109,
  }]);
});

Deno.test("compileStrategy() type-checks calls against the strategy context API", async () => {
  const d = await errors(
    "export default class S {\n  OnData(data: DataView, ctx: StrategyContext) {\n    ctx.buyy();\n    return 0;\n  }\n}",
  );
  assert.equal(d.length, 1);
  assert.equal(d[0].line, 3);
  assert.equal(d[0].column, 9); // "    ctx." is 8 characters
  assert.match(d[0].message, /Property 'buyy' does not exist on type 'StrategyContext'/);
  assert.match(d[0].message, /Did you mean 'buy'/);
});

Deno.test("compileStrategy() rejects an OnData that returns something other than a signal", async () => {
  const d = await errors(
    'export default class S {\n  OnData(data, ctx) {\n    return "long";\n  }\n}',
  );
  assert.equal(d.length, 1);
  assert.equal(d[0].line, 1);
  assert.equal(d[0].column, 22); // the class name
  assert.match(d[0].message, /does not match the strategy API/);
  assert.match(d[0].message, /Type 'string' is not assignable/);
});

Deno.test("compileStrategy() explains a missing default-exported class", async () => {
  const none = await errors("export class S { OnData() { return 0; } }");
  assert.equal(none.length, 1);
  assert.match(none[0].message, /no default export/);
  const notClass = await errors("export default 42;");
  assert.match(notClass[0].message, /default export must be a class with an OnData/);
});

Deno.test("compileStrategy() explains a class without OnData", async () => {
  const d = await errors("export default class Foo {\n  onData() { return 0; }\n}");
  assert.equal(d.length, 1);
  assert.deepEqual([d[0].line, d[0].column], [1, 22]);
  assert.match(d[0].message, /Class Foo has no OnData\(data, ctx\) method/);
});

Deno.test("compileStrategy() refuses imports with one clear message", async () => {
  const d = await errors(
    'import { sma } from "../engine/indicators.ts";\nexport default class S { OnData() { return 0; } }',
  );
  assert.equal(d.length, 1);
  assert.deepEqual([d[0].line, d[0].column], [1, 1]);
  assert.match(d[0].message, /cannot import modules/);
});

Deno.test("compileStrategy() reports plain type errors in the user's code", async () => {
  const d = await errors(
    'export default class S { OnData() { const x: number = "a"; return 0; } }',
  );
  assert.equal(d.length, 1);
  assert.equal(d[0].code, 2322);
  assert.equal(d[0].column, 43); // the `x` of `const x` is the 43rd character
});

Deno.test("compileStrategy() extracts literal params and warns about non-literal ones", async () => {
  const r = await compileStrategy(
    'export default class S {\n  params = { fast: 10, slow: -3, label: "x", on: true, k: 2.5, p: Math.PI };\n  OnData(data: StrategyData) { return data.close[data.length - 1] > 0 ? 1 : 0; }\n}',
  );
  assert.ok(r.ok);
  assert.deepEqual(r.params, { fast: 10, slow: -3, label: "x", on: true, k: 2.5 });
  assert.equal(r.warnings.length, 1);
  assert.equal(r.warnings[0].severity, "warning");
  assert.equal(r.warnings[0].line, 2);
  assert.match(r.warnings[0].message, /param "p" is not a literal/);
});

Deno.test("compileStrategy() reads params assigned in the constructor", async () => {
  const r = await compileStrategy(
    "export default class S {\n  params: Record<string, number>;\n  constructor() { this.params = { n: 4 }; }\n  OnData() { return 0; }\n}",
  );
  assert.ok(r.ok, JSON.stringify(r));
  assert.deepEqual(r.params, { n: 4 });
});

Deno.test("compileStrategy() output is an ES module whose class runs", async () => {
  const r = await compileStrategy(
    "class S {\n  params = { k: 2 };\n  OnData(data: DataView): Signal { return data.length > (this.params.k as number) ? 1 : -1; }\n}\nexport default S;",
  );
  assert.ok(r.ok);
  const mod = await import("data:text/javascript," + encodeURIComponent(r.js));
  const s = new mod.default();
  assert.equal(s.OnData({ length: 3 }), 1);
  assert.equal(s.OnData({ length: 2 }), -1);
});

Deno.test("transpileStrategy() strips types without checking them and reports syntax errors", async () => {
  const ok = await transpileStrategy(
    "export default class S { OnData(d: number): string { return 1 as any; } }",
  );
  assert.ok(ok.ok);
  assert.doesNotMatch(ok.js, /: number|as any/);
  const bad = await transpileStrategy("let = ;");
  assert.equal(bad.ok, false);
});
