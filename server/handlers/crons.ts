/** An app's scheduled jobs over HTTP: what runs when, what ran, and a run now. */
import type { RouteContext } from "../context.ts";
import { HttpError } from "../http_error.ts";
import { findApp, intParam } from "../params.ts";
import type * as Api from "../api_types.ts";
import { type Answer, json } from "../respond.ts";
import { CronError } from "../../runtime/mod.ts";

/** `GET /api/apps/{name}/crons?limit=N`: each job with its next and last run, and the newest runs. */
export function listCrons(c: RouteContext): Answer<Api.CronList> {
  const app = findApp(c);
  const limit = intParam(c, "limit", { min: 1, max: 500, default: 20 });
  return json({
    jobs: c.server.crons.list(app.id),
    runs: c.server.storage.crons.runs(app.id, { limit }),
  });
}

/**
 * `POST /api/apps/{name}/crons/{job}/run`: runs the job now (its schedule
 * is unchanged) and answers with the finished run; 409 while it is running.
 */
export async function runCron(c: RouteContext): Promise<Answer<Api.CronRun>> {
  const app = findApp(c);
  try {
    return json(await c.server.crons.runNow(app.id, c.params.job));
  } catch (err) {
    if (err instanceof CronError) {
      throw new HttpError(err.code === "CRON_RUNNING" ? 409 : 404, err.code, err.message);
    }
    throw err;
  }
}
