/**
 * fazt's `Deno.openKv()` against Deno's own: the same cases
 * (`kv_conformance_cases.ts`) run against the shim, wired to a real store
 * through the server's own call handler, and against `Deno.openKv()` in a
 * `deno run --unstable-kv` subprocess; both must see the same.
 */
import assert from "node:assert/strict";
import { Storage } from "../storage/mod.ts";
import { handleCall } from "../runtime/bridge.ts";
import { KvSignals } from "../runtime/kv_signals.ts";
import { WriteQueue } from "../runtime/write_queue.ts";
import {
  AtomicOperation,
  Kv,
  KvListIterator,
  KvU64,
  openKvFor,
} from "../runtime/worker/deno_kv.ts";
import type { OpName } from "../runtime/protocol.ts";
import { type AnyKv, CASE_NAMES, runAll } from "./kv_conformance_cases.ts";
import { deadline } from "./deadline.ts";

const CASES = new URL("./kv_conformance_cases.ts", import.meta.url).pathname;

/** Deno's own KV's answers, from a subprocess. */
async function denoAnswers(only: string[]): Promise<Record<string, unknown>> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--unstable-kv", "--no-prompt", CASES, ...only],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const err = new TextDecoder().decode(out.stderr);
  assert.ok(out.success, `Deno's own KV run failed: ${err}`);
  return JSON.parse(new TextDecoder().decode(out.stdout));
}

/** fazt's answers: each case gets an app of its own, its KV calls going through handleCall. */
async function faztAnswers(): Promise<Record<string, unknown>> {
  const storage = Storage.open(":memory:");
  const writes = new WriteQueue(storage.db);
  const signals = new KvSignals();
  let n = 0;
  try {
    return await runAll(() => {
      const appId = storage.apps.createVersion(`kv${++n}`, [], { keep: 1 }).app.id;
      const call = async (op: OpName, args: unknown[]) => {
        const c = { storage, writes, appId, log: () => {}, signals };
        const r = await handleCall(c, op, args, new Uint8Array());
        if (r.error) throw Object.assign(new Error(r.error.message), { code: r.error.code });
        return r.value;
      };
      return openKvFor(call, () => {})() as Promise<AnyKv>;
    }, { KvU64, Kv, AtomicOperation, KvListIterator });
  } finally {
    signals.close();
    storage.close();
  }
}

Deno.test({
  name: "Deno.openKv conformance: fazt's KV answers every case as Deno's own does",
  // Deno's own queue and expiry run on its own timers.
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    // Deno's own KV expires keys once a minute: that case runs beside the others.
    const [denoRest, denoExpiry, fazt] = await deadline(
      Promise.all([
        denoAnswers(CASE_NAMES.filter((n) => n !== "expiry")),
        denoAnswers(["expiry"]),
        faztAnswers(),
      ]),
      "both runs of the conformance cases",
      180_000,
    );
    const deno = { ...denoRest, ...denoExpiry };
    for (const name of Object.keys(deno)) {
      assert.deepEqual(fazt[name], deno[name], `case ${name}`);
    }
    assert.deepEqual(Object.keys(fazt).sort(), Object.keys(deno).sort());
    // And what both agree on is what Deno KV promises.
    const racing = fazt.racing as { wins: number; winnerWrote: boolean };
    assert.equal(racing.wins, 1, "exactly one of two racing commits wins");
    assert.ok(racing.winnerWrote);
    const u64 = fazt.u64 as { sum: string; wrapped: string };
    assert.equal(u64.sum, "15");
    assert.equal(u64.wrapped, "14");
    const queues = fazt.queues as { retries: number; dead: unknown };
    assert.ok(queues.retries >= 3, "the failing message came back until it was handled");
    assert.deepEqual(queues.dead, { name: "fail" });
    const surface = fazt.surface as Record<string, unknown>;
    assert.deepEqual(surface.instances, [true, true, true, true], "instanceof the classes");
    assert.equal(surface.before, "Error: Cannot get cursor before first iteration");
    assert.equal(surface.toEnd, "", "at the end of the range the cursor is empty");
  },
});
