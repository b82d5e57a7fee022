/**
 * One accepted connection served by Deno's HTTP server, through its
 * internal `serveHttpOnConnection` (Deno 2.9.6, ext/http/00_serve.ts). The
 * server takes the connection's resource and closes it with `signal`
 * (forcefully) or its `shutdown()` (gracefully). fazt accepts connections
 * itself rather than through `Deno.serve`, which has no timeouts and ends
 * the process when accept() fails with "Too many open files" (measured on
 * TCP and Unix sockets).
 * @module
 */

/** What answers the connection's requests. */
export type ConnectionHandler = (
  req: Request,
  info: Deno.ServeHandlerInfo<Deno.NetAddr>,
) => Response | Promise<Response>;

// deno-lint-ignore no-explicit-any -- Deno's internal namespace has no public type
const internal = (Deno as any)[(Deno as any).internal] as {
  serveHttpOnConnection(
    conn: Deno.Conn,
    signal: AbortSignal | undefined,
    handler: ConnectionHandler,
    onError: (error: unknown) => Response | Promise<Response>,
    onListen: (scheme: string) => void,
  ): Deno.HttpServer<Deno.NetAddr>;
};

/** Serves `conn` until it ends, `signal` aborts, or the server is shut down. */
export function serveConnection(
  conn: Deno.Conn,
  signal: AbortSignal | undefined,
  handler: ConnectionHandler,
  onError: (error: unknown) => Response | Promise<Response>,
): Deno.HttpServer<Deno.NetAddr> {
  return internal.serveHttpOnConnection(conn, signal, handler, onError, () => {});
}
