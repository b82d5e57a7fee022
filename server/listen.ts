/**
 * Opening a node's listening sockets, IPv6 and IPv4 alike. On Linux (with
 * `net.ipv6.bindv6only=0`, the default) one socket on `::` accepts both and
 * sees IPv4 clients as `::ffff:a.b.c.d`; where IPv6 is off, `::` fails and
 * `0.0.0.0` is used; where `::` is IPv6-only, both are opened.
 * @module
 */

/** Opens one listening socket; `reusePort` lets a second one share the port (a swap). */
export type OpenListener<L> = (hostname: string, port: number, reusePort: boolean) => L;

/** Whether `--unstable-net` is on (it adds `Deno.listenDatagram`): `reusePort` needs it. */
export function reusePortAvailable(): boolean {
  // Without the flag, reusePort does not throw: it ends the process.
  return typeof (Deno as unknown as { listenDatagram?: unknown }).listenDatagram === "function";
}

function addrOf(l: unknown): Deno.NetAddr {
  return (l as { addr: Deno.NetAddr }).addr;
}

function closeQuietly(l: unknown): void {
  try {
    (l as { close(): void }).close();
  } catch {
    // Already closed.
  }
}

/**
 * The listeners for `hostname:port`. `::` means every address of both
 * families: dual-stack where the system has it, else one socket per
 * family, else IPv4 alone. Any other address is opened as given.
 */
export function openListeners<L>(
  hostname: string,
  port: number,
  reusePort: boolean,
  open: OpenListener<L>,
): L[] {
  if (hostname !== "::") return [open(hostname, port, reusePort)];
  let v6: L;
  try {
    v6 = open("::", port, reusePort);
  } catch (err) {
    if (err instanceof Deno.errors.AddrInUse || err instanceof Deno.errors.PermissionDenied) {
      throw err;
    }
    // No IPv6 on this machine.
    return [open("0.0.0.0", port, reusePort)];
  }
  const bound = addrOf(v6).port;
  // Probe without reusePort: a dual-stack `::` holds the IPv4 port too, so
  // this bind fails; with reusePort it could succeed beside it.
  let probe: L;
  try {
    probe = open("0.0.0.0", bound, false);
  } catch (err) {
    if (err instanceof Deno.errors.AddrInUse) return [v6];
    closeQuietly(v6);
    throw err;
  }
  if (!reusePort) return [v6, probe];
  closeQuietly(probe);
  return [v6, open("0.0.0.0", bound, true)];
}
