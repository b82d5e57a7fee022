/**
 * The second half of an upgrade, run by `fazt server start` once the node
 * has stopped: swap the checked program in, start it, and go back to the
 * old one if the new one does not answer `/health` with its version.
 * @module
 */
import { commandFor, type Program } from "../lib/program.ts";

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
  log: (message: string) => void;
}

/** systemd restarts the unit itself (Restart=on-failure or always): exit with this. */
export const EXIT_RESTART_BY_SUPERVISOR = 75;
const HEALTH_TIMEOUT_MS = 30_000;

/** Swaps, restarts and checks; returns the exit code for this (old) process. */
export async function restartOnNewProgram(plan: RestartPlan): Promise<number> {
  const current = plan.program.path!;
  const previous = `${current}.old`;
  await Deno.rename(current, previous);
  await Deno.rename(plan.staged, current);
  plan.log(`upgrade: installed fazt ${plan.version}; the previous program is kept as ${previous}`);
  if (underSystemd()) {
    plan.log("upgrade: systemd starts the new program (exit 75)");
    return EXIT_RESTART_BY_SUPERVISOR;
  }
  const child = launch(plan, current);
  if (await answers(plan.healthUrl, plan.version, child)) {
    plan.log(`upgrade: fazt ${plan.version} is up (pid ${child.pid})`);
    return 0;
  }
  plan.log(`upgrade: fazt ${plan.version} did not come up healthy: going back`);
  stop(child);
  await Deno.rename(current, `${current}.failed`);
  await Deno.rename(previous, current);
  const back = launch(plan, current);
  if (await answers(plan.healthUrl, plan.previousVersion, back)) {
    plan.log(`upgrade: back on fazt ${plan.previousVersion} (pid ${back.pid})`);
    return 0;
  }
  plan.log("upgrade: the previous program did not come up either");
  return 1;
}

function underSystemd(): boolean {
  try {
    return Deno.env.get("INVOCATION_ID") !== undefined;
  } catch {
    return false; // not allowed to look: not run by systemd as we ship it
  }
}

interface Launched {
  pid: number;
  exited: boolean;
}

/** Starts the program on its own (it outlives this process), with this process's output. */
function launch(plan: RestartPlan, path: string): Launched {
  const [command, ...args] = commandFor(plan.program.form, path, plan.args);
  const child = new Deno.Command(command, {
    args,
    detached: true,
    stdin: "null",
    stdout: "inherit",
    stderr: "inherit",
  }).spawn();
  const launched = { pid: child.pid, exited: false };
  child.status.then(() => launched.exited = true);
  child.unref();
  return launched;
}

function stop(child: Launched): void {
  try {
    Deno.kill(child.pid, "SIGKILL");
  } catch {
    // already gone
  }
}

/** Whether `/health` reports `version` before the timeout (or the child's exit). */
async function answers(url: string, version: string, child: Launched): Promise<boolean> {
  const deadline = Date.now() + HEALTH_TIMEOUT_MS;
  while (Date.now() < deadline && !child.exited) {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
      const body = await res.json().catch(() => ({}));
      if (res.ok && body.version === version) return true;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}
