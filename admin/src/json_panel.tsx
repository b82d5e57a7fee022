/** A JSON value beside the list it belongs to: read, or edited and saved whole. */
import { useLayoutEffect, useRef, useState } from "preact/hooks";
import { toast } from "./ui.tsx";

/**
 * The panel (`aria-label` = `label`) shows `value`; "Edit" turns it into a
 * textarea of JSON. `check` refuses a value on the page (e.g. a document
 * must be an object); `save` sends it and resolves with what is now stored,
 * or rejects with the node's refusal, shown here while the stored value
 * stays as it was. Escape leaves the editor first, then the panel.
 */
export function JsonPanel(props: {
  label: string;
  title: string;
  value: unknown;
  /** The editor's label. */
  editLabel: string;
  check?: (value: unknown) => string | undefined;
  save: (value: unknown) => Promise<unknown>;
  panel: { current: HTMLElement | null };
  onClose: () => void;
}) {
  const [draft, setDraft] = useState<string>();
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const editor = useRef<HTMLTextAreaElement>(null);
  const editButton = useRef<HTMLButtonElement>(null);
  const editing = draft !== undefined;
  const leftEditor = useRef(false);
  // In the commit itself, not after the next frame: the button that had the
  // focus is gone, and a key pressed meanwhile (Escape right after Enter)
  // would reach the page instead of the panel.
  useLayoutEffect(() => {
    if (editing) editor.current?.focus();
    else if (leftEditor.current) editButton.current?.focus();
    leftEditor.current = false;
  }, [editing]);
  const stopEditing = () => {
    leftEditor.current = true;
    setDraft(undefined);
    setError(undefined);
  };
  const save = async (e: Event) => {
    e.preventDefault();
    let value: unknown;
    try {
      value = JSON.parse(draft ?? "");
    } catch {
      setError("This is not valid JSON.");
      return;
    }
    const refused = props.check?.(value);
    if (refused) return setError(refused);
    setBusy(true);
    setError(undefined);
    try {
      await props.save(value);
      toast(`Saved ${props.title}`);
      stopEditing();
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  };
  return (
    <aside
      class="doc-panel"
      aria-label={props.label}
      tabIndex={-1}
      ref={props.panel}
      onKeyDown={(e) => {
        if (e.key !== "Escape") return;
        e.stopPropagation();
        if (editing) stopEditing();
        else props.onClose();
      }}
    >
      <div class="dialog-head">
        <h3 class="mono">{props.title}</h3>
        <button type="button" class="icon-btn" aria-label="Close" onClick={props.onClose}>
          ×
        </button>
      </div>
      {!editing
        ? (
          <>
            <pre class="code small">{JSON.stringify(props.value, null, 2)}</pre>
            <div class="row end">
              <button
                type="button"
                class="btn small"
                ref={editButton}
                onClick={() => setDraft(JSON.stringify(props.value, null, 2))}
              >
                Edit
              </button>
            </div>
          </>
        )
        : (
          <form class="stack" onSubmit={save}>
            <label class="field">
              <span>{props.editLabel}</span>
              <textarea
                ref={editor}
                class="mono small doc-editor"
                rows={Math.min(24, Math.max(6, draft.split("\n").length + 1))}
                spellcheck={false}
                value={draft}
                onInput={(e) => setDraft((e.target as HTMLTextAreaElement).value)}
              />
            </label>
            {error && <div class="notice error" role="alert">{error}</div>}
            <div class="row end">
              <button type="button" class="btn small" onClick={stopEditing}>Cancel</button>
              <button type="submit" class="btn small primary" disabled={busy}>
                {busy ? "Saving…" : "Save"}
              </button>
            </div>
          </form>
        )}
    </aside>
  );
}
