import type { ComponentChildren } from "preact";
import { useCallback, useEffect, useRef, useState } from "preact/hooks";
import { ApiError } from "./api.ts";
import { onLinkClick } from "./router.ts";

// ---------- formatting ----------

export function bytes(n: number | null | undefined): string {
  if (n == null) return "—";
  const units = ["B", "KB", "MB", "GB", "TB"];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}

export function number(n: number | null | undefined): string {
  return n == null ? "—" : n.toLocaleString("en-US");
}

export function ago(ms: number | null | undefined): string {
  if (!ms) return "never";
  const s = Math.round((Date.now() - ms) / 1000);
  if (s < 45) return "just now";
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86400) return `${Math.round(s / 3600)} h ago`;
  if (s < 86400 * 30) return `${Math.round(s / 86400)} d ago`;
  return new Date(ms).toLocaleDateString();
}

export function dateTime(ms: number | null | undefined): string {
  return ms ? new Date(ms).toLocaleString() : "—";
}

export function duration(s: number): string {
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
  return `${Math.floor(s / 86400)} d ${Math.floor((s % 86400) / 3600)} h`;
}

// ---------- data loading ----------

export interface Loaded<T> {
  data?: T;
  error?: ApiError;
  loading: boolean;
  reload: () => void;
}

/** Runs `load` now and whenever `deps` change; keeps the last data while reloading. */
export function useLoad<T>(load: (signal: AbortSignal) => Promise<T>, deps: unknown[]): Loaded<T> {
  const [state, setState] = useState<{ data?: T; error?: ApiError; loading: boolean }>({
    loading: true,
  });
  const [n, setN] = useState(0);
  useEffect(() => {
    const ctl = new AbortController();
    setState((s) => ({ ...s, loading: true }));
    load(ctl.signal).then(
      (data) => !ctl.signal.aborted && setState({ data, loading: false }),
      (err) => {
        if (ctl.signal.aborted) return;
        const error = err instanceof ApiError
          ? err
          : new ApiError(0, "CLIENT", err instanceof Error ? err.message : String(err));
        setState({ error, loading: false });
      },
    );
    return () => ctl.abort();
  }, [...deps, n]);
  const reload = useCallback(() => setN((x) => x + 1), []);
  return { ...state, reload };
}

// ---------- building blocks ----------

/** The fazt mark (an SVG, so it never depends on an emoji font). */
export function Logo(props: { size?: number }) {
  const n = props.size ?? 28;
  return (
    <svg class="logo" width={n} height={n} viewBox="0 0 32 32" aria-hidden="true">
      <rect width="32" height="32" rx="7" fill="#f59e0b" />
      <path d="M18.5 4 8 18h7l-2 10 11-15h-7z" fill="#1c1917" />
    </svg>
  );
}

export function Link(
  props: { href: string; class?: string; children: ComponentChildren; "aria-current"?: "page" },
) {
  return (
    <a
      href={props.href}
      class={props.class}
      aria-current={props["aria-current"]}
      onClick={onLinkClick}
    >
      {props.children}
    </a>
  );
}

let titleWanted = false;

/**
 * Moves focus to the page's heading so keyboard and screen-reader users follow
 * a navigation; a page still loading its code takes it when it appears.
 */
export function focusPageTitle(): void {
  const h = document.getElementById("page-title");
  titleWanted = !h;
  h?.focus({ preventScroll: true });
}

export function Page(
  props: { title: string; actions?: ComponentChildren; children: ComponentChildren },
) {
  useEffect(() => {
    document.title = `${props.title} · fazt`;
  }, [props.title]);
  useEffect(() => {
    if (titleWanted) focusPageTitle();
  }, []);
  return (
    <section class="page">
      <header class="page-head">
        <h1 tabIndex={-1} id="page-title">{props.title}</h1>
        {props.actions && <div class="page-actions">{props.actions}</div>}
      </header>
      {props.children}
    </section>
  );
}

export function Card(
  props: {
    title?: ComponentChildren;
    actions?: ComponentChildren;
    class?: string;
    children: ComponentChildren;
  },
) {
  return (
    <div class={"card " + (props.class ?? "")}>
      {(props.title || props.actions) && (
        <div class="card-head">
          {props.title && <h2>{props.title}</h2>}
          {props.actions && <div class="card-actions">{props.actions}</div>}
        </div>
      )}
      {props.children}
    </div>
  );
}

export function Spinner(props: { label?: string }) {
  return (
    <div class="loading" role="status" aria-live="polite">
      <span class="spinner" aria-hidden="true" />
      {props.label ?? "Loading…"}
    </div>
  );
}

export function ErrorBox(props: { error: ApiError | Error; retry?: () => void }) {
  return (
    <div class="notice error" role="alert">
      <strong>Something went wrong.</strong> {props.error.message}
      {props.error instanceof ApiError && props.error.code && props.error.status > 0 && (
        <span class="muted">({props.error.code})</span>
      )}
      {props.retry && (
        <button type="button" class="btn small" onClick={props.retry}>
          Try again
        </button>
      )}
    </div>
  );
}

export function Empty(props: { title: string; children?: ComponentChildren }) {
  return (
    <div class="empty">
      <strong>{props.title}</strong>
      {props.children && <div class="muted">{props.children}</div>}
    </div>
  );
}

/** Loading, error and empty states around some loaded data. */
export function Show<T>(
  props: { state: Loaded<T>; children: (data: T) => ComponentChildren },
) {
  const { state } = props;
  if (state.error) return <ErrorBox error={state.error} retry={state.reload} />;
  if (state.data === undefined) return <Spinner />;
  return <>{props.children(state.data)}</>;
}

export function Stat(props: { label: string; value: ComponentChildren; hint?: ComponentChildren }) {
  return (
    <div class="stat">
      <div class="stat-label">{props.label}</div>
      <div class="stat-value">{props.value}</div>
      {props.hint && <div class="stat-hint">{props.hint}</div>}
    </div>
  );
}

export function Badge(
  props: { tone?: "ok" | "warn" | "bad" | "info"; children: ComponentChildren },
) {
  return <span class={`badge ${props.tone ?? ""}`}>{props.children}</span>;
}

// ---------- dialogs and toasts ----------

/** A modal dialog (native <dialog>: focus is trapped and Escape closes it). */
export function Dialog(
  props: { title: string; onClose: () => void; children: ComponentChildren; wide?: boolean },
) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const d = ref.current!;
    // Where focus was, to give it back when the dialog goes (the page's heading if that is gone).
    const opener = document.activeElement as HTMLElement | null;
    if (!d.open) d.showModal();
    const close = () => props.onClose();
    d.addEventListener("close", close);
    return () => {
      d.removeEventListener("close", close);
      requestAnimationFrame(() => restoreFocus(opener));
    };
  }, []);
  return (
    <dialog ref={ref} class={props.wide ? "wide" : ""} aria-labelledby="dialog-title">
      <div class="dialog-head">
        <h2 id="dialog-title">{props.title}</h2>
        <button
          type="button"
          class="icon-btn"
          aria-label="Close"
          onClick={() => ref.current?.close()}
        >
          ×
        </button>
      </div>
      {props.children}
    </dialog>
  );
}

/** Gives focus back after a dialog, unless something else has taken it already. */
function restoreFocus(opener: HTMLElement | null): void {
  const active = document.activeElement;
  if (active && active !== document.body) return;
  if (opener?.isConnected && opener !== document.body) {
    opener.focus();
    followOpener(opener);
  } else document.getElementById("page-title")?.focus();
}

/**
 * The opener may leave a moment after the dialog (its row gone when the
 * list reloads after a revoke or delete): focus then goes to the page's
 * heading instead of falling to <body>.
 */
function followOpener(opener: HTMLElement): void {
  const stop = () => {
    watch.disconnect();
    clearTimeout(timer);
  };
  const watch = new MutationObserver(() => {
    const active = document.activeElement;
    if (active && active !== opener && active !== document.body) return stop();
    if (opener.isConnected) return;
    document.getElementById("page-title")?.focus();
    stop();
  });
  const timer = setTimeout(stop, 5000);
  watch.observe(document.body, { childList: true, subtree: true });
}

/** Asks before something that cannot be undone; for the worst ones, the name must be typed. */
export function Confirm(
  props: {
    title: string;
    message: ComponentChildren;
    action: string;
    /** `danger` (the default) for what cannot be undone, `primary` for what can. */
    tone?: "danger" | "primary";
    typeToConfirm?: string;
    onConfirm: () => Promise<unknown>;
    onClose: () => void;
  },
) {
  const [typed, setTyped] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<Error>();
  const ok = !props.typeToConfirm || typed === props.typeToConfirm;
  const submit = async (e: Event) => {
    e.preventDefault();
    if (!ok) return;
    setBusy(true);
    setError(undefined);
    try {
      await props.onConfirm();
      props.onClose();
    } catch (err) {
      setError(err as Error);
      setBusy(false);
    }
  };
  return (
    <Dialog title={props.title} onClose={props.onClose}>
      <form onSubmit={submit} class="stack">
        <div>{props.message}</div>
        {props.typeToConfirm && (
          <label class="field">
            <span>
              Type <code>{props.typeToConfirm}</code> to confirm
            </span>
            <input
              value={typed}
              onInput={(e) => setTyped((e.target as HTMLInputElement).value)}
              autoComplete="off"
              autoFocus
            />
          </label>
        )}
        {error && <ErrorBox error={error} />}
        <div class="row end">
          <button type="button" class="btn" onClick={props.onClose}>
            Cancel
          </button>
          <button
            type="submit"
            class={`btn ${props.tone ?? "danger"}`}
            disabled={!ok || busy}
            autoFocus={!props.typeToConfirm}
          >
            {busy ? "Working…" : props.action}
          </button>
        </div>
      </form>
    </Dialog>
  );
}

type Toast = { id: number; text: string; tone: "ok" | "bad" };
let toastSeq = 0;
const toastListeners = new Set<(t: Toast) => void>();

export function toast(text: string, tone: "ok" | "bad" = "ok"): void {
  const t = { id: ++toastSeq, text, tone };
  for (const fn of toastListeners) fn(t);
}

/**
 * Passing notes: a success fades after 4 s; an error stays until dismissed, so
 * it cannot vanish before it is read.
 */
export function Toasts() {
  const [items, setItems] = useState<Toast[]>([]);
  const dismiss = (id: number) => setItems((xs) => xs.filter((x) => x.id !== id));
  useEffect(() => {
    const fn = (t: Toast) => {
      setItems((xs) => [...xs, t]);
      if (t.tone === "ok") setTimeout(() => dismiss(t.id), 4000);
    };
    toastListeners.add(fn);
    return () => {
      toastListeners.delete(fn);
    };
  }, []);
  return (
    <div class="toasts">
      <div role="status" aria-live="polite">
        {items.filter((t) => t.tone === "ok").map((t) => (
          <div key={t.id} class="toast ok">{t.text}</div>
        ))}
      </div>
      <div role="alert">
        {items.filter((t) => t.tone === "bad").map((t) => (
          <div key={t.id} class="toast bad">
            <span>{t.text}</span>
            <button
              type="button"
              class="toast-close"
              aria-label="Dismiss"
              onClick={() => dismiss(t.id)}
            >
              ×
            </button>
          </div>
        ))}
      </div>
    </div>
  );
}

export function CopyButton(props: { text: string; label?: string }) {
  const [done, setDone] = useState(false);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(props.text);
    } catch {
      // Clipboard access needs a secure context; select the text as a fallback.
      const area = document.createElement("textarea");
      area.value = props.text;
      document.body.append(area);
      area.select();
      document.execCommand("copy");
      area.remove();
    }
    setDone(true);
    setTimeout(() => setDone(false), 2000);
  };
  return (
    <button type="button" class="btn" onClick={copy}>
      {done ? "Copied ✓" : props.label ?? "Copy"}
    </button>
  );
}

export function Tabs<T extends string>(
  props: { tabs: [T, string][]; value: T; onChange: (t: T) => void; label: string },
) {
  const onKey = (e: KeyboardEvent) => {
    const i = props.tabs.findIndex(([k]) => k === props.value);
    let j = -1;
    if (e.key === "ArrowRight") j = (i + 1) % props.tabs.length;
    if (e.key === "ArrowLeft") j = (i - 1 + props.tabs.length) % props.tabs.length;
    if (j < 0) return;
    e.preventDefault();
    props.onChange(props.tabs[j][0]);
    ((e.currentTarget as HTMLElement).children[j] as HTMLElement).focus();
  };
  const list = useRef<HTMLDivElement>(null);
  // The selected tab is always in view, however narrow the screen.
  useEffect(() => {
    list.current?.querySelector<HTMLElement>('[aria-selected="true"]')?.scrollIntoView({
      block: "nearest",
      inline: "nearest",
    });
  }, [props.value]);
  return (
    <div class="tabs" role="tablist" aria-label={props.label} onKeyDown={onKey} ref={list}>
      {props.tabs.map(([key, label]) => (
        <button
          type="button"
          role="tab"
          key={key}
          id={`tab-${key}`}
          aria-selected={key === props.value}
          tabIndex={key === props.value ? 0 : -1}
          onClick={() => props.onChange(key)}
        >
          {label}
        </button>
      ))}
    </div>
  );
}

/** A table's header row; `actions` adds the (visually hidden) column of row buttons. */
export function TableHead(props: { columns: string[]; actions?: boolean }) {
  return (
    <thead>
      <tr>
        {props.columns.map((c) => <th key={c} scope="col">{c}</th>)}
        {props.actions && (
          <th scope="col">
            <span class="sr-only">Actions</span>
          </th>
        )}
      </tr>
    </thead>
  );
}
