/**
 * CodeMirror 6 set up for strategy code: TypeScript highlighting in the page's dark palette,
 * history, bracket matching, and compile diagnostics shown inline (underlines, gutter marks,
 * hover messages). Tab is left to the browser so the editor never traps keyboard focus.
 *
 * @module
 */
import { EditorState, type Extension } from "@codemirror/state";
import {
  drawSelection,
  EditorView,
  highlightActiveLine,
  highlightActiveLineGutter,
  keymap,
  lineNumbers,
} from "@codemirror/view";
import { defaultKeymap, history, historyKeymap } from "@codemirror/commands";
import {
  bracketMatching,
  HighlightStyle,
  indentOnInput,
  syntaxHighlighting,
} from "@codemirror/language";
import { javascript } from "@codemirror/lang-javascript";
import { type Diagnostic as CmDiagnostic, lintGutter, setDiagnostics } from "@codemirror/lint";
import { tags as t } from "@lezer/highlight";
import type { Diagnostic } from "./app_state.ts";

const highlight = HighlightStyle.define([
  { tag: [t.keyword, t.modifier, t.controlKeyword], color: "#c792ea" },
  { tag: [t.definitionKeyword, t.moduleKeyword], color: "#c792ea" },
  { tag: [t.string, t.special(t.string)], color: "#c3e88d" },
  { tag: [t.number, t.bool, t.null], color: "#f78c6c" },
  { tag: [t.comment, t.lineComment, t.blockComment], color: "#7a8599", fontStyle: "italic" },
  { tag: [t.className, t.typeName], color: "#ffcb6b" },
  { tag: [t.function(t.variableName), t.function(t.propertyName)], color: "#82aaff" },
  { tag: t.propertyName, color: "#89ddff" },
  { tag: [t.operator, t.punctuation], color: "#a6b0c3" },
  { tag: t.variableName, color: "#e6e9ef" },
]);

const theme = EditorView.theme({
  "&": { backgroundColor: "#11151c", color: "#e6e9ef", height: "100%" },
  ".cm-content": { caretColor: "#f5a623", fontFamily: "var(--mono)" },
  ".cm-gutters": { backgroundColor: "#0d1117", color: "#5c6675", border: "none" },
  ".cm-activeLine": { backgroundColor: "#1a2130" },
  ".cm-activeLineGutter": { backgroundColor: "#1a2130" },
  "&.cm-focused .cm-cursor": { borderLeftColor: "#f5a623" },
  "&.cm-focused .cm-selectionBackground, .cm-selectionBackground": {
    backgroundColor: "#2b3a55 !important",
  },
  ".cm-tooltip": { backgroundColor: "#1c2230", color: "#e6e9ef", border: "1px solid #333c4d" },
}, { dark: true });

/** The editor's extensions; `onChange` gets the full text after each edit. */
export function editorExtensions(onChange: (text: string) => void, label: string): Extension[] {
  return [
    lineNumbers(),
    highlightActiveLineGutter(),
    highlightActiveLine(),
    drawSelection(),
    history(),
    indentOnInput(),
    bracketMatching(),
    javascript({ typescript: true }),
    syntaxHighlighting(highlight),
    lintGutter(),
    keymap.of([...defaultKeymap, ...historyKeymap]),
    theme,
    // the editor column is narrow; wrapped lines beat a horizontal scroll for reading code
    EditorView.lineWrapping,
    EditorView.contentAttributes.of({ "aria-label": label }),
    EditorView.updateListener.of((u) => {
      if (u.docChanged) onChange(u.state.doc.toString());
    }),
  ];
}

/** Creates the editor in `parent`. */
export function createEditor(
  parent: HTMLElement,
  text: string,
  onChange: (text: string) => void,
  label: string,
): EditorView {
  return new EditorView({
    parent,
    state: EditorState.create({ doc: text, extensions: editorExtensions(onChange, label) }),
  });
}

/** Offset of a 1-based line/column in the document, clamped to it. */
export function offsetOf(view: EditorView, line: number, column: number): number {
  const doc = view.state.doc;
  const l = doc.line(Math.min(Math.max(1, line), doc.lines));
  return Math.min(l.from + Math.max(0, column - 1), l.to);
}

/** Shows compile diagnostics inline (an error marks to the end of its word or line). */
export function showDiagnostics(view: EditorView, diags: Diagnostic[]): void {
  const cm: CmDiagnostic[] = diags.map((d) => {
    const from = offsetOf(view, d.line, d.column);
    const lineEnd = view.state.doc.lineAt(from).to;
    const word = /^[\w$]+/.exec(view.state.doc.sliceString(from, lineEnd));
    const to = word ? from + word[0].length : Math.min(lineEnd, from + 1);
    return { from, to: Math.max(to, from), severity: d.severity, message: d.message };
  });
  view.dispatch(setDiagnostics(view.state, cm));
}

/** Moves the cursor to a line/column and focuses the editor. */
export function jumpTo(view: EditorView, line: number, column: number): void {
  const pos = offsetOf(view, line, column);
  view.dispatch({ selection: { anchor: pos }, scrollIntoView: true });
  view.focus();
}
