import assert from "node:assert/strict";
import { IdleTrim, mallocTrim, type Timers } from "./idle_trim.ts";
import { deadline } from "../tests/deadline.ts";

/** Timers the test fires by hand: one may be pending at a time, as IdleTrim keeps it. */
class HandTimers implements Timers {
  pending: { fn: () => void; ms: number; id: number }[] = [];
  #next = 0;
  set(fn: () => void, ms: number): unknown {
    const id = ++this.#next;
    this.pending.push({ fn, ms, id });
    return id;
  }
  clear(id: unknown): void {
    this.pending = this.pending.filter((t) => t.id !== id);
  }
  /** Fires the one pending timer; its delay. */
  fire(): number {
    assert.equal(this.pending.length, 1, "one timer pending");
    const t = this.pending.shift()!;
    t.fn();
    return t.ms;
  }
}

function setup(trim: () => Promise<unknown> = () => Promise.resolve(1)) {
  const timers = new HandTimers();
  const clock = { now: 0 };
  let calls = 0;
  const idle = new IdleTrim({
    trim: () => {
      calls++;
      return trim();
    },
    quietMs: 250,
    gapMs: 5000,
    now: () => clock.now,
    timers,
  });
  return { idle, timers, clock, calls: () => calls };
}

Deno.test("a trim follows once requests stop, and an idle node holds no timer", async () => {
  const { idle, timers, clock, calls } = setup();
  assert.equal(idle.armed, false, "no timer before any request");
  idle.touch();
  idle.touch();
  idle.touch();
  assert.equal(timers.pending.length, 1, "one timer however many requests");
  clock.now = 250;
  assert.equal(timers.fire(), 250);
  assert.equal(calls(), 0, "requests came since the timer was set: no trim yet");
  assert.equal(idle.armed, true, "looks again after another quiet period");
  clock.now = 500;
  timers.fire();
  assert.equal(calls(), 1, "quiet for a whole period: trimmed");
  await deadline(idle.settled(), "the trim");
  assert.equal(idle.trims, 1);
  assert.equal(idle.armed, false, "nothing pending once trimmed");
  assert.equal(timers.pending.length, 0);
});

Deno.test("trims are at least the gap apart; requests during the wait put it off", async () => {
  const { idle, timers, clock, calls } = setup();
  idle.touch();
  clock.now = 250;
  timers.fire();
  assert.equal(calls(), 1);
  await deadline(idle.settled(), "the first trim");
  idle.touch();
  clock.now = 600;
  timers.fire();
  assert.equal(calls(), 1, "quiet again, but within the gap of the last trim");
  assert.equal(timers.pending[0].ms, 4650, "waits for the rest of the gap");
  idle.touch(); // a request during that wait
  clock.now = 5250;
  timers.fire();
  assert.equal(calls(), 1, "not quiet since the wait began");
  assert.equal(timers.pending[0].ms, 250);
  clock.now = 5500;
  timers.fire();
  assert.equal(calls(), 2);
  await deadline(idle.settled(), "the second trim");
  assert.equal(idle.trims, 2);
});

Deno.test("a failed trim is not counted, and the next quiet period tries again", async () => {
  let fail = true;
  const { idle, timers, clock, calls } = setup(() =>
    fail ? Promise.reject(new Error("no malloc_trim")) : Promise.resolve(1)
  );
  idle.touch();
  timers.fire();
  assert.equal(calls(), 1);
  await deadline(idle.settled(), "the failed trim");
  assert.equal(idle.trims, 0, "a failed trim is not counted");
  fail = false;
  clock.now = 10_000;
  idle.touch();
  timers.fire();
  assert.equal(calls(), 2);
  await deadline(idle.settled(), "the second attempt");
  assert.equal(idle.trims, 1);
});

Deno.test("a trim still running is not started again", async () => {
  let finish!: () => void;
  const { idle, timers, clock, calls } = setup(() => new Promise<void>((r) => finish = r));
  idle.touch();
  timers.fire();
  assert.equal(calls(), 1);
  clock.now = 10_000;
  idle.touch();
  timers.fire();
  assert.equal(calls(), 1, "the first one has not finished");
  assert.equal(idle.armed, true, "looks again later");
  finish();
  await deadline(idle.settled(), "the first trim");
  assert.equal(idle.trims, 1);
  timers.fire();
  assert.equal(calls(), 2);
});

Deno.test("closed, it trims no more and sets no timer", () => {
  const { idle, timers, calls } = setup();
  idle.touch();
  idle.close();
  assert.equal(timers.pending.length, 0, "the pending timer is cleared");
  idle.touch();
  assert.equal(timers.pending.length, 0);
  assert.equal(calls(), 0);
});

Deno.test({
  name: "malloc_trim through FFI runs on glibc and the process goes on",
  ignore: Deno.build.os !== "linux",
  fn: async () => {
    const trim = mallocTrim();
    assert.equal(typeof trim, "function", `not available: ${trim}`);
    const r = await (trim as () => Promise<number>)();
    assert.ok(r === 0 || r === 1, `malloc_trim returns 0 or 1, got ${r}`);
    // A second call reuses the library opened by the first.
    assert.ok([0, 1].includes(await (trim as () => Promise<number>)()));
  },
});

Deno.test("without --allow-ffi there is no trim, and the reason says so", async () => {
  const module = new URL("./idle_trim.ts", import.meta.url).href;
  const dir = await Deno.makeTempDir({ prefix: "fazt-trim-" });
  const script = `${dir}/no_ffi.ts`;
  await Deno.writeTextFile(
    script,
    `import { mallocTrim } from ${JSON.stringify(module)};\n` +
      "console.log(JSON.stringify(mallocTrim()));\n",
  );
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--no-prompt", script],
    stdout: "piped",
    stderr: "piped",
  }).output();
  await Deno.remove(dir, { recursive: true });
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  const reason = JSON.parse(new TextDecoder().decode(out.stdout));
  assert.equal(reason, Deno.build.os === "linux" ? "no --allow-ffi" : "only on Linux");
});
