/** Selecting rows of a list, and what can be done to them at once: delete, export. */
import { useState } from "preact/hooks";
import { api } from "./api.ts";
import { exportRows } from "./export.ts";
import { Confirm, number, toast } from "./ui.tsx";

/** Which rows (by key) are selected; a selection outlives a re-sort or a search. */
export function useSelection() {
  const [keys, setKeys] = useState<ReadonlySet<string>>(new Set());
  return {
    keys,
    has: (k: string) => keys.has(k),
    toggle: (k: string, on: boolean) =>
      setKeys((s) => {
        const next = new Set(s);
        if (on) next.add(k);
        else next.delete(k);
        return next;
      }),
    setAll: (list: string[], on: boolean) =>
      setKeys((s) => {
        const next = new Set(s);
        for (const k of list) on ? next.add(k) : next.delete(k);
        return next;
      }),
    clear: () => setKeys(new Set()),
  };
}
export type Selection = ReturnType<typeof useSelection>;

/** The header's box: selects (or clears) every row shown. */
export function SelectAll(props: { selection: Selection; shown: string[]; label: string }) {
  const { selection, shown } = props;
  const picked = shown.filter((k) => selection.has(k)).length;
  return (
    <input
      type="checkbox"
      aria-label={props.label}
      checked={shown.length > 0 && picked === shown.length}
      indeterminate={picked > 0 && picked < shown.length}
      onChange={(e) => selection.setAll(shown, (e.target as HTMLInputElement).checked)}
    />
  );
}

export function SelectOne(props: { selection: Selection; k: string; label: string }) {
  return (
    <input
      type="checkbox"
      aria-label={props.label}
      checked={props.selection.has(props.k)}
      onChange={(e) => props.selection.toggle(props.k, (e.target as HTMLInputElement).checked)}
    />
  );
}

/**
 * Delete and export for a list. Export takes the selected rows, or with
 * none selected every row shown; delete asks first, then deletes one at a
 * time and says which failed.
 */
export function BulkBar<T extends Record<string, unknown>>(props: {
  /** What one row is called: "key", "document". */
  noun: string;
  selection: Selection;
  /** The rows shown, in order, with their keys. */
  rows: { key: string; row: T }[];
  /** The file name for exports, without the extension. */
  file: string;
  /** The API path that deletes one row. */
  deleteUrl: (key: string) => string;
  onDeleted: () => void;
}) {
  const { selection, rows, noun } = props;
  const [asking, setAsking] = useState(false);
  const picked = rows.filter((r) => selection.has(r.key));
  const n = selection.keys.size;
  const plural = (k: number) => `${number(k)} ${noun}${k === 1 ? "" : "s"}`;
  const take = () => (n > 0 ? picked : rows).map((r) => r.row);
  const what = n > 0 ? `${plural(picked.length)} selected` : `${plural(rows.length)} shown`;
  return (
    <div class="row wrap bulk" role="group" aria-label={`Selected ${noun}s`}>
      <span class="muted small" aria-live="polite">
        {n > 0 ? `${plural(n)} selected` : "None selected"}
      </span>
      <button
        type="button"
        class="btn small danger-ghost"
        disabled={n === 0}
        onClick={() => setAsking(true)}
      >
        Delete selected
      </button>
      <button
        type="button"
        class="btn small"
        onClick={() => exportRows(props.file, "json", take())}
      >
        Export JSON
        <span class="sr-only">({what})</span>
      </button>
      <button
        type="button"
        class="btn small"
        onClick={() => exportRows(props.file, "csv", take())}
      >
        Export CSV
        <span class="sr-only">({what})</span>
      </button>
      {asking && (
        <Confirm
          title={`Delete ${plural(n)}?`}
          message={
            <p>
              Delete {[...selection.keys].slice(0, 5).map((k, i) => (
                <span key={k}>
                  {i > 0 && ", "}
                  <code>{k}</code>
                </span>
              ))}
              {n > 5 && ` and ${number(n - 5)} more`}? The app loses them for good.
            </p>
          }
          action={`Delete ${plural(n)}`}
          onClose={() => setAsking(false)}
          onConfirm={async () => {
            const failed: string[] = [];
            for (const key of selection.keys) {
              try {
                await api(props.deleteUrl(key), { method: "DELETE" });
              } catch {
                failed.push(key);
              }
            }
            selection.setAll([...selection.keys].filter((k) => !failed.includes(k)), false);
            props.onDeleted();
            if (failed.length > 0) {
              throw new Error(`Could not delete ${failed.slice(0, 5).join(", ")}`);
            }
            toast(`Deleted ${plural(n)}`);
          }}
        />
      )}
    </div>
  );
}
