/**
 * Storage calls from the app to the server: async ones as CALL frames on the
 * Worker's own connection, answered by RESULT; blocking ones (the original's
 * synchronous `fazt.storage`) through the host's main thread and shared
 * memory (see `messages.ts`).
 * @module
 */
import type { CallError, OpName } from "../protocol.ts";
import { encodeUp, parseDown } from "./frame_meta.ts";
import { FRAME } from "./frames.ts";
import type { Bytes } from "./frames.ts";
import { link } from "./link.ts";
import { postToHost } from "./scope.ts";

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
  /** `blobs.get`: the value gets the frame's bytes as `body`. */
  withBody: boolean;
}

export class HostCalls {
  #pending = new Map<number, Pending>();
  #next = 1;
  #ctrl: Int32Array | undefined;
  #shared: Uint8Array | undefined;

  /** The memory blocking calls answer through. */
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
      if (this.#next > 0x7fffffff) this.#next = 1;
      this.#pending.set(cid, {
        resolve: resolve as (value: unknown) => void,
        reject,
        withBody: op === "blobs.get",
      });
      link.out.frame(cid, FRAME.CALL, encodeUp(FRAME.CALL, { op, args }), body);
    });
  }

  /** A blocking call: the Worker waits until the host has written the result. */
  callSync<T>(op: OpName, args: unknown[]): T {
    const ctrl = this.#ctrl;
    const shared = this.#shared;
    if (!ctrl || !shared) throw new Error("storage calls before the app started");
    Atomics.store(ctrl, 0, 0);
    postToHost({ t: "scall", op, args });
    Atomics.wait(ctrl, 0, 0);
    const length = Atomics.load(ctrl, 1);
    // A copy: TextDecoder takes no views of shared memory.
    const text = new TextDecoder().decode(shared.slice(0, length));
    const r = parseDown(FRAME.SRESULT, text);
    if (r.error) throw appError(r.error);
    return r.value as T;
  }

  /** Asks the server (through the host) whether a nested Worker may start; blocks. */
  ticket(): boolean {
    const ctrl = this.#ctrl;
    if (!ctrl) return false;
    Atomics.store(ctrl, 0, 0);
    postToHost({ t: "ticket" });
    Atomics.wait(ctrl, 0, 0);
    return Atomics.load(ctrl, 1) === 1;
  }

  /** Settles the call a RESULT answers. */
  settle(cid: number, meta: string, body: Bytes | undefined): void {
    const p = this.#pending.get(cid);
    if (!p) return;
    this.#pending.delete(cid);
    const r = parseDown(FRAME.RESULT, meta);
    if (r.error) p.reject(appError(r.error));
    else if (p.withBody && r.value) {
      p.resolve({ ...r.value as object, body: body ?? new Uint8Array() });
    } else p.resolve(r.value);
  }
}
