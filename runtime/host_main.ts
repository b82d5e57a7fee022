/**
 * An app host process: its main thread reads its configuration from stdin,
 * opens a control connection to the server, and makes the first slots'
 * Workers at once, in order, before any app code runs in the process (so
 * slot N's thread is `worker-N`; the server counts every Worker the host
 * starts to tell the app Workers from any other thread). Each Worker connects to the server itself and
 * carries its app's traffic; this thread only relays what a Worker must
 * block for (the original fazt's synchronous storage calls, and tickets to
 * start nested Workers), ends Workers whose app has left, and starts a
 * slot's Worker when the server asks (a slot with none yet, or whose app
 * left; the next Worker number, which the server counts too).
 *
 * The process is started with imports denied (`--deny-import --no-npm
 * --no-remote`), no file, env or subprocess permission, network access only
 * to its Unix sockets and the egress name, a V8 heap cap, and a data limit
 * (RLIMIT_DATA) the server keeps adjusting; the server kills it at once when
 * a request passes its deadline.
 */
import { FRAME, type HostConfig } from "./protocol.ts";
import { encodeDown, encodeUp, parseDown } from "./worker/frame_meta.ts";
import { FrameWriter, readFrames } from "./worker/frames.ts";
import { WORKER_SOURCE } from "./worker/dist/bootstrap.ts";
import { SHARED_BYTES, type SlotConfig, type WorkerMessage } from "./worker/messages.ts";

/** The name every egress request is addressed to (see `worker/egress.ts`). */
const EGRESS_HOST = "fazt-egress.invalid";

interface Slot {
  worker: Worker;
  ctrl: Int32Array;
  shared: Uint8Array;
}

async function readConfig(): Promise<HostConfig> {
  return JSON.parse(await new Response(Deno.stdin.readable).text());
}

function answer(slot: Slot, value: number, json?: string): void {
  if (json !== undefined) {
    let bytes = new TextEncoder().encode(json);
    if (bytes.byteLength > SHARED_BYTES) {
      const error = { code: "LIMIT_EXCEEDED", message: "result too large" };
      // Answered here in the server's place, as the SRESULT it would send.
      bytes = new TextEncoder().encode(encodeDown(FRAME.SRESULT, { error }));
    }
    slot.shared.set(bytes);
    value = bytes.byteLength;
  }
  Atomics.store(slot.ctrl, 1, value);
  Atomics.store(slot.ctrl, 0, 1);
  Atomics.notify(slot.ctrl, 0);
}

export async function runAppHost(): Promise<void> {
  // A stop of the whole process group (systemd stopping the unit, Ctrl-C in
  // a terminal) signals the hosts too. The server decides when a host goes:
  // it lets requests in flight finish, then closes the connection or kills it.
  if (Deno.build.os !== "windows") {
    for (const s of ["SIGTERM", "SIGINT"] as const) Deno.addSignalListener(s, () => {});
  }
  const cfg = await readConfig();
  const conn = await Deno.connect({ transport: "unix", path: cfg.socket });
  const out = new FrameWriter(conn, () => Deno.exit(0));
  out.frame(0, FRAME.HELLO, encodeUp(FRAME.HELLO, { token: cfg.token }));
  // The Worker may read no files, so its code goes in as source text.
  const url = URL.createObjectURL(new Blob([WORKER_SOURCE], { type: "text/javascript" }));
  const slots = new Map<number, Slot>();
  const start = (index: number, token: string) => {
    const egress = cfg.slots[index - 1].egress;
    const paths = [cfg.socket, egress];
    const worker = new Worker(url, {
      type: "module",
      name: `slot-${index}`,
      deno: {
        permissions: {
          net: [...paths.map((p) => `unix:${p}`), EGRESS_HOST],
          read: paths,
          write: paths,
          env: false,
          run: false,
          ffi: false,
          sys: false,
          import: false,
        },
      },
    } as WorkerOptions);
    const ctrl = new SharedArrayBuffer(8);
    const shared = new SharedArrayBuffer(SHARED_BYTES);
    const slot = { worker, ctrl: new Int32Array(ctrl), shared: new Uint8Array(shared) };
    slots.set(index, slot);
    worker.onmessage = (e: MessageEvent<WorkerMessage>) => {
      const m = e.data;
      if (m?.t === "scall") {
        out.frame(index, FRAME.SCALL, encodeUp(FRAME.SCALL, { op: m.op, args: m.args }));
      } else if (m?.t === "ticket") out.frame(index, FRAME.TICKET, "");
    };
    worker.onerror = (e) => {
      e.preventDefault();
      out.frame(index, FRAME.SLOT_ERROR, String(e.message).slice(0, 2000));
    };
    worker.postMessage({ socket: cfg.socket, token, egress, ctrl, shared } satisfies SlotConfig);
  };
  cfg.slots.forEach((s, i) => {
    if (s.token !== null) start(i + 1, s.token);
  });
  await readFrames((b) => conn.read(b), (id, type, meta) => {
    const slot = slots.get(id);
    if (type === FRAME.START) {
      // The slot has no Worker yet, or its last one ended (its app left, or
      // it closed itself). This one starts at once, before any later frame:
      // Deno numbers Workers in the order they start; the server counts on it.
      if (id < 1 || id > cfg.slots.length) return;
      slot?.worker.terminate();
      start(id, parseDown(FRAME.START, meta).token);
      return;
    }
    if (!slot) return;
    if (type === FRAME.SRESULT) answer(slot, 0, meta);
    else if (type === FRAME.GRANT) answer(slot, meta === "1" ? 1 : 0);
    else if (type === FRAME.TERMINATE) {
      slot.worker.terminate();
      slots.delete(id);
    }
  }, () => 16 * 1024 * 1024).catch(() => {});
  // The server closed the control connection: it wants this host gone.
  Deno.exit(0);
}

if (import.meta.main) await runAppHost();
