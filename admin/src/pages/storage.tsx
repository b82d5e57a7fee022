import { useEffect, useRef, useState } from "preact/hooks";
import { type Api, api, type AppSummary } from "../api.ts";
import { navigate } from "../router.ts";
import { BulkBar, SelectAll, SelectOne, useSelection } from "../bulk_actions.tsx";
import { JsonPanel } from "../json_panel.tsx";
import {
  bytes,
  Card,
  Confirm,
  dateTime,
  Empty,
  ErrorBox,
  Link,
  number,
  Page,
  Show,
  Spinner,
  TableHead,
  Tabs,
  toast,
  useLoad,
} from "../ui.tsx";

const enc = encodeURIComponent;
const keyPath = (key: string) => key.split("/").map(enc).join("/");

type Kind = "kv" | "denokv" | "docs" | "blobs";

function preview(value: unknown): string {
  const s = JSON.stringify(value);
  return s.length > 120 ? s.slice(0, 117) + "…" : s;
}

/** A paged list: the first page, then "Load more" with the cursor. */
function usePaged<T>(url: (cursor?: string) => string, deps: unknown[]) {
  const [extra, setExtra] = useState<{ items: T[]; cursor: string | null }>({
    items: [],
    cursor: null,
  });
  const first = useLoad(async (signal) => {
    const page = await api<Api.Page<T>>(url(), { signal });
    setExtra({ items: [], cursor: page.cursor });
    return page;
  }, deps);
  const [more, setMore] = useState(false);
  const loadMore = async () => {
    if (!extra.cursor) return;
    setMore(true);
    try {
      const page = await api<Api.Page<T>>(url(extra.cursor));
      setExtra((e) => ({ items: [...e.items, ...page.items], cursor: page.cursor }));
    } catch (err) {
      toast((err as Error).message, "bad");
    } finally {
      setMore(false);
    }
  };
  const items = first.data ? [...first.data.items, ...extra.items] : [];
  return { first, items, cursor: extra.cursor, loadMore, loadingMore: more };
}

function DeleteButton(props: { what: string; url: string; onDone: () => void }) {
  const [asking, setAsking] = useState(false);
  return (
    <>
      <button
        type="button"
        class="btn small danger-ghost"
        onClick={() => setAsking(true)}
        aria-label={`Delete ${props.what}`}
      >
        Delete
      </button>
      {asking && (
        <Confirm
          title="Delete this entry?"
          message={
            <p>
              Delete <code>{props.what}</code>? The app loses it for good.
            </p>
          }
          action="Delete"
          onClose={() => setAsking(false)}
          onConfirm={async () => {
            await api(props.url, { method: "DELETE" });
            toast(`Deleted ${props.what}`);
            props.onDone();
          }}
        />
      )}
    </>
  );
}

function More(props: { cursor: string | null; loading: boolean; onMore: () => void }) {
  if (!props.cursor) return null;
  return (
    <div class="row center">
      <button type="button" class="btn" onClick={props.onMore} disabled={props.loading}>
        {props.loading ? "Loading…" : "Load more"}
      </button>
    </div>
  );
}

/** A paged list of an app's keys (`kv` or `blobs`) under the prefix the user types. */
function usePrefixed<T>(app: string, kind: "kv" | "blobs") {
  const [prefix, setPrefix] = useState("");
  const base = `/api/apps/${enc(app)}/${kind}`;
  const list = usePaged<T>(
    (cursor) =>
      `${base}?${new URLSearchParams({ prefix, limit: "100", ...(cursor ? { cursor } : {}) })}`,
    [app, prefix],
  );
  return { prefix, setPrefix, base, list };
}

function PrefixFilter(props: { label: string; value: string; onChange: (v: string) => void }) {
  return (
    <input
      type="search"
      class="block"
      placeholder="Filter by key prefix"
      aria-label={props.label}
      value={props.value}
      onInput={(e) => props.onChange((e.target as HTMLInputElement).value)}
    />
  );
}

/** Orders numbers as numbers and text naturally ("doc2" before "doc10"). */
const natural = new Intl.Collator(undefined, { numeric: true, sensitivity: "base" });

function KvBrowser(props: { app: string }) {
  const { prefix, setPrefix, base, list } = usePrefixed<Api.KvEntry>(props.app, "kv");
  const [open, setOpen] = useState<Api.KvEntry>();
  const selection = useSelection();
  // Values saved from the panel, shown without reloading the pages loaded.
  const [edited, setEdited] = useState<Record<string, Api.KvEntry>>({});
  // The node lists keys in byte order ("key10" before "key2"); people read them naturally.
  const items = list.items.map((i) => edited[i.key] ?? i)
    .sort((a, b) => natural.compare(a.key, b.key));
  const opener = useRef<HTMLElement | null>(null);
  const panel = useRef<HTMLElement>(null);
  useEffect(() => {
    if (open) panel.current?.focus();
  }, [open?.key]); // a saved value keeps focus where it is
  const close = () => {
    setOpen(undefined);
    requestAnimationFrame(() => opener.current?.focus());
  };
  return (
    <Card title="Key-value">
      <PrefixFilter label="Key prefix" value={prefix} onChange={setPrefix} />
      <Show state={list.first}>
        {() =>
          items.length === 0
            ? (
              <Empty title={prefix ? "No keys with this prefix" : "No keys"}>
                Keys appear here when the app's server code calls{" "}
                <code>ctx.kv.set(key, value)</code>.
              </Empty>
            )
            : (
              <>
                <BulkBar
                  noun="key"
                  selection={selection}
                  rows={items.map((i) => ({ key: i.key, row: { ...i } }))}
                  file={`${props.app}-kv`}
                  deleteUrl={(key) => `${base}/${keyPath(key)}`}
                  onDeleted={list.first.reload}
                />
                <div class={"docs-view" + (open ? " with-panel" : "")}>
                  <div class="table-wrap">
                    <table class="table responsive">
                      <thead>
                        <tr>
                          <th scope="col" class="pick">
                            <SelectAll
                              selection={selection}
                              shown={items.map((i) => i.key)}
                              label="Select every key shown"
                            />
                          </th>
                          <th scope="col">Key</th>
                          <th scope="col">Value</th>
                          <th scope="col">Expires</th>
                          <th scope="col">
                            <span class="sr-only">Actions</span>
                          </th>
                        </tr>
                      </thead>
                      <tbody>
                        {items.map((i) => (
                          <tr key={i.key} class={open?.key === i.key ? "selected" : ""}>
                            <td class="pick">
                              <SelectOne
                                selection={selection}
                                k={i.key}
                                label={`Select ${i.key}`}
                              />
                            </td>
                            <td data-label="Key">
                              <button
                                type="button"
                                class="linkish mono"
                                aria-expanded={open?.key === i.key}
                                onClick={(e) => {
                                  opener.current = e.currentTarget as HTMLElement;
                                  setOpen(i);
                                }}
                              >
                                {i.key}
                              </button>
                            </td>
                            <td data-label="Value" class="mono small ellipsis">
                              {preview(i.value)}
                            </td>
                            <td data-label="Expires">
                              {i.expires_at ? dateTime(i.expires_at) : "never"}
                            </td>
                            <td class="actions">
                              <DeleteButton
                                what={i.key}
                                url={`${base}/${keyPath(i.key)}`}
                                onDone={list.first.reload}
                              />
                            </td>
                          </tr>
                        ))}
                      </tbody>
                    </table>
                  </div>
                  {open && (
                    <JsonPanel
                      key={open.key}
                      label={`Value of ${open.key}`}
                      title={open.key}
                      value={open.value}
                      editLabel="Value (JSON; its expiry stays)"
                      save={async (v) => {
                        const saved = await api<Api.KvReplaced>(`${base}/${keyPath(open.key)}`, {
                          method: "PUT",
                          body: { value: v },
                        });
                        const entry = { ...open, value: saved.value };
                        setEdited((e) => ({ ...e, [open.key]: entry }));
                        setOpen(entry);
                      }}
                      panel={panel}
                      onClose={close}
                    />
                  )}
                </div>
                <More cursor={list.cursor} loading={list.loadingMore} onMore={list.loadMore} />
              </>
            )}
      </Show>
    </Card>
  );
}

/** What the app keeps with `Deno.openKv()`: read-only, keys in Deno KV's order. */
function DenoKvBrowser(props: { app: string }) {
  const base = `/api/apps/${enc(props.app)}/denokv`;
  const list = usePaged<Api.DenoKvEntry>(
    (cursor) => `${base}?${new URLSearchParams({ limit: "100", ...(cursor ? { cursor } : {}) })}`,
    [props.app],
  );
  return (
    <Card title="Deno KV">
      <Show state={list.first}>
        {() =>
          list.items.length === 0
            ? (
              <Empty title="No Deno KV entries">
                Entries appear here when the app's code writes through <code>Deno.openKv()</code>.
              </Empty>
            )
            : (
              <>
                <table class="table responsive">
                  <TableHead columns={["Key", "Value", "Versionstamp", "Expires"]} />
                  <tbody>
                    {list.items.map((i) => (
                      <tr key={i.key}>
                        <td data-label="Key" class="mono">{i.key}</td>
                        <td data-label="Value" class="mono small ellipsis">{i.value}</td>
                        <td data-label="Versionstamp" class="mono small">{i.versionstamp}</td>
                        <td data-label="Expires">
                          {i.expires_at ? dateTime(i.expires_at) : "never"}
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
                <More cursor={list.cursor} loading={list.loadingMore} onMore={list.loadMore} />
              </>
            )}
      </Show>
    </Card>
  );
}

/** The fields most documents have, after `id`: the table's columns. */
function docColumns(docs: Api.Doc[], max = 6): string[] {
  const seen = new Map<string, number>();
  for (const d of docs) {
    for (const k of Object.keys(d)) if (k !== "id") seen.set(k, (seen.get(k) ?? 0) + 1);
  }
  return [...seen].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).slice(0, max)
    .map(([k]) => k);
}

function cell(value: unknown): string {
  if (value === undefined) return "";
  if (typeof value === "string") return value.length > 80 ? value.slice(0, 79) + "…" : value;
  return preview(value);
}

function compare(a: unknown, b: unknown): number {
  if (typeof a === "number" && typeof b === "number") return a - b;
  if (a === undefined) return b === undefined ? 0 : 1;
  if (b === undefined) return -1;
  return natural.compare(
    typeof a === "string" ? a : JSON.stringify(a),
    typeof b === "string" ? b : JSON.stringify(b),
  );
}

/** Documents as a table (a column per common field, sortable, searchable) with a side panel. */
function DocList(
  props: { base: string; collection: string; filter: string; onChanged: () => void },
) {
  const { base, collection, filter } = props;
  const docs = usePaged<Api.Doc>(
    (cursor) =>
      `${base}/${enc(collection)}?${new URLSearchParams({
        limit: "50",
        ...(filter ? { filter } : {}),
        ...(cursor ? { cursor } : {}),
      })}`,
    [base, collection, filter],
  );
  const [sort, setSort] = useState<{ field: string; desc: boolean }>({ field: "id", desc: false });
  const [search, setSearch] = useState("");
  const [open, setOpen] = useState<string>();
  // Documents saved from the panel, shown without reloading the pages loaded.
  const [edited, setEdited] = useState<Record<string, Api.Doc>>({});
  const selection = useSelection();
  const opener = useRef<HTMLElement | null>(null);
  const panel = useRef<HTMLElement>(null);
  useEffect(() => {
    if (open !== undefined) panel.current?.focus();
  }, [open]);
  const close = () => {
    setOpen(undefined);
    requestAnimationFrame(() => opener.current?.focus());
  };
  const docUrl = (id: string) => `${base}/${enc(collection)}/${enc(id)}`;
  return (
    <Show state={docs.first}>
      {() => {
        const items = docs.items.map((d) => edited[String(d.id)] ?? d);
        if (items.length === 0) return <Empty title="No documents match" />;
        const columns = ["id", ...docColumns(items)];
        const needle = search.trim().toLowerCase();
        const shown = items
          .filter((d) => !needle || JSON.stringify(d).toLowerCase().includes(needle))
          .sort((a, b) => (sort.desc ? -1 : 1) * compare(a[sort.field], b[sort.field]));
        const current = items.find((d) => String(d.id) === open);
        return (
          <>
            <input
              type="search"
              class="block"
              aria-label="Search the loaded documents"
              placeholder="Search the loaded documents"
              value={search}
              onInput={(e) => setSearch((e.target as HTMLInputElement).value)}
            />
            <BulkBar
              noun="document"
              selection={selection}
              rows={shown.map((d) => ({ key: String(d.id), row: d }))}
              file={`${collection}`}
              deleteUrl={docUrl}
              onDeleted={() => {
                if (open !== undefined && selection.has(open)) setOpen(undefined);
                docs.first.reload();
                props.onChanged();
              }}
            />
            <div class={"docs-view" + (current ? " with-panel" : "")}>
              <div class="table-wrap">
                <table class="table responsive docs-table">
                  <thead>
                    <tr>
                      <th scope="col" class="pick">
                        <SelectAll
                          selection={selection}
                          shown={shown.map((d) => String(d.id))}
                          label="Select every document shown"
                        />
                      </th>
                      {columns.map((c) => (
                        <th
                          key={c}
                          scope="col"
                          aria-sort={sort.field === c
                            ? (sort.desc ? "descending" : "ascending")
                            : undefined}
                        >
                          <button
                            type="button"
                            class="linkish sort"
                            onClick={() =>
                              setSort({ field: c, desc: sort.field === c && !sort.desc })}
                          >
                            {c}
                            {sort.field === c ? (sort.desc ? " ↓" : " ↑") : ""}
                          </button>
                        </th>
                      ))}
                      <th scope="col">
                        <span class="sr-only">Actions</span>
                      </th>
                    </tr>
                  </thead>
                  <tbody>
                    {shown.map((d) => (
                      <tr key={String(d.id)} class={String(d.id) === open ? "selected" : ""}>
                        <td class="pick">
                          <SelectOne
                            selection={selection}
                            k={String(d.id)}
                            label={`Select ${String(d.id)}`}
                          />
                        </td>
                        {columns.map((c) => (
                          <td key={c} data-label={c} class={c === "id" ? "mono" : ""}>
                            {c === "id"
                              ? (
                                <button
                                  type="button"
                                  class="linkish mono"
                                  aria-label={`View ${String(d.id)}`}
                                  onClick={(e) => {
                                    opener.current = e.currentTarget as HTMLElement;
                                    setOpen(String(d.id));
                                  }}
                                >
                                  {String(d.id)}
                                </button>
                              )
                              : cell(d[c])}
                          </td>
                        ))}
                        <td class="actions">
                          <DeleteButton
                            what={`${collection}/${String(d.id)}`}
                            url={docUrl(String(d.id))}
                            onDone={() => {
                              if (String(d.id) === open) {
                                setOpen(undefined);
                              }
                              docs.first.reload();
                              props.onChanged();
                            }}
                          />
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
                {shown.length === 0 && <Empty title="No loaded document matches the search" />}
              </div>
              {current && (
                <JsonPanel
                  key={String(current.id)}
                  label={`Document ${String(current.id)}`}
                  title={String(current.id)}
                  value={current}
                  editLabel="Document (JSON; the id stays)"
                  check={(v) =>
                    typeof v !== "object" || v === null || Array.isArray(v)
                      ? "A document is a JSON object: { … }."
                      : undefined}
                  save={async (v) => {
                    const saved = await api<Api.DocReplaced>(docUrl(String(current.id)), {
                      method: "PUT",
                      body: v,
                    });
                    setEdited((e) => ({ ...e, [saved.id]: saved.doc }));
                  }}
                  panel={panel}
                  onClose={close}
                />
              )}
            </div>
            <p class="muted small">
              {number(docs.items.length)}{" "}
              loaded{docs.cursor ? ", more below" : ""}; sorting and search apply to the loaded
              documents, the query above to the whole collection.
            </p>
            <More cursor={docs.cursor} loading={docs.loadingMore} onMore={docs.loadMore} />
          </>
        );
      }}
    </Show>
  );
}

function DocsBrowser(props: { app: string }) {
  const base = `/api/apps/${enc(props.app)}/docs`;
  const collections = useLoad(
    (signal) => api<Api.Collection[]>(base, { signal }),
    [props.app],
  );
  const [collection, setCollection] = useState<string>();
  const [query, setQuery] = useState("");
  const [applied, setApplied] = useState("");
  const [queryError, setQueryError] = useState<string>();
  const current = collection ?? collections.data?.[0]?.collection;
  const run = (e: Event) => {
    e.preventDefault();
    const text = query.trim();
    if (text) {
      try {
        const parsed = JSON.parse(text);
        if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
          throw new Error("not an object");
        }
      } catch {
        setQueryError(
          'The query must be a JSON object, e.g. {"status": "open"} or {"age": {"$gt": 30}}.',
        );
        return;
      }
    }
    setQueryError(undefined);
    setApplied(text);
  };
  return (
    <Card title="Documents">
      <Show state={collections}>
        {(cols) =>
          cols.length === 0
            ? (
              <Empty title="No collections">
                Collections appear when the app calls <code>ctx.docs.insert(collection, doc)</code>.
              </Empty>
            )
            : (
              <>
                <div class="row wrap">
                  <label class="field inline">
                    <span>Collection</span>
                    <select
                      value={current}
                      onChange={(e) => {
                        setCollection((e.target as HTMLSelectElement).value);
                        setApplied("");
                        setQuery("");
                      }}
                    >
                      {cols.map((c) => (
                        <option key={c.collection} value={c.collection}>
                          {c.collection} ({number(c.count)})
                        </option>
                      ))}
                    </select>
                  </label>
                </div>
                <form class="row wrap query" onSubmit={run}>
                  <input
                    class="grow mono"
                    aria-label="Query (a JSON filter)"
                    placeholder='{"status": "open"}'
                    value={query}
                    onInput={(e) => setQuery((e.target as HTMLInputElement).value)}
                  />
                  <button type="submit" class="btn">Run query</button>
                </form>
                {queryError && <div class="notice error" role="alert">{queryError}</div>}
                {current && (
                  <DocList
                    base={base}
                    collection={current}
                    filter={applied}
                    onChanged={collections.reload}
                  />
                )}
              </>
            )}
      </Show>
    </Card>
  );
}

function BlobsBrowser(props: { app: string }) {
  const { prefix, setPrefix, base, list } = usePrefixed<Api.BlobInfo>(props.app, "blobs");
  return (
    <Card title="Blobs">
      <PrefixFilter label="Blob key prefix" value={prefix} onChange={setPrefix} />
      <Show state={list.first}>
        {() =>
          list.items.length === 0
            ? (
              <Empty title="No blobs">
                Blobs appear when the app calls <code>ctx.blobs.put(key, bytes)</code>.
              </Empty>
            )
            : (
              <>
                <table class="table responsive">
                  <TableHead columns={["Key", "Type", "Size", "Updated"]} actions />
                  <tbody>
                    {list.items.map((b) => (
                      <tr key={b.key}>
                        <td data-label="Key">
                          <a
                            class="mono"
                            href={`${base}/${keyPath(b.key)}`}
                            download={b.key.split("/").pop()}
                          >
                            {b.key}
                          </a>
                        </td>
                        <td data-label="Type" class="small">{b.content_type}</td>
                        <td data-label="Size">{bytes(b.size)}</td>
                        <td data-label="Updated">{dateTime(b.updated_at)}</td>
                        <td class="actions">
                          <DeleteButton
                            what={b.key}
                            url={`${base}/${keyPath(b.key)}`}
                            onDone={list.first.reload}
                          />
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
                <More cursor={list.cursor} loading={list.loadingMore} onMore={list.loadMore} />
              </>
            )}
      </Show>
    </Card>
  );
}

export function StoragePage(props: { app: string }) {
  const apps = useLoad((signal) => api<AppSummary[]>("/api/apps", { signal }), []);
  const [kind, setKind] = useState<Kind>("kv");
  const app = props.app || apps.data?.find((a) => a.server_code)?.name || apps.data?.[0]?.name ||
    "";
  return (
    <Page
      title="Storage"
      actions={apps.data && apps.data.length > 0 && (
        <select
          aria-label="App"
          value={app}
          onChange={(e) =>
            navigate(`/storage?app=${enc((e.target as HTMLSelectElement).value)}`, true)}
        >
          {apps.data.map((a) => <option key={a.name} value={a.name}>{a.name}</option>)}
        </select>
      )}
    >
      {apps.error
        ? <ErrorBox error={apps.error} retry={apps.reload} />
        : !apps.data
        ? <Spinner />
        : !app
        ? (
          <Card>
            <Empty title="No apps, so no data">
              Apps with server code keep key-value pairs, documents and blobs here.{" "}
              <Link href="/apps">Deploy one.</Link>
            </Empty>
          </Card>
        )
        : (
          <>
            <Tabs
              label="Kind of data"
              tabs={[
                ["kv", "Key-value"],
                ["denokv", "Deno KV"],
                ["docs", "Documents"],
                ["blobs", "Blobs"],
              ]}
              value={kind}
              onChange={setKind}
            />
            <div role="tabpanel" aria-labelledby={`tab-${kind}`}>
              {kind === "kv" && <KvBrowser key={app} app={app} />}
              {kind === "denokv" && <DenoKvBrowser key={app} app={app} />}
              {kind === "docs" && <DocsBrowser key={app} app={app} />}
              {kind === "blobs" && <BlobsBrowser key={app} app={app} />}
            </div>
          </>
        )}
    </Page>
  );
}
