import { useState } from "preact/hooks";
import { type Api, api, type AppSummary } from "../api.ts";
import { navigate } from "../router.ts";
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

function KvBrowser(props: { app: string }) {
  const { prefix, setPrefix, base, list } = usePrefixed<Api.KvEntry>(props.app, "kv");
  const [open, setOpen] = useState<Api.KvEntry>();
  return (
    <Card title="Key-value">
      <PrefixFilter label="Key prefix" value={prefix} onChange={setPrefix} />
      <Show state={list.first}>
        {() =>
          list.items.length === 0
            ? (
              <Empty title={prefix ? "No keys with this prefix" : "No keys"}>
                Keys appear here when the app's server code calls{" "}
                <code>ctx.kv.set(key, value)</code>.
              </Empty>
            )
            : (
              <>
                <table class="table responsive">
                  <TableHead columns={["Key", "Value", "Expires"]} actions />
                  <tbody>
                    {list.items.map((i) => (
                      <tr key={i.key}>
                        <td data-label="Key">
                          <button type="button" class="linkish mono" onClick={() => setOpen(i)}>
                            {i.key}
                          </button>
                        </td>
                        <td data-label="Value" class="mono small ellipsis">{preview(i.value)}</td>
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
                <More cursor={list.cursor} loading={list.loadingMore} onMore={list.loadMore} />
              </>
            )}
      </Show>
      {open && (
        <dialog open class="inline-view" aria-label={`Value of ${open.key}`}>
          <div class="dialog-head">
            <h2 class="mono">{open.key}</h2>
            <button
              type="button"
              class="icon-btn"
              aria-label="Close"
              onClick={() => setOpen(undefined)}
            >
              ×
            </button>
          </div>
          <pre class="code">{JSON.stringify(open.value, null, 2)}</pre>
        </dialog>
      )}
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
  return (
    <Show state={docs.first}>
      {() =>
        docs.items.length === 0 ? <Empty title="No documents match" /> : (
          <>
            <ul class="docs">
              {docs.items.map((d) => (
                <li key={String(d.id)}>
                  <div class="row between">
                    <code class="strong">{String(d.id)}</code>
                    <DeleteButton
                      what={`${collection}/${String(d.id)}`}
                      url={`${base}/${enc(collection)}/${enc(String(d.id))}`}
                      onDone={() => {
                        docs.first.reload();
                        props.onChanged();
                      }}
                    />
                  </div>
                  <pre class="code small">{JSON.stringify(d, null, 2)}</pre>
                </li>
              ))}
            </ul>
            <More cursor={docs.cursor} loading={docs.loadingMore} onMore={docs.loadMore} />
          </>
        )}
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
