import type { Database } from "./database.ts";
import { checkAppId } from "./input_checks.ts";

/** How a run ended; `running` until it does. */
export type CronOutcome = "running" | "ok" | "error" | "timeout";

/** One run of one job, as stored. */
export interface CronRun {
  id: number;
  job: string;
  /**
   * `schedule` (the clock), `manual` (`fazt app cron run`, the API, the
   * dashboard) or `retry` (a step of the job's backoff after a failed run).
   */
  trigger: "schedule" | "manual" | "retry";
  started_at: number;
  duration_ms: number | null;
  outcome: CronOutcome;
  error: string | null;
  logs: { level: string; message: string; at: number }[];
}

/** A job an app's code registered with `Deno.cron`. */
export interface CodeCron {
  name: string;
  schedule: string;
  /** Its `backoffSchedule`: waits (ms) before each retry of a failed run. */
  backoff?: number[];
}

const MAX_LOG_LINES = 100;
const MAX_ERROR = 2000;

interface RunRow extends Omit<CronRun, "logs"> {
  logs: string;
}

/**
 * Scheduled jobs' history, bounded per job (`keep` newest runs), and the
 * jobs each version registered in code.
 */
export class CronStore {
  constructor(private db: Database) {}

  /** Records the start of a run; returns its id. */
  start(appId: number, job: string, trigger: CronRun["trigger"], at: number): number {
    checkAppId(appId);
    return this.db.run(
      `INSERT INTO cron_runs (app_id, job, trigger, started_at, outcome) VALUES (?, ?, ?, ?, 'running')`,
      appId,
      job,
      trigger,
      at,
    ).lastId;
  }

  /** Records how a run ended and drops the job's runs beyond the newest `keep`. */
  finish(
    appId: number,
    id: number,
    end: {
      outcome: Exclude<CronOutcome, "running">;
      durationMs: number;
      error?: string;
      logs: CronRun["logs"];
    },
    keep: number,
  ): void {
    this.db.transaction(() => {
      const row = this.db.get<{ job: string }>(
        "SELECT job FROM cron_runs WHERE id = ? AND app_id = ?",
        id,
        appId,
      );
      if (!row) return;
      this.db.run(
        "UPDATE cron_runs SET outcome = ?, duration_ms = ?, error = ?, logs = ? WHERE id = ?",
        end.outcome,
        Math.max(0, Math.round(end.durationMs)),
        end.error ? end.error.slice(0, MAX_ERROR) : null,
        JSON.stringify(end.logs.slice(-MAX_LOG_LINES)),
        id,
      );
      this.db.run(
        `DELETE FROM cron_runs WHERE app_id = ? AND job = ? AND id <= (
           SELECT id FROM cron_runs WHERE app_id = ? AND job = ? ORDER BY id DESC LIMIT 1 OFFSET ?)`,
        appId,
        row.job,
        appId,
        row.job,
        keep,
      );
    });
  }

  /**
   * Runs left `running` by a node that stopped mid-run: they end as errors
   * (they are not run again).
   */
  abandonRunning(now: number): number {
    return this.db.run(
      `UPDATE cron_runs SET outcome = 'error', error = 'the node stopped during the run',
         duration_ms = MAX(0, ? - started_at) WHERE outcome = 'running'`,
      now,
    ).changes;
  }

  /** An app's newest runs, newest first; of one job when `job` is given. */
  runs(appId: number, opts: { job?: string; limit?: number } = {}): CronRun[] {
    checkAppId(appId);
    const limit = Math.min(Math.max(opts.limit ?? 20, 1), 500);
    const rows = opts.job === undefined
      ? this.db.all<RunRow>(
        `SELECT id, job, trigger, started_at, duration_ms, outcome, error, logs FROM cron_runs
         WHERE app_id = ? ORDER BY id DESC LIMIT ?`,
        appId,
        limit,
      )
      : this.db.all<RunRow>(
        `SELECT id, job, trigger, started_at, duration_ms, outcome, error, logs FROM cron_runs
         WHERE app_id = ? AND job = ? ORDER BY id DESC LIMIT ?`,
        appId,
        opts.job,
        limit,
      );
    return rows.map((r) => ({ ...r, logs: JSON.parse(r.logs) }));
  }

  /** Replaces the jobs a version registered in code. */
  setCodeCrons(appId: number, version: number, crons: CodeCron[]): void {
    checkAppId(appId);
    this.db.transaction(() => {
      this.db.run("DELETE FROM app_code_crons WHERE app_id = ? AND version = ?", appId, version);
      for (const c of crons) {
        this.db.run(
          `INSERT INTO app_code_crons (app_id, version, name, schedule, backoff)
           VALUES (?, ?, ?, ?, ?)`,
          appId,
          version,
          c.name,
          c.schedule,
          c.backoff?.length ? JSON.stringify(c.backoff) : null,
        );
      }
    });
  }

  /** The jobs a version registered in code (none until its code has loaded once). */
  codeCrons(appId: number, version: number): CodeCron[] {
    return this.db.all<{ name: string; schedule: string; backoff: string | null }>(
      `SELECT name, schedule, backoff FROM app_code_crons WHERE app_id = ? AND version = ?
       ORDER BY name`,
      appId,
      version,
    ).map(({ name, schedule, backoff }) =>
      backoff ? { name, schedule, backoff: JSON.parse(backoff) } : { name, schedule }
    );
  }
}
