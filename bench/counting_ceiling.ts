/**
 * What counting a page costs at the least, in any Deno server: a bare
 * `Deno.serve` answering one page from memory, with or without the least a
 * cookieless counter must do for each view. Counting here reads the client
 * address (the last `X-Forwarded-For` entry, as fazt behind a proxy does),
 * the user agent and the referrer; hands them over in chunks of 64 to a
 * thread of its own, which names the visitor (SHA-256 of a salt, the
 * address and the agent, once per visitor) and stores one row per view in
 * SQLite, 2,000 a transaction. No bot check, no limits, no rollups: fazt does all of those
 * besides. Run side by side, the two modes give the ceiling of the
 * counted/uncounted ratio on this machine.
 *
 *   deno run -A bench/counting_ceiling.ts PAGE_FILE PORT plain|counted DB_FILE
 *
 * @module
 */
import { isMainThread, parentPort, Worker, workerData } from "node:worker_threads";

const CHUNK = 64;
const BATCH = 2_000;

if (isMainThread && import.meta.main) {
  const [pageFile, portArg, mode, dbFile] = Deno.args;
  const page = new Response(await Deno.readFile(pageFile), {
    headers: { "content-type": "text/html; charset=utf-8" },
  });
  const counting = mode === "counted";
  const worker = counting
    ? new Worker(new URL(import.meta.url), {
      workerData: dbFile,
      resourceLimits: { maxYoungGenerationSizeMb: 4 },
    })
    : undefined;
  let chunk = "";
  let inChunk = 0;
  Deno.serve({ hostname: "127.0.0.1", port: Number(portArg), onListen() {} }, (req) => {
    if (worker) {
      const h = req.headers;
      const forwarded = h.get("x-forwarded-for") ?? "";
      const address = forwarded.slice(forwarded.lastIndexOf(",") + 1).trim();
      const url = req.url;
      chunk += `${Date.now()}\0${url.slice(url.indexOf("/", 8))}\0${address}\0${
        h.get("user-agent") ?? ""
      }\0${h.get("referer") ?? ""}\n`;
      if (++inChunk === CHUNK) {
        worker.postMessage(chunk);
        chunk = "";
        inChunk = 0;
      }
    }
    return page.clone();
  });
  console.log(`listening on ${portArg} (${mode})`);
} else if (!isMainThread) {
  const { DatabaseSync } = await import("node:sqlite");
  const { createHash } = await import("node:crypto");
  const db = new DatabaseSync(workerData as string);
  db.exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL");
  db.exec(`CREATE TABLE IF NOT EXISTS views (
    at INTEGER NOT NULL, path TEXT NOT NULL, visitor TEXT NOT NULL, referrer TEXT NOT NULL)`);
  const insert = db.prepare("INSERT INTO views (at, path, visitor, referrer) VALUES (?, ?, ?, ?)");
  const salt = crypto.randomUUID();
  // A day's visitors, named once each (a real counter forgets them daily).
  const visitors = new Map<string, string>();
  let rows: [number, string, string, string][] = [];
  parentPort!.on("message", (chunk: string) => {
    for (const line of chunk.split("\n")) {
      if (!line) continue;
      const [at, path, address, agent, referrer] = line.split("\0");
      const key = address + "\0" + agent;
      let visitor = visitors.get(key);
      if (visitor === undefined) {
        visitor = createHash("sha256").update(salt).update(key).digest("base64url").slice(0, 16);
        visitors.set(key, visitor);
      }
      rows.push([Number(at), path, visitor, referrer]);
    }
    if (rows.length >= BATCH) {
      db.exec("BEGIN");
      for (const r of rows) insert.run(...r);
      db.exec("COMMIT");
      rows = [];
    }
  });
}
