/** A whole analytics event for tests, with what a test does not care about filled in. */
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
