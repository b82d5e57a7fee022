/**
 * The code that runs first inside an app's Worker (bundled by `build.ts`
 * into `dist/bootstrap.ts`, which the app host starts from a blob: URL).
 *
 * It gives the app `ctx` and the global `fazt` (storage calls become
 * messages to the host), captures `console`, caps nested Workers, runs the
 * app's handler for each request, and supports the original fazt style: a
 * script in `api/main.js` that uses the globals `request` and `respond` and
 * returns its completion value.
 * @module
 */
import { type AppFetch, loadModule } from "./app_module.ts";
import { AppLog, captureConsole } from "./console_capture.ts";
import { createContext } from "./context.ts";
import { HostCalls } from "./host_calls.ts";
import { runScript } from "./legacy_script.ts";
import { legacyStorage } from "./legacy_storage.ts";
import type { HostMessage, InitMessage, WorkerRequest } from "./messages.ts";
import { capWorkers } from "./nested_workers.ts";
import { ResponseBatcher } from "./responses.ts";
import { faztGlobal } from "./fazt_global.ts";
import { post, scope } from "./scope.ts";
import { blobsApi, docsApi, kvApi } from "./storage_api.ts";

/** The app once started: a module's handler, or the original-style scripts. */
type App =
  | { style: "module"; fetch?: AppFetch }
  | { style: "script"; scripts: Record<string, string> };

const calls = new HostCalls();
const log = new AppLog();
const responses = new ResponseBatcher();
const parts = {
  kv: kvApi(calls),
  docs: docsApi(calls),
  blobs: blobsApi(calls),
  log: log.logger,
  storage: legacyStorage(calls),
};
let app: App = { style: "module" };
let maxWorkers = 4;

captureConsole(scope, log.logger);
capWorkers(scope, () => maxWorkers);

async function answer({ id, meta, body }: WorkerRequest): Promise<void> {
  const req = new Request(meta.url, {
    method: meta.method,
    headers: meta.headers,
    body: body && meta.method !== "GET" && meta.method !== "HEAD" ? body : undefined,
  });
  let res: Response;
  try {
    const out = app.style === "script"
      ? await runScript(req, app.scripts)
      : await app.fetch!(req, faztGlobal.fazt!);
    if (!(out instanceof Response)) throw new TypeError("the handler must return a Response");
    res = out;
  } catch (err) {
    log.write("error", [err]);
    res = new Response(
      JSON.stringify({
        error: { code: "APP_ERROR", message: "The app failed to handle this request" },
      }),
      { status: 500, headers: { "content-type": "application/json" } },
    );
  }
  const out = await res.arrayBuffer();
  const headers: [string, string][] = [];
  res.headers.forEach((v, k) => headers.push([k, v]));
  responses.send({ id, meta: { status: res.status, headers }, body: out });
}

async function start(m: InitMessage): Promise<void> {
  calls.attach(m.ctrl, m.shared);
  maxWorkers = m.maxWorkers;
  app = m.style === "script" ? { style: "script", scripts: m.scripts ?? {} } : { style: "module" };
  faztGlobal.fazt = createContext(m, parts);
  try {
    if (app.style === "module") app.fetch = await loadModule(m.code);
    post({ t: "ready" });
  } catch (err) {
    post({ t: "failed", message: err instanceof Error ? err.stack ?? err.message : String(err) });
  }
}

// A plain `onmessage`, not a listener: app code may wrap it (the escape
// suite does, to forge calls).
scope.onmessage = async (e: MessageEvent<HostMessage>) => {
  const m = e.data;
  if (m.t === "req") {
    responses.started(m.list.length);
    for (const r of m.list) answer(r);
    return;
  }
  if (m.t === "result") return calls.settle(m);
  if (m.t === "init") await start(m);
};
