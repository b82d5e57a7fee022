/**
 * The messages between the app host's main thread (`runtime/host_main.ts`)
 * and the Worker that runs the app (this folder). The field names are the
 * wire format; app code can post any of the Worker's messages itself, so
 * the host relays them and the server checks them.
 *
 * Synchronous storage calls (the original's blocking `fazt.storage`) answer
 * through shared memory instead: the Worker clears `ctrl[0]`, posts a
 * `scall` and waits on `ctrl[0]`; the host writes the result's JSON
 * (`ResultMeta`) into `shared`, its length into `ctrl[1]`, sets `ctrl[0]`
 * to 1 and wakes it.
 * @module
 */
import type {
  CallError,
  InitMeta,
  LogLine,
  OpName,
  RequestMeta,
  ResponseMeta,
} from "../protocol.ts";

// Host → Worker.

/** Starts the app: the INIT frame's meta plus the shared memory for sync calls. */
export interface InitMessage extends InitMeta {
  t: "init";
  /** `Int32Array`: [0] the ready flag, [1] the result's length in bytes. */
  ctrl: SharedArrayBuffer;
  /** The result of a sync call, as JSON. */
  shared: SharedArrayBuffer;
}

/** One request; the body is transferred, not copied. */
export interface WorkerRequest {
  id: number;
  meta: RequestMeta;
  body: ArrayBuffer | null;
}

/** Requests that reached the host together cross in one message. */
export interface RequestBatch {
  t: "req";
  list: WorkerRequest[];
}

/** The answer to an async storage call. */
export interface ResultMessage {
  t: "result";
  cid: number;
  value: unknown;
  error: CallError | undefined;
  /** The bytes of `blobs.get`. */
  body?: ArrayBuffer;
}

export type HostMessage = InitMessage | RequestBatch | ResultMessage;

// Worker → host.

export interface WorkerResponse {
  id: number;
  meta: ResponseMeta;
  body: ArrayBuffer;
}

/** Responses go back in batches (see `responses.ts`). */
export interface ResponseBatch {
  t: "res";
  list: WorkerResponse[];
}

/** An async storage call; the host answers with a `result` of the same `cid`. */
export interface CallMessage {
  t: "call";
  cid: number;
  op: OpName;
  args: unknown[];
  /** The bytes of `blobs.put`. */
  body?: ArrayBuffer;
}

/** A blocking storage call; the answer comes through shared memory. */
export interface SyncCallMessage {
  t: "scall";
  op: OpName;
  args: unknown[];
}

export interface LogMessage {
  t: "log";
  entries: LogLine[];
}

/** The app's code is loaded; requests may come. */
export interface ReadyMessage {
  t: "ready";
}

/** The app's code could not be loaded. */
export interface FailedMessage {
  t: "failed";
  message: string;
}

export type WorkerMessage =
  | ResponseBatch
  | CallMessage
  | SyncCallMessage
  | LogMessage
  | ReadyMessage
  | FailedMessage;
