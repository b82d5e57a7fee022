import { useState } from "preact/hooks";
import { type Api, api, type Token } from "../api.ts";
import {
  ago,
  Badge,
  Card,
  Confirm,
  CopyButton,
  dateTime,
  Dialog,
  Empty,
  ErrorBox,
  Page,
  Show,
  TableHead,
  toast,
  useLoad,
} from "../ui.tsx";

const SCOPES: [Token["scope"], string][] = [
  ["read", "read: look at apps, logs, stats"],
  ["deploy", "deploy: also deploy and roll back"],
  ["admin", "admin: everything, incl. tokens and deleting apps"],
];

function CreateToken(props: { onCreated: () => void }) {
  const [name, setName] = useState("");
  const [scope, setScope] = useState<Token["scope"]>("deploy");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<Error>();
  const [created, setCreated] = useState<Api.NewToken>();
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const t = await api<Api.NewToken>("/api/tokens", {
        method: "POST",
        body: { name, scope },
      });
      setCreated(t);
      setName("");
      props.onCreated();
    } catch (err) {
      setError(err as Error);
    } finally {
      setBusy(false);
    }
  };
  return (
    <Card title="Create a token">
      <form class="stack" onSubmit={submit}>
        <div class="row wrap">
          <label class="field grow">
            <span>Name</span>
            <input
              required
              maxLength={100}
              placeholder="laptop, ci, …"
              value={name}
              onInput={(e) => setName((e.target as HTMLInputElement).value)}
            />
          </label>
          <label class="field">
            <span>Scope</span>
            <select
              value={scope}
              onChange={(e) => setScope((e.target as HTMLSelectElement).value as Token["scope"])}
            >
              {SCOPES.map(([s, label]) => <option key={s} value={s}>{label}</option>)}
            </select>
          </label>
        </div>
        {error && <ErrorBox error={error} />}
        <div class="row end">
          <button type="submit" class="btn primary" disabled={busy || !name.trim()}>
            {busy ? "Creating…" : "Create token"}
          </button>
        </div>
      </form>
      {created && (
        <Dialog title="Your new token" onClose={() => setCreated(undefined)}>
          <div class="stack">
            <p>
              Copy it now: <strong>it is shown only this once</strong>. Use it as{" "}
              <code>Authorization: Bearer …</code> or with <code>fazt remote add</code>.
            </p>
            <code class="secret" data-testid="new-token">{created.token}</code>
            <div class="row end">
              <CopyButton text={created.token} label="Copy token" />
              <button type="button" class="btn primary" onClick={() => setCreated(undefined)}>
                Done
              </button>
            </div>
          </div>
        </Dialog>
      )}
    </Card>
  );
}

export function Tokens() {
  const state = useLoad((signal) => api<Token[]>("/api/tokens", { signal }), []);
  const [revoking, setRevoking] = useState<Token>();
  return (
    <Page title="API tokens">
      <p class="muted">
        Tokens let the CLI, scripts and coding agents use this node's API. Only a hash of each is
        kept.
      </p>
      <CreateToken onCreated={state.reload} />
      <Show state={state}>
        {(tokens) =>
          tokens.length === 0
            ? (
              <Card>
                <Empty title="No tokens">Create one above for the CLI or CI.</Empty>
              </Card>
            )
            : (
              <div class="card flush">
                <table class="table responsive">
                  <TableHead columns={["Name", "Scope", "Created", "Last used"]} actions />
                  <tbody>
                    {tokens.map((t) => (
                      <tr key={t.id}>
                        <td data-label="Name">
                          <strong>{t.name}</strong> <span class="muted small">#{t.id}</span>
                        </td>
                        <td data-label="Scope">
                          <Badge tone={t.scope === "admin" ? "warn" : "info"}>{t.scope}</Badge>
                        </td>
                        <td data-label="Created">{dateTime(t.created_at)}</td>
                        <td data-label="Last used">{ago(t.last_used_at)}</td>
                        <td class="actions">
                          <button
                            type="button"
                            class="btn small danger-ghost"
                            onClick={() => setRevoking(t)}
                            aria-label={`Revoke ${t.name}`}
                          >
                            Revoke
                          </button>
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            )}
      </Show>
      {revoking && (
        <Confirm
          title={`Revoke '${revoking.name}'?`}
          message={<p>Anything using this token stops working at once.</p>}
          action="Revoke token"
          onClose={() => setRevoking(undefined)}
          onConfirm={async () => {
            await api(`/api/tokens/${revoking.id}`, { method: "DELETE" });
            toast(`Revoked ${revoking.name}`);
            state.reload();
          }}
        />
      )}
    </Page>
  );
}
