/**
 * Which folder each app on each node was last deployed from, so deploying a
 * different folder under the same derived name (two projects' `dist/`) asks
 * first instead of replacing the other site. A small JSON file beside the
 * CLI's database (`~/.fazt/deploys.json`), per node URL.
 * @module
 */

interface MemoryFile {
  version: 1;
  /** Node origin → app name → where it was deployed from. */
  nodes: Record<string, Record<string, { source: string; at: number }>>;
}

/** The most deploys remembered; the oldest are forgotten first. */
const MAX_ENTRIES = 2000;

function emptyMemory(): MemoryFile {
  return { version: 1, nodes: {} };
}

/** A node's identity here: its URL's origin (`https://fazt.example.com`). */
export function nodeKey(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return url;
  }
}

export class DeployMemory {
  constructor(readonly file: string) {}

  /** Beside the database at `dbPath`. */
  static beside(dbPath: string): DeployMemory {
    const dir = dbPath.includes("/") ? dbPath.slice(0, dbPath.lastIndexOf("/")) : ".";
    return new DeployMemory(`${dir}/deploys.json`);
  }

  #read(): MemoryFile {
    try {
      const data = JSON.parse(Deno.readTextFileSync(this.file));
      if (data?.version === 1 && data.nodes && typeof data.nodes === "object") return data;
    } catch {
      // Missing or damaged: nothing remembered (it is only a safety net).
    }
    return emptyMemory();
  }

  /** The folder or file `app` on `node` was last deployed from, if remembered. */
  source(node: string, app: string): string | undefined {
    const entry = this.#read().nodes[nodeKey(node)]?.[app];
    return typeof entry?.source === "string" ? entry.source : undefined;
  }

  /** Remembers `source` for `app` on `node` (written aside, then renamed). */
  async remember(node: string, app: string, source: string): Promise<void> {
    const data = this.#read();
    const key = nodeKey(node);
    (data.nodes[key] ??= {})[app] = { source, at: Date.now() };
    const all = Object.entries(data.nodes).flatMap(([n, apps]) =>
      Object.entries(apps).map(([a, e]) => ({ n, a, at: e.at }))
    );
    if (all.length > MAX_ENTRIES) {
      all.sort((x, y) => x.at - y.at);
      for (const old of all.slice(0, all.length - MAX_ENTRIES)) delete data.nodes[old.n][old.a];
    }
    const dir = this.file.slice(0, this.file.lastIndexOf("/"));
    await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
    const tmp = `${this.file}.${crypto.randomUUID()}.tmp`;
    await Deno.writeTextFile(tmp, JSON.stringify(data, null, 2) + "\n", { mode: 0o600 });
    await Deno.rename(tmp, this.file);
  }
}
