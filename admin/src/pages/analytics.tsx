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
import { Card, Empty, number, Page, Show, Stat, TableHead, useLoad } from "../ui.tsx";

import { exportRows } from "../export.ts";

const DAY = 86_400_000;
const RANGES: [string, string, number, "hour" | "day"][] = [
  ["24h", "24 hours", DAY, "hour"],
  ["7d", "7 days", 7 * DAY, "day"],
  ["30d", "30 days", 30 * DAY, "day"],
  ["90d", "90 days", 90 * DAY, "day"],
];
const DATE = /^\d{4}-\d{2}-\d{2}$/;
const dayText = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeZone: "UTC" });
const atText = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });

/** What the URL asks for: a preset (`?range=7d`) or whole UTC days (`?range=custom&from=&to=`). */
interface Span {
  key: string;
  label: string;
  from: number;
  to: number;
  interval: "hour" | "day";
  /** The custom range's days, as `YYYY-MM-DD` (both included). */
  days?: [string, string];
}

function spanOf(query: URLSearchParams): Span {
  const from = query.get("from") ?? "";
  const to = query.get("to") ?? "";
  if (query.get("range") === "custom" && DATE.test(from) && DATE.test(to)) {
    const start = Date.parse(from);
    const end = Date.parse(to) + DAY;
    if (start < end) {
      return {
        key: "custom",
        label: `${dayText.format(start)} – ${dayText.format(end - DAY)}`,
        from: start,
        to: end,
        interval: end - start <= 2 * DAY ? "hour" : "day",
        days: [from, to],
      };
    }
  }
  const preset = RANGES.find((r) => r[0] === query.get("range")) ?? RANGES[1];
  const [key, label, span, interval] = preset;
  const now = Date.now();
  return { key, label, from: now - span, to: now, interval };
}

/** A top-list row: what is shown, its app when every app is shown, and the count. */
interface TopItem {
  value: string;
  app?: string;
  count: number;
}

function TopTable(props: { title: string; items: TopItem[]; empty: string; hint?: string }) {
  const max = Math.max(1, ...props.items.map((i) => i.count));
  return (
    <Card title={props.title} class="top">
      {props.hint && <p class="muted small">{props.hint}</p>}
      {props.items.length === 0 ? <p class="muted small">{props.empty}</p> : (
        <ol class="bars">
          {props.items.slice(0, 10).map((i) => (
            <li key={`${i.app ?? ""}\n${i.value}`}>
              <span class="bar" style={{ width: `${(i.count / max) * 100}%` }} aria-hidden="true" />
              <span class="bar-label ellipsis" title={i.app ? `${i.app} ${i.value}` : i.value}>
                {i.app && <span class="app-tag">{i.app}</span>}
                {i.app && " "}
                {i.value || "(none)"}
              </span>
              <span class="bar-count">{number(i.count)}</span>
            </li>
          ))}
        </ol>
      )}
    </Card>
  );
}

/** A flat property object as `key: value` pairs. */
function Props(props: { value: unknown }) {
  const v = props.value;
  if (v === null || v === undefined) return <span class="muted">none</span>;
  if (typeof v !== "object" || Array.isArray(v)) return <code>{JSON.stringify(v)}</code>;
  return (
    <span class="props">
      {Object.entries(v as Record<string, unknown>).map(([k, x]) => (
        <code key={k}>{k}: {typeof x === "string" ? x : JSON.stringify(x)}</code>
      ))}
    </span>
  );
}

function RecentEvents(props: { events: Api.RecentEvent[]; allApps: boolean }) {
  return (
    <Card title="Recent events">
      {props.events.length === 0
        ? <p class="muted small">No events: call fazt.track(name, props) from a page.</p>
        : (
          <div class="table-wrap">
            <table class="table responsive">
              <TableHead
                columns={[
                  "Time",
                  ...(props.allApps ? ["App"] : []),
                  "Event",
                  "Path",
                  "Properties",
                ]}
              />
              <tbody>
                {props.events.map((e, i) => (
                  <tr key={`${e.at}-${i}`}>
                    <td data-label="Time">{atText.format(e.at)}</td>
                    {props.allApps && <td data-label="App">{e.app}</td>}
                    <td data-label="Event" class="mono">{e.name}</td>
                    <td data-label="Path" class="mono small">{e.path}</td>
                    <td data-label="Properties" class="small">
                      <Props value={e.props} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
    </Card>
  );
}

/** Picks whole UTC days; applied through the URL, so a reload keeps them. */
function CustomRange(props: { days?: [string, string] }) {
  const today = new Date().toISOString().slice(0, 10);
  const [from, setFrom] = useState(props.days?.[0] ?? today);
  const [to, setTo] = useState(props.days?.[1] ?? today);
  const [error, setError] = useState<string>();
  const apply = (e: Event) => {
    e.preventDefault();
    if (!DATE.test(from) || !DATE.test(to)) return setError("Pick both dates.");
    if (from > to) return setError("The first day must not be after the last.");
    setError(undefined);
    navigate(withQuery({ range: "custom", from, to }), true);
  };
  return (
    <form class="row wrap custom-range" onSubmit={apply}>
      <label class="field inline">
        <span>From</span>
        <input
          type="date"
          value={from}
          max={today}
          onInput={(e) => setFrom((e.target as HTMLInputElement).value)}
        />
      </label>
      <label class="field inline">
        <span>To (included)</span>
        <input
          type="date"
          value={to}
          onInput={(e) => setTo((e.target as HTMLInputElement).value)}
        />
      </label>
      <button type="submit" class="btn small">Apply</button>
      <span class="muted small">Whole days, UTC.</span>
      {error && <div class="notice error" role="alert">{error}</div>}
    </form>
  );
}

type Stats = Api.Stats;

/** What is shown, as one JSON document or as long-format CSV rows. */
function exported(s: Stats, events: Api.EventStats | undefined, app: string, span: Span) {
  const json = {
    app: app || null,
    from: new Date(s.from).toISOString(),
    to: new Date(s.to).toISOString(),
    interval: s.interval,
    totals: s.totals,
    series: s.series.map((p) => ({ ...p, time: new Date(p.t).toISOString() })),
    top_pages: s.by_app.paths,
    not_found: s.by_app.not_found,
    referrers: s.top.referrers,
    browsers: s.top.browsers,
    operating_systems: s.top.oses,
    devices: s.top.devices,
    event_names: s.top.events,
    recent_events: events?.recent ?? [],
  };
  const rows: Record<string, unknown>[] = [];
  for (const p of s.series) {
    const time = new Date(p.t).toISOString();
    rows.push({ section: "views", app: app, value: time, count: p.views });
    rows.push({ section: "visitors", app: app, value: time, count: p.visitors });
    rows.push({ section: "events", app: app, value: time, count: p.events });
  }
  const lists: [string, TopItem[]][] = [
    ["top pages", s.by_app.paths],
    ["not found", s.by_app.not_found],
    ["referrers", s.top.referrers],
    ["browsers", s.top.browsers],
    ["operating systems", s.top.oses],
    ["devices", s.top.devices],
    ["event names", s.top.events],
  ];
  for (const [section, items] of lists) {
    for (const i of items) {
      rows.push({ section, app: i.app ?? app, value: i.value, count: i.count });
    }
  }
  const base = `analytics-${app || "all-apps"}-${span.days ? span.days.join("-") : span.key}`;
  return { json, rows, base };
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
  // The range is in the URL (?range=24h, or ?range=custom&from=&to=), so a
  // view can be linked, reloaded and shared.
  const { query } = useLocation();
  const span = spanOf(query);
  const [picking, setPicking] = useState(false);
  const custom = span.key === "custom" || picking;
  const setRange = (r: string) => {
    setPicking(false);
    navigate(withQuery({ range: r === "7d" ? null : r, from: null, to: null }), true);
  };
  const rangeQuery = () => {
    const q = new URLSearchParams({
      from: String(span.from),
      to: String(span.to),
      interval: span.interval,
    });
    if (props.app) q.set("app", props.app);
    return q;
  };
  const deps = [props.app, span.key, span.days?.join()];
  const state = useLoad((signal) => api<Api.Stats>(`/api/stats?${rangeQuery()}`, { signal }), deps);
  const events = useLoad((signal) => {
    const q = rangeQuery();
    q.set("limit", "20");
    return api<Api.EventStats>(`/api/stats/events?${q}`, { signal });
  }, deps);
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
  const allApps = !props.app;
  const byApp = (items: Api.AppTopEntry[]): TopItem[] =>
    items.map((i) => ({ value: i.value, count: i.count, ...(allApps ? { app: i.app } : {}) }));
  return (
    <div class="analytics">
      <div class="row wrap between">
        <div class="segmented" role="radiogroup" aria-label="Time range">
          {RANGES.map(([key, text]) => (
            <button
              type="button"
              role="radio"
              key={key}
              aria-checked={!custom && key === span.key}
              class={!custom && key === span.key ? "on" : ""}
              onClick={() => setRange(key)}
            >
              {key}
              <span class="sr-only">({text})</span>
            </button>
          ))}
          <button
            type="button"
            role="radio"
            aria-checked={custom}
            class={custom ? "on" : ""}
            onClick={() => setPicking(true)}
          >
            Custom
          </button>
        </div>
        {state.data && (
          <div class="row wrap">
            <button
              type="button"
              class="btn small"
              onClick={() => {
                const x = exported(state.data!, events.data, props.app, span);
                exportRows(x.base, "json", [x.json]);
              }}
            >
              Export JSON
            </button>
            <button
              type="button"
              class="btn small"
              onClick={() => {
                const x = exported(state.data!, events.data, props.app, span);
                exportRows(x.base, "csv", x.rows);
              }}
            >
              Export CSV
            </button>
          </div>
        )}
      </div>
      {custom && <CustomRange key={span.days?.join()} days={span.days} />}
      <Realtime app={props.app} />
      <Show state={state}>
        {(s) => (
          <>
            <div class="stats compact">
              <Stat label={`Views, ${span.label}`} value={number(s.totals.views)} />
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
                    label={`Views and visitors over ${span.label}`}
                    times={chart.times}
                    series={chart.series}
                  />
                )}
            </Card>
            <div class="grid-2">
              <TopTable
                title="Top pages"
                items={byApp(s.by_app.paths)}
                empty="No pages viewed yet."
              />
              <TopTable
                title="Not found (404)"
                items={byApp(s.by_app.not_found)}
                empty="No visitor asked for a file the app does not have."
                hint="Paths people (not bots) asked for that answered 404: broken links to fix."
              />
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
            {events.data && <RecentEvents events={events.data.recent} allApps={allApps} />}
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
