import { spawnHelper } from "../../runtime/mod.ts";
import type { AcmeJob, FromAcme } from "./acme_protocol.ts";
import type { Challenges } from "./challenges.ts";

/** One name's outcome. */
export type IssueResult =
  | { name: string; ok: true; cert: string; key: string }
  | { name: string; ok: false; error: string };

/** Gets certificates for names; the manager's only way to reach a CA (tests may give another). */
export interface Issuer {
  /**
   * Certifies each of `job.names`, calling `onResult` once per name as it
   * finishes. Resolves when every name has an outcome; `signal` stops it
   * (the names left fail).
   */
  issue(
    job: AcmeJob,
    challenges: Challenges,
    onResult: (result: IssueResult) => void,
    signal: AbortSignal,
  ): Promise<void>;
}

const ENTRY = new URL("./acme_main.ts", import.meta.url);

/** A protocol line; anything else a library printed is skipped. */
function parseLine(line: string): FromAcme | undefined {
  if (!line.startsWith("{")) return undefined;
  try {
    const message = JSON.parse(line);
    return typeof message?.type === "string" ? message as FromAcme : undefined;
  } catch {
    return undefined;
  }
}
const decoder = new TextDecoder();

/**
 * Runs acme-client in a child process per job (see acme_main.ts): the
 * network and the environment, nothing else. Answers its challenges through
 * `challenges` while it runs and removes them when it ends.
 */
export class AcmeProcessIssuer implements Issuer {
  /** `timeoutMs`: how long one job may take before its process is killed. */
  constructor(private timeoutMs: number) {}

  async issue(
    job: AcmeJob,
    challenges: Challenges,
    onResult: (result: IssueResult) => void,
    signal: AbortSignal,
  ): Promise<void> {
    const pending = new Set(job.names);
    const tokens = new Set<string>();
    const report = (result: IssueResult) => {
      if (!pending.delete(result.name)) return;
      onResult(result);
    };
    const child = spawnHelper(ENTRY, "__acme", [
      "--allow-net",
      "--allow-env",
      "--allow-sys",
      "--deny-read",
      "--deny-write",
      "--deny-run",
      "--deny-ffi",
    ]);
    const kill = () => {
      try {
        child.kill("SIGKILL");
      } catch {
        // Already gone.
      }
    };
    const timer = setTimeout(kill, this.timeoutMs);
    signal.addEventListener("abort", kill, { once: true });
    const stderr = new Response(child.stderr).text();
    const writer = child.stdin.getWriter();
    const write = (value: unknown) =>
      writer.write(new TextEncoder().encode(JSON.stringify(value) + "\n")).catch(() => {});
    try {
      await write(job);
      let buffered = "";
      for await (const chunk of child.stdout) {
        buffered += decoder.decode(chunk, { stream: true });
        let nl;
        while ((nl = buffered.indexOf("\n")) !== -1) {
          const line = buffered.slice(0, nl);
          buffered = buffered.slice(nl + 1);
          const message = parseLine(line);
          if (!message) continue;
          switch (message.type) {
            case "challenge":
              if (!pending.has(message.name)) break;
              challenges.set(message.token, message.keyAuthorization);
              tokens.add(message.token);
              await write({ type: "ack", id: message.id });
              break;
            case "challenge_done":
              challenges.delete(message.token);
              tokens.delete(message.token);
              break;
            case "issued":
              report({ name: message.name, ok: true, cert: message.cert, key: message.key });
              break;
            case "failed":
              report({ name: message.name, ok: false, error: message.error });
              break;
          }
        }
      }
    } catch (err) {
      kill();
      const error = `the ACME process failed: ${err instanceof Error ? err.message : err}`;
      for (const name of [...pending]) report({ name, ok: false, error });
    } finally {
      clearTimeout(timer);
      signal.removeEventListener("abort", kill);
      await writer.close().catch(() => {});
      for (const token of tokens) challenges.delete(token);
      const status = await child.status;
      const why = signal.aborted
        ? "the node is shutting down"
        : status.signal === "SIGKILL"
        ? `no result within ${Math.round(this.timeoutMs / 1000)} s`
        : `the ACME process exited (${status.code}): ${(await stderr).trim().slice(-500)}`;
      for (const name of [...pending]) report({ name, ok: false, error: why });
      await stderr.catch(() => {});
    }
  }
}
