import { useEffect, useMemo, useState } from "preact/hooks";
import { api, type AppSummary } from "../api.ts";
import { TimeChart } from "../chart.tsx";
import { navigate } from "../router.ts";
import { Card, Empty, number, Page, Show, Stat, useLoad } from "../ui.tsx";

const RANGES: [string, string, number, "hour" | "day"][] = [
  ["24h", "24 hours", 86_400_000, "hour"],
  ["7d", "7 days", 7 * 86_400_000, "day"],
  ["30d", "30 days", 30 * 86_400_000, "day"],
  ["90d", "90 days", 90 * 86_400_000, "day"],
];

interface Point {
  t: number;
  views: number;
  visitors: number;
}

interface TopItem {
  value: string;
  count: number;
}

interface Stats {
  series: Point[];
  totals: { views: number; visitors: number; events: number };
  top: Record<string, TopItem[]>;
}

// deno-lint-ignore no-explicit-any
type Any = any;

function num(x: unknown): number {
  return typeof x === "number" && Number.isFinite(x) ? x : 0;
}

function topList(raw: unknown): TopItem[] {
  if (!Array.isArray(raw)) return [];
  return raw.map((r: Any) => ({
    value: String(r.value ?? r.path ?? r.name ?? r.key ?? r.label ?? ""),
    count: num(r.count ?? r.views ?? r.visitors ?? r.n),
  }));
}

/** Each dimension and the key of its top list in `/api/stats`. */
const DIMENSIONS: [string, string][] = [
  ["path", "paths"],
  ["referrer", "referrers"],
  ["browser", "browsers"],
  ["os", "oses"],
  ["device", "devices"],
  ["event", "events"],
];

/** Reads `/api/stats` (`totals`, `series` of `{t, views, visitors}`, `top.<list>`) into one shape. */
export function normalizeStats(raw: Any): Stats {
  const rows: Any[] = raw?.series ?? raw?.timeseries ?? raw?.counts ?? raw?.points ?? [];
  const series = rows.map((r) => ({
    t: num(r.bucket ?? r.t ?? r.time ?? r.ts ?? r.at ?? (r.date ? Date.parse(r.date) : 0)),
    views: num(r.views ?? r.pageviews),
    visitors: num(r.visitors ?? r.uniques),
  }));
  const totalsRaw = raw?.totals ?? raw?.total ?? {};
  const totals = {
    views: num(totalsRaw.views) || series.reduce((n, p) => n + p.views, 0),
    visitors: num(totalsRaw.visitors),
    events: num(totalsRaw.events),
  };
  const top: Record<string, TopItem[]> = {};
  for (const [dim, key] of DIMENSIONS) top[dim] = topList(raw?.top?.[key] ?? raw?.top?.[dim]);
  return { series, totals, top };
}

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
      api<Any>(`/api/stats/realtime${props.app ? `?app=${encodeURIComponent(props.app)}` : ""}`, {
        signal,
      }),
    [props.app, tick],
  );
  const visitors = num(state.data?.visitors ?? state.data?.count);
  const pages = topList(state.data?.pages);
  return (
    <Card title="Right now" class="realtime">
      {state.data === undefined ? <p class="muted">…</p> : (
        <p>
          <span class="big" data-testid="realtime-visitors">{number(visitors)}</span>{" "}
          visitor{visitors === 1 ? "" : "s"} in the last 5 minutes
          {pages.length > 0 && (
            <span class="muted small">· on {pages.slice(0, 3).map((p) => p.value).join(", ")}</span>
          )}
        </p>
      )}
    </Card>
  );
}

/** The charts and tables, for all apps or one; used by the Analytics page and an app's tab. */
export function AnalyticsView(props: { app: string; compact?: boolean }) {
  const [range, setRange] = useState("7d");
  const [, label, span, interval] = RANGES.find((r) => r[0] === range)!;
  const state = useLoad(async (signal) => {
    const to = Date.now();
    const q = new URLSearchParams({ from: String(to - span), to: String(to), interval });
    if (props.app) q.set("app", props.app);
    return normalizeStats(await api<Any>(`/api/stats?${q}`, { signal }));
  }, [props.app, range]);
  const chart = useMemo(() => {
    const s = state.data?.series ?? [];
    return {
      times: s.map((p) => p.t),
      series: [
        { label: "views", values: s.map((p) => p.views), color: "--chart-1" },
        { label: "visitors", values: s.map((p) => p.visitors), color: "--chart-2" },
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
              <TopTable title="Top pages" items={s.top.path} empty="No pages viewed yet." />
              <TopTable
                title="Referrers"
                items={s.top.referrer}
                empty="No referrers: visits were direct."
              />
              {!props.compact && (
                <>
                  <TopTable title="Browsers" items={s.top.browser} empty="Nothing yet." />
                  <TopTable title="Operating systems" items={s.top.os} empty="Nothing yet." />
                  <TopTable title="Devices" items={s.top.device} empty="Nothing yet." />
                </>
              )}
              <TopTable
                title="Events"
                items={s.top.event}
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
            navigate(v ? `/analytics?app=${encodeURIComponent(v)}` : "/analytics", true);
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
