/**
 * The messages between an app host's main thread (`runtime/host_main.ts`)
 * and a Worker it makes. There are few: the main thread carries no app
 * traffic. It sends each Worker where to connect; the Worker asks it only
 * for what needs blocking, through shared memory:
 *
 * - a synchronous storage call (the original fazt's `fazt.storage`): the
 *   Worker clears `ctrl[0]`, posts `scall` and waits on `ctrl[0]`; the main
 *   thread has the server run the call, writes the result's JSON
 *   (`ResultMeta`) into `shared`, its length into `ctrl[1]`, sets `ctrl[0]`
 *   to 1 and wakes it;
 * - a ticket to start a nested Worker: the same, with `ticket`; the answer
 *   is `ctrl[1]` = 1 (granted) or 0.
 *
 * App code cannot post these: the bootstrap takes the Worker's
 * `postMessage` away before the app loads.
 * @module
 */
import type { OpName } from "../protocol.ts";

/** Main thread → Worker, once: where to connect and the memory to block on. */
export interface SlotConfig {
  socket: string;
  token: string;
  /** The slot's egress proxy socket. */
  egress: string;
  /** `Int32Array`: [0] the ready flag, [1] the result's length or the grant. */
  ctrl: SharedArrayBuffer;
  /** A blocking call's result, as JSON. */
  shared: SharedArrayBuffer;
}

/** A blocking storage call. */
export interface SyncCallMessage {
  t: "scall";
  op: OpName;
  args: unknown[];
}

/** May this Worker start a nested Worker? */
export interface TicketMessage {
  t: "ticket";
}

export type WorkerMessage = SyncCallMessage | TicketMessage;

/** Size of `SlotConfig.shared`; a larger result is refused. */
export const SHARED_BYTES = 8 * 1024 * 1024;
