/**
 * Which projects `fazt deploy` takes as Deno Deploy-style apps, and their
 * entry: a folder with no `api/` and no `server` in its manifest whose
 * `deno.json` names the entry (its `deploy.entrypoint`, else the file its
 * `start` task runs), or that has a `main.ts` (or `.tsx`, `.js`, `.mjs`)
 * at its root. Such an app gets every request (its manifest's `routes`
 * default to `/*`, static files second), as on Deno Deploy.
 * @module
 */

export interface DeployStyleEntry {
  /** The entry file, relative to the project. */
  entry: string;
  /** Where it was found, for the deploy's note. */
  from: string;
}

const ROOT_MAINS = ["main.ts", "main.tsx", "main.js", "main.mjs"];
const CODE = /\.(m?[jt]sx?)$/;

function isFile(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}

/** JSON with comments and trailing commas (deno.jsonc), as far as configs use them. */
export function parseJsonc(text: string): unknown {
  const stripped = text
    .replace(/("(?:\\.|[^"\\])*")|\/\/[^\n]*|\/\*[\s\S]*?\*\//g, (_, s) => s ?? "")
    .replace(/,(\s*[}\]])/g, "$1");
  return JSON.parse(stripped);
}

function readConfig(root: string): { name: string; config: Record<string, unknown> } | undefined {
  for (const name of ["deno.json", "deno.jsonc"]) {
    let text: string;
    try {
      text = Deno.readTextFileSync(`${root}/${name}`);
    } catch {
      continue;
    }
    try {
      const config = parseJsonc(text);
      if (config && typeof config === "object" && !Array.isArray(config)) {
        return { name, config: config as Record<string, unknown> };
      }
    } catch {
      // A config Deno itself could not read names no entry.
    }
    return undefined;
  }
  return undefined;
}

/** A project path as written in a config (`./main.ts`), if it stays inside the project. */
function relative(path: string): string | undefined {
  const p = path.replace(/^\.\//, "");
  if (p === "" || p.startsWith("/") || p.split("/").includes("..")) return undefined;
  return p;
}

/** The file a `start` task runs: `deno run -A --watch main.ts`, `deno serve server/app.ts`. */
export function taskEntry(command: string): string | undefined {
  const words = command.trim().split(/\s+/);
  const at = words.findIndex((w, i) => (w === "run" || w === "serve") && words[i - 1] === "deno");
  if (at < 0) return undefined;
  for (const w of words.slice(at + 1)) {
    if (w === "&&" || w === ";" || w === "|") break;
    if (!w.startsWith("-") && CODE.test(w)) return relative(w);
  }
  return undefined;
}

/** The Deno Deploy-style entry of the project at `root`, if it is one. */
export function denoDeployEntry(root: string): DeployStyleEntry | undefined {
  try {
    if (Deno.statSync(`${root}/api`).isDirectory) return undefined;
  } catch {
    // No api/ folder: go on.
  }
  const found = readConfig(root);
  if (found) {
    const deploy = found.config.deploy as Record<string, unknown> | undefined;
    const named = typeof deploy?.entrypoint === "string" ? relative(deploy.entrypoint) : undefined;
    if (named && isFile(`${root}/${named}`)) {
      return { entry: named, from: `${found.name} deploy.entrypoint` };
    }
    const tasks = found.config.tasks as Record<string, unknown> | undefined;
    const start = tasks?.start;
    const command = typeof start === "string"
      ? start
      : typeof (start as { command?: unknown })?.command === "string"
      ? (start as { command: string }).command
      : undefined;
    const fromTask = command ? taskEntry(command) : undefined;
    if (fromTask && isFile(`${root}/${fromTask}`)) {
      return { entry: fromTask, from: `${found.name} start task` };
    }
  }
  const main = ROOT_MAINS.find((m) => isFile(`${root}/${m}`));
  return main ? { entry: main, from: `${main} at the project's root` } : undefined;
}
