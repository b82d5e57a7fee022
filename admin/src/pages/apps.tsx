import { useRef, useState } from "preact/hooks";
import { type Api, api, type AppSummary, upload } from "../api.ts";
import { navigate } from "../router.ts";
import {
  ago,
  Badge,
  bytes,
  Card,
  Empty,
  ErrorBox,
  Link,
  number,
  Page,
  Show,
  TableHead,
  toast,
  useLoad,
} from "../ui.tsx";
import { fromDataTransfer, fromFiles, type Picked, zipFiles } from "../zip.ts";

const NAME_RULE = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/**
 * Drop a ZIP, a folder or files here (or pick them); folders are zipped in
 * the browser, then uploaded with progress.
 */
export function DeployBox(props: { fixedName?: string; onDeployed: (r: Api.Deployed) => void }) {
  const [picked, setPicked] = useState<Picked>();
  const [name, setName] = useState(props.fixedName ?? "");
  const [over, setOver] = useState(false);
  const [phase, setPhase] = useState<{ step: "zip" | "upload" | "wait"; fraction: number }>();
  const [error, setError] = useState<Error>();
  const zipInput = useRef<HTMLInputElement>(null);
  const dirInput = useRef<HTMLInputElement>(null);
  const zipButton = useRef<HTMLButtonElement>(null);

  const take = (p: Picked | undefined) => {
    setError(undefined);
    if (!p) {
      return setError(new Error("Nothing usable was dropped: drop a folder, files or a .zip."));
    }
    setPicked(p);
    if (!props.fixedName && p.suggestedName && !name) setName(p.suggestedName);
  };
  const onDrop = async (e: DragEvent) => {
    e.preventDefault();
    setOver(false);
    if (e.dataTransfer) take(await fromDataTransfer(e.dataTransfer));
  };
  const deploy = async (e: Event) => {
    e.preventDefault();
    if (!picked) return;
    if (!NAME_RULE.test(name)) {
      return setError(
        new Error("The app name must be lower-case letters, digits and dashes (1-63)."),
      );
    }
    setError(undefined);
    try {
      let zip: Blob;
      if (picked.kind === "zip") zip = picked.file;
      else {
        setPhase({ step: "zip", fraction: 0 });
        zip = await zipFiles(picked.files, (fraction) => setPhase({ step: "zip", fraction }));
      }
      setPhase({ step: "upload", fraction: 0 });
      const form = new FormData();
      form.append("site_name", name);
      form.append("file", zip, `${name}.zip`);
      const result = await upload<Api.Deployed>("/api/deploy", form, (fraction) => {
        setPhase({ step: fraction >= 1 ? "wait" : "upload", fraction });
      });
      setPhase(undefined);
      setPicked(undefined);
      toast(`Deployed ${result.app} v${result.version}`);
      props.onDeployed(result);
      focusAfterDeploy(result.version);
    } catch (err) {
      setPhase(undefined);
      setError(err as Error);
    }
  };
  // The Deploy button is disabled now: focus goes to the new version's row
  // once the list shows it (or back to the picker), never to <body>.
  const focusAfterDeploy = (version: number) => {
    let frames = 0;
    const look = () => {
      const row = document.getElementById(`version-${version}`);
      if (row) return row.focus();
      if (++frames < 180) return requestAnimationFrame(look);
      if (!document.activeElement || document.activeElement === document.body) {
        zipButton.current?.focus();
      }
    };
    requestAnimationFrame(look);
  };
  const count = picked?.kind === "files" ? picked.files.length : 0;
  const size = picked?.kind === "zip"
    ? picked.file.size
    : picked?.files.reduce((n, f) => n + f.file.size, 0) ?? 0;
  const label = phase?.step === "zip"
    ? "Zipping"
    : phase?.step === "upload"
    ? "Uploading"
    : "Unpacking on the node";
  return (
    <form class="deploy" onSubmit={deploy}>
      <div
        class={"dropzone" + (over ? " over" : "")}
        onDragOver={(e) => {
          e.preventDefault();
          setOver(true);
        }}
        onDragLeave={() => setOver(false)}
        onDrop={onDrop}
      >
        {picked
          ? (
            <p>
              <span>
                <strong>
                  {picked.kind === "zip"
                    ? picked.file.name
                    : `${number(count)} file${count === 1 ? "" : "s"}`}
                </strong>{" "}
                ({bytes(size)}) ready to deploy.
              </span>
              <button type="button" class="linkish" onClick={() => setPicked(undefined)}>
                Clear
              </button>
            </p>
          )
          : (
            <p>
              <strong>Drop a folder or a .zip here</strong>
              <span class="muted">A folder is zipped in your browser before it is sent.</span>
            </p>
          )}
        <div class="row center">
          <button type="button" class="btn" onClick={() => dirInput.current?.click()}>
            Choose folder
          </button>
          <button
            ref={zipButton}
            type="button"
            class="btn"
            onClick={() => zipInput.current?.click()}
          >
            Choose ZIP
          </button>
        </div>
        <input
          ref={zipInput}
          type="file"
          accept=".zip,application/zip"
          hidden
          data-testid="zip-input"
          onChange={(e) => take(fromFiles((e.target as HTMLInputElement).files))}
        />
        <input
          ref={dirInput}
          type="file"
          hidden
          // @ts-ignore: webkitdirectory is not in the JSX types, but every browser supports it
          webkitdirectory
          multiple
          onChange={(e) => take(fromFiles((e.target as HTMLInputElement).files))}
        />
      </div>
      {!props.fixedName && (
        <label class="field">
          <span>App name</span>
          <input
            name="app-name"
            value={name}
            placeholder="my-site"
            autoComplete="off"
            autoCapitalize="none"
            onInput={(e) => setName((e.target as HTMLInputElement).value.trim().toLowerCase())}
          />
          <small class="muted">
            Served at &lt;name&gt;.{location.hostname.replace(/^admin\./, "")}
          </small>
        </label>
      )}
      {phase && (
        <div class="progress-line">
          <span>{label}…</span>
          <progress
            max={1}
            value={phase.step === "wait" ? undefined : phase.fraction}
            aria-label={label}
          />
        </div>
      )}
      {error && <ErrorBox error={error} />}
      <div class="row end">
        <button type="submit" class="btn primary" disabled={!picked || !!phase}>
          {phase ? "Deploying…" : "Deploy"}
        </button>
      </div>
    </form>
  );
}

export function Apps() {
  const state = useLoad((signal) => api<AppSummary[]>("/api/apps", { signal }), []);
  const [showDeploy, setShowDeploy] = useState(false);
  return (
    <Page
      title="Apps"
      actions={
        <button
          type="button"
          class="btn primary"
          onClick={() => setShowDeploy((v) => !v)}
          aria-expanded={showDeploy}
        >
          {showDeploy ? "Close" : "Deploy"}
        </button>
      }
    >
      {showDeploy && (
        <Card title="Deploy an app">
          <DeployBox
            onDeployed={(r) => {
              setShowDeploy(false);
              state.reload();
              navigate(`/apps/${encodeURIComponent(r.app)}`);
            }}
          />
        </Card>
      )}
      <Show state={state}>
        {(apps) =>
          apps.length === 0
            ? (
              <Card>
                <Empty title="No apps yet">
                  Press <strong>Deploy</strong> and drop a folder with an{" "}
                  <code>index.html</code>, or run <code>fazt deploy ./site</code>.
                </Empty>
                {!showDeploy && (
                  <div class="row center">
                    <button
                      type="button"
                      class="btn primary"
                      onClick={() => setShowDeploy(true)}
                    >
                      Deploy your first app
                    </button>
                  </div>
                )}
              </Card>
            )
            : <AppTable apps={apps} />}
      </Show>
    </Page>
  );
}

type SortKey = "name" | "deployed" | "traffic" | "size";

const SORTS: Record<SortKey, [string, (a: AppSummary, b: AppSummary) => number]> = {
  name: ["Name", (a, b) => NATURAL.compare(a.name, b.name)],
  deployed: ["Last deploy", (a, b) => (b.last_deploy_at ?? 0) - (a.last_deploy_at ?? 0)],
  traffic: ["Traffic", (a, b) => b.views_7d - a.views_7d],
  size: ["Size", (a, b) => b.bytes - a.bytes],
};

const NATURAL = new Intl.Collator(undefined, { numeric: true });

/** The apps, searched by name or address and sorted; drafts waiting and traffic shown. */
function AppTable(props: { apps: AppSummary[] }) {
  const [query, setQuery] = useState("");
  const [sort, setSort] = useState<SortKey>("name");
  const q = query.trim().toLowerCase();
  const shown = props.apps
    .filter((a) => !q || a.name.toLowerCase().includes(q) || a.url.toLowerCase().includes(q))
    .sort((a, b) => SORTS[sort][1](a, b) || NATURAL.compare(a.name, b.name));
  return (
    <>
      <div class="row wrap toolbar">
        <input
          type="search"
          placeholder="Search apps"
          aria-label="Search apps"
          value={query}
          onInput={(e) => setQuery((e.target as HTMLInputElement).value)}
        />
        <label class="field inline">
          <span>Sort by</span>
          <select
            value={sort}
            onChange={(e) => setSort((e.target as HTMLSelectElement).value as SortKey)}
          >
            {(Object.keys(SORTS) as SortKey[]).map((k) => (
              <option key={k} value={k}>{SORTS[k][0]}</option>
            ))}
          </select>
        </label>
        <span class="muted small" role="status">
          {shown.length === props.apps.length
            ? `${number(shown.length)} ${shown.length === 1 ? "app" : "apps"}`
            : `${number(shown.length)} of ${number(props.apps.length)} apps`}
        </span>
      </div>
      {shown.length === 0
        ? (
          <Card>
            <Empty title="No app matches">Nothing is called or served at “{query}”.</Empty>
          </Card>
        )
        : (
          <div class="card flush">
            <table class="table responsive apps-table">
              <TableHead
                columns={["App", "Live", "Traffic (7 days)", "Size", "Last deploy", "Server code"]}
              />
              <tbody>
                {shown.map((a) => (
                  <tr key={a.name}>
                    <td data-label="App">
                      <Link href={`/apps/${encodeURIComponent(a.name)}`} class="strong">
                        {a.name}
                      </Link>
                      <div class="muted small ellipsis">
                        {a.url.replace(/^https?:\/\//, "")}
                      </div>
                    </td>
                    <td data-label="Live">
                      <span>
                        {a.live_version === null
                          ? <Badge tone="warn">draft only</Badge>
                          : `v${a.live_version}`}{" "}
                        <span class="muted small">
                          of {number(a.versions)}
                        </span>
                        {a.drafts > 0 && (
                          <>
                            {" "}
                            <Link href={`/apps/${encodeURIComponent(a.name)}`}>
                              <Badge tone="info">
                                {a.drafts} {a.drafts === 1 ? "draft" : "drafts"} waiting
                              </Badge>
                            </Link>
                          </>
                        )}
                      </span>
                    </td>
                    <td data-label="Traffic (7 days)">
                      {number(a.views_7d)} {a.views_7d === 1 ? "view" : "views"}
                    </td>
                    <td data-label="Size">
                      <span>
                        {bytes(a.bytes)}{" "}
                        <span class="muted small">
                          · {number(a.files)} {a.files === 1 ? "file" : "files"}
                        </span>
                      </span>
                    </td>
                    <td data-label="Last deploy">{ago(a.last_deploy_at)}</td>
                    <td data-label="Server code">
                      {a.server_code === undefined
                        ? "—"
                        : a.server_code
                        ? <Badge tone="info">yes</Badge>
                        : "no"}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
    </>
  );
}
