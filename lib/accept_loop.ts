/**
 * Accepts from `listener` until it is closed, handing each connection to
 * `serve`. A failed accept() (out of descriptors, a connection aborted
 * before it was taken) does not end the loop: the listener is still fine
 * and connections wait in its backlog, so it waits `retryMs` and accepts
 * again. (`for await` over a listener ends at the first such failure, and
 * `Deno.serve` ends the process.)
 */
export async function acceptLoop<C extends Deno.Conn>(
  listener: Deno.Listener<C>,
  serve: (conn: C) => void,
  retryMs = 50,
): Promise<void> {
  for (;;) {
    let conn: C;
    try {
      conn = await listener.accept();
    } catch (err) {
      if (err instanceof Deno.errors.BadResource || err instanceof Deno.errors.Interrupted) return;
      await new Promise((r) => setTimeout(r, retryMs));
      continue;
    }
    serve(conn);
  }
}
