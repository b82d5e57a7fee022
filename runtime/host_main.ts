/**
 * The app host: a child process that runs one app. It reads frames from
 * stdin, runs the app's code in a Worker that carries exactly the app's
 * permissions, and relays requests, responses, storage calls and logs. The
 * process itself is started with no file, env or subprocess permissions and
 * with imports denied, so the server can kill it at any moment.
 */
import {
  encodeFrame,
  FRAME,
  FrameReader,
  FrameWriter,
  type InitMeta,
  type ResultMeta,
  type ServerFrame,
} from "./protocol.ts";
import { WORKER_SOURCE } from "./worker/dist/bootstrap.ts";
import type { HostMessage, WorkerMessage, WorkerRequest } from "./worker/messages.ts";

const SHARED_BYTES = 8 * 1024 * 1024;

// Sync calls from the Worker (the original's blocking storage API) resolve
// through shared memory; async ones through messages. Call ids above this
// mark sync calls on the wire.
const SYNC_ID = 0x7fffffff;

export async function runAppHost(): Promise<void> {
  // A stop of the whole process group (systemd stopping the unit, Ctrl-C in
  // a terminal) signals the hosts too. The server decides when a host goes:
  // it lets requests in flight finish, then closes stdin or kills it.
  if (Deno.build.os !== "windows") {
    for (const s of ["SIGTERM", "SIGINT"] as const) Deno.addSignalListener(s, () => {});
  }
  const out = new FrameWriter(Deno.stdout.writable.getWriter(), () => Deno.exit(0));
  // The server is this process's parent: its frames are what they say.
  const reader = new FrameReader<ServerFrame>();
  let worker: Worker | undefined;
  const ctrl = new SharedArrayBuffer(8);
  const shared = new SharedArrayBuffer(SHARED_BYTES);
  const ctrlView = new Int32Array(ctrl);
  const sharedView = new Uint8Array(shared);

  const toWorker = (m: HostMessage, transfer: Transferable[] = []) =>
    worker?.postMessage(m, transfer);

  const start = (meta: InitMeta) => {
    // The Worker may read no files, so its code goes in as source text.
    const url = URL.createObjectURL(new Blob([WORKER_SOURCE], { type: "text/javascript" }));
    worker = new Worker(url, {
      type: "module",
      deno: {
        permissions: {
          net: meta.net.length ? meta.net : false,
          read: false,
          write: false,
          env: false,
          run: false,
          ffi: false,
          sys: false,
          import: false,
        },
      },
    } as WorkerOptions);
    // App code can post anything here; the server checks what it relays.
    worker.onmessage = (e: MessageEvent<WorkerMessage>) => fromWorker(e.data);
    worker.onerror = (e) => {
      e.preventDefault();
      out.send(
        encodeFrame(0, FRAME.LOG, [{ level: "error", message: String(e.message), at: Date.now() }]),
      );
    };
    toWorker({ t: "init", ...meta, ctrl, shared });
  };

  const fromWorker = (m: WorkerMessage) => {
    switch (m.t) {
      case "res":
        for (const r of m.list) {
          out.send(encodeFrame(r.id, FRAME.RESPONSE, r.meta, new Uint8Array(r.body)));
        }
        break;
      case "call":
        out.send(
          encodeFrame(
            m.cid,
            FRAME.CALL,
            { op: m.op, args: m.args },
            m.body ? new Uint8Array(m.body) : undefined,
          ),
        );
        break;
      case "scall":
        out.send(encodeFrame(SYNC_ID, FRAME.CALL, { op: m.op, args: m.args }));
        break;
      case "log":
        out.send(encodeFrame(0, FRAME.LOG, m.entries));
        break;
      case "ready":
        out.send(encodeFrame(0, FRAME.READY, null));
        break;
      case "failed":
        out.send(encodeFrame(0, FRAME.FAILED, { message: m.message }));
        break;
    }
  };

  const writeSync = (meta: ResultMeta) => {
    let bytes = new TextEncoder().encode(JSON.stringify(meta));
    if (bytes.byteLength > SHARED_BYTES) {
      bytes = new TextEncoder().encode(
        JSON.stringify({ error: { code: "LIMIT_EXCEEDED", message: "result too large" } }),
      );
    }
    sharedView.set(bytes);
    Atomics.store(ctrlView, 1, bytes.byteLength);
    Atomics.store(ctrlView, 0, 1);
    Atomics.notify(ctrlView, 0);
  };

  for await (const chunk of Deno.stdin.readable) {
    // Requests that arrive together cross to the Worker in one message.
    const requests: WorkerRequest[] = [];
    const transfer: ArrayBuffer[] = [];
    for (const f of reader.push(chunk)) {
      if (f.type === FRAME.INIT) start(f.meta);
      else if (f.type === FRAME.REQUEST) {
        const body = f.body.byteLength ? (f.body.buffer as ArrayBuffer) : null;
        requests.push({ id: f.id, meta: f.meta, body });
        if (body) transfer.push(body);
      } else if (f.type === FRAME.RESULT) {
        if (f.id === SYNC_ID) writeSync(f.meta);
        else {
          const r = f.meta;
          const body = f.body.byteLength ? (f.body.buffer as ArrayBuffer) : undefined;
          toWorker(
            { t: "result", cid: f.id, value: r.value, error: r.error, body },
            body ? [body] : [],
          );
        }
      }
    }
    if (requests.length) toWorker({ t: "req", list: requests }, transfer);
  }
  // The server closed our stdin: it wants us gone.
  Deno.exit(0);
}

if (import.meta.main) await runAppHost();
