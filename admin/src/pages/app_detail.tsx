import { useEffect, useRef, useState } from "preact/hooks";
import { type Api, api, type AppDetail as Detail, type LogEntry, type Version } from "../api.ts";
import { navigate } from "../router.ts";
import {
  ago,
  Badge,
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
  Tabs,
  toast,
  useLoad,
} from "../ui.tsx";
import { DeployBox } from "./apps.tsx";
import { AnalyticsView } from "./analytics.tsx";
import { Jobs } from "./app_jobs.tsx";
import { visibleName } from "../visible_name.ts";
import { CertBadge, CertProblem } from "../cert_state.tsx";

type Tab =
  | "versions"
  | "files"
  | "server"
  | "logs"
  | "jobs"
  | "analytics"
  | "domains"
  | "danger";
const TABS: [Tab, string][] = [
  ["versions", "Versions"],
  ["files", "Files"],
  ["server", "Server & env"],
  ["logs", "Logs"],
  ["jobs", "Jobs"],
  ["analytics", "Analytics"],
  ["domains", "Domains"],
  ["danger", "Delete"],
];

const enc = encodeURIComponent;

export function AppDetail(props: { name: string; tab: string | null }) {
  const state = useLoad((signal) => api<Detail>(`/api/apps/${enc(props.name)}`, { signal }), [
    props.name,
  ]);
  const tab = (TABS.find(([k]) => k === props.tab)?.[0] ?? "versions") as Tab;
  const setTab = (t: Tab) =>
    navigate(`/apps/${enc(props.name)}${t === "versions" ? "" : `?tab=${t}`}`, true);
  return (
    <Page
      title={props.name}
      actions={state.data?.live_version != null && (
        <a class="btn" href={state.data.url} target="_blank" rel="noopener noreferrer">
          Open site ↗
        </a>
      )}
    >
      <p class="crumbs">
        <Link href="/apps">← All apps</Link>
      </p>
      <Show state={state}>
        {(app) => (
          <>
            <div class="stats compact">
              <div class="stat">
                <div class="stat-label">Live version</div>
                <div class="stat-value">
                  {app.live_version === null ? "none" : `v${app.live_version}`}
                </div>
              </div>
              <div class="stat">
                <div class="stat-label">Versions kept</div>
                <div class="stat-value">{app.versions.length}</div>
              </div>
              <div class="stat">
                <div class="stat-label">Server code</div>
                <div class="stat-value">{app.server?.code ? "yes" : "no"}</div>
              </div>
              <div class="stat">
                <div class="stat-label">Stored data</div>
                <div class="stat-value small-value">
                  {bytes(app.usage.stored_bytes)}
                  {app.limits.max_storage_bytes > 0 && (
                    <span class="muted">{` of ${bytes(app.limits.max_storage_bytes)}`}</span>
                  )}
                </div>
              </div>
              <div class="stat">
                <div class="stat-label">Created</div>
                <div class="stat-value small-value">{ago(app.created_at)}</div>
              </div>
            </div>
            <Tabs label="App sections" tabs={TABS} value={tab} onChange={setTab} />
            <div role="tabpanel" aria-labelledby={`tab-${tab}`}>
              {tab === "versions" && <Versions app={app} reload={state.reload} />}
              {tab === "files" && <Files app={app} />}
              {tab === "server" && <ServerInfo app={app} />}
              {tab === "logs" && <Logs name={app.name} />}
              {tab === "jobs" && <Jobs name={app.name} />}
              {tab === "analytics" && <AnalyticsView app={app.name} compact />}
              {tab === "domains" && <Domains app={app} />}
              {tab === "danger" && <Danger name={app.name} />}
            </div>
          </>
        )}
      </Show>
    </Page>
  );
}

function previewUrl(app: Detail, n: number): string {
  const u = new URL(app.url);
  const [label, ...rest] = u.hostname.split(".");
  const base = app.name === "root" ? u.hostname : rest.join(".");
  u.hostname = `${app.name === "root" ? "root" : label}--v${n}.${base}`;
  return u.origin;
}

/** A count with its noun, singular when it is one. */
function plural(n: number, noun: string): string {
  return `${number(n)} ${noun}${n === 1 ? "" : "s"}`;
}

/** What a version is, as the node records it (never guessed from its number). */
function VersionState(props: { v: Version }) {
  const { v } = props;
  if (v.state === "live") {
    return (
      <>
        <Badge tone="ok">live</Badge>
        {v.live_from && <span class="muted small">since {dateTime(v.live_from)}</span>}
      </>
    );
  }
  if (v.state === "previous") {
    return (
      <>
        <Badge>was live</Badge>
        <span class="muted small">
          {dateTime(v.live_from)} – {dateTime(v.live_until)}
        </span>
      </>
    );
  }
  return <Badge tone="info">draft</Badge>;
}

function Versions(props: { app: Detail; reload: () => void }) {
  const { app } = props;
  const [asking, setAsking] = useState<Version>();
  // The row to put focus back on once the list shows the change.
  const focusRow = useRef<number | undefined>(undefined);
  useEffect(() => {
    const n = focusRow.current;
    if (n === undefined) return;
    focusRow.current = undefined;
    document.getElementById(`version-${n}`)?.focus();
  }, [app]);
  const older = (n: number) => app.live_version !== null && n < app.live_version;
  const verb = (v: Version) =>
    older(v.number) ? `Roll back to v${v.number}` : `Make v${v.number} live`;
  return (
    <>
      <Card title="Versions">
        {app.versions.length === 0
          ? <Empty title="No versions">Deploy one below.</Empty>
          : (
            <ul class="versions">
              {app.versions.map((v) => (
                <li
                  key={v.number}
                  id={`version-${v.number}`}
                  tabIndex={-1}
                  class={v.live ? "live" : ""}
                  aria-label={`v${v.number}, ${v.state === "previous" ? "was live" : v.state}`}
                >
                  <div class="v-main">
                    <strong>v{v.number}</strong> <VersionState v={v} />
                    <div class="muted small">
                      {plural(v.files, "file")} · {bytes(v.bytes)} · deployed{" "}
                      {dateTime(v.created_at)}
                      {v.deployed_by && ` by ${v.deployed_by}`}
                    </div>
                  </div>
                  <div class="v-actions">
                    {!v.live && (
                      <>
                        <a
                          class="btn small"
                          href={previewUrl(app, v.number)}
                          target="_blank"
                          rel="noopener noreferrer"
                        >
                          Preview
                        </a>
                        <button type="button" class="btn small" onClick={() => setAsking(v)}>
                          {verb(v)}
                        </button>
                      </>
                    )}
                  </div>
                </li>
              ))}
            </ul>
          )}
      </Card>
      {asking && (
        <Confirm
          title={`${verb(asking)}?`}
          tone="primary"
          message={
            <p>
              <strong>{app.name}</strong> will serve v{asking.number} to every visitor right away
              {app.live_version !== null && <>, instead of v{app.live_version}</>}. You can switch
              back at any time.
            </p>
          }
          action={verb(asking)}
          onClose={() => {
            const n = asking.number;
            setAsking(undefined);
            // Focus goes back to the row, whether it changed or not.
            requestAnimationFrame(() => document.getElementById(`version-${n}`)?.focus());
          }}
          onConfirm={async () => {
            await api(`/api/apps/${enc(app.name)}/rollback`, {
              method: "POST",
              body: { version: asking.number },
            });
            toast(`v${asking.number} of ${app.name} is live`);
            focusRow.current = asking.number;
            props.reload();
          }}
        />
      )}
      <Card title="Deploy a new version">
        <DeployBox fixedName={app.name} onDeployed={props.reload} />
      </Card>
    </>
  );
}

const PREVIEW_MAX = 512 * 1024;

function Files(props: { app: Detail }) {
  const { app } = props;
  const [version, setVersion] = useState<number | undefined>(
    app.live_version ?? app.versions[0]?.number,
  );
  const [filter, setFilter] = useState("");
  const [open, setOpen] = useState<string>();
  // The folder shown ("" is the root; otherwise ends with "/").
  const [dir, setDir] = useState("");
  const list = useLoad(
    (signal) =>
      api<Api.FileList>(`/api/apps/${enc(app.name)}/files${version ? `?version=${version}` : ""}`, {
        signal,
      }),
    [app.name, version],
  );
  if (!version) {
    return (
      <Card>
        <Empty title="No versions yet">Deploy one to browse its files.</Empty>
      </Card>
    );
  }
  return (
    <div class="split">
      <Card
        title="Files"
        actions={
          <select
            aria-label="Version"
            value={version}
            onChange={(e) => {
              setVersion(Number((e.target as HTMLSelectElement).value));
              setOpen(undefined);
              setDir("");
            }}
          >
            {app.versions.map((v) => (
              <option key={v.number} value={v.number}>v{v.number}{v.live ? " (live)" : ""}</option>
            ))}
          </select>
        }
      >
        <input
          type="search"
          class="block"
          placeholder="Filter paths"
          aria-label="Filter paths"
          value={filter}
          onInput={(e) => setFilter((e.target as HTMLInputElement).value)}
        />
        <Show state={list}>
          {(l) => (
            <FileTree
              app={app.name}
              version={version}
              files={l.files}
              filter={filter}
              dir={dir}
              setDir={setDir}
              open={open}
              setOpen={setOpen}
            />
          )}
        </Show>
      </Card>
      <Card title={open === undefined ? "Preview" : visibleName(open)}>
        {open
          ? <Preview app={app.name} version={version} path={open} />
          : (
            <Empty title="Pick a file">
              Its content is shown here: text as text, images as images.
            </Empty>
          )}
      </Card>
    </div>
  );
}

/** Saves one file of a version: read through the API (with the session), kept by the browser. */
async function downloadFile(app: string, version: number, path: string): Promise<void> {
  const f = await api<Api.FileContent>(
    `/api/apps/${enc(app)}/files/${path.split("/").map(enc).join("/")}?version=${version}`,
  );
  // Not `Uint8Array.fromBase64`: the dashboard declares no browser floor, and
  // that arrived only in Chromium 140, Safari 18.2 and Firefox 133; `atob`
  // works in every browser an owner may still have.
  const body = f.encoding === "utf-8"
    ? f.content
    : Uint8Array.from(atob(f.content), (c) => c.charCodeAt(0));
  const url = URL.createObjectURL(new Blob([body], { type: f.content_type }));
  const a = document.createElement("a");
  a.href = url;
  a.download = path.slice(path.lastIndexOf("/") + 1);
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

/**
 * A version's files folder by folder, with a path of links back up; a
 * filter searches every folder and lists whole paths. Each file has its
 * download button.
 */
function FileTree(props: {
  app: string;
  version: number;
  files: Api.FileEntry[];
  filter: string;
  dir: string;
  setDir: (d: string) => void;
  open?: string;
  setOpen: (p: string) => void;
}) {
  const { dir, filter } = props;
  const matching = filter
    ? props.files.filter((f) => f.path.includes(filter))
    : props.files.filter((f) => f.path.startsWith(dir));
  const folders = new Map<string, { files: number; bytes: number }>();
  const here: Api.FileEntry[] = [];
  for (const f of matching) {
    const rest = f.path.slice(filter ? 0 : dir.length);
    const slash = rest.indexOf("/");
    if (filter || slash === -1) here.push(f);
    else {
      const name = rest.slice(0, slash + 1);
      const c = folders.get(name) ?? { files: 0, bytes: 0 };
      c.files++;
      c.bytes += f.size;
      folders.set(name, c);
    }
  }
  const crumbs = dir.split("/").filter(Boolean);
  const go = (d: string) => {
    props.setDir(d);
    requestAnimationFrame(() =>
      (document.querySelector(".files li button") as HTMLElement | null)?.focus()
    );
  };
  return (
    <div class="stack">
      {!filter && (
        <nav aria-label="Folder" class="file-crumbs">
          {crumbs.length === 0
            ? <span aria-current="location">All files</span>
            : <button type="button" class="linkish" onClick={() => go("")}>All files</button>}
          {crumbs.map((c, i) => {
            const to = crumbs.slice(0, i + 1).join("/") + "/";
            return (
              <span key={to}>
                {" / "}
                {i === crumbs.length - 1
                  ? <span aria-current="location">{visibleName(c)}</span>
                  : (
                    <button type="button" class="linkish" onClick={() => go(to)}>
                      {visibleName(c)}
                    </button>
                  )}
              </span>
            );
          })}
        </nav>
      )}
      {folders.size === 0 && here.length === 0
        ? <Empty title="No files match" />
        : (
          <ul class="files">
            {[...folders].sort(([a], [b]) => NATURAL_ORDER.compare(a, b)).map(([name, c]) => (
              <li key={name}>
                <button
                  type="button"
                  class="file folder"
                  onClick={() => go(dir + name)}
                >
                  <span class="ellipsis" title={visibleName(dir + name)}>
                    <span class="sr-only">folder</span>
                    {visibleName(name)}
                  </span>
                  <span class="muted small">
                    {plural(c.files, "file")} · {bytes(c.bytes)}
                  </span>
                </button>
              </li>
            ))}
            {here.map((f) => {
              const name = filter ? f.path : f.path.slice(dir.length);
              return (
                <li key={f.path} class="file-row">
                  <button
                    type="button"
                    class={"file" + (props.open === f.path ? " selected" : "")}
                    aria-pressed={props.open === f.path}
                    onClick={() => props.setOpen(f.path)}
                  >
                    <span class="ellipsis" title={visibleName(f.path)}>{visibleName(name)}</span>
                    <span class="muted small">{bytes(f.size)}</span>
                  </button>
                  <button
                    type="button"
                    class="btn small"
                    aria-label={`Download ${visibleName(f.path)}`}
                    onClick={() =>
                      downloadFile(props.app, props.version, f.path).catch((err) =>
                        toast((err as Error).message, "bad")
                      )}
                  >
                    Download
                  </button>
                </li>
              );
            })}
          </ul>
        )}
    </div>
  );
}

const NATURAL_ORDER = new Intl.Collator(undefined, { numeric: true });

function Preview(props: { app: string; version: number; path: string }) {
  const state = useLoad(
    (signal) =>
      api<Api.FileContent>(
        `/api/apps/${enc(props.app)}/files/${
          props.path.split("/").map(enc).join("/")
        }?version=${props.version}`,
        { signal },
      ),
    [props.app, props.version, props.path],
  );
  return (
    <Show state={state}>
      {(f) => {
        const type = f.content_type.split(";")[0];
        if (f.encoding === "utf-8") {
          const text = f.content.length > PREVIEW_MAX
            ? f.content.slice(0, PREVIEW_MAX) + "\n…"
            : f.content;
          return <pre class="code">{text}</pre>;
        }
        if (/^image\/(png|jpeg|gif|webp|avif|x-icon|vnd\.microsoft\.icon)$/.test(type)) {
          return (
            <img
              class="preview-img"
              alt={visibleName(f.path)}
              src={`data:${type};base64,${f.content}`}
            />
          );
        }
        return <Empty title="No preview">{type}, {bytes(f.size)}: a binary file.</Empty>;
      }}
    </Show>
  );
}

function ServerInfo(props: { app: Detail }) {
  const { app } = props;
  const m = app.server?.manifest;
  return (
    <>
      <Card title="What this app may do">
        {!app.server?.code
          ? (
            <p>
              This app is{" "}
              <strong>static</strong>: it only serves its files. It has no server code, so it cannot
              reach the network or store data.
            </p>
          )
          : (
            <ul class="perms">
              <li>
                It runs server code for <code>/api/*</code>
                {m?.routes.length
                  ? <>and {m.routes.map((r) => <code key={r}>{r}</code>)}</>
                  : null}.
              </li>
              {m?.net.length
                ? m.net.map((h) => (
                  <li key={h}>
                    It may reach <strong>{h}</strong> over the network.
                  </li>
                ))
                : (
                  <li>
                    It may <strong>not</strong> reach the network at all.
                  </li>
                )}
              {m?.net.length ? <li>It may not reach any other host.</li> : null}
              <li>It cannot read or write files, read the node's environment or start programs.</li>
              <li>
                It keeps its own data (key-value, documents, blobs): see{" "}
                <Link href={`/storage?app=${enc(app.name)}`}>Storage</Link>.
              </li>
              {m?.timeout_ms && <li>Each request may run for up to {number(m.timeout_ms)} ms.</li>}
              {m?.memory_mb && <li>It may use up to {number(m.memory_mb)} MB of memory.</li>}
              {m && !m.static_first && <li>Its server code answers before its static files.</li>}
            </ul>
          )}
      </Card>
      <EnvVars name={app.name} />
      <Limits name={app.name} />
    </>
  );
}

const LIMIT_TEXT: Record<Api.AppLimitName, string> = {
  max_storage_bytes: "Bytes stored (KV, documents, blobs)",
  max_rps: "Requests a second to its code",
  max_burst: "Burst of requests above that rate",
  max_concurrent: "Requests to its code at once",
  max_websockets: "Open WebSockets",
};

function limitValue(key: string, n: number): string {
  if (n === 0) return key === "max_burst" ? "one second's worth" : "no limit";
  return key.endsWith("_bytes") ? bytes(n) : number(n);
}

function Limits(props: { name: string }) {
  const state = useLoad(
    (signal) => api<Api.AppLimits>(`/api/apps/${enc(props.name)}/limits`, { signal }),
    [props.name],
  );
  const [key, setKey] = useState<Api.AppLimitName>("max_storage_bytes");
  const [value, setValue] = useState("");
  const [error, setError] = useState<Error>();
  const put = async (body: Record<string, string | null>) => {
    setError(undefined);
    try {
      await api(`/api/apps/${enc(props.name)}/limits`, { method: "PUT", body });
      state.reload();
      return true;
    } catch (err) {
      setError(err as Error);
      return false;
    }
  };
  return (
    <Card title="Limits">
      <Show state={state}>
        {(data) => (
          <>
            <p class="muted small">
              Stores {bytes(data.usage.stored_bytes)}: key-value{" "}
              {bytes(data.usage.kv_bytes)}, documents {bytes(data.usage.docs_bytes)}, blobs{" "}
              {bytes(data.usage.blobs_bytes)}.
            </p>
            <ul class="list">
              {(Object.entries(data.limits) as [Api.AppLimitName, Api.AppLimit][]).map((
                [k, l],
              ) => (
                <li key={k}>
                  <span>{LIMIT_TEXT[k]}</span> <strong>{limitValue(k, l.value)}</strong>
                  {l.overridden
                    ? (
                      <>
                        {" "}
                        <span class="muted">(node default {limitValue(k, l.default)})</span>
                        <button type="button" class="btn small" onClick={() => put({ [k]: null })}>
                          Use default
                        </button>
                      </>
                    )
                    : <span class="muted">(node default)</span>}
                </li>
              ))}
            </ul>
          </>
        )}
      </Show>
      <form
        class="row wrap"
        onSubmit={async (e) => {
          e.preventDefault();
          if (value !== "" && await put({ [key]: value })) setValue("");
        }}
      >
        <select
          aria-label="Limit"
          value={key}
          onChange={(e) => setKey((e.target as HTMLSelectElement).value as Api.AppLimitName)}
        >
          {(Object.keys(LIMIT_TEXT) as Api.AppLimitName[]).map((k) => (
            <option key={k} value={k}>{LIMIT_TEXT[k]}</option>
          ))}
        </select>
        <input
          aria-label="New value"
          placeholder="0 = no limit"
          inputMode="numeric"
          value={value}
          onInput={(e) => setValue((e.target as HTMLInputElement).value)}
        />
        <button type="submit" class="btn" disabled={value === ""}>Set</button>
      </form>
      {error && <ErrorBox error={error} />}
    </Card>
  );
}

function EnvVars(props: { name: string }) {
  const state = useLoad(
    (signal) => api<Api.EnvVar[]>(`/api/apps/${enc(props.name)}/env`, { signal }),
    [props.name],
  );
  const [key, setKey] = useState("");
  const [value, setValue] = useState("");
  const [error, setError] = useState<Error>();
  const names = (data: Api.EnvVar[]): string[] => data.map((v) => v.name);
  // The variable whose removal is being confirmed; the name field takes focus after.
  const [removing, setRemoving] = useState<string>();
  const nameInput = useRef<HTMLInputElement>(null);
  const put = async (body: Record<string, string | null>) => {
    setError(undefined);
    try {
      await api(`/api/apps/${enc(props.name)}/env`, { method: "PUT", body });
      state.reload();
      return true;
    } catch (err) {
      setError(err as Error);
      return false;
    }
  };
  return (
    <Card title="Environment variables">
      <p class="muted small">Values are write-only: the node never shows them again.</p>
      <Show state={state}>
        {(data) =>
          names(data).length === 0
            ? (
              <Empty title="No variables">
                Add one below; the app reads it as <code>env.NAME</code>.
              </Empty>
            )
            : (
              <ul class="list">
                {names(data).map((n) => (
                  <li key={n}>
                    <code>{n}</code> <span class="muted">= ••••••</span>
                    <button
                      type="button"
                      class="btn small"
                      aria-label={`Remove ${n}`}
                      onClick={() => setRemoving(n)}
                    >
                      Remove
                    </button>
                  </li>
                ))}
              </ul>
            )}
      </Show>
      <form
        class="row wrap"
        onSubmit={async (e) => {
          e.preventDefault();
          if (key && await put({ [key]: value })) {
            setKey("");
            setValue("");
          }
        }}
      >
        <input
          ref={nameInput}
          aria-label="Variable name"
          placeholder="NAME"
          value={key}
          onInput={(e) => setKey((e.target as HTMLInputElement).value)}
        />
        <input
          aria-label="Value"
          placeholder="value"
          type="password"
          autoComplete="off"
          value={value}
          onInput={(e) => setValue((e.target as HTMLInputElement).value)}
        />
        <button type="submit" class="btn" disabled={!key}>Set</button>
      </form>
      {error && <ErrorBox error={error} />}
      {removing !== undefined && (
        <Confirm
          title={`Remove ${removing}?`}
          message={
            <p>
              The app's server code stops seeing{" "}
              <code>{removing}</code>: it restarts at once without it. The value cannot be shown
              again, so keep a copy if you may need it.
            </p>
          }
          action="Remove variable"
          onConfirm={async () => {
            await api(`/api/apps/${enc(props.name)}/env`, {
              method: "PUT",
              body: { [removing]: null },
            });
            toast(`Removed ${removing}`);
            state.reload();
          }}
          onClose={() => {
            setRemoving(undefined);
            requestAnimationFrame(() => nameInput.current?.focus());
          }}
        />
      )}
    </Card>
  );
}

const LEVELS = ["debug", "info", "warn", "error"] as const;
const KEEP_LINES = 1000;

/** A log line as a line of text (in the download and for the search). */
function logText(l: LogEntry): string {
  return `${new Date(l.created_at).toISOString()} ${l.level.toUpperCase()} ${l.message}`;
}

/**
 * The app's log: the newest lines, then each new one as it is written;
 * filtered by level and text, and downloaded as a text file.
 */
function Logs(props: { name: string }) {
  const [lines, setLines] = useState<LogEntry[]>([]);
  const [status, setStatus] = useState<"connecting" | "live" | "retrying">("connecting");
  const [paused, setPaused] = useState(false);
  const [level, setLevel] = useState<LogEntry["level"]>("debug");
  const [query, setQuery] = useState("");
  const pausedRef = useRef(false);
  pausedRef.current = paused;
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    setLines([]);
    const es = new EventSource(`/api/apps/${enc(props.name)}/logs/stream`);
    es.onopen = () => setStatus("live");
    es.onerror = () => setStatus("retrying");
    es.addEventListener("log", (e) => {
      if (pausedRef.current) return;
      const entry = JSON.parse((e as MessageEvent).data) as LogEntry;
      setLines((xs) => (xs.length >= KEEP_LINES ? xs.slice(1 - KEEP_LINES) : xs).concat(entry));
    });
    return () => es.close();
  }, [props.name]);
  const least = LEVELS.indexOf(level);
  const q = query.trim().toLowerCase();
  const shown = lines.filter((l) =>
    LEVELS.indexOf(l.level) >= least && (!q || l.message.toLowerCase().includes(q))
  );
  useEffect(() => {
    const el = box.current;
    if (el && !paused) el.scrollTop = el.scrollHeight;
  }, [shown.length, paused]);
  // The lines shown, as a text file, saved by the browser.
  const save = () => {
    const text = shown.map(logText).join("\n") + "\n";
    const url = URL.createObjectURL(new Blob([text], { type: "text/plain" }));
    const a = document.createElement("a");
    a.href = url;
    a.download = `${props.name}-log.txt`;
    a.click();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  };
  const filtered = level !== "debug" || q !== "";
  return (
    <Card
      title={
        <>
          Log <Badge tone={status === "live" ? "ok" : "warn"}>{status}</Badge>
        </>
      }
      actions={
        <>
          <button
            type="button"
            class="btn small"
            onClick={() => setPaused(!paused)}
            aria-pressed={paused}
          >
            {paused ? "Resume" : "Pause"}
          </button>
          <button type="button" class="btn small" onClick={() => setLines([])}>Clear</button>
        </>
      }
    >
      <div class="row wrap toolbar">
        <label class="field inline">
          <span>Level</span>
          <select
            value={level}
            onChange={(e) => setLevel((e.target as HTMLSelectElement).value as LogEntry["level"])}
          >
            <option value="debug">all</option>
            <option value="info">info and above</option>
            <option value="warn">warnings and errors</option>
            <option value="error">errors only</option>
          </select>
        </label>
        <input
          type="search"
          placeholder="Search the log"
          aria-label="Search the log"
          value={query}
          onInput={(e) => setQuery((e.target as HTMLInputElement).value)}
        />
        <button type="button" class="btn small" onClick={save} disabled={!shown.length}>
          Download
        </button>
        <span class="muted small" role="status">
          {filtered
            ? `${number(shown.length)} of ${number(lines.length)} lines`
            : `${number(lines.length)} lines (the newest ${number(KEEP_LINES)} are kept here)`}
        </span>
      </div>
      {shown.length === 0
        ? (
          status === "connecting"
            ? <Spinner label="Connecting…" />
            : lines.length > 0
            ? <Empty title="No line matches" />
            : (
              <Empty title="No log lines yet">
                Lines the app writes with <code>console.log</code> or <code>ctx.log</code>{" "}
                appear here as they happen.
              </Empty>
            )
        )
        : (
          <div class="log" ref={box} tabIndex={0} aria-label="Log lines" aria-live="off">
            {shown.map((l) => (
              <div key={l.id} class={`log-line ${l.level}`}>
                <time dateTime={new Date(l.created_at).toISOString()}>
                  {dateTime(l.created_at)}
                </time>
                <span class="lvl">{l.level}</span>
                <span class="msg">{l.message}</span>
              </div>
            ))}
          </div>
        )}
    </Card>
  );
}

/** Custom domains: names besides the app's own host, each with its certificate. */
function Domains(props: { app: Detail }) {
  const name = props.app.name;
  const state = useLoad(
    (signal) => api<Api.CustomDomain[]>(`/api/apps/${enc(name)}/domains`, { signal }),
    [name],
  );
  const [domain, setDomain] = useState("");
  const [error, setError] = useState<Error>();
  const add = async (e: Event) => {
    e.preventDefault();
    setError(undefined);
    try {
      const r = await api<Api.DomainAdded>(`/api/apps/${enc(name)}/domains`, {
        method: "POST",
        body: { name: domain },
      });
      toast(
        r.created
          ? `${name} now serves ${r.domain.unicode}`
          : `${r.domain.unicode} was already served`,
      );
      setDomain("");
      state.reload();
    } catch (err) {
      setError(err as Error);
    }
  };
  const remove = async (d: Api.CustomDomain) => {
    try {
      await api(`/api/apps/${enc(name)}/domains/${enc(d.name)}`, { method: "DELETE" });
      toast(`${name} no longer serves ${d.unicode}`);
      state.reload();
    } catch (err) {
      toast((err as Error).message, "bad");
    }
  };
  return (
    <Card title="Custom domains">
      <p class="muted small">
        Besides{" "}
        <a href={props.app.url} target="_blank" rel="noopener noreferrer">{props.app.url}</a>, the
        app is served on each domain below once its DNS (an A/AAAA record) points at this node. With
        HTTPS on, each gets its own certificate.
      </p>
      <Show state={state}>
        {(domains) =>
          domains.length === 0
            ? <Empty title="No custom domains">Add one below, e.g. shop.example.com.</Empty>
            : (
              <ul class="list">
                {domains.map((d) => (
                  <li key={d.name}>
                    <div class="list-main">
                      <code>{d.unicode}</code>
                      {d.unicode !== d.name && <span class="muted small">({d.name})</span>}
                      <div class="muted small">added {ago(d.created_at)}</div>
                      <CertProblem cert={d.certificate} />
                    </div>
                    <CertBadge cert={d.certificate} />
                    <button
                      type="button"
                      class="btn small"
                      aria-label={`Remove ${d.unicode}`}
                      onClick={() => remove(d)}
                    >
                      Remove
                    </button>
                  </li>
                ))}
              </ul>
            )}
      </Show>
      <form class="row wrap" onSubmit={add}>
        <input
          aria-label="New custom domain"
          placeholder="shop.example.com"
          value={domain}
          onInput={(e) => setDomain((e.target as HTMLInputElement).value)}
        />
        <button type="submit" class="btn" disabled={!domain.trim()}>Add domain</button>
      </form>
      {error && <ErrorBox error={error} />}
    </Card>
  );
}

function Danger(props: { name: string }) {
  const [asking, setAsking] = useState(false);
  return (
    <Card title="Delete this app" class="danger-zone">
      <p>
        Deleting <strong>{props.name}</strong>{" "}
        removes every version, its files and its data (key-value, documents, blobs, env, logs). This
        cannot be undone.
      </p>
      <button type="button" class="btn danger" onClick={() => setAsking(true)}>
        Delete {props.name}…
      </button>
      {asking && (
        <Confirm
          title={`Delete ${props.name}?`}
          message={
            <p>
              All versions and data of <strong>{props.name}</strong> will be gone for good.
            </p>
          }
          action="Delete app"
          typeToConfirm={props.name}
          onClose={() => setAsking(false)}
          onConfirm={async () => {
            await api(`/api/apps/${enc(props.name)}`, { method: "DELETE" });
            toast(`Deleted ${props.name}`);
            navigate("/apps");
          }}
        />
      )}
    </Card>
  );
}
