/**
 * The protocol between the server and app code.
 *
 * Connections. The server listens on one Unix socket in a private (0700)
 * runtime directory. Two kinds of connection arrive there, each bound by
 * the one-time token of its first frame (`HELLO`):
 *
 * - a host's **control** connection, from the main thread of an app host
 *   process: Workers are made and ended on it, and the two things a Worker
 *   can only do by blocking (the original fazt's synchronous storage calls,
 *   and asking to start a nested Worker) are relayed on it; it carries no
 *   request, no response and no storage call of the usual kind;
 * - an app **slot** connection, owned by one Worker: the bootstrap connects,
 *   says `HELLO`, revokes its permission to reach the socket, and from then
 *   on every request, response, body chunk, storage call, log line and
 *   memory report of the app in that Worker travels on it. The server binds
 *   the app to the connection; no frame names an app, so none can name
 *   another.
 *
 * App output (console, stdout) never shares these connections: the console
 * becomes `LOG` frames, `Deno.stdout`/`Deno.stderr` refuse writes, and
 * whatever reaches a host's real stdout or stderr is read by the server as
 * bounded log lines.
 *
 * Frames (`runtime/worker/frames.ts`): `u32 length | u32 id | u8 type |
 * u32 metaLength | meta | body`. Meta is text: newline-separated lines for
 * the hot frames, JSON for the rest. `id` is a request id, a storage call id
 * or a Worker's slot index, as each type says.
 *
 * | frame | from → to | id | meta | body |
 * | --- | --- | --- | --- | --- |
 * | HELLO | host or Worker → server | 0 | JSON `{token}` | |
 * | INIT | server → Worker | 0 | JSON `InitMeta` | |
 * | READY | Worker → server | 0 | empty, or JSON `{crons?, queue?}`: the jobs the code registered with `Deno.cron`, whether it called `listenQueue` | |
 * | FAILED | Worker → server | 0 | JSON `{message}` | |
 * | REQUEST | server → Worker | request | `method\nurl\nmode\nname\nvalue…` | the whole body when `mode` is `0` |
 * | RESPONSE | Worker → server | request | `status\nname\nvalue…` | the whole body |
 * | HEAD | Worker → server | request | as RESPONSE | none: DATA frames follow |
 * | DATA | either way | request | | a chunk of a streamed body |
 * | END | either way | request | empty, or why it failed | |
 * | CREDIT | either way | request | bytes the reader has taken | |
 * | CANCEL | either way | request | | |
 * | CALL | Worker → server | call | JSON `{op, args}` | `blobs.put` bytes |
 * | RESULT | server → Worker | call | JSON `{value?, error?}` | `blobs.get` bytes |
 * | LOG | Worker → server | 0 | JSON `LogLine[]` | |
 * | MEM | Worker → server | 0 | `heapUsed external` (bytes) | |
 * | JOB | server → Worker | job | JSON `{name, cron, source, scheduledTime}` | |
 * | JOBDONE | Worker → server | job | empty, or why the run failed | |
 * | ACCEPT | Worker → server | request | JSON `{protocol}`: the app answered with `Deno.upgradeWebSocket` | |
 * | OPEN | server → Worker | request | the client's socket is upgraded | |
 * | WSMSG | either way | request | `t` text or `b` bytes | the message |
 * | WSCLOSE | either way | request | `code\nreason` | |
 * | SLOT_ERROR | host → server | slot | an error that escaped the Worker | |
 * | SCALL | host → server | slot | JSON `{op, args}`: a blocking call | |
 * | SRESULT | server → host | slot | JSON `{value?, error?}` | |
 * | TICKET | host → server | slot | the Worker asks to start a nested Worker | |
 * | GRANT | server → host | slot | `1` granted, `0` refused | |
 * | TERMINATE | server → host | slot | end this Worker (its app left) | |
 * | START | server → host | slot | JSON `{token}`: start the slot's Worker (it has none, or its last one ended) | |
 *
 * Request mode `0`: the body (if any) is in the frame; mode `1`: the body
 * streams as DATA frames and an END, the Worker granting CREDIT as the app
 * reads, and the server counting bytes against `app_max_body_bytes` as they
 * arrive. A response whose body is complete when the handler returns goes
 * as one RESPONSE; any other as HEAD, DATA…, END, the server granting
 * CREDIT as the client takes bytes (a window of `STREAM_WINDOW`), counting
 * them against `app_max_response_bytes`, and sending CANCEL when the client
 * goes away or the limit is passed (which also aborts `req.signal` in the
 * app).
 *
 * A WebSocket is keyed by the id of the request that upgraded: the app's
 * ACCEPT makes the server upgrade the client's request (or refuse it: the
 * app's cap, a request that is no upgrade, a server in front that cannot
 * hold one), OPEN tells the app, WSMSG carries messages both ways (bounded
 * by `app_ws_max_message_bytes`) and WSCLOSE the close both ways: the app's
 * close, and the client's (or the server's: 1012 on a redeploy or idle
 * stop, 1011 when the app failed, 1001 when the node stops). Ping and pong
 * are Deno's, on the server. A scheduled job's run is a JOB (its id from
 * the requests' id space), under the same deadline, kill and exile rules as
 * a request, answered by JOBDONE after the run's log lines. Quotas need no
 * frame (the server refuses calls).
 *
 * This module is the documentation and the types: `UpMeta` and `DownMeta`
 * give the JSON meta of each frame type per direction. The codec is
 * `runtime/worker/frames.ts` and the meta's is `runtime/worker/frame_meta.ts`
 * (`encodeUp`/`parseUp`, `encodeDown`/`parseDown`), which the Worker's
 * bundle includes; `FrameWriter.frame` takes a JSON frame's meta only as
 * those encode it, so a wrong shape does not compile. The types cost
 * nothing at run time: no frame is checked or parsed twice for them.
 * @module
 */
import type { Build, NewLogEntry } from "../storage/mod.ts";
import type { FRAME } from "./worker/frames.ts";
export {
  CHUNK_BYTES,
  FRAME,
  type FrameType,
  INLINE_BODY_BYTES,
  type JsonFrameType,
  type JsonMeta,
  type MetaText,
  STREAM_WINDOW,
} from "./worker/frames.ts";

/**
 * Every storage operation an app can call: `bridge.ts` runs them on the
 * server, the Worker's `ctx` and `fazt.storage` call them.
 */
export type OpName =
  | "kv.get"
  | "kv.set"
  | "kv.delete"
  | "kv.list"
  | "kv.increment"
  | "docs.insert"
  | "docs.get"
  | "docs.find"
  | "docs.update"
  | "docs.delete"
  | "docs.count"
  | "blobs.put"
  | "blobs.get"
  | "blobs.delete"
  | "blobs.list"
  // The original's `fazt.storage.s3`: text in, base64 out.
  | "blobs.putText"
  | "blobs.getBase64"
  // `Deno.openKv()` (see `runtime/kv_ops.ts`): keys and values as base64.
  | "denokv.get"
  | "denokv.range"
  | "denokv.commit"
  | "denokv.watch"
  | "denokv.take"
  | "denokv.settle"
  | "denokv.release";

/** One line of an app's log as it travels: the Worker, the server, the store. */
export type LogLine = Omit<NewLogEntry, "appId">;

/** INIT: what a waiting Worker needs to become the app. */
export interface InitMeta {
  style: Build["style"];
  code: string;
  scripts?: Record<string, string>;
  /** The manifest's `net`: the Worker refuses other hosts before asking the egress proxy. */
  net: string[];
  env: Record<string, string>;
  app: { name: string };
  /** fazt's version, as `ctx.version`. */
  version: string;
  maxWorkers: number;
  maxResponseBytes: number;
  /** The largest WebSocket message either side may send. */
  wsMaxMessageBytes: number;
}

/** A storage call's refusal, as the app sees it (`err.code`, `err.message`). */
export interface CallError {
  code: string;
  message: string;
}

/** RESULT and SRESULT: a call's value or error. */
export interface ResultMeta {
  value?: unknown;
  error?: CallError;
}

/** HELLO: the one-time token that binds the connection (a host's or a Worker's). */
export interface HelloMeta {
  token: string;
}

/** A job the app's code registered with `Deno.cron` while it loaded. */
export interface CodeCron {
  name: string;
  schedule: string;
  /** `Deno.cron`'s `backoffSchedule`: the waits before each retry of a failed run, in ms. */
  backoff?: number[];
}

/** READY: what the module registered while it loaded (the meta is empty when nothing). */
export interface ReadyMeta {
  crons?: CodeCron[];
  /** Whether it called `listenQueue`. */
  queue: boolean;
}

/** FAILED: why the app's code could not be loaded. */
export interface FailedMeta {
  message: string;
}

/** CALL and SCALL: a storage operation; `blobs.put` sends its bytes as CALL's body. */
export interface CallMeta {
  op: OpName;
  args: unknown[];
}

/** ACCEPT: the app answered with `Deno.upgradeWebSocket`; its subprotocol, or "". */
export interface AcceptMeta {
  protocol: string;
}

/** JOB: one run of a scheduled job. */
export interface JobMeta {
  name: string;
  cron: string;
  /** `code` for a `Deno.cron` job, `manifest` for a `crons` entry. */
  source: "manifest" | "code";
  scheduledTime: number;
}

/** START: the one-time token of the slot's next Worker. */
export interface StartMeta {
  token: string;
}

/** The JSON meta of each frame type sent up, to the server (by a Worker or a host). */
export interface UpMeta {
  [FRAME.HELLO]: HelloMeta;
  [FRAME.READY]: ReadyMeta;
  [FRAME.FAILED]: FailedMeta;
  [FRAME.CALL]: CallMeta;
  [FRAME.LOG]: LogLine[];
  [FRAME.ACCEPT]: AcceptMeta;
  [FRAME.SCALL]: CallMeta;
}

/** The JSON meta of each frame type sent down, by the server (to a Worker or a host). */
export interface DownMeta {
  [FRAME.INIT]: InitMeta;
  [FRAME.RESULT]: ResultMeta;
  [FRAME.JOB]: JobMeta;
  [FRAME.SRESULT]: ResultMeta;
  [FRAME.START]: StartMeta;
}

/**
 * A meta as the server reads it from a connection app code can write to:
 * the sender's claim, its fields named but none vouched for, so each is
 * checked where it is used (a list's entries, too).
 */
export type Claimed<M> = M extends readonly unknown[] ? unknown
  : { readonly [K in keyof M]?: unknown } | null;

/** What a host's main thread is told on its standard input when it starts. */
export interface HostConfig {
  /** The server's socket. */
  socket: string;
  /** The control connection's one-time token. */
  token: string;
  /**
   * One entry per slot (slot index = position + 1); those with a token get
   * their Worker now, in order, the others when START asks.
   */
  slots: { token: string | null; egress: string }[];
}
