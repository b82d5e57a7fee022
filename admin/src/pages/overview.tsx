import { type Api, api, type AppSummary, type LogEntry, type SystemInfo } from "../api.ts";
import { TimeChart } from "../chart.tsx";
import {
  ago,
  Badge,
  bytes,
  Card,
  duration,
  Empty,
  Link,
  number,
  Page,
  Show,
  Stat,
  useLoad,
} from "../ui.tsx";

/**
 * Why the node sees every client as its proxy, when requests arrived with
 * forwarding headers it ignores: then a few bad sign-ins by anyone lock the
 * owner out, and analytics count one visitor.
 */
export function proxyWarning(proxy: SystemInfo["proxy"]): string | undefined {
  const seen = proxy.ignored_forwarding;
  if (!seen) return undefined;
  const effect = "every client has the proxy's address, so a few failed sign-ins by anyone " +
    "lock everyone out (and analytics see one visitor).";
  if (!proxy.trust_proxy) {
    return `Requests arrive through a proxy (${seen.header}) but trust_proxy is off: ${effect} ` +
      "If the proxy runs on this machine, set trust_proxy to 1 and restart.";
  }
  if (!seen.from_loopback) {
    return `Requests arrive through a proxy (${seen.header}) that is not on this machine, and ` +
      `fazt believes only a proxy on loopback: ${effect}`;
  }
  return `The proxy sends ${seen.header}, but fazt reads only X-Forwarded-For: ${effect} ` +
    "Make the proxy set X-Forwarded-For.";
}

export function Overview() {
  const state = useLoad(async (signal) => {
    const [system, apps, rate] = await Promise.all([
      api<SystemInfo>("/api/system", { signal }),
      api<AppSummary[]>("/api/apps", { signal }),
      api<Api.RequestRate>("/api/system/requests", { signal }),
    ]);
    // Apps with server code that logged errors in the last hour count as failing.
    const hourAgo = Date.now() - 3_600_000;
    const failing = await Promise.all(
      apps.filter((a) => a.server_code).slice(0, 50).map(async (a) => {
        const lines = await api<LogEntry[]>(
          `/api/apps/${encodeURIComponent(a.name)}/logs?limit=200`,
          { signal },
        )
          .catch(() => []);
        return {
          name: a.name,
          errors: lines.filter((l) => l.level === "error" && l.created_at > hourAgo).length,
        };
      }),
    );
    return { system, apps, rate, failing: failing.filter((f) => f.errors > 0) };
  }, []);
  return (
    <Page
      title="Overview"
      actions={<button type="button" class="btn" onClick={state.reload}>Refresh</button>}
    >
      <Show state={state}>
        {({ system, apps, rate, failing }) => {
          const dropped = system.dropped_events;
          const warnings: string[] = [];
          if (dropped > 0) {
            warnings.push(
              `${number(dropped)} analytics events were dropped because the buffer was full.`,
            );
          }
          for (const f of failing) {
            warnings.push(
              `App '${f.name}' logged ${f.errors} error${
                f.errors === 1 ? "" : "s"
              } in the last hour.`,
            );
          }
          const notLive = apps.filter((a) => a.live_version === null);
          for (const a of notLive) {
            warnings.push(
              `App '${a.name}' has no live version (drafts only).`,
            );
          }
          const proxy = proxyWarning(system.proxy);
          if (proxy) warnings.push(proxy);
          if (system.backup?.warning) warnings.push(system.backup.warning);
          if (system.cache.max_bytes > 0 && system.cache.bytes > system.cache.max_bytes * 0.95) {
            warnings.push("The file cache is full: raise cache_bytes if pages feel slow.");
          }
          const recent = apps.filter((a) => a.last_deploy_at)
            .sort((a, b) => (b.last_deploy_at ?? 0) - (a.last_deploy_at ?? 0)).slice(0, 5);
          return (
            <>
              <div class="stats">
                <Stat
                  label="Version"
                  value={system.version}
                  hint={`${system.os}/${system.arch} · Deno ${system.deno}`}
                />
                <Stat label="Uptime" value={duration(system.uptime_s)} />
                <Stat
                  label="Memory"
                  value={bytes(system.memory.rss_bytes)}
                  hint={`heap ${bytes(system.memory.heap_used_bytes)}`}
                />
                <Stat label="Database" value={bytes(system.database.size_bytes)} />
                <Stat
                  label="Requests / min"
                  value={number(rate.last_minute)}
                  hint={`last full minute · ${number(rate.this_minute ?? 0)} so far this one`}
                />
                <Stat
                  label="Apps"
                  value={number(apps.length)}
                  hint={`cache ${bytes(system.cache.bytes)}`}
                />
              </div>
              <Card title="Warnings">
                {warnings.length === 0
                  ? <p class="ok-line">✓ Nothing needs your attention.</p>
                  : (
                    <ul class="warnings">
                      {warnings.map((w) => <li key={w}>{w}</li>)}
                    </ul>
                  )}
              </Card>
              {rate.per_minute.some((p) => p.n > 0) && (
                <Card title="Requests per minute (last hour)">
                  <TimeChart
                    label="Requests per minute over the last hour"
                    times={rate.per_minute.map((p) => p.t)}
                    series={[{
                      label: "requests",
                      values: rate.per_minute.map((p) => p.n),
                      color: "--chart-1",
                    }]}
                    height={160}
                  />
                </Card>
              )}
              <Card
                title="Recent deploys"
                actions={<Link href="/apps" class="btn small">All apps</Link>}
              >
                {recent.length === 0
                  ? (
                    <Empty title="Nothing deployed yet">
                      Go to <Link href="/apps">Apps</Link>{" "}
                      and drop a folder or a ZIP to publish your first site.
                    </Empty>
                  )
                  : (
                    <ul class="list">
                      {recent.map((a) => (
                        <li key={a.name}>
                          <Link href={`/apps/${encodeURIComponent(a.name)}`}>{a.name}</Link>
                          <span class="muted">
                            v{a.live_version ?? "—"} · {ago(a.last_deploy_at)}
                          </span>
                          {a.server_code && <Badge tone="info">server code</Badge>}
                        </li>
                      ))}
                    </ul>
                  )}
              </Card>
            </>
          );
        }}
      </Show>
    </Page>
  );
}
