/**
 * The code that runs first inside an app's Worker (bundled by `build.ts`
 * into `dist/bootstrap.ts`, which the app host starts from a blob: URL).
 *
 * A Worker is made before its app is known, as a spare: it locks itself
 * down (`sandbox.ts`), warms the web APIs up (`warm_up.ts`), connects to the
 * server with the one-time token its host gave it and gives up the socket
 * permission (`link.ts`), then waits. INIT makes it an app: `ctx` and the
 * global `fazt`, `fetch` through the egress proxy (`egress.ts`), the app's
 * module loaded; from then on it answers requests on its connection
 * (`serve.ts`) and reports its memory (`memory.ts`). It also runs the
 * original fazt's style: a script in `api/main.js` that uses the globals
 * `request` and `respond` and returns its completion value.
 * @module
 */
import { problem } from "../problem.ts";
import type { InitMeta } from "../protocol.ts";
import { type AppModule, loadModule } from "./app_module.ts";
import { AppLog, captureConsole } from "./console_capture.ts";
import { createContext, type Fazt } from "./context.ts";
import { codeCrons, hasCodeCrons, installDenoCron, onJob, registering } from "./cron_jobs.ts";
import { installEnv } from "./deno_env.ts";
import { installKv, listensQueue } from "./deno_kv.ts";
import { ServeRegistry } from "./deno_serve.ts";
import { egressFetch } from "./egress.ts";
import { faztGlobal } from "./fazt_global.ts";
import { encodeUp, parseDown } from "./frame_meta.ts";
import { FRAME } from "./frames.ts";
import type { Bytes, MetaText } from "./frames.ts";
import { HostCalls } from "./host_calls.ts";
import { runScript } from "./legacy_script.ts";
import { legacyStorage } from "./legacy_storage.ts";
import { link, openLink } from "./link.ts";
import { reportMemory } from "./memory.ts";
import type { SlotConfig } from "./messages.ts";
import { capWorkers } from "./nested_workers.ts";
import { lockDown, takeConsoleClass } from "./sandbox.ts";
import { scope } from "./scope.ts";
import { onCancel, onCredit, onData, onEnd, onRequest, serveWith } from "./serve.ts";
import { blobsApi, docsApi, kvApi } from "./storage_api.ts";
import { warmUp } from "./warm_up.ts";
import { onClose, onMessage, onOpen, setMaxMessage, upgradeWebSocket } from "./websocket.ts";

const ConsoleClass = takeConsoleClass();
const realFetch = fetch;
const calls = new HostCalls();
const log = new AppLog();
const parts = {
  kv: kvApi(calls),
  docs: docsApi(calls),
  blobs: blobsApi(calls),
  log: log.logger,
  storage: legacyStorage(calls),
};
let maxWorkers = 0;
let egress = "";
let app: AppModule = {};
let appCtx: Fazt | undefined;

const describe = (err: unknown) =>
  err instanceof Error ? err.stack ?? `${err.name}: ${err.message}` : String(err);

/**
 * App code's `postMessage`. It reaches no one: a message shaped like the
 * old protocol's storage call (`{t: "call", cid, op, args}`) is run as this
 * app's own call and answered with a `result` message, as before; anything
 * else is dropped.
 */
function appPost(message: unknown): void {
  const m = message as { t?: unknown; cid?: unknown; op?: unknown; args?: unknown } | null;
  if (m?.t !== "call" || typeof m.op !== "string" || !Number.isSafeInteger(m.cid)) return;
  const cid = m.cid;
  const answer = (data: unknown) => scope.dispatchEvent(new MessageEvent("message", { data }));
  calls.call(m.op as never, Array.isArray(m.args) ? m.args : []).then(
    (value) => answer({ t: "result", cid, value }),
    (err) => answer({ t: "result", cid, error: { code: err.code, message: err.message } }),
  );
}

const served = new ServeRegistry();
lockDown({
  post: appPost,
  serve: served.serve,
  uncaught: (err) => log.write("error", describe(err)),
  console: captureConsole(log, ConsoleClass),
});
capWorkers(scope, () => calls.ticket(), () => maxWorkers);
installKv((op, args) => calls.call(op, args), (line) => log.write("warn", line));
installDenoCron();
Object.defineProperty(Deno, "upgradeWebSocket", {
  value: upgradeWebSocket,
  writable: false,
  configurable: false,
});

async function start(init: InitMeta): Promise<void> {
  maxWorkers = init.maxWorkers;
  setMaxMessage(init.wsMaxMessageBytes);
  Object.defineProperty(globalThis, "fetch", {
    value: egressFetch(realFetch, init.net, egress),
    writable: true,
    configurable: true,
  });
  installEnv(init.env);
  const ctx = createContext(init, parts);
  faztGlobal.fazt = ctx;
  appCtx = ctx;
  try {
    if (init.style === "script") {
      const scripts = init.scripts ?? {};
      serveWith(
        (req) => runScript(req, scripts),
        (err) => log.write("error", describe(err)),
        init.maxResponseBytes,
      );
    } else {
      app = await registering(() =>
        loadModule(init.code, { served: () => served.fetch(), jobsOnly: hasCodeCrons })
      );
      const fetch = app.fetch;
      serveWith(
        fetch ? (req) => fetch(req, ctx) : notFound,
        (err) => log.write("error", describe(err)),
        init.maxResponseBytes,
      );
    }
    reportMemory();
    link.out.frame(0, FRAME.READY, readyMeta());
  } catch (err) {
    link.out.frame(0, FRAME.FAILED, encodeUp(FRAME.FAILED, { message: describe(err) }));
  }
}

/**
 * What READY tells the server the module registered while it loaded: its
 * `Deno.cron` jobs, and whether it listens on its queue (the node then
 * starts the app when a message is due while it is stopped).
 */
function readyMeta(): MetaText<typeof FRAME.READY> {
  const queue = listensQueue();
  if (!hasCodeCrons() && !queue) return "";
  return encodeUp(FRAME.READY, { ...(hasCodeCrons() ? { crons: codeCrons() } : {}), queue });
}

/** An app with jobs and no handler answers every request 404. */
function notFound(): Response {
  return problem(404, "NOT_FOUND", "This app has no request handler");
}

function dispatch(id: number, type: number, meta: string, body: Bytes | undefined): void {
  switch (type) {
    case FRAME.REQUEST:
      return onRequest(id, meta, body);
    case FRAME.RESULT:
      return calls.settle(id, meta, body);
    case FRAME.DATA:
      return onData(id, body);
    case FRAME.END:
      return onEnd(id, meta);
    case FRAME.CREDIT:
      return onCredit(id, meta);
    case FRAME.CANCEL:
      return onCancel(id);
    case FRAME.WSMSG:
      return onMessage(id, meta, body);
    case FRAME.OPEN:
      return onOpen(id);
    case FRAME.WSCLOSE:
      return onClose(id, meta);
    case FRAME.JOB:
      return onJob(id, meta, app.scheduled, appCtx!, {
        error: (err) => log.write("error", describe(err)),
        flush: () => log.flush(),
      });
    case FRAME.INIT:
      start(parseDown(FRAME.INIT, meta));
  }
}

// The host's one message: where to connect.
scope.onmessage = async (e: MessageEvent<SlotConfig>) => {
  scope.onmessage = null;
  const cfg = e.data;
  egress = cfg.egress;
  calls.attach(cfg.ctrl, cfg.shared);
  await warmUp().catch(() => {});
  const end = () => (scope as unknown as { close(): void }).close();
  await openLink(cfg.socket, cfg.token, end);
  // The server ends the connection when this Worker's app leaves.
  await link.serve(dispatch).catch(() => {});
  end();
};
