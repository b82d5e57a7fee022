/** An app's Jobs tab: its scheduled jobs (manifest crons, Deno.cron), their runs, run now. */
import { Fragment } from "preact";
import { useState } from "preact/hooks";
import { type Api, api } from "../api.ts";
import { ago, Badge, Card, dateTime, Empty, Show, TableHead, toast, useLoad } from "../ui.tsx";

const enc = encodeURIComponent;

function outcomeTone(outcome: Api.CronRun["outcome"]): "ok" | "bad" | "warn" | "info" {
  return outcome === "ok"
    ? "ok"
    : outcome === "running"
    ? "info"
    : outcome === "timeout"
    ? "warn"
    : "bad";
}

function took(run: Api.CronRun): string {
  return run.duration_ms === null ? "" : `${run.duration_ms} ms`;
}

export function Jobs(props: { name: string }) {
  const name = props.name;
  const state = useLoad(
    (signal) => api<Api.CronList>(`/api/apps/${enc(name)}/crons?limit=50`, { signal }),
    [name],
  );
  const [busy, setBusy] = useState<string>();
  const [open, setOpen] = useState<number>();
  const runNow = async (job: string) => {
    setBusy(job);
    try {
      const run = await api<Api.CronRun>(`/api/apps/${enc(name)}/crons/${enc(job)}/run`, {
        method: "POST",
        body: {},
      });
      toast(
        run.outcome === "ok" ? `${job} ran in ${took(run)}` : `${job}: ${run.outcome}`,
        run.outcome === "ok" ? "ok" : "bad",
      );
    } catch (err) {
      toast((err as Error).message, "bad");
    } finally {
      setBusy(undefined);
      state.reload();
    }
  };
  return (
    <Show state={state}>
      {(list) => (
        <>
          <Card title="Scheduled jobs">
            <p class="muted small">
              Jobs come from the manifest's <code>crons</code> (run by{" "}
              <code>scheduled(event, ctx)</code>) and from <code>Deno.cron</code>{" "}
              in the app's code. Times are UTC unless a job names its time zone. Runs missed while
              the node was down are not made up.
            </p>
            {list.jobs.length === 0
              ? <Empty title="No scheduled jobs">Add "crons" to manifest.json.</Empty>
              : (
                <table class="table responsive">
                  <TableHead
                    columns={["Job", "Schedule", "From", "Next run", "Last run"]}
                    actions
                  />
                  <tbody>
                    {list.jobs.map((j) => (
                      <tr key={j.name}>
                        <td data-label="Job">
                          <strong>{j.name}</strong>
                        </td>
                        <td data-label="Schedule">
                          <code>{j.schedule}</code> <span class="muted small">{j.tz ?? "UTC"}</span>
                        </td>
                        <td data-label="From">{j.source === "code" ? "Deno.cron" : "manifest"}</td>
                        <td data-label="Next run">{dateTime(j.next_run)}</td>
                        <td data-label="Last run">
                          {j.running ? <Badge tone="info">running</Badge> : j.last_run
                            ? (
                              <>
                                <Badge tone={outcomeTone(j.last_run.outcome)}>
                                  {j.last_run.outcome}
                                </Badge>{" "}
                                <span class="muted small">{ago(j.last_run.started_at)}</span>
                              </>
                            )
                            : <span class="muted">never</span>}
                        </td>
                        <td class="actions">
                          <button
                            type="button"
                            class="btn small"
                            disabled={j.running || busy !== undefined}
                            aria-label={`Run ${j.name} now`}
                            onClick={() => runNow(j.name)}
                          >
                            {busy === j.name ? "Running…" : "Run now"}
                          </button>
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              )}
          </Card>
          <Card title="Recent runs">
            {list.runs.length === 0
              ? <Empty title="No runs yet" />
              : (
                <table class="table responsive">
                  <TableHead columns={["Job", "Started", "Took", "Outcome", "Trigger"]} />
                  <tbody>
                    {list.runs.map((r) => (
                      <Fragment key={r.id}>
                        <tr>
                          <td data-label="Job">{r.job}</td>
                          <td data-label="Started">{dateTime(r.started_at)}</td>
                          <td data-label="Took">{took(r)}</td>
                          <td data-label="Outcome">
                            <Badge tone={outcomeTone(r.outcome)}>{r.outcome}</Badge>
                            {r.error && <span class="muted small">{r.error}</span>}
                            {r.logs.length > 0 && (
                              <button
                                type="button"
                                class="btn small"
                                aria-expanded={open === r.id}
                                onClick={() => setOpen(open === r.id ? undefined : r.id)}
                              >
                                {r.logs.length} log line{r.logs.length === 1 ? "" : "s"}
                              </button>
                            )}
                          </td>
                          <td data-label="Trigger">{r.trigger}</td>
                        </tr>
                        {open === r.id && (
                          <tr>
                            <td colSpan={5}>
                              <pre class="log">{r.logs.map((l) => `${l.level.toUpperCase().padEnd(5)} ${l.message}`).join("\n")}</pre>
                            </td>
                          </tr>
                        )}
                      </Fragment>
                    ))}
                  </tbody>
                </table>
              )}
          </Card>
        </>
      )}
    </Show>
  );
}
