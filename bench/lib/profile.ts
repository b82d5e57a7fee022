import type { Table } from "./types.ts";

/** Summaries of V8 .cpuprofile files (from `deno run --cpu-prof`). */

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}

interface CpuProfile {
  nodes: { id: number; callFrame: CallFrame; children?: number[] }[];
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileLine {
  name: string;
  where: string;
  self_ms: number;
  self_pct: number;
}

export interface ProfileSummary {
  total_ms: number;
  /** Top functions by self time. */
  functions: ProfileLine[];
  /** Self time by source: fazt's files, Deno's built-in extensions, npm, and V8's own buckets. */
  sources: ProfileLine[];
  /** fazt's own functions by inclusive time (self + everything they called). */
  fazt_inclusive: ProfileLine[];
}

function shortUrl(url: string, root: string): string {
  if (!url) return "";
  if (url.startsWith(`file://${root}/`)) return url.slice(`file://${root}/`.length);
  return url.replace(/^file:\/\/.*\/(node_modules|npm\/registry\.npmjs\.org)\//, "npm:");
}

function sourceOf(frame: CallFrame, root: string): string {
  const name = frame.functionName;
  if (!frame.url) return name.startsWith("(") ? name : "(native)";
  if (frame.url.startsWith(`file://${root}/`)) {
    const rel = shortUrl(frame.url, root);
    return `fazt: ${rel.split("/").slice(0, 2).join("/")}`;
  }
  if (frame.url.startsWith("ext:")) return frame.url.split("/")[0];
  if (frame.url.startsWith("node:")) return "node:*";
  if (frame.url.includes("/npm/") || frame.url.includes("node_modules")) return "npm packages";
  return frame.url;
}

/** Self time per function and per source. `root` is the checkout, to shorten its paths. */
export function summarise(profile: CpuProfile, root: string, top = 25): ProfileSummary {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const self = new Map<number, number>();
  const { samples, timeDeltas } = profile;
  const avg = timeDeltas.reduce((a, b) => a + b, 0) / Math.max(1, timeDeltas.length);
  for (let i = 0; i < samples.length; i++) {
    // timeDeltas[i] is the gap before sample i, so sample i lasts until i + 1.
    const dt = i + 1 < timeDeltas.length ? timeDeltas[i + 1] : avg;
    self.set(samples[i], (self.get(samples[i]) ?? 0) + dt);
  }
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  const fns = new Map<string, ProfileLine>();
  const srcs = new Map<string, ProfileLine>();
  const add = (
    m: Map<string, ProfileLine>,
    key: string,
    name: string,
    where: string,
    us: number,
  ) => {
    const e = m.get(key) ?? { name, where, self_ms: 0, self_pct: 0 };
    e.self_ms += us / 1000;
    m.set(key, e);
  };
  for (const [id, us] of self) {
    const f = byId.get(id)!.callFrame;
    const name = f.functionName || "(anonymous)";
    let where = f.url ? `${shortUrl(f.url, root)}:${f.lineNumber + 1}` : "";
    if (!f.url && !name.startsWith("(")) {
      // A native function: say which JavaScript called it.
      const caller = byId.get(parent.get(id) ?? -1)?.callFrame;
      if (caller?.url) {
        where = `called by ${caller.functionName || "(anonymous)"} ${shortUrl(caller.url, root)}:${
          caller.lineNumber + 1
        }`;
      }
    }
    add(fns, `${name}@${where}`, name, where, us);
    const src = sourceOf(f, root);
    add(srcs, src, src, "", us);
  }
  const finish = (m: Map<string, ProfileLine>, n: number) =>
    [...m.values()].sort((a, b) => b.self_ms - a.self_ms).slice(0, n).map((e) => ({
      ...e,
      self_ms: Math.round(e.self_ms),
      self_pct: Math.round((e.self_ms / (total / 1000)) * 1000) / 10,
    }));
  // Inclusive time of fazt's own functions: each sample counts once per function on its stack.
  const incl = new Map<string, ProfileLine>();
  for (const [id, us] of self) {
    const seen = new Set<string>();
    for (let n: number | undefined = id; n !== undefined; n = parent.get(n)) {
      const f = byId.get(n)!.callFrame;
      if (!f.url.startsWith(`file://${root}/`)) continue;
      const name = f.functionName || "(anonymous)";
      const where = `${shortUrl(f.url, root)}:${f.lineNumber + 1}`;
      const key = `${name}@${where}`;
      if (seen.has(key)) continue;
      seen.add(key);
      add(incl, key, name, where, us);
    }
  }
  return {
    total_ms: Math.round(total / 1000),
    functions: finish(fns, top),
    sources: finish(srcs, 15),
    fazt_inclusive: finish(incl, 15),
  };
}

/** Reads the newest .cpuprofile in `dir`. */
export async function readNewestProfile(
  dir: string,
): Promise<{ profile: CpuProfile; file: string }> {
  let newest: { name: string; mtime: number } | undefined;
  for await (const e of Deno.readDir(dir)) {
    if (!e.name.endsWith(".cpuprofile")) continue;
    const mtime = (await Deno.stat(`${dir}/${e.name}`)).mtime?.getTime() ?? 0;
    if (!newest || mtime > newest.mtime) newest = { name: e.name, mtime };
  }
  if (!newest) throw new Error(`no .cpuprofile was written in ${dir}`);
  const file = `${dir}/${newest.name}`;
  return { profile: JSON.parse(await Deno.readTextFile(file)), file };
}

/** The two tables a profile summary prints as. */
export function profileTables(title: string, s: ProfileSummary): Table[] {
  return [{
    title: `${title} (self time, ${Math.round(s.total_ms)} ms sampled)`,
    columns: ["function", "where", "self ms", "self %"],
    rows: s.functions.slice(0, 20).map((f) => [f.name, f.where, f.self_ms, f.self_pct]),
  }, {
    title: `${title}, by source`,
    columns: ["source", "self ms", "self %"],
    rows: s.sources.map((f) => [f.name, f.self_ms, f.self_pct]),
  }, {
    title: `${title}, fazt's functions by inclusive time`,
    columns: ["function", "where", "incl ms", "incl %"],
    rows: s.fazt_inclusive.map((f) => [f.name, f.where, f.self_ms, f.self_pct]),
  }];
}
