/**
 * Raw TCP clients for connection tests: what they send is exactly what is
 * written, they can come from any loopback address (127.0.0.0/8), and the
 * server closing them is an event to wait for.
 * @module
 */
import net from "node:net";
import type { Buffer } from "node:buffer";

export interface RawSocket {
  socket: net.Socket;
  /** Settles when the socket is closed (by either end), with what it received. */
  closed: Promise<string>;
  /** Everything received so far. */
  received(): string;
  /** Resolves once the received text contains `text` (rejects if it closes first). */
  waitFor(text: string): Promise<string>;
  write(data: string | Uint8Array): void;
  destroy(): void;
}

/** Connects to `127.0.0.1:port` (from `localAddress` when given). */
export function rawConnect(port: number, localAddress?: string): Promise<RawSocket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: "127.0.0.1", port, localAddress });
    let data = "";
    const waiters = new Set<() => void>();
    let resolveClosed!: (s: string) => void;
    const closed = new Promise<string>((r) => resolveClosed = r);
    socket.on("data", (chunk: Buffer) => {
      data += chunk.toString("latin1");
      for (const w of waiters) w();
    });
    socket.on("error", () => {});
    socket.on("close", () => {
      resolveClosed(data);
      for (const w of waiters) w();
    });
    socket.once("connect", () => {
      resolve({
        socket,
        closed,
        received: () => data,
        waitFor(text) {
          return new Promise((ok, fail) => {
            const look = () => {
              if (data.includes(text)) {
                waiters.delete(look);
                ok(data);
              } else if (socket.destroyed) {
                waiters.delete(look);
                fail(new Error(`closed before '${text}' arrived; got: ${data.slice(0, 200)}`));
              }
            };
            waiters.add(look);
            look();
          });
        },
        write: (d) => socket.write(d),
        destroy: () => socket.destroy(),
      });
    });
    socket.once("error", reject);
  });
}

/**
 * One `GET path` on a new connection with `Connection: close`; the status
 * line's code, or an error when the connection fails or closes without one.
 */
export async function rawGet(port: number, path: string, host: string): Promise<number> {
  const s = await rawConnect(port);
  s.write(`GET ${path} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
  const text = await s.closed;
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(text);
  if (!m) throw new Error(`no HTTP answer: '${text.slice(0, 100)}'`);
  return Number(m[1]);
}
