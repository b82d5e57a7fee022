/**
 * The second half of an upgrade, run by `fazt server start` once the node
 * has stopped: swap the checked program in and run it.
 *
 * The process that was started (by a person, systemd, Docker, …) stays as a
 * small supervisor: it runs the node on the new program as its child,
 * forwards SIGINT/SIGTERM to it and exits with its status, so whatever
 * started it still sees one process that lives as long as the node. If the
 * new program does not answer `/health` with its version, the supervisor
 * puts the old program and the database backup back and runs that. A node
 * that is itself supervised swaps the program and exits with
 * `EXIT_UPGRADED`; its supervisor checks and starts the new one, so
 * upgrades never nest processes.
 * @module
 */
import { commandFor, probeVersion, type Program, SERVER_RUN_FLAGS } from "../lib/program.ts";
import { readBody } from "../lib/read_body.ts";

export interface RestartPlan {
  program: Program;
  /** The checked new program, beside the old one. */
  staged: string;
  version: string;
  previousVersion: string;
  /** The arguments this process was started with (`server start …`). */
  args: string[];
  /** Where the node listens, as this machine reaches it. */
  healthUrl: string;
  /** The database file, backed up before the new program can migrate it. */
  dbPath: string;
  log: (message: string) => void;
}

/** A supervised node's exit status after it swapped in a new program. */
export const EXIT_UPGRADED = 75;
/** A supervised node's exit status when it was asked to restart on the same program. */
export const EXIT_RESTART = 76;
const SUPERVISED = "FAZT_SUPERVISED";
const HEALTH_TIMEOUT_MS = 60_000;
const SIGNALS = ["SIGINT", "SIGTERM"] as const;

function isSupervised(): boolean {
  try {
    return Deno.env.get(SUPERVISED) === "1";
  } catch {
    return false;
  }
}

const paths = (program: Program) => {
  const current = program.path!;
  return { current, previous: `${current}.old`, failed: `${current}.failed` };
};

/** Swaps, then runs the new program; returns the exit status for this process. */
export async function restartOnNewProgram(plan: RestartPlan): Promise<number> {
  const { current, previous } = paths(plan.program);
  await backupDatabase(plan.dbPath);
  await Deno.rename(current, previous);
  try {
    await Deno.rename(plan.staged, current);
  } catch (err) {
    await Deno.rename(previous, current);
    plan.log(`upgrade: could not install the new program (${(err as Error).message})`);
    return isSupervised() ? EXIT_UPGRADED : await supervise(plan, plan.previousVersion);
  }
  plan.log(`upgrade: installed fazt ${plan.version}; the previous program is kept as ${previous}`);
  if (isSupervised()) return EXIT_UPGRADED;
  return await supervise(plan, plan.version);
}

/** What running the same program again needs: no swap, no database copy. */
export type SamePlan = Pick<RestartPlan, "program" | "args" | "healthUrl" | "log"> & {
  version: string;
};

/**
 * The second half of `POST /api/system/restart`, once the node has stopped:
 * a supervised node exits with `EXIT_RESTART` and its supervisor starts it
 * again; otherwise this process becomes that supervisor (as after an
 * upgrade) and runs the same program, with the same arguments, as its child.
 */
export async function restartSameProgram(plan: SamePlan): Promise<number> {
  if (isSupervised()) return EXIT_RESTART;
  plan.log(`restart: starting fazt ${plan.version} again`);
  return await supervise(
    { ...plan, staged: "", previousVersion: plan.version, dbPath: "" },
    plan.version,
    undefined,
  );
}

/** Runs the program as a child until it exits; checks and rolls back each start. */
async function supervise(
  plan: RestartPlan,
  version: string,
  firstFallback: string | undefined = plan.previousVersion,
): Promise<number> {
  const { current, previous, failed } = plan.program.path
    ? paths(plan.program)
    : { current: "", previous: "", failed: "" };
  let expected = version;
  let fallback: string | undefined = firstFallback;
  let child: Deno.ChildProcess | undefined;
  // Asked to stop: whatever the child does next is not a failed start.
  let stopping = false;
  for (const signal of SIGNALS) {
    Deno.addSignalListener(signal, () => {
      stopping = true;
      try {
        child?.kill(signal);
      } catch {
        // already gone
      }
    });
  }
  while (true) {
    child = launch(plan, current);
    const exited = child.status.then((s) => s);
    const healthy = await answers(plan.healthUrl, expected, exited);
    if (stopping) return exitCode(await exited);
    if (!healthy) {
      try {
        child.kill("SIGKILL");
      } catch {
        // already gone
      }
      await exited;
      if (fallback === undefined) {
        plan.log(`upgrade: fazt ${expected} did not come up, and there is nothing to go back to`);
        return 1;
      }
      plan.log(`upgrade: fazt ${expected} did not come up healthy: going back to ${fallback}`);
      await Deno.rename(current, failed);
      await Deno.rename(previous, current);
      await restoreDatabase(plan.dbPath);
      [expected, fallback] = [fallback, undefined];
      continue;
    }
    plan.log(`fazt ${expected} is up (pid ${child.pid})`);
    const status = await exited;
    if (!stopping && status.code === EXIT_RESTART) {
      // The same program again: a start that fails now is not the upgrade's fault.
      plan.log(`restart: starting fazt ${expected} again`);
      fallback = undefined;
      continue;
    }
    if (stopping || status.code !== EXIT_UPGRADED) return exitCode(status);
    // The node took another upgrade and swapped the program: check it and start it.
    const next = await probeVersion(plan.program.form, current).catch(() => undefined);
    if (next === undefined) {
      plan.log("upgrade: the installed program does not run: going back");
      await Deno.rename(current, failed);
      await Deno.rename(previous, current);
      await restoreDatabase(plan.dbPath);
      fallback = undefined;
      continue;
    }
    [expected, fallback] = [next, expected];
  }
}

/** The status to exit with for the child's: its code, or 128 + its signal's number. */
function exitCode(status: Deno.CommandStatus): number {
  if (!status.signal) return status.code;
  return 128 + (status.signal === "SIGINT" ? 2 : status.signal === "SIGKILL" ? 9 : 15);
}

/** Starts the program as this process's child, with this process's output. */
function launch(plan: RestartPlan, path: string): Deno.ChildProcess {
  // A source checkout runs main.ts again, finding its deno.json as it did before.
  const [command, ...args] = plan.program.form === "source"
    ? [
      Deno.execPath(),
      "run",
      ...SERVER_RUN_FLAGS,
      decodeURIComponent(new URL(Deno.mainModule).pathname),
      ...plan.args,
    ]
    : commandFor(plan.program.form, path, plan.args);
  return new Deno.Command(command, {
    args,
    env: { [SUPERVISED]: "1" },
    stdin: "null",
    stdout: "inherit",
    stderr: "inherit",
  }).spawn();
}

/** A fazt `/health` is well under a kilobyte; anything longer is not one. */
const MAX_HEALTH_BYTES = 16 * 1024;

/** `/health`'s JSON, read through the bounded reader; `undefined` when it is not that. */
async function healthOf(res: Response): Promise<{ version?: unknown } | undefined> {
  try {
    const health = JSON.parse(new TextDecoder().decode(await readBody(res, MAX_HEALTH_BYTES)));
    return typeof health === "object" && health !== null ? health : undefined;
  } catch {
    return undefined;
  }
}

/** Whether `/health` reports `version` before the timeout, or the child's exit. */
async function answers(
  url: string,
  version: string,
  exited: Promise<Deno.CommandStatus>,
): Promise<boolean> {
  let gone = false;
  exited.then(() => gone = true);
  const deadline = Date.now() + HEALTH_TIMEOUT_MS;
  while (Date.now() < deadline && !gone) {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
      if (res.ok && (await healthOf(res))?.version === version) return true;
      if (!res.bodyUsed) await res.body?.cancel();
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

const SIDE_FILES = ["", "-wal"];

/**
 * Copies the (closed) database aside: a new program may migrate it, and the
 * old one refuses a newer schema, so a roll-back needs the copy.
 */
async function backupDatabase(db: string): Promise<void> {
  for (const side of SIDE_FILES) {
    await Deno.remove(`${db}${side}.pre-upgrade`).catch(() => {});
    await Deno.copyFile(`${db}${side}`, `${db}${side}.pre-upgrade`).catch((err) => {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
    });
  }
}

async function restoreDatabase(db: string): Promise<void> {
  await Deno.remove(`${db}-shm`).catch(() => {});
  for (const side of SIDE_FILES) {
    await Deno.remove(`${db}${side}`).catch(() => {});
    await Deno.copyFile(`${db}${side}.pre-upgrade`, `${db}${side}`).catch(() => {});
  }
}
