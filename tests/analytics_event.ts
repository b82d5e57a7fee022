/** Analytics events for tests (whole, and as captured), with what a test does not care about filled in. */
import { CAPTURED, type Captured } from "../server/analytics_counter.ts";
import type { AnalyticsEvent } from "../storage/mod.ts";

/** A midnight, UTC: the default time of an event. */
export const EVENT_T0 = Date.UTC(2026, 0, 10);

/** A page view of `/` on `blog` by `v1` at `EVENT_T0`, with `over` applied. */
export function analyticsEvent(over: Partial<AnalyticsEvent> = {}): AnalyticsEvent {
  return {
    at: EVENT_T0,
    app: "blog",
    name: "pageview",
    source: "server",
    path: "/",
    referrer: "",
    browser: "Firefox",
    os: "Linux",
    device: "desktop",
    visitor: "v1",
    tags: null,
    props: null,
    ...over,
  };
}

/** One captured page view of `path` on app `blog`, as the serving thread hands it to a writer. */
export function capturedView(path: string, write = true): Captured {
  const ua = "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0";
  const now = Date.now();
  const line = [CAPTURED.view, now, "blog", path, ua, "203.0.113.7", "", "", "blog.test"];
  return {
    day: now - (now % 86_400_000),
    salt: "s",
    trustProxy: false,
    dailyCap: 0,
    count: 1,
    data: `${line.join("\0")}\n`,
    write,
  };
}
