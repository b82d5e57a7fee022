/**
 * Socket operations Deno 2.9 does not offer for TLS, done through FFI
 * on libc (needs `--allow-ffi`; Linux only; feature-detected, so without it
 * HTTPS still works, only slower and without the reaper):
 *
 * - `TCP_NODELAY` on a TLS listening socket. Deno sets it on plain TCP
 *   connections only, so every HTTPS response of more than a few hundred
 *   bytes waits for the client's delayed ACK (+44 ms each, measured). Linux
 *   copies the option from a listening socket to the sockets it accepts, so
 *   one `setsockopt` on the listener fixes all its connections.
 * - A reuseport steering program (`steerToNewest`), so that a listener
 *   swap (tls_front.ts) resets no connection queued on the old listener.
 * - `recv(2)` with `MSG_PEEK` of a plain connection's first bytes, which
 *   tells the front door whether it asks for a WebSocket (front_door.ts)
 *   before Deno's server reads them.
 * - `shutdown(2)` of a TLS connection that never sent a ClientHello. Deno's
 *   handshake task owns such a socket and has no timeout: neither the abort
 *   signal nor `close()` frees it, so a silent flood would use up every
 *   descriptor. `shutdown` wakes the task with end-of-file and Deno frees it.
 *
 * No call has the descriptor of a Deno resource, so each finds it by
 * scanning descriptors for the socket's addresses (`getsockname`,
 * `getpeername`): one scan per batch, up to the descriptor limit.
 * Upstream issues would let this file go: TLS connections without
 * `TCP_NODELAY` (ext/http `serve_http_on`), no TLS handshake timeout.
 * @module
 */
import { ipv6Groups, normaliseAddress } from "./client_address.ts";

const AF_INET = 2;
const AF_INET6 = 10;
const SOL_SOCKET = 1;
const SO_ACCEPTCONN = 30;
const IPPROTO_TCP = 6;
const TCP_NODELAY = 1;
const SHUT_RDWR = 2;
const MSG_PEEK = 0x02;
const MSG_DONTWAIT = 0x40;
const SO_ATTACH_REUSEPORT_CBPF = 51;
const BPF_RET_K = 0x06;

const SYMBOLS = {
  getsockname: { parameters: ["i32", "buffer", "buffer"], result: "i32" },
  getpeername: { parameters: ["i32", "buffer", "buffer"], result: "i32" },
  getsockopt: { parameters: ["i32", "i32", "i32", "buffer", "buffer"], result: "i32" },
  setsockopt: { parameters: ["i32", "i32", "i32", "buffer", "u32"], result: "i32" },
  shutdown: { parameters: ["i32", "i32"], result: "i32" },
  recv: { parameters: ["i32", "buffer", "usize", "i32"], result: "isize" },
} as const;

type Libc = Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];

/** A peer as Deno reports it: `hostname` and `port`. */
export interface Peer {
  hostname: string;
  port: number;
}

/** The FFI operations; `openSockopt()` gives one when the platform and permissions allow. */
export class Sockopt {
  readonly #addr = new Uint8Array(128);
  readonly #len = new Uint32Array(1);
  readonly #lenBytes = new Uint8Array(this.#len.buffer);

  /** `scanLimit`: descriptors below it are looked at (the process's descriptor limit). */
  constructor(private libc: Libc, private scanLimit: number) {}

  /**
   * Sets `TCP_NODELAY` on every listening TCP socket of this process bound
   * to `port`; how many it set.
   */
  setListenerNoDelay(port: number): number {
    let set = 0;
    const one = new Int32Array([1]);
    for (const fd of this.#listening(port)) {
      if (this.libc.setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, new Uint8Array(one.buffer), 4) === 0) {
        set++;
      }
    }
    return set;
  }

  /**
   * Makes the kernel hand every new connection to `port` to the newest of
   * the `reusePort` listeners sharing it (a classic BPF program on the
   * group that answers "socket 1": the second socket while a swap has two,
   * and, out of range once one is left, the kernel's usual choice). The
   * old listener then only finishes what it already has, so closing it
   * resets nothing (without this, connections waiting in its accept queue
   * are reset, unless `net.ipv4.tcp_migrate_req` is 1). How many listening
   * sockets took the program (0: not supported here).
   */
  steerToNewest(port: number): number {
    // struct sock_filter { u16 code; u8 jt; u8 jf; u32 k; }: BPF_RET | BPF_K, k = 1.
    const filter = new Uint8Array(8);
    const f = new DataView(filter.buffer);
    f.setUint16(0, BPF_RET_K, true);
    f.setUint32(4, 1, true);
    // struct sock_fprog { u16 len; struct sock_filter *filter; } (64-bit layout).
    const prog = new Uint8Array(16);
    const p = new DataView(prog.buffer);
    p.setUint16(0, 1, true);
    p.setBigUint64(8, BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(filter))), true);
    let set = 0;
    for (const fd of this.#listening(port)) {
      if (this.libc.setsockopt(fd, SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF, prog, 16) === 0) set++;
    }
    return set;
  }

  /** Descriptors of this process's listening TCP sockets bound to `port`. */
  *#listening(port: number): Generator<number> {
    const val = new Int32Array(1);
    const vlen = new Uint32Array(1);
    for (let fd = 0; fd < this.scanLimit; fd++) {
      if (this.#local(fd)?.port !== port) continue;
      vlen[0] = 4;
      this.libc.getsockopt(
        fd,
        SOL_SOCKET,
        SO_ACCEPTCONN,
        new Uint8Array(val.buffer),
        new Uint8Array(vlen.buffer),
      );
      if (val[0] === 1) yield fd;
    }
  }

  /**
   * Copies what waits on socket `fd` into `buf` without consuming it and
   * without blocking: how many bytes (0: the peer closed; -1: nothing yet,
   * or an error).
   */
  peek(fd: number, buf: Uint8Array): number {
    return Number(this.libc.recv(fd, buf, BigInt(buf.byteLength), MSG_PEEK | MSG_DONTWAIT));
  }

  /**
   * `shutdown(2)`s the connections to `localPort` whose peers are listed;
   * how many it shut. One scan for the whole batch.
   */
  shutdownPeers(localPort: number, peers: readonly Peer[]): number {
    const want = new Map<string, true>();
    for (const p of peers) want.set(`${addressKey(p.hostname)}|${p.port}`, true);
    let n = 0;
    for (let fd = 0; fd < this.scanLimit && want.size > 0; fd++) {
      const peer = this.#sockaddr(fd, "getpeername");
      if (!peer) continue;
      const key = `${peer.address}|${peer.port}`;
      if (!want.has(key) || this.#local(fd)?.port !== localPort) continue;
      if (this.libc.shutdown(fd, SHUT_RDWR) === 0) {
        n++;
        want.delete(key);
      }
    }
    return n;
  }

  #local(fd: number) {
    return this.#sockaddr(fd, "getsockname");
  }

  /** The address and port of a socket's own or peer end, if `fd` is an IP socket. */
  #sockaddr(
    fd: number,
    which: "getsockname" | "getpeername",
  ): { address: string; port: number } | undefined {
    const a = this.#addr;
    this.#len[0] = a.byteLength;
    if (this.libc[which](fd, a, this.#lenBytes) !== 0) return undefined;
    const family = a[0] | (a[1] << 8);
    const port = (a[2] << 8) | a[3];
    if (family === AF_INET) return { address: `${a[4]}.${a[5]}.${a[6]}.${a[7]}`, port };
    if (family !== AF_INET6) return undefined;
    const groups: string[] = [];
    for (let i = 8; i < 24; i += 2) groups.push(((a[i] << 8) | a[i + 1]).toString(16));
    return { address: addressKey(groups.join(":")), port };
  }
}

/** One spelling per address: IPv4 (also when mapped into IPv6) dotted, IPv6 expanded. */
function addressKey(hostname: string): string {
  const h = normaliseAddress(hostname);
  const groups = ipv6Groups(h);
  if (!groups) return h;
  if (groups.slice(0, 5).every((g) => g === "0000") && groups[5] === "ffff") {
    const v = parseInt(groups[6], 16), w = parseInt(groups[7], 16);
    return `${v >> 8}.${v & 255}.${w >> 8}.${w & 255}`;
  }
  return groups.join(":");
}

const LIBC_NAMES = ["libc.so.6", "libc.so", "libc.musl-x86_64.so.1", "libc.musl-aarch64.so.1"];

/**
 * The FFI shim, or the reason it is not available (not Linux, no
 * `--allow-ffi`, no libc found).
 */
export function openSockopt(scanLimit: number): Sockopt | string {
  if (Deno.build.os !== "linux") return "only on Linux";
  if (typeof Deno.dlopen !== "function") return "no FFI in this runtime";
  if (Deno.permissions.querySync({ name: "ffi" }).state !== "granted") {
    return "no --allow-ffi";
  }
  for (const name of LIBC_NAMES) {
    try {
      return new Sockopt(Deno.dlopen(name, SYMBOLS).symbols, Math.max(64, scanLimit));
    } catch {
      // Try the next name.
    }
  }
  return "libc not found";
}
