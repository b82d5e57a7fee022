/**
 * Mutation testing on demand: `deno task mutants`. Each mutant in
 * `tools/mutant_list.ts` is applied to a copy of the tree in a temp dir (the
 * working tree is never edited), the test files of its area run there, and
 * the mutant is killed when they fail. Survivors are the bugs no test would
 * catch. Mutants whose code text is gone are reported as stale, not counted.
 *
 * ```sh
 * deno task mutants                      # every area
 * deno task mutants --area static        # one area (repeatable)
 * deno task mutants --only origin-prefix-match --only expiry-boundary
 * deno task mutants --list               # where each mutant applies; runs nothing
 * deno task mutants --jobs 1 --min 95    # workers in parallel; exit 1 under 95 %
 * ```
 * @module
 */
import { parseArgs } from "node:util";
import { type Area, AREAS, type Mutant } from "./mutant_list.ts";

const ROOT = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
const td = new TextDecoder();

export type Location =
  | { kind: "found"; file: string; index: number; line: number; moved: boolean }
  | { kind: "stale"; reason: string };

function occurrences(text: string, find: string): number[] {
  const at: number[] = [];
  for (let i = text.indexOf(find); i !== -1; i = text.indexOf(find, i + 1)) at.push(i);
  return at;
}

function lineOf(text: string, index: number): number {
  return text.slice(0, index).split("\n").length;
}

/**
 * Where a mutant applies: its file if the text occurs there exactly once;
 * otherwise the one source file that holds it exactly once (the code moved);
 * otherwise stale.
 */
export function locate(
  mutant: Mutant,
  read: (path: string) => string | undefined,
  sources: string[],
): Location {
  if (mutant.find === mutant.replace) return { kind: "stale", reason: "replace equals find" };
  const own = read(mutant.file);
  if (own !== undefined) {
    const at = occurrences(own, mutant.find);
    if (at.length === 1) {
      return {
        kind: "found",
        file: mutant.file,
        index: at[0],
        line: lineOf(own, at[0]),
        moved: false,
      };
    }
    if (at.length > 1) {
      return { kind: "stale", reason: `found ${at.length} times in ${mutant.file}` };
    }
  }
  const hits: { file: string; at: number[]; text: string }[] = [];
  for (const file of sources) {
    if (file === mutant.file) continue;
    const text = read(file);
    const at = text === undefined ? [] : occurrences(text, mutant.find);
    if (at.length) hits.push({ file, at, text: text! });
  }
  if (hits.length === 1 && hits[0].at.length === 1) {
    const { file, at, text } = hits[0];
    return { kind: "found", file, index: at[0], line: lineOf(text, at[0]), moved: true };
  }
  if (hits.length === 0) {
    return {
      kind: "stale",
      reason: own === undefined ? `${mutant.file} is gone` : "text not found",
    };
  }
  return { kind: "stale", reason: `found in ${hits.map((h) => h.file).join(", ")}` };
}

/** The text with the mutant's one occurrence (at `index`) replaced. */
export function applyMutant(text: string, mutant: Mutant, index: number): string {
  if (text.slice(index, index + mutant.find.length) !== mutant.find) {
    throw new Error(`${mutant.id}: the code text is not at ${index}`);
  }
  return text.slice(0, index) + mutant.replace + text.slice(index + mutant.find.length);
}

// ---------------------------------------------------------------- the run

type Status = "killed" | "survived" | "timeout" | "stale" | "invalid";

interface Outcome {
  area: string;
  mutant: Mutant;
  status: Status;
  where?: string;
  /** For killed: the first failing test; for stale/invalid: why. */
  note?: string;
}

function git(args: string[]): string {
  const out = new Deno.Command("git", { args, cwd: ROOT, stdout: "piped", stderr: "piped" })
    .outputSync();
  if (!out.success) throw new Error(`git ${args.join(" ")}: ${td.decode(out.stderr)}`);
  return td.decode(out.stdout);
}

/** Tracked and new (not ignored) files of the working tree, as they are now. */
function treeFiles(): string[] {
  return git(["ls-files", "-z", "--cached", "--others", "--exclude-standard"]).split("\0")
    .filter((f) => f && exists(`${ROOT}/${f}`));
}

function exists(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}

function readOrUndefined(path: string): string | undefined {
  try {
    return Deno.readTextFileSync(path);
  } catch {
    return undefined;
  }
}

async function copyTree(files: string[], to: string): Promise<void> {
  const dirs = new Set(files.map((f) => `${to}/${f}`.replace(/\/[^/]*$/, "")));
  for (const dir of dirs) await Deno.mkdir(dir, { recursive: true });
  await Promise.all(files.map((f) => Deno.copyFile(`${ROOT}/${f}`, `${to}/${f}`)));
}

interface TestRun {
  code: number | "timeout";
  output: string;
}

/**
 * `deno test` of `files` in `cwd`, in its own process group (Linux) so a
 * timeout ends every process the tests started, not only the runner.
 */
async function runTests(cwd: string, files: string[], timeoutS: number): Promise<TestRun> {
  const args = ["test", "--allow-all", "--no-prompt", "--no-check", "--fail-fast", ...files];
  const grouped = Deno.build.os === "linux";
  const child = new Deno.Command(grouped ? "setsid" : Deno.execPath(), {
    args: grouped ? [Deno.execPath(), ...args] : args,
    cwd,
    env: { NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    try {
      if (grouped) Deno.kill(-child.pid, "SIGKILL");
      else child.kill("SIGKILL");
    } catch {
      // Already gone.
    }
  }, timeoutS * 1000);
  const out = await child.output();
  clearTimeout(timer);
  const output = td.decode(out.stdout) + td.decode(out.stderr);
  return { code: timedOut ? "timeout" : out.code, output };
}

/** The first failing test named in `deno test` output. */
function firstFailure(output: string): string | undefined {
  const m = /^(.+?) => \.\/(\S+?):\d+:\d+$/m.exec(output) ??
    /^(.+?) \.\.\. FAILED/m.exec(output);
  return m ? (m[2] ? `${m[2]}: ${m[1]}` : m[1]) : undefined;
}

function unparsable(output: string): boolean {
  return output.includes("The module's source code could not be parsed");
}

interface Job {
  area: Area;
  mutant: Mutant;
  location: Extract<Location, { kind: "found" }>;
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      area: { type: "string", multiple: true },
      only: { type: "string", multiple: true },
      jobs: { type: "string", default: "2" },
      timeout: { type: "string", default: "300" },
      min: { type: "string", default: "95" },
      list: { type: "boolean", default: false },
      keep: { type: "boolean", default: false },
    },
  });
  const unknownArea = (values.area ?? []).filter((a) => !AREAS.some((x) => x.name === a));
  if (unknownArea.length) {
    console.error(`unknown area ${unknownArea.join(", ")}: ${AREAS.map((a) => a.name).join(", ")}`);
    return 2;
  }
  const areas = AREAS.filter((a) => !values.area || values.area.includes(a.name));
  const picked = (mu: Mutant) => !values.only || values.only.includes(mu.id);
  const files = treeFiles();
  const sources = files.filter((f) =>
    f.endsWith(".ts") && !f.endsWith("_test.ts") && !f.startsWith("tests/") &&
    !f.startsWith("tools/") && !f.startsWith("admin/dist/")
  );
  const read = (f: string) => readOrUndefined(`${ROOT}/${f}`);

  const outcomes: Outcome[] = [];
  const jobs: Job[] = [];
  for (const area of areas) {
    for (const mutant of area.mutants.filter(picked)) {
      const location = locate(mutant, read, sources);
      if (location.kind === "stale") {
        outcomes.push({ area: area.name, mutant, status: "stale", note: location.reason });
      } else jobs.push({ area, mutant, location });
    }
  }
  const whereOf = (j: Job) =>
    `${j.location.file}:${j.location.line}${j.location.moved ? " (moved)" : ""}`;
  if (values.list) {
    for (const j of jobs) console.log(`${j.area.name}/${j.mutant.id}  ${whereOf(j)}`);
    for (const o of outcomes) console.log(`${o.area}/${o.mutant.id}  STALE: ${o.note}`);
    return outcomes.length ? 1 : 0;
  }
  if (jobs.length === 0 && outcomes.length === 0) {
    console.error("no mutant matches");
    return 2;
  }

  const workers = Math.max(1, Math.min(Number(values.jobs) || 1, jobs.length || 1));
  const timeoutS = Number(values.timeout) || 300;
  const temp = await Deno.makeTempDir({ prefix: "fazt-mutants-" });
  try {
    const copies = Array.from({ length: workers }, (_, i) => `${temp}/w${i}`);
    await Promise.all(copies.map((c) => copyTree(files, c)));
    const testsOf = (area: Area) => area.tests.filter((t) => files.includes(t));
    for (const area of new Set(jobs.map((j) => j.area))) {
      const missing = area.tests.filter((t) => !files.includes(t));
      if (missing.length) {
        console.error(`warning: ${area.name}: no test file ${missing.join(", ")}`);
      }
      if (missing.length === area.tests.length) {
        console.error(`${area.name}: none of its test files exist`);
        return 2;
      }
    }

    // Unmutated first: a failing baseline would make every mutant look killed.
    for (const area of new Set(jobs.map((j) => j.area))) {
      const run = await runTests(copies[0], testsOf(area), timeoutS);
      if (run.code !== 0) {
        console.error(`baseline of ${area.name} fails without any mutant:\n${run.output}`);
        return 2;
      }
    }

    const started = Date.now();
    let next = 0;
    let done = 0;
    const work = async (copy: string) => {
      while (next < jobs.length) {
        const job = jobs[next++];
        const path = `${copy}/${job.location.file}`;
        const original = await Deno.readTextFile(path);
        await Deno.writeTextFile(path, applyMutant(original, job.mutant, job.location.index));
        let run: TestRun;
        try {
          run = await runTests(copy, testsOf(job.area), timeoutS);
        } finally {
          await Deno.writeTextFile(path, original);
        }
        const status: Status = run.code === "timeout"
          ? "timeout"
          : run.code === 0
          ? "survived"
          : unparsable(run.output)
          ? "invalid"
          : "killed";
        const outcome: Outcome = {
          area: job.area.name,
          mutant: job.mutant,
          status,
          where: whereOf(job),
          note: status === "killed" ? firstFailure(run.output) : undefined,
        };
        if (status === "invalid") outcome.note = run.output.split("\n").slice(0, 6).join("\n");
        outcomes.push(outcome);
        done++;
        console.log(
          `[${done}/${jobs.length}] ${status.padEnd(8)} ${job.area.name}/${job.mutant.id}` +
            (outcome.note && status === "killed" ? `  (${outcome.note})` : ""),
        );
      }
    };
    await Promise.all(copies.map(work));
    return report(outcomes, Number(values.min), Math.round((Date.now() - started) / 1000));
  } finally {
    if (values.keep) console.log(`copies kept in ${temp}`);
    else await Deno.remove(temp, { recursive: true });
  }
}

function report(outcomes: Outcome[], min: number, seconds: number): number {
  const count = (s: Status) => outcomes.filter((o) => o.status === s).length;
  const killed = count("killed") + count("timeout");
  const survived = count("survived");
  const rate = killed + survived ? (100 * killed) / (killed + survived) : 0;
  console.log("");
  for (const o of outcomes.filter((o) => o.status === "survived")) {
    console.log(`SURVIVED ${o.area}/${o.mutant.id} at ${o.where}`);
    console.log(`  - ${o.mutant.find.replaceAll("\n", "\n    ")}`);
    console.log(`  + ${o.mutant.replace.replaceAll("\n", "\n    ")}`);
  }
  for (const o of outcomes.filter((o) => o.status === "stale")) {
    console.log(`STALE    ${o.area}/${o.mutant.id}: ${o.note} (update tools/mutant_list.ts)`);
  }
  for (const o of outcomes.filter((o) => o.status === "invalid")) {
    console.log(`INVALID  ${o.area}/${o.mutant.id}: the mutant does not parse\n${o.note}`);
  }
  console.log("");
  for (const area of new Set(outcomes.map((o) => o.area))) {
    const mine = outcomes.filter((o) => o.area === area);
    const k = mine.filter((o) => o.status === "killed" || o.status === "timeout").length;
    const s = mine.filter((o) => o.status === "survived").length;
    console.log(`${area.padEnd(9)} ${k}/${k + s} killed`);
  }
  console.log(
    `\n${outcomes.length} mutants: ${killed} killed (${count("timeout")} by timeout), ` +
      `${survived} survived, ${count("stale")} stale, ${count("invalid")} invalid; ` +
      `kill rate ${rate.toFixed(1)} % (${seconds} s)`,
  );
  return rate >= min && count("stale") === 0 && count("invalid") === 0 ? 0 : 1;
}

if (import.meta.main) Deno.exit(await main());
