/**
 * Every benchmark still runs: `deno task bench --smoke` gives each one-second
 * runs and small workloads. Only that they run, against every peer, is
 * checked here; their figures are never judged in tests (timing does not
 * belong in tests). The test task runs this file on its own, after the
 * others, so the load it makes disturbs nothing.
 */
import assert from "node:assert/strict";
import { BENCHMARKS } from "../bench/benchmarks.ts";
import type { ResultsFile } from "../bench/lib/results.ts";
import { ROOT_PATH } from "./cli_runner.ts";

Deno.test("every benchmark runs for a second against every peer without error", async () => {
  const dir = await Deno.makeTempDir({ prefix: "fazt-bench-smoke-" });
  try {
    const results = `${dir}/results.json`;
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["task", "bench", "--smoke", "--results", results],
      cwd: ROOT_PATH,
      env: { NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
      // A hung benchmark must fail the run, not hang CI (a smoke run takes ~1 minute).
      signal: AbortSignal.timeout(600_000),
    }).output();
    const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 0, `the smoke run failed:\n${text.slice(-4000)}`);

    const file: ResultsFile = JSON.parse(await Deno.readTextFile(results));
    assert.deepEqual(Object.keys(file.benchmarks).sort(), BENCHMARKS.map((b) => b.name).sort());
    for (const [name, entry] of Object.entries(file.benchmarks)) {
      assert.equal(entry.error, undefined, `${name} failed: ${entry.error}`);
      assert.ok(entry.options.smoke && entry.options.duration === 1, `${name} ran as a smoke run`);
      assert.ok(Object.keys(entry.figures).length > 0, `${name} measured something`);
      assert.ok(entry.targets.length > 0, `${name} checked its targets`);
      for (const t of entry.targets) {
        assert.notEqual(t.actual, "not measured", `${name}: ${t.name} was not measured`);
        assert.ok(!/NaN|undefined/.test(t.actual), `${name}: ${t.name} = ${t.actual}`);
      }
      for (const note of entry.notes) {
        assert.ok(!/could not|not available|missing/i.test(note), `${name}: ${note}`);
      }
    }
    for (const [tool, version] of Object.entries(Object.values(file.benchmarks)[0].tools)) {
      assert.ok(!version.startsWith("missing"), `${tool} is ${version}`);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
