import { useRef, useState } from "preact/hooks";
import { settingLabel, showValue, unitWord } from "../setting_labels.ts";
import { type Api, api, type Me, type Setting, type SystemInfo, type UpgradeInfo } from "../api.ts";
import {
  ago,
  Badge,
  bytes,
  Card,
  Confirm,
  dateTime,
  ErrorBox,
  Page,
  Show,
  toast,
  useLoad,
} from "../ui.tsx";
import { CertBadge, certNeedsAttention, CertProblem } from "../cert_state.tsx";

const GROUPS: [string, (k: string) => boolean][] = [
  ["Node", (k) => ["domain", "port", "host"].includes(k)],
  ["HTTPS", (k) => ["https", "http_port", "https_port"].includes(k) || k.startsWith("acme_")],
  ["Deploy limits", (k) => k.startsWith("max_") || k === "cache_bytes"],
  ["Server code limits", (k) => k.startsWith("app_")],
  ["Analytics", (k) => k.startsWith("analytics_")],
  [
    "Sign-in",
    (k) => k.startsWith("session_") || k.startsWith("token_failures_") || k === "trust_proxy",
  ],
  ["Backup schedule", (k) => k.startsWith("backup_")],
  [
    "Replication",
    (k) => k.startsWith("replica_") || k === "litestream_path" || k === "standby_interval",
  ],
];

const MIB = 1024 * 1024;

/** A size is typed in MiB (up to three decimals), and stored in bytes. */
const toMib = (n: number) => String(Math.round((n / MIB) * 1000) / 1000);

function SettingRow(props: { s: Setting; onSaved: () => void }) {
  const { s } = props;
  const { label, help, unit } = settingLabel(s.key, s.max);
  const [editing, setEditing] = useState(false);
  const start = () => unit === "bytes" ? toMib(Number(s.stored_value)) : String(s.stored_value);
  const [value, setValue] = useState(start);
  const [error, setError] = useState<Error>();
  const changeButton = useRef<HTMLButtonElement>(null);
  const id = `setting-${s.key}`;
  const stop = () => {
    setEditing(false);
    setError(undefined);
    requestAnimationFrame(() => changeButton.current?.focus());
  };
  const store = async (raw: string | number) => {
    await api("/api/settings", { method: "PUT", body: { [s.key]: raw } });
    toast(`Saved “${label}”: it applies when the node restarts`);
    props.onSaved();
  };
  const save = async (e: Event) => {
    e.preventDefault();
    setError(undefined);
    try {
      const n = Number(value);
      await store(
        s.kind !== "int" ? value : unit === "bytes" && value !== "" ? Math.round(n * MIB) : n,
      );
      stop();
    } catch (err) {
      setError(err as Error);
    }
  };
  // A switch saves as it is flipped: there is nothing else to type.
  const flip = async () => {
    setError(undefined);
    try {
      await store(Number(s.stored_value) ? 0 : 1);
    } catch (err) {
      setError(err as Error);
    }
  };
  const words = unit === "bytes" ? "MiB" : unitWord(unit);
  const differs = String(s.value) !== String(s.stored_value);
  return (
    <li class="setting">
      <div class="setting-main">
        <strong id={id}>{label}</strong> {s.pending && <Badge tone="warn">pending restart</Badge>}
        {s.from_flag && <Badge tone="info">set by a flag</Badge>}
        {help && <div class="small">{help}</div>}
        <div class="muted small">
          <code>{s.key}</code> · default {showValue(s.default, unit)}
          {s.kind === "int" && s.min !== undefined && unit !== "switch" &&
            ` · ${showValue(s.min, unit)} to ${showValue(s.max!, unit)}`}
        </div>
      </div>
      {unit === "switch"
        ? (
          <div class="setting-value">
            <div>
              {differs && (
                <div class="muted small">
                  this run: {showValue(s.value, unit)}
                  {s.from_flag ? " (a command-line flag)" : " until the node restarts"}
                </div>
              )}
            </div>
            <button
              type="button"
              role="switch"
              class="switch"
              aria-checked={Number(s.stored_value) ? "true" : "false"}
              aria-labelledby={id}
              onClick={flip}
            >
              <span class="switch-track" aria-hidden="true">
                <span class="switch-thumb" />
              </span>
              <span class="switch-word">{showValue(s.stored_value, unit)}</span>
            </button>
            {error && <ErrorBox error={error} />}
          </div>
        )
        : editing
        ? (
          <form class="row wrap" onSubmit={save}>
            {s.kind === "int"
              ? (
                <input
                  aria-label={`${label}${words ? ` (${words})` : ""}`}
                  type="number"
                  min={unit === "bytes" ? undefined : s.min}
                  max={unit === "bytes" ? undefined : s.max}
                  step={unit === "bytes" ? "any" : undefined}
                  value={value}
                  autoFocus
                  onInput={(e) => setValue((e.target as HTMLInputElement).value)}
                />
              )
              : (
                <input
                  aria-labelledby={id}
                  value={value}
                  autoFocus
                  onInput={(e) => setValue((e.target as HTMLInputElement).value)}
                />
              )}
            {words && <span class="muted small">{words}</span>}
            <button type="submit" class="btn small primary">Save</button>
            <button type="button" class="btn small" onClick={stop}>Cancel</button>
            {error && <ErrorBox error={error} />}
          </form>
        )
        : (
          <div class="setting-value">
            <div>
              <span class="mono">{showValue(s.stored_value, unit)}</span>
              {differs && (
                <div class="muted small">
                  this run uses {showValue(s.value, unit)}
                  {s.from_flag ? " (a command-line flag)" : " until the node restarts"}
                </div>
              )}
            </div>
            <button
              ref={changeButton}
              type="button"
              class="btn small"
              onClick={() => {
                setValue(start());
                setEditing(true);
              }}
              aria-label={`Change ${label}`}
            >
              Change
            </button>
          </div>
        )}
    </li>
  );
}

/** Waits for the node to come back as a new process (another pid) after a restart. */
async function cameBack(pid: number, signal: AbortSignal): Promise<void> {
  const until = Date.now() + 120_000;
  while (Date.now() < until && !signal.aborted) {
    await new Promise((r) => setTimeout(r, 500));
    try {
      const system = await api<SystemInfo>("/api/system", { signal });
      if (system.pid !== pid) return;
    } catch {
      // Not answering yet: the old process has stopped, the new one is starting.
    }
  }
  throw new Error("The node did not come back within two minutes: look at its log.");
}

/**
 * What waits for a restart, and the restart itself: the node stops and runs
 * again with the same command line, so saved settings apply.
 */
function Restart(props: { pending: Setting[]; onBack: () => void }) {
  const [asking, setAsking] = useState(false);
  const [state, setState] = useState<"idle" | "restarting">("idle");
  const [error, setError] = useState<Error>();
  const button = useRef<HTMLButtonElement>(null);
  // Asked in the dialog; the wait for the new process happens after it closes.
  const begin = async () => {
    const { pid } = await api<SystemInfo>("/api/system");
    await api("/api/system/restart", { method: "POST" });
    setError(undefined);
    setState("restarting");
    cameBack(pid, new AbortController().signal).then(() => {
      toast("The node restarted: saved settings are in use");
      props.onBack();
    }, (err) => setError(err as Error)).finally(() => setState("idle"));
  };
  const n = props.pending.length;
  return (
    <Card title="Restart">
      <div class="stack">
        <p role="status">
          {state === "restarting"
            ? "Restarting: the node stops, starts again and is back in a few seconds…"
            : n === 0
            ? "Every saved setting is in use."
            : (
              <>
                <strong>{n} {n === 1 ? "setting waits" : "settings wait"}</strong> for a restart:
                {" "}
                {props.pending.map((s) => settingLabel(s.key, s.max).label).join(", ")}.
              </>
            )}
        </p>
        <div>
          <button
            ref={button}
            type="button"
            class={`btn ${n > 0 ? "primary" : ""}`}
            aria-disabled={state === "restarting"}
            onClick={() => state === "idle" && setAsking(true)}
          >
            {state === "restarting" ? "Restarting…" : "Restart the node…"}
          </button>
        </div>
        {error && <ErrorBox error={error} />}
      </div>
      {asking && (
        <Confirm
          title="Restart the node?"
          message={
            <p>
              The node stops and starts again with the same command line: requests are refused for a
              few seconds, running apps start afresh, and saved settings apply.
            </p>
          }
          action="Restart"
          tone="primary"
          onConfirm={begin}
          onClose={() => {
            setAsking(false);
            requestAnimationFrame(() => button.current?.focus());
          }}
        />
      )}
    </Card>
  );
}

function Sessions() {
  const state = useLoad((signal) => api<Api.Session[]>("/api/auth/sessions", { signal }), []);
  const revoke = async (id: string) => {
    try {
      await api(`/api/auth/sessions/${id}`, { method: "DELETE" });
      toast("Signed that browser out");
      state.reload();
    } catch (err) {
      toast((err as Error).message, "bad");
    }
  };
  return (
    <Card title="Signed-in browsers">
      <Show state={state}>
        {(rows) => (
          <ul class="list">
            {rows.map((r) => (
              <li key={r.id}>
                <span class="ellipsis">{r.user_agent ?? "unknown browser"}</span>
                <span class="muted small">active {ago(r.last_seen_at)}</span>
                {r.current
                  ? <Badge tone="ok">this browser</Badge>
                  : (
                    <button type="button" class="btn small" onClick={() => revoke(r.id)}>
                      Sign out
                    </button>
                  )}
              </li>
            ))}
          </ul>
        )}
      </Show>
    </Card>
  );
}

/** Every name the node serves and its certificate; warnings 14 days before expiry. */
function Certificates() {
  const state = useLoad((signal) => api<Api.Certificates>("/api/certificates", { signal }), []);
  return (
    <Card title="Certificates">
      <Show state={state}>
        {(r) => {
          const attention = r.certificates.filter((c) => r.https && certNeedsAttention(c));
          return (
            <div class="stack">
              <p class="muted">
                {r.https
                  ? (
                    <>
                      HTTPS is on: certificates come from <code>{r.directory}</code>{" "}
                      and renew 30 days before they expire.
                    </>
                  )
                  : (
                    <>
                      HTTPS is off: set <code>https</code> to 1 (or start with{" "}
                      <code>fazt server start --https</code>) to get certificates for these names.
                    </>
                  )}
              </p>
              {attention.length > 0 && (
                <div class="notice warn" role="alert">
                  {attention.length}{" "}
                  {attention.length === 1 ? "certificate needs" : "certificates need"} attention:
                  {" "}
                  {attention.map((c) => c.name).join(", ")}
                </div>
              )}
              {r.certificates.length === 0
                ? <p class="muted">This node serves no name that can have a certificate.</p>
                : (
                  <ul class="list certs">
                    {r.certificates.map((c) => (
                      <li key={c.name}>
                        <div class="list-main">
                          <code>{c.name}</code>{" "}
                          <span class="muted small">
                            {c.kind === "admin"
                              ? "dashboard"
                              : c.kind === "custom"
                              ? `custom domain of ${c.app}`
                              : `app ${c.app}`}
                          </span>
                          {c.issuer && (
                            <div class="muted small">
                              {c.issuer} · expires {dateTime(c.not_after)}
                            </div>
                          )}
                          <CertProblem cert={c} />
                        </div>
                        <CertBadge cert={c} />
                      </li>
                    ))}
                  </ul>
                )}
            </div>
          );
        }}
      </Show>
    </Card>
  );
}

/** How this node is upgraded: from another machine, with the newer fazt. */
function Upgrade() {
  const state = useLoad((signal) => api<UpgradeInfo>("/api/upgrade", { signal }), []);
  return (
    <Card title="Upgrade">
      <Show state={state}>
        {(u) => (
          <div class="stack">
            <p>
              fazt {u.version}, running as a {u.form} on {u.os}/{u.arch} {u.can_upgrade
                ? <Badge tone="ok">can upgrade itself</Badge>
                : <Badge tone="warn">cannot upgrade itself</Badge>}
            </p>
            {u.reason && <p class="muted">{u.reason}</p>}
            {u.can_upgrade && (
              <p class="muted">
                From a machine with the newer fazt, run{" "}
                <code>fazt remote upgrade NAME</code>: the node checks the program
                {u.signature_required ? " and its signature" : ""}, restarts on it and goes back to
                this version if it does not come up.
              </p>
            )}
          </div>
        )}
      </Show>
    </Card>
  );
}

/** The schedule and how it went, and a snapshot to download now. */
function Backups() {
  const state = useLoad((signal) => api<SystemInfo>("/api/system", { signal }), []);
  return (
    <Card title="Backups">
      <Show state={state}>
        {({ backup }) =>
          backup === null
            ? (
              <p class="muted">
                This node keeps its database in memory: there is nothing to back up.
              </p>
            )
            : (
              <div class="stack">
                <p>
                  {/* No `download` attribute: the answer is an attachment when it works, and its error shows when it does not. */}
                  <a class="btn primary" href="/api/backup">Download a backup</a>
                </p>
                <p class="muted">
                  A consistent copy of the database taken now and checked before it is sent: every
                  app, version, setting, token and record the node has, in one SQLite file. Keep it
                  safe. To put one back, stop the node and run{" "}
                  <code>fazt backup restore FILE --db PATH</code>.
                </p>
                {backup.warning && <p class="notice error" role="alert">{backup.warning}</p>}
                <p>
                  {backup.interval === "off"
                    ? (
                      <>
                        Scheduled backups are off: set <code>backup_interval</code>{" "}
                        (e.g. 24h) under Backup schedule.
                      </>
                    )
                    : (
                      <>
                        A backup every <strong>{backup.interval}</strong>, the newest {backup.keep}
                        {" "}
                        kept; next {dateTime(backup.next_at)}.
                      </>
                    )}
                </p>
                {backup.last && (
                  <p>
                    Last backup {ago(backup.last.at)}: {backup.last.ok
                      ? (
                        <>
                          <Badge tone="ok">ok</Badge> <code>{backup.last.file}</code>{" "}
                          ({bytes(backup.last.size_bytes)})
                        </>
                      )
                      : <Badge tone="bad">failed</Badge>}
                  </p>
                )}
              </div>
            )}
      </Show>
    </Card>
  );
}

/** Continuous replication: where to, how far the replica has got, what went wrong. */
function Replication() {
  const state = useLoad((signal) => api<SystemInfo>("/api/system", { signal }), []);
  return (
    <Card title="Replication">
      <Show state={state}>
        {({ replication: r, standby }) => {
          if (standby) {
            return (
              <div class="stack">
                <p>
                  <Badge tone="info">standby</Badge> This node serves a read-only copy of{" "}
                  <code>{standby.from}</code>, restored every {standby.interval}; last{" "}
                  {ago(standby.refreshed_at)}.
                </p>
                {standby.last_error && (
                  <p class="notice error" role="alert">
                    The last refresh failed: {standby.last_error.message}
                  </p>
                )}
                <p class="muted">
                  To take over: <code>fazt standby promote</code>.
                </p>
              </div>
            );
          }
          if (r === null) {
            return (
              <p class="muted">This node keeps its database in memory: nothing to replicate.</p>
            );
          }
          if (!r.enabled) {
            return (
              <p class="muted">
                Replication is off. Stream every write to a folder, an SFTP server or S3 with{" "}
                <code>fazt replicate enable --to URL</code>; see docs/scale.md.
              </p>
            );
          }
          const tone = r.state === "replicating" ? "ok" : r.state === "starting" ? "info" : "bad";
          return (
            <div class="stack">
              <p>
                <Badge tone={tone}>{r.state}</Badge> to{" "}
                <code>{r.url}</code>, new writes shipped every {r.sync_interval}
              </p>
              {r.warning && <p class="notice error" role="alert">{r.warning}</p>}
              <ul class="list">
                <li>
                  <span>Lag</span>
                  <span class="mono">{(r.lag_ms / 1000).toFixed(1)} s</span>
                </li>
                <li>
                  <span>Every write before</span>
                  <span class="mono">{dateTime(r.replicated_through)}</span>
                </li>
                <li>
                  <span>Replica position</span>
                  <span class="mono ellipsis">{r.replica_position ?? "-"}</span>
                </li>
                <li>
                  <span>Litestream</span>
                  <span class="mono">
                    {r.litestream.version ?? "not found"}
                    {r.litestream.pid !== null && ` (pid ${r.litestream.pid})`}
                  </span>
                </li>
              </ul>
              {r.last_error && (
                <p class="muted small">
                  Last error {ago(r.last_error.at)}: {r.last_error.message}
                </p>
              )}
            </div>
          );
        }}
      </Show>
    </Card>
  );
}

export function SettingsPage(props: { me: Me }) {
  const state = useLoad((signal) => api<Setting[]>("/api/settings", { signal }), []);
  return (
    <Page title="Settings">
      <p class="muted">
        Settings are read when the node starts: a change here is stored at once and applies after a
        restart (below). Each shows its saved value, as <code>fazt server config</code>{" "}
        does, and what this run uses when that differs (a command-line flag, or a change that waits
        for the restart).
      </p>
      {state.data && props.me.scope === "admin" && (
        <Restart pending={state.data.filter((s) => s.pending)} onBack={state.reload} />
      )}
      <Certificates />
      <Show state={state}>
        {(settings) => {
          const used = new Set<string>();
          const groups = GROUPS.map(([title, test]) => {
            const items = settings.filter((s) => !used.has(s.key) && test(s.key));
            items.forEach((s) => used.add(s.key));
            return [title, items] as const;
          });
          const rest = settings.filter((s) => !used.has(s.key));
          if (rest.length) groups.push(["Other", rest]);
          return (
            <div class="grid-2">
              {groups.filter(([, items]) => items.length).map(([title, items]) => (
                <Card key={title} title={title}>
                  <ul class="settings">
                    {items.map((s) => <SettingRow key={s.key} s={s} onSaved={state.reload} />)}
                  </ul>
                  {title === "Analytics" && items.length === 0 && (
                    <p class="muted">No analytics settings.</p>
                  )}
                </Card>
              ))}
            </div>
          );
        }}
      </Show>
      {props.me.kind === "session" && <Sessions />}
      <Upgrade />
      <Backups />
      <Replication />
    </Page>
  );
}
