/**
 * Starts stopped apps whose Deno KV queue has a message due, as Deno Deploy
 * wakes an isolate: an app's `listenQueue` takes messages only while its
 * Worker runs, and a Worker stops when the app has been idle for
 * `app_idle_ms`. Only apps whose live version called `listenQueue` while it
 * loaded are started (or a version that has not loaded yet and whose code
 * mentions it: loading it once tells). The app is started the way the cron
 * runner starts one, without a request (`AppRuntime.discover`); its code
 * registers its listener, the usual delivery takes the messages, and it
 * idles out again.
 *
 * One timer for the whole node, armed for the soonest due message of an app
 * that is not running; nothing is armed while no such message waits. A look
 * happens when the timer fires, when an app stops, when an app's version
 * changes, and when an app that is not running enqueues. A run that went
 * wrong (the app crashed or was stopped for what it did, or a handler was
 * cut short) makes the next start of that app wait: 1 s, then twice as long
 * each time, up to an hour; a run that went well resets the wait.
 * @module
 */
import type { QueueWakeup, Storage } from "../storage/mod.ts";
import type { AppRuntime } from "./app_runtime.ts";
import { parseManifest } from "./manifest.ts";

/** Apps started in one look; when more are due, the next look is `BATCH_PAUSE_MS` later. */
const WAKE_BATCH = 8;
const BATCH_PAUSE_MS = 1000;
/** setTimeout's longest wait; a later due time re-arms when this passes. */
const MAX_WAIT = 3_600_000;
const BACKOFF_FIRST_MS = 1000;
const BACKOFF_MAX_MS = 3_600_000;

interface Failures {
  count: number;
  /** No start before this. */
  until: number;
}

export class QueueWaker {
  #timer: ReturnType<typeof setTimeout> | undefined;
  #at = Infinity;
  /** Apps this waker started (when, and their name), until they stop. */
  #woken = new Map<number, { at: number; name: string }>();
  #failures = new Map<number, Failures>();
  #started = false;
  #closed = false;

  constructor(
    private storage: Storage,
    private runtime: AppRuntime,
    private log: (m: string) => void,
  ) {
    runtime.onStopped = (appId) => this.#stopped(appId);
    runtime.kvSignals.onEnqueue = (appId) => {
      // A running app's own listener takes its messages; when it stops, the waker looks.
      if (!runtime.running(appId)) this.soon();
    };
  }

  /** Looks at every app's queue now (after a restart too: what is due is started). */
  start(): void {
    if (this.#started || this.#closed) return;
    this.#started = true;
    this.soon();
  }

  /** App `appId` changed (deployed, rolled back, deleted): its new code starts with a clean slate. */
  changed(appId: number | undefined): void {
    if (appId !== undefined) {
      this.#failures.delete(appId);
      this.#woken.delete(appId);
    }
    this.soon();
  }

  /** A look at the queues on the next turn of the event loop. */
  soon(): void {
    this.#arm(Date.now());
  }

  /** When an app's start waits after a run that went wrong (undefined: it does not). */
  pausedUntil(appId: number): number | undefined {
    const f = this.#failures.get(appId);
    return f && f.until > Date.now() ? f.until : undefined;
  }

  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #arm(at: number): void {
    if (!this.#started || this.#closed) return;
    if (this.#timer !== undefined && this.#at <= at) return;
    clearTimeout(this.#timer);
    this.#at = at;
    const wait = Math.min(Math.max(0, at - Date.now()), MAX_WAIT);
    this.#timer = setTimeout(() => this.#look(), wait);
    Deno.unrefTimer(this.#timer);
  }

  #stopped(appId: number): void {
    const woken = this.#woken.get(appId);
    if (woken !== undefined) {
      this.#woken.delete(appId);
      const wrong = this.runtime.troubleAt(appId) >= woken.at ||
        this.storage.denoKv.leased(appId);
      if (wrong) this.#failed(appId, woken.name);
      else this.#failures.delete(appId);
    }
    this.soon();
  }

  #failed(appId: number, name: string): void {
    const count = (this.#failures.get(appId)?.count ?? 0) + 1;
    const pause = Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * 2 ** (count - 1));
    // A crashed app's own restart pause holds too.
    const until = Math.max(Date.now() + pause, this.runtime.restartAt(appId));
    this.#failures.set(appId, { count, until });
    this.log(
      `app ${name} went wrong after it was started for its queue; ` +
        `the next start for it waits ${Math.round((until - Date.now()) / 1000)} s`,
    );
  }

  #look(): void {
    this.#timer = undefined;
    this.#at = Infinity;
    if (this.#closed) return;
    const now = Date.now();
    const skip = new Set(this.runtime.runningApps());
    let next = Infinity;
    for (const [appId, f] of this.#failures) {
      if (f.until > now) {
        skip.add(appId);
        next = Math.min(next, f.until);
      }
    }
    let rows: QueueWakeup[];
    try {
      rows = this.storage.denoKv.wakeups([...skip], WAKE_BATCH + 1);
    } catch (err) {
      this.log(`could not read the apps' queues: ${err instanceof Error ? err.message : err}`);
      rows = [];
      next = Math.min(next, now + 60_000);
    }
    let woke = 0;
    for (const row of rows) {
      if (row.due > now) {
        next = Math.min(next, row.due);
        break;
      }
      if (woke === WAKE_BATCH) {
        next = Math.min(next, now + BATCH_PAUSE_MS);
        break;
      }
      const restart = this.runtime.restartAt(row.appId);
      if (restart > now) {
        next = Math.min(next, restart);
        continue;
      }
      if (this.#wake(row)) woke++;
    }
    if (next < Infinity) this.#arm(next);
  }

  #wake(row: QueueWakeup): boolean {
    const info = this.storage.apps.serverInfo(row.appId, row.version);
    if (!info.hasBuild) return false;
    let manifest;
    try {
      manifest = parseManifest(info.manifest);
    } catch {
      return false;
    }
    this.#woken.set(row.appId, { at: Date.now(), name: row.name });
    // A start that fails is seen when its instance is swept: the runtime records the crash.
    this.runtime.discover({ appId: row.appId, appName: row.name, version: row.version }, manifest)
      .catch(() => {});
    return true;
  }
}
