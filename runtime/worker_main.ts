// deno-lint-ignore-file no-explicit-any
/**
 * The code that runs first inside an app's Worker. It is sent to the Worker
 * as source text (`workerMain.toString()`), because the Worker may read no
 * files, so it must be self-contained: no imports, no outer variables.
 *
 * It gives the app `ctx` and the global `fazt` (storage calls become messages
 * to the host), captures `console`, runs the app's handler for each request,
 * and supports the original fazt style: a script in `api/main.js` that uses
 * the globals `request` and `respond` and returns its completion value.
 */
export function workerMain(): void {
  const self_ = globalThis as any;
  const pending = new Map<number, { resolve: (v: any) => void; reject: (e: any) => void }>();
  let nextCall = 1;
  let handler: ((req: Request, ctx: any) => any) | undefined;
  let scripts: Record<string, string> = {};
  let style = "module";
  let ctrl: Int32Array;
  let shared: Uint8Array;
  let logQueue: { level: string; message: string; at: number }[] = [];
  let workers = 0;
  let maxWorkers = 4;

  const post = (m: any, transfer: Transferable[] = []) => self_.postMessage(m, transfer);

  const format = (args: unknown[]) =>
    args.map((a) => {
      if (typeof a === "string") return a;
      if (a instanceof Error) return a.stack ?? String(a);
      try {
        return JSON.stringify(a);
      } catch {
        return String(a);
      }
    }).join(" ");

  const log = (level: string, args: unknown[]) => {
    if (logQueue.length === 0) setTimeout(flushLogs, 0);
    if (logQueue.length < 1000) logQueue.push({ level, message: format(args), at: Date.now() });
  };
  const flushLogs = () => {
    if (logQueue.length) post({ t: "log", entries: logQueue });
    logQueue = [];
  };

  const appError = (e: any) => {
    const err = new Error(e.message ?? "storage call failed");
    (err as any).code = e.code;
    return err;
  };

  const call = (op: string, args: unknown[], body?: Uint8Array): Promise<any> =>
    new Promise((resolve, reject) => {
      const cid = nextCall++;
      pending.set(cid, { resolve, reject });
      const buf = body ? body.slice().buffer : undefined;
      post({ t: "call", cid, op, args, body: buf }, buf ? [buf] : []);
    });

  /** A blocking call for the original synchronous `fazt.storage` API. */
  const callSync = (op: string, args: unknown[]): any => {
    Atomics.store(ctrl, 0, 0);
    post({ t: "scall", op, args });
    Atomics.wait(ctrl, 0, 0);
    const length = Atomics.load(ctrl, 1);
    const text = new TextDecoder().decode(shared.slice(0, length));
    const r = JSON.parse(text);
    if (r.error) throw appError(r.error);
    return r.value;
  };

  const toBytes = async (data: unknown): Promise<Uint8Array> => {
    if (data instanceof Uint8Array) return data;
    if (data instanceof ArrayBuffer) return new Uint8Array(data);
    if (ArrayBuffer.isView(data)) {
      return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    }
    if (typeof data === "string") return new TextEncoder().encode(data);
    if (data instanceof Blob) return new Uint8Array(await data.arrayBuffer());
    if (data instanceof ReadableStream) {
      return new Uint8Array(await new Response(data).arrayBuffer());
    }
    throw new TypeError("blobs.put takes bytes, a string, a Blob or a ReadableStream");
  };

  const kv = {
    get: (key: string) => call("kv.get", [key]),
    set: (key: string, value: unknown, opts?: { ttl?: number }) =>
      call("kv.set", [key, value, opts ?? {}]),
    delete: (key: string) => call("kv.delete", [key]),
    list: (opts?: unknown) => call("kv.list", [opts ?? {}]),
    increment: (key: string, by = 1, opts?: { ttl?: number }) =>
      call("kv.increment", [key, by, opts ?? {}]),
  };
  const docs = {
    insert: (c: string, doc: unknown) => call("docs.insert", [c, doc]),
    get: (c: string, id: string) => call("docs.get", [c, id]),
    find: (c: string, filter?: unknown, opts?: unknown) =>
      call("docs.find", [c, filter ?? {}, opts ?? {}]),
    update: (c: string, filter: unknown, update: unknown) =>
      call("docs.update", [c, filter, update]),
    delete: (c: string, filter: unknown) => call("docs.delete", [c, filter]),
    count: (c: string, filter?: unknown) => call("docs.count", [c, filter ?? {}]),
  };
  const blobs = {
    put: async (key: string, data: unknown, opts?: { contentType?: string }) =>
      call("blobs.put", [key, opts ?? {}], await toBytes(data)),
    get: async (key: string) => {
      const r = await call("blobs.get", [key]);
      if (!r) return undefined;
      const data = new Uint8Array(r.body);
      return {
        key: r.key,
        size: r.size,
        contentType: r.content_type,
        updatedAt: r.updated_at,
        data,
        text: () => new TextDecoder().decode(data),
        stream: () => new Blob([data]).stream(),
      };
    },
    delete: (key: string) => call("blobs.delete", [key]),
    list: (opts?: unknown) => call("blobs.list", [opts ?? {}]),
  };
  const logger = {
    debug: (...a: unknown[]) => log("debug", a),
    info: (...a: unknown[]) => log("info", a),
    warn: (...a: unknown[]) => log("warn", a),
    error: (...a: unknown[]) => log("error", a),
  };

  // The original's synchronous storage API (fazt.storage.kv/ds/s3).
  const storage = {
    kv: {
      get: (key: string) => callSync("kv.get", [key]),
      set: (key: string, value: unknown, ttlMs?: number) =>
        callSync("kv.set", [key, value, ttlMs ? { ttl: ttlMs } : {}]),
      delete: (key: string) => callSync("kv.delete", [key]),
      list: (prefix?: string) => callSync("kv.list", [{ prefix, limit: 1000 }]).items,
    },
    ds: {
      insert: (c: string, doc: any) => callSync("docs.insert", [c, doc]).id,
      find: (c: string, query?: unknown) =>
        callSync("docs.find", [c, query ?? {}, { limit: 1000 }]).items,
      findOne: (c: string, id: string) => callSync("docs.get", [c, id]) ?? null,
      update: (c: string, query: unknown, changes: any) => {
        const ops = Object.keys(changes).some((k) => k.startsWith("$"));
        return callSync("docs.update", [c, query, ops ? changes : { $set: changes }]);
      },
      delete: (c: string, query: unknown) => callSync("docs.delete", [c, query]),
    },
    s3: {
      put: (path: string, data: string, mime?: string) =>
        callSync("blobs.putText", [path.replace(/^\/+/, "").replace(/\/{2,}/g, "/"), data, mime]),
      get: (path: string) => callSync("blobs.getBase64", [path.replace(/^\/+/, "")]) ?? null,
      delete: (path: string) => callSync("blobs.delete", [path.replace(/^\/+/, "")]),
      list: (prefix?: string) => callSync("blobs.list", [{ prefix, limit: 1000 }]).items,
    },
  };

  const originalConsole = self_.console;
  const captured = { ...logger, log: logger.info, trace: logger.debug };
  self_.console = new Proxy(originalConsole, {
    get: (target, prop) => (prop in captured ? (captured as any)[prop] : target[prop]),
  });

  // Nested Workers inherit the app's permissions; the count is capped.
  const RealWorker = self_.Worker;
  if (RealWorker) {
    self_.Worker = class extends RealWorker {
      constructor(url: string | URL, opts?: any) {
        if (workers >= maxWorkers) {
          throw new Error(`an app may start at most ${maxWorkers} Workers`);
        }
        workers++;
        super(url, opts);
      }
    };
  }

  const headersObject = (headers: Headers) => {
    const out: Record<string, string> = {};
    headers.forEach((v, k) => {
      const canonical = k.replace(/(^|-)([a-z])/g, (_m, d, c) => d + c.toUpperCase());
      if (!(canonical in out)) out[canonical] = v;
    });
    return out;
  };

  /** The original runtime: completion value → response. */
  const runScript = async (req: Request): Promise<Response> => {
    const url = new URL(req.url);
    const query: Record<string, string> = {};
    url.searchParams.forEach((v, k) => {
      if (!(k in query)) query[k] = v;
    });
    let body: unknown = null;
    const type = req.headers.get("content-type") ?? "";
    if (req.method !== "GET" && req.method !== "HEAD" && type.includes("application/json")) {
      try {
        body = await req.json();
      } catch {
        body = null;
      }
    }
    const request = {
      method: req.method,
      path: url.pathname,
      query,
      headers: headersObject(req.headers),
      body,
    };
    const respond = (a?: unknown, b?: unknown) => {
      if (a === undefined) return { status: 200, body: null };
      if (b === undefined) {
        return typeof a === "number" ? { status: a, body: null } : { status: 200, body: a };
      }
      return { status: a, body: b };
    };
    const moduleCache = new Map<string, unknown>();
    const require = (spec: string): unknown => {
      const path = spec.startsWith("./")
        ? "api/" + spec.slice(2)
        : spec.startsWith("api/")
        ? spec
        : "api/" + spec;
      const candidates = [path, path + ".js"];
      const found = candidates.find((p) => p in scripts);
      if (!found) throw new Error(`cannot require '${spec}': no such file in api/`);
      if (moduleCache.has(found)) return moduleCache.get(found);
      const module = { exports: {} as unknown };
      new Function("module", "exports", "require", "fazt", "request", "respond", scripts[found])(
        module,
        module.exports,
        require,
        self_.fazt,
        request,
        respond,
      );
      moduleCache.set(found, module.exports);
      return module.exports;
    };
    const run = new Function(
      "request",
      "respond",
      "require",
      "fazt",
      "__source",
      "return eval(__source);",
    );
    const result = run(request, respond, require, self_.fazt, scripts["api/main.js"]);
    const value = result instanceof Promise ? await result : result;
    return toResponse(value);
  };

  const toResponse = (value: any): Response => {
    const isPlain = value !== null && typeof value === "object" && !Array.isArray(value) &&
      ("status" in value || "body" in value || "headers" in value);
    const status = isPlain && typeof value.status === "number" ? value.status : 200;
    const body = isPlain ? value.body : value;
    const headers = new Headers();
    if (isPlain && value.headers) {
      for (const [k, v] of Object.entries(value.headers)) headers.set(k, String(v));
    }
    if (!headers.has("content-type")) headers.set("content-type", "application/json");
    if (body === undefined || body === null) return new Response(null, { status, headers });
    const text = typeof body === "string" ? body : JSON.stringify(body) + "\n";
    return new Response(text, { status, headers });
  };

  const respondTo = async (id: number, meta: any, body: ArrayBuffer | null) => {
    const req = new Request(meta.url, {
      method: meta.method,
      headers: meta.headers,
      body: body && meta.method !== "GET" && meta.method !== "HEAD" ? body : undefined,
    });
    let res: Response;
    try {
      const out = style === "script" ? await runScript(req) : await handler!(req, self_.fazt);
      if (!(out instanceof Response)) throw new TypeError("the handler must return a Response");
      res = out;
    } catch (err) {
      log("error", [err]);
      res = new Response(
        JSON.stringify({
          error: { code: "APP_ERROR", message: "The app failed to handle this request" },
        }),
        { status: 500, headers: { "content-type": "application/json" } },
      );
    }
    const out = await res.arrayBuffer();
    const headers: [string, string][] = [];
    res.headers.forEach((v, k) => headers.push([k, v]));
    sendResponse({ id, meta: { status: res.status, headers }, body: out });
  };

  // Responses go back in batches: when every request of the current batch
  // has answered, or on the next turn of the event loop, whichever is first.
  let outbox: { id: number; meta: unknown; body: ArrayBuffer }[] = [];
  let running = 0;
  let flushTimer: ReturnType<typeof setTimeout> | undefined;
  const flushResponses = () => {
    if (flushTimer !== undefined) clearTimeout(flushTimer);
    flushTimer = undefined;
    if (!outbox.length) return;
    post({ t: "res", list: outbox }, outbox.map((r) => r.body));
    outbox = [];
  };
  const sendResponse = (r: { id: number; meta: unknown; body: ArrayBuffer }) => {
    outbox.push(r);
    running--;
    if (running === 0) flushResponses();
    else if (flushTimer === undefined) flushTimer = setTimeout(flushResponses, 0);
  };

  self_.onmessage = async (e: MessageEvent) => {
    const m = e.data;
    if (m.t === "req") {
      running += m.list.length;
      for (const r of m.list) respondTo(r.id, r.meta, r.body);
      return;
    }
    if (m.t === "result") {
      const p = pending.get(m.cid);
      pending.delete(m.cid);
      if (!p) return;
      if (m.error) p.reject(appError(m.error));
      else p.resolve(m.body ? { ...m.value, body: m.body } : m.value);
      return;
    }
    if (m.t === "init") {
      ctrl = new Int32Array(m.ctrl);
      shared = new Uint8Array(m.shared);
      maxWorkers = m.maxWorkers;
      style = m.style;
      scripts = m.scripts ?? {};
      const env = Object.freeze({ ...m.env });
      const envApi = Object.freeze(Object.assign(Object.create(null), env, {
        get: (k: string, fallback?: string) => (k in env ? env[k] : fallback),
        has: (k: string) => k in env,
      }));
      self_.fazt = Object.freeze({
        kv,
        docs,
        blobs,
        env: envApi,
        log: logger,
        app: Object.freeze({ id: m.app.name, name: m.app.name }),
        storage,
        version: m.version,
      });
      try {
        if (style === "module") {
          const url = URL.createObjectURL(new Blob([m.code], { type: "text/javascript" }));
          const mod = await import(url);
          URL.revokeObjectURL(url);
          const d = mod.default;
          if (typeof d === "function") handler = d;
          else if (d && typeof d.fetch === "function") handler = (req, ctx) => d.fetch(req, ctx);
          else {throw new Error(
              "api/main must export default a function or an object with fetch(req, ctx)",
            );}
        }
        post({ t: "ready" });
      } catch (err) {
        post({
          t: "failed",
          message: err instanceof Error ? err.stack ?? err.message : String(err),
        });
      }
    }
  };
}
