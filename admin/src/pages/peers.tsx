import { useRef, useState } from "preact/hooks";
import { type Api, api } from "../api.ts";
import {
  ago,
  Badge,
  Card,
  Confirm,
  Empty,
  ErrorBox,
  focusPageTitle,
  number,
  Page,
  Show,
  TableHead,
  toast,
  useLoad,
} from "../ui.tsx";

/** The add form: what `fazt remote add NAME --url URL --token T` takes. */
function AddPeer(props: { onAdded: () => void }) {
  const [name, setName] = useState("");
  const [url, setUrl] = useState("");
  const [token, setToken] = useState("");
  // The node checks the address and the token before it saves them, as
  // `fazt remote add` does; a peer not up yet can be saved unchecked.
  const [verify, setVerify] = useState(true);
  const [error, setError] = useState<Error>();
  const [busy, setBusy] = useState(false);
  const first = useRef<HTMLInputElement>(null);
  const submit = async (e: Event) => {
    e.preventDefault();
    setError(undefined);
    setBusy(true);
    try {
      await api("/api/peers", { method: "POST", body: { name, url, token, verify } });
      toast(`Added peer ${name}`);
      setName("");
      setUrl("");
      setToken("");
      props.onAdded();
      first.current?.focus();
    } catch (err) {
      setError(err as Error);
    } finally {
      setBusy(false);
    }
  };
  return (
    <Card title="Add a peer">
      <form class="stack" onSubmit={submit}>
        <div class="row wrap">
          <label class="field">
            <span>Name</span>
            <input
              ref={first}
              value={name}
              placeholder="prod"
              autoComplete="off"
              required
              pattern="[a-z0-9][a-z0-9_\-]{0,62}"
              onInput={(e) => setName((e.target as HTMLInputElement).value)}
            />
          </label>
          <label class="field">
            <span>Address</span>
            <input
              type="url"
              value={url}
              placeholder="https://admin.example.com"
              required
              onInput={(e) => setUrl((e.target as HTMLInputElement).value)}
            />
          </label>
          <label class="field">
            <span>API token of that node</span>
            <input
              type="password"
              value={token}
              autoComplete="off"
              required
              onInput={(e) => setToken((e.target as HTMLInputElement).value)}
            />
          </label>
        </div>
        <label class="row">
          <input
            type="checkbox"
            checked={verify}
            onChange={(e) => setVerify((e.target as HTMLInputElement).checked)}
          />
          <span>Check that the node answers and takes the token before saving</span>
        </label>
        <div>
          <button type="submit" class="btn" disabled={busy}>
            {busy ? (verify ? "Checking…" : "Adding…") : "Add peer"}
          </button>
        </div>
        {error && <ErrorBox error={error} />}
      </form>
    </Card>
  );
}

export function Peers() {
  const state = useLoad((signal) => api<Api.PeerStatus[]>("/api/peers/status", { signal }), []);
  const [removing, setRemoving] = useState<string>();
  return (
    <Page
      title="Peers"
      actions={<button type="button" class="btn" onClick={state.reload}>Check again</button>}
    >
      <p class="muted">
        Nodes this node knows (its <code>peers</code> table, which <code>fazt remote</code>{" "}
        on this machine uses), checked live from here. Tokens are stored, never shown.
      </p>
      <Show state={state}>
        {(peers) =>
          peers.length === 0
            ? (
              <Card>
                <Empty title="No peers">
                  Add another node below, or with{" "}
                  <code>fazt remote add NAME --url URL --token TOKEN</code>.
                </Empty>
              </Card>
            )
            : (
              <div class="card flush">
                <table class="table responsive">
                  <TableHead
                    columns={["Peer", "Status", "Version", "Latency", "Last seen"]}
                    actions
                  />
                  <tbody>
                    {peers.map((p) => (
                      <tr key={p.name}>
                        <td data-label="Peer">
                          <strong>{p.name}</strong>{" "}
                          {p.is_default && <Badge tone="info">default</Badge>}
                          <div class="muted small ellipsis">{p.url}</div>
                        </td>
                        <td data-label="Status">
                          <div>
                            {p.reachable
                              ? <Badge tone="ok">reachable</Badge>
                              : <Badge tone="bad">unreachable</Badge>}
                            {p.error && <div class="muted small">{p.error}</div>}
                          </div>
                        </td>
                        <td data-label="Version">{p.version ?? "—"}</td>
                        <td data-label="Latency">
                          {p.latency_ms == null ? "—" : `${number(p.latency_ms)} ms`}
                        </td>
                        <td data-label="Last seen">{ago(p.last_seen_at)}</td>
                        <td class="actions">
                          <button
                            type="button"
                            class="btn small"
                            aria-label={`Remove ${p.name}`}
                            onClick={() => setRemoving(p.name)}
                          >
                            Remove
                          </button>
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            )}
      </Show>
      <AddPeer onAdded={state.reload} />
      {removing !== undefined && (
        <Confirm
          title={`Remove peer ${removing}?`}
          message={
            <p>
              <code>fazt remote</code> on this machine no longer knows <code>{removing}</code>{" "}
              and forgets its token. The node itself is not touched; add it again with a token.
            </p>
          }
          action="Remove peer"
          onConfirm={async () => {
            await api(`/api/peers/${encodeURIComponent(removing)}`, { method: "DELETE" });
            toast(`Removed peer ${removing}`);
            state.reload();
          }}
          onClose={() => {
            setRemoving(undefined);
            // Its row is gone: the page's heading, not <body>.
            requestAnimationFrame(focusPageTitle);
          }}
        />
      )}
    </Page>
  );
}
