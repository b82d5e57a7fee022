import { type Api, api } from "../api.ts";
import { ago, Badge, Card, Empty, number, Page, Show, TableHead, useLoad } from "../ui.tsx";

export function Peers() {
  const state = useLoad((signal) => api<Api.PeerStatus[]>("/api/peers/status", { signal }), []);
  return (
    <Page
      title="Peers"
      actions={<button type="button" class="btn" onClick={state.reload}>Check again</button>}
    >
      <p class="muted">
        Nodes this node knows (its <code>peers</code>{" "}
        table), checked live from here. Manage them with{" "}
        <code>fazt remote add|remove|default</code>.
      </p>
      <Show state={state}>
        {(peers) =>
          peers.length === 0
            ? (
              <Card>
                <Empty title="No peers">
                  Add another node with <code>fazt remote add NAME --url URL --token TOKEN</code>.
                </Empty>
              </Card>
            )
            : (
              <div class="card flush">
                <table class="table responsive">
                  <TableHead columns={["Peer", "Status", "Version", "Latency", "Last seen"]} />
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
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            )}
      </Show>
    </Page>
  );
}
