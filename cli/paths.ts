/** Where the node's database lives: `--db`, else `FAZT_DB`, else `~/.fazt/data.db`. */
export function resolveDbPath(flag?: string): string {
  const raw = flag ?? Deno.env.get("FAZT_DB") ?? "~/.fazt/data.db";
  return expandHome(raw);
}

export function expandHome(path: string): string {
  if (path !== "~" && !path.startsWith("~/")) return path;
  const home = Deno.env.get("HOME") ?? Deno.env.get("USERPROFILE");
  if (!home) throw new Error("cannot expand '~': HOME is not set");
  return home + path.slice(1);
}

export function fileExists(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}
