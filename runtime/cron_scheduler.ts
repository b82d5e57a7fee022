/**
 * Runs apps' scheduled jobs: the manifest's `crons` and the `Deno.cron`
 * jobs their code registered. One timer per job, armed for its next run
 * (computed again after each run, from the clock: a run missed while the
 * node was down, or while the previous run of the same job was still going,
 * is not made up). A job never runs twice at once, whatever started it.
 * A job with a backoff (`Deno.cron`'s `backoffSchedule`) whose run failed
 * is run again after each of its waits until a run succeeds, as Deno does:
 * meanwhile its schedule's runs are skipped. Each run, retries too, is
 * recorded (start, duration, outcome, the app's log lines).
 * The same runner starts stopped apps whose queue has a message due
 * (`QueueWaker`), with the same lifecycle: loaded at start, told of each
 * deploy, not run on a standby.
 * @module
 */
import type { CronRun, Settings, Storage } from "../storage/mod.ts";
import type { AppRuntime, AppTarget } from "./app_runtime.ts";
import { type CronSpec, nextRunOf, sameCronSpec } from "./cron_schedule.ts";
import { type Manifest, parseManifest } from "./manifest.ts";
import { QueueWaker } from "./queue_waker.ts";

/** A job as the API shows it. */
export interface CronJobStatus {
  name: string;
  schedule: string;
  /** Its time zone; null: UTC. */
  tz: string | null;
  /** `manifest` (`crons`, run by `scheduled`) or `code` (`Deno.cron`). */
  source: "manifest" | "code";
  /** When it runs next (ms since the epoch). */
  next_run: number | null;
  running: boolean;
  last_run: CronRun | null;
}

/** A refusal of `runNow`: no such job, or it is running. */
export class CronError extends Error {
  constructor(readonly code: "CRON_NOT_FOUND" | "CRON_RUNNING", message: string) {
    super(message);
  }
}

interface Job {
  spec: CronSpec;
  source: "manifest" | "code";
  next: number | undefined;
  timer: ReturnType<typeof setTimeout> | undefined;
  /** The retry waiting after a failed run: when it is due, and which retry it is (1: the first). */
  retry?: { at: number; timer: ReturnType<typeof setTimeout>; attempt: number };
}

function stopTimers(job: Job): void {
  clearTimeout(job.timer);
  if (job.retry) clearTimeout(job.retry.timer);
  job.retry = undefined;
}

interface AppJobs {
  target: AppTarget;
  manifest: Manifest;
  jobs: Map<string, Job>;
}

/** setTimeout's longest wait; a later run re-arms when this passes. */
const MAX_WAIT = 3_600_000;

export class CronScheduler {
  #apps = new Map<number, AppJobs>();
  /** `appId:job` of runs in progress (kept across redeploys of the app). */
  #running = new Set<string>();
  #started = false;
  #closed = false;
  /** Starts stopped apps when a message of their queue is due. */
  readonly queues: QueueWaker;

  constructor(
    private storage: Storage,
    private runtime: AppRuntime,
    private settings: Settings,
    private log: (m: string) => void,
  ) {
    this.queues = new QueueWaker(storage, runtime, log);
    runtime.onCodeCrons = (appId) => {
      const name = this.#apps.get(appId)?.target.appName ??
        this.storage.apps.list().find((a) => a.id === appId)?.name;
      if (name) this.refresh(name);
    };
  }

  /** Loads every live app's jobs; runs left unfinished by the last process end as errors. */
  start(): void {
    if (this.#started || this.#closed) return;
    this.#started = true;
    const abandoned = this.storage.crons.abandonRunning(Date.now());
    if (abandoned) this.log(`${abandoned} scheduled run(s) were cut short by the last stop`);
    for (const name of this.storage.apps.liveNames()) this.refresh(name);
    this.queues.start();
  }

  /**
   * After a deploy, rollback, promotion or delete: the app's jobs again. A
   * live version whose code may call `Deno.cron` and has not reported yet is
   * loaded so that it does.
   */
  refresh(name: string): void {
    if (!this.#started || this.#closed) return;
    const app = this.storage.apps.get(name);
    const old = app
      ? this.#apps.get(app.id)
      : [...this.#apps.values()].find((a) => a.target.appName === name);
    // The same version's jobs rebuilt (its code reported its `Deno.cron`
    // jobs) keep the retries they were waiting for.
    const waiting = old && app && old.target.version === app.live_version
      ? [...old.jobs.values()].flatMap((j) => j.retry ? [{ spec: j.spec, retry: j.retry }] : [])
      : [];
    if (old) {
      for (const job of old.jobs.values()) stopTimers(job);
      this.#apps.delete(old.target.appId);
    }
    this.queues.changed(app?.id ?? old?.target.appId);
    if (!app || app.live_version == null) return;
    const version = app.live_version;
    const info = this.storage.apps.serverInfo(app.id, version);
    if (!info.hasBuild) return;
    const manifest = parseManifest(info.manifest);
    const target: AppTarget = { appId: app.id, appName: name, version };
    const jobs = new Map<string, Job>();
    const code = this.storage.crons.codeCrons(app.id, version);
    for (const spec of manifest.crons) {
      jobs.set(spec.name, { spec, source: "manifest", next: undefined, timer: undefined });
    }
    for (const c of code) {
      // A manifest entry of the same name wins: it says the time zone too.
      if (!jobs.has(c.name)) {
        jobs.set(c.name, { spec: c, source: "code", next: undefined, timer: undefined });
      }
    }
    const entry: AppJobs = { target, manifest, jobs };
    this.#apps.set(app.id, entry);
    for (const job of jobs.values()) this.#arm(entry, job);
    for (const was of waiting) {
      const job = jobs.get(was.spec.name);
      if (job && sameCronSpec(job.spec, was.spec)) this.#retryAt(entry, job, was.retry);
    }
    if (code.length === 0 && this.#mayRegister(app.id, version)) {
      this.runtime.discover(target, manifest).catch(() => {});
    }
  }

  /** Whether a version's code mentions `Deno.cron` (bundlers keep global member access as written). */
  #mayRegister(appId: number, version: number): boolean {
    return this.storage.apps.build(appId, version)?.code.includes("Deno.cron") ?? false;
  }

  #arm(app: AppJobs, job: Job, after = Date.now()): void {
    if (this.#closed) return;
    job.next = nextRunOf(job.spec, after);
    if (job.next === undefined) return;
    const wait = Math.min(Math.max(0, job.next - Date.now()), MAX_WAIT);
    job.timer = setTimeout(() => this.#due(app, job), wait);
    Deno.unrefTimer(job.timer);
  }

  #due(app: AppJobs, job: Job): void {
    job.timer = undefined;
    if (!this.#current(app, job)) return;
    const due = job.next ?? Date.now();
    if (Date.now() < due) return this.#arm(app, job, Date.now() - 1);
    // The next run is planned from the due time: never the same instant twice.
    this.#arm(app, job, Math.max(Date.now(), due));
    if (this.#running.has(`${app.target.appId}:${job.spec.name}`)) return;
    // A failed run being retried is still that run: the schedule waits for it.
    if (job.retry) return;
    this.#start(app, job, "schedule", due, 0);
  }

  /** Whether `job` is still the app's job of that name (not replaced by a deploy). */
  #current(app: AppJobs, job: Job): boolean {
    return this.#apps.get(app.target.appId) === app && app.jobs.get(job.spec.name) === job;
  }

  #start(app: AppJobs, job: Job, trigger: CronRun["trigger"], due: number, attempt: number): void {
    this.#run(app, job, trigger, due, attempt).catch((err) =>
      this.log(`scheduled job failed to run: ${err instanceof Error ? err.message : err}`)
    );
  }

  /** After a failed scheduled run or retry: the next step of the job's backoff, if any is left. */
  #retryLater(app: AppJobs, job: Job, attempt: number): void {
    const wait = job.spec.backoff?.[attempt];
    if (wait === undefined || this.#closed) return;
    const now = this.#currentForm(app, job);
    if (now) this.#retryAt(now.app, now.job, { at: Date.now() + wait, attempt: attempt + 1 });
  }

  #retryAt(app: AppJobs, job: Job, retry: { at: number; attempt: number }): void {
    const timer = setTimeout(() => {
      job.retry = undefined;
      if (!this.#current(app, job)) return;
      // Only a manual run can be going now; it stands for this retry.
      if (this.#running.has(`${app.target.appId}:${job.spec.name}`)) return;
      this.#start(app, job, "retry", Date.now(), retry.attempt);
    }, Math.max(0, retry.at - Date.now()));
    Deno.unrefTimer(timer);
    job.retry = { at: retry.at, timer, attempt: retry.attempt };
  }

  /**
   * The job as the scheduler holds it now: itself, or the same job of the
   * same version rebuilt by a refresh while it ran (a version's first load
   * reports its `Deno.cron` jobs); undefined once deployed over or removed.
   */
  #currentForm(app: AppJobs, job: Job): { app: AppJobs; job: Job } | undefined {
    if (this.#current(app, job)) return { app, job };
    const now = this.#apps.get(app.target.appId);
    const same = now?.jobs.get(job.spec.name);
    if (!now || !same || now.target.version !== app.target.version) return undefined;
    return sameCronSpec(same.spec, job.spec) ? { app: now, job: same } : undefined;
  }

  /** `attempt`: 0 for a first run, n for the n-th retry. */
  async #run(
    app: AppJobs,
    job: Job,
    trigger: CronRun["trigger"],
    due: number,
    attempt = 0,
  ): Promise<CronRun> {
    const { appId } = app.target;
    const key = `${appId}:${job.spec.name}`;
    this.#running.add(key);
    const started = Date.now();
    try {
      const id = await this.runtime.writes.run(
        appId,
        () => this.storage.crons.start(appId, job.spec.name, trigger, started),
      );
      const result = await this.runtime.runJob(app.target, app.manifest, {
        name: job.spec.name,
        cron: job.spec.schedule,
        source: job.source,
        scheduledTime: due,
      });
      const durationMs = Date.now() - started;
      await this.runtime.writes.run(appId, () =>
        this.storage.crons.finish(appId, id, {
          outcome: result.outcome,
          durationMs,
          error: result.error,
          logs: result.logs,
        }, this.settings.cron_runs_kept));
      if (result.outcome !== "ok" && trigger !== "manual") this.#retryLater(app, job, attempt);
      return this.storage.crons.runs(appId, { job: job.spec.name, limit: 1 })[0];
    } finally {
      this.#running.delete(key);
    }
  }

  /** An app's jobs with their next run and last run. */
  list(appId: number): CronJobStatus[] {
    const app = this.#apps.get(appId);
    if (!app) return [];
    return [...app.jobs.values()].map((job) => ({
      name: job.spec.name,
      schedule: job.spec.schedule,
      tz: job.spec.tz ?? null,
      source: job.source,
      // While a failed run waits for its retry, the schedule's runs are skipped.
      next_run: job.retry?.at ?? job.next ?? null,
      running: this.#running.has(`${appId}:${job.spec.name}`),
      last_run: this.storage.crons.runs(appId, { job: job.spec.name, limit: 1 })[0] ?? null,
    }));
  }

  /** Runs a job now (its schedule is unchanged); resolves with the finished run. */
  runNow(appId: number, name: string): Promise<CronRun> {
    const app = this.#apps.get(appId);
    const job = app?.jobs.get(name);
    if (!app || !job) {
      return Promise.reject(new CronError("CRON_NOT_FOUND", `The app has no job '${name}'`));
    }
    if (this.#running.has(`${appId}:${name}`)) {
      return Promise.reject(
        new CronError("CRON_RUNNING", `Job '${name}' is running; it never runs twice at once`),
      );
    }
    return this.#run(app, job, "manual", Date.now());
  }

  close(): void {
    this.#closed = true;
    this.queues.close();
    for (const app of this.#apps.values()) {
      for (const job of app.jobs.values()) stopTimers(job);
    }
    this.#apps.clear();
  }
}
