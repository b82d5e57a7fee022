/**
 * Client addresses as the front door counts them. A dual-stack listener on
 * `::` sees IPv4 clients as `::ffff:a.b.c.d`; they are the same client as
 * `a.b.c.d`. One IPv6 host usually owns a whole /64, so per-address limits
 * key IPv6 clients by their /64: otherwise one machine could open as many
 * connections as it has addresses.
 * @module
 */

/** `::ffff:a.b.c.d` as `a.b.c.d`; anything else lower-cased and as given. */
export function normaliseAddress(hostname: string): string {
  const h = hostname.toLowerCase();
  if (h.startsWith("::ffff:") && h.indexOf(".") > 0) return h.slice(7);
  return h;
}

/**
 * The eight groups of an IPv6 address, each four hex digits
 * (`2001:0db8:0000:…`), or undefined when it is not one. A zone (`%eth0`)
 * is dropped; an embedded IPv4 tail becomes two groups.
 */
export function ipv6Groups(address: string): string[] | undefined {
  const zone = address.indexOf("%");
  let a = (zone >= 0 ? address.slice(0, zone) : address).toLowerCase();
  const v4 = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(a);
  if (v4) {
    const b = v4.slice(1).map(Number);
    if (b.some((x) => x > 255)) return undefined;
    const hex = (x: number, y: number) => ((x << 8) | y).toString(16);
    a = a.slice(0, v4.index) + `${hex(b[0], b[1])}:${hex(b[2], b[3])}`;
  }
  const halves = a.split("::");
  if (halves.length > 2) return undefined;
  const head = halves[0] ? halves[0].split(":") : [];
  const tail = halves.length === 2 && halves[1] ? halves[1].split(":") : [];
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return undefined;
  const groups = [...head, ...Array(halves.length === 2 ? missing : 0).fill("0"), ...tail];
  if (groups.some((g) => !/^[0-9a-f]{1,4}$/.test(g))) return undefined;
  return groups.map((g) => g.padStart(4, "0"));
}

/**
 * The key per-address limits count a connection under: the IPv4 address, or
 * for IPv6 its /64 (`2001:db8:0:1::/64`). Loopback `::1` stays itself.
 */
export function clientKey(hostname: string): string {
  const h = normaliseAddress(hostname);
  if (!h.includes(":") || h === "::1") return h;
  const groups = ipv6Groups(h);
  if (!groups) return h;
  return `${groups.slice(0, 4).map((g) => g.replace(/^0+(?=.)/, "")).join(":")}::/64`;
}

/**
 * The client's address from what the request brought: the socket's peer
 * (`""` when unknown) or, when forwarding headers may be believed and the
 * peer is a proxy on loopback, the last `X-Forwarded-For` entry (the one
 * that proxy added).
 */
export function clientAddress(peer: string, forwarded: string | null, trustProxy: boolean): string {
  const h = normaliseAddress(peer);
  if (trustProxy && forwarded && isLoopbackAddress(h)) {
    const last = forwarded.split(",").map((s) => s.trim()).filter(Boolean).at(-1);
    if (last) return last.slice(0, 64);
  }
  // A dual-stack socket shows IPv4 clients as ::ffff:a.b.c.d.
  return peer ? h : "unknown";
}

/** Whether a normalised address is on this machine. */
export function isLoopbackAddress(normalised: string): boolean {
  return normalised === "::1" || normalised.startsWith("127.");
}
