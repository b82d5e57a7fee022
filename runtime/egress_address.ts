/**
 * Which addresses app code may connect to. A listed host name must resolve
 * only to public addresses (a name that resolves to the node itself, the
 * local network or the cloud's metadata service is how DNS rebinding and
 * SSRF reach what they should not); a name in the manifest's `netPrivate`
 * may resolve anywhere, and an address the owner listed literally
 * (`"127.0.0.1:8080"`) is taken as meant.
 * @module
 */

function v4(address: string): number[] | undefined {
  const parts = address.split(".");
  if (parts.length !== 4) return undefined;
  const out = parts.map((p) => (/^\d{1,3}$/.test(p) ? Number(p) : NaN));
  return out.every((n) => n >= 0 && n <= 255) ? out : undefined;
}

/** The eight 16-bit groups of an IPv6 address, or undefined. */
function v6(address: string): number[] | undefined {
  let a = address.toLowerCase();
  if (a.startsWith("[") && a.endsWith("]")) a = a.slice(1, -1);
  const zone = a.indexOf("%");
  if (zone >= 0) a = a.slice(0, zone);
  if (!a.includes(":")) return undefined;
  let tail: number[] = [];
  const lastColon = a.lastIndexOf(":");
  const dotted = v4(a.slice(lastColon + 1));
  if (dotted) {
    tail = [(dotted[0] << 8) | dotted[1], (dotted[2] << 8) | dotted[3]];
    a = a.slice(0, lastColon + 1) + "0";
  }
  const halves = a.split("::");
  if (halves.length > 2) return undefined;
  const parse = (s: string) => (s === "" ? [] : s.split(":").map((g) => parseInt(g, 16)));
  const head = parse(halves[0]);
  const rest = halves.length === 2 ? parse(halves[1]) : [];
  if (dotted) rest.length ? rest.pop() : head.pop();
  const groups = halves.length === 2
    ? [...head, ...new Array(8 - head.length - rest.length - tail.length).fill(0), ...rest, ...tail]
    : [...head, ...tail];
  if (groups.length !== 8 || groups.some((g) => !(g >= 0 && g <= 0xffff))) return undefined;
  return groups;
}

function privateV4([a, b]: number[]): boolean {
  return a === 0 || // "this network", unspecified
    a === 10 || // RFC 1918
    a === 127 || // loopback
    (a === 100 && b >= 64 && b <= 127) || // CGNAT
    (a === 169 && b === 254) || // link-local, cloud metadata
    (a === 172 && b >= 16 && b <= 31) || // RFC 1918
    (a === 192 && b === 168) || // RFC 1918
    (a === 192 && b === 0) || // IETF protocol assignments
    (a === 198 && (b === 18 || b === 19)) || // benchmarking
    a >= 224; // multicast, reserved, broadcast
}

/** Whether an IP address (v4 or v6) is one app code must not reach unasked. */
export function isPrivateAddress(address: string): boolean {
  const four = v4(address);
  if (four) return privateV4(four);
  const g = v6(address);
  if (!g) return true; // Not an address we understand: refuse.
  if (g.every((x) => x === 0)) return true; // ::
  if (g.slice(0, 7).every((x) => x === 0) && g[7] === 1) return true; // ::1
  // IPv4-mapped (::ffff:a.b.c.d) and NAT64 (64:ff9b::a.b.c.d) carry an IPv4 address.
  const mapped = g.slice(0, 5).every((x) => x === 0) && g[5] === 0xffff;
  const nat64 = g[0] === 0x64 && g[1] === 0xff9b && g.slice(2, 6).every((x) => x === 0);
  if (mapped || nat64) return privateV4([g[6] >> 8, g[6] & 0xff, g[7] >> 8, g[7] & 0xff]);
  if ((g[0] & 0xfe00) === 0xfc00) return true; // unique local fc00::/7
  if ((g[0] & 0xffc0) === 0xfe80) return true; // link-local fe80::/10
  if ((g[0] & 0xff00) === 0xff00) return true; // multicast
  if (g[0] === 0x2001 && g[1] === 0x0db8) return true; // documentation
  return false;
}

/** Whether a host (as in a URL) is an IP address rather than a name. */
export function isAddressLiteral(host: string): boolean {
  return v4(host) !== undefined || v6(host) !== undefined;
}
