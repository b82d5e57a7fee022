/**
 * The HTTPS port: one TLS listener (per address family) whose certificate
 * is chosen per SNI name by a `TlsCertificates` provider, served by the
 * front door, and swapped for a fresh listener when a certificate it has
 * already handed out changes, with no restart and no connection dropped.
 *
 * How Deno 2.9.6 makes this possible, and its catches (measured before
 * this was built; the figures are in bench/README.md):
 * - `Deno.listenTls` takes an internal SNI resolver (`resolverSymbol`),
 *   called once per name per listener; its answer, errors included, is
 *   cached for the listener's life. So every name gets a certificate (the
 *   provider's, or a self-signed fallback), and a changed certificate for
 *   a name this listener has answered needs a new listener: opened on the
 *   same port with `reusePort` (`--unstable-net`), handed to the door,
 *   new connections steered to it (sockopt.ts), and the old one closed
 *   after `DRAIN_MS`. Connections it accepted stay open.
 * - The cache also grows with every distinct name (~1.5 KiB each): past
 *   `MAX_NAMES_PER_LISTENER` names the listener is swapped as well.
 * - ALPN must be given for HTTP/2 (`Deno.serve` adds it itself).
 * - Without `--allow-ffi` (see sockopt.ts) every TLS response waits for
 *   the client's delayed ACK and a silent client holds a descriptor until
 *   it leaves; both are warned about once.
 *
 * The provider interface is what the ACME module (certificates in SQLite)
 * implements; `StaticCertificates` (static_certificates.ts) is one from
 * PEM text or files.
 * @module
 */
import type { FrontDoor } from "./front_door.ts";
import { openListeners, reusePortAvailable } from "./listen.ts";
import { selfSignedCertificate } from "./self_signed.ts";
import type { Sockopt } from "./sockopt.ts";

/** A certificate chain and its private key, PEM. */
export interface TlsCertificate {
  cert: string;
  key: string;
}

/**
 * Where the HTTPS port gets its certificates. `lookup` is called on the
 * first handshake for a name on each listener (synchronously: keep a
 * map in memory); `onChange` tells the port which names' certificates
 * were added, renewed or removed, so it can stop presenting cached ones.
 */
export interface TlsCertificates {
  /**
   * The certificate for `name` (the SNI, lower case, no trailing dot; `""`
   * when the client sent none), or undefined for the fallback.
   */
  lookup(name: string): TlsCertificate | undefined;
  /** Calls `listener` with the names whose certificate changed; returns how to stop. */
  onChange(listener: (names: string[]) => void): () => void;
}

/** How the HTTPS port is set up: `startServer({https})`. */
export interface HttpsOptions {
  /** The HTTPS port (0: any free one). */
  port: number;
  certificates: TlsCertificates;
  /** Address to listen on; default: the node's `host` setting. */
  hostname?: string;
}

/**
 * How long a replaced listener goes on accepting (with steering, nothing
 * new reaches it): handshakes it started finish, and connections whose
 * SYN it got just before the swap complete their handshake on it.
 */
export const DRAIN_MS = 2000;

/** Distinct names a listener answers before it is replaced, bounding its cache. */
export const MAX_NAMES_PER_LISTENER = 10_000;

// deno-lint-ignore no-explicit-any -- Deno's internal namespace has no public type
const internal = (Deno as any)[(Deno as any).internal] as { resolverSymbol: symbol };

interface Generation {
  listeners: Deno.TlsListener[];
  /** Names this generation's resolver has answered (and so cached). */
  seen: Set<string>;
}

export interface TlsFrontOptions {
  door: FrontDoor;
  hostname: string;
  port: number;
  certificates: TlsCertificates;
  /** Names the fallback certificate is made for (the node's domain). */
  fallbackNames: string[];
  sockopt?: Sockopt;
  log: (message: string) => void;
  /** How listeners are opened (default `Deno.listenTls`; tests: a port another process took). */
  listenTls?: (options: Deno.ListenTlsOptions & Deno.TlsCertifiedKeyPem) => Deno.TlsListener;
}

/** Longest wait between two attempts to open the HTTPS port again. */
const REOPEN_MAX_WAIT_MS = 1000;

/** The HTTPS port of a node. Open it with `TlsFront.open`. */
export class TlsFront {
  #current: Generation;
  #swapping: Promise<void> = Promise.resolve();
  #pending = false;
  readonly #stopPauses = new Set<() => void>();
  /** Names whose changed certificates the next swap is for (logged). */
  readonly #why = new Set<string>();
  #closed = false;
  #swaps = 0;
  #noDelay = 0;
  readonly #unsubscribe: () => void;
  readonly #reusePort = reusePortAvailable();

  private constructor(
    private o: TlsFrontOptions,
    private fallback: TlsCertificate,
    readonly hostname: string,
    readonly port: number,
  ) {
    this.#current = this.#open(port);
    for (const l of this.#current.listeners) o.door.listen(l);
    this.#unsubscribe = o.certificates.onChange((names) => this.#changed(names));
    if (!this.#reusePort) {
      o.log(
        "HTTPS: without --unstable-net a certificate change closes the HTTPS port for a moment",
      );
    }
  }

  /** Opens the HTTPS port (the door starts accepting on it at once). */
  static async open(o: TlsFrontOptions): Promise<TlsFront> {
    const fallback = await selfSignedCertificate(o.fallbackNames);
    return new TlsFront(o, fallback, o.hostname, o.port);
  }

  /** Listening sockets that got `TCP_NODELAY` through FFI so far (0 without it). */
  get noDelayListeners(): number {
    return this.#noDelay;
  }

  /** Listener swaps done so far (tests, `/api/system`). */
  get swaps(): number {
    return this.#swaps;
  }

  get addresses(): Deno.NetAddr[] {
    return this.#current.listeners.map((l) => l.addr);
  }

  #open(port: number): Generation {
    const seen = new Set<string>();
    const resolve = (sni: string): TlsCertificate => {
      const name = sni.toLowerCase().replace(/\.$/, "");
      seen.add(name);
      if (seen.size > MAX_NAMES_PER_LISTENER) this.#scheduleSwap();
      try {
        return this.o.certificates.lookup(name) ?? this.fallback;
      } catch (err) {
        this.o.log(`HTTPS: certificate lookup for ${name} failed: ${err}`);
        return this.fallback;
      }
    };
    const listeners = openListeners(
      this.hostname,
      port,
      this.#reusePort,
      (hostname, p, reusePort) =>
        (this.o.listenTls ?? Deno.listenTls)(
          {
            hostname,
            port: p,
            reusePort,
            alpnProtocols: ["h2", "http/1.1"],
            [internal.resolverSymbol]: resolve,
          } as unknown as Deno.ListenTlsOptions & Deno.TlsCertifiedKeyPem,
        ),
    );
    if (this.o.sockopt) {
      // Linux copies TCP_NODELAY from the listener to what it accepts.
      this.#noDelay += this.o.sockopt.setListenerNoDelay(listeners[0].addr.port);
    }
    return { listeners, seen };
  }

  #changed(names: string[]): void {
    // A name this listener never answered is looked up live on its first
    // handshake: only cached answers need a new listener.
    const cached = names.filter((n) => this.#cached(n.toLowerCase().replace(/\.$/, "")));
    if (cached.length > 0) this.#scheduleSwap(cached);
  }

  /** Whether the current listener has answered `name` (`*.d`: any name under d; `*`: any). */
  #cached(name: string): boolean {
    const seen = this.#current.seen;
    if (name === "*") return seen.size > 0;
    if (!name.startsWith("*.")) return seen.has(name);
    const suffix = name.slice(1);
    for (const s of seen) {
      if (s.endsWith(suffix) && !s.slice(0, -suffix.length).includes(".")) return true;
    }
    return false;
  }

  /** One swap at a time; changes during a swap lead to one more. */
  #scheduleSwap(why: string[] = []): void {
    for (const name of why) this.#why.add(name);
    if (this.#pending || this.#closed) return;
    this.#pending = true;
    this.#swapping = this.#swapping.then(async () => {
      this.#pending = false;
      if (this.#closed) return;
      const names = [...this.#why];
      this.#why.clear();
      try {
        await this.swap();
        if (this.#closed) return;
        const shown = names.slice(0, 5).join(", ") +
          (names.length > 5 ? ` and ${names.length - 5} more` : "");
        this.o.log(
          `HTTPS: new listener for ${
            names.length ? `the changed certificates of ${shown}` : "a fresh name cache"
          }`,
        );
      } catch (err) {
        this.o.log(`HTTPS: could not swap the listener: ${err}`);
      }
    });
  }

  /**
   * Replaces the listener with a fresh one (fresh resolver, empty cache).
   * With `reusePort` the new one accepts before the old one closes.
   */
  async swap(): Promise<void> {
    const old = this.#current;
    const port = old.listeners[0].addr.port;
    if (!this.#reusePort) {
      for (const l of old.listeners) await this.o.door.unlisten(l);
      const fresh = await this.#reopen(port);
      if (!fresh) return;
      this.#current = fresh;
      for (const l of this.#current.listeners) this.o.door.listen(l);
      this.#swaps++;
      return;
    }
    this.#current = this.#open(port);
    for (const l of this.#current.listeners) this.o.door.listen(l);
    // New connections go to the new listener from now on; the old one
    // accepts and completes the handshakes it already has, then closes.
    if ((this.o.sockopt?.steerToNewest(port) ?? 0) > 0) await this.#pause(DRAIN_MS);
    for (const l of old.listeners) await this.o.door.unlisten(l);
    this.#swaps++;
  }

  /**
   * Opens `port` again after its listener closed (no `reusePort`). Until
   * it is open the port is down, and in that moment another process may
   * have bound it: so it is tried until it opens or the node closes
   * (undefined).
   */
  async #reopen(port: number): Promise<Generation | undefined> {
    for (let attempt = 0, wait = 10;; attempt++, wait = Math.min(wait * 2, REOPEN_MAX_WAIT_MS)) {
      try {
        return this.#open(port);
      } catch (err) {
        if (attempt % 10 === 0) {
          this.o.log(`HTTPS: port ${port} cannot be opened again yet (${err}); retrying`);
        }
      }
      await this.#pause(wait);
      if (this.#closed) return undefined;
    }
  }

  /** Waits `ms`, cut short by `close()`. */
  #pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      const stop = this.#stopPauses;
      function done() {
        clearTimeout(timer);
        stop.delete(done);
        resolve();
      }
      stop.add(done);
    });
  }

  /** Waits for a swap in progress, if any (tests). */
  settled(): Promise<void> {
    return this.#swapping;
  }

  /** Stops listening for changes; the door closes the listeners when it shuts down. */
  close(): void {
    this.#closed = true;
    this.#unsubscribe();
    for (const done of [...this.#stopPauses]) done();
  }
}
