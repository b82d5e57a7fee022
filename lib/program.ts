/**
 * What program this process is, in the forms fazt ships in, and how to run
 * another one of the same form: what an upgrade replaces and restarts.
 * @module
 */

/**
 * - `source`: `deno run … main.ts` in a checkout (updated with git, not here);
 * - `bundle`: `deno run … fazt.js`, one file made by `deno bundle`;
 * - `binary`: a `deno compile`d executable.
 */
export type ProgramForm = "source" | "bundle" | "binary";

export interface Program {
  form: ProgramForm;
  /** The file an upgrade replaces (absent for `source`). */
  path?: string;
}

/**
 * The permissions a bundled node runs with: the same as deno.json's `start`
 * task (a test keeps the two equal).
 */
export const SERVER_RUN_FLAGS: readonly string[] = [
  "--allow-net",
  "--allow-read",
  "--allow-write",
  "--allow-env=FAZT_DB,FAZT_URL,FAZT_TOKEN,HOME,USERPROFILE,NO_COLOR,FORCE_COLOR,CLICOLOR_FORCE," +
  "DENO_DIR,XDG_CACHE_HOME,PATH,FAZT_SUPERVISED",
  "--allow-run",
  // FFI: TCP_NODELAY on TLS listeners and closing TLS connections stuck
  // before their handshake (server/sockopt.ts); malloc_trim once requests
  // stop (server/idle_trim.ts).
  "--allow-ffi",
  "--allow-sys=systemMemoryInfo,osRelease",
  // reusePort: a new HTTPS listener beside the old one when a certificate
  // changes (server/tls_front.ts).
  "--unstable-net",
  "--deny-import",
  "--no-prompt",
];

/**
 * How a bundle runs (the release archives' launcher, a restart after an
 * upgrade): the server's permissions, and no `deno.json` looked for in the
 * folder it is started from: a bundle needs none, and one there must not
 * change it.
 */
export const BUNDLE_RUN_FLAGS: readonly string[] = ["--no-config", ...SERVER_RUN_FLAGS];

/** The program running now. */
export function currentProgram(): Program {
  const exec = Deno.execPath();
  const execName = exec.split(/[\\/]/).pop() ?? "";
  if (!/^deno(\.exe)?$/i.test(execName)) return { form: "binary", path: exec };
  const main = new URL(Deno.mainModule);
  if (main.protocol === "file:" && /\.m?js$/.test(main.pathname)) {
    return { form: "bundle", path: decodeURIComponent(main.pathname) };
  }
  return { form: "source" };
}

/** The command that runs `path` as a program of `form` with `args`. */
export function commandFor(form: ProgramForm, path: string, args: string[]): string[] {
  if (form === "binary") return [path, ...args];
  return [Deno.execPath(), "run", ...BUNDLE_RUN_FLAGS, path, ...args];
}

/**
 * Runs `fazt --version` of the program at `path`; its version, or an error
 * saying why it would not run.
 */
export async function probeVersion(form: ProgramForm, path: string): Promise<string> {
  const [command, ...args] = commandFor(form, path, ["--version"]);
  const out = await new Deno.Command(command, {
    args,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(30_000),
  }).output();
  const text = new TextDecoder().decode(out.stdout).trim();
  const m = /^fazt (\d+\.\d+\.\d+\S*)/.exec(text);
  if (out.code !== 0 || !m) {
    const why = new TextDecoder().decode(out.stderr).trim().split("\n")[0] || text;
    throw new Error(`it did not run as fazt (exit ${out.code}${why ? `: ${why}` : ""})`);
  }
  return m[1];
}
