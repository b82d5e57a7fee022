/**
 * Storage calls from the app to the server, through the host: async ones as
 * messages answered by `result`, blocking ones (the original's synchronous
 * `fazt.storage`) through shared memory (see `messages.ts`).
 * @module
 */
import type { CallError, OpName, ResultMeta } from "../protocol.ts";
import type { ResultMessage } from "./messages.ts";
import { post } from "./scope.ts";

/** A refused storage call as the app sees it: an `Error` with the server's `code`. */
export type AppError = Error & { code: string };

function appError(e: Partial<CallError>): AppError {
  const err = new Error(e.message ?? "storage call failed") as AppError;
  err.code = e.code as string;
  return err;
}

interface Pending {
  resolve: (value: unknown) => void;
  reject: (err: AppError) => void;
}

export class HostCalls {
  #pending = new Map<number, Pending>();
  #next = 1;
  #ctrl: Int32Array | undefined;
  #shared: Uint8Array | undefined;

  /** The memory blocking calls answer through; given at init. */
  attach(ctrl: SharedArrayBuffer, shared: SharedArrayBuffer): void {
    this.#ctrl = new Int32Array(ctrl);
    this.#shared = new Uint8Array(shared);
  }

  /**
   * `T` is what the server's operation returns (see `runtime/bridge.ts`);
   * the bridge checks the arguments, so they are not typed here.
   */
  call<T>(op: OpName, args: unknown[], body?: Uint8Array): Promise<T> {
    return new Promise((resolve, reject) => {
      const cid = this.#next++;
      this.#pending.set(cid, { resolve: resolve as (value: unknown) => void, reject });
      const buf = body ? body.slice().buffer : undefined;
      post({ t: "call", cid, op, args, body: buf }, buf ? [buf] : []);
    });
  }

  /** A blocking call: the Worker waits until the host has written the result. */
  callSync<T>(op: OpName, args: unknown[]): T {
    const ctrl = this.#ctrl;
    const shared = this.#shared;
    if (!ctrl || !shared) throw new Error("storage calls before the app started");
    Atomics.store(ctrl, 0, 0);
    post({ t: "scall", op, args });
    Atomics.wait(ctrl, 0, 0);
    const length = Atomics.load(ctrl, 1);
    // A copy: TextDecoder takes no views of shared memory.
    const text = new TextDecoder().decode(shared.slice(0, length));
    const r = JSON.parse(text) as ResultMeta;
    if (r.error) throw appError(r.error);
    return r.value as T;
  }

  /** Settles the async call the result answers; `blobs.get` gets its bytes as `body`. */
  settle(m: ResultMessage): void {
    const p = this.#pending.get(m.cid);
    this.#pending.delete(m.cid);
    if (!p) return;
    if (m.error) p.reject(appError(m.error));
    else p.resolve(m.body ? { ...m.value as object, body: m.body } : m.value);
  }
}
