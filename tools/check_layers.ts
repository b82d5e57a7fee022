/**
 * The layer check (`deno task layers`): reads the module graph of every
 * TypeScript file in the repository with `deno info --json` and fails on
 *
 * - an import circle between modules (type-only imports count: a circle of
 *   types is still a knot to untie before either file can move);
 * - an import that points up the layers: `cli` → `server` → `runtime` →
 *   `storage` → `lib` (any lower layer may be used; `version.ts` by all);
 * - a layer importing what is outside the layers (`admin/`, `bench/`,
 *   `release/`, `tests/`, `tools/`, tests beside modules, `main.ts`,
 *   `mod.ts`), except the generated dashboard bundle the server embeds;
 * - an import from one layer into another folder's files other than its
 *   `mod.ts` (its public face); `lib/` has no face, its helpers are imported
 *   one by one.
 *
 * The model is denoland/std's `_tools/check_circular_package_dependencies.ts`.
 * @module
 */

/** The layers, lowest first: a module may import its own layer and those below it. */
export const LAYERS = ["lib", "storage", "runtime", "server", "cli"] as const;

/** Folders that import each other's files directly, having no `mod.ts`. */
const FACELESS = new Set(["lib"]);

/** Imported by every layer: the version has no imports of its own. */
const SHARED = new Set(["version.ts"]);

/**
 * Outside the layers, yet imported by one: the dashboard bundle is generated
 * data (one string constant, no imports) that the server embeds.
 */
const EMBEDDED = new Set(["admin/dist/assets.ts"]);

/** Module path (relative to the root, `/`-separated) → the local modules it imports. */
export type Graph = Map<string, Set<string>>;

/** One broken rule, with the modules involved. */
export interface Violation {
  kind: "circle" | "upward" | "outside" | "face";
  /** For a circle, every module on it with the first repeated at the end; else `[from, to]`. */
  path: string[];
  message: string;
}

/** The layer a module belongs to, or `undefined` when it is outside the layering. */
export function layerOf(path: string): number | undefined {
  if (/(^|\/)[^/]*_test\.tsx?$/.test(path)) return undefined;
  const i = (LAYERS as readonly string[]).indexOf(path.split("/")[0]);
  return i === -1 || !path.includes("/") ? undefined : i;
}

/** A knot of modules that import each other: its members, and one shortest circle through it. */
export interface Knot {
  members: string[];
  /** The modules on the circle, the first repeated at the end. */
  circle: string[];
}

/**
 * The knots of the graph: its strongly connected groups of modules (Tarjan),
 * each reported once with a shortest circle through it.
 */
export function findKnots(graph: Graph): Knot[] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const groups: string[][] = [];
  let next = 0;
  // Iterative, so a deep graph cannot overflow the call stack.
  const visit = (root: string) => {
    const work: [string, Iterator<string>][] = [];
    const enter = (v: string) => {
      index.set(v, next);
      low.set(v, next++);
      stack.push(v);
      onStack.add(v);
      work.push([v, (graph.get(v) ?? new Set()).values()]);
    };
    enter(root);
    while (work.length) {
      const [v, edges] = work[work.length - 1];
      const step = edges.next();
      if (!step.done) {
        const w = step.value;
        if (!index.has(w)) enter(w);
        else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
        continue;
      }
      work.pop();
      if (work.length) {
        const parent = work[work.length - 1][0];
        low.set(parent, Math.min(low.get(parent)!, low.get(v)!));
      }
      if (low.get(v) === index.get(v)) {
        const group: string[] = [];
        let w: string;
        do {
          w = stack.pop()!;
          onStack.delete(w);
          group.push(w);
        } while (w !== v);
        if (group.length > 1 || graph.get(v)?.has(v)) groups.push(group);
      }
    }
  };
  for (const v of [...graph.keys()].sort()) if (!index.has(v)) visit(v);
  return groups
    .map((group) => ({ members: group.sort(), circle: shortestCircle(graph, group) }))
    .sort((a, b) => a.members[0] < b.members[0] ? -1 : 1);
}

/** A shortest circle through the group's first module (by name), within the group. */
function shortestCircle(graph: Graph, group: string[]): string[] {
  const members = new Set(group);
  const start = [...group].sort()[0];
  const from = new Map<string, string>();
  const queue = [start];
  for (let i = 0; i < queue.length; i++) {
    const v = queue[i];
    for (const w of [...(graph.get(v) ?? [])].sort()) {
      if (!members.has(w)) continue;
      if (w === start) {
        const path = [start];
        for (let at: string | undefined = v; at !== start; at = from.get(at!)) {
          path.splice(1, 0, at!);
        }
        return [...path, start];
      }
      if (!from.has(w)) {
        from.set(w, v);
        queue.push(w);
      }
    }
  }
  return [start, start];
}

/** Every broken rule of the graph, circles first. */
export function checkGraph(graph: Graph): Violation[] {
  const out: Violation[] = findKnots(graph).map(({ members, circle }) => {
    const others = members.filter((m) => !circle.includes(m));
    return {
      kind: "circle",
      path: circle,
      message: `import circle: ${circle.join(" → ")}` +
        (others.length ? ` (the knot also holds ${others.join(", ")})` : ""),
    };
  });
  for (const [from, imports] of [...graph].sort(([a], [b]) => a < b ? -1 : 1)) {
    const layer = layerOf(from);
    if (layer === undefined) continue;
    for (const to of [...imports].sort()) {
      const problem = importProblem(from, layer, to);
      if (problem) out.push({ ...problem, path: [from, to] });
    }
  }
  return out;
}

function importProblem(
  from: string,
  layer: number,
  to: string,
): Omit<Violation, "path"> | undefined {
  if (SHARED.has(to) || EMBEDDED.has(to)) return undefined;
  const target = layerOf(to);
  if (target === undefined) {
    return {
      kind: "outside",
      message: `${from} imports ${to}, which is outside the layers`,
    };
  }
  if (target > layer) {
    return {
      kind: "upward",
      message: `${from} (${LAYERS[layer]}) imports ${to} (${LAYERS[target]}): ` +
        `imports point down, ${LAYERS.toReversed().join(" → ")}`,
    };
  }
  const folder = LAYERS[target];
  if (target !== layer && !FACELESS.has(folder) && !to.endsWith("/mod.ts")) {
    return {
      kind: "face",
      message: `${from} imports ${to}: import ${folder}/ through its mod.ts`,
    };
  }
  return undefined;
}

/** Folders never scanned: generated output and dependencies. */
const SKIP = new Set([".git", "node_modules", ".coverage", "dist", "results"]);

/** Every `.ts`/`.tsx` file under `root`, as sorted relative paths (`admin/dist/` included). */
export async function sourceFiles(root: string, prefix = ""): Promise<string[]> {
  const out: string[] = [];
  for await (const entry of Deno.readDir(`${root}/${prefix}`)) {
    const rel = prefix + entry.name;
    if (entry.isDirectory) {
      if (!SKIP.has(entry.name) || rel === "admin/dist") {
        out.push(...await sourceFiles(root, `${rel}/`));
      }
    } else if (entry.isFile && /\.tsx?$/.test(entry.name)) out.push(rel);
  }
  return out.sort();
}

interface InfoJson {
  modules: {
    specifier: string;
    dependencies?: { code?: { specifier: string }; type?: { specifier: string } }[];
  }[];
}

/**
 * The local import graph of `files`, from `deno info --json` (one run per
 * file not already reached from an earlier one). Imports of npm, node and
 * remote modules are left out.
 */
export async function loadGraph(root: string, files: string[]): Promise<Graph> {
  const base = new URL(`file://${root.replace(/\/?$/, "/")}`).href;
  const local = (specifier: string) =>
    specifier.startsWith(base) ? decodeURIComponent(specifier.slice(base.length)) : undefined;
  const graph: Graph = new Map();
  for (const file of files) {
    if (graph.has(file)) continue;
    const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
      args: ["info", "--json", file],
      cwd: root,
      env: { NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (code !== 0) {
      throw new Error(`deno info ${file} failed:\n${new TextDecoder().decode(stderr)}`);
    }
    const info: InfoJson = JSON.parse(new TextDecoder().decode(stdout));
    for (const module of info.modules) {
      const from = local(module.specifier);
      if (from === undefined) continue;
      const imports = graph.get(from) ?? new Set<string>();
      graph.set(from, imports);
      for (const dep of module.dependencies ?? []) {
        for (const resolved of [dep.code?.specifier, dep.type?.specifier]) {
          const to = resolved && local(resolved);
          if (to) imports.add(to);
        }
      }
    }
  }
  return graph;
}

async function main(): Promise<number> {
  const root = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
  const files = await sourceFiles(root);
  const graph = await loadGraph(root, files);
  const violations = checkGraph(graph);
  for (const v of violations) console.error(`${v.kind}: ${v.message}`);
  const edges = [...graph.values()].reduce((n, s) => n + s.size, 0);
  if (violations.length) {
    console.error(`layer check failed: ${violations.length} problem(s) in ${graph.size} modules`);
    return 1;
  }
  console.log(`layer check passed: ${graph.size} modules, ${edges} imports, no circles`);
  return 0;
}

if (import.meta.main) Deno.exit(await main());
