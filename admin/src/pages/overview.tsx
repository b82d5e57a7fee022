import type { ComponentType } from "preact";
import { useEffect, useMemo, useState } from "preact/hooks";
import { type Api, api, type AppSummary, type SystemInfo } from "../api.ts";
import type { TimeChart as Chart } from "../chart.tsx";
import {
  ago,
  Badge,
  bytes,
  Card,
  duration,
  Empty,
  ErrorBox,
  Link,
  type Loaded,
  number,
  Page,
  Show,
  Spinner,
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

/** What needs the owner's eye, from whatever has loaded so far. */
function warningsOf(system?: SystemInfo, apps?: AppSummary[]): string[] {
  const warnings: string[] = [];
  if (system && system.dropped_events > 0) {
    warnings.push(
      `${number(system.dropped_events)} analytics events were dropped because the buffer was full.`,
    );
  }
  for (const a of apps ?? []) {
    if (a.errors_last_hour > 0) {
      const n = a.errors_last_hour;
      warnings.push(
        `App '${a.name}' logged ${number(n)} error${n === 1 ? "" : "s"} in the last hour.`,
      );
    }
  }
  for (const a of (apps ?? []).filter((a) => a.live_version === null)) {
    warnings.push(`App '${a.name}' has no live version (drafts only).`);
  }
  if (system) {
    const proxy = proxyWarning(system.proxy);
    if (proxy) warnings.push(proxy);
    if (system.backup?.warning) warnings.push(system.backup.warning);
    if (system.replication?.warning) warnings.push(system.replication.warning);
    if (system.cache.max_bytes > 0 && system.cache.bytes > system.cache.max_bytes * 0.95) {
      warnings.push("The file cache is full: raise cache_bytes if pages feel slow.");
    }
  }
  return warnings;
}

/**
 * Stat tiles while their call is under way: the same size as the loaded ones,
 * so nothing below moves when they fill in.
 */
function Tiles<T>(props: { state: Loaded<T>; count: number; children: (data: T) => unknown }) {
  const { state } = props;
  if (state.error) return <ErrorBox error={state.error} retry={state.reload} />;
  if (state.data !== undefined) return <>{props.children(state.data)}</>;
  return (
    <>
      {Array.from(
        { length: props.count },
        (_, i) => (
          <div key={i} class="stat placeholder" aria-hidden="true">
            <div class="stat-label">&nbsp;</div>
            <div class="stat-value">…</div>
            <div class="stat-hint">&nbsp;</div>
          </div>
        ),
      )}
    </>
  );
}

/** uPlot is loaded only when there is something to draw, after the rest of the overview. */
function useChart(wanted: boolean): typeof Chart | undefined {
  const [chart, setChart] = useState<{ c: typeof Chart }>();
  useEffect(() => {
    if (wanted && !chart) import("../chart.tsx").then((m) => setChart({ c: m.TimeChart }));
  }, [wanted]);
  return chart?.c;
}

const CHART_HEIGHT = 160;

// Each card loads on its own: a slow or failing call holds up only its card.
export function Overview() {
  const system = useLoad((signal) => api<SystemInfo>("/api/system", { signal }), []);
  const apps = useLoad((signal) => api<AppSummary[]>("/api/apps", { signal }), []);
  const rate = useLoad(
    (signal) => api<Api.RequestRate>("/api/system/requests", { signal }),
    [],
  );
  const reload = () => {
    system.reload();
    apps.reload();
    rate.reload();
  };
  const points = rate.data?.per_minute ?? [];
  const TimeChart = useChart(points.some((p) => p.n > 0)) as
    | ComponentType<Parameters<typeof Chart>[0]>
    | undefined;
  const warnings = warningsOf(system.data, apps.data);
  // The same arrays until the rate reloads: a new array would rebuild the chart at every render.
  const times = useMemo(() => points.map((p) => p.t), [rate.data]);
  const series = useMemo(
    () => [{ label: "requests", values: points.map((p) => p.n), color: "--chart-1" }],
    [rate.data],
  );
  const recent = (apps.data ?? []).filter((a) => a.last_deploy_at)
    .sort((a, b) => (b.last_deploy_at ?? 0) - (a.last_deploy_at ?? 0)).slice(0, 5);
  return (
    <Page
      title="Overview"
      actions={<button type="button" class="btn" onClick={reload}>Refresh</button>}
    >
      <div class="stats">
        <Tiles state={system} count={4}>
          {(s) => (
            <>
              <Stat label="Version" value={s.version} hint={`${s.os}/${s.arch} · Deno ${s.deno}`} />
              <Stat label="Uptime" value={duration(s.uptime_s)} />
              <Stat
                label="Memory"
                value={bytes(s.memory.rss_bytes)}
                hint={`heap ${bytes(s.memory.heap_used_bytes)}`}
              />
              <Stat label="Database" value={bytes(s.database.size_bytes)} />
            </>
          )}
        </Tiles>
        <Tiles state={rate} count={1}>
          {(r) => (
            <Stat
              label="Requests / min"
              value={number(r.last_minute)}
              hint={`last full minute · ${number(r.this_minute ?? 0)} so far this one`}
            />
          )}
        </Tiles>
        <Tiles state={apps} count={1}>
          {(list) => (
            <Stat
              label="Apps"
              value={number(list.length)}
              hint={system.data && `cache ${bytes(system.data.cache.bytes)}`}
            />
          )}
        </Tiles>
      </div>
      <Card title="Warnings">
        {warnings.length > 0
          ? (
            <ul class="warnings">
              {warnings.map((w) => <li key={w}>{w}</li>)}
            </ul>
          )
          : system.data && apps.data
          ? <p class="ok-line">✓ Nothing needs your attention.</p>
          : system.error || apps.error
          ? <p class="muted">Some checks could not be made: see the errors on this page.</p>
          : <Spinner label="Checking…" />}
      </Card>
      <Card title="Requests per minute (last hour)">
        {/* The chart's height is kept while it loads, so the cards below stay put. */}
        <div class="chart-slot" style={{ minHeight: `${CHART_HEIGHT + 40}px` }}>
          {rate.error
            ? <p class="muted">Not available: see the error above.</p>
            : rate.data && !points.some((p) => p.n > 0)
            ? <p class="muted">No requests in the last hour.</p>
            : rate.data && TimeChart
            ? (
              <TimeChart
                label="Requests per minute over the last hour"
                times={times}
                series={series}
                height={CHART_HEIGHT}
              />
            )
            : <Spinner label="Loading the chart…" />}
        </div>
      </Card>
      <Card
        title="Recent deploys"
        actions={<Link href="/apps" class="btn small">All apps</Link>}
      >
        <Show state={apps}>
          {() =>
            recent.length === 0
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
        </Show>
      </Card>
    </Page>
  );
}
