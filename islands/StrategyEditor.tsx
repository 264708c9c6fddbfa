/**
 * Strategy editor island: template picker, CodeMirror editor, compile button and the
 * diagnostics list (each entry jumps to its line).
 *
 * @module
 */
import { useEffect, useRef } from "preact/hooks";
import { useSignal, useSignalEffect } from "@preact/signals";
import type { EditorView } from "@codemirror/view";
import { code, compileStatus, diagnostics, selectedTemplate, templates } from "../ui/app_state.ts";
import { compile, selectTemplate } from "../ui/strategy_session.ts";

type EditorModule = typeof import("../ui/code_editor.ts");

// CodeMirror is the biggest part of the page's JavaScript: it loads in its own chunk, after the
// first render, and its download starts as soon as this module runs.
const editorModule: Promise<EditorModule> = import("../ui/code_editor.ts");

/** The strategy editor panel. */
export default function StrategyEditor() {
  const host = useRef<HTMLDivElement>(null);
  const view = useRef<EditorView | null>(null);
  const cm = useRef<EditorModule | null>(null);
  const ready = useSignal(false);

  useEffect(() => {
    let gone = false;
    void editorModule.then((m) => {
      if (gone || !host.current) return;
      cm.current = m;
      view.current = m.createEditor(host.current, code.peek(), (text) => {
        code.value = text;
      }, "Strategy code");
      ready.value = true;
    });
    return () => {
      gone = true;
      view.current?.destroy();
    };
  }, []);

  // a template switch replaces the document; typing does not (the text is already there)
  useSignalEffect(() => {
    const text = code.value;
    const v = ready.value ? view.current : null;
    if (v && v.state.doc.toString() !== text) {
      v.dispatch({ changes: { from: 0, to: v.state.doc.length, insert: text } });
    }
  });

  useSignalEffect(() => {
    const d = diagnostics.value;
    if (ready.value && view.current && cm.current) cm.current.showDiagnostics(view.current, d);
  });

  const state = compileStatus.value;
  const diags = diagnostics.value;
  const tpl = templates.value.find((t) => t.id === selectedTemplate.value);

  return (
    <section class="panel editor-panel" aria-labelledby="editor-title">
      <header class="panel-head">
        <h2 id="editor-title">Strategy</h2>
        <label class="inline">
          <span>Template</span>
          <select
            id="template-select"
            value={selectedTemplate.value}
            onChange={(e) => selectTemplate((e.currentTarget as HTMLSelectElement).value)}
          >
            {selectedTemplate.value === "" && <option value="">Custom</option>}
            {templates.value.map((t) => <option key={t.id} value={t.id}>{t.name}</option>)}
          </select>
        </label>
        <button
          type="button"
          id="compile-btn"
          class="btn"
          onClick={() => void compile()}
          disabled={state.kind === "pending"}
        >
          Compile
        </button>
        <span
          id="compile-status"
          class={`compile-status ${state.kind}`}
          role="status"
          aria-live="polite"
        >
          {state.message}
        </span>
      </header>
      {tpl?.description && <p class="hint">{tpl.description}</p>}
      {!ready.value && <p class="hint editor-loading">Loading editor…</p>}
      <div class="editor-host" ref={host} />
      {diags.length > 0 && (
        <ul class="diagnostics" id="diagnostics" aria-label="Compile diagnostics">
          {diags.map((d, i) => (
            <li key={i} class={d.severity}>
              <button
                type="button"
                class="link"
                onClick={() => view.current && cm.current?.jumpTo(view.current, d.line, d.column)}
              >
                {d.severity} {d.line}:{d.column}
              </button>{" "}
              {d.message}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
