import { useEffect, useMemo, useState } from "preact/hooks";
import { type Api, api, type AppSummary } from "../api.ts";
import { TimeChart } from "../chart.tsx";
import { navigate, useLocation } from "../router.ts";

/** The current path with some query parameters set (or, for null, removed). */
function withQuery(changes: Record<string, string | null>): string {
  const q = new URLSearchParams(location.search);
  for (const [k, v] of Object.entries(changes)) {
    if (v === null) q.delete(k);
    else q.set(k, v);
  }
  const text = q.toString();
  return location.pathname + (text ? `?${text}` : "");
}
import { Card, Empty, number, Page, Show, Stat, useLoad } from "../ui.tsx";

const RANGES: [string, string, number, "hour" | "day"][] = [
  ["24h", "24 hours", 86_400_000, "hour"],
  ["7d", "7 days", 7 * 86_400_000, "day"],
  ["30d", "30 days", 30 * 86_400_000, "day"],
  ["90d", "90 days", 90 * 86_400_000, "day"],
];

type TopItem = Api.TopEntry;

function TopTable(props: { title: string; items: TopItem[]; empty: string }) {
  const max = Math.max(1, ...props.items.map((i) => i.count));
  return (
    <Card title={props.title} class="top">
      {props.items.length === 0 ? <p class="muted small">{props.empty}</p> : (
        <ol class="bars">
          {props.items.slice(0, 10).map((i) => (
            <li key={i.value}>
              <span class="bar" style={{ width: `${(i.count / max) * 100}%` }} aria-hidden="true" />
              <span class="bar-label ellipsis" title={i.value}>{i.value || "(none)"}</span>
              <span class="bar-count">{number(i.count)}</span>
            </li>
          ))}
        </ol>
      )}
    </Card>
  );
}

function Realtime(props: { app: string }) {
  const [tick, setTick] = useState(0);
  useEffect(() => {
    const t = setInterval(() => setTick((n) => n + 1), 15_000);
    return () => clearInterval(t);
  }, []);
  const state = useLoad(
    (signal) =>
      api<Api.Realtime>(
        `/api/stats/realtime${props.app ? `?app=${encodeURIComponent(props.app)}` : ""}`,
        { signal },
      ),
    [props.app, tick],
  );
  const visitors = state.data?.visitors ?? 0;
  const pages = state.data?.pages ?? [];
  return (
    <Card title="Right now" class="realtime">
      {state.data === undefined ? <p class="muted">…</p> : (
        <p>
          <span class="big" data-testid="realtime-visitors">{number(visitors)}</span>{" "}
          visitor{visitors === 1 ? "" : "s"} in the last 5 minutes
          {pages.length > 0 && (
            <span class="muted small">· on {pages.slice(0, 3).map((p) => p.path).join(", ")}</span>
          )}
        </p>
      )}
    </Card>
  );
}

/** The charts and tables, for all apps or one; used by the Analytics page and an app's tab. */
export function AnalyticsView(props: { app: string; compact?: boolean }) {
  // The range is in the URL (?range=24h), so a view can be linked, reloaded and shared.
  const { query } = useLocation();
  const range = RANGES.some((r) => r[0] === query.get("range")) ? query.get("range")! : "7d";
  const setRange = (r: string) => navigate(withQuery({ range: r === "7d" ? null : r }), true);
  const [, label, span, interval] = RANGES.find((r) => r[0] === range)!;
  const state = useLoad((signal) => {
    const to = Date.now();
    const q = new URLSearchParams({ from: String(to - span), to: String(to), interval });
    if (props.app) q.set("app", props.app);
    return api<Api.Stats>(`/api/stats?${q}`, { signal });
  }, [props.app, range]);
  const chart = useMemo(() => {
    const s = state.data?.series ?? [];
    return {
      times: s.map((p) => p.t),
      series: [
        {
          label: "views",
          values: s.map((p) => p.views),
          color: "--chart-1",
          total: state.data?.totals.views,
        },
        // A visitor on several days is one visitor of the range: the node's total, not a sum.
        {
          label: "visitors",
          values: s.map((p) => p.visitors),
          color: "--chart-2",
          total: state.data?.totals.visitors,
        },
      ],
    };
  }, [state.data]);
  return (
    <div class="analytics">
      <div class="row wrap between">
        <div class="segmented" role="radiogroup" aria-label="Time range">
          {RANGES.map(([key, text]) => (
            <button
              type="button"
              role="radio"
              key={key}
              aria-checked={key === range}
              class={key === range ? "on" : ""}
              onClick={() => setRange(key)}
            >
              {key}
              <span class="sr-only">({text})</span>
            </button>
          ))}
        </div>
      </div>
      <Realtime app={props.app} />
      <Show state={state}>
        {(s) => (
          <>
            <div class="stats compact">
              <Stat label={`Views, ${label}`} value={number(s.totals.views)} />
              <Stat label="Visitors" value={number(s.totals.visitors)} />
              <Stat label="Events" value={number(s.totals.events)} />
            </div>
            <Card title="Views and visitors">
              {s.series.length === 0 || s.totals.views === 0
                ? (
                  <Empty title="No visits in this range">
                    Views are counted as pages are served; share your app's link and check back.
                  </Empty>
                )
                : (
                  <TimeChart
                    label={`Views and visitors over ${label}`}
                    times={chart.times}
                    series={chart.series}
                  />
                )}
            </Card>
            <div class="grid-2">
              <TopTable title="Top pages" items={s.top.paths} empty="No pages viewed yet." />
              <TopTable
                title="Referrers"
                items={s.top.referrers}
                empty="No referrers: visits were direct."
              />
              {!props.compact && (
                <>
                  <TopTable title="Browsers" items={s.top.browsers} empty="Nothing yet." />
                  <TopTable title="Operating systems" items={s.top.oses} empty="Nothing yet." />
                  <TopTable title="Devices" items={s.top.devices} empty="Nothing yet." />
                </>
              )}
              <TopTable
                title="Events"
                items={s.top.events}
                empty="No events: call fazt.track(name) from a page."
              />
            </div>
          </>
        )}
      </Show>
    </div>
  );
}

export function Analytics(props: { app: string }) {
  const apps = useLoad((signal) => api<AppSummary[]>("/api/apps", { signal }), []);
  return (
    <Page
      title="Analytics"
      actions={
        <select
          aria-label="App"
          value={props.app}
          onChange={(e) => {
            const v = (e.target as HTMLSelectElement).value;
            navigate(withQuery({ app: v || null }), true);
          }}
        >
          <option value="">All apps</option>
          {apps.data?.map((a) => <option key={a.name} value={a.name}>{a.name}</option>)}
        </select>
      }
    >
      <Show state={apps}>
        {() => <AnalyticsView app={props.app} />}
      </Show>
    </Page>
  );
}
