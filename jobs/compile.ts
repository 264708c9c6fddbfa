/**
 * Strategy compilation: TypeScript → JavaScript for the sandbox, and diagnostics (syntax
 * errors and type errors against the strategy API of `engine/types.ts`) with line and column
 * for `POST /api/strategy/compile`.
 *
 * Uses the `typescript` package with an in-memory compiler host. The package is large (about
 * a second to load), so it is imported on first use and kept, and the parsed standard library
 * files are cached across calls.
 *
 * User code is checked against ambient declarations generated from `engine/types.ts` (its
 * `export`s become globals), so a strategy can annotate `OnData(data: DataView, ctx:
 * StrategyContext)` without importing anything — the engine's `DataView` merges into the
 * global `DataView` interface. The module's default export is checked to be assignable to
 * `StrategyClass` (`new () => Strategy`).
 *
 * @module
 */
import type * as TS from "typescript";

/** One compiler message; `line` and `column` are 1-based. */
export interface Diagnostic {
  line: number;
  column: number;
  message: string;
  severity: "error" | "warning";
  /** TypeScript's error code (e.g. 2339), when the message comes from the compiler. */
  code?: number;
}

/** Result of `compileStrategy`. */
export type CompileResult =
  | { ok: true; js: string; params: Record<string, unknown>; warnings: Diagnostic[] }
  | { ok: false; diagnostics: Diagnostic[] };

type Ts = typeof TS;
let tsModule: Promise<Ts> | undefined;

/** Loads the TypeScript compiler once per process. */
function loadTs(): Promise<Ts> {
  tsModule ??= import("typescript").then((m) =>
    ((m as unknown as { default?: Ts }).default ?? m) as Ts
  );
  return tsModule;
}

const USER_FILE = "/strategy.ts";
const API_FILE = "/wagyu_strategy_api.d.ts";
const CHECK_FILE = "/wagyu_check.ts";

function compilerOptions(ts: Ts): TS.CompilerOptions {
  return {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    allowImportingTsExtensions: true,
    strict: true,
    // Unannotated `OnData(data, ctx)` is the common case in pasted strategies; flagging every
    // such parameter would bury the real errors.
    noImplicitAny: false,
    noEmit: true,
    lib: ["lib.es2022.d.ts"],
    types: [],
    skipLibCheck: true,
  };
}

/**
 * Transpiles TypeScript (or JavaScript) to an ES module without type checking: fast, and
 * enough to run. Syntax errors come back as diagnostics.
 */
export async function transpileStrategy(
  code: string,
): Promise<{ ok: true; js: string } | { ok: false; diagnostics: Diagnostic[] }> {
  // Sweeps and walk-forward runs send the same source hundreds of times: parse it once.
  const hit = transpiled.get(code);
  if (hit !== undefined) {
    transpiled.delete(code);
    transpiled.set(code, hit); // most recently used last
    return structuredClone(hit);
  }
  const out = await transpileUncached(code);
  transpiled.set(code, out);
  if (transpiled.size > TRANSPILE_CACHE_SIZE) {
    transpiled.delete(transpiled.keys().next().value!);
  }
  return structuredClone(out);
}

/** Sources kept by `transpileStrategy` (least recently used goes first). */
const TRANSPILE_CACHE_SIZE = 64;
const transpiled = new Map<
  string,
  { ok: true; js: string } | { ok: false; diagnostics: Diagnostic[] }
>();

async function transpileUncached(
  code: string,
): Promise<{ ok: true; js: string } | { ok: false; diagnostics: Diagnostic[] }> {
  const ts = await loadTs();
  const sf = ts.createSourceFile(USER_FILE, code, ts.ScriptTarget.ES2022, true, ts.ScriptKind.TS);
  const syntax = syntaxDiagnostics(ts, sf);
  if (syntax.length > 0) return { ok: false, diagnostics: syntax };
  const out = ts.transpileModule(code, {
    fileName: USER_FILE,
    compilerOptions: {
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.ESNext,
      useDefineForClassFields: true,
    },
  });
  return { ok: true, js: out.outputText };
}

function syntaxDiagnostics(ts: Ts, sf: TS.SourceFile): Diagnostic[] {
  const parsed = (sf as unknown as { parseDiagnostics?: TS.DiagnosticWithLocation[] })
    .parseDiagnostics ?? [];
  return parsed.map((d) => toDiagnostic(ts, d, sf));
}

function toDiagnostic(ts: Ts, d: TS.Diagnostic, fallback?: TS.SourceFile): Diagnostic {
  const sf = d.file ?? fallback;
  let line = 1, column = 1;
  if (sf && d.start !== undefined) {
    const lc = sf.getLineAndCharacterOfPosition(d.start);
    line = lc.line + 1;
    column = lc.character + 1;
  }
  return {
    line,
    column,
    message: ts.flattenDiagnosticMessageText(d.messageText, "\n"),
    severity: d.category === ts.DiagnosticCategory.Warning ? "warning" : "error",
    code: d.code,
  };
}

function at(sf: TS.SourceFile, pos: number, message: string, severity: Diagnostic["severity"]) {
  const lc = sf.getLineAndCharacterOfPosition(pos);
  return { line: lc.line + 1, column: lc.character + 1, message, severity };
}

let apiSource: Promise<string> | undefined;

/** Ambient declarations: `engine/types.ts` with its exports turned into globals. */
function loadApiDeclarations(): Promise<string> {
  apiSource ??= Deno.readTextFile(new URL("../engine/types.ts", import.meta.url)).then(
    (src) =>
      src.replace(/^export (interface|type|declare) /gm, "$1 ") +
      `
/** Output captured by the sandbox and returned with the result. */
declare var console: {
  log(...args: unknown[]): void;
  info(...args: unknown[]): void;
  warn(...args: unknown[]): void;
  error(...args: unknown[]): void;
  debug(...args: unknown[]): void;
};
/** Alias of the strategy's data view (\`DataView\` also works). */
type StrategyData = DataView;
`,
  );
  return apiSource;
}

const libCache = new Map<string, TS.SourceFile | undefined>();

function libFile(ts: Ts, fileName: string): TS.SourceFile | undefined {
  if (libCache.has(fileName)) return libCache.get(fileName);
  let sf: TS.SourceFile | undefined;
  try {
    const text = Deno.readTextFileSync(fileName);
    sf = ts.createSourceFile(fileName, text, ts.ScriptTarget.ES2022, false);
  } catch {
    sf = undefined;
  }
  libCache.set(fileName, sf);
  return sf;
}

/** Finds the default-exported class declaration (directly or through an identifier). */
function findDefaultClass(
  ts: Ts,
  sf: TS.SourceFile,
): { cls: TS.ClassLikeDeclaration | null; exported: TS.Node | null } {
  const classes = new Map<string, TS.ClassLikeDeclaration>();
  let exported: TS.Node | null = null;
  let cls: TS.ClassLikeDeclaration | null = null;
  for (const st of sf.statements) {
    if (ts.isClassDeclaration(st)) {
      if (st.name) classes.set(st.name.text, st);
      const mods = ts.getModifiers(st) ?? [];
      const isExport = mods.some((m) => m.kind === ts.SyntaxKind.ExportKeyword);
      const isDefault = mods.some((m) => m.kind === ts.SyntaxKind.DefaultKeyword);
      if (isExport && isDefault) {
        exported = st;
        cls = st;
      }
    } else if (ts.isExportAssignment(st) && !st.isExportEquals) {
      exported = st;
      if (ts.isClassExpression(st.expression)) cls = st.expression;
      else if (ts.isIdentifier(st.expression)) cls = classes.get(st.expression.text) ?? null;
    }
  }
  // `export default X` before `class X` in the file.
  if (exported && !cls && ts.isExportAssignment(exported) && ts.isIdentifier(exported.expression)) {
    cls = classes.get(exported.expression.text) ?? null;
  }
  return { cls, exported };
}

function memberName(ts: Ts, m: TS.ClassElement): string | null {
  if (!m.name) return null;
  if (ts.isIdentifier(m.name) || ts.isStringLiteral(m.name)) return m.name.text;
  return null;
}

/** Evaluates a literal initializer (numbers, strings, booleans, `-n`); undefined otherwise. */
function literalValue(ts: Ts, e: TS.Expression): unknown {
  if (ts.isNumericLiteral(e)) return Number(e.text);
  if (ts.isStringLiteral(e) || ts.isNoSubstitutionTemplateLiteral(e)) return e.text;
  if (e.kind === ts.SyntaxKind.TrueKeyword) return true;
  if (e.kind === ts.SyntaxKind.FalseKeyword) return false;
  if (
    ts.isPrefixUnaryExpression(e) && e.operator === ts.SyntaxKind.MinusToken &&
    ts.isNumericLiteral(e.operand)
  ) return -Number(e.operand.text);
  if (ts.isParenthesizedExpression(e)) return literalValue(ts, e.expression);
  if (ts.isAsExpression(e) || ts.isSatisfiesExpression(e)) return literalValue(ts, e.expression);
  return undefined;
}

function extractParams(
  ts: Ts,
  sf: TS.SourceFile,
  cls: TS.ClassLikeDeclaration,
  warnings: Diagnostic[],
): Record<string, unknown> {
  let init: TS.Expression | undefined;
  for (const m of cls.members) {
    if (ts.isPropertyDeclaration(m) && memberName(ts, m) === "params" && m.initializer) {
      init = m.initializer;
    }
  }
  if (!init) {
    // `this.params = { ... }` in the constructor.
    const ctor = cls.members.find(ts.isConstructorDeclaration);
    for (const st of ctor?.body?.statements ?? []) {
      if (
        ts.isExpressionStatement(st) && ts.isBinaryExpression(st.expression) &&
        st.expression.operatorToken.kind === ts.SyntaxKind.EqualsToken &&
        ts.isPropertyAccessExpression(st.expression.left) &&
        st.expression.left.expression.kind === ts.SyntaxKind.ThisKeyword &&
        st.expression.left.name.text === "params"
      ) init = st.expression.right;
    }
  }
  while (init && (ts.isAsExpression(init) || ts.isSatisfiesExpression(init))) {
    init = init.expression;
  }
  const params: Record<string, unknown> = {};
  if (!init || !ts.isObjectLiteralExpression(init)) return params;
  for (const p of init.properties) {
    if (!ts.isPropertyAssignment(p)) continue;
    const name = ts.isIdentifier(p.name) || ts.isStringLiteral(p.name) ? p.name.text : null;
    if (name === null) continue;
    const v = literalValue(ts, p.initializer);
    if (v === undefined) {
      warnings.push(
        at(
          sf,
          p.initializer.getStart(sf),
          `Default of param "${name}" is not a literal number, string or boolean; it is not listed in params`,
          "warning",
        ),
      );
    } else params[name] = v;
  }
  return params;
}

/**
 * Compiles a strategy: syntax errors, type errors against the strategy API, a check that the
 * module default-exports a class with `OnData`, and the class's default `params`.
 *
 * @example
 * ```ts
 * const r = await compileStrategy("export default class S { params = { n: 3 }; OnData() { return 0; } }");
 * if (r.ok) r.params; // { n: 3 }
 * ```
 */
export async function compileStrategy(code: string): Promise<CompileResult> {
  const ts = await loadTs();
  const userSf = ts.createSourceFile(
    USER_FILE,
    code,
    ts.ScriptTarget.ES2022,
    true,
    ts.ScriptKind.TS,
  );
  const syntax = syntaxDiagnostics(ts, userSf);
  if (syntax.length > 0) return { ok: false, diagnostics: syntax };

  const diagnostics: Diagnostic[] = [];
  const warnings: Diagnostic[] = [];
  for (const st of userSf.statements) {
    if (ts.isImportDeclaration(st) || ts.isImportEqualsDeclaration(st)) {
      diagnostics.push(
        at(
          userSf,
          st.getStart(userSf),
          "Strategies cannot import modules: the sandbox refuses every import. The strategy API (data, ctx, ctx.ta indicators) needs no import.",
          "error",
        ),
      );
    } else if (ts.isExportDeclaration(st) && st.moduleSpecifier) {
      diagnostics.push(
        at(userSf, st.getStart(userSf), "Strategies cannot re-export from other modules", "error"),
      );
    }
  }

  const { cls, exported } = findDefaultClass(ts, userSf);
  if (!exported) {
    diagnostics.push({
      line: 1,
      column: 1,
      message:
        "The module has no default export: add `export default class MyStrategy { OnData(data, ctx) { return 0; } }`",
      severity: "error",
    });
  } else if (!cls) {
    diagnostics.push(
      at(
        userSf,
        exported.getStart(userSf),
        "The default export must be a class with an OnData(data, ctx) method",
        "error",
      ),
    );
  } else if (!cls.heritageClauses?.length) {
    const hasOnData = cls.members.some((m) => memberName(ts, m) === "OnData");
    if (!hasOnData) {
      diagnostics.push(
        at(
          userSf,
          (cls.name ?? cls).getStart(userSf),
          `Class ${
            cls.name?.text ?? "(anonymous)"
          } has no OnData(data, ctx) method: the engine calls it on every bar and uses its return value as the signal`,
          "error",
        ),
      );
    }
  }

  const api = await loadApiDeclarations();
  const options = compilerOptions(ts);
  const libPath = ts.getDefaultLibFilePath(options);
  const libDir = libPath.slice(0, libPath.lastIndexOf("/"));
  const checkCode =
    `import __Strategy from "./strategy.ts";\nconst __check: StrategyClass = __Strategy;\n`;
  const virtual = new Map<string, string>([[API_FILE, api], [CHECK_FILE, checkCode]]);
  const apiSf = ts.createSourceFile(API_FILE, api, ts.ScriptTarget.ES2022, true);
  const checkSf = ts.createSourceFile(CHECK_FILE, checkCode, ts.ScriptTarget.ES2022, true);
  const host: TS.CompilerHost = {
    getSourceFile: (name) => {
      if (name === USER_FILE) return userSf;
      if (name === API_FILE) return apiSf;
      if (name === CHECK_FILE) return checkSf;
      return libFile(ts, name.startsWith("/") ? name : `${libDir}/${name}`);
    },
    getDefaultLibFileName: (o) => `${libDir}/${ts.getDefaultLibFileName(o)}`,
    getDefaultLibLocation: () => libDir,
    writeFile: () => {},
    getCurrentDirectory: () => "/",
    getDirectories: () => [],
    fileExists: (name) => name === USER_FILE || virtual.has(name) || !!libFile(ts, name),
    readFile: (name) => (name === USER_FILE ? code : virtual.get(name)),
    getCanonicalFileName: (f) => f,
    useCaseSensitiveFileNames: () => true,
    getNewLine: () => "\n",
  };
  const roots = [API_FILE, USER_FILE];
  // Assignability to StrategyClass only adds news once a default class with OnData exists.
  if (cls && diagnostics.length === 0) roots.push(CHECK_FILE);
  const program = ts.createProgram(roots, options, host);
  for (const d of ts.getPreEmitDiagnostics(program)) {
    // Imports are reported once, above, with the reason; TypeScript's "cannot find module"
    // would only repeat it.
    if (d.code === 2307) continue;
    if (d.file?.fileName === USER_FILE) {
      const diag = toDiagnostic(ts, d);
      (diag.severity === "error" ? diagnostics : warnings).push(diag);
    } else if (d.file?.fileName === CHECK_FILE && cls) {
      diagnostics.push(
        at(
          userSf,
          (cls.name ?? cls).getStart(userSf),
          `The default-exported class does not match the strategy API: ${
            ts.flattenDiagnosticMessageText(d.messageText, "\n")
          }`,
          "error",
        ),
      );
    } else if (!d.file || d.file.fileName === API_FILE) {
      // A problem in the generated declarations is ours, not the user's; keep it visible.
      diagnostics.push({
        line: 1,
        column: 1,
        message: `Internal strategy API declaration error: ${
          ts.flattenDiagnosticMessageText(d.messageText, "\n")
        }`,
        severity: "error",
      });
    }
  }
  diagnostics.sort((a, b) => a.line - b.line || a.column - b.column);
  if (diagnostics.length > 0) return { ok: false, diagnostics };

  const params = cls ? extractParams(ts, userSf, cls, warnings) : {};
  const out = ts.transpileModule(code, {
    fileName: USER_FILE,
    compilerOptions: {
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.ESNext,
      useDefineForClassFields: true,
    },
  });
  return { ok: true, js: out.outputText, params, warnings };
}
