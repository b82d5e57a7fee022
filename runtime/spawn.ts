/**
 * How to start fazt's helper processes (app hosts, the compiler) in every
 * form fazt ships in: from source (`deno run main.ts`), the entry file is run
 * directly so the child loads only what it needs; from a bundle, the same
 * file is re-run with a hidden subcommand.
 */
const ENTRIES = {
  host: { file: "./host_main.ts", subcommand: "__app-host" },
  compile: { file: "./compile_main.ts", subcommand: "__compile" },
} as const;

function exists(url: URL): boolean {
  try {
    return url.protocol === "file:" && Deno.statSync(url).isFile;
  } catch {
    return false;
  }
}

function faztCommand(
  entry: URL,
  subcommand: string,
  flags: string[],
): { command: string; args: string[] } {
  const config = new URL("../deno.json", import.meta.url);
  const base = ["run", "-q", "--no-prompt", ...flags];
  if (exists(entry)) {
    if (exists(config)) base.push("--config", config.pathname);
    return { command: Deno.execPath(), args: [...base, entry.pathname] };
  }
  const main = new URL(Deno.mainModule);
  return { command: Deno.execPath(), args: [...base, main.pathname, subcommand] };
}

/** Starts a helper process with piped stdio and almost no environment. */
export function spawnFazt(kind: keyof typeof ENTRIES, flags: string[]): Deno.ChildProcess {
  const { file, subcommand } = ENTRIES[kind];
  return spawnHelper(new URL(file, import.meta.url), subcommand, flags, childEnv(kind));
}

/**
 * Starts another layer's helper process: `entry` when fazt runs from source,
 * else the program itself with `subcommand` (which `main.ts` dispatches).
 */
export function spawnHelper(
  entry: URL,
  subcommand: string,
  flags: string[],
  env: Record<string, string> = childEnv(),
): Deno.ChildProcess {
  const { command, args } = faztCommand(entry, subcommand, flags);
  return new Deno.Command(command, {
    args,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    clearEnv: true,
    env,
  }).spawn();
}

/**
 * The only environment a child gets: where Deno keeps its cache; an app
 * host also gets the npm registry the node is told to use, which it must
 * never ask (it runs with npm and remote modules turned off; tests point
 * this at a fake registry to prove it).
 */
function childEnv(kind?: keyof typeof ENTRIES): Record<string, string> {
  const env: Record<string, string> = { NO_COLOR: "1" };
  const names = ["HOME", "DENO_DIR", "XDG_CACHE_HOME", "PATH"];
  if (kind === "host") names.push("NPM_CONFIG_REGISTRY");
  for (const name of names) {
    try {
      const value = Deno.env.get(name);
      if (value !== undefined) env[name] = value;
    } catch {
      // Not readable with this process's permissions: not passed.
    }
  }
  return env;
}
