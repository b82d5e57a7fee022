/**
 * The server's one Unix socket for app hosts, in a directory only the
 * server's user can enter. Every connection must open with a HELLO that
 * carries a one-time token the server handed out (to a host's main thread,
 * or to a slot's Worker); the token decides what the connection is, and
 * nothing a peer says later can change it.
 * @module
 */
import { acceptLoop } from "../lib/accept_loop.ts";
import { FRAME, type FrameType } from "./protocol.ts";
import { parseUp } from "./worker/frame_meta.ts";
import { type Bytes, FrameWriter, readFrames } from "./worker/frames.ts";

/** What the server does with a bound connection's frames. */
export interface Peer {
  onFrame(id: number, type: FrameType, meta: string, body: Bytes | undefined): void;
  /** The connection ended; `err` when the peer broke the protocol. */
  onClose(err?: unknown): void;
  /** The largest frame of each type this peer may send. */
  maxFrame(type: number): number;
}

type Attach = (out: FrameWriter) => Peer;

const HELLO_MAX = 4096;
/** A peer that says nothing useful this long after connecting is dropped. */
const HELLO_WITHIN_MS = 30_000;

export class HostSocket {
  readonly dir: string;
  readonly path: string;
  #listener: Deno.Listener;
  #expected = new Map<string, Attach>();
  #conns = new Set<Deno.Conn>();

  private constructor(dir: string) {
    this.dir = dir;
    this.path = `${dir}/hosts.sock`;
    this.#listener = Deno.listen({ transport: "unix", path: this.path });
    // Out of descriptors (a flood on the public port), accept() fails for
    // a while: ending there left every host started later unable to reach
    // the server.
    acceptLoop(this.#listener, (conn) => this.#serve(conn));
  }

  /** A private directory and the socket in it. */
  static async open(): Promise<HostSocket> {
    const dir = await Deno.makeTempDir({ prefix: "fazt-run-" });
    await Deno.chmod(dir, 0o700);
    return new HostSocket(dir);
  }

  /** The next connection saying HELLO with `token` becomes `attach(out)`. */
  expect(token: string, attach: Attach): void {
    this.#expected.set(token, attach);
  }

  forget(token: string): void {
    this.#expected.delete(token);
  }

  async #serve(conn: Deno.Conn): Promise<void> {
    this.#conns.add(conn);
    let peer: Peer | undefined;
    const out = new FrameWriter(conn, () => close(), undefined, setImmediate);
    let closed = false;
    const close = (err?: unknown) => {
      if (closed) return;
      closed = true;
      clearTimeout(timer);
      out.close();
      this.#conns.delete(conn);
      try {
        conn.close();
      } catch {
        // Closed already.
      }
      peer?.onClose(err);
    };
    const timer = setTimeout(() => {
      if (!peer) close();
    }, HELLO_WITHIN_MS);
    Deno.unrefTimer(timer);
    try {
      await readFrames(
        (b) => conn.read(b),
        (id, type, meta, body) => {
          if (closed) return;
          if (peer) return peer.onFrame(id, type as FrameType, meta, body);
          let token: unknown;
          try {
            token = type === FRAME.HELLO ? parseUp(FRAME.HELLO, meta)?.token : undefined;
          } catch {
            token = undefined;
          }
          const attach = typeof token === "string" ? this.#expected.get(token) : undefined;
          if (!attach) throw new Error("a connection without a valid token");
          this.#expected.delete(token as string);
          clearTimeout(timer);
          peer = attach(out);
        },
        (type) => (peer ? peer.maxFrame(type) : HELLO_MAX),
      );
      close();
    } catch (err) {
      close(err);
    }
  }

  close(): void {
    try {
      this.#listener.close();
    } catch {
      // Closed already.
    }
    for (const conn of this.#conns) {
      try {
        conn.close();
      } catch {
        // Closed already.
      }
    }
    this.#expected.clear();
    Deno.remove(this.dir, { recursive: true }).catch(() => {});
  }
}
