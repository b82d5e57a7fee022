/** Finding (and, as root, installing) the programs the benchmarks need. */
import { run } from "./proc.ts";
import { wrkVersion } from "./wrk.ts";

/** Debian package of each tool (the program has the same name). */
const PACKAGES: Record<string, string> = {
  wrk: "wrk",
  nginx: "nginx",
  caddy: "caddy",
  curl: "curl",
  openssl: "openssl",
};

export interface ToolSet {
  /** Absolute path of each tool found. */
  paths: Record<string, string>;
  versions: Record<string, string>;
  /** Why a tool is missing, for the results and the table. */
  missing: Record<string, string>;
  has(name: string): boolean;
}

function which(name: string): string | undefined {
  const dirs = (Deno.env.get("PATH") ?? "").split(":").concat(["/usr/sbin", "/usr/bin", "/sbin"]);
  for (const d of dirs) {
    try {
      const st = Deno.statSync(`${d}/${name}`);
      if (st.isFile && (st.mode ?? 0o111) & 0o111) return `${d}/${name}`;
    } catch {
      // not here
    }
  }
  return undefined;
}

async function candidate(pkg: string): Promise<string | undefined> {
  const out = await run("apt-cache", ["policy", pkg], { allowFail: true });
  const c = /Candidate:\s*(\S+)/.exec(out.stdout)?.[1];
  return c && c !== "(none)" ? c : undefined;
}

async function version(name: string, path: string): Promise<string> {
  if (name === "wrk") return await wrkVersion();
  if (name === "nginx") {
    const out = await run(path, ["-v"], { allowFail: true });
    return (out.stderr + out.stdout).trim().replace(/^nginx version:\s*/, "");
  }
  if (name === "caddy") return (await run(path, ["version"], { allowFail: true })).stdout.trim();
  return "";
}

/**
 * Makes sure the tools are there: as root, missing ones are installed with
 * apt-get; otherwise the command to install them is printed. Returns what
 * was found. Throws if a required tool is still missing.
 */
export async function ensureTools(
  required: string[],
  optional: string[],
  log: (m: string) => void,
): Promise<ToolSet> {
  const wanted = [...new Set([...required, ...optional])];
  const missing = wanted.filter((t) => !which(t));
  const reasons: Record<string, string> = {};
  if (missing.length > 0) {
    const isRoot = Deno.uid() === 0;
    const hasApt = !!which("apt-get");
    if (isRoot && hasApt) {
      let unknown: string[] = [];
      for (let attempt = 0; attempt < 2; attempt++) {
        unknown = [];
        for (const t of missing) if (!(await candidate(PACKAGES[t] ?? t))) unknown.push(t);
        if (unknown.length === 0 || attempt === 1) break;
        log("apt-get update (some packages are not in the local lists)");
        await run("apt-get", ["update"], { allowFail: true });
      }
      for (const t of unknown) reasons[t] = `Debian package '${PACKAGES[t] ?? t}' is not available`;
      const installable = missing.filter((t) => !unknown.includes(t)).map((t) => PACKAGES[t] ?? t);
      if (installable.length > 0) {
        log(`apt-get install -y ${installable.join(" ")}`);
        const out = await run("apt-get", ["install", "-y", "-q", ...installable], {
          env: { DEBIAN_FRONTEND: "noninteractive" },
          allowFail: true,
        });
        if (out.code !== 0) log(`apt-get install failed:\n${out.stderr.slice(-2000)}`);
      }
    } else {
      const pkgs = missing.map((t) => PACKAGES[t] ?? t).join(" ");
      log(`missing: ${missing.join(", ")}. Install with: sudo apt-get install -y ${pkgs}`);
    }
  }
  const paths: Record<string, string> = {};
  const versions: Record<string, string> = {};
  for (const t of wanted) {
    const p = which(t);
    if (p) {
      paths[t] = p;
      versions[t] = await version(t, p);
    } else {
      reasons[t] ??= "not installed (see above for the command)";
    }
  }
  for (const t of Object.keys(paths)) delete reasons[t];
  const stillMissing = required.filter((t) => !paths[t]);
  if (stillMissing.length > 0) {
    throw new Error(
      `required tools missing: ${stillMissing.join(", ")} ` +
        `(install with: sudo apt-get install -y ${stillMissing.map((t) => PACKAGES[t]).join(" ")})`,
    );
  }
  return { paths, versions, missing: reasons, has: (name) => name in paths };
}
