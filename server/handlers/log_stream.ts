/** `GET /api/apps/{name}/logs/stream`: an app's log as Server-Sent Events (a live tail). */
import type { LogEntry } from "../../storage/mod.ts";
import type { RouteContext } from "../context.ts";
import { findApp, intParam } from "../params.ts";

const POLL_MS = 1000;
const PING_MS = 15_000;

/**
 * Where the stream starts: after the `Last-Event-ID` an `EventSource` sends
 * back when it reconnects (one of the ids this stream sent; anything else
 * is ignored, as a refusal would end its reconnecting for good), else after
 * `?after=` (400 when it is not an entry id), else at the newest 100 lines.
 */
function resumeAfter(c: RouteContext): number | undefined {
  const last = c.req.headers.get("last-event-id");
  if (last !== null && /^\d{1,15}$/.test(last)) return Number(last);
  return intParam(c, "after", {
    min: 0,
    max: Number.MAX_SAFE_INTEGER,
    message: "after must be a log entry's id, a whole number",
  });
}

/**
 * Sends the newest 100 lines, then each new line as an `event: log` with the
 * entry's id, so a reconnecting `EventSource` resumes from `Last-Event-ID`
 * without gaps or repeats. Ends when the client goes away, the app is
 * deleted, or the node shuts down.
 */
export function streamLogs(c: RouteContext): Response {
  const { storage, closing } = c.server;
  const app = findApp(c);
  let after = resumeAfter(c);
  const enc = new TextEncoder();
  let poll: ReturnType<typeof setInterval> | undefined;
  let ping: ReturnType<typeof setInterval> | undefined;
  let stop = () => {};
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      let ended = false;
      stop = () => {
        if (ended) return;
        ended = true;
        clearInterval(poll);
        clearInterval(ping);
        closing?.removeEventListener("abort", stop);
        try {
          controller.close();
        } catch {
          // Already closed by the client going away.
        }
      };
      const send = (text: string) => {
        if (!ended) controller.enqueue(enc.encode(text));
      };
      const pump = () => {
        if (storage.apps.get(app.name)?.id !== app.id) return stop();
        let rows: LogEntry[];
        try {
          rows = storage.logs.recent(
            app.id,
            after === undefined ? { limit: 100 } : { after, limit: 500 },
          );
        } catch {
          return stop();
        }
        for (const row of rows) {
          send(`id: ${row.id}\nevent: log\ndata: ${JSON.stringify(row)}\n\n`);
          after = row.id;
        }
        after ??= 0;
      };
      if (closing?.aborted) return stop();
      closing?.addEventListener("abort", stop);
      send("retry: 2000\n\n");
      pump();
      poll = setInterval(pump, POLL_MS);
      ping = setInterval(() => send(": ping\n\n"), PING_MS);
    },
    cancel() {
      stop();
    },
  });
  return new Response(body, {
    headers: {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-store",
      "x-accel-buffering": "no",
    },
  });
}
